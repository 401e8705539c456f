"""Recording a run, replaying it with no broker or worker, exporting it as a Chrome trace."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import psutil
import pytest
from celery import Celery

import kit
from kit.record import fileformat

HERE = Path(__file__).resolve().parent

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


def fires(lanes, until, since=0.0):
    return {(h, round(f["time"], 3), f["callback"]) for h, lane in lanes.items()
            for f in lane["fires"] if since <= f["time"] <= until}  # fmt: skip


def gossip_seen(dash, until):
    """The gossip chart's data (each worker's size line, where lines end) and the gossip log."""
    g = dash.gossip
    sizes = {h: [[round(t, 6), n] for t, n in pts if t <= until] for h, pts in g.sizes.items()}
    ends = {h: [round(t, 6), how] for h, (t, how) in g.ends.items() if t <= until}
    log = [[round(x.time, 6), x.host, x.what] for x in g.log if x.time <= until]
    return {"sizes": {h: p for h, p in sizes.items() if p}, "ends": ends, "log": log}


@pytest.fixture(scope="module")
def recorded(redis_server, tmp_path_factory):
    """A 3-worker run with a ticking step, a task and a kill (node_lost), recorded; what the live
    views (the timeline, the dashboard's gossip chart, the graphs) showed near its end."""
    import kit_test_steps as s

    path = tmp_path_factory.mktemp("rec") / "run.jsonl.gz"
    app = Celery("recorded")
    app.steps["worker"].add(s.Ticker)
    with kit.LocalCluster(app, workers=3, progress=False, record=path) as cluster:
        live, dash = kit.Timeline(cluster), kit.Dashboard(cluster)
        since = time.time()  # timer fires are compared from here on
        task = cluster.app.send_task("kit.sleep", (0.05,))
        task.get(timeout=30)
        cluster.events.wait_for("task-succeeded", timeout=30, uuid=task.id)  # before a kill
        cluster.events.wait_for("kit-timer", timeout=30, kind="fire")
        victim = cluster.workers[-1]
        cluster.kill_worker(victim)
        cluster.events.wait_for("kit-gossip", timeout=30, event="node_lost", peer=victim)
        time.sleep(2)
        at = time.time() - 0.5
        for name in cluster.workers:  # a worker's events arrive in order: all before `at` are in
            cluster.events.wait_for("worker-heartbeat", timeout=30, since=at + 0.5, hostname=name)
        lanes, workers = live.lanes(), cluster.workers
        gossip = gossip_seen(dash, at - 0.5)
        graphs = {n: kit.blueprint_graph(cluster, worker=n).source for n in workers}
        pids = [p.proc.pid for p in cluster._workers.values()] + [cluster.redis.proc.pid]
        live.close()
        dash.close()
        assert not cluster.recording.closed and cluster.recording.records > 20
    assert cluster.recording.closed  # stopped by itself when the cluster closed
    return {"path": path, "at": at, "since": since, "lanes": lanes, "workers": workers, "gossip": gossip,
            "graphs": graphs, "pids": pids, "victim": victim}  # fmt: skip


REPLAY_IN_A_FRESH_PROCESS = """
import json, sys, time, psutil, kit
from test_record import gossip_seen
path, at = sys.argv[1], float(sys.argv[2])
rp = kit.replay(path)
tl, dash = kit.Timeline(rp), kit.Dashboard(rp)
rp.seek(at - rp.started_at)
time.sleep(0.5)
workers = rp.workers
graphs = {n: kit.blueprint_graph(rp, worker=n).source for n in workers}
buttons = [(b.description, b.disabled, b.tooltip) for b in dash.buttons]
me = psutil.Process()
print(json.dumps({"lanes": tl.lanes(), "workers": workers, "graphs": graphs, "repr": repr(rp),
    "gossip": gossip_seen(dash, at - 1.0), "buttons": buttons, "header": dash.header.value,
    "card": rp._repr_mimebundle_()["text/html"], "tabs": list(dash.tabs.titles),
    "children": len(me.children(recursive=True)), "connections": len(me.net_connections())}))
"""


def test_a_replay_in_a_fresh_process_shows_what_the_live_views_showed(recorded):
    """No broker, no worker: every process of the recorded run is gone, and the replaying
    process starts no process and opens no connection; its timeline, gossip chart and graphs
    are the live ones, and its dashboard's actions are all off."""
    assert not [p for p in recorded["pids"] if psutil.pid_exists(p)], "the recorded run is gone"
    argv = [sys.executable, "-c", REPLAY_IN_A_FRESH_PROCESS, str(recorded["path"]),
            repr(recorded["at"])]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": f"{HERE}:{HERE.parent}"}
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["children"] == 0 and got["connections"] == 0
    assert got["workers"] == recorded["workers"]
    until, since = recorded["at"] - 0.5, recorded["since"]
    assert fires(got["lanes"], until, since) == fires(recorded["lanes"], until, since) != set()
    live_boot = {h: len(lane["boot"]) for h, lane in recorded["lanes"].items()}
    assert {h: len(lane["boot"]) for h, lane in got["lanes"].items()} == live_boot
    assert got["graphs"] == recorded["graphs"] and "Ticker" in got["graphs"][got["workers"][0]]
    assert got["gossip"] == recorded["gossip"]
    assert got["gossip"]["ends"][recorded["victim"]][1] == "lost"
    assert any(line[2] == "node_lost" for line in got["gossip"]["log"])
    assert got["buttons"] and all(off and "a replay of" in tip for _, off, tip in got["buttons"])
    assert got["tabs"][-1] == "Timeline" and "replay of run.jsonl" in got["header"]
    for text in (got["repr"], got["card"]):
        assert "replay of run.jsonl.gz, recorded 20" in text and "3 workers" in text


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
    data = gzip.decompress(recorded["path"].read_bytes())  # the recording is gzip: .jsonl.gz
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: len(data) * 2 // 3 - 7])  # mid-line
    whole = data[: len(data) * 2 // 3 - 7].count(b"\n") - 1
    rp = kit.replay(cut)
    assert rp.dropped == 1 and len(rp._records) == whole
    assert "1 lines dropped" in repr(rp)


def test_a_cut_gzip_recording_replays_up_to_its_last_whole_line(recorded, tmp_path):
    """A kernel killed mid-run leaves the gzip stream without its end: every write before the cut
    is kept (each write ends in a sync point)."""
    data = recorded["path"].read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    kept = zlib.decompressobj(31).decompress(cut.read_bytes())
    assert kept and len(kept) < len(gzip.decompress(data))
    rp = kit.replay(cut)
    whole = kept.count(b"\n") - 1
    assert len(rp._records) == whole and rp.dropped == (not kept.endswith(b"\n"))
    rp.seek(rp.duration)
    assert rp.events.history and rp.workers


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
    assert names == {*recorded["workers"], recorded["victim"]}
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


@pytest.mark.redis
@pytest.mark.slow
def test_a_room_that_starts_recording_after_its_workers_are_online_records_their_blueprints(
    shared_redis, tmp_path
):
    from test_room import join_worker, short, wait_until

    procs = [join_worker(shared_redis.url, n, "rec", str(tmp_path)) for n in ("alice", "bob")]
    try:
        with kit.Room(shared_redis.url, "rec") as room:
            wait_until(lambda: short(room.ping()) == ["alice", "bob"], 60, "no ping answer")
            path = tmp_path / "room.jsonl"
            with room.record(path) as rec:
                wait_until(lambda: rec.records and _blueprints(path) >= 2, 30, "no blueprints")
        with kit.Room(shared_redis.url, "rec", record=tmp_path / "also.jsonl") as room:
            wait_until(lambda: _blueprints(tmp_path / "also.jsonl") >= 2, 30, "no blueprints")
        rp = kit.replay(path)
        rp.seek(rp.duration)
        assert short(rp.all_workers) == ["alice", "bob"] and short(rp.workers) == ["alice", "bob"]
        for name in rp.workers:
            assert "LifecycleStep" in kit.blueprint_graph(rp, worker=name).source
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _blueprints(path):
    return sum('"kind":"blueprint"' in line for line in path.read_text().splitlines())


def test_the_dashboard_and_the_card_follow_a_replay_back_and_forth(recorded):
    from test_timeline import eventually

    from kit.widgets.card import ClusterCard

    rp = kit.replay(recorded["path"])
    dash, card = kit.Dashboard(rp), ClusterCard(rp)
    assert dash.bar is not None and card.bar is not None and not dash.gossip.log
    assert all(b.disabled and "a replay of" in b.tooltip for b in dash.buttons)
    rp.seek(recorded["at"] - rp.started_at)  # after the kill, before the cluster closed
    eventually(lambda: "3 workers" in dash.header.value and "2 workers up" in dash.header.value)
    eventually(lambda: "live: worker" in dash.graph.svg.value)  # it picked a worker to draw
    assert any(line.what == "node_lost" for line in dash.gossip.log)
    eventually(lambda: "1 lost" in card.html.value and "replay of run.jsonl.gz" in card.html.value)
    rp.seek(0.0)  # back to the start: every view starts again
    assert not dash.gossip.log and not dash.gossip.sizes and not card.roster.known
    eventually(lambda: "0 workers up" in dash.header.value)
    dash.gossip.kill_button.click()  # off: nothing happens, nothing is raised
    assert not dash.errors
    dash.close()
    rp.close()
