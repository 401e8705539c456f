"""How requires is written: a set, a tuple, classes, pre-4 module paths (all work on 5.5-5.7)."""

from celery import bootsteps
from celery.worker.components import Timer

from lint_corpus import expect


# A tuple of strings, as Celery's own steps write it (Heart: requires = (Events,)). Correct.
@expect()
class TupleRequires(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Timer",)

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(5.0, self.tick)

    def stop(self, worker):
        self.tref.cancel()

    def tick(self):
        pass


# A tuple of classes. Correct.
@expect()
class ClassRequires(bootsteps.StartStopStep):
    requires = (Timer,)

    def start(self, worker):
        self.entries = [worker.timer.call_repeatedly(5.0, self.tick)]

    def stop(self, worker):
        for entry in self.entries:
            entry.cancel()

    def tick(self):
        pass


# The package path 'celery.worker.consumer:Gossip' from before Celery 4 split the consumer into
# modules: celery.worker.consumer still exports Gossip on 5.5.3 and 5.7. Correct.
@expect(blueprint="consumer")
class OldConsumerPath(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer:Gossip",)

    def start(self, c):
        c.gossip.on.node_join.add(self.joined)

    def joined(self, worker):
        pass


# The timer's own cancel, with the entry as argument (Celery's Heart does this). Correct.
@expect(blueprint="consumer")
class TimerCancelsEntry(bootsteps.StartStopStep):
    def start(self, c):
        self.timer = c.timer
        self.tref = self.timer.call_after(30.0, self.late)

    def stop(self, c):
        if self.tref:
            self.timer.cancel(self.tref)

    def late(self):
        pass


# Celery's Gossip pattern: cancel the old entry in start() before scheduling a new one. Correct.
@expect(blueprint="consumer")
class RearmsInStart(bootsteps.StartStopStep):
    _tref = None

    def start(self, c):
        self.timer = c.timer
        self.register()

    def register(self):
        if self._tref is not None:
            self._tref.cancel()
        self._tref = self.timer.call_repeatedly(5.0, self.tick)

    def tick(self):
        pass
