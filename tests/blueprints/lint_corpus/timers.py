"""Timer patterns: callbacks may block (they run later), missing requires, the handed-over timer,
entries never cancelled.
"""

import threading
import time

from celery import bootsteps

from lint_corpus import expect


@expect()
class Heartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(1.0, self.tick, priority=3)

    def tick(self):
        time.sleep(0.01)

    def stop(self, worker):
        self.tref.cancel()


@expect()
class TimerWithoutRequires(bootsteps.StartStopStep):
    """Reads worker.timer in start(): every step's create() (Timer's too) has run by then."""

    def start(self, worker):
        self.tref = worker.timer.call_after(5.0, self.later)

    def later(self):
        pass


@expect(("requires", "requires"))
class TimerInCreateWithoutRequires(bootsteps.StartStopStep):
    """Schedules in create(), which may run before Timer's create() sets worker.timer."""

    def create(self, worker):
        self.tref = worker.timer.call_after(5.0, self.later)

    def stop(self, worker):
        self.tref.cancel()

    def later(self):
        pass


@expect(blueprint="consumer")
class ConsumerTimer(bootsteps.StartStopStep):
    """c.timer is handed over by the worker: no requires needed."""

    def start(self, c):
        self.tref = c.timer.call_after(1.0, self.later)

    def stop(self, c):
        self.tref.cancel()

    def later(self):
        pass


@expect(("start", "timer"), blueprint="consumer")
class ConsumerOneShotNeverCancelled(bootsteps.StartStopStep):
    """A consumer step's start() runs again after each reconnection: a pending entry is doubled."""

    def start(self, c):
        c.timer.call_after(60.0, self.later)

    def later(self):
        pass


@expect()
class WorkerOneShot(bootsteps.StartStopStep):
    """A worker step's start() runs once per process: a one-shot entry cannot pile up."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        worker.timer.call_after(1.0, self.later)

    def later(self):
        pass


# Notebook 03's Countdown solution, as taught: only tick() cancels the entry, stop() never does.
@expect(("start", "timer"))
class Countdown(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.n = 0
        self.tref = worker.timer.call_repeatedly(0.2, self.tick)

    def tick(self):
        self.n += 1
        if self.n == 3:
            self.tref.cancel()


@expect(("start", "timer"))
class KeptInLocalNeverCancelled(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        tref = worker.timer.call_repeatedly(5.0, self.tick)
        self.entries = [tref]

    def tick(self):
        pass


@expect()
class KeptInLocalCancelled(KeptInLocalNeverCancelled):
    def stop(self, worker):
        while self.entries:
            self.entries.pop().cancel()


@expect()
class PoolInStart(bootsteps.StartStopStep):
    """Reads worker.pool in start() without requiring Pool: correct, Pool.create() ran already."""

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(10.0, self.report, (worker.pool.num_processes,))

    def stop(self, worker):
        self.tref.cancel()

    def report(self, size):
        self.size = size


@expect()
class PoolInCallback(bootsteps.StartStopStep):
    """Reads the pool only in a timer callback, long after boot: no requires on Pool needed."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.worker = worker
        self.tref = worker.timer.call_repeatedly(10.0, self.report)

    def stop(self, worker):
        self.tref.cancel()

    def report(self):
        self.size = self.worker.pool.num_processes


@expect()
class OwnTimerAttribute(bootsteps.StartStopStep):
    """Its own attribute named timer (a threading.Timer) is not the worker's."""

    def start(self, worker):
        self.timer = threading.Timer(5.0, self.later)
        self.timer.start()

    def stop(self, worker):
        self.timer.cancel()

    def later(self):
        pass


@expect(("requires", "blueprint"), blueprint="consumer")
class ConsumerRequiresHub(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Hub"}

    def start(self, c):
        self.hub = c.hub
