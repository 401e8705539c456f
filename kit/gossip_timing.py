"""Gossip timing: a cluster's heartbeat and check intervals, and when node_lost is due.

Celery's rule, which the kit never changes (`celery/events/state.py`, `worker/consumer/gossip.py`):
a peer is alive until the moment its last heartbeat was read + 2 x the `freq` that heartbeat
advertised (`HEARTBEAT_EXPIRE_WINDOW` = 200 %), and `Gossip.periodic` looks for expired peers every
`gossip.interval` seconds and reports each one with `on_node_lost`. The kit only chooses the two
intervals (`gossip=` of `kit.LocalCluster`):

- `"sized"` (the default; `"fast"` is its former name): Celery's defaults (heartbeat 2 s) once a
  machine runs many workers, shorter heartbeats when it runs few. Every worker reads every peer's
  heartbeats, so the machine reads `local x size / heartbeat` of them per second (`local`: workers
  on this machine, `size`: all the workers heard). The heartbeat is the shortest that keeps this
  within `READS_PER_CORE` per core, never shorter than `FASTEST_HEARTBEAT` and never longer than
  Celery's own 2 s. On 2 cores: 0.5 s up to 15 workers, 0.8 s at 20, 1.8 s at 30, Celery's 2 s
  from 32 on. The check runs every half heartbeat (Celery's: every 5 s).
- `"celery-default"`: Celery's own intervals, untouched (heartbeat 2 s, check 5 s).

Why these: below Celery's 2 s, a worker survives a stall of one heartbeat interval only (expiry is
two intervals after the last heartbeat read), so the kit shortens it only while the read load stays
at 250 per core per second: what Celery's own 2 s heartbeat puts on two cores at 32 workers (it was
measured with 0 false node_lost at 90). From 32 workers on the kit is exactly as robust as Celery
(same expiry), and it never waits longer than Celery: its check interval is shorter.

When node_lost is due after a SIGKILL (`GossipTiming.node_lost_window`): the victim's last
heartbeat was sent at most one heartbeat `F` before the kill, so a survivor's expiry falls between
`F` and `2F` after it; the survivor notices at its next check, within one check interval `I`. So
node_lost comes between `F` and `2F + I` seconds after the kill, plus the few milliseconds the last
heartbeat took to arrive and any lateness of the survivor's timer on a busy machine.
"""

import os
from dataclasses import dataclass

#: Celery's Heart sends a heartbeat every 2 s by default (`celery.worker.heartbeat.Heart`).
CELERY_HEARTBEAT = 2.0
#: Celery's Gossip checks for lost peers every 5 s by default (`Gossip(interval=5.0)`).
CELERY_CHECK = 5.0
#: A peer is alive until its last heartbeat + this many of its `freq` (HEARTBEAT_EXPIRE_WINDOW 200 %).
EXPIRE_FACTOR = 2.0
#: The shortest heartbeat interval the kit uses (small clusters).
FASTEST_HEARTBEAT = 0.5
#: Heartbeats the workers of one machine may read per second per core below Celery's interval.
READS_PER_CORE = 250.0
#: The values LocalCluster's `gossip=` accepts ("fast": the former name of "sized").
MODES = ("sized", "celery-default")
ALIASES = {"fast": "sized"}

#: The cores this process may run on.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class GossipTiming:
    """The intervals a cluster's workers use: what a learner needs to predict node_lost."""

    #: Seconds between a worker's heartbeats; each heartbeat advertises it as `freq`.
    heartbeat_interval: float
    #: Seconds between two runs of Celery's `Gossip.periodic`, the check for expired peers.
    check_interval: float

    @property
    def expires_after(self):
        """Seconds after its last heartbeat that a silent peer counts as lost (2 x freq)."""
        return EXPIRE_FACTOR * self.heartbeat_interval

    def node_lost_window(self):
        """(earliest, latest) seconds from a SIGKILL to a survivor's node_lost, by Celery's rule.

        `(F, 2F + I)` for heartbeat `F` and check `I` (see the module docstring), before the
        heartbeat's trip through the broker and any lateness of a busy machine's timers.
        """
        return self.heartbeat_interval, self.expires_after + self.check_interval


#: Celery's own timing (`gossip="celery-default"`).
CELERY_DEFAULT = GossipTiming(CELERY_HEARTBEAT, CELERY_CHECK)


def mode_of(gossip):
    """The gossip mode `gossip` names; ValueError naming the allowed ones otherwise."""
    mode = ALIASES.get(gossip, gossip)
    if mode not in MODES:
        raise ValueError(
            f"gossip={gossip!r}: choose 'sized' (Celery's rule, intervals sized to the workers on "
            "this machine) or 'celery-default' (Celery's own intervals)"
        )
    return mode


def sized(local, size=None, cores=None):
    """The timing for `local` workers on `cores` (this machine's), `size` heard in all.

    `size` defaults to `local`.
    """
    size = max(size or local, local, 1)
    reads = max(local, 1) * size / (READS_PER_CORE * (cores or CORES))
    heartbeat = min(CELERY_HEARTBEAT, max(FASTEST_HEARTBEAT, reads))
    return GossipTiming(heartbeat, heartbeat / 2)


def timing(gossip, local, size=None, cores=None):
    """The timing of mode `gossip` for `local` workers here (`size` heard in all)."""
    if mode_of(gossip) == "celery-default":
        return CELERY_DEFAULT
    return sized(local, size, cores)


def with_heartbeat(gossip, heartbeat):
    """The timing of mode `gossip` whose workers advertise `heartbeat` as their `freq`."""
    if mode_of(gossip) == "celery-default":
        return GossipTiming(heartbeat, CELERY_CHECK)
    return GossipTiming(heartbeat, heartbeat / 2)


def heard(gossip, events, names, planned):
    """The timing of mode `gossip` that `names`' latest heartbeats in `events` advertise.

    The longest `freq` among them counts; until one is heard, the timing planned for `planned`
    workers on this machine.
    """
    latest = {}
    for event in reversed(list(events)):
        name = event.get("hostname")
        if event.get("type") == "worker-heartbeat" and name in names and name not in latest:
            latest[name] = event.get("freq")
    freqs = [float(f) for f in latest.values() if isinstance(f, (int, float))]
    if not freqs:
        return timing(gossip, max(1, planned))
    return with_heartbeat(gossip, max(freqs))
