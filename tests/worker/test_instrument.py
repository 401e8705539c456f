"""A project's own worker, started as its authors do, with only CELERY_LOADER=kit.instrument:Loader.

The project is tests/fixtures/proj (its own steps, option and consumer); its workers run on a real
redis-server, and the kit's events are read with kit.EventFeed on that broker.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery

from kit.processes.procs import child_preexec
from kit.worker import instrument, probes, stuck

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "proj"
STEPS = PROJECT / "proj" / "steps.py"
LOADER = {"CELERY_LOADER": "kit.instrument:Loader"}


def line_of(text, path):
    with open(path) as f:
        return next(n for n, line in enumerate(f, 1) if text in line)


class Project:
    """The project's broker, an EventFeed on it, and the workers a test starts (all killed after)."""

    def __init__(self, broker, feed, tmp):
        self.broker, self.feed, self.tmp = broker, feed, tmp
        self.procs = {}
        self.app = Celery("client", broker=broker.url, backend=broker.url, set_as_current=False)

    def start(self, name, *options, env=None):
        """`celery -A proj.celery:app worker -n NAME ...` in the project's folder; `env` is added."""
        base = {k: v for k, v in os.environ.items() if k != "CELERY_LOADER"}
        url = self.broker.url
        env = dict(base, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url, **(env or {}))
        log = open(self.tmp / f"{name}.log", "wb")
        cmd = [sys.executable, "-m", "celery", "-A", "proj.celery:app", "worker", "-n", name]
        proc = subprocess.Popen(
            [*cmd, "--loglevel=info", *options],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=child_preexec,
        )
        self.procs[name] = proc
        return proc

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text()

    def answers(self, name, timeout=60):
        """Wait until worker `name` answers a ping (uninstrumented workers announce nothing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.app.control.ping(destination=[name], timeout=1.0):
                return
            assert self.procs[name].poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"
        raise AssertionError(f"{name} never answered a ping:\n{self.log(name)[-3000:]}")

    def ask(self, method, names, timeout=60):
        """Every worker's reply to inspect `method` (asked again until all answered: a busy
        machine may answer late)."""
        replies, deadline = {}, time.monotonic() + timeout
        while set(names) - set(replies) and time.monotonic() < deadline:
            answers = self.app.control.broadcast(method, destination=names, reply=True, timeout=5)
            replies.update({name: reply for answer in answers for name, reply in answer.items()})
        assert set(replies) >= set(names), f"no {method} reply from {set(names) - set(replies)}"
        return replies

    def kill_all(self):
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(30)


@pytest.fixture
def project(redis_server, tmp_path):
    from kit.events.feed import EventFeed
    from kit.processes.broker import EmbeddedRedis

    broker = EmbeddedRedis(str(tmp_path)).start()
    feed = EventFeed(broker.url).start()
    p = Project(broker, feed, tmp_path)
    try:
        yield p
    finally:
        p.kill_all()
        feed.close()
        broker.stop()


def test_its_own_steps_are_traced_and_nothing_of_the_project_changes(project, tmp_path):
    alive = tmp_path / "alive"
    common = ("--concurrency=1", f"--liveness-file={alive}")
    project.start("own@proj", *common, env=LOADER)
    project.start("plain@proj", *common)
    feed = project.feed
    feed.wait_for("kit-ready", timeout=60, hostname="own@proj")
    project.answers("plain@proj")

    init = feed.wait_for("kit-lifecycle", timeout=30, hostname="own@proj", label="LivenessProbe")
    assert init["method"] == "__init__" and init["step"] == "proj.steps.LivenessProbe"
    for label, blueprint in (("LivenessProbe", "worker"), ("AuditConsumer", "consumer")):
        e = feed.wait_for(
            "kit-lifecycle", timeout=30, hostname="own@proj", label=label, method="start"
        )
        assert e["blueprint"] == blueprint and e["error"] is None
    touch = feed.wait_for(
        "kit-timer", timeout=30, hostname="own@proj", callback="proj.steps.LivenessProbe.touch"
    )
    assert touch["kind"] == "call_repeatedly" and touch["interval"] == 1.0
    assert alive.exists(), "the project's own liveness probe runs"

    # the same config, queues and pool as the uninstrumented worker; its tasks run
    names = ["own@proj", "plain@proj"]
    conf, queues, stats = (project.ask(m, names) for m in ("conf", "active_queues", "stats"))
    # `include` is a set in Celery: its order differs from process to process
    own, plain = ({**c, "include": sorted(c["include"])} for c in map(conf.get, names))
    assert own == plain
    assert [q["name"] for q in queues["own@proj"]] == [q["name"] for q in queues["plain@proj"]]
    assert (
        stats["own@proj"]["pool"]["implementation"] == stats["plain@proj"]["pool"]["implementation"]
    )
    assert project.app.send_task("proj.add", (2, 3)).get(timeout=30) == 5
    # the kit's read-only inspect command answers with the live blueprints (the plain one: unknown)
    live = project.ask("kit_blueprint", ["own@proj"])["own@proj"]
    worker = {s["label"]: s for s in live["worker"]}
    assert worker["LivenessProbe"]["started"] and "start" in worker["LivenessProbe"]["timings"]
    assert "AuditConsumer" in [s["label"] for s in live["consumer"]]
    # Celery's own events carry nothing of the kit's; the plain worker sends no kit event
    beats = [feed.wait_for("worker-heartbeat", timeout=30, hostname=n) for n in names]
    assert set(beats[0]) == set(beats[1]) and not any(k.startswith("kit") for k in beats[0])
    assert not [
        e for e in feed.history if e["type"].startswith("kit-") and "plain" in e["hostname"]
    ]
    log = project.log("own@proj")
    assert "probe is off" not in log and "kit: probes on" in log and "reports after 5 s" in log


def test_a_stop_blocking_20_s_is_reported_with_its_file_and_line_before_it_returns(project):
    proc = project.start("slow@proj", "--concurrency=1", "--shutdown-delay=20", env=LOADER)
    project.feed.wait_for("kit-ready", timeout=60, hostname="slow@proj")
    proc.send_signal(signal.SIGTERM)
    asked = time.time()
    report = project.feed.wait_for(
        "kit-stuck", timeout=60, hostname="slow@proj", label="SlowShutdown", method="stop"
    )
    assert proc.poll() is None and time.time() - asked < 20, "reported while stop() still runs"
    assert report["file"] == str(STEPS) and report["line"] == line_of(
        "time.sleep(self.delay)", STEPS
    )
    assert report["elapsed"] >= stuck.DEFAULT_AFTER
    assert f"{STEPS}:{report['line']} in stop" in report["stack"]
    returned = [
        e
        for e in project.feed.history
        if e["type"] == "kit-lifecycle" and e["label"] == "SlowShutdown" and e["method"] == "stop"
    ]
    assert not returned, "its stop() has not returned yet"
    assert "kit: step SlowShutdown.stop still running after" in project.log("slow@proj")


def test_python_m_kit_worker_runs_the_projects_own_app_with_the_probes(project, tmp_path):
    log = open(tmp_path / "cli.log", "wb")
    cmd = [sys.executable, "-m", "kit", "worker", "-A", "proj.celery:app"]
    options = ["--broker", project.broker.url, "--name", "cli@proj", "-c", "1", "--without-mingle"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "KIT_"))}
    project.procs["cli@proj"] = subprocess.Popen(
        [*cmd, *options],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=child_preexec,
    )
    feed = project.feed
    feed.wait_for("kit-ready", timeout=60, hostname="cli@proj")
    e = feed.wait_for("kit-lifecycle", timeout=30, hostname="cli@proj", label="SlowShutdown")
    assert e["step"] == "proj.steps.SlowShutdown" and e["blueprint"] == "worker"
    mingled = [e for e in feed.history if e.get("label") == "Mingle" and e["method"] == "start"]
    assert not mingled, "--without-mingle was passed on: Mingle is built, never started"


def test_a_probe_that_fails_logs_one_warning_and_the_worker_runs_on(caplog):
    Probe = instrument.guarded(probes.TimerProbe, "create", "timer")
    assert Probe.name == probes.TimerProbe.name and issubclass(Probe, probes.TimerProbe)
    # a release whose worker timer lacks what the probe wraps
    worker = SimpleNamespace(timer=SimpleNamespace(Entry=None))
    with caplog.at_level("WARNING", logger="kit.instrument"):
        assert Probe(worker).create(worker) is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("kit: the timer probe is off on this worker:")
    assert "AttributeError" in lines[0]


def test_kit_attach_shows_the_instrumented_projects_live_graph_and_lifecycle(project, tmp_path):
    """The issue's acceptance: only the loader line added, and kit.attach sees it all."""
    import kit

    with kit.attach(project.broker.url) as view:
        # started once the view listens, so it hears their boot
        project.start("own@proj", "--concurrency=1", f"--liveness-file={tmp_path / 'alive'}", env=LOADER)
        project.start("plain@proj", "--concurrency=1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            view.instrumented("own@proj") and "plain@proj" in view.workers
        ):
            time.sleep(0.2)
        assert view.instrumented("own@proj") and not view.instrumented("plain@proj"), view.workers
        assert "CELERY_LOADER=kit.instrument:Loader" in view.hint("plain@proj")
        graph = kit.blueprint_graph(view, worker="own@proj").source
        assert "LivenessProbe" in graph and "AuditConsumer" in graph, graph
        starts = {
            e["label"]
            for e in view.events.history
            if e["type"] == "kit-lifecycle" and e["hostname"] == "own@proj" and e["method"] == "start"
        }
        assert {"LivenessProbe", "AuditConsumer", "Heart", "Gossip"} <= starts, starts
