"""A cluster's workers and their states (booting, up, left, lost), in words and table rows.

What both the plain repr (display.py, status_html.py) and the widgets show; it imports neither.
"""

from kit.events.contract import GOSSIP, READY
from kit.worker_states import LEFT, natural

#: Each state a card shows, and what it means (the words of its badge's tooltip).
STATES = {
    "booting": "started, not ready yet: no kit-ready event from it so far",
    "up": "ready: it announced kit-ready (or ran before the view started watching)",
    "left": "stopped (warm shutdown: worker-offline, peers saw node_leave)",
    "lost": "killed or died (peers saw node_lost, or its heartbeats expired)",
    "closed": "the cluster is closed",
    "running": "the broker and the workers it started are up",
    "connected": "the event feed receives the broker's events",
    "unreachable": "the event feed lost the broker and reconnects",
    "replay": "a recording played back: no broker, no worker process",
}


def plural(n, word):
    """'1 worker', '2 workers'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
    """`cluster.workers`, safe to call from a thread while the kernel adds or stops workers."""
    for _ in range(5):
        try:
            return list(cluster.workers)
        except RuntimeError:
            # the worker dict changed size while being read: read again
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
    """The worker table's rows: name, pid, pool, concurrency, state, steps added, tasks done."""
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
