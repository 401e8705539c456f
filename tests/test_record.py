"""Recording a run, replaying it with no broker or worker, exporting it as a Chrome trace."""

import json
import subprocess
import sys
import time

import pytest
from celery import Celery

import kit
from kit.record import fileformat

TRACE_SCHEMA = {  # Chrome's trace-event format (the JSON object form), for the events we write
    "type": "object",
    "required": ["traceEvents"],
    "properties": {
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "traceEvents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ph", "name", "pid", "tid"],
                "properties": {
                    "ph": {"enum": ["X", "i", "M"]},
                    "name": {"type": "string"},
                    "pid": {"type": "integer"},
                    "tid": {"type": "integer"},
                    "ts": {"type": "number", "minimum": 0},
                    "dur": {"type": "number", "minimum": 0},
                    "s": {"enum": ["g", "p", "t"]},
                    "args": {"type": "object"},
                },
                "allOf": [
                    {
                        "if": {"properties": {"ph": {"const": "X"}}},
                        "then": {"required": ["ts", "dur"]},
                    },
                    {
                        "if": {"properties": {"ph": {"const": "i"}}},
                        "then": {"required": ["ts", "s"]},
                    },
                    {"if": {"properties": {"ph": {"const": "M"}}}, "then": {"required": ["args"]}},
                ],
            },
        },
    },
}


def fires(lanes, until):
    return {(h, round(f["time"], 3), f["callback"]) for h, lane in lanes.items()
            for f in lane["fires"] if f["time"] <= until}  # fmt: skip


@pytest.fixture(scope="module")
def recorded(redis_server, tmp_path_factory):
    """A 2-worker run with a ticking step, recorded; the live timeline's lanes near its end."""
    import kit_test_steps as s

    path = tmp_path_factory.mktemp("rec") / "run.jsonl"
    app = Celery("recorded")
    app.steps["worker"].add(s.Ticker)
    with kit.LocalCluster(app, workers=2, progress=False, record=path) as cluster:
        live = kit.Timeline(cluster)
        cluster.app.send_task("kit.sleep", (0.05,)).get(timeout=30)
        cluster.events.wait_for("kit-timer", timeout=30, kind="fire")
        time.sleep(2)
        at = time.time() - 0.5
        lanes, workers = live.lanes(), cluster.workers
        live.close()
        assert not cluster.recording.closed and cluster.recording.records > 20
    assert cluster.recording.closed  # stopped by itself when the cluster closed
    return {"path": path, "at": at, "lanes": lanes, "workers": workers}


def test_a_replay_in_a_fresh_process_shows_what_the_live_timeline_showed(recorded):
    """No broker, no worker: the replaying process starts no process and opens no connection."""
    code = f"""
import json, time, psutil, kit
rp = kit.replay({str(recorded["path"])!r})
tl = kit.Timeline(rp)
rp.seek({recorded["at"]} - rp.started_at)
time.sleep(0.3)
lanes, workers = tl.lanes(), rp.workers
graph = kit.blueprint_graph(rp, worker=workers[0]).source
me = psutil.Process()
print(json.dumps({{"lanes": lanes, "workers": workers, "graph": graph, "repr": repr(rp),
    "children": len(me.children(recursive=True)), "connections": len(me.net_connections())}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["children"] == 0 and got["connections"] == 0
    assert got["workers"] == recorded["workers"]
    until = recorded["at"] - 0.5
    assert fires(got["lanes"], until) == fires(recorded["lanes"], until) != set()
    live_boot = {h: len(lane["boot"]) for h, lane in recorded["lanes"].items()}
    assert {h: len(lane["boot"]) for h, lane in got["lanes"].items()} == live_boot
    assert "Ticker" in got["graph"] and "live: worker" in got["graph"]
    assert "replay of run.jsonl" in got["repr"] and "2 workers" in got["repr"]


def test_play_pause_and_seeking_back_start_the_views_again(recorded):
    rp = kit.replay(recorded["path"])
    tl = kit.Timeline(rp)
    assert rp.paused and rp.position == 0 and not rp.events.history
    rp.play(float("inf"))
    assert rp.wait(10) and rp.finished and rp.paused
    assert rp.position == pytest.approx(rp.duration)
    end = sum(len(lane["fires"]) for lane in tl.lanes().values())
    rp.seek(recorded["at"] - rp.started_at - 1.0)
    time.sleep(0.3)
    before = sum(len(lane["fires"]) for lane in tl.lanes().values())
    assert 0 < before < end
    assert rp.events.counts["kit-replay"] == 1
    with pytest.raises(kit.ClusterError, match="replay"):
        rp.kill_worker(rp.all_workers[0])
    with pytest.raises(ValueError, match="speed"):
        rp.play(0)
    rp.close()
    tl.close()


def test_a_truncated_recording_replays_up_to_its_last_whole_line(recorded, tmp_path):
    data = recorded["path"].read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: len(data) * 2 // 3 - 7])  # mid-line
    whole = data[: len(data) * 2 // 3 - 7].count(b"\n") - 1
    rp = kit.replay(cut)
    assert rp.dropped == 1 and len(rp._records) == whole
    assert "1 lines dropped" in repr(rp)


def test_other_files_get_an_error_naming_the_line_and_the_fix(tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(kit.RecordingError, match=r"line 1: not a Bootsteps Kit recording.*Fix"):
        kit.replay(other)
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps(fileformat.header(version=fileformat.VERSION + 1)) + "\n")
    with pytest.raises(kit.RecordingError, match=r"version 2.*upgrade"):
        kit.replay(newer)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(kit.RecordingError, match="line 1"):
        kit.replay(empty)


def test_a_full_disk_stops_the_recording_with_a_warning_and_the_cluster_runs_on(shared_cluster):
    with pytest.warns(kit.RecordingWarning, match="stopped after 0 records.*keeps running"):
        rec = shared_cluster.record("/dev/full")  # Linux's always-full device: ENOSPC
    assert rec.closed and rec.error is not None
    assert shared_cluster.ping(timeout=5.0) == sorted(shared_cluster.workers)


def test_the_trace_export_is_chrome_trace_event_json(recorded, tmp_path):
    import jsonschema

    out = tmp_path / "run.trace.json"
    count = kit.export_trace(recorded["path"], out)
    trace = json.loads(out.read_text())
    jsonschema.validate(trace, TRACE_SCHEMA)
    events = trace["traceEvents"]
    assert count == len(events)
    names = {e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert names == set(recorded["workers"])
    slices = [e for e in events if e["ph"] == "X" and e["cat"] == "boot"]
    assert any(e["name"] == "Ticker.start" for e in slices)
    assert any(e["ph"] == "i" and e["cat"] == "timer" for e in events)
    assert any(e["ph"] == "X" and e["cat"] == "task" for e in events)


def test_the_replay_bar_plays_follows_and_seeks(recorded):
    from kit.widgets.replay_bar import ReplayBar

    rp = kit.replay(recorded["path"])
    bar = ReplayBar(rp, every=0.05)
    assert "replay of run.jsonl" in bar.title.value and bar.slider.max == pytest.approx(
        rp.duration, abs=0.1
    )
    bar.speed.value = "as fast as possible"
    bar.play_button.value = True
    assert rp.wait(10)
    deadline = time.monotonic() + 5
    while bar.play_button.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not bar.play_button.value and bar.slider.value == pytest.approx(rp.duration, abs=0.1)
    bar.slider.value = 1.0  # by hand: a seek
    assert rp.paused and rp.position == pytest.approx(1.0)
    assert "text/plain" in rp._repr_mimebundle_()
    bar.close()
    rp.close()
