"""How a cluster shows itself in a notebook: HTML and text reprs, and live start-up progress."""

import html as _html

_STYLE = "font-family: var(--jp-code-font-family, monospace); font-size: 12px"


def _steps(cluster):
    return {
        kind: [getattr(s, "__name__", str(s)) for s in cluster.app.steps[kind]]
        for kind in ("worker", "consumer")
    }


def broker_note(cluster):
    """The last time the embedded Redis exited and came back ('' if it never did)."""
    history = getattr(cluster, "broker_history", None) or []
    return f"{len(history)} broker restart(s), last: {history[-1]}" if history else ""


def text(cluster):
    broker = "embedded redis" if getattr(cluster, "embedded", False) else "attached"
    note = broker_note(cluster)
    return (
        f"<LocalCluster {cluster.state}: {len(cluster.workers)} workers {cluster.workers!r}, "
        f"{broker} at {safe_url(getattr(cluster, 'broker_url', '?'))}" + (f"; {note}>" if note else ">")
    )


def safe_url(url):
    """The broker URL with its password hidden."""
    if "@" in url and ":" in url.split("@")[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://:***@{rest.split('@', 1)[1]}"
    return url


def html(cluster):
    rows = "".join(
        f"<tr><td>{_html.escape(name)}</td><td>{'up' if w.alive else 'down'}</td>"
        f"<td>pid {w.proc.pid}</td></tr>"
        for name, w in cluster._workers.items()
    )
    steps = _steps(cluster)
    added = "".join(
        f"<li>{kind}: {_html.escape(', '.join(names) or '(none)')}</li>" for kind, names in steps.items()
    )
    feed = cluster.events
    return (
        f"<div style='{_STYLE}'><b>LocalCluster</b> — {cluster.state}, {len(cluster.workers)} workers, "
        f"broker <code>{_html.escape(safe_url(getattr(cluster, 'broker_url', '?')))}</code>"
        + (f"<br>⚠ {_html.escape(broker_note(cluster))}" if broker_note(cluster) else "")
        + f"<details><summary>workers</summary><table>{rows}</table></details>"
        f"<details><summary>your steps</summary><ul>{added}</ul></details>"
        f"<details><summary>event feed</summary>{_html.escape(repr(feed))}</details></div>"
    )


def room_text(room):
    return (
        f"<Room {room.name!r} {room.state}: {len(room.workers)} workers {room.workers!r}, "
        f"broker {safe_url(room.broker_url)}>"
    )


def room_html(room):
    rows = "".join(f"<li>{_html.escape(name)}</li>" for name in room.workers)
    return (
        f"<div style='{_STYLE}'><b>Room {_html.escape(room.name)}</b> — {_html.escape(room.state)}, "
        f"{len(room.workers)} workers, broker <code>{_html.escape(safe_url(room.broker_url))}</code>"
        f"<details><summary>workers</summary><ul>{rows}</ul></details>"
        f"<details><summary>event feed</summary>{_html.escape(repr(room.events))}</details></div>"
    )


class Progress:
    """A live line per worker while a cluster starts (in a notebook; silent elsewhere)."""

    def __init__(self, cluster):
        self.cluster, self.handle = cluster, None
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            return
        if get_ipython() is None or not hasattr(get_ipython(), "kernel"):
            return
        self.HTML = HTML
        self.handle = display(HTML(self._render()), display_id=True)

    def _render(self):
        c = self.cluster
        items = "".join(
            f"<span>{'✅' if w.ready else '⏳'} {_html.escape(n)}</span> " for n, w in c._workers.items()
        )
        broker = "broker up" if getattr(c, "broker_url", None) else "starting redis…"
        return f"<div style='{_STYLE}'>LocalCluster {c.state}: {broker} · {items}</div>"

    def update(self):
        if self.handle is not None:
            self.handle.update(self.HTML(self._render()))

    def done(self):
        self.update()
