"""Steps that make a worker report what notebooks 00-05 claim about Celery (imported by the workers)."""

import inspect
import threading
import time

from celery import bootsteps, signals
from kombu import Consumer, Exchange, Queue

import kit
from kit.events.telemetry import emit


def in_signal_handler():
    """True when called (maybe indirectly) from Celery's shutdown signal handler, `_handle_request`."""
    return any(frame.function == "_handle_request" for frame in inspect.stack())


class SeesCreated(bootsteps.StartStopStep):
    """A worker step without `requires`: what the other steps' `create` made, as seen in `start`."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        # The control: Celery sends worker_shutting_down from inside its signal handler.
        signals.worker_shutting_down.connect(self.on_shutting_down, weak=False)

    def on_shutting_down(self, sig=None, how=None, **kwargs):
        emit("claim-handler", safe=False, how=how, in_handler=in_signal_handler())

    def start(self, worker):
        emit("claim-start", pool=worker.pool is not None, timer=worker.timer is not None)

    def stop(self, worker):
        self._report("stop")

    def terminate(self, worker):
        self._report("terminate")

    def _report(self, method):
        emit(
            "claim-shutdown",
            safe=False,
            method=method,
            in_handler=in_signal_handler(),
            thread=threading.current_thread().name,
        )


class PlainStartStop(bootsteps.StartStopStep):
    """A worker step with `stop` only, as the guide writes them: is it called on a cold shutdown?"""

    def stop(self, worker):
        emit("claim-plain-stop", safe=False)


class DispatcherAtCreate(bootsteps.StartStopStep):
    """A consumer step: is `c.event_dispatcher` there in `create`, before any `start`?"""

    requires = {"celery.worker.consumer.connection:Connection"}

    def create(self, c):
        emit("claim-dispatcher-at-create", none=c.event_dispatcher is None)


class Hello(bootsteps.StartStopStep):
    """A consumer step that sends its own event through Celery's dispatcher (notebook 02)."""

    requires = {"celery.worker.consumer.events:Events"}

    def start(self, c):
        c.event_dispatcher.send(
            "kit-hello", pool=type(c.pool).__module__, concurrency=c.controller.concurrency
        )


class ConsumerTicker(bootsteps.StartStopStep):
    """A consumer step that schedules in `start` and never cancels (notebook 03's Leaky)."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def start(self, c):
        c.timer.call_repeatedly(0.2, emit, ("claim-consumer-tick",), {"made_at": time.time()})


class WorkerTicker(bootsteps.StartStopStep):
    """A worker step that schedules in `start` (and cancels in `stop`)."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(0.2, emit, ("claim-worker-tick",))

    def stop(self, worker):
        self.tref.cancel()


QUEUE = Queue("claims-custom", Exchange("claims-custom"), "claims")


class Guide(bootsteps.ConsumerStep):
    """The guide's consumer: no on_decode_error."""

    def get_consumers(self, channel):
        return [Consumer(channel, queues=[QUEUE], callbacks=[self.on_message], accept=["json"])]

    def on_message(self, body, message):
        message.ack()


class Reports(Guide):
    """Sees the poison message, and neither acks nor rejects it."""

    def get_consumers(self, channel):
        return [
            Consumer(
                channel,
                queues=[QUEUE],
                callbacks=[self.on_message],
                accept=["json"],
                on_decode_error=self.on_decode_error,
            )
        ]

    def on_decode_error(self, message, exc):
        emit("claims-poison", reason=str(exc))


class Rejects(Reports):
    """Sees the poison message and rejects it (notebook 05's solution)."""

    def on_decode_error(self, message, exc):
        super().on_decode_error(message, exc)
        message.reject()


class WhichTimer(bootsteps.StartStopStep):
    """A consumer step: is the consumer's timer the worker's (notebook 03)?"""

    requires = {"celery.worker.consumer.connection:Connection"}

    def start(self, c):
        cls = type(c.timer)
        emit(
            "claim-timer",
            cls=f"{cls.__module__}.{cls.__name__}",
            same=c.timer is c.controller.timer,
        )


class Priorities(bootsteps.StartStopStep):
    """Two entries due at the same moment on the timer's clock, priority 9 scheduled first (notebook 03)."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        import time

        soon = time.monotonic() + 0.5
        self.trefs = [
            worker.timer.call_at(soon, emit, ("claim-priority",), {"priority": p}, priority=p)
            for p in (9, 0)
        ]

    def stop(self, worker):
        for tref in self.trefs:
            tref.cancel()


class GuideDeadlockDetection(bootsteps.StartStopStep):
    """The guide's `__init__`, without **kwargs (notebook 04)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, deadlock_timeout=3600):
        self.timeout = deadlock_timeout


class FastDeadlockDetection(kit.steps.DeadlockDetection):
    """The kit's fixed step, checking every 0.25 s for tasks over 1 s (notebook 04)."""

    timeout = 1
    interval = 0.25
