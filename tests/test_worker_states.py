"""The one worker-state model: join, ready, busy, leave, lost (gossip or Celery's expiry), replay."""

from celery.events.state import Worker

import kit
from kit.record import fileformat
from kit.worker_states import BUSY, JOINED, LEFT, LOST, READY, Change, WorkerStates

T0 = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at=T0):
        self.at = at

    def __call__(self):
        return self.at


def event(kind, host, at, **fields):
    return {"type": kind, "hostname": host, "timestamp": at, "local_received": at, **fields}


def booted(model, host, at, freq=2.0):
    """worker-online, then kit-ready a moment later: a worker that joined and is ready."""
    model.on_event(event("worker-online", host, at, pid=41, freq=freq))
    model.on_event(event("kit-ready", host, at + 0.1, pid=41))


def test_a_join_then_kit_ready_is_joined_then_ready_with_the_time_of_each():
    clock = Clock()
    model = WorkerStates(clock)
    assert model.on_event(event("worker-online", "w1@h", T0, pid=41, freq=2.0))
    assert model.state("w1@h") == JOINED and not model.ready("w1@h")
    assert model.present() == ["w1@h"] and model.pid("w1@h") == 41
    assert model.on_event(event("kit-ready", "w1@h", T0 + 0.5))
    assert model.changes("w1@h") == [Change(T0, JOINED), Change(T0 + 0.5, READY)]
    assert model.ready("w1@h") and model.state("w1@h") == READY


def test_a_task_makes_it_busy_until_it_ends():
    clock = Clock()
    model = WorkerStates(clock)
    booted(model, "w1@h", T0)
    model.on_event(event("task-started", "w1@h", T0 + 1, uuid="a"))
    model.on_event(event("task-started", "w1@h", T0 + 1.1, uuid="b"))
    assert model.state("w1@h") == BUSY
    model.on_event(event("task-succeeded", "w1@h", T0 + 1.2, uuid="a"))
    assert model.state("w1@h") == BUSY, "one task still runs"
    model.on_event(event("task-failed", "w1@h", T0 + 1.3, uuid="b"))
    assert model.state("w1@h") == READY and model.changes("w1@h")[-1] == Change(T0 + 1.3, READY)


def test_a_warm_shutdown_is_left_and_a_node_lost_is_lost_once():
    clock = Clock()
    model = WorkerStates(clock)
    for name in ("w1@h", "w2@h", "w3@h"):
        booted(model, name, T0)
    model.on_event(event("worker-offline", "w2@h", T0 + 3))
    model.on_event(event("kit-gossip", "w1@h", T0 + 3.2, event="node_lost", peer="w3@h"))
    # every peer reports the loss: the first report is when it was lost
    model.on_event(event("kit-gossip", "w2@h", T0 + 3.4, event="node_lost", peer="w3@h"))
    clock.at = T0 + 3.5
    assert model.state("w2@h") == LEFT and model.state("w3@h") == LOST
    assert model.ended() == {"w2@h": (T0 + 3, LEFT), "w3@h": (T0 + 3.2, LOST)}
    assert model.present() == ["w1@h"]
    model.on_event(event("worker-online", "w3@h", T0 + 3.6, pid=42, freq=2.0))
    assert model.state("w3@h") == JOINED and "w3@h" not in model.ended()


def test_silence_is_lost_by_celerys_own_expiry_rule_at_the_views_clock():
    """No gossip report (no peer left to report it): Celery's `Worker.heartbeat_expires` decides."""
    clock = Clock()
    model = WorkerStates(clock)
    booted(model, "w1@h", T0, freq=0.5)
    model.on_event(event("worker-heartbeat", "w1@h", T0 + 1.0, freq=0.5, processed=3))
    celery_says = Worker(hostname="w1@h", freq=0.5)
    celery_says.event("heartbeat", T0, T0)
    celery_says.event("heartbeat", T0 + 1.0, T0 + 1.0)
    expires = celery_says.heartbeat_expires
    assert expires == T0 + 2.0, "Celery's rule: last heartbeat + 2 x freq"
    clock.at = expires - 0.01
    assert model.state("w1@h") == READY and model.present() == ["w1@h"]
    clock.at = expires
    assert model.state("w1@h") == LOST and model.present() == []
    assert model.ended() == {"w1@h": (expires, LOST)} and model.processed("w1@h") == 3
    # heard again (a stalled worker back): there again, ready as it was
    model.on_event(event("worker-heartbeat", "w1@h", expires + 1, freq=0.5))
    clock.at = expires + 1.2
    assert model.state("w1@h") == READY


def test_a_worker_running_before_the_view_watched_is_ready_from_its_first_heartbeat():
    model = WorkerStates(Clock())
    model.on_event(event("worker-heartbeat", "old@h", T0, freq=2.0))
    assert model.state("old@h") == READY and model.ready("old@h")
    model.heard("pinged@h", at=T0)
    assert model.present() == ["old@h", "pinged@h"]


def test_a_replay_shows_the_states_at_its_position_and_starts_again_when_it_goes_back(tmp_path):
    path = tmp_path / "run.jsonl"
    events = [
        event("worker-online", "w1@h", T0 + 0.1, pid=1, freq=2.0),
        event("worker-online", "w2@h", T0 + 0.2, pid=2, freq=2.0),
        event("kit-ready", "w1@h", T0 + 0.5),
        event("kit-ready", "w2@h", T0 + 0.6),
        *(event("worker-heartbeat", "w1@h", T0 + t, freq=2.0) for t in (1.5, 3.0, 4.5, 6.0)),
        event("worker-heartbeat", "w2@h", T0 + 1.6, freq=2.0),
        event("kit-gossip", "w1@h", T0 + 2.4, event="node_lost", peer="w2@h"),
    ]
    lines = [fileformat.header(started_at=T0, recorded_at=T0)]
    # in the order a feed sees them
    events.sort(key=lambda e: e["timestamp"])
    lines += [{"kind": "event", "at": e["timestamp"], "event": e} for e in events]
    path.write_text("".join(fileformat.line(r) for r in lines))
    rp = kit.replay(path)
    try:
        rp.seek(0.3)
        assert rp.workers == ["w1@h", "w2@h"]
        assert rp.worker_states.state("w1@h") == JOINED
        rp.seek(2.0)
        assert [rp.worker_states.state(n) for n in rp.workers] == [READY, READY]
        rp.seek(5.0)
        assert rp.workers == ["w1@h"] and rp.worker_states.ended() == {"w2@h": (T0 + 2.4, LOST)}
        rp.seek(0.15)  # back: the model starts again from the recording's start
        assert rp.workers == ["w1@h"] and rp.worker_states.state("w2@h") is None
    finally:
        rp.close()
