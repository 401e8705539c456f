"""Readiness: a worker is ready once its own `kit-ready` announcement arrives (matched by name and pid)."""

import time
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


def gossip(observer, peer, event="node_join", at=None):
    """A `kit-gossip` report of `observer`'s gossip about `peer`, as GossipProbe sends it."""
    at = time.time() if at is None else at
    return {
        "type": "kit-gossip",
        "hostname": observer,
        "event": event,
        "peer": peer,
        "kit_time": at,
    }


def live(name, pid):
    w = worker(name, pid)
    w.alive = True
    return w


def test_a_new_worker_is_ready_only_once_it_and_every_peer_heard_each_other():
    since = time.time()
    # about an earlier w3, before a restart
    feed = Feed([gossip("w1@h", "w3@h", at=since - 5)])
    w1, w2, w3 = live("w1@h", 1), live("w2@h", 2), live("w3@h", 3)
    watch = ReadyWatch(feed, [w3], peers=[w1, w2], since=since)
    assert sorted(watch.unheard()) == sorted(
        [("w3@h", "w1@h"), ("w1@h", "w3@h"), ("w3@h", "w2@h"), ("w2@h", "w3@h")]
    )
    for observer, peer in [("w3@h", "w1@h"), ("w1@h", "w3@h"), ("w3@h", "w2@h")]:
        feed.send(gossip(observer, peer))
    assert watch.unheard() == [("w2@h", "w3@h")], "the peers' pair w1-w2 was checked before"
    feed.send(gossip("w2@h", "w3@h"))
    # w3 heard w1, then lost it
    feed.send(gossip("w3@h", "w1@h", event="node_lost"))
    assert watch.unheard() == [("w3@h", "w1@h")]
    feed.send(gossip("w3@h", "w1@h"))
    assert watch.unheard() == []
    # a peer that died meanwhile is not waited for
    w2.alive = False
    feed.send(gossip("w3@h", "w2@h", event="node_lost"))
    assert watch.unheard() == []
    watch.close()


def test_a_replayed_older_report_does_not_undo_a_newer_one():
    feed, t = Feed(), time.time()
    w1, w2 = live("w1@h", 1), live("w2@h", 2)
    watch = ReadyWatch(feed, [w1, w2], since=t - 10)
    for event in [gossip("w1@h", "w2@h", at=t), gossip("w2@h", "w1@h", at=t)]:
        feed.send(event)
    feed.send(gossip("w1@h", "w2@h", event="node_lost", at=t + 1))
    # the same join again, from the history
    watch._on_event(gossip("w1@h", "w2@h", at=t))
    assert watch.unheard() == [("w1@h", "w2@h")]
    watch.close()


def test_a_gossip_that_never_hears_its_peer_fails_with_the_pairs_named():
    feed = Feed()
    w1, w2 = live("w1@h", 1), live("w2@h", 2)
    for w in (w1, w2):
        feed.send({"type": "kit-ready", "hostname": w.name, "pid": w.proc.pid})
    watch = ReadyWatch(feed, [w1, w2])
    feed.send(gossip("w1@h", "w2@h"))
    failed, why = watch.wait(0.3, lambda names: [])
    assert failed is w2 and "w2@h had not heard w1@h" in why and "timeout=" in why
    assert w1.ready and w2.ready, "both announced themselves: only the gossip was missing"
    watch.close()


def test_without_gossip_reports_the_announcement_is_enough():
    feed = Feed()
    w1, w2 = live("w1@h", 1), live("w2@h", 2)
    for w in (w1, w2):
        feed.send({"type": "kit-ready", "hostname": w.name, "pid": w.proc.pid})
    watch = ReadyWatch(feed, [w1, w2], gossip=False)
    assert watch.wait(5, lambda names: []) is None
    watch.close()


def lost_by_all(cluster, victim, since, timeout=60):
    """Wait until every other live worker reported `victim` lost; {survivor: seconds after since}."""
    seen = {}
    for survivor in cluster.workers:
        event = cluster.events.wait_for(
            "kit-gossip",
            timeout=timeout,
            since=since - 1,
            event="node_lost",
            peer=victim,
            hostname=survivor,
        )
        seen[survivor] = event["kit_time"] - since
    return seen


@pytest.mark.redis
@pytest.mark.slow
def test_a_kill_right_after_the_cluster_or_add_worker_returns_is_lost_for_every_survivor(
    redis_server,
):
    from celery import Celery

    import kit

    with kit.LocalCluster(Celery("ready-kill"), workers=3, progress=False) as c:
        first = c.workers[0]
        t = time.time()
        c.kill_worker(first)
        assert set(lost_by_all(c, first, t)) == set(c.workers) and len(c.workers) == 2
        new = c.add_worker()
        old = c.workers[0]
        t = time.time()
        # the new worker must have heard it
        c.kill_worker(old)
        assert set(lost_by_all(c, old, t)) == {c.workers[0], new}
        newer = c.add_worker()
        t = time.time()
        # every other must have heard the newcomer
        c.kill_worker(newer)
        assert set(lost_by_all(c, newer, t)) == {new, *c.workers} - {newer}


def stuck(hostname, step, method, pid=200):
    return {
        "type": "kit-stuck",
        "hostname": hostname,
        "pid": pid,
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
    # an earlier process of the same name, before a restart
    feed.send(stuck("w1@h", "proj.steps.Audit", "start", pid=199))
    assert watch.wait(0.3, lambda names: []) == (w1, "was not ready within 0 s")
    feed.send(stuck("w1@h", "proj.steps.Audit", "start"))
    failed, why = watch.wait(30, lambda names: [])
    assert failed is w1 and why == "is stuck in Audit.start for 5 s (/srv/proj/steps.py:42)"
    watch.close()
