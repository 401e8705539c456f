"""The cluster supervises its own redis-server: killed, it comes back; workers and the feed reconnect."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from celery import Celery

import kit
from kit.processes.broker import EmbeddedRedis
from kit.processes.broker_watch import BrokerWatch, exit_reason
from kit.steps import SafeConsumer

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def kill_redis(c):
    """SIGKILL the cluster's redis-server (as the OOM killer would); returns when it is gone."""
    proc = c.redis.proc
    os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while c.redis.running and c.redis.proc is proc and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_broker_is_restarted_and_tasks_run_after(redis_server):
    states = []
    with kit.LocalCluster(Celery("flaky"), workers=2, progress=False) as c:
        port, password, pid = c.redis.port, c.redis.password, c.redis.proc.pid
        c.broker.watch.on_state = lambda s, seen=c.broker.watch.on_state: (
            states.append(s),
            seen(s),
        )
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0
        up = time.time()
        kill_redis(c)
        wait_until(lambda: c.broker_history)
        assert (c.redis.port, c.redis.password) == (port, password) and c.redis.proc.pid != pid
        assert states[:2] == ["broker restarting", "running"] and c.state == "running"
        (line,) = c.broker_history
        assert (
            "redis-server killed by SIGKILL; restarted on port" in line
            and "lost: queued messages" in line
        )
        assert "1 broker restart(s), last:" in repr(c) and "killed by SIGKILL" in c._repr_html_()
        for name in c.workers:  # each worker is back on the broker: it heartbeats again
            c.events.wait_for("worker-heartbeat", timeout=60, since=up, hostname=name)
        c.events.wait_for("kit-feed", timeout=30, since=up, connected=True)
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=60) == 0
        assert len(c.workers) == 2


def test_a_result_published_while_celery_resubscribes_is_not_missed(redis_server, monkeypatch):
    """Celery 5.7's ResultConsumer, on a pub/sub socket whose Redis died, reads stored results
    (MGET) then subscribes: a result published in between was lost. Here that window is 2 s wide.

    Without the kit's fix this fails on 5.7.0; 5.5.3 (redis-py 5.2) does not take this path.
    """
    with kit.LocalCluster(Celery("window"), workers=1, progress=False) as c:
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0
        up = time.time()
        kill_redis(c)
        wait_until(lambda: c.broker_history)
        (name,) = c.workers
        c.events.wait_for("worker-heartbeat", timeout=60, since=up, hostname=name)
        client = c.app.backend.client
        real_mget = client.mget

        def slow_mget(*args, **kwargs):
            metas = real_mget(*args, **kwargs)
            time.sleep(2)
            return metas

        monkeypatch.setattr(client, "mget", slow_mget)
        # the task ends 0.5 s after it starts: inside the widened window
        assert c.app.send_task("kit.sleep", (0.5,)).get(timeout=30) == 0.5


def test_a_task_sent_when_the_broker_is_running_again_waits_for_a_worker(redis_server):
    """A restarted Redis has no bindings until a consumer declares its queue again; a message to
    an exchange without one is dropped. The cluster declares the app's queues before 'running'."""
    app = Celery("bindings")
    app.steps["consumer"].add(SafeConsumer)
    with kit.LocalCluster(app, workers=1, progress=False) as c:
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=30) == 0
        (name,) = c.workers
        # no worker declares the queue again: only the cluster can
        c.kill_worker(name)
        kill_redis(c)
        wait_until(lambda: c.state == "running" and c.broker_history)
        assert "queues not declared again" not in c.broker_history[-1]
        # the custom consumer's queue is bound again too: a publish that does not declare it goes
        c.publish({"n": 1}, declare=False)
        # through the exchange (Celery's default route uses kombu's anonymous one, never dropped)
        result = c.app.send_task("kit.sleep", (0,), exchange="celery", routing_key="celery")
        c.add_worker()
        assert result.get(timeout=60) == 0


def test_a_broker_whose_port_is_taken_says_so_then_recovers_when_it_is_free(redis_server):
    with kit.LocalCluster(Celery("taken"), workers=1, progress=False) as c:
        port, watch = c.redis.port, c.broker.watch
        squatter = socket.socket()
        with watch.lock:  # the watch waits while its port is taken by someone else
            kill_redis(c)
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        try:
            wait_until(lambda: c.state.startswith("broker lost"))
            assert f"port {port} taken" in c.state
            with pytest.raises(kit.ClusterError, match=f"stop what listens on 127.0.0.1:{port}"):
                c.add_worker()
            assert f"<LocalCluster broker lost (port {port} taken" in repr(c)
        finally:
            squatter.close()
        wait_until(lambda: c.state == "running")
        assert "killed by SIGKILL" in c.broker_history[-1]
        assert c.app.send_task("kit.sleep", (0,)).get(timeout=60) == 0


def test_a_restarted_redis_runs_after_stop_until_its_owner_closes_it(redis_server, tmp_path):
    """The watch starts Redis again from its thread, and a child made with PR_SET_PDEATHSIG dies
    when the thread that started it ends. A cluster stops its watch first when it closes, then
    its workers and its results on that Redis: it must still be there.
    """
    server = EmbeddedRedis(str(tmp_path)).start()
    before = set(threading.enumerate())
    watch = BrokerWatch(server, lambda state: None).start()
    (thread,) = set(threading.enumerate()) - before
    try:
        first = server.proc
        os.kill(first.pid, signal.SIGKILL)
        wait_until(lambda: watch.history)
        watch.stop()
        with pytest.raises(subprocess.TimeoutExpired):
            server.proc.wait(timeout=1)
        assert server.proc is not first and server.ping()
    finally:
        server.close()
    wait_until(lambda: not thread.is_alive())


def test_exit_reason_names_the_signal():
    assert exit_reason(-9) == "killed by SIGKILL"
    assert exit_reason(1) == "exited with status 1"
