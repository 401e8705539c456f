"""AuditConsumer: a consumer step that reads the project's audit records from a queue of its own."""

from celery import bootsteps
from kombu import Consumer, Exchange, Queue

#: The audit queue (the project's own, not a Celery task queue).
AUDIT = Queue("proj.audit", Exchange("proj.audit", type="direct"), routing_key="audit")


class AuditConsumer(bootsteps.ConsumerStep):
    """Acks each audit record; rejects what it cannot decode."""

    def get_consumers(self, channel):
        return [
            Consumer(
                channel,
                queues=[AUDIT],
                callbacks=[self.on_record],
                accept=["json"],
                on_decode_error=self.on_decode_error,
            )
        ]

    def on_record(self, body, message):
        message.ack()

    def on_decode_error(self, message, exc):
        message.reject()
