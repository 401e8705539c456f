"""Consumer steps that feed a worker from elsewhere: alert streams, a mailbox, extra AMQP queues."""

import logging
import queue
import threading

from celery import bootsteps
from kombu import Consumer, Exchange, Queue
from kombu.common import ignore_errors

from lint_corpus import expect

log = logging.getLogger(__name__)
alerts = Queue("corpus-alerts", Exchange("corpus-alerts"), "alert")


class _Stream:
    """A stand-in for an alert stream client: blocks in listen() until running is False."""

    def __init__(self):
        self.running = False
        self.items = queue.Queue()

    def listen(self, callback):
        self.running = True
        while self.running:
            try:
                callback(self.items.get(timeout=1.0))
            except queue.Empty:
                pass


class OptionalReceiver(bootsteps.ConsumerStep):
    """Enabled by a worker option, as gwcelery's receivers are (``--igwn-alert``, ``--email``)."""

    def __init__(self, consumer, corpus_receiver=False, **kwargs):
        self.enabled = bool(corpus_receiver)

    def start(self, consumer):
        log.info("Starting %s", self.name)

    def stop(self, consumer):
        log.info("Stopping %s", self.name)


# Models lpsinger/gwcelery (igwn_alert/bootsteps.py): a listener thread started in start(), told to
# stop and joined in stop(), logging both. Correct; the old lint flagged the logging in stop().
@expect(blueprint="consumer")
class AlertReceiver(OptionalReceiver):
    def start(self, consumer):
        super().start(consumer)
        self.client = _Stream()
        self.thread = threading.Thread(target=self.client.listen, args=(print,), name="alerts")
        self.thread.start()

    def stop(self, consumer):
        super().stop(consumer)
        self.client.running = False
        self.thread.join()


# Models lpsinger/gwcelery (email/bootsteps.py): the thread is made in create() and started in
# start(). A consumer restarts its steps after a lost broker connection: the second start() raises
# RuntimeError (a thread starts once). The lint does not look for this: counted as missed.
@expect(blueprint="consumer", missed={("start", "thread started again on restart")})
class MailboxReceiver(OptionalReceiver):
    def create(self, consumer):
        super().create(consumer)
        self.running = True
        self.thread = threading.Thread(target=self.poll)

    def start(self, consumer):
        super().start(consumer)
        self.thread.start()

    def stop(self, consumer):
        super().stop(consumer)
        self.running = False
        self.thread.join()

    def poll(self):
        while self.running:
            threading.Event().wait(5)


# Models celery-message-consumer (its event_consumer package): ConsumerStep rewritten as a StartStopStep;
# requires is a tuple with the pre-4 path 'celery.worker.consumer:Connection', which Celery's own
# ConsumerStep still uses and which resolves on 5.5-5.7. Correct.
@expect(blueprint="consumer")
class RetryQueueConsumer(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer:Connection",)

    def __init__(self, *args, **kwargs):
        self.consumers = []
        self.handlers = kwargs.pop("corpus_handlers", {})
        super().__init__(*args, **kwargs)

    def start(self, c):
        channel = c.connection.channel()
        self.consumers = [Consumer(channel, queues=[alerts], callbacks=[self.handle])]
        for consumer in self.consumers:
            consumer.consume()

    def stop(self, c):
        self._close(c, cancel=True)

    def shutdown(self, c):
        self._close(c, cancel=False)

    def _close(self, c, cancel):
        for consumer in self.consumers:
            if cancel:
                ignore_errors(c.connection, consumer.cancel)
            ignore_errors(c.connection, consumer.channel.close)

    def handle(self, body, message):
        message.ack()


class _QueueMixin:
    """Builds the queue and consumers (a mixin as in chat-client's tasks/utils.py)."""

    def _consumers(self, channel, callbacks):
        return [Consumer(channel, queues=[alerts], callbacks=list(callbacks), accept=["json"])]


# Models ThiagoRuis/chat-client (api/tasks/consumers.py): a ConsumerStep with a mixin that acks each
# message after handing it to a task chain. Correct.
@expect(blueprint="consumer")
class ChatReplies(bootsteps.ConsumerStep, _QueueMixin):
    def get_consumers(self, channel):
        return self._consumers(channel, (self.handle,))

    def handle(self, body, message):
        message.ack()


def consume_from(queue_name):
    """A decorator that makes a consumer step per queue, as a public blog post's consume_from."""

    target = Queue(queue_name, Exchange(queue_name), queue_name)

    class DecoratedConsumer(bootsteps.ConsumerStep):
        requires = ("celery.worker.consumer:Connection", "celery.worker.consumer.tasks:Tasks")

        def start(self, parent):
            log.info("consuming from %s", target.name)
            return super().start(parent)

        def get_consumers(self, channel):
            return [
                Consumer(
                    channel,
                    queues=[target],
                    callbacks=[self.handle],
                    on_decode_error=self.on_decode_error,
                    accept=["json"],
                )
            ]

        def handle(self, body, message):
            message.ack()

        def on_decode_error(self, message, exc):
            message.reject()

    return DecoratedConsumer


# From a blog post kept in a public repository (not a project): its consume_from factory builds the
# class inside a function; requires as a tuple, logging in start, poison messages rejected. Correct.
expect(blueprint="consumer")(consume_from("corpus-catalog"))


# From the same post: its dead-letter step requires Pool and declares a queue through
# worker.app.pool (the app's connection pool, not worker.pool). Correct.
@expect()
class DeadLetterDeclare(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def start(self, worker):
        dead = Queue("corpus.dead", Exchange("corpus.dead"), "corpus.dead")
        with worker.app.pool.acquire() as conn:
            dead.bind(conn).declare()


# Models MnogoByte/celery-fallback-consumer: wraps consumer.controller.stop in create() to notice a
# shutdown, and in stop() terminates unacked late-ack tasks. Intentional patching of the worker, not
# of gossip; requires as a tuple with the pre-4 path. Correct.
@expect(blueprint="consumer")
class FallbackTerminator(bootsteps.StartStopStep):
    conditional = True
    requires = ("celery.worker.consumer:Connection",)

    def __init__(self, consumer, **kwargs):
        self.enabled = getattr(consumer.app.conf, "corpus_fallback", True)

    def create(self, consumer):
        self.consumer, self.stopped = consumer, False
        stop_worker = consumer.controller.stop

        def stop(*args, **kwargs):
            self.stopped = True
            stop_worker(*args, **kwargs)

        consumer.controller.stop = stop

    def stop(self, *args, **kwargs):
        if self.stopped:
            return
        for request in list(self.consumer.controller.state.active_requests):
            if request.task.acks_late:
                self.consumer.pool.terminate_job(request.worker_pid, "SIGTERM")
