"""SizedGossip: Celery's gossip, its heartbeat and check intervals sized to this machine's workers.

The rule stays Celery's: a peer is lost once its last heartbeat is 2 x its `freq` old, found by
Celery's own `Gossip.periodic` and reported by its `on_node_lost`. This step only sets the two
intervals before Heart and Gossip start, as `kit.gossip_timing.sized` chooses them (see there):
the heartbeat interval (Heart's `heartbeat_interval`, sent in every heartbeat as `freq`) and
`gossip.interval`.

It starts with the number of workers the cluster planned on this machine (`planned`, set by
`kit.worker.app` from the payload) and re-sizes on Celery's node_join, node_leave and node_lost
callbacks, from the peers its gossip has heard, never below the plan (a booting worker has heard
only some of its peers): a cluster grown with `add_worker()` gets the intervals of its new size.
A longer heartbeat is announced by a heartbeat sent at once with the new `freq`, before the first
longer gap, so peers never judge this worker by an old, shorter one.
"""

from celery import bootsteps

from kit import gossip_timing
from kit.worker import internals


class SizedGossip(bootsteps.Step):
    """Sets Heart's and Gossip's intervals for the cluster's size (Celery's rule is untouched)."""

    requires = {"celery.worker.consumer.heart:Heart", "celery.worker.consumer.gossip:Gossip"}
    #: Workers the cluster starts on this machine (kit.worker.app sets it from the payload).
    planned = 1
    #: Re-size only when the ideal heartbeat differs from the current one by more than this fraction.
    hysteresis = 0.25

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        self.c = c
        self.timing = gossip_timing.sized(self.planned)

    def create(self, c):
        internals.start_heartbeat_every(c, self.timing.heartbeat_interval)
        gossip = c.gossip
        internals.check_gossip_every(gossip, self.timing.check_interval)
        if gossip.enabled:
            gossip.on.node_join.add(self._joined)
            gossip.on.node_leave.add(self._gone)
            gossip.on.node_lost.add(self._gone)

    def _joined(self, worker):
        self.resize()

    def _gone(self, worker):
        # Celery forgets the peer right after its callbacks: count it out already
        self.resize(leaving=worker.hostname)

    def sizes(self, leaving=None):
        """(workers heard, those on this machine), this one included in both."""
        host = self.c.gossip.hostname.partition("@")[2]
        peers = [h for h in internals.peers_heard(self.c.gossip) if h != leaving]
        local = sum(1 for h in peers if h.partition("@")[2] == host)
        return 1 + len(peers), 1 + local

    def resize(self, leaving=None):
        """Re-size the intervals to the peers heard now, if they changed enough."""
        size, local = self.sizes(leaving)
        # while booting it has heard only some of the planned workers: never size below the plan
        ideal = gossip_timing.sized(max(local, self.planned), max(size, self.planned))
        current = self.timing.heartbeat_interval
        if abs(ideal.heartbeat_interval - current) <= self.hysteresis * current:
            return
        self.timing = ideal
        internals.beat_every(self.c, ideal.heartbeat_interval)
        internals.check_gossip_every(self.c.gossip, ideal.check_interval, rearm=True)
