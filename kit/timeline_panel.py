"""How the timeline draws its lanes: plotly traces, the layout, and cheap updates of a FigureWidget."""
import datetime
import time

from kit.panels import clock

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
#: Task-bar colours by state.
TASKS = {"running": "#9ecae9", "succeeded": "#54a24b", "failed": "#d62728"}
#: Where things go inside a lane (lane i spans i .. i+1, drawn top-down): offset, or (offset, height).
ROW = {"marks": 0.07, "fires": (0.15, 0.27), "tasks": (0.45, 0.2), "boot": (0.66, 0.32)}
#: Overlapping task runs of one worker are drawn in this many slots.
TASK_SLOTS = 4
#: Pixels: fits a laptop's notebook column next to JupyterLab's side bar.
WIDTH = 900
#: Boot calls of one worker process get a row per step (a waterfall), wrapping after this many.
BOOT_ROWS = 24
#: Properties that change between updates, per trace type (sent with plotly_restyle: unvalidated, fast).
LIVE = {"scatter": ("x", "y", "hovertext"),
        "bar": ("base", "x", "y", "hovertext", "customdata", "marker.color", "marker.line.color")}


def category(callback):
    """'heartbeat', 'gossip', 'broker' or 'user'."""
    return next(cat for cat, words, _ in RHYTHMS if any(word in callback.lower() for word in words))


def stamp(t):
    """Epoch seconds as a local-time date string. Dates go to plotly as strings: a restyle of x makes
    plotly.js guess the axis type again from the data, and numbers would turn the axis linear."""
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def now_trace():
    """An invisible point at "now": the first trace, so the axis is typed from a date and reaches now."""
    return {"type": "scatter", "mode": "markers", "meta": "now", "name": "now", "showlegend": False,
            "hoverinfo": "skip", "marker": {"opacity": 0}, "x": [stamp(time.time())], "y": [0], "hovertext": [""]}


def traces(names, callbacks, fires, tasks, boot, marks):
    """All traces, from the timeline's kept items (see kit.timeline for their shape)."""
    lane = {h: i for i, h in enumerate(names)}
    by_callback = {cb: [] for cb in callbacks}
    for fire in fires:
        by_callback[fire[2]].append(fire)
    by_kind = {kind: [] for kind in MARKERS}
    for mark in marks:
        by_kind[mark[2]].append(mark)
    out = [now_trace()] + [fire_trace(cb, callbacks, points, lane) for cb, points in by_callback.items()]
    out += [task_bars(tasks, lane), boot_bars(boot, lane)]
    out += [mark_trace(kind, points, lane) for kind, points in by_kind.items()]
    return [t for t in out if t["x"]]


def fire_trace(callback, callbacks, points, lane):
    """Timer fires of one callback: a tick per fire, on that callback's own row, so its rhythm shows."""
    cat = category(callback)
    same = [cb for cb in callbacks if category(cb) == cat]
    colours = next(c for name, _, c in RHYTHMS if name == cat)
    base, span = ROW["fires"]
    y = base + span * callbacks.index(callback) / max(1, len(callbacks))
    return {"type": "scatter", "mode": "markers", "meta": f"fire:{callback}", "hoverinfo": "text",
            "name": ".".join(callback.split(".")[-1 if cat == "broker" else -2:])[:32], "legendgroup": cat, "legendgrouptitle": {"text": f"timer · {cat}"},
            "marker": {"symbol": "line-ns-open", "size": 9, "color": colours[same.index(callback) % len(colours)],
                       "line": {"width": 2}},
            "x": [p[4] for p in points], "y": [lane[p[1]] + y for p in points], "hovertext": [p[3] for p in points]}


def task_bars(tasks, lane):
    """A bar per task run; runs that overlap on one worker (concurrency > 1) get their own slot."""
    now, rows, busy = time.time(), [], {}
    for task in sorted(tasks, key=lambda task: task["start"]):
        end = task["end"] or now
        ends = busy.setdefault(task["host"], [])
        slot = next((i for i, e in enumerate(ends) if e <= task["start"]), len(ends))
        ends[slot:slot + 1] = [end]
        base, span = ROW["tasks"]
        text = task.get("text") or (f"{clock(task['start'])} {task['host']}<br>{task['name']} [{task['uuid']}]<br>"
                                    f"{task['state']} · {end - task['start']:.3f} s")
        if task["end"]:
            task["text"] = text  # final: made once
        rows.append((task["x"], end - task["start"], lane[task["host"]] + base + span * (slot % TASK_SLOTS) / TASK_SLOTS,
                     TASKS[task["state"]], text, task["uuid"]))
    return bar_trace("tasks", "task runs", rows, width=ROW["tasks"][1] / TASK_SLOTS * 0.85)


def boot_bars(boot, lane):
    base, span = ROW["boot"]
    rows = [(x, e.get("duration") or 0.0, lane[host] + base + span * row / BOOT_ROWS,
             METHODS["error"] if e.get("error") else METHODS.get(e.get("method"), "#999999"), text, e.get("step"))
            for t, host, row, text, x, e in boot]
    return bar_trace("boot", "boot calls", rows, width=span / BOOT_ROWS * 0.8)


def bar_trace(key, name, rows, width):
    """Horizontal bars on the date axis: base = start (date string), x = length (ms, at least 1 µs so it shows)."""
    colours = [r[3] for r in rows]
    return {"type": "bar", "orientation": "h", "meta": key, "name": name, "width": width, "hoverinfo": "text",
            "base": [r[0] for r in rows], "x": [max(r[1] * 1000.0, 0.001) for r in rows],
            "y": [r[2] for r in rows], "hovertext": [r[4] for r in rows], "customdata": [r[5] for r in rows],
            "marker": {"color": colours, "line": {"color": colours, "width": 1}}}


def mark_trace(kind, points, lane):
    symbol, colour = MARKERS[kind]
    return {"type": "scatter", "mode": "markers", "meta": f"mark:{kind}", "name": kind, "legendgroup": "markers",
            "legendgrouptitle": {"text": "markers"}, "marker": {"symbol": symbol, "size": 11, "color": colour},
            "x": [p[4] for p in points], "y": [lane[p[1]] + ROW["marks"] for p in points],
            "hovertext": [p[3] for p in points], "hoverinfo": "text"}


def layout(names, window):
    """A lane per worker (alternating background), date axis in local time, zoom kept across updates."""
    n = max(1, len(names))
    return {"height": 230 + 110 * n, "width": WIDTH, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "uirevision": "kit",
            "barmode": "overlay", "hovermode": "closest", "title": {"text": f"last {window:.0f} s", "x": 0.01},
            "xaxis": {"type": "date", "tickformat": "%H:%M:%S"},
            "yaxis": {"range": [n, 0], "tickvals": [i + 0.5 for i in range(n)], "ticktext": list(names),
                      "showgrid": False, "zeroline": False},
            "shapes": [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": i, "y1": i + 1, "layer": "below",
                        "line": {"width": 0}, "fillcolor": "#f3f6fa" if i % 2 else "#ffffff"} for i in range(n)],
            "legend": {"orientation": "h", "x": 0, "y": -0.08, "yanchor": "top", "groupclick": "toggleitem",
                       "font": {"size": 10}}}


def _get(trace, path):
    for key in path.split("."):
        trace = trace[key]
    return trace


def signature(trace):
    """Enough of a trace's data to tell whether it changed (points are kept in time order)."""
    x, y = trace["x"], trace["y"]
    if not x:
        return 0
    return len(x), x[0], x[-1], sum(y), sum(x) if trace["type"] == "bar" else 0, trace.get("base", ("",))[0]


def push(fig, new, shown):
    """Show `new` traces in `fig`: rebuild when the set of traces changed, else restyle the data of those
    that changed since (`shown`: meta -> signature, kept by the caller)."""
    if [t.meta for t in fig.data] != [t["meta"] for t in new]:
        fig.data = ()
        fig.add_traces(new)
        shown.clear()
        shown.update((t["meta"], signature(t)) for t in new)
        return
    for kind, keys in LIVE.items():
        index = [i for i, t in enumerate(new) if t["type"] == kind and shown.get(t["meta"]) != signature(t)]
        if index:
            fig.plotly_restyle({k: [_get(new[i], k) for i in index] for k in keys}, index)
            shown.update((new[i]["meta"], signature(new[i])) for i in index)
