"""Worker-side probes: step lifecycle, timer calls and gossip, recorded as `kit-*` events."""

import inspect
import os
import threading
import time

from celery import bootsteps

from kit.events.contract import GOSSIP, LIFECYCLE, TIMER
from kit.events.telemetry import emit
from kit.worker import internals, shutdown
from kit.worker.stuck import watchdog

#: Methods traced on every step; the last four run while the worker shuts down, where the probe
#: only queues its record (Celery calls them from its main loop, not from the signal handler).
METHODS = ("include", "create", "start", "stop", "close", "terminate", "shutdown")
UNSAFE = {"stop", "close", "terminate", "shutdown"}
BOOT = {"__init__", "include", "create", "start"}
_boot_fd = None


def label(cls):
    return getattr(cls, "label", None) or cls.__name__


def _mark(text):
    """Write the boot marker (the cluster names the booting step from it on a timeout)."""
    if _boot_fd is not None:
        os.write(_boot_fd, text.encode() + b"\n")


def _run(cls, blueprint, method, fn, args, kwargs, timings):
    """Call fn, recording its start time, duration and error as a `kit-lifecycle` event."""
    where = f"{blueprint} {label(cls)} {method}"
    if method in BOOT:
        _mark(f"> {where}")
    t0, start, error = time.time(), time.perf_counter(), None
    call = watchdog.enter(cls, blueprint, method)
    running = (threading.get_ident(), f"{label(cls)}.{method}")
    shutdown.running.append(running)
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        shutdown.running.remove(running)
        watchdog.leave(call)
        timings[method] = took = time.perf_counter() - start
        if method in BOOT:
            _mark(f"< {where}" + (f" ! {error}" if error else ""))
        emit(
            LIFECYCLE,
            safe=method not in UNSAFE,
            blueprint=blueprint,
            step=cls.name,
            label=label(cls),
            method=method,
            started_at=t0,
            duration=took,
            error=error,
        )


def _traced(step, blueprint, method, fn):
    def call(*args, **kwargs):
        result = _run(type(step), blueprint, method, fn, args, kwargs, step._kit_timings)
        if method == "start":
            step._kit_started = True
        return result

    return call


def _factory(cls, blueprint):
    """Stands in for a step class in Blueprint.apply: times __init__, traces the methods."""

    def make(parent, **kwargs):
        timings = {}
        step = _run(cls, blueprint, "__init__", cls, (parent,), kwargs, timings)
        step._kit_timings, step._kit_started = timings, False
        for method in METHODS:
            if hasattr(step, method):
                setattr(step, method, _traced(step, blueprint, method, getattr(step, method)))
        return step

    return make


def install_lifecycle_probe(boot_log=None):
    """Trace every step of both blueprints in this worker process (Blueprint._finalize_steps)."""
    global _boot_fd
    if boot_log:
        _boot_fd = os.open(boot_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def wrap(original):
        def _finalize_steps(self, steps):
            name = self.name.lower()
            return [_factory(cls, name) for cls in original(self, steps)]

        return _finalize_steps

    internals.wrap_finalize_steps(wrap)
    shutdown.install()


def _qualname(fun):
    fun = inspect.unwrap(fun)
    owner = getattr(fun, "__self__", None)
    name = getattr(fun, "__qualname__", None) or type(fun).__name__
    if owner is not None and "." not in name:
        name = f"{type(owner).__name__}.{name}"
    return f"{getattr(fun, '__module__', '?')}.{name}"


def _fired(fun, callback):
    def fire(*args, **kwargs):
        start = time.perf_counter()
        error = None
        try:
            return fun(*args, **kwargs)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            emit(
                TIMER,
                kind="fire",
                callback=callback,
                duration=time.perf_counter() - start,
                error=error,
            )

    fire.__wrapped__ = fun
    return fire


def _scheduler(timer, kind):
    original = getattr(timer, kind)

    def schedule(when, fun, args=(), kwargs=None, priority=0):
        callback = _qualname(fun)
        tref = original(when, _fired(fun, callback), args, kwargs, priority)
        key = "eta" if kind == "call_at" else "interval" if kind == "call_repeatedly" else "delay"
        eta = when.timestamp() if key == "eta" and hasattr(when, "timestamp") else when
        emit(TIMER, kind=kind, callback=callback, priority=priority, **{key: eta})
        return tref

    return schedule


class TracedEntry(internals.Entry):
    """A timer entry that reports its cancellation."""

    __slots__ = ()

    def cancel(self):
        """Report the cancellation (once), then cancel as kombu does."""
        if not internals.entry_cancelled(self):
            emit(TIMER, safe=False, kind="cancel", callback=_qualname(internals.entry_callback(self)))
        super().cancel()


class TimerProbe(bootsteps.Step):
    """Wraps the worker timer's call_at/after/repeatedly: schedules, fires, cancellations."""

    requires = {"celery.worker.components:Timer"}

    def create(self, w):
        internals.use_entry_class(w.timer, TracedEntry)
        for kind in ("call_at", "call_after", "call_repeatedly"):
            setattr(w.timer, kind, _scheduler(w.timer, kind))


#: A request no one wins (its clock is after every real one's): pads an election's lone request.
NO_CANDIDATE = (float("inf"), "", None, None)


class GossipProbe(bootsteps.StartStopStep):
    """Reports node_join/leave/lost and elections as this worker sees them, with the cluster size.

    The size counts the peers the gossip knows: a peer whose heartbeat is only late still counts
    until it is reported lost. Celery's default check reports every lost peer of a round before it
    forgets any of them, so a size can be one too high just then: a recount right after each
    callback reports the settled size as a `recount` when it differs.
    """

    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        gossip = self.gossip = c.gossip
        # alone until a peer is heard
        self.timer, self.reported = c.timer, 1
        if not gossip.enabled:
            return
        for event in ("node_join", "node_leave", "node_lost"):
            getattr(gossip.on, event).add(self._reporter(event))
        internals.on_election_won(gossip, "kit", self.on_won)
        internals.wrap_election_handlers(gossip, self._wrap_elect, self._wrap_ack)

    def peers(self, leaving=None):
        """Other workers this one's gossip knows: heard from, not seen leave, not reported lost.

        Celery's `alive_workers()` (what the guide's ClusterAwareStep counts) also drops a peer
        whose heartbeat is late, for that moment. `leaving`: the peer a node_leave or node_lost is
        about (Celery forgets it just after the callback).
        """
        gone = {self.gossip.hostname, leaving}
        return sum(1 for name in internals.gossip_peers(self.gossip) if name not in gone)

    def _reporter(self, event):
        def report(worker):
            leaving = worker.hostname if event != "node_join" else None
            self.reported = self.peers(leaving) + 1
            emit(GOSSIP, event=event, peer=worker.hostname, size=self.reported)
            # once Celery's round is over; the class's call_after, not TimerProbe's wrapper: the
            # kit's own bookkeeping stays off the learner's timeline
            type(self.timer).call_after(self.timer, 0.05, self.recount)

        return report

    def recount(self):
        """Report the size if it settled at another value than the last callback reported."""
        size = self.peers() + 1
        if size != self.reported:
            self.reported = size
            emit(GOSSIP, event="recount", size=size)

    def on_won(self, action):
        emit(GOSSIP, event="won", winner=self.gossip.hostname, action=action)

    def _wrap_elect(self, on_elect):
        def handler(event):
            emit(
                GOSSIP,
                event="elect-ack",
                election=event.get("id"),
                topic=event.get("topic"),
                requested_by=event.get("hostname"),
                request_clock=event.get("clock"),
            )
            return on_elect(event)

        return handler

    def _wrap_ack(self, on_ack):
        """Celery's on_elect_ack decides; this reports the leader it picked.

        One guard: with a single request (the usual case) kombu's `sort_heap` reads a second one:
        IndexError, the worker dies.
        """

        def handler(event):
            eid = event.get("id")
            requests, replies = internals.election(self.gossip, eid)
            lone = requests is not None and len(requests) == 1
            if lone:
                # sort_heap then returns the lone request, as it should
                requests.append(NO_CANDIDATE)
            try:
                on_ack(event)
            finally:
                if lone and NO_CANDIDATE in requests:
                    requests.remove(NO_CANDIDATE)
            if requests and replies is not None and internals.election(self.gossip, eid)[1] is None:
                _, leader, _, _ = internals.leader(self.gossip, requests)
                leader = leader.rsplit(".", 1)[0]
                emit(GOSSIP, event="elected", election=eid, leader=leader, voters=len(replies))

        return handler
