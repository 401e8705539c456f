"""Stuck-step watchdog: a step method still running past a threshold is reported with its stack.

The lifecycle probe (kit.worker.probes) calls `watchdog.enter(...)` before a step method and
`watchdog.leave(call)` after it. A daemon thread looks at the open calls a few times a second; one
that has run longer than `KIT_STUCK_AFTER` seconds (default 5; 0 turns the watchdog off) is sent as
a `kit-stuck` event and logged as one warning, while it is still running, with the stack of the
thread that runs it (`sys._current_frames()`), then again each time its elapsed time doubles.
"""

import logging
import os
import sys
import threading
import time
import traceback

from kit.events.contract import STUCK
from kit.events.telemetry import emit

#: The environment variable that sets the threshold in seconds (0: no watchdog).
ENV = "KIT_STUCK_AFTER"
#: The threshold when the variable is not set.
DEFAULT_AFTER = 5.0
#: Frames of the stack sent (the innermost ones).
STACK_DEPTH = 30

logger = logging.getLogger("kit.stuck")


def threshold(environ=os.environ):
    """Seconds from `KIT_STUCK_AFTER`; raises ValueError naming the bad value and the fix."""
    text = environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_AFTER
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(f"{ENV}={text!r} is not a number of seconds; set e.g. {ENV}=5 (0: off)")
    return value


class Call:
    """One step method running: who runs it, since when, and when it is next reported."""

    __slots__ = ("thread", "cls", "blueprint", "method", "began", "started_at", "due")

    def __init__(self, cls, blueprint, method, after):
        self.thread = threading.get_ident()
        self.cls, self.blueprint, self.method = cls, blueprint, method
        self.began, self.started_at = time.monotonic(), time.time()
        self.due = after


class Watchdog:
    """Open step calls per thread; a thread reports the innermost one of each once it is overdue."""

    def __init__(self, after=None):
        #: the threshold in seconds; None: read `KIT_STUCK_AFTER` at the first step call
        self.after = after
        #: thread id -> its open calls, outermost first (only list append/remove: no locks)
        self.open = {}
        self.thread = None
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self):
        """A forked worker reads its own environment; a pool child runs no steps."""
        self.open, self.thread, self.after = {}, None, None

    def enter(self, cls, blueprint, method):
        """Note a step method starting; returns the Call to `leave`, or None when not watched.

        A `last` step's start (the worker's Consumer, the consumer's Evloop) runs the event loop
        for the worker's whole life: it is not watched.
        """
        if self.after is None:
            self.after = _threshold_or_off()
        if not self.after or (method == "start" and getattr(cls, "last", False)):
            return None
        if self.thread is None:
            self._start()
        call = Call(cls, blueprint, method, self.after)
        self.open.setdefault(call.thread, []).append(call)
        return call

    def leave(self, call):
        """The call returned (or raised)."""
        if call is not None:
            calls = self.open.get(call.thread, [])
            if call in calls:
                calls.remove(call)

    def _start(self):
        self.thread = threading.Thread(target=self._run, name="kit-stuck-watchdog", daemon=True)
        self.thread.start()

    def _run(self):
        tick = min(0.5, self.after / 4)
        while True:
            time.sleep(tick)
            for calls in list(self.open.values()):
                # the innermost call; the step's thread may have left it just now
                call = next(iter(calls[-1:]), None)
                if call is not None and time.monotonic() - call.began >= call.due:
                    call.due *= 2
                    try:
                        self.report(call)
                    except Exception as exc:
                        logger.warning("kit: could not report a stuck step: %r", exc)

    def report(self, call):
        """Send `kit-stuck` for `call` and log it as one warning, with its thread's stack."""
        elapsed = time.monotonic() - call.began
        frame = sys._current_frames().get(call.thread)
        stack = traceback.extract_stack(frame)[-STACK_DEPTH:] if frame is not None else []
        where = _where(call.cls, stack)
        label = getattr(call.cls, "label", None) or call.cls.__name__
        lines = [f"{f.filename}:{f.lineno} in {f.name}" for f in stack]
        emit(
            STUCK,
            blueprint=call.blueprint,
            step=call.cls.name,
            label=label,
            method=call.method,
            started_at=call.started_at,
            elapsed=round(elapsed, 3),
            file=where.filename if where else None,
            line=where.lineno if where else None,
            stack=lines,
        )
        at = f" at {where.filename}:{where.lineno}" if where else ""
        logger.warning(
            "kit: step %s.%s still running after %.1f s%s; its stack, innermost last:\n  %s",
            label,
            call.method,
            elapsed,
            at,
            "\n  ".join(lines[-8:]),
        )


def _homes(cls):
    """The files the step's own code is in: its classes' modules and methods (a shipped cell's).

    Celery's and the kit's base classes are left out, and so is `__main__`'s file: a step shipped
    from a notebook has `__main__` as its module, which in a worker is the fork server or celery.
    """
    files = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith(("celery.", "kit.", "builtins")):
            continue
        if klass.__module__ != "__main__":
            files.add(getattr(sys.modules.get(klass.__module__), "__file__", None))
        files |= {
            getattr(getattr(f, "__code__", None), "co_filename", None) for f in vars(klass).values()
        }
    return {os.path.abspath(f) for f in files if f}


def _where(cls, stack):
    """The innermost frame in the step's own code, else the innermost frame."""
    homes = _homes(cls)
    for frame in reversed(stack):
        if os.path.abspath(frame.filename) in homes:
            return frame
    return stack[-1] if stack else None


def _threshold_or_off():
    try:
        return threshold()
    except ValueError as exc:
        logger.warning("kit: the stuck-step watchdog is off: %s", exc)
        return 0.0


#: The watchdog of this worker process (the fork server's copy resets in each forked worker).
watchdog = Watchdog()
