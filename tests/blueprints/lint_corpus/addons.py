"""Periodic add-ons on the worker's timer with their interval as a constructor argument (riberry)."""

import time

from celery import bootsteps

from lint_corpus import expect


class PeriodicAddon(bootsteps.StartStopStep):
    """Runs `run()` every `interval` seconds on the worker's timer, while `should_run()` says so."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, interval, priority=10, **kwargs):
        super().__init__(worker, interval=interval, priority=priority, **kwargs)
        self._timer = None
        self.interval, self.priority = interval, priority

    def should_run(self):
        return True

    def start(self, worker):
        if self.should_run():
            self._timer = worker.timer.call_repeatedly(
                self.interval, self._execute, priority=self.priority
            )

    def stop(self, worker):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _execute(self):
        began = time.time()
        try:
            self.run()
        finally:
            self.took = time.time() - began

    def run(self):
        raise NotImplementedError


# Models riberry (its AddonStartStopStep, later version): a concrete add-on fixes the interval
# and passes the worker's options on; the entry is cancelled in stop(). Correct.
@expect()
class MetricsAddon(PeriodicAddon):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, interval=30.0, **kwargs)

    def run(self):
        self.last = time.time()


# Models riberry's earlier version of the same base: __init__(self, worker, interval, priority=10)
# with no **kwargs, so Celery's Step(parent, **worker_options) fails with TypeError.
@expect(("__init__", "kwargs"))
class EarlyAddon(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, interval=30.0, priority=10):
        self._timer = None
        self.interval, self.priority = interval, priority

    def start(self, worker):
        self._timer = worker.timer.call_repeatedly(self.interval, self.run, priority=self.priority)

    def stop(self, worker):
        if self._timer is not None:
            self._timer.cancel()

    def run(self):
        pass
