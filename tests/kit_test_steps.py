"""Steps used by the integration tests (importable by the workers: tests/ is on the shipped sys.path)."""

import os
import time

from celery import bootsteps

import kit
from kit.events.telemetry import emit


class Recorder(bootsteps.StartStopStep):
    """Reports the worker option it received and its own lifecycle."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, kit_greeting=None, **kwargs):
        super().__init__(worker, **kwargs)
        emit("recorder", greeting=kit_greeting)


class Ticker(bootsteps.StartStopStep):
    """Schedules a repeating timer call."""

    requires = {"celery.worker.components:Timer"}
    interval = 0.7

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(self.interval, self.tick, priority=3)

    def tick(self):
        pass

    def stop(self, worker):
        self.tref.cancel()


class FastDeadlock(kit.steps.DeadlockDetection):
    timeout = 1.0
    interval = 0.3


class RaisesInInit(bootsteps.Step):
    def __init__(self, worker, **kwargs):
        raise RuntimeError("boom in __init__")


class RaisesInStart(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def start(self, worker):
        raise RuntimeError("boom in start")


class BlocksInStart(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def start(self, worker):
        time.sleep(3600)


class CycleA(bootsteps.Step):
    requires = {"kit_test_steps:CycleB"}


class CycleB(bootsteps.Step):
    requires = {"kit_test_steps:CycleA"}


class StartsACluster(bootsteps.StartStopStep):
    """Starts a cluster from inside the worker (refused: clusters would nest without end)."""

    def start(self, worker):
        kit.LocalCluster(progress=False)


class SlowStop(bootsteps.StartStopStep):
    """A stop that waits (as one draining a pool would) until the file KIT_TEST_RELEASE exists."""

    requires = {"celery.worker.components:Pool"}

    def stop(self, worker):
        release, deadline = os.environ.get("KIT_TEST_RELEASE", ""), time.monotonic() + 120
        while release and not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)  # SlowStop waits here


class SlowStart(bootsteps.StartStopStep):
    """A start that says it began (kit-test-starting), then waits until KIT_TEST_RELEASE exists."""

    requires = {"celery.worker.components:Pool"}

    def start(self, worker):
        emit("test-starting")
        release, deadline = os.environ.get("KIT_TEST_RELEASE", ""), time.monotonic() + 120
        while release and not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
