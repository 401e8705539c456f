"""What the timeline draws: its items as series and 5-second chunks.

timeline_widget.py sends them to timeline_view.js.
"""

import collections
import time

from kit.widgets.panel import clock


class Fire(collections.namedtuple("Fire", "time host callback duration error")):
    """A timer callback that ran: when, on which worker, its name, seconds taken, error or None."""


class Mark(collections.namedtuple("Mark", "time host kind text fields")):
    """A marker (node_lost, deadlock, timer-set, ...): its hover text and the event's own fields."""


class Boot(collections.namedtuple("Boot", "time host row text event")):
    """A step method call (kit-lifecycle): the waterfall row of its step, hover text, the event."""


#: Timer callbacks by rhythm: (category, words in the callback's name, colours to cycle through).
RHYTHMS = (
    ("heartbeat", ("heart",), ("#e45756", "#ff9d98")),
    ("gossip", ("gossip",), ("#4c78a8", "#9ecae9")),
    ("broker", ("kombu.",), ("#9d755d", "#bab0ac", "#79706e", "#d8b5a5")),
    ("user", ("",), ("#f58518", "#54a24b", "#b279a2", "#eeca3b", "#72b7b2", "#ff9da6")),
)
#: Marker kinds: symbol, colour, and what it means (the tooltip's first line).
MARKERS = {
    "node_join": ("triangle-up", "#2ca02c", "this worker saw a peer join"),
    "node_leave": ("triangle-down", "#7f7f7f", "this worker saw a peer leave (warm shutdown)"),
    "node_lost": ("x", "#d62728", "this worker lost a peer (its heartbeats stopped)"),
    "deadlock": ("diamond", "#d62728", "a task ran past DeadlockDetection's timeout"),
    "election": ("circle-open", "#bcbd22", "this worker started an election"),
    "elect-ack": ("circle-open", "#8c8c00", "this worker voted in an election"),
    "elected": ("star-open", "#bcbd22", "this worker counted the votes: a leader"),
    "won": ("star", "#bcbd22", "this worker won the election"),
    "worker-online": ("triangle-right", "#2ca02c", "the worker connected (Celery's worker-online)"),
    "worker-offline": ("square", "#7f7f7f", "the worker shut down (Celery's worker-offline)"),
    "timer-set": ("circle-open", "#999999", "a callback was scheduled on the worker's timer"),
    "timer-cancel": ("x", "#bbbbbb", "a timer entry was cancelled"),
    "timer-error": ("x", "#b71c1c", "a timer callback raised"),
    "shutdown": ("triangle-down", "#ff7f0e", "a shutdown signal arrived (worker_shutting_down)"),
    "stuck": ("diamond-open", "#9467bd", "a step method still running past the threshold (kit-stuck)"),
}
#: Boot-call colours by method; a call that raised is red.
METHODS = {
    "__init__": "#c7c7c7",
    "include": "#aec7e8",
    "create": "#98df8a",
    "start": "#2ca02c",
    "stop": "#ff9896",
    "close": "#c49c94",
    "terminate": "#d62728",
    "shutdown": "#8c564b",
    "error": "#b71c1c",
    "stuck": "#9467bd",
}
#: Task-bar colours by state.
TASKS = {"running": "#9ecae9", "succeeded": "#54a24b", "failed": "#d62728"}
#: Where things go inside a lane (0 = its top, 1 = its bottom): offset, or (offset, height).
ROW = {"marks": 0.07, "fires": (0.13, 0.32), "tasks": (0.47, 0.18), "boot": (0.67, 0.31)}
#: Overlapping task runs of one worker are drawn in this many slots.
TASK_SLOTS = 4
#: Boot calls of one worker process get a row per step (a waterfall), wrapping after this many.
BOOT_ROWS = 24
#: Seconds of items per chunk: only the newest chunks change, so an update sends a few kilobytes
#: (Jupyter's server drops every widget message above 1 MB/s of iopub data, freezing all widgets).
CHUNK = 5.0


def category(callback):
    """'heartbeat', 'gossip', 'broker' or 'user'."""
    return next(cat for cat, words, _ in RHYTHMS if any(word in callback.lower() for word in words))


def periodic(callback):
    """Celery's own high-rate timers (heartbeat, gossip checks, broker housekeeping): hidden."""
    return category(callback) != "user"


def chunk_start(t):
    """The start of the chunk that holds time `t` (the timeline keeps and drops whole chunks)."""
    return (t // CHUNK) * CHUNK


def series_of(callbacks, every):
    """Every series the widget may draw: a tick row per timer callback, both bars, each marker."""
    out = {}
    base, span = ROW["fires"]
    for i, cb in enumerate(callbacks):
        cat = category(cb)
        same = [c for c in callbacks if category(c) == cat]
        colours = next(c for name, _, c in RHYTHMS if name == cat)
        out[f"fire:{cb}"] = {
            "kind": "tick",
            "group": f"timer · {cat}",
            "colour": colours[same.index(cb) % len(colours)],
            "name": ".".join(cb.split(".")[-1 if cat == "broker" else -2 :])[:40],
            "row": round(base + span * (i + 0.5) / max(1, len(callbacks)), 4),
            "half": round(min(0.05, span / max(1, len(callbacks)) * 0.42), 4),
            "tip": f"{cb} · {every.get(cb, 'fire')}",
            "periodic": cat != "user",
        }
    out["tasks"] = {
        "kind": "bar",
        "group": "runs",
        "name": "task runs",
        "colour": TASKS["succeeded"],
        "height": round(ROW["tasks"][1] / TASK_SLOTS * 0.85, 4),
    }
    out["boot"] = {
        "kind": "bar",
        "group": "runs",
        "name": "boot calls",
        "colour": METHODS["start"],
        "height": round(ROW["boot"][1] / BOOT_ROWS * 0.8, 4),
    }
    out["stuck"] = {
        "kind": "bar",
        "group": "runs",
        "name": "stuck step calls (still running)",
        "colour": METHODS["stuck"],
        "height": round(ROW["boot"][1] / BOOT_ROWS * 2.4, 4),
    }
    for kind, (symbol, colour, _) in MARKERS.items():
        out[f"mark:{kind}"] = {
            "kind": "mark",
            "group": "markers",
            "name": kind,
            "colour": colour,
            "symbol": symbol,
            "row": ROW["marks"],
        }
    return out


def _chunks(series, rows, columns):
    """{f"{series}@{n}": payload}: rows cut into chunks.

    A row is time first, then host, then one value per column; times are offsets from the chunk's
    start and hosts are indexes into its own `hosts` list.
    """
    out = {}
    for row in rows:
        n = int(row[0] // CHUNK)
        c = out.setdefault(
            f"{series}@{n}",
            {
                "s": series,
                "t0": n * CHUNK,
                "hosts": [],
                "t": [],
                "h": [],
                **{name: [] for name in columns},
            },
        )
        if row[1] not in c["hosts"]:
            c["hosts"].append(row[1])
        c["t"].append(round(row[0] - n * CHUNK, 4))
        c["h"].append(c["hosts"].index(row[1]))
        for name, value in zip(columns, row[2:], strict=True):
            c[name].append(value)
    return out


def chunks_of(fires, tasks, boot, marks, now=None, stuck=()):
    """The widget's data: every kept item, in chunks (see _chunks).

    `stuck` holds the open calls of `kit-stuck` reports (Boot items): bars without an end, which
    the view draws up to its "now".
    """
    out = {}
    by_callback = {}
    for f in fires:
        by_callback.setdefault(f.callback, []).append((f.time, f.host, round(f.duration * 1000, 3)))
    for cb, rows in by_callback.items():
        out.update(_chunks(f"fire:{cb}", rows, ("d",)))
    out.update(_chunks("tasks", task_rows(tasks, now), ("len", "y", "c", "tip", "id")))
    base, span = ROW["boot"]
    out.update(
        _chunks(
            "boot",
            [
                (
                    b.time,
                    b.host,
                    round(b.event.get("duration") or 0.0, 6),
                    round(base + span * (b.row + 0.5) / BOOT_ROWS, 4),
                    METHODS["error"]
                    if b.event.get("error")
                    else METHODS.get(b.event.get("method"), "#999999"),
                    b.text,
                    b.event.get("step"),
                )
                for b in boot
            ],
            ("len", "y", "c", "tip", "id"),
        )
    )
    out.update(
        _chunks(
            "stuck",
            [
                (
                    b.time,
                    b.host,
                    None,
                    round(base + span * (b.row + 0.5) / BOOT_ROWS, 4),
                    METHODS["stuck"],
                    b.text,
                    b.event.get("step"),
                )
                for b in stuck
            ],
            ("len", "y", "c", "tip", "id"),
        )
    )
    by_kind = {}
    for m in marks:
        by_kind.setdefault(m.kind, []).append((m.time, m.host, m.text))
    for kind, rows in by_kind.items():
        out.update(_chunks(f"mark:{kind}", rows, ("tip",)))
    return out


def task_rows(tasks, now=None):
    """A bar per task run (length None while running, until `now`).

    Runs that overlap on a worker get their own slot.
    """
    rows, busy, now = [], {}, now or time.time()
    base, span = ROW["tasks"]
    for task in sorted(tasks, key=lambda task: task["start"]):
        end = task["end"] or now
        ends = busy.setdefault(task["host"], [])
        slot = next((i for i, e in enumerate(ends) if e <= task["start"]), len(ends))
        ends[slot : slot + 1] = [end]
        took = f"{end - task['start']:.3f} s" if task["end"] else "running"
        when = f"{clock(task['start'])} {task['host']}"
        text = f"{when}\n{task['name']} [{task['uuid']}]\n{task['state']} · {took}"
        rows.append(
            (
                task["start"],
                task["host"],
                round(task["end"] - task["start"], 4) if task["end"] else None,
                round(base + span * ((slot % TASK_SLOTS) + 0.5) / TASK_SLOTS, 4),
                TASKS[task["state"]],
                text,
                task["uuid"],
            )
        )
    return rows
