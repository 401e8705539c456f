"""A cluster's workers and their states (booting, up, left, lost), as words and HTML.

What both the plain repr (display.py) and the widgets show; it imports neither.
"""

import html as _html
import re
import time

from kit.events.contract import GOSSIP
from kit.processes.broker import mask_url

STYLE = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; line-height: 1.45"
#: Worker state -> (colour, what it means); text is always shown, the dot only helps.
STATES = {
    "booting": ("#f9a825", "started, not answering a ping yet"),
    "up": ("#2e7d32", "answered a ping"),
    "left": ("#757575", "stopped (warm shutdown: peers saw node_leave)"),
    "lost": ("#c62828", "killed or died (peers saw node_lost)"),
    "closed": ("#9e9e9e", "the cluster is closed"),
    "running": ("#2e7d32", "the broker and the workers it started are up"),
    "connected": ("#2e7d32", "the event feed receives the broker's events"),
    "replay": ("#1565c0", "a recording played back: no broker, no worker process"),
}


def plural(n, word):
    """'1 worker', '2 workers'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def badge(state):
    """A state as a coloured dot and its word (the word carries it where colours or fonts fail)."""
    colour = STATES.get(state, ("#555555", ""))[0]
    title = _html.escape(STATES.get(state, ("", state))[1])
    return f"<span title='{title}' style='color:{colour}'>●</span>&nbsp;{_html.escape(state)}"


def natural(name):
    """Sort key: w2@host before w10@host."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class Roster:
    """Every worker a cluster started and what became of it (booting, up, left, lost), from its
    events.

    Feed it with `on_event` (the types in `TYPES`); `states()` answers from the cluster's own
    process table first, so it is true even before an event arrives.
    """

    TYPES = ("worker-online", "worker-offline", "worker-heartbeat", GOSSIP)

    def __init__(self, cluster):
        self.cluster = cluster
        self.known = {}
        self.offline = set()
        self.lost = set()
        self.processed = {}
        self.pids = {}  # worker -> pid its worker-online event carried (for one gone before it was seen)

    def on_event(self, event):
        """Record an event; True when the states may have changed (not for a heartbeat)."""
        kind, host = event.get("type"), event.get("hostname")
        if kind == "worker-heartbeat":
            self.processed[host] = event.get("processed", 0)
            return False
        if kind == "worker-offline":
            self.offline.add(host)
        elif kind == "worker-online":
            self.offline.discard(host)
            self.lost.discard(host)
            self.known.setdefault(
                host, None
            )  # a worker killed before states() looked is still listed
            self.pids[host] = event.get("pid")
        elif kind == GOSSIP and event.get("event") == "node_lost":
            self.lost.add(event.get("peer"))
        return True

    def states(self):
        """{worker: state} in name order, every worker this cluster has started."""
        closed = getattr(self.cluster, "closed", False)
        procs = dict(getattr(self.cluster, "_workers", {}))
        for name, proc in procs.items():
            self.known[name] = proc
        # no process of its own (a room, a replay): its list of workers is who is up
        listed = set() if procs else set(getattr(self.cluster, "workers", ()))
        for name in listed:
            self.known.setdefault(name, None)
        out = {}
        for name in sorted(self.known, key=natural):
            proc = procs.get(name)
            if closed:
                out[name] = "closed"
            elif proc is not None and _alive(proc):
                out[name] = "up" if getattr(proc, "ready", True) else "booting"
            elif name in listed:
                out[name] = "up"
            else:
                out[name] = "left" if name in self.offline and name not in self.lost else "lost"
        return out

    def pid(self, name):
        """The worker's process id, also after the cluster forgot it."""
        proc = getattr(self.known.get(name), "proc", None)
        return getattr(proc, "pid", None) or self.pids.get(name)

    def counts(self):
        """'3 up · 1 lost': the workers by state."""
        tally = {}
        for state in self.states().values():
            tally[state] = tally.get(state, 0) + 1
        return " · ".join(f"{n} {state}" for state, n in tally.items()) or "no workers"


def _alive(proc):
    try:
        return bool(proc.alive)
    except Exception:  # a process object that can't tell (e.g. being replaced) counts as gone
        return False


def cluster_state(cluster):
    """The state a card shows: 'closed' once closed, else the cluster's own state."""
    return "closed" if getattr(cluster, "closed", False) else str(getattr(cluster, "state", "?"))


def broker_note(cluster):
    """The last time the embedded Redis exited and came back ('' if it never did)."""
    history = getattr(cluster, "broker_history", None) or []
    return f"{len(history)} broker restart(s), last: {history[-1]}" if history else ""


def where(cluster):
    """'embedded redis', or 'attached' with the cluster's room or private namespace."""
    if getattr(cluster, "room", None):
        return f"room {cluster.room!r}, attached"
    if getattr(cluster, "embedded", False):
        return "embedded redis"
    return f"private namespace {getattr(cluster, 'namespace', '')!r}, attached"


def steps_added(cluster):
    """{'worker': [names], 'consumer': [names]}: the steps the cluster's app added."""
    if getattr(cluster, "app", None) is None:  # a replay: the names it recorded
        return getattr(cluster, "steps_added", {"worker": [], "consumer": []})
    return {
        kind: [getattr(s, "__name__", str(s)) for s in cluster.app.steps[kind]]
        for kind in ("worker", "consumer")
    }


def run_options(cluster):
    """The options the workers run with: the kit's defaults, then the shortcuts, then
    worker_options (a replay: as recorded)."""
    from kit.processes import options

    if getattr(cluster, "app", None) is None:  # a replay: recorded merged already
        return dict(getattr(cluster, "worker_options", {}))
    layers = (
        options.DEFAULTS,
        getattr(cluster, "_shortcuts", {}),
        getattr(cluster, "worker_options", {}),
    )
    return options.merged(*layers)


def _pool(cluster):
    """The pool and concurrency the workers run with."""
    merged = run_options(cluster)
    return merged.get("pool", "?"), merged.get("concurrency", "?")


def worker_rows(cluster, roster):
    """The worker table's rows: name, pid, pool, concurrency, state, steps added, tasks
    processed.
    """
    pool, concurrency = _pool(cluster)
    steps = ", ".join(name for names in steps_added(cluster).values() for name in names) or "(none)"
    return [
        {
            "name": name,
            "pid": roster.pid(name),
            "pool": pool,
            "concurrency": concurrency,
            "state": state,
            "steps added": steps,
            "tasks processed": roster.processed.get(name, 0),
        }
        for name, state in roster.states().items()
    ]


def html(cluster, roster=None, limit=40):
    """The cluster as a card: state, broker (password hidden), a worker table; plain HTML."""
    roster = roster or Roster(cluster)
    rows = worker_rows(cluster, roster)
    state = cluster_state(cluster)
    cells = "".join(
        "<tr>"
        + "".join(
            f"<td>{badge(v) if k == 'state' else _html.escape(str('' if v is None else v))}</td>"
            for k, v in row.items()
        )
        + "</tr>"
        for row in rows[:limit]
    )
    more = (
        f"<tr><td colspan='7'>… and {len(rows) - limit} more</td></tr>" if len(rows) > limit else ""
    )
    head = "".join(f"<th style='text-align:left'>{k}</th>" for k in (rows[0] if rows else {}))
    broker = "embedded Redis" if getattr(cluster, "embedded", False) else "attached broker"
    since, title = getattr(cluster, "started_at", None), "LocalCluster"
    age = f" · up {time.time() - since:.0f} s" if since and state == "running" else ""
    if hasattr(cluster, "describe"):  # a replay: what was recorded, and where it stands
        title, broker = _html.escape(cluster.describe()), "recorded on"
        age = f" · at {cluster.position:.1f} of {cluster.duration:.1f} s"
    note = broker_note(cluster)
    return (
        f"<div style='{STYLE}' class='kit-card'>"
        f"<b>{title}</b> · {badge(state)}{age} · {roster.counts()}<br>"
        f"{broker} <code>{_html.escape(mask_url(getattr(cluster, 'broker_url', '?')))}</code>"
        f"{f'<br>⚠ {_html.escape(note)}' if note else ''}"
        f"<table style='font-size:12px;margin-top:4px'>{head and f'<tr>{head}</tr>'}{cells}{more}</table>"
        f"</div>"
    )
