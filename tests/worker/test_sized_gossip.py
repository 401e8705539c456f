"""FastGossip's decisions, on Celery's real Gossip, State, Heart and kombu Timer (dispatcher: a recorder).

How fast it is at 10-90 workers is measured in benchmarks/scale.py, not here.
"""

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from celery import Celery
from celery.worker.consumer.gossip import Gossip
from celery.worker.heartbeat import Heart
from kombu.asynchronous.timer import Timer

from kit.worker import fast_gossip
from kit.worker.fast_gossip import FastGossip
from kit.worker.internals import HEART


class Recorder:
    """Stands in for the event dispatcher: keeps what Heart sends."""

    def __init__(self):
        self.enabled, self.on_enabled, self.on_disabled, self.sent = True, set(), set(), []

    def send(self, type_, **fields):
        self.sent.append(dict(fields, type=type_))


class Message:
    def __init__(self, hostname, payload, routing_key="worker.heartbeat"):
        self.headers, self.payload = {"hostname": hostname}, payload
        self.delivery_info = {"routing_key": routing_key}


@pytest.fixture
def worker():
    """A consumer's gossip, heart and FastGossip, wired as Celery's blueprint does (no broker needed)."""
    c = SimpleNamespace(
        app=Celery("fg", broker="redis://127.0.0.1:1/0", set_as_current=False),
        hostname="me@host",
        pid=1,
        timer=Timer(),
        hub=None,
        blueprint=SimpleNamespace(steps={HEART: SimpleNamespace(heartbeat_interval=None)}),
    )
    Gossip(c)
    step = FastGossip(c)
    step.create(c)
    c.dispatcher = Recorder()
    c.heart = Heart(c.timer, c.dispatcher, c.blueprint.steps[HEART].heartbeat_interval)
    c.heart.start()
    lost = []
    c.gossip.on.node_lost.add(lambda w: lost.append(w.hostname))
    left = []
    c.gossip.on.node_leave.add(lambda w: left.append(w.hostname))
    yield SimpleNamespace(c=c, step=step, lost=lost, left=left, sent=c.dispatcher.sent)
    c.heart.stop()
    c.timer.clear()
    from celery.worker import state

    state.SOFTWARE_INFO.pop("kit_machine", None)  # FastGossip.create put it there


def beat(w, hostname, age=0.0, freq=0.2, **fields):
    """A heartbeat from a peer, as the gossip receiver hands it to State (received `age` seconds ago)."""
    t = time.time() - age
    event = {"type": "worker-heartbeat", "hostname": hostname, "timestamp": t, "freq": freq}
    event.update(fields)
    w.c.gossip.state.event(dict(event, local_received=t))


def echo(w, sent=None):
    """Our own heartbeat coming back through the broker, read now."""
    own = {"type": "worker-heartbeat", "hostname": w.c.hostname, "timestamp": sent or time.time()}
    w.c.gossip.on_message(lambda payload: ("worker-heartbeat", payload), Message(w.c.hostname, own))


def test_the_interval_follows_the_heartbeats_one_machine_reads():
    step = FastGossip.__new__(FastGossip)
    on_two_cores = [step.interval_for(n, local=n, cores=2) for n in (1, 10, 30, 60, 90)]
    assert on_two_cores == pytest.approx([0.2, 0.2, 0.6, 2.4, 5.4])
    assert step.interval_for(60, local=60, cores=8) == pytest.approx(0.6)
    assert step.interval_for(30, local=1, cores=2) == 0.2, (
        "a room of laptops: one worker per machine"
    )
    assert [step.check_for(i) for i in (0.2, 0.6, 2.4)] == pytest.approx([0.1, 0.15, 0.25]), (
        "checks at least every 0.25 s: a peer on this machine that exited is seen soon"
    )


def test_it_takes_over_gossips_check_and_celerys_heartbeat_setting(worker):
    assert worker.c.blueprint.steps[HEART].heartbeat_interval == 0.2
    assert worker.c.gossip.interval == 0.1 and worker.c.gossip.periodic == worker.step.check
    assert worker.sent[0]["type"] == "worker-online" and worker.sent[0]["freq"] == 0.2


def test_a_small_cluster_keeps_the_fastest_pace(worker):
    for i in range(9):
        beat(worker, f"w{i}@host")
    echo(worker)
    before = len(worker.sent)
    worker.step.check()
    assert worker.step.interval == 0.2 and worker.c.gossip.interval == 0.1
    assert worker.sent[before:] == [], "nothing to announce"


def test_a_silent_peer_is_lost_once_our_own_later_heartbeat_is_read(worker):
    beat(worker, "peer@host", age=1.0)
    worker.step.check()
    assert worker.lost == [], "nothing of ours read since: the silence may be our own backlog"
    echo(worker, sent=time.time() - 0.9)  # sent before the peer's next heartbeat was due
    worker.step.check()
    assert worker.lost == []
    echo(worker)
    worker.step.check()
    assert worker.lost == ["peer@host"] and "peer@host" not in worker.c.gossip.state.workers


def test_a_peer_that_keeps_beating_is_never_lost(worker):
    for _ in range(5):
        beat(worker, "peer@host")
        echo(worker)
        worker.step.check()
    assert worker.lost == []


def test_a_bigger_cluster_gets_a_longer_interval_announced_at_once(worker, monkeypatch):
    monkeypatch.setattr(fast_gossip, "CORES", 2)
    for i in range(29):
        beat(worker, f"w{i}@host")
    beat(worker, "laptop@elsewhere")  # heard, but reads heartbeats on its own cores
    echo(worker)
    before = len(worker.sent)
    worker.step.check()
    assert worker.step.sizes() == (31, 30)
    assert worker.step.interval == pytest.approx(31 * 30 / 1500)
    assert worker.c.gossip.interval == pytest.approx(worker.step.interval / 4)
    assert worker.c.blueprint.steps[HEART].heartbeat_interval == worker.step.interval
    announced = worker.sent[before:]
    assert [e["type"] for e in announced] == ["worker-heartbeat"]
    assert announced[0]["freq"] == pytest.approx(worker.step.interval, abs=0.05)
    assert worker.lost == []


def test_a_late_event_loop_advertises_a_longer_freq(worker):
    worker.step.check()
    worker.step._last_check -= 1.0  # as if the process had not run for a second
    before = len(worker.sent)
    worker.step.check()
    assert worker.step.lateness == pytest.approx(0.9, abs=0.05)
    assert worker.c.heart.interval == pytest.approx(1.1, abs=0.05)
    assert worker.sent[before]["freq"] == pytest.approx(1.1, abs=0.05)
    assert worker.step.interval == 0.2, "the heartbeat timer itself keeps its pace"


def test_a_worker_kept_from_running_waits_as_long_again_for_peers_on_its_host(worker):
    worker.step.lateness = (
        1.0  # this worker's loop ran a second late lately: the machine is starved
    )
    beat(worker, "neighbour@host", age=0.6)  # past Celery's 2 x 0.2 s, within 2 x 0.2 + 1.0 s
    beat(worker, "laptop@elsewhere", age=0.6)  # another machine: no reason to wait for it
    echo(worker)
    worker.step.check()
    assert worker.lost == ["laptop@elsewhere"]
    beat(worker, "quiet@host", age=1.5)
    worker.step.check()
    assert worker.lost == ["laptop@elsewhere", "quiet@host"]


@pytest.fixture
def dead_pid():
    """The pid of a real process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc.kill()
    proc.wait()
    return proc.pid


needs_boot_id = pytest.mark.skipif(fast_gossip.MACHINE is None, reason="no boot id (not Linux)")


@needs_boot_id
def test_every_heartbeat_says_which_machine_sent_it(worker):
    worker.c.heart._send("worker-heartbeat")
    assert worker.sent[-1]["kit_machine"] == fast_gossip.MACHINE


@needs_boot_id
def test_a_peer_here_whose_process_exited_is_lost_after_one_echo(worker, dead_pid):
    beat(worker, "killed@host", freq=60.0, pid=dead_pid, kit_machine=fast_gossip.MACHINE)
    before = len(worker.sent)
    worker.step.check()
    assert worker.lost == [], "not before a heartbeat of ours sent after it exited comes back"
    assert [e["type"] for e in worker.sent[before:]] == ["worker-heartbeat"], "one sent at once"
    worker.step.check()
    assert worker.lost == [] and len(worker.sent) == before + 1, "one heartbeat per exit"
    echo(worker)
    worker.step.check()
    assert worker.lost == ["killed@host"], "its heartbeats (freq 60 s) alone would keep it alive"
    assert "killed@host" not in worker.c.gossip.state.workers


@needs_boot_id
def test_a_peer_here_that_left_before_exiting_is_not_called_lost(worker, dead_pid):
    beat(worker, "stopped@host", freq=60.0, pid=dead_pid, kit_machine=fast_gossip.MACHINE)
    worker.step.check()
    offline = {"type": "worker-offline", "hostname": "stopped@host", "timestamp": time.time()}
    worker.c.gossip.state.event(dict(offline, local_received=time.time()))  # read before the echo
    echo(worker)
    worker.step.check()
    assert worker.left == ["stopped@host"] and worker.lost == []


@needs_boot_id
def test_a_running_peer_here_or_a_dead_pid_elsewhere_is_judged_by_heartbeats(worker, dead_pid):
    import os

    beat(worker, "alive@host", freq=60.0, pid=os.getpid(), kit_machine=fast_gossip.MACHINE)
    beat(worker, "laptop@host", freq=60.0, pid=dead_pid, kit_machine="another machine")
    worker.step.check()
    echo(worker)
    worker.step.check()
    assert worker.lost == []
