"""A step call reported stuck: an open bar on the timeline, a line on the card, kept by a recording."""

import time

import pytest
from test_timeline import by_series, offline

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
