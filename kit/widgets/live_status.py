"""One Roster and one Throttle per cluster, shared by its card and its dashboard."""

import threading
import weakref

from kit.events.contract import FEED, REPLAY
from kit.roster import Roster
from kit.widgets.panel import Throttle

_shared = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def live_status(cluster):
    """The cluster's one LiveStatus (made on first use, dropped when nothing watches it)."""
    with _lock:
        status = _shared.get(cluster)
        if status is None:
            status = _shared[cluster] = LiveStatus(cluster)
        return status


class LiveStatus:
    """Redraws what shows a cluster's workers (card, dashboard) on one thread, at most `rate`/s.

    `watch(fn)` calls `fn()` at each redraw; `poke()` asks for one soon. Events that may change the
    workers' states (the Roster's types, the feed's connection, a replay going back) poke it by
    themselves. An exception raised by `fn` goes to its `on_error` (default: kept in `errors`); the
    others are still redrawn.
    """

    def __init__(self, cluster, rate=10.0):
        self.cluster = cluster
        self.roster = Roster(cluster)
        self.errors = []
        self._watchers = []
        self._throttle = Throttle(self._redraw, rate=rate, name="kit-live-status")
        cluster.events.subscribe(self._on_event, types=(*Roster.TYPES, FEED, REPLAY))

    def _on_event(self, event):
        if event.get("type") in (FEED, REPLAY) or self.roster.on_event(event):
            self._throttle.poke()

    def watch(self, fn, on_error=None):
        """Call `fn()` at each redraw from now on (and once soon)."""
        self._watchers = [*self._watchers, (fn, on_error)]
        self._throttle.poke()

    def unwatch(self, fn):
        """Stop calling `fn`; the last one out stops the thread and the subscription."""
        self._watchers = [(f, e) for f, e in self._watchers if f != fn]
        if not self._watchers:
            with _lock:
                if _shared.get(self.cluster) is self:
                    del _shared[self.cluster]
            self.cluster.events.unsubscribe(self._on_event)
            self._throttle.close()

    @property
    def calls(self):
        """How many redraws ran so far."""
        return self._throttle.calls

    def poke(self):
        """Ask for a redraw soon."""
        self._throttle.poke()

    def _redraw(self):
        done = True
        for fn, on_error in self._watchers:
            try:
                done = fn() is not False and done
            except Exception as exc:
                # shown by its on_error, never swallowed
                (on_error or self.errors.append)(exc)
        return done
