"""Faults, bad input and load on real processes: the kit keeps working and says what happened."""

import os
import time

import pytest
from celery import Celery
from celery.result import ResultSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
import kit.cluster
from kit.processes.procs import alive

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_interrupted_start_leaves_no_process(redis_server, monkeypatch):
    started = []
    real_boot = kit.cluster.LocalCluster._boot

    def interrupted(self, workers, timeout=None, since=0.0):
        started.extend(w.proc.pid for w in workers)
        started.append(self.redis.proc.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(kit.cluster.LocalCluster, "_boot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        kit.LocalCluster(Celery("interrupted"), workers=2, progress=False)
    monkeypatch.setattr(kit.cluster.LocalCluster, "_boot", real_boot)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in started):
        time.sleep(0.1)
    assert len(started) == 3 and not any(alive(p) for p in started)


def test_ten_thousand_tasks_none_lost_feed_bounded(redis_server):
    with kit.LocalCluster(Celery("load"), workers=3, progress=False) as c:
        results = [c.app.send_task("kit.sleep", (0,)) for _ in range(10_000)]
        values = ResultSet(results).join_native(timeout=600)
        assert len(values) == 10_000 and set(values) == {0}
        c.events.wait_for("kit-timer", timeout=30, since=time.time())  # the feed still answers
        deadline = time.monotonic() + 60
        while c.events.counts["task-succeeded"] < 10_000 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c.events.counts["task-succeeded"] == 10_000
        assert len(c.events.history) <= c.events._ring.maxlen


content_types = st.sampled_from(
    [
        "application/json",
        "application/x-python-serialize",
        "text/plain",
        "application/x-yaml",
        "application/octet-stream",
        "application/data",
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=200), content_type=content_types)
def test_consumer_survives_random_bodies(shared_cluster, body, content_type):
    c = shared_cluster
    before = c.events.counts["kit-consumer"]
    c.publish(body, content_type=content_type)
    deadline = time.monotonic() + 30
    while c.events.counts["kit-consumer"] <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    last = [e for e in c.events.history if e["type"] == "kit-consumer"][-1]
    assert c.events.counts["kit-consumer"] == before + 1
    assert last["outcome"] in ("accepted", "rejected") and len(c.workers) == 2


def test_unknown_requires_string_is_named_before_start():
    from celery import bootsteps

    class Typo(bootsteps.StartStopStep):
        requires = {"celery.worker.components:Tiemr"}

    app = Celery("typo")
    app.steps["worker"].add(Typo)
    with pytest.raises(kit.UnknownRequirementError, match="Tiemr"):
        kit.LocalCluster(app, progress=False)


def test_run_dir_is_private(shared_cluster):
    assert os.stat(shared_cluster.run_dir).st_mode & 0o077 == 0
    assert os.stat(os.path.join(shared_cluster.run_dir, "app.pkl")).st_mode & 0o077 == 0
