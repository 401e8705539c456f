"""The kernel's record of events, without a broker: history, counts, subscribers, wait_for, table.

EventFeed (feed.py) fills one from the broker; a replay (kit/record/replay.py) fills one from a
file. Widgets only ever see this interface, so they draw a replay exactly as a live cluster.
"""

import collections
import threading
import time


class EventLog:
    """Events as plain dicts, kept in a ring of `maxlen`, handed to subscribers as they come.

    Callbacks run on the thread that adds the event (the feed's receiver thread): keep them
    short, and never print from them (use a widget or append to a list).
    """

    def __init__(self, maxlen=10000):
        self._ring = collections.deque(maxlen=maxlen)
        self._seq = 0
        self.counts = collections.Counter()
        self.errors = collections.deque(maxlen=50)
        self.connected = False
        self._subscribers = []
        self._cond = threading.Condition()
        self._waiters = 0

    def add(self, event):
        """Keep one event (a plain dict with at least `type`) and hand it to the subscribers."""
        self.add_many((event,))

    def add_many(self, events):
        """Keep a batch of events (one lock, one wake-up), then hand each to the subscribers.

        The subscribers get them in order, on the calling thread.
        """
        with self._cond:
            self._ring.extend(events)
            self._seq += len(events)
            counts = self.counts
            for event in events:
                counts[event.get("type")] += 1
            if self._waiters:
                self._cond.notify_all()
            # taken under the lock: a subscriber that takes the history gets this batch from
            # there or from here, never both
            subscribers = self._subscribers
        for event in events:
            kind = event.get("type")
            for fn, types, gate in subscribers:
                if types is not None and kind not in types:
                    continue
                if gate is None or not gate.hold(event):
                    self._call(fn, event)

    def _call(self, fn, event):
        try:
            fn(event)
        except Exception as exc:
            # a broken callback must not stop the feed
            self.errors.append(
                f"callback {getattr(fn, '__name__', fn)!r}: {type(exc).__name__}: {exc}"
            )

    def clear(self):
        """Empty the history and the counts (a replay seeking backwards starts again)."""
        with self._cond:
            self._ring.clear()
            self.counts.clear()

    @property
    def history(self):
        """The kept events, oldest first."""
        return list(self._ring)

    def subscribe(self, fn=None, types=None, history=False):
        """Call fn(event) for every event from now on, or only those whose type is in `types`.

        `types`: event type strings (kit.events.contract's, e.g. `contract.GOSSIP`, or Celery's,
        e.g. 'worker-online'). With `history=True`, fn first gets the kept events, oldest first,
        on this thread, then every new one: each event once and in order, none lost in between
        (new ones wait until the history is handed out). Returns fn, so `@feed.subscribe` and
        `@feed.subscribe(types=[...])` work.
        """
        if isinstance(types, str):
            raise TypeError(f"types={types!r}: give a list of event types, e.g. types=[{types!r}]")
        if fn is None:
            return lambda f: self.subscribe(f, types=types, history=history)
        types = None if types is None else frozenset(types)
        gate = _Gate() if history else None
        with self._cond:
            kept = list(self._ring) if history else ()
            # a new list: a batch being handed out keeps the one it started with
            self._subscribers = [*self._subscribers, (fn, types, gate)]
        for event in kept:
            if types is None or event.get("type") in types:
                self._call(fn, event)
        # what came meanwhile, in order
        while gate is not None and (held := gate.release()):
            for event in held:
                self._call(fn, event)
        return fn

    def unsubscribe(self, fn):
        """Stop calling fn (every subscription of it)."""
        self._subscribers = [s for s in self._subscribers if s[0] != fn]

    def wait_for(self, type, timeout=10.0, since=None, **match):
        """The first event of `type` whose fields equal `match` (a value may be a predicate).

        Looks through the kept history too (only events with timestamp >= `since`, if given), then
        waits.
        """
        deadline = time.monotonic() + timeout
        checked = 0
        with self._cond:
            while True:
                ring, fresh = list(self._ring), self._seq - checked
                # the events not yet looked at
                for event in ring[-fresh:] if fresh else ():
                    if _matches(event, type, since, match):
                        return event
                checked = self._seq
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = "".join(f", {k}={v!r}" for k, v in match.items())
                    recent = [e.get("type") for e in list(self._ring)[-5:]]
                    raise TimeoutError(
                        f"no {type!r} event{shown} within {timeout} s "
                        f"(feed connected={self.connected}, last types seen: {recent})"
                    )
                self._waiters += 1
                try:
                    self._cond.wait(min(left, 0.5))
                finally:
                    self._waiters -= 1

    def table(self, last=20, type=None):
        """The last events as a pandas DataFrame indexed by their time, else a list of dicts.

        A list of dicts when pandas is not installed.
        """
        rows = [e for e in self.history if type is None or e.get("type") == type][-last:]
        try:
            import pandas
        except ImportError:
            return rows
        when = pandas.Index([clock(e.get("timestamp")) for e in rows], name="time")
        # indexed by when it was sent, not 0, 1, 2…
        return pandas.DataFrame(rows, index=when)


class _Gate:
    """Holds the events of a new subscriber that takes the history until it is handed out."""

    def __init__(self):
        self.open = False
        self._held = []
        self._lock = threading.Lock()

    def hold(self, event):
        """On the feed's thread: True if the event waits (the history is still being handed out)."""
        if self.open:
            return False
        with self._lock:
            if not self.open:
                self._held.append(event)
            return not self.open

    def release(self):
        """The events held so far, oldest first; once none are left, the gate opens."""
        with self._lock:
            held, self._held = self._held, []
            self.open = not held
            return held


def _matches(event, type_, since, match):
    if event.get("type") != type_:
        return False
    if since is not None and event.get("timestamp", 0) < since:
        return False
    for key, want in match.items():
        got = event.get(key)
        if not (want(got) if callable(want) else got == want):
            return False
    return True


def clock(ts):
    """'12:00:03.250' (local time) for an event's timestamp; '' when it has none."""
    if not ts:
        return ""
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int((ts % 1) * 1000):03d}"
