"""The dashboard's header line: the cluster's state, its workers counted by state, the event
feed.
"""

from kit.roster import Roster, badge, broker_note, plural
from kit.widgets.panel import clock, escape

#: Up to this many worker names are listed; beyond, only the counts by state.
NAMES = 8
#: Greys out a closed dashboard (its class is added to the dashboard's box).
CLOSED_CSS = (
    "<style>.kit-closed .widget-tab, .kit-closed .lm-TabBar"
    " {filter: grayscale(1); opacity: .6}</style>"
)


def names(states, limit=NAMES):
    """'w1@h, w2@h (up), w3@h (lost)' for a few workers; '…' and the rest counted for many."""
    shown = [f"{escape(n)} ({escape(s)})" if s != "up" else escape(n) for n, s in states.items()]
    if len(shown) > limit:
        return ", ".join(shown[:limit]) + f", … {len(shown) - limit} more"
    return ", ".join(shown)


def header_html(cluster, roster: Roster, connected: bool, closed_at=None) -> str:
    """The header as HTML: always true of the cluster right now (closed, running, workers by
    state).
    """
    states = roster.states()
    up = sum(1 for s in states.values() if s == "up")
    # a replay: what it is, and who is up where it stands
    if not cluster.live:
        return (
            f"{CLOSED_CSS if closed_at else ''}<b>Bootsteps Kit</b> · "
            f"<span style='color:#1565c0'>●</span>&nbsp;{escape(cluster.describe())} · "
            f"{plural(up, 'worker')} up ({roster.counts()}): "
            f"{names(states)} · actions off: no worker runs"
        )
    if closed_at is not None:
        return (
            f"{CLOSED_CSS}<b>Bootsteps Kit</b> · cluster {badge('closed')} at {clock(closed_at)} · "
            f"{plural(len(states), 'worker')} stopped · actions disabled, timeline frozen · "
            "start a new cluster with <code>kit.LocalCluster(app)</code>"
        )
    feed = (
        badge("connected")
        if connected
        else "<span style='color:#c62828'>●</span>&nbsp;broker unreachable (reconnecting…)"
    )
    note = broker_note(cluster)
    return (
        f"<b>Bootsteps Kit</b> · cluster {badge(str(cluster.state))} · "
        f"{plural(up, 'worker')} up ({roster.counts()}): {names(states)} · events {feed}"
        + (f"<br>⚠ {escape(note)}" if note else "")
    )
