"""The dashboard's header line: the cluster's state, its workers by state, the event feed."""

from kit import status_html
from kit.roster import Roster, broker_note, plural
from kit.widgets.panel import clock


def header_html(cluster, roster: Roster, connected: bool, closed_at=None) -> str:
    """The header as HTML, true of the cluster right now: closed, running, workers by state."""
    states = roster.states()
    up = sum(1 for s in states.values() if s == "up")
    return status_html.render(
        "header.html.j2",
        live=cluster.live,
        closed=clock(closed_at) if closed_at is not None else "",
        title=cluster.describe(),
        state=str(cluster.state),
        up=plural(up, "worker"),
        count=plural(len(states), "worker"),
        counts=roster.counts(),
        names=status_html.worker_names(states),
        connected=connected,
        note=broker_note(cluster),
    )
