"""A room: join workers started with `python -m kit worker --room`, watched by a kit.Room that owns none."""

import os
import signal
import subprocess
import sys
import time

import pytest
from celery import Celery

import kit


def join_worker(url, name, room, log_dir):
    """A real `python -m kit worker` join process in its own process group."""
    log = open(os.path.join(log_dir, f"{name}.log"), "wb")
    argv = [
        sys.executable,
        "-m",
        "kit",
        "worker",
        "--broker",
        url,
        "--name",
        name,
        "--steps",
        "lifecycle",
    ]
    proc = subprocess.Popen(
        argv + (["--room", room] if room else []),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    return proc


@pytest.fixture
def joined(shared_redis, tmp_path):
    """alice and bob in room 'pycon', carol in room 'other': {name: process}."""
    procs = {
        name: join_worker(shared_redis.url, name, room, str(tmp_path))
        for name, room in (("alice", "pycon"), ("bob", "pycon"), ("carol", "other"))
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def short(names):
    return sorted(n.split("@")[0] for n in names)


@pytest.mark.redis
@pytest.mark.slow
def test_room_view_sees_joins_graphs_and_a_kill(shared_redis, joined):
    with kit.Room(shared_redis.url, "pycon") as room:
        wait_until(
            lambda: short(room.workers) == ["alice", "bob"], 60, "alice and bob not in the room"
        )
        alice, bob = room.workers

        # a worker lists itself by heartbeat a moment before it listens to broadcasts (Redis keeps no
        # pub/sub message for a subscriber not there yet): ask until both answer; carol never does
        def both_answer():
            answered = short(room.ping())
            assert "carol" not in answered, answered
            return answered == ["alice", "bob"]

        wait_until(both_answer, 60, "alice and bob do not answer a ping")
        env = dict(
            os.environ, KIT_BROKER_URL=shared_redis.url, KIT_ROOM="pycon"
        )  # as compose's flower
        env.pop("KIT_NAMESPACE", None)
        ping = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kit.worker.app",
            "inspect",
            "ping",
            "-t",
            "3",
        ]
        out = subprocess.run(ping, env=env, capture_output=True, text=True, timeout=60).stdout
        assert alice in out and bob in out and "carol" not in out, out
        for name in (alice, bob):
            graph = kit.blueprint_graph(room, worker=name)
            assert "live" in graph.source and "LifecycleStep" in graph.source, graph.source[:300]
        with pytest.raises(kit.ClusterError, match="not started by this notebook"):
            room.kill_worker(alice)
        election = room.elect(worker=bob)
        won = room.events.wait_for("kit-gossip", timeout=20, event="elected", election=election)
        assert won["leader"] in (alice, bob)
        os.killpg(joined["alice"].pid, signal.SIGKILL)
        lost = room.events.wait_for("kit-gossip", timeout=30, event="node_lost", peer=alice)
        assert lost["hostname"] == bob
        wait_until(lambda: room.workers == [bob], 30, "alice still listed after node_lost")
        room.shutdown(bob)  # Celery's remote control: a graceful stop of a worker we do not own
        room.events.wait_for("worker-offline", timeout=30, hostname=bob)
        assert joined["bob"].wait(timeout=30) == 0
    assert joined["carol"].poll() is None  # the other room was never touched


@pytest.mark.redis
@pytest.mark.slow
def test_notebook_tasks_stay_on_its_own_workers_in_a_room(shared_redis, joined):
    app = Celery("pycon-notebook")
    with kit.LocalCluster(
        app, workers=1, broker=shared_redis.url, room="pycon", progress=False
    ) as cluster:
        (mine,) = cluster.workers
        with kit.Room(shared_redis.url, "pycon") as room:
            wait_until(lambda: len(room.workers) == 3, 60, "the room does not list 3 workers")
            assert mine in room.workers and room.owns(mine) is False and cluster.owns(mine)
        results = [app.send_task("kit.sleep", (0,)) for _ in range(6)]
        done = [cluster.events.wait_for("task-succeeded", timeout=30, uuid=r.id) for r in results]
        ran_on = {event["hostname"] for event in done}
        assert ran_on == {mine}, f"tasks ran on {ran_on}, not only on the notebook's worker {mine}"


@pytest.mark.redis
def test_room_dashboard_disables_kill_for_workers_it_does_not_own(shared_redis, joined):
    with kit.Room(shared_redis.url, "pycon") as room:
        wait_until(lambda: len(room.workers) == 2, 60, "alice and bob not in the room")
        dash = kit.Dashboard(room)
        try:
            dash.gossip.refresh_workers()
            assert dash.gossip.worker.value in room.workers
            assert dash.gossip.kill_button.disabled and "not started by this notebook" in (
                dash.gossip.kill_button.tooltip
            )
            assert dash.gossip.add_button.disabled and not dash.gossip.elect_button.disabled
            assert not dash.gossip.stop_button.disabled  # Stop = the shutdown broadcast
            assert (
                dash.steps.apply_button.disabled and dash.options.apply_button.disabled
            )  # restarts
        finally:
            dash.close()


def test_a_room_dashboard_opens_while_its_workers_do_not_answer(shared_redis, joined):
    """Workers heard by heartbeat that answer no remote control yet (just joined, or stalled):
    the dashboard opens and its graph tab says which worker did not answer."""
    with kit.Room(shared_redis.url, "pycon") as room:
        wait_until(lambda: len(room.workers) == 2, 60, "alice and bob not in the room")
        for name in ("alice", "bob"):
            os.killpg(joined[name].pid, signal.SIGSTOP)
        try:
            dash = kit.Dashboard(room)
            try:
                assert dash.errors and isinstance(dash.errors[0], kit.ClusterError)
                assert "did not answer kit_blueprint" in str(dash.errors[0])
                assert "did not answer" in dash.graph.status.value
            finally:
                dash.close()
        finally:
            for name in ("alice", "bob"):
                os.killpg(joined[name].pid, signal.SIGCONT)


def test_a_room_needs_a_broker_and_a_good_name(monkeypatch):
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
    monkeypatch.delenv("KIT_ROOM", raising=False)
    with pytest.raises(ValueError, match="needs a broker"):
        kit.Room(name="pycon")
    with pytest.raises(ValueError, match="'bad name'"):
        kit.Room("redis://:pw@127.0.0.1:1/0", "bad name")
    with pytest.raises(ValueError, match="'a:b'"):
        kit.LocalCluster(Celery("x"), room="a:b", progress=False)
