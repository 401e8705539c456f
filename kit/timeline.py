"""The live timeline: a swimlane per worker with timer fires, task runs, boot calls and gossip markers."""
import collections
import threading
import time

from kit.panels import Throttle, clock

#: Timer callbacks by rhythm: (category, words in the callback's name, colours to cycle through).
RHYTHMS = (("heartbeat", ("heart",), ("#e45756", "#ff9d98")), ("gossip", ("gossip",), ("#4c78a8", "#9ecae9")),
           ("broker", ("kombu.",), ("#9d755d", "#bab0ac", "#79706e", "#d8b5a5")),
           ("user", ("",), ("#f58518", "#54a24b", "#b279a2", "#eeca3b", "#72b7b2", "#ff9da6")))
#: Marker kinds: symbol and colour.
MARKERS = {"node_join": ("triangle-up", "#2ca02c"), "node_leave": ("triangle-down", "#7f7f7f"),
           "node_lost": ("x", "#d62728"), "deadlock": ("diamond", "#d62728"), "election": ("circle-open", "#bcbd22"),
           "elect-ack": ("circle-open-dot", "#bcbd22"), "elected": ("star-open", "#bcbd22"), "won": ("star", "#bcbd22"),
           "worker-online": ("triangle-right", "#2ca02c"), "worker-offline": ("square", "#7f7f7f"),
           "timer-set": ("circle-open", "#999999"), "timer-cancel": ("x-thin-open", "#999999")}
#: Boot-call colours by method; a call that raised is red.
METHODS = {"__init__": "#c7c7c7", "include": "#aec7e8", "create": "#98df8a", "start": "#2ca02c", "stop": "#ff9896",
           "close": "#c49c94", "terminate": "#d62728", "shutdown": "#8c564b", "error": "#b71c1c"}
TASKS = {"running": "#9ecae9", "succeeded": "#54a24b", "failed": "#d62728"}
#: Where things go inside a lane (lane i spans i .. i+1, drawn top-down): offset, or (offset, height).
ROW = {"marks": 0.07, "fires": (0.16, 0.28), "tasks": 0.52, "boot": (0.62, 0.34)}
#: Boot calls of one worker process get a row per step (a waterfall), wrapping after this many.
BOOT_ROWS = 24
_HIDDEN = {"type", "hostname", "timestamp", "utcoffset", "pid", "clock", "local_received", "kit_time", "event"}


def _ms(ts):
    """Epoch seconds -> milliseconds on plotly's date axis, shown in local time."""
    return (ts + time.localtime(ts).tm_gmtoff) * 1000.0


def category(callback):
    return next(cat for cat, words, _ in RHYTHMS if any(word in callback.lower() for word in words))


class Timeline:
    """A live plotly timeline of a cluster's last `window` seconds: `kit.Timeline(cluster)`.

    The widget is created on first display (or `.widget`); `lanes()` and `traces_data()` give
    its content as plain data. Events are ingested and the widget updated on one background
    thread, at most `rate` times a second; memory is bounded by `window` and `max_points`.
    """

    def __init__(self, cluster, window=60.0, rate=10.0, max_points=4000):
        self.cluster, self.window, self.max_points = cluster, float(window), max_points
        self.updates, self._widget, self._observers, self._lock = 0, None, [], threading.RLock()
        self._inbox = collections.deque(maxlen=max_points * 5)
        self._fires, self._marks, self._boot = (collections.deque(maxlen=max_points) for _ in range(3))
        self._tasks, self._names = collections.OrderedDict(), collections.OrderedDict()
        self._intervals, self._callbacks, self._rows, self._hosts = {}, {}, {}, {}
        self._inbox.extend(e for e in list(cluster.events.history) if e.get("timestamp", 0) > time.time() - window)
        self._throttle = Throttle(self._flush, rate=rate, name="kit-timeline")
        cluster.events.subscribe(self._on_event)
        self._throttle.poke()

    def _on_event(self, event):
        """On the feed's thread: O(1), never touches the widget."""
        self._inbox.append(event)
        self._throttle.poke()

    def _flush(self):
        with self._lock:
            self._drain()
            self._prune(time.time() - self.window)
            view = (self._lane_names(), self._traces()) if self._widget is not None else None
        if view is not None:
            self._push(*view)
            self.updates += 1
            for fn in list(self._observers):
                fn(self)

    def _drain(self):
        with self._lock:
            while self._inbox:
                self._ingest(self._inbox.popleft())

    # -- ingest -------------------------------------------------------------------------------
    def _ingest(self, e):
        kind, t, host = e.get("type", ""), e.get("timestamp") or time.time(), e.get("hostname") or "?"
        if kind == "kit-timer":
            self._timer(e, t, host)
        elif kind == "kit-lifecycle":
            rows = self._rows.setdefault((host, e.get("pid")), {})
            row = rows.setdefault(e.get("step"), len(rows) % BOOT_ROWS)
            self._boot.append((e.get("started_at") or t, host, row, e))
        elif kind.startswith("task-"):
            self._task(e, kind[5:], t, host)
        elif kind in ("kit-gossip", "kit-deadlock", "worker-online", "worker-offline"):
            mark = e.get("event") if kind == "kit-gossip" else "deadlock" if kind == "kit-deadlock" else kind
            self._mark(t, host, mark, e)
        else:
            return
        self._hosts.setdefault(host, len(self._hosts))

    def _timer(self, e, t, host):
        callback, kind = e.get("callback") or "?", e.get("kind")
        if kind == "fire":
            self._callbacks.setdefault(callback, len(self._callbacks))
            self._fires.append((t, host, callback, e.get("duration") or 0.0, e.get("error")))
        elif kind == "cancel":
            self._mark(t, host, "timer-cancel", e)
        else:
            every = e.get("interval", e.get("delay", e.get("eta")))
            self._intervals[(host, callback)] = f"{kind}({every})"
            self._mark(t, host, "timer-set", e)

    def _mark(self, t, host, mark, e):
        if mark in MARKERS:
            self._marks.append((t, host, mark, {k: v for k, v in e.items() if k not in _HIDDEN}))

    def _task(self, e, state, t, host):
        uuid = e.get("uuid")
        if state == "received":
            self._names[uuid] = e.get("name")
            while len(self._names) > self.max_points:
                self._names.popitem(last=False)
        elif state == "started":
            self._tasks[uuid] = {"uuid": uuid, "host": host, "name": self._names.get(uuid, "?"), "start": t,
                                 "end": None, "state": "running"}
            while len(self._tasks) > self.max_points:
                self._tasks.popitem(last=False)
        elif state in ("succeeded", "failed") and uuid in self._tasks:
            self._tasks[uuid].update(end=t, state=state, runtime=e.get("runtime"), exception=e.get("exception"))

    def _prune(self, cutoff):
        for items in (self._fires, self._marks, self._boot):
            while items and items[0][0] < cutoff:
                items.popleft()
        for uuid in [u for u, task in self._tasks.items() if task["end"] is not None and task["end"] < cutoff]:
            del self._tasks[uuid]
        present = {i[1] for items in (self._fires, self._marks, self._boot) for i in items}
        present |= {task["host"] for task in self._tasks.values()}
        self._hosts = {h: i for h, i in self._hosts.items() if h in present}
        self._rows = {k: v for k, v in self._rows.items() if k[0] in present}
        self._intervals = {k: v for k, v in self._intervals.items() if k[0] in present}
        if len(self._callbacks) > len({f[2] for f in self._fires}):
            kept = sorted({f[2] for f in self._fires}, key=self._callbacks.get)
            self._callbacks = {cb: i for i, cb in enumerate(kept)}

    # -- plain data ---------------------------------------------------------------------------
    def lanes(self):
        """{worker: {'fires': [...], 'tasks': [...], 'marks': [...], 'boot': [...]}} for the kept window."""
        with self._lock:
            self._drain()
            lanes = {h: {"fires": [], "tasks": [], "marks": [], "boot": []} for h in self._lane_names()}
            for t, host, callback, duration, error in self._fires:
                lanes[host]["fires"].append({"time": t, "callback": callback, "duration": duration, "error": error,
                                             "every": self._intervals.get((host, callback))})
            for task in self._tasks.values():
                lanes[task["host"]]["tasks"].append(dict(task))
            for t, host, mark, fields in self._marks:
                lanes[host]["marks"].append({**fields, "time": t, "kind": mark})
            for t, host, row, e in self._boot:
                lanes[host]["boot"].append({"time": t, "row": row, **{k: e.get(k) for k in (
                    "blueprint", "step", "label", "method", "duration", "error")}})
            return lanes

    def traces_data(self):
        """The plotly traces (plain dicts) the widget shows, one per timer callback, bars and marker kind."""
        with self._lock:
            self._drain()
            return self._traces()

    def _lane_names(self):
        live = [w for w in getattr(self.cluster, "workers", []) if w not in self._hosts]
        return sorted(self._hosts, key=self._hosts.get) + live

    # -- traces -------------------------------------------------------------------------------
    def _traces(self):
        lane = {h: i for i, h in enumerate(self._lane_names())}
        traces = [self._fire_trace(cb, lane) for cb in sorted(self._callbacks, key=self._callbacks.get)]
        traces += [self._task_bars(lane), self._boot_bars(lane)] + [self._mark_trace(k, lane) for k in MARKERS]
        return [t for t in traces if t["x"]] or [{"type": "scatter", "meta": "empty", "name": "no events yet",
                                                  "x": [], "y": []}]

    def _colour(self, callback):
        cat = category(callback)
        same = [cb for cb in sorted(self._callbacks, key=self._callbacks.get) if category(cb) == cat]
        colours = next(c for name, _, c in RHYTHMS if name == cat)
        return cat, colours[same.index(callback) % len(colours)]

    def _fire_trace(self, callback, lane):
        cat, colour = self._colour(callback)
        base, span = ROW["fires"]
        y = base + span * self._callbacks[callback] / max(1, len(self._callbacks))
        points = [(t, h, d, err) for t, h, cb, d, err in self._fires if cb == callback]
        text = [f"{clock(t)} {h}<br>{callback}<br>{self._intervals.get((h, callback)) or 'fire'} · took "
                f"{d * 1000:.3f} ms" + (f"<br>error: {err}" if err else "") for t, h, d, err in points]
        return {"type": "scatter", "mode": "markers", "meta": f"fire:{callback}",
                "name": ".".join(callback.split(".")[-2:]), "legendgroup": cat,
                "legendgrouptitle": {"text": f"timer · {cat}"},
                "marker": {"symbol": "line-ns-open", "size": 9, "color": colour, "line": {"width": 2}},
                "x": [_ms(p[0]) for p in points], "y": [lane[p[1]] + y for p in points], "hovertext": text,
                "hoverinfo": "text"}

    def _task_bars(self, lane):
        now, rows = time.time(), []
        for task in self._tasks.values():
            end = task["end"] or now
            rows.append((task["start"], end - task["start"], lane[task["host"]] + ROW["tasks"], TASKS[task["state"]],
                         f"{clock(task['start'])} {task['host']}<br>{task['name']} [{task['uuid']}]<br>"
                         f"{task['state']} · {end - task['start']:.3f} s", task["uuid"]))
        return self._bar_trace("tasks", "task runs", rows, width=0.12)

    def _boot_bars(self, lane):
        base, span = ROW["boot"]
        rows = []
        for t, host, row, e in self._boot:
            error = e.get("error")
            rows.append((t, e.get("duration") or 0.0, lane[host] + base + span * row / BOOT_ROWS,
                         METHODS["error"] if error else METHODS.get(e.get("method"), "#999999"),
                         f"{clock(t)} {host}<br>{e.get('blueprint')} · {e.get('label')}.{e.get('method')} · took "
                         f"{(e.get('duration') or 0) * 1000:.3f} ms" + (f"<br>error: {error}" if error else ""),
                         e.get("step")))
        return self._bar_trace("boot", "boot calls", rows, width=span / BOOT_ROWS * 0.8)

    @staticmethod
    def _bar_trace(key, name, rows, width):
        colours = [r[3] for r in rows]
        return {"type": "bar", "orientation": "h", "meta": key, "name": name, "width": width,
                "base": [_ms(r[0]) for r in rows], "x": [max(r[1] * 1000.0, 0.001) for r in rows],
                "y": [r[2] for r in rows], "hovertext": [r[4] for r in rows], "customdata": [r[5] for r in rows],
                "marker": {"color": colours, "line": {"color": colours, "width": 1}}, "hoverinfo": "text"}

    def _mark_trace(self, kind, lane):
        symbol, colour = MARKERS[kind]
        points = [(t, h, f) for t, h, m, f in self._marks if m == kind]
        text = [f"{clock(t)} {h}<br>{kind} " + ", ".join(f"{k}={v}" for k, v in f.items()) for t, h, f in points]
        return {"type": "scatter", "mode": "markers", "meta": f"mark:{kind}", "name": kind, "legendgroup": "markers",
                "legendgrouptitle": {"text": "markers"}, "marker": {"symbol": symbol, "size": 11, "color": colour},
                "x": [_ms(p[0]) for p in points], "y": [lane[p[1]] + ROW["marks"] for p in points],
                "hovertext": text, "hoverinfo": "text"}

    # -- widget -------------------------------------------------------------------------------
    def _layout(self, names):
        n = max(1, len(names))
        return {"height": 160 + 110 * n, "margin": {"l": 10, "r": 10, "t": 30, "b": 30}, "uirevision": "kit",
                "barmode": "overlay", "hovermode": "closest", "title": {"text": f"last {self.window:.0f} s", "x": 0.01},
                "xaxis": {"type": "date", "tickformat": "%H:%M:%S"},
                "yaxis": {"range": [n, 0], "tickvals": [i + 0.5 for i in range(n)], "ticktext": names,
                          "showgrid": False, "zeroline": False},
                "shapes": [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": i, "y1": i + 1, "layer": "below",
                            "line": {"width": 0}, "fillcolor": "#f3f6fa" if i % 2 else "#ffffff"} for i in range(n)],
                "legend": {"groupclick": "toggleitem", "font": {"size": 10}}}

    def _push(self, names, traces):
        fig = self._widget
        if [t.meta for t in fig.data] != [t["meta"] for t in traces]:
            fig.data = ()
            fig.add_traces(traces)
            fig.update_layout(self._layout(names))
            return
        with fig.batch_update():
            for trace, new in zip(fig.data, traces):
                trace.update({k: v for k, v in new.items() if k not in ("type", "meta")})
            fig.update_layout(self._layout(names))

    @property
    def widget(self):
        """The plotly FigureWidget (created on first use)."""
        if self._widget is None:
            import plotly.graph_objects as go
            self._widget = go.FigureWidget(layout=self._layout(self._lane_names()))
            self._throttle.poke()
        return self._widget

    def observe(self, fn):
        """Call fn(timeline) on the update thread after each widget update (e.g. to time it)."""
        self._observers.append(fn)
        return fn

    def close(self):
        """Stop following the cluster's events (the widget keeps its last picture)."""
        self.cluster.events.unsubscribe(self._on_event)
        self._throttle.close()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        return (f"<Timeline last {self.window:.0f} s: {len(self._hosts)} lanes, {len(self._fires)} fires, "
                f"{len(self._tasks)} tasks, {len(self._marks)} markers, {len(self._boot)} boot calls, "
                f"{self.updates} updates>")
