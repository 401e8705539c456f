"""Hooking into gossip: assigning its handlers (no effect, or Celery's own handler lost) or its sets."""

from celery import bootsteps

from lint_corpus import expect


# The pattern issue 24 found in public code (no project of it turned up in our own searches):
# replace gossip's handler on the instance. Gossip.__init__ gave the bound on_node_join to the
# events State already, so the new function is never called (Celery 5.5.3 and 5.7 alike).
@expect(("start", "gossip"), blueprint="consumer")
class PatchesNodeJoin(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        c.gossip.on_node_join = self.joined

    def joined(self, worker):
        self.last = worker.hostname


# on_node_lost is looked up on each check, so this one runs, in place of Celery's: its log line and
# the callbacks of every other step in c.gossip.on.node_lost are gone.
@expect(("create", "gossip"), blueprint="consumer")
class PatchesNodeLost(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}

    def create(self, c):
        self.c = c
        self.c.gossip.on_node_lost = self.lost

    def lost(self, worker):
        self.gone = worker.hostname


# The way Celery offers: add to the sets in c.gossip.on. Correct.
@expect(blueprint="consumer")
class AddsToGossipSets(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        c.gossip.on.node_join.add(self.changed)
        c.gossip.on.node_lost.add(self.changed)

    def stop(self, c):
        c.gossip.on.node_join.discard(self.changed)
        c.gossip.on.node_lost.discard(self.changed)

    def changed(self, worker):
        self.last = worker.hostname


class _Membership:
    """A step's own object that happens to be called gossip."""

    on_change = None


# Its own attribute named gossip, with a handler of its own: not Celery's gossip. Correct.
@expect()
class OwnGossipObject(bootsteps.StartStopStep):
    def start(self, worker):
        self.gossip = _Membership()
        self.gossip.on_change = self.changed

    def changed(self):
        pass
