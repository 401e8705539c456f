"""procs: a log tail that starts at a record; one interface for EmbeddedRedis, ForkServer, workers."""

import os
import sys

import pytest

import kit
from kit.processes.broker import EmbeddedRedis
from kit.events.feed import EventFeed
from kit.processes.forkserver import ForkServer
from kit.processes.procs import ChildProcess, alive, record_tail
from kit.processes.workers import WorkerProcess

LOG = """ -------------- w1@h v5.5
--- ***** -----
-- ******* ---- [config]
[2026-12-01 19:11:03,100: INFO/MainProcess] Connected to redis://127.0.0.1:1/0
[2026-12-01 19:11:03,200: ERROR/MainProcess] boom
Traceback (most recent call last):
  File "x.py", line 1
ValueError: bad
[2026-12-01 19:11:03,300: INFO/MainProcess] w1@h ready."""


def test_tail_starts_at_a_record_never_mid_banner_or_traceback():
    assert record_tail(LOG, 7).splitlines()[0].endswith("Connected to redis://127.0.0.1:1/0")
    assert record_tail(LOG, 4).splitlines() == [
        LOG.splitlines()[-1]
    ]  # the traceback's record was cut: left out
    assert record_tail(LOG, 1) == LOG.splitlines()[-1]
    cut = record_tail(
        LOG.rsplit("\n", 1)[0], 2
    )  # only a traceback's tail in reach: its whole record
    assert cut.splitlines()[0].endswith("boom") and cut.endswith("ValueError: bad")


def test_the_three_share_the_interface():
    for cls in (EmbeddedRedis, ForkServer, WorkerProcess):
        assert issubclass(cls, ChildProcess)
        for name in ("start", "close", "status", "alive", "__enter__", "__exit__"):
            assert hasattr(cls, name), (cls, name)


@pytest.mark.redis
def test_embedded_redis_as_a_context_manager_closes_once_and_refuses_reuse(redis_server, tmp_path):
    r = EmbeddedRedis(str(tmp_path))
    assert r.status == "created"
    with r:
        assert r.status == "running" and r.running and r.ping()
        pid = r.proc.pid
    assert r.status == "closed" and not alive(pid)
    r.close()
    with pytest.raises(kit.ClusterError, match="this embedded Redis is closed: make a new one"):
        r.start()
    with pytest.raises(kit.ClusterError, match="closed"):
        r.restart()


@pytest.mark.redis
def test_embedded_redis_that_died_says_exited_and_restarts(redis_server, tmp_path):
    with EmbeddedRedis(str(tmp_path)) as r:
        r.proc.kill()
        r.proc.wait()
        assert r.status == "exited" and not r.running
        assert r.restart().status == "running" and r.ping()


def test_fork_server_forks_a_worker_process_and_closes(tmp_path):
    with ForkServer() as server:
        assert server.status == "starting"
        log = str(tmp_path / "child.log")
        argv = ["--version"]  # `celery --version`: prints and exits 0
        child = server.spawn(argv, dict(os.environ), str(tmp_path), log)
        assert child.wait(60) == 0 and server.status == "running"
        server_pid = server.proc.pid
    assert server.status == "closed" and not alive(server_pid)
    assert open(log).read().strip()[0].isdigit()  # a version number


def test_fork_server_failure_carries_its_stderr_tail(tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\necho 'ImportError: no module named celery (fake python)' >&2\nexit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    server = ForkServer().start()
    try:
        with pytest.raises(kit.ClusterError) as info:
            server.wait_ready(timeout=30)
    finally:
        server.close()
    message = str(info.value)
    assert (
        "fork server exited with 3" in message and "no module named celery (fake python)" in message
    )
    assert "fork=False" in message
    assert server.status == "closed"


def test_event_feed_that_never_hears_its_probe_raises_and_stops():
    feed = EventFeed("redis://127.0.0.1:1/0")
    with pytest.raises(
        kit.ClusterError, match=r"did not hear its own probe event within 1 s .*Connection refused"
    ):
        feed.start(timeout=1)
    assert not feed._thread.is_alive()
