"""procs: a log tail that starts at a record; one interface for EmbeddedRedis, ForkServer, workers."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import kit
from kit.events.feed import EventFeed
from kit.processes.broker import EmbeddedRedis
from kit.processes.forkserver import ForkServer
from kit.processes.procs import ChildProcess, alive, child_preexec, kill_tree, record_tail
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


def test_kill_tree_terms_every_group_at_once_and_kills_what_stays():
    """One child leaves on SIGTERM, one ignores it: both groups are gone after the grace period."""
    polite = "import time; print(1, flush=True); time.sleep(60)"
    ignore = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + polite
    children = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, preexec_fn=child_preexec)
        for code in (polite, ignore)
    ]
    try:
        # both run (and the stubborn one ignores SIGTERM) before they are signalled
        assert [c.stdout.readline() for c in children] == [b"1\n", b"1\n"]
        started = time.monotonic()
        kill_tree(*(c.pid for c in children), grace=1.0)
        assert [c.wait(timeout=30) for c in children] == [-15, -9]
        assert time.monotonic() - started >= 1.0
    finally:
        for c in children:
            c.kill()
            c.wait()
            c.stdout.close()


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


def run_python(code, **env):
    """Run `code` in a fresh Python process; its last stdout line as JSON."""
    environ = dict(os.environ, **env)
    for name in ("KIT_BOOT_LOG", "KIT_RUN_DIR", "KIT_PRESTART"):
        if name not in env:
            environ.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gone(pids, timeout=20.0):
    """True once none of `pids` is alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


@pytest.mark.redis
@pytest.mark.slow
def test_fork_server_started_early_is_reused_by_the_first_cluster_and_closed_at_exit(
    redis_server,
):
    seen = run_python(
        """
        import json, os
        from celery import Celery
        import kit
        from kit.processes import workers

        at_import = workers._forkserver            # a plain script: nothing started at import
        cls = kit.LocalCluster                    # the first lookup starts it
        early = workers._forkserver
        cluster = cls(Celery("early"), workers=1, progress=False)
        (worker,) = cluster._workers.values()
        print(json.dumps({
            "at_import": at_import is not None,
            "reused": workers._forkserver is early,
            "server": early.proc.pid,
            "parent": open(f"/proc/{worker.proc.pid}/stat").read().split(")")[1].split()[1],
            "worker": worker.proc.pid,
            "dir": early._dir,
        }))
        # no close(): the interpreter's exit closes the cluster, then the fork server
        """
    )
    assert not seen["at_import"] and seen["reused"]
    assert int(seen["parent"]) == seen["server"]  # the worker was forked by the early server
    assert gone([seen["server"], seen["worker"]])
    assert not os.path.exists(seen["dir"])  # close() ran (it removes its log folder)


def test_no_fork_server_is_started_early_where_it_must_not_be():
    code = """
        import json
        import kit
        from kit.processes import workers

        kit.LocalCluster
        print(json.dumps({"started": workers._forkserver is not None}))
        """
    assert run_python(code) == {"started": True}  # the control: a plain script's first lookup
    assert run_python(code, KIT_PRESTART="0") == {"started": False}
    # inside a process a kit worker started (the guard's own sign of one)
    assert run_python(code, KIT_BOOT_LOG=os.devnull) == {"started": False}
    # a process running Celery's command line (a `celery worker` not started by the kit)
    in_celery = code.replace("import kit\n", "import celery.bin.celery, kit\n")
    assert in_celery != code and run_python(in_celery) == {"started": False}


@pytest.mark.slow
def test_import_kit_in_a_jupyter_kernel_starts_the_fork_server_and_exit_closes_it():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(
        kernel_name="python3", env=dict(os.environ, KIT_PRESTART="1")
    )
    try:
        code = (
            "import json, kit\nfrom kit.processes import workers\n"
            "s = workers._forkserver\n"
            "print(json.dumps({'pid': s.proc.pid, 'dir': s._dir, 'status': s.status}))"
        )
        lines = []
        reply = client.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda m: lines.append(m["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        seen = json.loads("".join(lines).strip().splitlines()[-1])
        assert seen["status"] in ("starting", "running") and alive(seen["pid"])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)  # a normal exit: atexit runs
    assert gone([seen["pid"]])
    assert not os.path.exists(seen["dir"])


def test_preload_leaves_out_the_repl_and_a_worker_can_still_import_it():
    seen = run_python(
        """
        import json, sys
        from kit.processes.preload import PRELOAD, preload

        preload()
        loaded = all(name in sys.modules for name in PRELOAD)
        left_out = "prompt_toolkit" not in sys.modules and "click_repl" not in sys.modules
        import click_repl  # the real one: the stand-in was dropped

        print(json.dumps({"loaded": loaded, "left_out": left_out,
                          "real": callable(getattr(click_repl, "repl", None))}))
        """
    )
    assert seen == {"loaded": True, "left_out": True, "real": True}
