"""Ready-made steps: the guide's examples, corrected for Celery 5.7, and a catalog of them."""

import json
import time

import click
from celery import bootsteps
from kombu import Consumer, Exchange, Queue

from kit.events.contract import CLUSTER_SIZE, CONSUMER, DEADLOCK, OPTION
from kit.events.telemetry import emit


class LifecycleStep(bootsteps.StartStopStep):
    """The guide's first worker step, printing nothing: its lifecycle shows in kit telemetry."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)

    def start(self, worker):
        self.pool_name = type(worker.pool).__name__

    def stop(self, worker):
        pass


class DeadlockDetection(bootsteps.StartStopStep):
    """Reports (or shuts down on) tasks running longer than `timeout` seconds.

    The guide's version reads `worker.active_requests`, which does not exist in Celery 5.7
    (it is `worker.state.active_requests`), and its `__init__` takes no `**kwargs`, so a real
    worker fails to boot it (every step receives every worker option). On the solo pool it can
    never fire: the task runs on the same thread as the event loop that fires the timer, so the
    check only runs after the task has finished. Use the threads or prefork pool.
    """

    requires = {"celery.worker.components:Timer"}
    #: Seconds a task may run before it counts as deadlocked.
    timeout = 3600.0
    #: Seconds between checks.
    interval = 30.0
    #: 'report' (emit a kit-deadlock event) or 'shutdown' (the guide's SystemExit, after the
    #: report).
    action = "report"

    def __init__(self, worker, deadlock_timeout=None, deadlock_interval=None, **kwargs):
        super().__init__(worker, **kwargs)
        self.timeout = float(self.timeout if deadlock_timeout is None else deadlock_timeout)
        self.interval = float(self.interval if deadlock_interval is None else deadlock_interval)
        self.tref = None
        self.reported = set()

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(self.interval, self.detect, (worker,), priority=10)

    def stop(self, worker):
        if self.tref:
            self.tref.cancel()
            self.tref = None

    def detect(self, worker):
        """The timer's callback: report (or act on) each running task past `timeout`, once."""
        from celery.worker import state

        now = time.time()
        for req in list(state.active_requests):
            runtime = now - (req.time_start or now)
            if req.time_start and runtime > self.timeout and req.id not in self.reported:
                self.reported.add(req.id)
                emit(
                    DEADLOCK,
                    task_id=req.id,
                    task_name=req.name,
                    runtime=runtime,
                    timeout=self.timeout,
                    action=self.action,
                )
                if self.action == "shutdown":
                    raise SystemExit(f"deadlock: task {req.id} ran {runtime:.1f} s")


#: The queue of the kit's custom message consumer.
custom_queue = Queue("kit.custom", Exchange("kit.custom"), "kit.custom")


class SafeConsumer(bootsteps.ConsumerStep):
    """The guide's custom message consumer, made robust: a bad message is rejected and counted.

    The guide's version dies on one non-JSON message: the decode error is unrecoverable, the
    message goes back to the queue, and the next consumer dies on it too (a poison message).
    """

    #: Queues consumed (publish JSON to exchange 'kit.custom', routing key 'kit.custom').
    queues = [custom_queue]

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        self.accepted = self.rejected = 0

    def get_consumers(self, channel):
        return [
            Consumer(
                channel,
                queues=self.queues,
                callbacks=[self.handle_message],
                accept=["json"],
                on_decode_error=self.on_decode_error,
            )
        ]

    def handle_message(self, body, message):
        """Accept a decoded body; if handling it raises, reject it, never crash the consumer."""
        try:
            self.on_body(body)
        except Exception as exc:
            return self.on_decode_error(message, exc)
        self.accepted += 1
        emit(
            CONSUMER,
            outcome="accepted",
            body=_describe(body),
            accepted=self.accepted,
            rejected=self.rejected,
        )
        message.ack()

    def on_body(self, body):
        """Override to handle a message body (raise to reject the message)."""

    def on_decode_error(self, message, exc):
        """kombu's callback for a body it can't decode: count it, report it, reject the message."""
        self.rejected += 1
        emit(
            CONSUMER,
            outcome="rejected",
            reason=f"{type(exc).__name__}: {exc}"[:200],
            content_type=message.content_type,
            accepted=self.accepted,
            rejected=self.rejected,
        )
        message.reject()


def _describe(body):
    """A short JSON text of a body; raw bodies (binary types pass undecoded) as their repr."""
    try:
        return json.dumps(body)[:200]
    except (TypeError, ValueError):
        return repr(body)[:200]


class ClusterAwareStep(bootsteps.StartStopStep):
    """The guide's gossip step: tracks the cluster size on node_join/leave/lost."""

    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        self.c = c
        #: the cluster size as this worker's gossip sees it
        self.size = None
        c.gossip.on.node_join.add(self.on_change)
        c.gossip.on.node_leave.add(self.on_change)
        c.gossip.on.node_lost.add(self.on_lost)

    def on_change(self, worker=None):
        """node_join/node_leave: count the workers alive and report the size."""
        self.size = len(list(self.c.gossip.state.alive_workers()))
        emit(CLUSTER_SIZE, size=self.size)

    def on_lost(self, worker):
        """node_lost: count again a second later, once gossip has dropped the lost worker."""
        self.c.timer.call_after(1.0, self.on_change)


class OptionReader(bootsteps.Step):
    """Reads the worker option `--kit-greeting` (registered by the kit) and reports it at boot."""

    def __init__(self, worker, kit_greeting=None, **kwargs):
        super().__init__(worker, **kwargs)
        self.greeting = kit_greeting
        emit(OPTION, name="kit_greeting", value=kit_greeting)


#: Name -> (blueprint, step class): what the step picker and `python -m kit worker --steps` offer.
CATALOG = {
    "lifecycle": ("worker", LifecycleStep),
    "deadlock": ("worker", DeadlockDetection),
    "consumer": ("consumer", SafeConsumer),
    "cluster-aware": ("consumer", ClusterAwareStep),
    "option-reader": ("worker", OptionReader),
}

#: Worker options every kit worker accepts (read by the steps above).
KIT_OPTIONS = [
    click.Option(
        ("--deadlock-timeout",), type=float, default=None, help="DeadlockDetection timeout (s)"
    ),
    click.Option(
        ("--deadlock-interval",), type=float, default=None, help="DeadlockDetection interval (s)"
    ),
    click.Option(("--kit-greeting",), default=None, help="A value for the OptionReader demo step"),
]
