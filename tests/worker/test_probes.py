"""Worker-side probes on real workers: lifecycle, timer calls, deadlock detection, gossip, live blueprint."""

import time

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def fresh_worker(shared_cluster):
    """A worker booted now: its boot events are surely still in the feed's bounded history."""
    name = shared_cluster.add_worker()
    yield name
    shared_cluster.stop_worker(name)


def test_lifecycle_events_for_a_custom_step(shared_cluster, fresh_worker):
    feed = shared_cluster.events
    for method in ("__init__", "include", "create", "start"):
        e = feed.wait_for(
            "kit-lifecycle", timeout=30, label="Ticker", method=method, hostname=fresh_worker
        )
        assert (
            e["blueprint"] == "worker"
            and e["step"] == "kit_test_steps.Ticker"
            and e["error"] is None
        )
        assert e["duration"] >= 0


def test_call_repeatedly_shows_its_interval_and_fires(shared_cluster, fresh_worker):
    feed = shared_cluster.events
    scheduled = feed.wait_for(
        "kit-timer",
        timeout=30,
        kind="call_repeatedly",
        callback="kit_test_steps.Ticker.tick",
        hostname=fresh_worker,
    )
    assert scheduled["interval"] == 0.7 and scheduled["priority"] == 3
    fired = feed.wait_for(
        "kit-timer", timeout=30, kind="fire", callback="kit_test_steps.Ticker.tick"
    )
    assert fired["error"] is None and fired["duration"] < 1
    feed.wait_for(
        "kit-timer", timeout=30, kind="fire", callback="celery.worker.heartbeat.Heart._send"
    )


def test_deadlock_detection_fires_on_the_threads_pool(shared_cluster):
    result = shared_cluster.app.send_task("kit.sleep", (2.5,))
    e = shared_cluster.events.wait_for("kit-deadlock", timeout=30, task_id=result.id)
    assert e["task_name"] == "kit.sleep" and e["runtime"] > 1.0 and e["action"] == "report"
    assert result.get(timeout=30) == 2.5  # 'report' lets the task finish


def test_kill_is_reported_as_node_lost(shared_cluster):
    c = shared_cluster
    name = c.add_worker()
    c.events.wait_for("kit-gossip", timeout=30, event="node_join", peer=name)
    killed = time.time()
    c.kill_worker(name)
    lost = c.events.wait_for("kit-gossip", timeout=30, since=killed, event="node_lost", peer=name)
    assert lost["hostname"] in c.workers and lost["size"] == len(c.workers)
    # 0.5-1.25 s by gossip_timing; generous for a busy machine
    assert lost["timestamp"] - killed < 15


def test_live_blueprint_shows_what_booted(shared_cluster):
    name = shared_cluster.workers[0]
    reply = shared_cluster.inspect_blueprint(name)
    worker = {s["label"]: s for s in reply["worker"]}
    consumer = {s["label"]: s for s in reply["consumer"]}
    assert not worker["Beat"]["enabled"] and not worker["StateDB"]["enabled"]
    assert (
        worker["Ticker"]["enabled"]
        and worker["Ticker"]["started"]
        and "start" in worker["Ticker"]["timings"]
    )
    assert worker["Consumer"]["last"] and consumer["SafeConsumer"]["enabled"]
    order = [s["label"] for s in reply["worker"]]
    assert order.index("Timer") < order.index("Ticker") and order[-1] == "Consumer"


def test_a_notebook_subclass_of_a_kit_step_boots(redis_server):
    from celery import Celery

    import kit

    faster = type(kit.steps.DeadlockDetection)(
        "Faster",
        (kit.steps.DeadlockDetection,),
        {"__module__": "__main__", "timeout": 0.5, "interval": 0.2},
    )
    app = Celery("sub")
    app.steps["worker"].add(faster)
    with kit.LocalCluster(app, workers=1, progress=False) as c:
        result = c.app.send_task("kit.sleep", (1.5,))
        assert c.events.wait_for("kit-deadlock", timeout=30, task_id=result.id)["timeout"] == 0.5


def test_stop_lifecycle_events_arrive_and_prefork_children_emit(redis_server):
    from celery import Celery

    import kit

    app = Celery("prefork")

    @app.task(name="nb.child_emits", shared=False)
    def child_emits():
        import os

        from kit.events.telemetry import emit

        emit("from-child", pid=os.getpid())
        return os.getpid()

    child_emits.__module__ = "__main__"
    with kit.LocalCluster(app, workers=1, pool="prefork", concurrency=1, progress=False) as c:
        name = c.workers[0]
        parent = c._workers[name].proc.pid
        child_pid = c.app.send_task("nb.child_emits").get(timeout=60)
        assert child_pid != parent
        assert c.events.wait_for("kit-from-child", timeout=30)["pid_"] == child_pid
        stopped = time.time()
        c.stop_worker(name)
        for method in ("stop", "shutdown"):
            c.events.wait_for(
                "kit-lifecycle", timeout=30, since=stopped - 1, hostname=name, method=method
            )


def test_a_peer_back_from_a_stall_joins_again_and_is_counted(redis_server):
    """SIGSTOP a worker until its peer reports it lost, then SIGCONT: Celery's gossip forgot it, and
    its next heartbeat makes it join again (a fresh entry in the gossip's state: node_join)."""
    import os
    import signal

    from celery import Celery

    import kit

    with kit.LocalCluster(Celery("stall"), workers=2, progress=False) as c:
        first, second = c.workers
        c.events.wait_for("kit-gossip", timeout=30, hostname=first, size=2)
        pid = c._workers[second].proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            lost = c.events.wait_for(
                "kit-gossip", timeout=30, event="node_lost", hostname=first, peer=second
            )
            assert lost["size"] == 1
        finally:
            os.kill(pid, signal.SIGCONT)
        back = c.events.wait_for(
            "kit-gossip",
            timeout=30,
            since=lost["timestamp"],
            event="node_join",
            hostname=first,
            peer=second,
        )
        assert back["size"] == 2


def test_two_peers_lost_in_one_round_of_celerys_check_settle_to_the_right_size(redis_server):
    """Celery's default check reports every lost peer of a round before it forgets them: the callbacks
    see a size one too high, and the recount after them reports the size that holds."""
    from celery import Celery

    import kit

    with kit.LocalCluster(
        Celery("default"), workers=3, gossip="celery-default", progress=False
    ) as c:
        survivor, *doomed = c.workers
        c.events.wait_for("kit-gossip", timeout=30, hostname=survivor, size=3)
        killed = time.time()
        for name in doomed:
            c.kill_worker(name)
        for name in doomed:
            c.events.wait_for(
                "kit-gossip",
                timeout=60,
                since=killed,
                event="node_lost",
                hostname=survivor,
                peer=name,
            )
        time.sleep(1)
        sizes = [
            e["size"]
            for e in c.events.history
            if e.get("type") == "kit-gossip"
            and e.get("hostname") == survivor
            and e["timestamp"] >= killed
        ]
        assert sizes[-1] == 1, sizes
