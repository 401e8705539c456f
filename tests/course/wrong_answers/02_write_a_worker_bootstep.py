"""Wrong answers to notebook 02's exercise (a consumer step that sends its own event), each one a
learner gives.
"""


def hello(requires, send, blueprint="consumer"):
    """The step `Hello` with these `requires`, this line in `start`, installed in `blueprint`."""
    return f"""
class Hello(bootsteps.StartStopStep):
    requires = {requires}

    def start(self, c):
        {send}

app.steps["{blueprint}"].add(Hello)
"""


EVENTS = '{"celery.worker.consumer.events:Events"}'
SEND = (
    'c.event_dispatcher.send("kit-hello", pool=type(c.pool).__module__, '
    "concurrency=c.controller.concurrency)"
)

WRONG = {
    1: [
        (
            "no requires: Hello may start before Events made the dispatcher",
            hello("set()", SEND),
            "require celery.worker.consumer.events:Events",
        ),
        (
            "requires Connection, which the dispatcher uses, but not Events, which makes it",
            hello('{"celery.worker.consumer.connection:Connection"}', SEND),
            "require celery.worker.consumer.events:Events",
        ),
        (
            "the right step, in the worker's blueprint",
            hello(EVENTS, SEND, blueprint="worker"),
            "app.steps['consumer']",
        ),
        (
            "sends with the kit's emit instead of Celery's dispatcher",
            "from kit.events.telemetry import emit\n"
            + hello(
                EVENTS,
                'emit("hello", pool=type(c.pool).__module__, concurrency=c.controller.concurrency)',
            ),
            "c.event_dispatcher.send",
        ),
        (
            "types the concurrency in",
            hello(EVENTS, SEND.replace("c.controller.concurrency", "2")),
            "don't type them in",
        ),
    ],
}
