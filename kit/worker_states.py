"""The one model of worker state (joined, ready, busy, left, lost), fed from a view's EventLog."""

import collections
import re
import threading
import time

from celery.events.state import Worker

from kit.events import contract

JOINED, READY, BUSY, LEFT, LOST = "joined", "ready", "busy", "left", "lost"
#: Each state and the event that leads to it.
STATES = {
    JOINED: "its worker-online arrived; it has not announced kit-ready yet",
    READY: "it announced kit-ready (or was already running when the view started watching)",
    BUSY: "a task-started arrived and its task has not ended yet",
    LEFT: "a warm shutdown: its worker-offline, or a peer's gossip node_leave",
    LOST: "a peer's gossip node_lost, or Celery's expiry rule: no heartbeat for 2 x its freq",
}
#: The states of a worker that is there (not left, not lost).
PRESENT = (JOINED, READY, BUSY)
#: Task events that end a task (the worker is no longer busy with it).
TASK_ENDS = ("task-succeeded", "task-failed", "task-retried", "task-revoked", "task-rejected")
#: The event types the model reads (Celery's worker and task events, the kit's READY and GOSSIP).
TYPES = (
    "worker-online",
    "worker-heartbeat",
    "worker-offline",
    contract.READY,
    contract.GOSSIP,
    contract.STUCK,
    contract.LIFECYCLE,
    "task-started",
    *TASK_ENDS,
    contract.REPLAY,
)
#: Fields of a worker event that Celery's `Worker` keeps (never `heartbeats`: Celery owns it).
WORKER_FIELDS = ("pid", "freq", "clock", "active", "processed", "loadavg")


#: Seconds past its due time after which a stuck call's next report counts as late.
REPORT_SLACK = 5.0


def report_late(event, now):
    """Is the next `kit-stuck` report of this call late (it comes when the elapsed time doubles)?

    A late report means the worker stopped reporting: it was killed, or its process is frozen.
    """
    started, elapsed = event.get("started_at"), event.get("elapsed")
    if started is None or not elapsed:
        return False
    return now > started + 2 * elapsed + REPORT_SLACK


class Change(collections.namedtuple("Change", "time state")):
    """One change of a worker's state: when (the event's timestamp, epoch seconds) and to what."""


def natural(name):
    """Sort key: w2@host before w10@host."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class WorkerStates:
    """Every worker a view's events name, its changes of state, and Celery's record of it.

    Feed it with `on_event` (the types in `TYPES`; a `kit-replay` event starts it again). Each
    worker's heartbeats go into a `celery.events.state.Worker`, so "lost" without a gossip report
    is Celery's own rule: the view's clock passed the worker's `heartbeat_expires` (its last
    heartbeat + `expire_window` % of its `freq`). `clock` is the view's clock (a replay's moves
    through its recording).
    """

    def __init__(self, clock=time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        """Forget every worker (a replay going back in time hands the events out again)."""
        with self._lock:
            self._celery = {}
            self._changes = {}
            self._active = collections.Counter()
            #: worker -> {(pid, step, method): its last kit-stuck report}, while the call runs
            self._stuck = {}

    # -- fed from the EventLog ------------------------------------------------------------------
    def on_event(self, event):
        """Take one event; True when a worker's state changed."""
        kind = event.get("type") or ""
        if kind == contract.REPLAY:
            self.reset()
            return True
        host, at = event.get("hostname"), event.get("timestamp") or self.clock()
        with self._lock:
            if kind in (contract.STUCK, contract.LIFECYCLE) and host:
                return self._stuck_event(kind, host, event)
            if kind.startswith("worker-") and host:
                return self._worker_event(kind[7:], host, at, event)
            if kind == contract.READY and host:
                return self._change(host, at, READY)
            if kind == contract.GOSSIP and event.get("peer"):
                what = {"node_lost": LOST, "node_leave": LEFT}.get(event.get("event"))
                return what is not None and self._end(event["peer"], at, what)
            if kind == "task-started" and host:
                self._active[host] += 1
                return self._change(host, at, BUSY)
            if kind in TASK_ENDS and host and self._active[host] > 0:
                self._active[host] -= 1
                if not self._active[host] and self._last(host) == BUSY:
                    return self._change(host, at, READY)
        return False

    def heard(self, name, at=None, freq=2.0):
        """A sign of life from outside the events (a ping answer): a heartbeat at `at`."""
        at = at or self.clock()
        event = {"hostname": name, "timestamp": at, "local_received": at, "freq": freq}
        with self._lock:
            self._worker_event("heartbeat", name, at, event)

    def _worker_event(self, subject, host, at, event):
        worker = self._celery.get(host)
        if worker is None:
            worker = self._celery[host] = Worker(hostname=host)
        fields = {k: event[k] for k in WORKER_FIELDS if event.get(k) is not None}
        received = event.get("local_received") or at
        worker.event(subject, at, received, fields)
        last = self._last(host)
        if subject in ("online", "offline"):
            # a worker that (re)starts or ends runs no stuck call any more
            self._stuck.pop(host, None)
        if subject == "online":
            self._active.pop(host, None)
            return self._change(host, at, JOINED)
        if subject == "offline":
            return self._end(host, at, LEFT)
        if last is None or last in (LEFT, LOST):
            # heard by heartbeat: it ran before the view watched, or it is heard again after a loss
            was_ready = last is not None and any(c.state == READY for c in self._changes[host])
            return self._change(host, at, READY if last is None or was_ready else JOINED)
        return False

    def _stuck_event(self, kind, host, event):
        """A stuck report opens (or renews) a call; the call's kit-lifecycle closes it."""
        key = (event.get("pid"), event.get("step"), event.get("method"))
        calls = self._stuck.setdefault(host, {})
        if kind == contract.STUCK:
            calls[key] = event
            return True
        return calls.pop(key, None) is not None

    def _last(self, host):
        changes = self._changes.get(host)
        return changes[-1].state if changes else None

    def _change(self, host, at, state):
        changes = self._changes.setdefault(host, [])
        if changes and changes[-1].state == state:
            return False
        changes.append(Change(at, state))
        return True

    def _end(self, host, at, state):
        """Left or lost, once: the first report counts (every peer reports a node_lost)."""
        if self._last(host) in (LEFT, LOST):
            return False
        self._active.pop(host, None)
        self._stuck.pop(host, None)
        return self._change(host, at, state)

    # -- what the views read --------------------------------------------------------------------
    @property
    def known(self):
        """Every worker the events named, in natural order (w2 before w10)."""
        with self._lock:
            return sorted(self._changes, key=natural)

    def changes(self, name, now=None):
        """[Change(time, state), ...] of `name`, with a loss by Celery's expiry rule at its time."""
        # the clock first: a replay's clock takes the replay's lock, held while it feeds us
        now = self.clock() if now is None else now
        with self._lock:
            changes = list(self._changes.get(name, ()))
            expired = self._expired(name, now)
        if expired is not None:
            changes.append(Change(expired, LOST))
        return changes

    def state(self, name, now=None):
        """`name`'s state at the view's clock (or `now`), None for a worker never heard of.

        A state is one of joined, ready, busy, left, lost.
        """
        changes = self.changes(name, now)
        return changes[-1].state if changes else None

    def ready(self, name):
        """True once `name` announced kit-ready since it last joined (a restart boots again)."""
        with self._lock:
            changes = list(self._changes.get(name, ()))
        booted = [c.state for c in changes if c.state in (JOINED, READY)]
        return bool(booted) and booted[-1] == READY

    def present(self, now=None):
        """The workers there at the view's clock: joined, ready or busy, and not expired."""
        now = self.clock() if now is None else now
        return [name for name in self.known if self.state(name, now) in PRESENT]

    def ended(self, now=None):
        """{worker: (time, 'left' | 'lost')} for every worker gone at the view's clock."""
        now = self.clock() if now is None else now
        out = {}
        for name in self.known:
            changes = self.changes(name, now)
            if changes and changes[-1].state in (LEFT, LOST):
                out[name] = tuple(changes[-1])
        return out

    def stuck(self, name):
        """The `kit-stuck` reports of `name`'s step calls still running, oldest first.

        A report is dropped when its call's `kit-lifecycle` arrives, and when the worker ends,
        is lost or starts again.
        """
        with self._lock:
            calls = list(self._stuck.get(name, {}).values())
        return sorted(calls, key=lambda e: e.get("started_at") or 0)

    def stuck_workers(self):
        """The workers with a step call still stuck, in natural order."""
        with self._lock:
            return sorted((n for n, calls in self._stuck.items() if calls), key=natural)

    def pid(self, name):
        """The process id its worker events carried, or None."""
        worker = self._celery.get(name)
        return worker.pid if worker is not None else None

    def processed(self, name):
        """How many tasks it processed, as its last heartbeat said (0 before one)."""
        worker = self._celery.get(name)
        return (worker.processed or 0) if worker is not None else 0

    def _expired(self, name, now):
        """When Celery's rule judged `name` lost at `now` (its `heartbeat_expires`), or None."""
        changes, worker = self._changes.get(name), self._celery.get(name)
        if not changes or changes[-1].state not in PRESENT or worker is None:
            return None
        if not worker.heartbeats:
            return None
        expires = worker.heartbeat_expires
        return expires if now >= expires else None
