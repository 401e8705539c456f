"""A cluster's workers and their states (booting, up, left, lost), as words and HTML.

What both the plain repr (display.py) and the widgets show; it imports neither.
"""

import html as _html

from kit.events.contract import GOSSIP, READY
from kit.processes.broker import mask_url
from kit.worker_states import LEFT, natural

STYLE = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; line-height: 1.45"
#: Worker state -> (colour, what it means); text is always shown, the dot only helps.
STATES = {
    "booting": ("#f9a825", "started, not ready yet: no kit-ready event from it so far"),
    "up": ("#2e7d32", "ready: it announced kit-ready (or ran before the view started watching)"),
    "left": ("#757575", "stopped (warm shutdown: worker-offline, peers saw node_leave)"),
    "lost": ("#c62828", "killed or died (peers saw node_lost, or its heartbeats expired)"),
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


class Roster:
    """Every worker a view has shown and what became of it (booting, up, left, lost), in words.

    Reads the view's one WorkerStates (kit/worker_states.py) and its `workers`; it keeps nothing,
    so the card and the dashboard can share one. `on_event` says which events may change it.
    """

    TYPES = ("worker-online", "worker-offline", "worker-heartbeat", READY, GOSSIP)

    def __init__(self, cluster):
        self.cluster = cluster

    def on_event(self, event):
        """True when the states may have changed (not for a heartbeat)."""
        return event.get("type") != "worker-heartbeat"

    @property
    def known(self):
        """Every worker the view has shown, in name order."""
        return list(self.states())

    def states(self):
        """{worker: state} in name order, every worker the view has shown."""
        view, model = self.cluster, self.cluster.worker_states
        listed = set(live_workers(view))
        out = {}
        for name in sorted(listed.union(model.known), key=natural):
            if view.closed:
                out[name] = "closed"
            elif name in listed:
                out[name] = "up" if model.ready(name) else "booting"
            else:
                out[name] = "left" if model.state(name) == LEFT else "lost"
        return out

    def pid(self, name):
        """The worker's process id (from its events), also after it is gone."""
        return self.cluster.worker_states.pid(name)

    def processed(self, name):
        """How many tasks the worker processed, as its last heartbeat said."""
        return self.cluster.worker_states.processed(name)

    def counts(self):
        """'3 up · 1 lost': the workers by state."""
        tally = {}
        for state in self.states().values():
            tally[state] = tally.get(state, 0) + 1
        return " · ".join(f"{n} {state}" for state, n in tally.items()) or "no workers"


def live_workers(cluster):
    """`cluster.workers`, safe to call from a background thread while the kernel adds or stops
    workers.
    """
    for _ in range(5):
        try:
            return list(cluster.workers)
        except RuntimeError:  # the worker dict changed size while being read: read again
            continue
    return []


def cluster_state(cluster):
    """The state a card shows: 'closed' once closed, else the cluster's own state."""
    return "closed" if cluster.closed else str(cluster.state)


def broker_note(cluster):
    """The last time the embedded Redis exited and came back ('' if it never did)."""
    history = cluster.broker_history
    return f"{len(history)} broker restart(s), last: {history[-1]}" if history else ""


def worker_rows(cluster, roster):
    """The worker table's rows: name, pid, pool, concurrency, state, steps added, tasks
    processed.
    """
    merged = cluster.run_options
    pool, concurrency = merged.get("pool", "?"), merged.get("concurrency", "?")
    steps = ", ".join(n for names in cluster.steps_added.values() for n in names) or "(none)"
    return [
        {
            "name": name,
            "pid": roster.pid(name),
            "pool": pool,
            "concurrency": concurrency,
            "state": state,
            "steps added": steps,
            "tasks processed": roster.processed(name),
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
    if not cluster.live:
        broker = "recorded on"
    else:
        broker = "embedded Redis" if cluster.embedded else "attached broker"
    title, age = _html.escape(cluster.describe()), cluster.age()
    age = f" · {age}" if age else ""
    note = broker_note(cluster)
    return (
        f"<div style='{STYLE}' class='kit-card'>"
        f"<b>{title}</b> · {badge(state)}{age} · {roster.counts()}<br>"
        f"{broker} <code>{_html.escape(mask_url(cluster.broker_url))}</code>"
        f"{f'<br>⚠ {_html.escape(note)}' if note else ''}"
        f"<table style='font-size:12px;margin-top:4px'>{head and f'<tr>{head}</tr>'}{cells}{more}</table>"
        f"</div>"
    )
