"""The kit's own steps (its catalog and the probes every kit worker runs), and notebook 09's pitfalls."""

import threading
import time

from celery import bootsteps

from kit.events.telemetry import emit
from kit.steps import CATALOG
from kit.worker.probes import GossipProbe, TimerProbe
from kit.worker.sized_gossip import SizedGossip
from lint_corpus import expect

for _kind, _cls in CATALOG.values():
    expect(blueprint=_kind)(_cls)
expect()(TimerProbe)
expect(blueprint="consumer")(GossipProbe)
expect(blueprint="consumer")(SizedGossip)


@expect(("start", "blocks"))
class BlockingStart(bootsteps.StartStopStep):
    seconds = 1.5

    def start(self, worker):
        time.sleep(self.seconds)


@expect()
class LoudStop(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def stop(self, worker):
        from celery.utils import log

        log.get_logger("lab").warning("LoudStop.stop: stopping")
        emit("where", what="LoudStop.stop", thread=threading.current_thread().name, safe=False)


@expect(("requires", "requires"))
class PoolPeek(bootsteps.Step):
    def create(self, worker):
        emit("pool-peek", pool=type(worker.pool).__name__)


@expect()
class BackgroundStart(bootsteps.StartStopStep):
    seconds = 1.0

    def start(self, worker):
        self.stopping = threading.Event()
        threading.Thread(target=self.warm_up, daemon=True).start()

    def warm_up(self):
        if not self.stopping.wait(self.seconds):
            emit("warmed-up")

    def stop(self, worker):
        self.stopping.set()


@expect(("requires", "requires"))
class PoolPeekStarter(bootsteps.Step):
    """Notebook 09's exercise as handed out: requires is still a placeholder."""

    requires = ...

    def create(self, worker):
        emit("pool-peek", pool=type(worker.pool).__name__)
