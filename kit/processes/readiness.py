"""Worker readiness: each worker announces itself once, then every worker's gossip heard each other.

The announcement is a `kit-ready` event. A worker that booted is not yet known to its peers:
Celery's gossip learns of a peer from its first heartbeat (or worker-online), so a peer killed
before then is never reported lost by a worker that never heard it. So a cluster, or
`add_worker()`, is ready only once each new worker's gossip has reported a node_join (the kit's
`kit-gossip` events) for every other worker of the cluster, and each of those for it. Only a
node_join the gossip still holds counts: a later node_lost or node_leave of that peer takes it
back, until it joins again.

Why not a ping loop: the old loop pinged the booting workers with a 0.15 s reply window and
`limit=len(workers)`, again and again. kombu's `Mailbox._collect` counts every reply it drains
toward that limit, replies to earlier pings too (it sets them aside in `Mailbox.unclaimed`), and
waits at most the window for each. Once 60 booting workers on two cores answer later than 0.15 s,
every round reads the previous round's replies and sends a new ping: the backlog never drains, and
no worker is ever counted ready. An announcement has no window: it waits in the feed's history until
it is read.
"""

import threading
import time

from kit.events import contract

#: The gossip reports that say whether a worker's gossip holds a peer.
GOSSIP_NEWS = ("node_join", "node_leave", "node_lost")
#: Seconds without any announcement before the pending workers are pinged (a safety net, not the
#: signal).
PING_EVERY = 5.0
#: Step methods that run before a worker is ready: one reported stuck fails the boot at once.
BOOT_METHODS = {"__init__", "include", "create", "start"}


def _fails_boot(event):
    """Whether a `kit-stuck` report is of one of the app's own steps at boot.

    Celery's own steps can be slow on a loaded machine (a prefork pool starting its children, a
    broker far away): those wait for the deadline.
    """
    return event.get("method") in BOOT_METHODS and not event.get("step", "").startswith("celery.")


#: cloudpickle's file name for the code of a step shipped by value (defined in a notebook cell).
DYNAMIC_CODE = "<dynamic-code>"


def stuck_text(event):
    """'is stuck in Step.start for 5 s (file:line)' from a `kit-stuck` event."""
    where = f" ({event['file']}:{event['line']})" if event.get("file") else ""
    if event.get("file") == DYNAMIC_CODE:
        where = f" (line {event['line']} of the cell that defined it)"
    return f"is stuck in {event['label']}.{event['method']} for {event['elapsed']:.0f} s{where}"


class ReadyWatch:
    """Starting workers' `kit-ready` announcements, and the peers each one's gossip has heard.

    Announcements are matched by node name and process id. `peers`: the cluster's other workers,
    which must hear the new ones and be heard by them; `since`: when the new workers were started
    (epoch seconds: older gossip reports are about an earlier process of the same name);
    `gossip=False` waits for the announcements only (the workers' gossip does not report: probes
    off, or gossip or heartbeats switched off).
    """

    def __init__(self, feed, workers, peers=(), since=0.0, gossip=True):
        self.feed = feed
        self.pending = {w.name: w for w in workers}
        self.new = list(workers)
        self.peers = list(peers)
        self.since = since
        self.gossip = gossip
        self._heard = set()
        #: (observer, peer) -> (kit_time, joined) of the latest report of that observer about it
        self._joins = {}
        #: node name -> its process's first `kit-stuck` report of a boot method (never ready then)
        self.stuck = {}
        self._arrived = threading.Event()
        feed.subscribe(self._on_event)
        # announced before we subscribed
        for event in list(feed.history):
            self._on_event(event)

    def _on_event(self, event):
        kind = event.get("type")
        if kind == contract.READY:
            self._heard.add((event.get("hostname"), event.get("pid")))
            self._arrived.set()
        elif kind == contract.STUCK and _fails_boot(event):
            # only this boot's process: an earlier one of the same name (a restart) may have hung
            if event.get("pid") in {w.proc.pid for w in self.new if w.name == event.get("hostname")}:
                self.stuck.setdefault(event.get("hostname"), event)
            self._arrived.set()
        elif kind == contract.GOSSIP and event.get("event") in GOSSIP_NEWS:
            self._on_gossip(event)

    def _on_gossip(self, event):
        at = event.get("kit_time") or event.get("timestamp") or 0.0
        if at < self.since:
            return
        pair = (event.get("hostname"), event.get("peer"))
        # replayed history and live delivery may cross: the latest report of a pair wins
        if at >= self._joins.get(pair, (0.0, False))[0]:
            self._joins[pair] = (at, event["event"] == "node_join")
            self._arrived.set()

    def unheard(self):
        """(observer, peer) pairs of live workers whose gossip does not hold the peer yet."""
        live = [w for w in self.new + self.peers if w.alive]
        names = {w.name for w in live}
        missing = {}
        for new in (w for w in self.new if w.name in names):
            for other in sorted(names - {new.name}):
                for pair in ((new.name, other), (other, new.name)):
                    if not self._joins.get(pair, (0.0, False))[1]:
                        missing[pair] = True
        return list(missing)

    def _announced(self, worker):
        heard = self._heard
        return (worker.name, worker.proc.pid) in heard or (worker.name, None) in heard

    def collect(self, wait):
        """Wait up to `wait` seconds for an announcement; mark and return the workers now ready."""
        self._arrived.wait(wait)
        self._arrived.clear()
        ready = [w for w in list(self.pending.values()) if self._announced(w)]
        for w in ready:
            self.mark(w)
        return ready

    def wait(self, timeout, answering, progress=None):
        """Until every worker announced itself and (with `gossip`) was heard; None if all did.

        Else (worker, why) for the first that died or was too slow. `answering(names)` pings the
        pending workers after PING_EVERY seconds without an announcement; `progress()` is called
        each time some became ready.
        """
        deadline = time.monotonic() + timeout
        failed = self._announced_all(deadline, timeout, answering, progress)
        if failed is None and self.gossip:
            failed = self._heard_all(deadline, timeout)
        return failed

    def _heard_all(self, deadline, timeout):
        """Until every new worker and its peers heard each other (see the module docstring)."""
        while unheard := self.unheard():
            for w in self.new:
                if not w.alive:
                    return w, f"exited with status {w.proc.returncode}"
            if time.monotonic() > deadline:
                return self._unheard_failure(unheard, timeout)
            self._arrived.wait(0.1)
            self._arrived.clear()
        return None

    def _unheard_failure(self, unheard, timeout):
        observer, peer = unheard[0]
        new = {w.name: w for w in self.new}
        worker = new.get(observer) or new[peer]
        pairs = ", ".join(f"{o} had not heard {p}" for o, p in unheard[:5])
        more = f" (and {len(unheard) - 5} more)" if len(unheard) > 5 else ""
        return worker, (
            f"booted, but the workers' gossip did not hear each other within {timeout:.0f} s: "
            f"{pairs}{more}. Is the machine overloaded? Start fewer workers, or give a longer "
            "timeout= to LocalCluster"
        )

    def _announced_all(self, deadline, timeout, answering, progress):
        next_ping = time.monotonic() + PING_EVERY
        while self.pending:
            for w in list(self.pending.values()):
                if not w.alive:
                    return w, f"exited with status {w.proc.returncode}"
                if w.name in self.stuck:
                    return w, stuck_text(self.stuck[w.name])
            if time.monotonic() > deadline:
                return next(iter(self.pending.values())), f"was not ready within {timeout:.0f} s"
            if self.collect(wait=0.1):
                # announcements arrive: no ping needed
                next_ping = time.monotonic() + PING_EVERY
                if progress:
                    progress()
            # silence: was an announcement lost?
            if self.pending and time.monotonic() > next_ping:
                for name in answering(list(self.pending)):
                    if name in self.pending:
                        self.mark(self.pending[name])
                next_ping = time.monotonic() + PING_EVERY
        return None

    def mark(self, worker):
        """`worker` is ready (announced, or answered a ping)."""
        worker.ready = True
        self.pending.pop(worker.name, None)

    def close(self):
        """Stop listening to the feed."""
        self.feed.unsubscribe(self._on_event)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
