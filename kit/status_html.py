"""Status HTML (cards, boot line, header, messages) from the templates in status_templates/."""

import functools
import os
import time
import traceback

import jinja2
from markupsafe import Markup

from kit.processes.broker import mask_url
from kit.roster import STATES, broker_note, cluster_state, plural, worker_rows
from kit.worker_states import report_late

#: The one palette: every colour status HTML uses.
PALETTE = {
    "ok": "#2e7d32",
    "ok-text": "#1b5e20",
    "warn": "#f9a825",
    "gone": "#757575",
    "bad": "#c62828",
    "error-text": "#b71c1c",
    "off": "#9e9e9e",
    "replay": "#1565c0",
    "unknown": "#555555",
}
#: A state's colour, by its name in the palette.
STATE_COLOURS = {
    "booting": "warn",
    "up": "ok",
    "left": "gone",
    "lost": "bad",
    "closed": "off",
    "running": "ok",
    "connected": "ok",
    "unreachable": "bad",
    "replay": "replay",
}
#: The font every status block uses (JupyterLab's UI font where there is one).
FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; line-height: 1.45"
#: Up to this many worker names are listed in a header; beyond, only the counts by state.
NAMES = 8


@functools.cache
def _templates():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "status_templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(badge=badge, font=FONT)
    return env


def render(name, **values):
    """The template `name` (in status_templates/) filled with `values` (escaped), as a string."""
    return _templates().get_template(name).render(**values).strip()


def badge(state, word=None):
    """A state as a coloured dot and its word (the word carries it where colours fail)."""
    colour = PALETTE[STATE_COLOURS.get(state, "unknown")]
    meaning = STATES.get(state, state)
    return Markup(render("badge.html.j2", colour=colour, meaning=meaning, word=word or state))


def card(cluster, roster, limit=40):
    """The cluster as a card: state, broker (password hidden), a worker table."""
    if not cluster.live:
        broker = "recorded on"
    else:
        broker = "embedded Redis" if cluster.embedded else "attached broker"
    return render(
        "card.html.j2",
        title=cluster.describe(),
        state=cluster_state(cluster),
        age=cluster.age(),
        counts=roster.counts(),
        broker=broker,
        url=mask_url(cluster.broker_url),
        note=broker_note(cluster),
        rows=worker_rows(cluster, roster),
        limit=limit,
        notes=cluster.notes(),
        stuck=stuck_lines(cluster),
        stuck_colour=PALETTE["error-text"],
    )


def stuck_lines(view):
    """'w1@h: stuck in Proj.Step.stop for 12 s (proj/steps.py:42)' per step call still stuck.

    From the view's WorkerStates: a `kit-stuck` report whose call has not returned (its
    `kit-lifecycle` not yet arrived) and whose worker has not ended. The time is counted on the
    view's clock from the call's start, so it grows at each redraw (and follows a replay). When
    the call's next report is late, the line says when the last one came instead.
    """
    states, now = view.worker_states, view.now()
    lines = []
    for name in states.stuck_workers():
        for e in states.stuck(name):
            if report_late(e, now):
                text = stuck_text(e, e["elapsed"])
                lines.append(f"{name}: {text}, at its last report; none since (is it gone?)")
                continue
            elapsed = max(now - (e.get("started_at") or now), e.get("elapsed") or 0.0)
            lines.append(f"{name}: {stuck_text(e, elapsed)}")
    return lines


def stuck_text(event, elapsed):
    """'stuck in Proj.Step.stop for 12 s (proj/steps.py:42)' from a `kit-stuck` event."""
    where = ""
    if event.get("file"):
        # the file's folder and name: enough to find it in a project, short enough for a card
        short = "/".join(event["file"].replace(os.sep, "/").split("/")[-2:])
        where = f" ({short}:{event.get('line')})"
    return f"stuck in {event.get('label')}.{event.get('method')} for {elapsed:.0f} s{where}"


def boot_line(cluster, took=None):
    """A LocalCluster's start-up line: each worker booting or up.

    With `took` (seconds), what happened, in the past tense.
    """
    workers = cluster.workers
    when = time.strftime("%H:%M:%S")
    if took is None:
        # the workers are started once the event feed runs: their states are there to read
        ready = cluster.worker_states.ready if workers else None
        states = [(n, "up" if ready(n) else "booting") for n in workers]
        return render(
            "boot_line.html.j2", final=False, broker=cluster.broker_url, workers=states
        )
    return render(
        "boot_line.html.j2",
        final=True,
        started=cluster.state == "running",
        count=plural(len(workers), "worker"),
        names=", ".join(workers),
        took=took,
        when=when,
    )


def room(view):
    """A Room: its state and the workers seen in it."""
    workers = view.workers
    return render(
        "room.html.j2",
        name=view.name,
        state=str(view.state),
        count=plural(len(workers), "worker"),
        url=mask_url(view.broker_url),
        workers=workers,
        feed=repr(view.events),
    )


def worker_names(states, limit=NAMES):
    """'w1@h, w2@h (lost)' for a few workers; '…' and the rest counted for many."""
    shown = list(states.items())
    more = max(0, len(shown) - limit)
    return Markup(render("worker_names.html.j2", shown=shown[:limit], more=more))


def say(text, ok=True):
    """A status line: `text` (HTML) in green, or red when not `ok`."""
    colour = PALETTE["ok-text" if ok else "error-text"]
    return render("message.html.j2", exc=None, text=Markup(text), colour=colour)


def failure(exc, where="", mark="✖", with_traceback=False):
    """An exception: its type and first line, the rest (and the traceback) folded away."""
    first, _, rest = str(exc).partition("\n")
    tb = ""
    if with_traceback:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return render(
        "message.html.j2",
        exc=exc,
        colour=PALETTE["error-text"],
        mark=mark,
        where=where,
        kind=type(exc).__name__,
        first=first,
        rest=rest if rest.strip() else "",
        tb=tb,
    )
