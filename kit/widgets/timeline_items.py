"""What a timeline keeps of the events it takes in: fires, boot calls, marks, task runs per worker.

Bounded by its window and `max_points`; the hover text is made once, here.
"""

import collections

from kit.events.contract import (
    DEADLOCK,
    GOSSIP,
    LIFECYCLE,
    REPLAY,
    SHUTDOWN,
    STUCK,
    TIMER,
    details,
)
from kit.roster import live_workers
from kit.widgets import timeline_view as draw
from kit.widgets.panel import clock
from kit.widgets.timeline_view import Boot, Fire, Mark
from kit.worker_states import report_late

#: Event fields not repeated in a marker's hover text.
_HIDDEN = frozenset(
    "type hostname timestamp utcoffset pid clock local_received kit_time event".split()
)


class TimelineItems:
    """The Timeline's items, ingested one event at a time.

    A mixin of kit.widgets.timeline's Timeline, which supplies `cluster`, `now` and `max_points`.
    """

    def _ingest(self, e):
        kind, host = e.get("type", ""), e.get("hostname") or "?"
        t = e.get("timestamp") or self.now()
        if kind == REPLAY:
            self._restart()
            return
        if kind == TIMER:
            self._timer(e, t, host)
        elif kind == LIFECYCLE:
            self._lifecycle(e, e.get("started_at") or t, host)
        elif kind == STUCK:
            self._stuck(e, e.get("started_at") or t, host)
            self._mark(t, host, "stuck", e)
        elif kind.startswith("task-"):
            self._task(e, kind[5:], t, host)
        elif kind == SHUTDOWN:
            self._mark(t, host, "shutdown", e)
        elif kind in (GOSSIP, DEADLOCK, "worker-online", "worker-offline"):
            mark = e.get("event") if kind == GOSSIP else "deadlock" if kind == DEADLOCK else kind
            self._mark(t, host, mark, e)
            if kind == "worker-offline":
                self._ended(t, host)
        else:
            return
        self._hosts.setdefault(host, len(self._hosts))

    def _timer(self, e, t, host):
        callback, kind = e.get("callback") or "?", e.get("kind")
        if kind == "fire":
            self._callbacks.setdefault(callback, len(self._callbacks))
            duration, error = e.get("duration") or 0.0, e.get("error")
            self._fires.append(Fire(t, host, callback, duration, error))
            if error:
                self._mark(t, host, "timer-error", e)
        elif kind == "cancel":
            self._mark(t, host, "timer-cancel", e)
        else:
            every = e.get("interval", e.get("delay", e.get("eta")))
            self._intervals[(host, callback)] = f"{kind}({every})"
            self._mark(t, host, "timer-set", e)

    def _row(self, e, host):
        """The waterfall row of the event's step in its worker process."""
        rows = self._rows.setdefault((host, e.get("pid")), {})
        return rows.setdefault(e.get("step"), len(rows) % draw.BOOT_ROWS)

    def _lifecycle(self, e, t, host):
        # the method returned: its stuck bar (if any) is closed by this one
        self._open.pop((host, e.get("pid"), e.get("step"), e.get("method")), None)
        row = self._row(e, host)
        error, duration = e.get("error"), e.get("duration") or 0.0
        text = (
            f"{clock(t)} {host}\n{e.get('blueprint')} · {e.get('label')}.{e.get('method')} · took "
            f"{duration * 1000:.3f} ms" + (f"\nerror: {error}" if error else "")
        )
        self._boot.append(Boot(t, host, row, text, e))

    def _stuck(self, e, t, host):
        """A step method still running: a bar from its start, open until its kit-lifecycle."""
        where = f"\n{e.get('file')}:{e.get('line')}" if e.get("file") else ""
        text = (
            f"{clock(t)} {host}\n{e.get('blueprint')} · {e.get('label')}.{e.get('method')} · "
            f"stuck: still running {e.get('elapsed') or 0:.1f} s after it started{where}"
        )
        key = (host, e.get("pid"), e.get("step"), e.get("method"))
        self._open[key] = Boot(t, host, self._row(e, host), text, e)

    def _ended(self, t, host, only=None):
        """The worker shut down: its stuck calls (or the one `only`) end at `t`, never returned."""
        for key in [k for k in self._open if k[0] == host and only in (None, k)]:
            b = self._open.pop(key)
            error = "the worker ended while this call was stuck"
            event = {**b.event, "duration": max(t - b.time, 0.0), "error": error}
            self._boot.append(b._replace(text=f"{b.text}\n{error}", event=event))

    def _close_late(self):
        """A stuck call of a worker gone and reporting no more ends at its last report."""
        if not self._open:
            return
        live, now = set(live_workers(self.cluster)), self.now()
        for key, b in list(self._open.items()):
            if b.host not in live and report_late(b.event, now):
                self._ended(b.event["timestamp"], b.host, key)

    def _mark(self, t, host, mark, e):
        if mark in draw.MARKERS:
            fields = {k: v for k, v in e.items() if k not in _HIDDEN}
            shown = {k: v for k, v in details(e).items() if k not in ("event", "kind")}
            what = draw.MARKERS[mark][2]
            text = f"{clock(t)} {host}\n{mark}: {what}" + "".join(
                f"\n{k}: {v}" for k, v in shown.items()
            )
            self._marks.append(Mark(t, host, mark, text, fields))

    def _task(self, e, state, t, host):
        uuid = e.get("uuid")
        if state == "received":
            self._names[uuid] = e.get("name")
            while len(self._names) > self.max_points:
                self._names.popitem(last=False)
        elif state == "started":
            self._tasks[uuid] = {
                "uuid": uuid,
                "host": host,
                "name": self._names.get(uuid, "?"),
                "start": t,
                "end": None,
                "state": "running",
            }
            while len(self._tasks) > self.max_points:
                self._tasks.popitem(last=False)
        elif state in ("succeeded", "failed") and uuid in self._tasks:
            self._tasks[uuid].update(
                end=t, state=state, runtime=e.get("runtime"), exception=e.get("exception")
            )

    def _restart(self):
        """No item kept: at start, and when a replay goes back in time to send its events again."""
        self._fires, self._marks, self._boot = (
            collections.deque(maxlen=self.max_points) for _ in range(3)
        )
        self._tasks, self._names = collections.OrderedDict(), collections.OrderedDict()
        self._intervals, self._callbacks, self._rows, self._hosts = {}, {}, {}, {}
        #: (host, pid, step, method) -> Boot of a call reported stuck that has not returned yet
        self._open = {}

    def _prune(self, cutoff):
        for items in (self._fires, self._marks, self._boot):
            while items and items[0].time < cutoff:
                items.popleft()
        live = set(live_workers(self.cluster))
        for uuid in [
            u
            # ended, or running on a worker that is gone
            for u, task in self._tasks.items()
            if (task["end"] or (task["start"] if task["host"] not in live else cutoff)) < cutoff
        ]:
            del self._tasks[uuid]
        present = {i.host for items in (self._fires, self._marks, self._boot) for i in items}
        present |= {task["host"] for task in self._tasks.values()}
        present |= {b.host for b in self._open.values()}
        if len(present) < len(self._hosts):
            self._hosts = {h: i for h, i in self._hosts.items() if h in present}
            self._rows = {k: v for k, v in self._rows.items() if k[0] in present}
            self._intervals = {k: v for k, v in self._intervals.items() if k[0] in present}
        if len(self._callbacks) > len(kept := {f.callback for f in self._fires}):
            self._callbacks = {cb: i for i, cb in enumerate(sorted(kept, key=self._callbacks.get))}
