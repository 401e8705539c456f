"""The report page: every part in one HTML file, from templates/ and the timeline's own JS."""

import functools
import json
import pathlib
import time
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

import kit
from kit.events.log import clock
from kit.report_html.parts import (
    gossip_chart,
    live_graphs,
    static_graph,
    stuck_reports,
    worker_history,
)
from kit.report_html.source import open_view
from kit.report_html.timeline import timeline_state
from kit.roster import Roster
from kit.status_html import badge, card

HERE = pathlib.Path(__file__).parent
WIDGETS = HERE.parent / "widgets"
#: The line that makes timeline_view.js a module of its own; the report inlines the code without it.
EXPORT = "export default { render };"


def report(source, path):
    """Write one self-contained HTML file of a run to `path`; returns its path.

    `source`: the path of a recording (`.jsonl` / `.jsonl.gz` from `cluster.record(path)`), or a
    cluster view (LocalCluster, Room, `kit.replay(...)`, any kit.view.ClusterView), reported as
    it stands: a path gives the whole recording, a replay as far as it has played
    (`rp.seek(rp.duration)` first for all of it), a live cluster the events its feed still
    holds. The file holds the workers and their states, any stuck-step reports, the timeline
    (drawn by the widget's own code), the static and live blueprint graphs and the gossip chart.
    It opens in a browser from disk, with no Jupyter, no server and no network; the broker's
    password is never in it.
    """
    view, opened = open_view(source)
    try:
        page = render(view)
    finally:
        if opened:
            view.close()
    out = pathlib.Path(path)
    out.write_text(page, encoding="utf-8")
    return out


def render(view):
    """The report of `view` as an HTML page (a string)."""
    graphs, left_out = live_graphs(view)
    static = static_graph(view)
    header = recording_header(view)
    page = _template().render(
        title=f"Bootsteps Kit report: {view.describe()}",
        about=view.describe(),
        made=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        kit_version=kit.__version__,
        celery_version=header.get("celery") or _celery_version(),
        events=len(view.events.history),
        card=Markup(card(view, Roster(view), limit=200)),
        workers=worker_history(view),
        stuck=stuck_reports(view),
        timeline_json=Markup(_json(timeline_state(view))),
        graphs=[g._replace(svg=Markup(g.svg)) for g in ([static] if static else []) + graphs],
        graphs_left_out=left_out,
        gossip=Markup(gossip_chart(view)),
        css=Markup(_read(HERE / "templates" / "report.css")),
        timeline_css=Markup(_read(WIDGETS / "timeline_view.css")),
        timeline_js=Markup(_timeline_js()),
        boot_js=Markup(_read(HERE / "templates" / "boot.js")),
    )
    return _without_password(page, view.broker_url)


def recording_header(view):
    """The recording's header for a replay (when, which Celery), else {}."""
    from kit.record.replay import Replay

    return view.header if isinstance(view, Replay) else {}


def _celery_version():
    import celery

    return celery.__version__


@functools.cache
def _template():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(badge=badge, clock=clock)
    return env.get_template("report.html.j2")


def _read(path):
    return path.read_text(encoding="utf-8")


def _timeline_js():
    """timeline_view.js without its export line: its `render` is called by boot.js."""
    code = _read(WIDGETS / "timeline_view.js")
    if EXPORT not in code:
        raise RuntimeError(
            f"{WIDGETS / 'timeline_view.js'} no longer ends with {EXPORT!r}: the report inlines "
            "that module and calls its render(). Fix: update kit/report_html/page.py to match"
        )
    code = code.replace(EXPORT, "")
    if "</script" in code.lower():
        raise RuntimeError("timeline_view.js holds '</script': it cannot be inlined in a page")
    return code


def _json(data):
    """JSON that is safe inside a <script> element (no '<' that could close it)."""
    return json.dumps(data, separators=(",", ":"), default=str).replace("<", "\\u003c")


def _without_password(page, url):
    """The page with the broker's password masked wherever it appears (a field of any event)."""
    password = urlsplit(url or "").password
    if password and len(password) >= 4:
        page = page.replace(password, "***")
    return page
