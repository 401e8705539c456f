"""A step call reported stuck: an open bar on the timeline, a line on the card, kept by a recording."""

import inspect
import os
import signal
import threading
import time

import pytest
from test_timeline import by_series, eventually, offline

from kit import status_html
from kit.widgets.timeline import Timeline
from kit.worker_states import WorkerStates

STEP = "kit_test_steps.SlowStop"


def stuck(t0, elapsed, host="w1@h", method="stop", pid=11):
    """A kit-stuck report of SlowStop.<method>, started at t0, sent `elapsed` s later."""
    return {
        "type": "kit-stuck",
        "hostname": host,
        "pid": pid,
        "timestamp": t0 + elapsed,
        "blueprint": "worker",
        "step": STEP,
        "label": "SlowStop",
        "method": method,
        "started_at": t0,
        "elapsed": elapsed,
        "file": "/srv/proj/proj/steps.py",
        "line": 42,
        "stack": ["/srv/proj/proj/steps.py:42 in stop"],
    }


def returned(t0, took, host="w1@h", method="stop", pid=11):
    """The kit-lifecycle event of the same call, once it returned after `took` s."""
    return {
        "type": "kit-lifecycle",
        "hostname": host,
        "pid": pid,
        "timestamp": t0 + took,
        "blueprint": "worker",
        "step": STEP,
        "label": "SlowStop",
        "method": method,
        "started_at": t0,
        "duration": took,
        "error": None,
    }


def stop_calls(lanes, host):
    return [b for b in lanes[host]["boot"] if b["step"] == STEP and b["method"] == "stop"]


# -- without a broker -------------------------------------------------------------------------------
def test_a_stuck_report_opens_a_bar_that_its_return_closes():
    cluster = offline(["w1@h"])
    tl, t0 = Timeline(cluster), time.time() - 3
    cluster.events.add(stuck(t0, 1.0))
    cluster.events.add(stuck(t0, 2.0))
    (bar,) = stop_calls(tl.lanes(), "w1@h")
    assert bar["duration"] is None and bar["time"] == t0
    assert bar["stuck"] == {"elapsed": 2.0, "file": "/srv/proj/proj/steps.py", "line": 42}
    marks = [m for m in tl.lanes()["w1@h"]["marks"] if m["kind"] == "stuck"]
    assert [m["time"] for m in marks] == [t0 + 1.0, t0 + 2.0], "a marker at each report"
    series = by_series(tl.view_data()["chunks"])
    (chunk,) = series["stuck"]
    assert chunk["len"] == [None], "no end: the view draws it up to its now"
    assert "stuck: still running 2.0 s" in chunk["tip"][0] and "steps.py:42" in chunk["tip"][0]

    cluster.events.add(returned(t0, 3.0))
    (bar,) = stop_calls(tl.lanes(), "w1@h")
    assert bar["duration"] == 3.0 and "stuck" not in bar
    assert "stuck" not in by_series(tl.view_data()["chunks"]), "closed by its kit-lifecycle"
    tl.close()


def test_a_worker_that_ends_while_stuck_ends_its_bar_with_an_error():
    cluster = offline(["w1@h"])
    tl, t0 = Timeline(cluster), time.time() - 5
    cluster.events.add(stuck(t0, 1.0))
    cluster.events.add({"type": "worker-offline", "hostname": "w1@h", "timestamp": t0 + 4})
    (bar,) = stop_calls(tl.lanes(), "w1@h")
    assert bar["duration"] == pytest.approx(4.0)
    assert bar["error"] == "the worker ended while this call was stuck"
    assert "stuck" not in by_series(tl.view_data()["chunks"])
    tl.close()


def test_a_gone_worker_that_reports_no_more_ends_its_bar_and_the_card_says_so():
    # w1@h is not among the cluster's workers, and its report after 1 s was not followed by the
    # one due at 2 s: it was killed while stuck
    cluster = offline([])
    tl, t0 = Timeline(cluster), time.time() - 30
    cluster.events.add(stuck(t0, 1.0))
    assert status_html.stuck_lines(cluster) == [
        "w1@h: stuck in SlowStop.stop for 1 s (proj/steps.py:42), at its last report; "
        "none since (is it gone?)"
    ]
    (bar,) = stop_calls(tl.lanes(), "w1@h")
    assert bar["duration"] == pytest.approx(1.0)
    assert bar["error"] == "the worker ended while this call was stuck"
    tl.close()


def test_a_live_stuck_call_counts_its_time_on_the_views_clock():
    cluster = offline(["w1@h"])
    cluster.events.add(stuck(time.time() - 3.2, 2.0))
    (line,) = status_html.stuck_lines(cluster)
    assert line == "w1@h: stuck in SlowStop.stop for 3 s (proj/steps.py:42)"


def test_worker_states_keep_open_reports_until_the_call_returns_or_the_worker_ends():
    states, t0 = WorkerStates(), time.time()
    states.on_event({"type": "worker-online", "hostname": "w1@h", "timestamp": t0})
    assert states.on_event(stuck(t0, 1.0)) and states.on_event(stuck(t0, 2.0))
    assert [e["elapsed"] for e in states.stuck("w1@h")] == [2.0], "the last report of the call"
    # another call of the same step returning does not close it; the same call does
    assert not states.on_event(returned(t0, 0.1, method="start"))
    assert states.on_event(returned(t0, 3.0)) and states.stuck("w1@h") == []
    states.on_event(stuck(t0, 1.0))
    states.on_event({"type": "worker-offline", "hostname": "w1@h", "timestamp": t0 + 2})
    assert states.stuck("w1@h") == []
    states.on_event(stuck(t0, 1.0, host="w2@h"))
    gossip = {"type": "kit-gossip", "event": "node_lost", "peer": "w2@h", "hostname": "w3@h"}
    states.on_event({**gossip, "timestamp": t0 + 9})
    assert states.stuck("w2@h") == [], "lost: nothing runs there any more"


def test_the_card_line_names_step_method_time_and_place():
    e = stuck(100.0, 5.0)
    text = status_html.stuck_text(e, 12.4)
    assert text == "stuck in SlowStop.stop for 12 s (proj/steps.py:42)"
    assert status_html.stuck_text({**e, "file": None}, 6) == "stuck in SlowStop.stop for 6 s"


# -- real workers -----------------------------------------------------------------------------------
def line_of(text, path):
    with open(path) as f:
        return next(n for n, line in enumerate(f, 1) if text in line)


def reports(view, host):
    """The kit-stuck events of `host` the view holds."""
    return [e for e in view.events.history if e["type"] == "kit-stuck" and e["hostname"] == host]


def stops_seen(view, host):
    """SlowStop.stop's bars of `host` on a fresh timeline of `view`."""
    tl = Timeline(view, window=3600)
    try:
        return stop_calls(tl.lanes(), host)
    finally:
        tl.close()


def stuck_bars(view, host):
    """The open stop bars of `host` on a fresh timeline of `view` (None: none yet)."""
    return [b for b in stops_seen(view, host) if b["duration"] is None] or None


@pytest.mark.redis
@pytest.mark.slow
def test_a_real_stuck_stop_shows_on_timeline_and_card_and_in_its_recording(
    redis_server, monkeypatch, tmp_path
):
    import kit_test_steps as s
    from celery import Celery

    import kit
    from kit.report_html.timeline import timeline_state
    from kit.widgets.card import card_of

    release = tmp_path / "release"
    monkeypatch.setenv("KIT_STUCK_AFTER", "1")
    monkeypatch.setenv("KIT_TEST_RELEASE", str(release))
    app = Celery("kit-stuck-views")
    app.steps["worker"].add(s.SlowStop)
    where = f"(tests/kit_test_steps.py:{line_of('SlowStop waits here', s.__file__)})"
    path = tmp_path / "run.jsonl"
    with kit.LocalCluster(app, workers=1, progress=False) as cluster, cluster.record(path):
        (victim,) = cluster.workers
        tl, card = Timeline(cluster, window=600), card_of(cluster)
        stopper = threading.Thread(target=cluster.stop_worker, args=(victim,), daemon=True)
        stopper.start()
        try:
            report = cluster.events.wait_for("kit-stuck", timeout=60, hostname=victim)
            # the step waits for the release file: it is still stuck while we look
            (bar,) = eventually(lambda: stuck_bars(cluster, victim))
            assert bar["stuck"]["file"] == s.__file__ and report["label"] == "SlowStop"
            line = eventually(lambda: f"{victim}: stuck in SlowStop.stop for" in card.html.value)
            assert line and where in card.html.value, card.html.value
            # a second report (at twice the threshold): the recording then holds a stuck spell
            eventually(lambda: len(reports(cluster, victim)) >= 2)
        finally:
            release.touch()
        stopper.join(60)
        assert not stopper.is_alive(), "the worker stopped once the step returned"
        (done,) = stop_calls(tl.lanes(), victim)
        assert done["duration"] >= 1.0 and done["error"] is None, "closed by its kit-lifecycle"
        eventually(lambda: "stuck in" not in card.html.value)
        lanes = tl.lanes()
        tl.close()

    # a warm shutdown: each step's stop, in the reverse of the start order
    calls = sorted(
        (b for b in lanes[victim]["boot"] if b["blueprint"] == "worker"), key=lambda b: b["time"]
    )
    started = [b["step"] for b in calls if b["method"] == "start"]
    stopped = [b["step"] for b in calls if b["method"] == "stop"]
    assert STEP in stopped and len(stopped) >= 3, stopped
    assert stopped == [n for n in reversed(started) if n in stopped], (started, stopped)

    # the recording keeps it: a replay at the report's time shows the open bar and the card line
    rp = kit.replay(path)
    try:
        rp.seek(report["timestamp"] + 0.05 - rp.started_at)
        (bar,) = eventually(lambda: stuck_bars(rp, victim))
        assert bar["stuck"]["line"] == report["line"]
        html = rp._repr_mimebundle_()["text/html"]
        assert f"{victim}: stuck in SlowStop.stop for" in html and where in html, html
        # the static report's timeline (the same view code, frozen at the view's clock) has it
        state = timeline_state(rp)
        (chunk,) = by_series(state["chunks"])["stuck"]
        assert chunk["len"] == [None] and state["frozen"] == pytest.approx(rp.now())
        rp.seek(rp.duration)
        (closed,) = eventually(lambda: stops_seen(rp, victim))
        assert closed["duration"] >= 1.0 and "stuck" not in closed
    finally:
        rp.close()


def shutdown_check_in(celery_blueprint):
    """Does this Celery check the shutdown flag before each step's start (celery PR #10341)?"""
    return "shutdown_check" in inspect.signature(celery_blueprint.__init__).parameters


@pytest.mark.redis
@pytest.mark.slow
def test_a_sigterm_while_steps_start_is_shown_as_what_celery_does_with_it(
    redis_server, monkeypatch, tmp_path
):
    """Celery's handler only sets `state.should_stop` (and sends worker_shutting_down). On 5.5.3
    to 5.7.0 the worker blueprint goes on starting its steps; the Consumer step's start checks the
    flag (`maybe_shutdown`) before any consumer step starts and raises WorkerShutdown, and the
    worker stops the steps that started, in reverse order: a warm shutdown, never announced online.
    """
    import kit_test_steps as s
    from celery import Celery
    from celery.bootsteps import Blueprint

    import kit

    release = tmp_path / "release"
    monkeypatch.setenv("KIT_STUCK_AFTER", "0")
    monkeypatch.setenv("KIT_TEST_RELEASE", str(release))
    app = Celery("kit-sigterm-at-boot")
    app.steps["worker"].add(s.SlowStart)
    errors = []

    def add(cluster):
        try:
            cluster.add_worker()
        except Exception as exc:
            errors.append(exc)

    with pytest.warns(kit.StepWarning, match=r"SlowStart\.start: may block"):
        cluster = kit.LocalCluster(app, workers=0, progress=False)
    with cluster:
        tl = Timeline(cluster, window=600)
        adding = threading.Thread(target=add, args=(cluster,), daemon=True)
        adding.start()
        try:
            began = cluster.events.wait_for("kit-test-starting", timeout=120)
            host = began["hostname"]
            os.kill(began["pid"], signal.SIGTERM)
            signalled = cluster.events.wait_for("kit-shutdown", timeout=60, hostname=host)
        finally:
            release.touch()
        adding.join(120)
        offline = cluster.events.wait_for("kit-lifecycle", timeout=60, hostname=host,
                                          step=s.SlowStart.name, method="stop")  # fmt: skip
        history = list(cluster.events.history)
        lanes = tl.lanes()
        tl.close()
    assert signalled["how"] == "Warm" and signalled["sig"] == "SIGTERM"
    assert signalled["during"] == "SlowStart.start", "it arrived while SlowStart.start ran"
    mine = [e for e in history if e.get("hostname") == host]
    calls = [e for e in mine if e["type"] == "kit-lifecycle"]
    at = signalled["timestamp"]
    (slow,) = [e for e in calls if e["step"] == s.SlowStart.name and e["method"] == "start"]
    assert slow["started_at"] < at < slow["started_at"] + slow["duration"] and not slow["error"]
    after = [e for e in calls if e["method"] == "start" and e["started_at"] > at]
    consumer_steps = [e for e in after if e["blueprint"] == "consumer"]
    assert not consumer_steps, "no consumer step starts after the signal"
    if shutdown_check_in(Blueprint):
        assert not after, "a Celery with the check starts no step after the signal"
    else:
        # the flag is first read by the Consumer step's start, which raises WorkerShutdown
        assert after and after[-1]["step"] == "celery.worker.components.Consumer", after
        assert after[-1]["error"].startswith("WorkerShutdown"), after[-1]
    stops = [e["step"] for e in sorted(calls, key=lambda e: e["started_at"]) if e["method"] == "stop"]
    started = [e["step"] for e in calls if e["method"] == "start" and e["step"] in stops]
    assert offline and stops == list(reversed(started)), (started, stops)
    assert not [e for e in mine if e["type"] in ("kit-ready", "worker-online")], "never online"
    assert errors and isinstance(errors[0], kit.WorkerBootError), errors
    if not shutdown_check_in(Blueprint):
        assert "Consumer start (raised WorkerShutdown" in str(errors[0]), errors[0]
    # the timeline: the signal's marker inside SlowStart.start's bar
    (mark,) = [m for m in lanes[host]["marks"] if m["kind"] == "shutdown"]
    (bar,) = [b for b in lanes[host]["boot"] if b["step"] == s.SlowStart.name and b["method"] == "start"]
    assert bar["time"] < mark["time"] < bar["time"] + bar["duration"]


# where the canvas has the stuck colour in a run of at least 20 pixels (a bar, not a marker)
FIND_BAR = """([r, g, b]) => {
  const c = document.querySelector('.kit-tl-canvas'), ctx = c.getContext('2d');
  const data = ctx.getImageData(0, 0, c.width, c.height).data, dpr = window.devicePixelRatio || 1;
  for (let y = 0; y < c.height; y++) {
    let run = 0;
    for (let x = 0; x < c.width; x++) {
      const i = 4 * (y * c.width + x);
      run = data[i] === r && data[i + 1] === g && data[i + 2] === b ? run + 1 : 0;
      if (run === 20) {  // the middle of the bar's height, 10 pixels into it
        let h = 0;
        while (y + h < c.height && data[4 * ((y + h) * c.width + x) + 2] === b) h++;
        return [(x - 10) / dpr, (y + h / 2) / dpr];
      }
    }
  }
  return null;
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_a_report_draws_the_open_stuck_bar_in_the_browser(tmp_path):
    from conftest import in_a_thread
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS, chromium
    from test_report import write_recording

    import kit
    from kit.widgets.timeline_view import METHODS

    t = time.time() - 60
    online = {"type": "worker-online", "hostname": "w1@h", "pid": 11, "timestamp": t, "freq": 2.0}
    events = [online, stuck(t + 1, 10.0), stuck(t + 1, 20.0)]
    path = write_recording(tmp_path / "stuck.jsonl", events, t)
    page = kit.report(path, tmp_path / "stuck.html")
    colour = [int(METHODS["stuck"][i : i + 2], 16) for i in (1, 3, 5)]
    def browse():
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            try:
                pg = browser.new_page(viewport={"width": 1200, "height": 900})
                pg.goto(page.as_uri())
                pg.wait_for_function("() => +document.querySelector('.kit-tl').dataset.items > 0")
                at = pg.evaluate(FIND_BAR, colour)
                assert at is not None, "no stuck bar drawn"
                box = pg.locator(".kit-tl-canvas").bounding_box()
                pg.mouse.move(box["x"] + at[0], box["y"] + at[1])
                tip = pg.locator(".kit-tl-tip")
                tip.wait_for(state="visible", timeout=10_000)
                assert "SlowStop.stop · stuck: still running 20.0 s after it started" in tip.inner_text()
            finally:
                browser.close()

    in_a_thread(browse)
