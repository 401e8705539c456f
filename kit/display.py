"""How a cluster or a room shows itself in a notebook: a live card, else HTML, else text.

A live card where widgets work. The pieces (states, the worker table) are in roster.py, the HTML in
status_html.py (its templates), below both this and the widgets.
"""

from kit import status_html
from kit.kernel import in_kernel
from kit.processes.broker import mask_url
from kit.roster import Roster, broker_note, cluster_state, plural


def text(cluster):
    """The plain-text repr of a LocalCluster."""
    workers = list(cluster.workers)
    note = broker_note(cluster)
    return (
        f"<LocalCluster {cluster_state(cluster)}: {plural(len(workers), 'worker')} {workers!r}, "
        f"{cluster.where()} at {mask_url(cluster.broker_url)}" + (f"; {note}>" if note else ">")
    )


def html(cluster, roster=None):
    """The cluster as a card: state, broker (password hidden), a worker table; plain HTML."""
    return status_html.card(cluster, roster or Roster(cluster))


def room_text(room):
    """The plain-text repr of a Room."""
    return (
        f"<Room {room.name!r} {room.state}: {plural(len(room.workers), 'worker')} {room.workers!r}, "
        f"broker {mask_url(room.broker_url)}>"
    )


def room_html(room):
    """The notebook repr of a Room: its state and the workers seen in it."""
    return status_html.room(room)


def mimebundle(cluster):
    """What a notebook shows for `cluster`: the live card where widgets work, else plain HTML."""
    data = {"text/plain": repr(cluster), "text/html": html(cluster)}
    if in_kernel() and not cluster.closed:
        try:
            from kit.widgets.card import card_of
        except ImportError:
            # no ipywidgets: the HTML above
            return data
        bundle = card_of(cluster).widget._repr_mimebundle_()
        data.update({k: v for k, v in bundle.items() if k != "text/plain"})
    return data
