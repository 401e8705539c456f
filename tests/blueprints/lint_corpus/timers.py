"""Timer patterns: callbacks may block (they run later), missing requires, the handed-over timer."""

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


@expect(("requires", "requires"))
class TimerWithoutRequires(bootsteps.StartStopStep):
    def start(self, worker):
        self.tref = worker.timer.call_after(5.0, self.later)

    def later(self):
        pass


@expect(blueprint="consumer")
class ConsumerTimer(bootsteps.StartStopStep):
    """c.timer is handed over by the worker: no requires needed."""

    def start(self, c):
        self.tref = c.timer.call_after(1.0, self.later)

    def later(self):
        pass


@expect()
class PoolInCallback(bootsteps.StartStopStep):
    """Reads the pool only in a timer callback, long after boot: no requires on Pool needed."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.worker = worker
        worker.timer.call_repeatedly(10.0, self.report)

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
