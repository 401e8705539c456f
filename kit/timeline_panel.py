"""How the timeline draws its lanes: plotly traces in time chunks, and the layout."""
import time

from kit.panels import clock, stamp

#: Timer callbacks by rhythm: (category, words in the callback's name, colours to cycle through).
RHYTHMS = (("heartbeat", ("heart",), ("#e45756", "#ff9d98")), ("gossip", ("gossip",), ("#4c78a8", "#9ecae9")),
           ("broker", ("kombu.",), ("#9d755d", "#bab0ac", "#79706e", "#d8b5a5")),
           ("user", ("",), ("#f58518", "#54a24b", "#b279a2", "#eeca3b", "#72b7b2", "#ff9da6")))
#: Marker kinds: symbol and colour.
MARKERS = {"node_join": ("triangle-up", "#2ca02c"), "node_leave": ("triangle-down", "#7f7f7f"),
           "node_lost": ("x", "#d62728"), "deadlock": ("diamond", "#d62728"), "election": ("circle-open", "#bcbd22"),
           "elect-ack": ("circle-open-dot", "#bcbd22"), "elected": ("star-open", "#bcbd22"), "won": ("star", "#bcbd22"),
           "worker-online": ("triangle-right", "#2ca02c"), "worker-offline": ("square", "#7f7f7f"),
           "timer-set": ("circle-open", "#999999"), "timer-cancel": ("x-thin-open", "#999999"),
           "timer-error": ("x", "#b71c1c")}
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
#: Seconds of items per trace: only the traces of the newest chunk change, so an update sends kilobytes
#: (Jupyter's server drops all widget messages above 1 MB/s of iopub data, freezing every widget).
CHUNK = 5.0


def category(callback):
    """'heartbeat', 'gossip', 'broker' or 'user'."""
    return next(cat for cat, words, _ in RHYTHMS if any(word in callback.lower() for word in words))


def chunk_start(t):
    """The start of the chunk that holds time `t` (the timeline keeps whole chunks)."""
    return (t // CHUNK) * CHUNK


def now_trace():
    """An invisible point at "now": the first trace, so the axis is typed from a date and reaches now."""
    return {"type": "scatter", "mode": "markers", "meta": "now", "name": "now", "showlegend": False,
            "hoverinfo": "skip", "marker": {"opacity": 0}, "x": [stamp(time.time())], "y": [0]}


def legend_entry(series, name, kind="scatter", **style):
    """A data-less trace that stands for all chunks of a series in the legend (a click toggles them all)."""
    return {"type": kind, "meta": series, "name": name, "legendgroup": series, "x": [None], "y": [None], **style}


def chunked(series, items, make):
    """A trace per chunk of `items` (time first), made by make(meta, items), each in the series' legend group."""
    chunks = {}
    for item in items:
        chunks.setdefault(int(item[0] // CHUNK), []).append(item)
    return [dict(make(f"{series}@{n}", part), legendgroup=series, showlegend=False) for n, part in sorted(chunks.items())]


def traces(names, callbacks, every, fires, tasks, boot, marks):
    """All traces, from the timeline's kept items (see kit.timeline for their shape)."""
    lane = {h: i for i, h in enumerate(names)}
    by_callback, by_kind = {cb: [] for cb in callbacks}, {kind: [] for kind in MARKERS}
    for fire in fires:
        by_callback[fire[2]].append(fire)
    for mark in marks:
        by_kind[mark[2]].append(mark)
    out = [now_trace()]
    for cb, points in by_callback.items():
        out += fire_traces(cb, callbacks, every.get(cb, "fire"), points, lane) if points else []
    out += bar_traces("tasks", "task runs", task_rows(tasks, lane), ROW["tasks"][1] / TASK_SLOTS * 0.85)
    out += bar_traces("boot", "boot calls", boot_rows(boot, lane), ROW["boot"][1] / BOOT_ROWS * 0.8)
    for kind, points in by_kind.items():
        out += mark_traces(kind, points, lane) if points else []
    return out


def fire_traces(callback, callbacks, every, points, lane):
    """Timer fires of one callback: a tick per fire, on that callback's own row, so its rhythm shows."""
    cat = category(callback)
    same = [cb for cb in callbacks if category(cb) == cat]
    colours = next(c for name, _, c in RHYTHMS if name == cat)
    marker = {"symbol": "line-ns-open", "size": 9, "color": colours[same.index(callback) % len(colours)],
              "line": {"width": 2}}
    y = ROW["fires"][0] + ROW["fires"][1] * callbacks.index(callback) / max(1, len(callbacks))
    template = f"%{{x|%H:%M:%S.%L}} %{{text}}<br>{callback}<br>{every} · took %{{customdata}} ms<extra></extra>"
    name = f"{cat} · " + ".".join(callback.split(".")[-1 if cat == "broker" else -2:])[:32]
    return [legend_entry(f"fire:{callback}", name, mode="markers", marker=marker)] + chunked(
        f"fire:{callback}", points, lambda meta, part: {
            "type": "scatter", "mode": "markers", "meta": meta, "marker": marker, "hovertemplate": template,
            "x": [p[4] for p in part], "y": [round(lane[p[1]] + y, 4) for p in part], "text": [p[1] for p in part],
            "customdata": [round(p[5] * 1000, 3) for p in part]})


def task_rows(tasks, lane):
    """A bar per task run; runs that overlap on one worker (concurrency > 1) get their own slot."""
    now, rows, busy = time.time(), [], {}
    base, span = ROW["tasks"]
    for task in sorted(tasks, key=lambda task: task["start"]):
        end = task["end"] or now
        ends = busy.setdefault(task["host"], [])
        slot = next((i for i, e in enumerate(ends) if e <= task["start"]), len(ends))
        ends[slot:slot + 1] = [end]
        text = task.get("text") or (f"{clock(task['start'])} {task['host']}<br>{task['name']} [{task['uuid']}]<br>"
                                    f"{task['state']} · {end - task['start']:.3f} s")
        if task["end"]:
            task["text"] = text  # final: made once
        rows.append((task["start"], task["x"], end - task["start"],
                     round(lane[task["host"]] + base + span * (slot % TASK_SLOTS) / TASK_SLOTS, 4),
                     TASKS[task["state"]], text, task["uuid"]))
    return rows


def boot_rows(boot, lane):
    base, span = ROW["boot"]
    return [(t, x, e.get("duration") or 0.0, round(lane[host] + base + span * row / BOOT_ROWS, 4),
             METHODS["error"] if e.get("error") else METHODS.get(e.get("method"), "#999999"), text, e.get("step"))
            for t, host, row, text, x, e in boot]


def bar_traces(series, name, rows, width):
    """Horizontal bars on the date axis: base = start (date string), x = length (ms, at least 1 µs so it shows)."""
    def make(meta, part):
        colours = [r[4] for r in part]
        return {"type": "bar", "orientation": "h", "meta": meta, "width": width, "hoverinfo": "text",
                "base": [r[1] for r in part], "x": [max(round(r[2] * 1000.0, 3), 0.001) for r in part],
                "y": [r[3] for r in part], "hovertext": [r[5] for r in part], "customdata": [r[6] for r in part],
                "marker": {"color": colours, "line": {"color": colours, "width": 1}}}
    legend = legend_entry(series, name, kind="bar", orientation="h", marker={"color": TASKS["succeeded"] if series == "tasks"
                                                                             else METHODS["start"]})
    return [legend] + chunked(series, rows, make) if rows else []


def mark_traces(kind, points, lane):
    symbol, colour = MARKERS[kind]
    marker = {"symbol": symbol, "size": 11, "color": colour}
    return [legend_entry(f"mark:{kind}", kind, mode="markers", marker=marker)] + chunked(
        f"mark:{kind}", points, lambda meta, part: {
            "type": "scatter", "mode": "markers", "meta": meta, "marker": marker, "hoverinfo": "text",
            "x": [p[4] for p in part], "y": [lane[p[1]] + ROW["marks"] for p in part], "hovertext": [p[3] for p in part]})


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
            "legend": {"orientation": "h", "x": 0, "y": -0.08, "yanchor": "top",
                       "font": {"size": 10}}}
