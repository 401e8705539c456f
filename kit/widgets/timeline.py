"""The live timeline: a swimlane per worker with timer fires, task runs, boot calls, markers."""

import collections
import functools
import threading
import time

from kit.events.contract import (
    CELERY_TASK,
    DEADLOCK,
    FEED,
    GOSSIP,
    LIFECYCLE,
    REPLAY,
    SHUTDOWN,
    STUCK,
    TIMER,
)
from kit.roster import live_workers
from kit.widgets import timeline_view as draw
from kit.widgets.panel import Throttle
from kit.widgets.timeline_items import TimelineItems
from kit.widgets.timeline_widget import TimelineWidget
from kit.worker_states import natural

#: Is a timer callback one of Celery's own periodic ones (hidden by default)?
_periodic = functools.lru_cache(maxsize=4096)(draw.periodic)
#: The events the timeline draws.
TYPES = (TIMER, LIFECYCLE, STUCK, SHUTDOWN, GOSSIP, DEADLOCK, "worker-online", "worker-offline", *CELERY_TASK)
#: ... the feed's own, which tells the timeline its cluster closed (it then freezes), and a
#: replay's jump back in time (it then starts again).
LISTENS = (*TYPES, FEED, REPLAY)


class Timeline(TimelineItems):
    """A live timeline of a cluster's last `window` seconds: `kit.Timeline(cluster)`.

    The widget is created on first display (or `.widget`); `lanes()` gives the kept items and
    `view_data()` what the widget draws, as plain data. Events are ingested and the widget updated
    on one background thread: an event that changes the picture at once after a quiet spell, then
    every `quick` seconds while events come a few at a time, `rate` times a second in a flood;
    memory is bounded by `window` and `max_points` (per kind of item).
    """

    def __init__(
        self, cluster, window=60.0, rate=10.0, max_points=4000, periodic=False, quick=0.02
    ):
        self.cluster = cluster
        self.window = float(window)
        self.max_points = max_points
        #: Draw Celery's own periodic timers (heartbeat, gossip checks, broker housekeeping) too.
        self.periodic = periodic
        #: The cluster's clock: time.time, or a replay's position in its recording.
        self.now = cluster.now
        self.since = cluster.started_at or self.now()
        self.updates = 0
        self._widget = None
        self._observers = []
        self._lock = threading.RLock()
        self._inbox = collections.deque(maxlen=max_points * 5)
        self._restart()
        self._throttle = Throttle(self._flush, rate, "kit-timeline", quick=quick, lazy=1.0)
        #: While the history is handed out (on this thread): how old an event may be and still be
        #: drawn; None after.
        self._history_since = self.now() - window
        cluster.events.subscribe(self._on_event, types=LISTENS, history=True)
        self._history_since = None
        self._throttle.poke()

    def _on_event(self, event):
        """On the feed's thread: O(1), never touches the widget."""
        # the history: only the window's
        if (since := self._history_since) is not None:
            if event.get("type") in (FEED, REPLAY) or event.get("timestamp", 0) > since:
                self._inbox.append(event)
            return
        self._inbox.append(event)
        self._throttle.poke(urgent=self._drawn(event))

    def _drawn(self, e):
        """Does this event change the picture (else it may wait)?

        Not a task-received, nor a hidden timer fire.
        """
        kind = e.get("type")
        if kind == TIMER and e.get("kind") == "fire" and not e.get("error") and not self.periodic:
            return not _periodic(e.get("callback") or "?")
        return kind != "task-received"

    def _flush(self):
        with self._lock:
            self._drain()
            # whole chunks: as the widget
            self._prune(draw.chunk_start(self.now() - self.window))
            view = self._view() if self._widget is not None else None
        if view is not None:
            if not self._widget.show(**view):
                # over the traffic budget: the throttle tries again at its rate
                return False
            self.updates += 1
            for fn in list(self._observers):
                fn(self)
            if self.cluster.closed and not self._widget.frozen:
                # the cluster closed: the last picture stands
                self._widget.frozen = time.time()
                self.close()
            # not live (a replay): the view stands still while paused
            elif not self.cluster.live:
                self._widget.frozen = view["now"] if self.cluster.paused else 0.0

    def _drain(self):
        with self._lock:
            while self._inbox:
                self._ingest(self._inbox.popleft())
            self._close_late()

    # -- plain data ---------------------------------------------------------------------------
    def lanes(self):
        """The kept window: {worker: {'fires', 'tasks', 'marks': [...], 'boot': ...}}."""
        with self._lock:
            self._drain()
            lanes = {
                h: {"fires": [], "tasks": [], "marks": [], "boot": []} for h in self._lane_names()
            }
            for f in self._fires:
                lanes[f.host]["fires"].append(
                    {
                        "time": f.time,
                        "callback": f.callback,
                        "duration": f.duration,
                        "error": f.error,
                        "every": self._intervals.get((f.host, f.callback)),
                    }
                )
            for task in self._tasks.values():
                lanes[task["host"]]["tasks"].append(dict(task))
            for m in self._marks:
                lanes[m.host]["marks"].append({**m.fields, "time": m.time, "kind": m.kind})
            fields = ("blueprint", "step", "label", "method", "duration", "error")
            for b in self._boot:
                lanes[b.host]["boot"].append(
                    {"time": b.time, "row": b.row, **{k: b.event.get(k) for k in fields}}
                )
            # calls reported stuck that have not returned: no duration yet
            for b in self._open.values():
                lanes[b.host]["boot"].append(
                    {
                        "time": b.time,
                        "row": b.row,
                        **{k: b.event.get(k) for k in fields},
                        "duration": None,
                        "stuck": {k: b.event.get(k) for k in ("elapsed", "file", "line")},
                    }
                )
            return lanes

    def view_data(self):
        """What the widget draws: {'lanes': [...], 'series': {...}, 'chunks': {...}, 'now': t}."""
        with self._lock:
            self._drain()
            return self._view()

    def _lane_names(self):
        """A lane per worker alive or with items in the window, in name order (w1, w2, ..., w10)."""
        return sorted({*self._hosts, *live_workers(self.cluster)}, key=natural)

    def _view(self):
        callbacks = sorted(self._callbacks, key=self._callbacks.get)
        if not self.periodic:
            callbacks = [cb for cb in callbacks if not draw.periodic(cb)]
        every = {cb: text for (_, cb), text in self._intervals.items()}
        fires = (
            self._fires
            if self.periodic
            else [f for f in self._fires if not draw.periodic(f.callback)]
        )
        return {
            "lanes": self._lane_names(),
            "series": draw.series_of(callbacks, every),
            "now": (now := self.now()),
            "chunks": draw.chunks_of(
                fires, self._tasks.values(), self._boot, self._marks, now, self._open.values()
            ),
        }

    def hidden_callbacks(self):
        """Periodic timer callbacks kept, not drawn (Celery's own; `periodic=True` draws them)."""
        return [] if self.periodic else sorted(cb for cb in self._callbacks if draw.periodic(cb))

    # -- widget -------------------------------------------------------------------------------
    @property
    def widget(self):
        """The widget (kit.widgets.timeline_widget.TimelineWidget), created on first use."""
        if self._widget is None:
            self._widget = TimelineWidget(
                window=self.window, since=self.since, periodic=self.periodic
            )
            self._widget.clock = self.now
            self._widget.observe(self._periodic_changed, names="periodic")
            self._widget.show(**self.view_data())
            self._throttle.poke()
        return self._widget

    def observe(self, fn):
        """Call fn(timeline) on the update thread after each widget update (e.g. to time it)."""
        self._observers.append(fn)
        return fn

    def _periodic_changed(self, change):
        self.periodic = bool(change["new"])
        self._throttle.poke()

    def freeze(self, at=None):
        """Stop at time `at` (e.g. the cluster closed): a last update, then the picture stays."""
        self.close()
        self._flush()
        if self._widget is not None:
            self._widget.frozen = at or time.time()

    def close(self):
        """Stop following the cluster's events (the widget keeps its last picture)."""
        self.cluster.events.unsubscribe(self._on_event)
        self._throttle.close()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        return (
            f"<Timeline last {self.window:.0f} s: {len(self._hosts)} lanes, {len(self._fires)} fires, "
            f"{len(self._tasks)} tasks, {len(self._marks)} markers, {len(self._boot)} boot calls, "
            f"{len(self._open)} stuck, "
            f"{self.updates} updates>"
        )
