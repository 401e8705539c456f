"""How a cluster or a room shows itself in a notebook: a live card where widgets work, else HTML,
text.

The pieces (states, badges, the worker table) are in roster.py, below both this and the widgets.
"""

import html as _html

from kit.kernel import in_kernel
from kit.processes.broker import mask_url
from kit.roster import STYLE, badge, broker_note, cluster_state, html, plural


def text(cluster):
    """The plain-text repr of a LocalCluster."""
    broker = cluster.where()
    workers = list(cluster.workers)
    note = broker_note(cluster)
    return (
        f"<LocalCluster {cluster_state(cluster)}: {plural(len(workers), 'worker')} {workers!r}, "
        f"{broker} at {mask_url(cluster.broker_url)}"
        + (f"; {note}>" if note else ">")
    )


def room_text(room):
    """The plain-text repr of a Room."""
    return (
        f"<Room {room.name!r} {room.state}: {plural(len(room.workers), 'worker')} {room.workers!r}, "
        f"broker {mask_url(room.broker_url)}>"
    )


def room_html(room):
    """The notebook repr of a Room: its state and the workers seen in it."""
    rows = "".join(f"<li>{_html.escape(name)}</li>" for name in room.workers)
    return (
        f"<div style='{STYLE}'><b>Room {_html.escape(room.name)}</b> · {badge(str(room.state))} · "
        f"{plural(len(room.workers), 'worker')}, "
        f"broker <code>{_html.escape(mask_url(room.broker_url))}</code>"
        f"<details><summary>workers</summary><ul>{rows}</ul></details>"
        f"<details><summary>event feed</summary>{_html.escape(repr(room.events))}</details></div>"
    )


def mimebundle(cluster):
    """What a notebook shows for `cluster`: the live card where widgets work, else plain HTML."""
    data = {"text/plain": repr(cluster), "text/html": html(cluster)}
    if in_kernel() and not cluster.closed:
        try:
            from kit.widgets.card import card_of
        except ImportError:  # no ipywidgets: the HTML above
            return data
        data.update(
            {
                k: v
                for k, v in card_of(cluster).widget._repr_mimebundle_().items()
                if k != "text/plain"
            }
        )
    return data
