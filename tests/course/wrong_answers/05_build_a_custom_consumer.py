"""Wrong answers to notebook 05's exercise (the poison message), each one a learner gives."""

WRONG = {
    1: [
        (
            "reports the poison message but never rejects it",
            """
class SafeConsumerStep(MyConsumerStep):
    def get_consumers(self, channel):
        return [Consumer(channel, queues=[my_queue], callbacks=[self.handle_message],
                         accept=['json'], on_decode_error=self.on_decode_error)]

    def on_decode_error(self, message, exc):
        emit("poison", reason=str(exc))
""",
            "reject",
        ),
        (
            "writes on_decode_error but never passes it to the Consumer",
            """
class SafeConsumerStep(MyConsumerStep):
    def get_consumers(self, channel):
        return [Consumer(channel, queues=[my_queue], callbacks=[self.handle_message],
                         accept=['json'])]

    def on_decode_error(self, message, exc):
        emit("poison", reason=str(exc))
        message.reject()
""",
            "on_decode_error",
        ),
        (
            "requeues the poison message instead of rejecting it",
            """
class SafeConsumerStep(MyConsumerStep):
    def get_consumers(self, channel):
        return [Consumer(channel, queues=[my_queue], callbacks=[self.handle_message],
                         accept=['json'], on_decode_error=self.on_decode_error)]

    def on_decode_error(self, message, exc):
        emit("poison", reason=str(exc))
        message.requeue()
""",
            "reject",
        ),
    ],
}
