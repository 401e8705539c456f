"""Readiness: a worker is ready once its own `kit-ready` announcement arrives (matched by name and pid)."""

import types

import pytest

from kit.processes import readiness
from kit.processes.readiness import ReadyWatch


class Feed:
    """Just enough of an EventFeed for ReadyWatch, isolated on purpose: a history and subscribers."""

    def __init__(self, history=()):
        self.history, self.subscribers = list(history), []

    def subscribe(self, fn):
        self.subscribers.append(fn)

    def unsubscribe(self, fn):
        self.subscribers.remove(fn)

    def send(self, event):
        self.history.append(event)
        for fn in list(self.subscribers):
            fn(event)


def worker(name, pid):
    return types.SimpleNamespace(name=name, proc=types.SimpleNamespace(pid=pid), ready=False)


def test_an_earlier_process_of_the_same_name_does_not_count():
    stale = {"type": "kit-ready", "hostname": "w1@h", "pid": 100}  # before a restart
    feed = Feed([stale])
    w1, w2 = worker("w1@h", 200), worker("w2@h", 201)
    watch = ReadyWatch(feed, [w1, w2])
    assert watch.collect(wait=0) == [] and not w1.ready
    feed.send({"type": "kit-ready", "hostname": "w2@h", "pid": 201})
    feed.send({"type": "worker-online", "hostname": "w1@h", "pid": 200})  # online is not ready
    assert watch.collect(wait=0.5) == [w2] and w2.ready and list(watch.pending) == ["w1@h"]
    feed.send({"type": "kit-ready", "hostname": "w1@h", "pid": 200})
    assert watch.collect(wait=0.5) == [w1] and not watch.pending
    watch.close()
    assert feed.subscribers == []


@pytest.mark.redis
def test_the_ping_safety_net_marks_a_worker_whose_announcement_was_lost(
    shared_cluster, monkeypatch
):
    monkeypatch.setattr(readiness, "PING_EVERY", 0.3)
    name = shared_cluster.workers[0]
    lost = worker(name, pid=-1)  # its announcement can never match: only the ping can find it
    lost.alive = True
    watch = ReadyWatch(shared_cluster.events, [lost])
    try:
        assert watch.collect(wait=0) == []
        assert watch.wait(30, shared_cluster.ping) is None
        assert lost.ready and not watch.pending
    finally:
        watch.close()


def stuck(hostname, step, method):
    return {
        "type": "kit-stuck",
        "hostname": hostname,
        "step": step,
        "label": step.rsplit(".", 1)[-1],
        "method": method,
        "elapsed": 5.2,
        "file": "/srv/proj/steps.py",
        "line": 42,
    }


def test_a_stuck_boot_step_of_the_app_ends_the_wait_naming_it_and_its_line():
    feed, w1 = Feed(), worker("w1@h", 200)
    w1.alive = True
    watch = ReadyWatch(feed, [w1])
    # a stop that hangs is no boot failure; Celery's own steps may be slow on a loaded machine
    feed.send(stuck("w1@h", "proj.steps.Audit", "stop"))
    feed.send(stuck("w1@h", "celery.worker.components.Pool", "start"))
    feed.send(stuck("w2@h", "proj.steps.Audit", "start"))  # another worker's
    assert watch.wait(0.3, lambda names: []) == (w1, "was not ready within 0 s")
    feed.send(stuck("w1@h", "proj.steps.Audit", "start"))
    failed, why = watch.wait(30, lambda names: [])
    assert failed is w1 and why == "is stuck in Audit.start for 5 s (/srv/proj/steps.py:42)"
    watch.close()
