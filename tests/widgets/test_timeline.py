"""kit.Timeline: lanes per worker with timer fires, task bars, boot calls, markers; bounded and coalesced."""

import json
import statistics
import threading
import time

import pytest

from kit.events.feed import EventFeed
from kit.view import ClusterView
from kit.widgets.timeline import Timeline

HEART, GOSSIP = (
    "celery.worker.heartbeat.Heart._send",
    "celery.worker.consumer.gossip.Gossip.periodic",
)
TICK = "kit_test_steps.Ticker.tick"


def eventually(check, timeout=30.0, every=0.1):
    """Call check() until it returns something truthy (returned) or the timeout passes (AssertionError)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (AssertionError, KeyError, IndexError) as exc:
            result, last = None, exc
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s: {check.__doc__ or check} ({last!r})")


class Offline(ClusterView):
    """A stand-in cluster whose feed never connects: events are pushed through add()."""

    state = "offline"
    #: a test closes it by setting this
    closed = False

    def __init__(self, workers):
        self.events, self.listed = EventFeed("redis://127.0.0.1:1/0"), workers

    @property
    def workers(self):
        return list(self.listed)

    def describe(self):
        return "offline"

    def close(self):
        self.closed = True


def offline(workers=()):
    """A stand-in cluster whose feed never connects: events are pushed through add()."""
    return Offline(list(workers))


def by_series(chunks):
    """{series: [its chunks]} from {chunk id: columns}."""
    out = {}
    for chunk in chunks.values():
        out.setdefault(chunk["s"], []).append(chunk)
    return out


def column(chunks, key):
    return [v for chunk in chunks for v in chunk[key]]


def gossip_check(callbacks):
    """The gossip check among timer callbacks: Celery's Gossip.periodic (the kit never replaces it)."""
    return GOSSIP in callbacks


def fire(host="w1@h", callback=HEART, t=None, **fields):
    return {
        "type": "kit-timer",
        "hostname": host,
        "timestamp": t or time.time(),
        "kind": "fire",
        "callback": callback,
        "duration": 0.0001,
        **fields,
    }


# -- without a broker -------------------------------------------------------------------------------
def test_events_land_in_lanes_by_kind():
    cluster = offline(["w1@h", "w2@h"])
    tl, now = Timeline(cluster), time.time()
    feed = cluster.events
    feed.add(
        {
            "type": "kit-timer",
            "hostname": "w1@h",
            "timestamp": now,
            "kind": "call_repeatedly",
            "callback": TICK,
            "interval": 0.7,
            "priority": 3,
        }
    )
    feed.add(fire(callback=TICK, t=now + 0.7))
    feed.add(
        {
            "type": "task-received",
            "hostname": "w2@h",
            "timestamp": now,
            "uuid": "u1",
            "name": "kit.sleep",
        }
    )
    feed.add({"type": "task-started", "hostname": "w2@h", "timestamp": now, "uuid": "u1"})
    feed.add(
        {
            "type": "task-failed",
            "hostname": "w2@h",
            "timestamp": now + 1,
            "uuid": "u1",
            "exception": "x",
        }
    )
    feed.add(
        {
            "type": "kit-gossip",
            "hostname": "w1@h",
            "timestamp": now,
            "event": "node_lost",
            "peer": "w3@h",
            "size": 1,
        }
    )
    feed.add(
        {
            "type": "kit-deadlock",
            "hostname": "w2@h",
            "timestamp": now,
            "task_id": "u1",
            "runtime": 2.0,
        }
    )
    feed.add(
        {
            "type": "kit-lifecycle",
            "hostname": "w1@h",
            "timestamp": now,
            "pid": 7,
            "blueprint": "worker",
            "step": "kit.steps.LifecycleStep",
            "label": "LifecycleStep",
            "method": "start",
            "started_at": now - 0.5,
            "duration": 0.01,
            "error": "RuntimeError: boom",
        }
    )
    feed.add({"type": "worker-heartbeat", "hostname": "w1@h", "timestamp": now})  # not drawn
    lanes = tl.lanes()
    assert list(lanes) == ["w1@h", "w2@h"]
    w1, w2 = lanes["w1@h"], lanes["w2@h"]
    assert [(f["callback"], f["every"]) for f in w1["fires"]] == [(TICK, "call_repeatedly(0.7)")]
    assert [(m["kind"], m.get("peer")) for m in w1["marks"]] == [
        ("timer-set", None),
        ("node_lost", "w3@h"),
    ]
    assert w1["boot"] == [
        {
            "time": now - 0.5,
            "row": 0,
            "blueprint": "worker",
            "step": "kit.steps.LifecycleStep",
            "label": "LifecycleStep",
            "method": "start",
            "duration": 0.01,
            "error": "RuntimeError: boom",
        }
    ]
    (task,) = w2["tasks"]
    assert (task["name"], task["state"], task["end"] - task["start"]) == ("kit.sleep", "failed", 1)
    assert [m["kind"] for m in w2["marks"]] == ["deadlock"] and w2["marks"][0]["task_id"] == "u1"
    view = tl.view_data()
    assert view["lanes"] == ["w1@h", "w2@h"]
    drawn = by_series(view["chunks"])
    assert set(drawn) == {
        f"fire:{TICK}",
        "tasks",
        "boot",
        "mark:node_lost",
        "mark:deadlock",
        "mark:timer-set",
    }
    assert column(drawn["tasks"], "id") == ["u1"] and column(drawn["tasks"], "c") == ["#d62728"]
    assert column(drawn["tasks"], "len") == [1] and drawn["tasks"][0]["hosts"] == ["w2@h"]
    assert "boom" in column(drawn["boot"], "tip")[0] and "<" not in column(drawn["boot"], "tip")[0]
    assert view["series"][f"fire:{TICK}"]["tip"] == f"{TICK} · call_repeatedly(0.7)"
    assert (
        view["series"][f"fire:{TICK}"]["kind"] == "tick"
        and view["series"]["mark:node_lost"]["symbol"] == "x"
    )
    tl.close()


def test_celerys_periodic_timers_are_hidden_until_asked_for():
    cluster = offline(["w1@h"])
    tl = Timeline(cluster)
    for callback in (HEART, GOSSIP, TICK):
        cluster.events.add(fire(callback=callback))
    view = tl.view_data()
    assert {c["s"] for c in view["chunks"].values()} == {f"fire:{TICK}"}
    assert set(view["series"]) & {f"fire:{HEART}", f"fire:{GOSSIP}"} == set()
    assert (
        tl.hidden_callbacks() == sorted([HEART, GOSSIP]) and len(tl.lanes()["w1@h"]["fires"]) == 3
    )
    tl.widget.periodic = True  # the view's toggle
    drawn = {c["s"] for c in tl.view_data()["chunks"].values()}
    assert (
        drawn == {f"fire:{TICK}", f"fire:{HEART}", f"fire:{GOSSIP}"} and tl.hidden_callbacks() == []
    )
    assert tl.view_data()["series"][f"fire:{HEART}"]["periodic"] is True
    tl.close()


def test_marker_tooltips_say_what_happened_without_raw_fields():
    cluster = offline(["w1@h"])
    tl = Timeline(cluster)
    cluster.events.add(
        {
            "type": "worker-online",
            "hostname": "w1@h",
            "timestamp": time.time(),
            "loadavg": [0.1],
            "sw_ident": "x",
        }
    )
    cluster.events.add(
        {
            "type": "kit-gossip",
            "hostname": "w1@h",
            "timestamp": time.time(),
            "event": "node_lost",
            "peer": "w2@h",
        }
    )
    tips = [m.text for m in tl._marks] if tl._drain() is None else []
    assert (
        "the worker connected" in tips[0] and "loadavg" not in tips[0] and "sw_ident" not in tips[0]
    )
    assert "lost a peer" in tips[1] and "peer: w2@h" in tips[1]
    tl.close()


def test_a_closed_cluster_freezes_the_timeline():
    cluster = offline(["w1@h"])
    cluster.closed = False
    tl = Timeline(cluster)
    widget = tl.widget
    assert widget.since > 0 and not widget.frozen
    cluster.closed = True
    cluster.events.add(
        {"type": "kit-feed", "hostname": "", "timestamp": time.time(), "connected": False}
    )
    eventually(lambda: widget.frozen > 0)
    cluster.events.add(fire(callback=TICK))
    time.sleep(0.3)
    assert not tl._inbox and f"fire:{TICK}" not in {c["s"] for c in widget.chunks.values()}


def test_window_drops_old_events_and_empty_lanes():
    cluster = offline()
    tl = Timeline(cluster, window=5)
    cluster.events.add(fire(host="old@h", t=time.time() - 10))
    cluster.events.add(fire(host="new@h"))
    tl._flush()
    assert list(tl.lanes()) == ["new@h"] and len(tl.lanes()["new@h"]["fires"]) == 1
    tl.close()
    cluster.events.add(fire(host="new@h"))
    assert len(tl._inbox) == 0, "a closed timeline no longer listens"


def test_offline_flood_is_bounded_and_coalesced():
    cluster = offline()
    tl = Timeline(cluster, max_points=1000)
    _ = tl.widget
    before, t0 = tl.updates, time.monotonic()
    for i in range(50_000):
        cluster.events.add(fire(host=f"w{i % 4}@h", callback=f"cb{i % 5}"))
    elapsed = time.monotonic() - t0
    eventually(lambda: not tl._inbox, timeout=10)
    time.sleep(0.3)
    assert sum(len(lane["fires"]) for lane in tl.lanes().values()) <= 1000
    assert sum(len(c["t"]) for c in tl.widget.chunks.values() if c["s"].startswith("fire:")) <= 1000
    assert tl.updates - before <= 10 * (time.monotonic() - t0) + 2, (tl.updates - before, elapsed)
    tl.close()


class Taking(Timeline):
    """A Timeline that notes the `n` of every event it takes in."""

    def __init__(self, *args, **kwargs):
        self.taken = []
        super().__init__(*args, **kwargs)

    def _ingest(self, e):
        self.taken.append(e.get("n"))
        super()._ingest(e)


def test_a_timeline_opened_while_events_flow_takes_each_one_once():
    """It subscribes before it reads the history: nothing lost in between, nothing taken twice."""
    cluster, stop, sent = offline(["w1@h"]), threading.Event(), [0]

    def flow():  # the feed's thread, dispatching batches as EventFeed does
        while not stop.is_set():
            n = sent[0]
            cluster.events.add_many(
                [fire(callback=f"cb{i % 5}", n=i) for i in range(n, n + 8)]
            )
            sent[0] = n + 8
            time.sleep(0.001)

    thread = threading.Thread(target=flow)
    thread.start()
    timelines = []
    try:
        while len(timelines) < 20:
            timelines.append(Taking(cluster, max_points=100_000))
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join()
    for tl in timelines:
        tl._drain()
        tl.close()
        taken = tl.taken
        assert len(taken) == len(set(taken)), "an event taken twice"
        assert taken == list(range(taken[0], sent[0])), "an event lost"
    assert sent[0] > 20 * 8


def test_only_events_that_change_the_picture_hurry_the_update():
    cluster = offline(["w1@h"])
    tl = Timeline(cluster)
    task = {"hostname": "w1@h", "timestamp": time.time(), "uuid": "u1"}
    assert not tl._drawn(fire(callback=HEART)), "Celery's heartbeat fire is hidden: it may wait"
    assert tl._drawn(fire(callback=HEART, error="boom")), "a failing one is marked"
    assert tl._drawn(fire(callback=TICK)) and tl._drawn({"type": "kit-gossip", **task})
    assert not tl._drawn({"type": "task-received", **task}), "received: no bar yet"
    assert tl._drawn({"type": "task-started", **task})
    tl.widget.periodic = True
    assert tl._drawn(fire(callback=HEART))
    tl.close()


def called(throttle, calls, timeout=10.0):
    """True once `throttle` made `calls` calls (False after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while throttle.calls < calls and time.monotonic() < deadline:
        time.sleep(0.01)
    return throttle.calls >= calls


def test_throttle_serves_a_quiet_spell_at_once_and_a_flood_at_its_rate():
    from kit.widgets.panel import Throttle

    # an hour between calls under load, none between light ones: which rule applied is certain
    throttle = Throttle(lambda: None, rate=1 / 3600, quick=0.0)
    try:
        throttle.poke()
        assert called(throttle, 1), "the first poke after a quiet spell is served at once"
        throttle.poke()
        assert called(throttle, 2), "a light load: the next call follows soon"
        with throttle._cond:  # a flood: more pokes than `light` arrive for one call
            for _ in range(throttle.light + 1):
                throttle.poke()
        assert called(throttle, 3)
        throttle.poke()
        assert not called(throttle, 4, timeout=0.3), "after a heavy call: the slow rhythm"
    finally:
        throttle.close()


def test_throttle_lets_a_poke_with_nothing_to_show_wait():
    from kit.widgets.panel import Throttle

    throttle = Throttle(lambda: None, rate=1000, quick=0.0, lazy=3600)
    try:
        throttle.poke()
        assert called(throttle, 1)
        throttle.poke(urgent=False)
        assert not called(throttle, 2, timeout=0.3), "not urgent: waits up to `lazy`"
        throttle.poke()
        assert called(throttle, 2), "an urgent poke takes the waiting one along"
    finally:
        throttle.close()


def test_big_chunks_go_in_pieces_and_an_update_sends_the_piece_that_changed():
    """A busy 5-second chunk is cut into half-second pieces: every item kept, in order, with its
    own worker; a new task re-sends one small piece, not the chunk."""
    from kit.widgets import timeline_widget

    cluster = offline(["w1@h", "w2@h"])
    tl = Timeline(cluster)
    widget, sent = tl.widget, []
    widget.send = sent.append
    start = (time.time() // 5) * 5 - 5  # the whole previous chunk
    for i in range(100):
        t, host = start + 0.002 + i * 0.0485, f"w{1 + i % 2}@h"
        for kind in ("received", "started", "succeeded"):
            event = {"type": f"task-{kind}", "hostname": host, "timestamp": t, "uuid": f"u{i}"}
            cluster.events.add({**event, "name": "kit.sleep"})
    tl._flush()
    whole = tl.view_data()["chunks"]
    [(key, chunk)] = [(k, c) for k, c in whole.items() if c["s"] == "tasks"]
    parts = {k: c for k, c in widget.chunks.items() if c["s"] == "tasks"}
    assert len(parts) == 10 and all(k.startswith(f"{key}~") for k in parts)
    assert column(parts.values(), "id") == chunk["id"] == [f"u{i}" for i in range(100)]
    hosts = [c["hosts"][h] for c in parts.values() for h in c["h"]]
    assert hosts == [chunk["hosts"][h] for h in chunk["h"]]
    assert timeline_widget.pieces({"k": {**chunk, "t": chunk["t"][:3]}}) == {
        "k": {**chunk, "t": chunk["t"][:3]}
    }, "a small chunk goes whole"
    t = start + 0.003 + 99 * 0.0485
    cluster.events.add(
        {"type": "task-started", "hostname": "w1@h", "timestamp": t, "uuid": "x"}
    )
    tl._flush()
    update = sent[-1]
    assert list(update["set"]) == [f"{key}~9"] and not update["drop"]
    assert len(json.dumps(update)) < len(json.dumps(chunk)) / 5
    tl.close()


# -- a real cluster ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(redis_server):
    import kit_test_steps as s
    from celery import Celery

    import kit

    app = Celery("kit-timeline")
    app.steps["worker"].update({s.Ticker, s.FastDeadlock})
    cluster = kit.LocalCluster(app, workers=2, progress=False)
    yield cluster
    cluster.close()


@pytest.fixture
def timeline(cluster):
    tl = Timeline(cluster, window=600, periodic=True)  # the whole picture, Celery's own ticks too
    yield tl
    tl.close()


@pytest.mark.redis
def test_lanes_show_boot_waterfall_and_timer_rhythms(cluster, timeline):
    def every_rhythm():
        lanes = timeline.lanes()
        for worker in cluster.workers:
            callbacks = [f["callback"] for f in lanes[worker]["fires"]]
            if not (HEART in callbacks and gossip_check(callbacks) and callbacks.count(TICK) >= 6):
                return None
        return lanes

    lanes = eventually(every_rhythm)
    for worker in cluster.workers:
        ticks = [f for f in lanes[worker]["fires"] if f["callback"] == TICK]
        assert ticks[-1]["every"] == "call_repeatedly(0.7)"
        gaps = [b["time"] - a["time"] for a, b in zip(ticks, ticks[1:], strict=False)]
        assert 0.5 < statistics.median(gaps) < 1.0, gaps
        boot = lanes[worker]["boot"]
        assert {
            ("Ticker", "start"),
            ("Timer", "create"),
            ("Consumer", "__init__"),
            ("Connection", "start"),
        } <= {(b["label"], b["method"]) for b in boot}
        assert len({b["row"] for b in boot}) > 10, "each step of a boot gets its own waterfall row"
    drawn = set(by_series(timeline.view_data()["chunks"]))
    assert {f"fire:{HEART}", f"fire:{TICK}", "boot"} <= drawn and gossip_check(s[5:] for s in drawn)


@pytest.mark.redis
def test_task_runs_are_bars_in_their_workers_lane(cluster, timeline):
    ok, bad = cluster.app.send_task("kit.sleep", (0.5,)), cluster.app.send_task("kit.fail")
    ok.get(timeout=30)
    with pytest.raises(RuntimeError):
        bad.get(timeout=30, propagate=True)

    def finished():
        tasks = {t["uuid"]: t for lane in timeline.lanes().values() for t in lane["tasks"]}
        return tasks if {ok.id, bad.id} <= {u for u, t in tasks.items() if t["end"]} else None

    tasks = eventually(finished)
    assert (
        tasks[ok.id]["state"] == "succeeded"
        and 0.45 < tasks[ok.id]["end"] - tasks[ok.id]["start"] < 2
    )
    assert tasks[bad.id]["state"] == "failed" and tasks[ok.id]["name"] == "kit.sleep"
    assert tasks[ok.id]["host"] in cluster.workers
    assert {ok.id, bad.id} <= set(column(by_series(timeline.view_data()["chunks"])["tasks"], "id"))


@pytest.mark.redis
def test_deadlock_and_gossip_markers(cluster, timeline):
    long = cluster.app.send_task("kit.sleep", (2.5,))
    name = cluster.add_worker()
    cluster.events.wait_for("kit-gossip", timeout=30, event="node_join", peer=name)
    cluster.kill_worker(name)

    def marked():
        marks = [(w, m) for w, lane in timeline.lanes().items() for m in lane["marks"]]
        kinds = {(m["kind"], m.get("peer") or m.get("task_id")) for _, m in marks}
        return (
            marks
            if {("deadlock", long.id), ("node_join", name), ("node_lost", name)} <= kinds
            else None
        )

    marks = eventually(marked)
    lost_by = {w for w, m in marks if m["kind"] == "node_lost" and m.get("peer") == name}
    assert lost_by and lost_by <= set(cluster.workers), (
        "the survivors report the lost peer in their own lanes"
    )
    long.get(timeout=30)


@pytest.mark.redis
def test_widget_model_follows_the_cluster(cluster, timeline):
    widget = timeline.widget
    eventually(lambda: any(c["s"] == f"fire:{HEART}" for c in widget.chunks.values()))
    count = eventually(lambda: timeline.updates >= 3 and timeline.updates)
    assert (
        set(widget.lanes) >= set(cluster.workers)
        and widget.series[f"fire:{HEART}"]["group"] == "timer · heartbeat"
    )
    bundle = timeline._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in (
        bundle[0] if isinstance(bundle, tuple) else bundle
    )
    assert widget.snapshot.keys() == widget.chunks.keys() or timeline.updates > count, (
        "a new view starts from it"
    )
    uuid = cluster.app.send_task("kit.sleep", (0.1,)).id
    eventually(lambda: uuid in column(by_series(widget.chunks).get("tasks", []), "id"))
    assert timeline.updates > count


def test_a_view_that_says_hello_gets_everything_then_only_changes():
    cluster = offline(["w1@h"])
    tl = Timeline(cluster)
    widget, sent = tl.widget, []
    widget.send = sent.append
    cluster.events.add(fire(callback=TICK, t=time.time() - 20))
    tl._flush()
    widget._on_view_msg(widget, {"type": "hello"}, [])
    assert (
        sent[-1]["type"] == "snapshot"
        and sent[-1]["chunks"] == widget.chunks
        and len(widget.chunks) == 1
    )
    old = next(iter(widget.chunks))
    cluster.events.add(fire(callback=TICK))
    tl._flush()
    update = sent[-1]
    assert (
        update["type"] == "update"
        and old not in update["set"]
        and len(update["set"]) == 1
        and not update["drop"]
    )
    tl._flush()
    assert sent[-1] is update, "nothing changed: nothing sent"
    tl.close()


@pytest.mark.redis
def test_widget_traffic_stays_far_below_jupyters_iopub_limit(cluster, timeline):
    """Jupyter's server drops every iopub message beyond 1 MB/s (iopub_data_rate_limit), freezing all widgets.
    Only the chunks that changed are sent, so steady traffic is kilobytes a second."""
    widget = timeline.widget
    widget.periodic = True  # the worst case: Celery's heartbeat and gossip ticks drawn too
    eventually(lambda: timeline.updates >= 5)
    sent, t0 = widget.sent_bytes, time.monotonic()
    while time.monotonic() - t0 < 8:
        cluster.app.send_task("kit.sleep", (0,))
        time.sleep(0.05)
    rate = (widget.sent_bytes - sent) / (time.monotonic() - t0)
    assert 0 < rate < 300_000, (
        f"{rate / 1e3:.0f} KB/s sent to the browser (Jupyter drops all above 1 MB/s)"
    )
    assert sum(len(c["t"]) for c in widget.chunks.values()) > 300, (
        "while the window is full of items"
    )


@pytest.mark.redis
def test_flood_through_the_feed_stays_bounded_and_coalesced(cluster):
    tl = Timeline(cluster, window=60, max_points=2000)
    _ = tl.widget
    eventually(lambda: tl.updates >= 1)
    before, t0 = tl.updates, time.monotonic()
    now = time.time()
    for i in range(50_000):
        cluster.events.add(
            fire(host=f"flood{i % 3}@test", callback=f"flood.cb{i % 6}", t=now)
        )

    def flood_ingested():
        """The flood's events all left the inbox (the cluster's own events keep arriving)."""
        return not any(e.get("hostname", "").startswith("flood") for e in list(tl._inbox))

    # Not `not tl._inbox`: the workers' heartbeats and timer ticks arrive all the time, and a poll
    # every 0.1 s can stay in step with the 10 Hz drain, never seeing the inbox empty.
    eventually(flood_ingested, timeout=60)
    assert not tl._throttle.errors, tl._throttle.errors[:3]
    time.sleep(0.5)
    elapsed = time.monotonic() - t0
    lanes = tl.lanes()
    assert sum(len(lane["fires"]) for lane in lanes.values()) <= 2000
    shown = tl.widget.chunks.values()
    assert sum(len(c["t"]) for c in shown if c["s"].startswith("fire:")) <= 2000
    assert sum(len(c["t"]) for c in shown) <= 4 * 2000, (
        "fires, markers, boot calls and tasks: each kept to max_points"
    )
    assert tl.updates - before <= 10 * elapsed + 2, (tl.updates - before, elapsed)
    since = time.time()
    assert (
        cluster.events.wait_for("worker-heartbeat", timeout=30, since=since)["hostname"]
        in cluster.workers
    )
    tl.close()


def test_a_big_clusters_boot_stays_within_the_traffic_budget():
    """90 workers each seeing 89 others join: thousands of markers in seconds, sent within budget."""
    from kit.widgets import timeline_widget

    cluster = offline([f"w{i}@h" for i in range(1, 91)])
    tl = Timeline(cluster)
    widget, sent = tl.widget, []
    widget.send = lambda msg: sent.append((time.monotonic(), len(json.dumps(msg))))
    t0 = time.monotonic()
    for i in range(1, 91):
        for j in range(1, 91):
            if i != j:
                cluster.events.add(
                    {
                        "type": "kit-gossip",
                        "hostname": f"w{i}@h",
                        "timestamp": time.time(),
                        "event": "node_join",
                        "peer": f"w{j}@h",
                        "size": j,
                    }
                )
    kept = min(90 * 89, tl.max_points)  # markers are bounded too
    eventually(lambda: sum(len(c["t"]) for c in widget.chunks.values()) == kept, timeout=60)
    limit = timeline_widget.BUDGET * timeline_widget.WINDOW
    for t, _ in sent:
        burst = sum(n for u, n in sent if t - timeline_widget.WINDOW < u <= t)
        biggest = max(n for _, n in sent)
        assert burst <= limit + biggest, f"{burst} bytes in {timeline_widget.WINDOW} s"
    assert time.monotonic() - t0 < 60
    tl.close()
