"""Fast gossip: heartbeats and lost-peer checks sized to the cluster, so node_lost is quick yet
never false.

Celery's gossip thinks a peer alive until its last heartbeat + 2 x the interval the peer advertises
in each heartbeat (`freq`), and checks every `interval` seconds. Every worker reads every peer's
heartbeats, so with a fixed interval the cluster's work grows with the square of its size: at 0.2 s,
30 workers on two cores fall behind reading them and report live peers lost by the thousand.

This step gives each machine a budget instead: `heartbeats_per_core` heartbeats read per second per
CPU core. A worker beats every `max(heartbeat_interval, size * local / budget)` seconds, where
`size` is the number of workers it hears and `local` those on its own host (same name after the
`@`), since all of them read each heartbeat on the same cores. A room of laptops (one worker each)
gets a short interval; 60 workers on one 2-core machine a longer one. It checks four times per
interval, re-sizes as peers come and go, and peers follow, because every heartbeat carries its
`freq`.

On a busy machine a process may not run for a while. Two guards keep that from looking like death:
- Sender: the step measures how late its own event loop runs (its check timer's lateness, a
  decaying maximum) and advertises `freq` = interval + that lateness, so peers wait longer for a
  worker that is known to stall. On a quiet machine the lateness is milliseconds.
- Receiver: a starved worker has unread heartbeats in its socket when its timer fires. Its own
  heartbeats come back to it in the same stream, in publish order; a peer is lost only once one of
  ours, sent a full peer `freq` after the peer's last heartbeat, has been read. And a worker that
  has itself been kept from running lately allows a peer on its own host as long again, since the
  same machine starves them both (a SIGKILLed peer is then noticed that much later).

A peer on the same machine need not be waited for at all: every heartbeat carries the machine's
boot id (`kit_machine`) and the sender's pid, and a peer whose process has exited is lost as soon
as one of our heartbeats, sent after we saw it gone, has come back (so a worker-offline it sent
before exiting has been read: a peer that left is never called lost). That takes a check and a
round trip through Redis, however long the heartbeat interval of 60 workers on two cores is.
"""

import os
import time

from celery import bootsteps

from kit.worker.internals import advertise, heart_step

#: The cores this process may run on.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _machine():
    """This machine's identity until it reboots (Linux's boot id), or None where there is none."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


#: Sent in every heartbeat as `kit_machine`: peers with the same one share this process table.
MACHINE = _machine()


def exited(pid):
    """Whether no process `pid` exists here (a zombie not yet reaped still counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, TypeError, ValueError):  # another user's process; no pid known
        return False
    return False


class FastGossip(bootsteps.Step):
    """Heartbeat and gossip check intervals that follow the cluster's size (see the module
    docstring).
    """

    requires = {"celery.worker.consumer.heart:Heart", "celery.worker.consumer.gossip:Gossip"}
    #: Shortest heartbeat interval (seconds): small clusters, or workers with cores of their own.
    heartbeat_interval = 0.2
    #: Heartbeats the workers of one machine read per second per core (the interval grows beyond
    #: it).
    heartbeats_per_core = 750.0
    #: Gossip checks for lost peers per heartbeat interval (never more often than `min_check`
    #: seconds).
    checks_per_interval = 4
    min_check = 0.1
    #: ... and at least this often (seconds), so a peer on this machine that exited is seen soon.
    max_check = 0.25
    #: Re-size only when the ideal interval differs from the current one by more than this fraction.
    hysteresis = 0.25
    #: Seconds a peer's heartbeat may lag behind ours on its way through the broker.
    margin = 0.05
    #: Seconds for the measured lateness of this worker's event loop to decay by half.
    half_life = 10.0

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        self.c = c
        self.interval = self.heartbeat_interval
        self.echo = 0.0
        self.lateness = 0.0
        self._last_check = None
        self.exited = {}  #: peer on this machine whose process exited -> (its pid, when we saw it)

    def create(self, c):
        if MACHINE:
            advertise("kit_machine", MACHINE)
        heart_step(c).heartbeat_interval = self.interval
        gossip = c.gossip
        gossip.interval = self.check_for(self.interval)
        gossip.periodic = self.check  # Gossip.register_timer schedules `self.periodic`
        gossip.on_message = self._hearing(gossip.on_message)

    def interval_for(self, size, local=1, cores=CORES):
        """The heartbeat interval for `size` workers, `local` of them on this worker's `cores`."""
        return max(self.heartbeat_interval, size * local / (self.heartbeats_per_core * cores))

    def check_for(self, interval):
        """Seconds between checks for lost peers when beating every `interval` seconds."""
        return min(self.max_check, max(self.min_check, interval / self.checks_per_interval))

    def sizes(self):
        """(workers this one hears, those on its own host), itself included in both."""
        host = self.c.gossip.hostname.partition("@")[2]
        peers = [w.hostname for w in self.c.gossip.state.workers.values() if w.alive]
        return 1 + len(peers), 1 + sum(1 for h in peers if h.partition("@")[2] == host)

    def _hearing(self, on_message):
        """Gossip's message handler, noting when our own heartbeats come back (see `check`)."""
        hostname = self.c.gossip.hostname

        def heard(prepare, message):
            headers = message.headers
            if headers.get("hostname") == hostname and message.delivery_info.get("routing_key") == (
                "worker.heartbeat"
            ):
                self.echo = message.payload.get("timestamp") or self.echo
            return on_message(prepare, message)

        return heard

    def check(self):
        """Gossip's periodic check: report peers lost, then re-size the intervals if the cluster
        changed.
        """
        gossip = self.c.gossip
        self._measure_lateness(gossip.interval)
        now, host = time.time(), gossip.hostname.partition("@")[2]
        gone = self._exited_here(now)
        lost = [
            w
            for w in gossip.state.workers.values()
            if w.hostname in gone or (not w.alive and self._silent(w, now, host))
        ]
        for worker in lost:
            gossip.on_node_lost(worker)
            gossip.state.workers.pop(worker.hostname, None)
        self.resize()

    def _exited_here(self, now):
        """Peers on this machine whose process exited, proven by an echo sent after we saw it."""
        if MACHINE is None:
            return set()
        workers, beat = self.c.gossip.state.workers, False
        for w in list(workers.values()):
            here = w.heartbeats and getattr(w, "kit_machine", None) == MACHINE
            if here and w.hostname not in self.exited and exited(w.pid):
                self.exited[w.hostname], beat = (w.pid, now), True
        if beat:
            self._beat()
        proven = set()
        for name, (pid, seen) in list(self.exited.items()):
            peer = workers.get(name)
            if peer is None or peer.pid != pid:  # it left (worker-offline), or came back
                del self.exited[name]
            elif self.echo > seen:
                proven.add(name)
                del self.exited[name]
        return proven

    def _beat(self):
        """Send a heartbeat now (its echo proves we read what peers sent before it)."""
        heart = self.c.heart
        if heart is not None and heart.tref is not None:
            heart._send("worker-heartbeat")

    def _silent(self, worker, now, host):
        """Past Celery's expiry, is the peer's silence proven (see the module docstring's two
        guards)?
        """
        if not worker.heartbeats:  # went offline: nothing to wait for
            return True
        last, freq = worker.heartbeats[-1], float(worker.freq)
        slack = self.lateness if worker.hostname.partition("@")[2] == host else 0.0
        return self.echo > last + freq + self.margin and now > last + 2 * freq + slack

    def _measure_lateness(self, period):
        """How late this check runs (decaying maximum); a stall grows the `freq` we advertise at
        once.
        """
        now = time.monotonic()
        if self._last_check is not None:
            since = now - self._last_check
            late = max(0.0, since - period)
            self.lateness = max(late, self.lateness * 0.5 ** (since / self.half_life))
            heart = self.c.heart
            if heart is not None and heart.tref is not None:
                grew = self.freq() > heart.interval * (1 + self.hysteresis)
                heart.interval = (
                    self.freq()
                )  # Heart sends `freq=self.interval`; its timer keeps ours
                if grew:
                    heart._send("worker-heartbeat")
        self._last_check = now

    def freq(self):
        """The heartbeat interval we advertise: the one we keep, plus how late our loop has been
        running.
        """
        return self.interval + self.lateness

    def resize(self):
        ideal = self.interval_for(*self.sizes(), cores=CORES)
        if abs(ideal - self.interval) <= self.hysteresis * self.interval:
            return
        self.interval = ideal
        heart_step(self.c).heartbeat_interval = ideal  # kept if the consumer restarts
        self._rearm_heart(ideal)
        gossip = self.c.gossip
        gossip.interval = self.check_for(ideal)
        gossip.register_timer()
        self._last_check = None  # the next lateness is measured against the new period

    def _rearm_heart(self, interval):
        """Send a heartbeat carrying the new `freq` now (peers judge us by it), then every
        `interval` s.
        """
        heart = self.c.heart
        if heart is None or heart.tref is None:
            return
        heart.timer.cancel(heart.tref)
        heart.interval = self.freq()
        heart._send("worker-heartbeat")
        heart.tref = heart.timer.call_repeatedly(interval, heart._send, ("worker-heartbeat",))
