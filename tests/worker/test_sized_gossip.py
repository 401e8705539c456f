"""SizedGossip on Celery's real Gossip, State, Heart and kombu Timer (dispatcher: a recorder).

It only sets intervals: who is lost stays Celery's decision (Gossip.periodic, State expiry).
How it behaves at 10-90 real workers is measured in benchmarks/scale.py, not here.
"""

import time
from types import SimpleNamespace

import pytest
from celery import Celery
from celery.worker.consumer.gossip import Gossip
from celery.worker.heartbeat import Heart
from kombu.asynchronous.timer import Timer

from kit import gossip_timing
from kit.worker.internals import HEART
from kit.worker.sized_gossip import SizedGossip


class Recorder:
    """Stands in for the event dispatcher: keeps what Heart sends."""

    def __init__(self):
        self.enabled, self.on_enabled, self.on_disabled, self.sent = True, set(), set(), []

    def send(self, type_, **fields):
        self.sent.append(dict(fields, type=type_))


def consumer(planned=2):
    """A consumer's Gossip, Heart and SizedGossip, wired as Celery's blueprint does (no broker)."""
    c = SimpleNamespace(
        app=Celery("sg", broker="redis://127.0.0.1:1/0", set_as_current=False),
        hostname="me@host",
        pid=1,
        timer=Timer(),
        hub=None,
        blueprint=SimpleNamespace(steps={HEART: SimpleNamespace(heartbeat_interval=None)}),
    )
    Gossip(c)
    step = type("Planned", (SizedGossip,), {"planned": planned})(c)
    step.create(c)
    c.dispatcher = Recorder()
    c.heart = Heart(c.timer, c.dispatcher, c.blueprint.steps[HEART].heartbeat_interval)
    c.heart.start()
    c.gossip.register_timer()
    lost = []
    c.gossip.on.node_lost.add(lambda w: lost.append(w.hostname))
    return SimpleNamespace(c=c, step=step, lost=lost, sent=c.dispatcher.sent)


@pytest.fixture
def worker():
    w = consumer()
    yield w
    w.c.heart.stop()
    w.c.timer.clear()


def beat(w, hostname, age=0.0, freq=0.5):
    """A heartbeat from a peer as Celery's gossip receiver hands it to State, read `age` s ago."""
    t = time.time() - age
    event = {"type": "worker-heartbeat", "hostname": hostname, "timestamp": t, "freq": freq}
    w.c.gossip.state.event(dict(event, local_received=t))


def test_the_rule_chooses_intervals_only_between_fast_and_celerys_own():
    on_two_cores = [gossip_timing.sized(n, cores=2).heartbeat_interval for n in (1, 10, 15, 20, 30)]
    assert on_two_cores == pytest.approx([0.5, 0.5, 0.5, 0.8, 1.8])
    for n in (32, 60, 90, 500):
        assert gossip_timing.sized(n, cores=2) == gossip_timing.GossipTiming(2.0, 1.0), (
            "from 32 workers on 2 cores: Celery's own heartbeat, never a longer one"
        )
    assert gossip_timing.sized(30, size=30, cores=8).heartbeat_interval == 0.5
    assert gossip_timing.sized(1, size=30, cores=2).heartbeat_interval == 0.5, (
        "a room of laptops: one worker per machine reads 30 heartbeats"
    )
    assert gossip_timing.CELERY_DEFAULT == gossip_timing.GossipTiming(2.0, 5.0)


def test_the_predicted_window_is_celerys_expiry_plus_one_check():
    assert gossip_timing.GossipTiming(0.5, 0.25).node_lost_window() == (0.5, 1.25)
    assert gossip_timing.CELERY_DEFAULT.node_lost_window() == (2.0, 9.0)
    assert gossip_timing.CELERY_DEFAULT.expires_after == 2.0 * 2.0


def test_modes_and_the_former_name():
    assert gossip_timing.mode_of("fast") == "sized"
    assert gossip_timing.timing("celery-default", 90) == gossip_timing.CELERY_DEFAULT
    with pytest.raises(ValueError, match=r"gossip='pid-check': choose 'sized' .* 'celery-default'"):
        gossip_timing.mode_of("pid-check")


def test_it_sets_heart_and_gossip_intervals_and_leaves_celerys_check_alone(worker):
    assert worker.c.blueprint.steps[HEART].heartbeat_interval == 0.5
    assert worker.c.gossip.interval == 0.25
    assert worker.c.gossip.periodic.__func__ is Gossip.periodic, "Celery's own check"
    assert worker.sent[0]["type"] == "worker-online" and worker.sent[0]["freq"] == 0.5


def test_a_peer_is_lost_by_celerys_rule_only_after_two_of_its_freq(worker):
    # within 2 x 0.5 s: alive
    beat(worker, "late@host", age=0.9, freq=0.5)
    # past it: lost
    beat(worker, "silent@host", age=1.1, freq=0.5)
    # judged by its own freq: alive
    beat(worker, "slow@host", age=3.0, freq=2.0)
    worker.c.gossip.periodic()
    assert worker.lost == ["silent@host"]
    assert "silent@host" not in worker.c.gossip.state.workers


def test_a_bigger_cluster_gets_a_longer_heartbeat_announced_at_once(worker, monkeypatch):
    monkeypatch.setattr(gossip_timing, "CORES", 2)
    before = len(worker.sent)
    for i in range(29):
        beat(worker, f"w{i}@host")
    # heard, but not on this machine
    beat(worker, "laptop@elsewhere")
    assert worker.step.sizes() == (31, 30)
    timing = gossip_timing.sized(30, 31, cores=2)
    assert worker.step.timing == timing
    announced = [e for e in worker.sent[before:] if e["type"] == "worker-heartbeat"]
    assert announced and announced[-1]["freq"] == timing.heartbeat_interval
    assert worker.c.heart.interval == timing.heartbeat_interval
    assert worker.c.blueprint.steps[HEART].heartbeat_interval == timing.heartbeat_interval, (
        "kept if the consumer restarts"
    )
    assert worker.c.gossip.interval == timing.check_interval
    assert worker.lost == []


def test_a_booting_worker_never_sizes_below_the_cluster_it_belongs_to():
    w = consumer(planned=60)
    try:
        assert w.step.timing.heartbeat_interval == 2.0
        beat(w, "w1@host")  # the first peer heard of 60
        assert w.step.timing.heartbeat_interval == 2.0 and w.c.heart.interval == 2.0
    finally:
        w.c.heart.stop()
        w.c.timer.clear()
