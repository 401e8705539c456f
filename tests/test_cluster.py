"""LocalCluster against a real redis-server and real `celery worker` processes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import kit_test_steps as s
import pytest
from celery import Celery, bootsteps

import kit
from kit.blueprints.lint import StepWarning
from kit.processes.procs import alive

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def wait_dead(pids, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def cluster_pids(cluster):
    return [w.proc.pid for w in cluster._workers.values()] + (
        [cluster.redis.proc.pid] if cluster.redis else []
    )


def test_shared_cluster_runs_tasks_and_names_workers(shared_cluster):
    c = shared_cluster
    assert len(c.workers) == 2 and all(n.startswith(("w1@", "w2@")) for n in c.workers)
    assert c.app.send_task("kit.sleep", (0.1,)).get(timeout=30) == 0.1
    assert c.broker_url.startswith("redis://:") and "@127.0.0.1:" in c.broker_url
    assert "running" in repr(c) and c.redis.password not in repr(c) + c._repr_html_()


def test_user_option_reaches_step_init(shared_cluster):
    name = shared_cluster.add_worker()  # booted now, with the cluster's worker options
    try:
        event = shared_cluster.events.wait_for("kit-recorder", timeout=30, hostname=name)
        assert event["greeting"] == "hello"
    finally:
        shared_cluster.stop_worker(name)


def test_add_stop_kill_worker(shared_cluster):
    c = shared_cluster
    name = c.add_worker()
    assert name in c.workers and len(c.workers) == 3
    c.events.wait_for("kit-gossip", timeout=30, event="node_join", peer=name)
    t0 = time.time()
    c.stop_worker(name)
    assert name not in c.workers
    c.events.wait_for("kit-gossip", timeout=30, since=t0, event="node_leave", peer=name)
    name = c.add_worker()
    t0 = time.time()
    c.kill_worker(name)
    assert name not in c.workers
    c.events.wait_for("kit-gossip", timeout=30, since=t0, event="node_lost", peer=name)
    with pytest.raises(ValueError, match="no worker 'nobody'"):
        c.kill_worker("nobody")


def test_notebook_step_shipped_by_value_runs_in_worker(redis_server, tmp_path):
    marker = tmp_path / "started.txt"
    namespace = {"__name__": "__main__", "bootsteps": bootsteps, "MARKER": str(marker)}
    exec(
        textwrap.dedent("""
        class NotebookStep(bootsteps.StartStopStep):
            requires = {'celery.worker.components:Pool'}
            def start(self, worker):
                with open(MARKER, 'a') as f:
                    f.write(worker.hostname + '\\n')
    """),
        namespace,
    )
    step = namespace["NotebookStep"]
    assert step.__module__ == "__main__"
    app = Celery("nb")
    app.steps["worker"].add(step)
    with kit.LocalCluster(app, workers=1, progress=False) as c:
        assert marker.read_text().split() == c.workers


def test_restart_removes_step_and_applies_options(redis_server):
    app = Celery("restart")
    app.steps["worker"].add(s.Recorder)
    with kit.LocalCluster(app, workers=1, progress=False) as c:
        name = c.workers[0]
        booted = [st["label"] for st in c.inspect_blueprint(name)["worker"]]
        assert "Recorder" in booted
        app.steps["worker"].discard(s.Recorder)
        t0 = time.time()
        c.restart(worker_options={"kit_greeting": "again"})
        assert c.workers == [name]
        booted = [st["label"] for st in c.inspect_blueprint(name)["worker"]]
        assert "Recorder" not in booted and "Timer" in booted
        app.steps["worker"].add(s.Recorder)
        c.restart()
        c.events.wait_for("kit-recorder", timeout=30, since=t0, greeting="again")


def test_restart_with_celerys_own_options_changes_the_pool(redis_server):
    with kit.LocalCluster(Celery("pool"), workers=1, concurrency=3, progress=False) as c:
        name = c.workers[0]

        def pool():
            deadline = time.monotonic() + 60
            replies = None
            while (
                not replies and time.monotonic() < deadline
            ):  # a busy machine may miss a reply window
                replies = c._client.control.inspect(destination=[name], timeout=5).stats()
            stats = replies[name]
            return stats["pool"]["implementation"], stats["pool"]["max-concurrency"]

        assert pool() == ("celery.concurrency.thread:TaskPool", 3)
        c.restart(worker_options={"pool": "solo", "loglevel": "debug"})
        assert pool() == ("celery.concurrency.solo:TaskPool", 1)
        assert "DEBUG" in c.logs(name)
        with pytest.raises(ValueError, match="pool='fast': choose one of"):
            c.restart(worker_options={"pool": "fast"})
        assert c.worker_options == {"pool": "solo", "loglevel": "debug"} and c.workers == [name]


def test_failed_restart_rolls_back_and_cluster_stays_usable(redis_server):
    app = Celery("rollback")
    with kit.LocalCluster(app, workers=1, progress=False) as c:
        app.steps["worker"].add(s.RaisesInStart)
        with pytest.raises(kit.WorkerBootError, match="RaisesInStart start") as info:
            c.restart()
        assert "boom in start" in str(info.value)
        assert len(c.workers) == 1
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0


def test_step_raising_in_init_gives_clear_error_and_no_orphans(redis_server):
    app = Celery("bad")
    app.steps["worker"].add(s.RaisesInInit)
    before = set(_children())
    with pytest.raises(kit.WorkerBootError) as info:
        kit.LocalCluster(app, workers=1, progress=False)
    message = str(info.value)
    assert "RaisesInInit __init__" in message and "boom in __init__" in message
    assert wait_dead(list(set(_children()) - before)) == []


def test_step_blocking_in_start_is_named_after_deadline(redis_server, monkeypatch):
    # the stuck-step watchdog off: the deadline path (tests/worker/test_stuck.py has the watchdog's)
    monkeypatch.setenv("KIT_STUCK_AFTER", "0")
    app = Celery("blocks")
    app.steps["worker"].add(s.BlocksInStart)
    with (
        pytest.warns(StepWarning, match="BlocksInStart.start: may block"),
        pytest.raises(kit.WorkerBootError, match="was not ready within.*BlocksInStart start"),
    ):
        kit.LocalCluster(app, workers=1, progress=False, timeout=8)


def test_cycle_and_unknown_option_fail_before_anything_starts():
    app = Celery("cycle")
    app.steps["worker"].add(s.CycleA)
    with pytest.raises(kit.StepCycleError, match="Cycle"):
        kit.LocalCluster(app, workers=1, progress=False)
    with pytest.raises(ValueError, match="unknown worker option 'nope'"):
        kit.LocalCluster(Celery("x"), workers=1, progress=False, worker_options={"nope": 1})


def test_close_is_idempotent_kills_everything_and_refuses_reuse(redis_server):
    c = kit.LocalCluster(Celery("close"), workers=2, progress=False)
    pids = cluster_pids(c)
    run_dir = c.run_dir
    assert oct(os.stat(run_dir).st_mode & 0o777) == "0o700"
    c.close()
    c.close()
    assert wait_dead(pids) == []
    assert not os.path.exists(run_dir)
    with pytest.raises(kit.ClusterError, match="closed"):
        c.add_worker()


def test_no_orphans_when_the_kernel_is_sigkilled(redis_server, tmp_path):
    script = tmp_path / "kernel.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time, kit
        from celery import Celery
        c = kit.LocalCluster(Celery('orphan'), workers=2, progress=False)
        pids = [w.proc.pid for w in c._workers.values()] + [c.redis.proc.pid]
        print(' '.join(map(str, pids)), flush=True)
        time.sleep(600)
    """)
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 3 and all(alive(p) for p in pids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert wait_dead(pids, timeout=15) == []


def test_two_clusters_have_own_ports_and_no_cross_talk(redis_server):
    with (
        kit.LocalCluster(Celery("a"), workers=1, progress=False) as a,
        kit.LocalCluster(Celery("b"), workers=1, progress=False) as b,
    ):
        assert a.redis.port != b.redis.port
        a_pid = a._workers[a.workers[0]].proc.pid
        a.events.wait_for("kit-lifecycle", timeout=30, pid=a_pid)
        b.events.wait_for("kit-lifecycle", timeout=30)
        assert a.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0
        assert not any(e.get("pid") == a_pid for e in b.events.history)


def test_election_has_exactly_one_winner(shared_cluster):
    c = shared_cluster
    election = c.elect()
    won = c.events.wait_for("kit-gossip", timeout=30, event="won")
    time.sleep(1.0)
    winners = [
        e
        for e in c.events.history
        if e["type"] == "kit-gossip"
        and e.get("event") == "won"
        and e["timestamp"] >= won["timestamp"] - 5
    ]
    elected = c.events.wait_for("kit-gossip", timeout=30, event="elected", election=election)
    assert len(winners) == 1 and winners[0]["winner"] == elected["leader"]
    assert len(c.workers) == 2  # Celery's own code would have crashed the initiating worker


def test_custom_consumer_rejects_bad_messages_and_stays_up(shared_cluster):
    c = shared_cluster
    t0 = time.time()
    c.publish({"hello": 1})
    c.publish(b"{not json", content_type="application/json")
    c.publish(b"\x80\x04K\x01.", content_type="application/x-python-serialize")
    c.publish("plain words", content_type="text/plain")
    c.publish({"after": "bad ones"})
    c.events.wait_for(
        "kit-consumer", timeout=30, since=t0, outcome="accepted", body='{"after": "bad ones"}'
    )

    def seen():  # two workers share the queue: another's rejection may arrive after this one's last accept
        return [e for e in c.events.history if e["type"] == "kit-consumer" and e["timestamp"] >= t0]

    deadline = time.monotonic() + 30
    while [e["outcome"] for e in seen()].count("rejected") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = seen()
    reasons = " ".join(e.get("reason") or "" for e in seen if e["outcome"] == "rejected")
    assert [e["outcome"] for e in seen].count("rejected") == 3
    assert "DecodeError" in reasons and "pickle" in reasons and "text/plain" in reasons
    assert len(c.workers) == 2


def test_logs_show_the_worker_output(shared_cluster):
    name = shared_cluster.workers[0]
    assert f"{name} ready" in shared_cluster.logs(name)


def _children():
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(os.getpid())], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def test_spawned_workers_without_the_fork_server(redis_server):
    with kit.LocalCluster(Celery("spawned"), workers=1, fork=False, progress=False) as c:
        proc = c._workers[c.workers[0]].proc
        assert "celery" in open(f"/proc/{proc.pid}/cmdline").read()
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0
