"""The Celery internals the kit's probes touch (kit/worker/internals.py) exist in this Celery release."""

import celery
import pytest
from celery import Celery

from kit.worker import internals


@pytest.fixture(scope="module")
def worker():
    """An unstarted WorkController: its steps are created, nothing connects.

    Building one sets process-wide worker state (the default app, "never call result.get() in a
    task"); it is put back afterwards, so later tests in this process still wait for results.
    """
    from celery import _state

    saved = (_state.default_app, _state._tls.current_app, _state.task_join_will_block())
    app = Celery("internals", broker="redis://127.0.0.1:1/0", set_as_current=False)
    yield app.WorkController(pool_cls="threads", without_mingle=True)
    _state.set_default_app(saved[0])
    _state._set_current_app(saved[1])
    _state._set_task_join_will_block(saved[2])


def test_every_internal_the_kit_touches_is_still_there(worker):
    problems = internals.missing(worker)
    assert not problems, f"Celery {celery.__version__}:\n" + "\n".join(problems)


def test_a_renamed_internal_is_named_with_its_use(worker, monkeypatch):
    from celery.worker.consumer.gossip import Gossip

    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    monkeypatch.delattr(gossip, "consensus_requests")
    monkeypatch.delattr(Gossip, "on_elect_ack")
    monkeypatch.delattr("celery.worker.state.active_requests")
    problems = internals.missing(worker)
    assert len(problems) == 3, problems
    assert problems[2].startswith("celery.worker.state:active_requests is gone")
    assert problems[0].startswith("gossip.on_elect_ack is gone")
    assert "gossip.consensus_requests is gone" in problems[1]
    assert (
        "guards the single-request case" in problems[1] and "kit/worker/internals.py" in problems[1]
    )


def test_the_leader_is_celerys_choice(worker):
    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    lone = [(3, "w1@h.10", "kit", None)]
    tie = [(3, "w2@h.11", "kit", None), (3, "w1@h.10", "kit", None), (4, "w0@h.9", "kit", None)]
    assert internals.leader(gossip, lone) == lone[0]
    # kombu's pick, quirks included: of the equal clocks it compares all but the last
    assert internals.leader(gossip, tie) == gossip.clock.sort_heap(tie) == tie[0]


def test_a_lone_election_request_is_decided_by_celery_without_killing_the_worker(worker):
    """Celery's own on_elect_ack, behind the kit's guard, with one request and every ack in."""
    from kit.worker.probes import GossipProbe

    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    probe = GossipProbe(worker.consumer)
    probe.gossip, won = gossip, []
    gossip.election_handlers["kit"] = won.append
    gossip.consensus_replies["e1"] = []
    gossip.consensus_requests["e1"].append((1, gossip.full_hostname, "kit", "go"))
    with pytest.raises(IndexError):  # what Celery does unguarded
        gossip.clock.sort_heap(list(gossip.consensus_requests["e1"]))
    probe._wrap_ack(gossip.on_elect_ack)({"id": "e1", "hostname": "peer@h"})
    assert won == ["go"]
    assert "e1" not in gossip.consensus_requests and "e1" not in gossip.consensus_replies


def _flush_while_a_thread_sends(dispatcher):
    """Flush one buffered task event while "a pool thread" buffers another; returns what is still buffered."""
    from celery.events import Event

    published = []

    def publish(batch, producer, routing_key, **kwargs):
        published.append((routing_key, [e["type"] for e in batch]))
        dispatcher._group_buffer["task"].append(
            Event("task-started")
        )  # sent during the socket write

    dispatcher._publish = publish
    dispatcher._group_buffer["task"].append(Event("task-received"))
    dispatcher.flush(errors=False, groups=True)
    assert published == [("task.multi", ["task-received"])]
    return [e["type"] for e in dispatcher._group_buffer["task"]]


@pytest.fixture
def dispatcher(worker, monkeypatch):
    from celery.events.dispatcher import EventDispatcher

    monkeypatch.setattr(EventDispatcher, "flush", EventDispatcher.flush)  # put back after the test
    return worker.app.events.Dispatcher(worker.app.connection_for_write(), enabled=False)


def test_celery_before_5_7_drops_events_sent_during_a_flush(dispatcher):
    from kit.worker.event_flush import AFFECTED

    kept = _flush_while_a_thread_sends(dispatcher)
    assert kept == ([] if AFFECTED else ["task-started"]), f"Celery {celery.__version__}"


def test_the_guard_keeps_events_sent_during_a_flush(dispatcher):
    internals.keep_events_sent_during_flush()
    assert _flush_while_a_thread_sends(dispatcher) == ["task-started"]


def test_the_gossip_timing_gateway_sets_what_celery_reads(worker):
    """Heart's step reads `heartbeat_interval` in start(); Gossip.register_timer reads `interval`."""
    c = worker.consumer
    gossip = c.blueprint.steps[internals.GOSSIP]
    saved = (internals.heart_step(c).heartbeat_interval, gossip.interval)
    try:
        internals.start_heartbeat_every(c, 0.5)
        internals.check_gossip_every(gossip, 0.25)
        assert internals.heart_step(c).heartbeat_interval == 0.5 and gossip.interval == 0.25
        assert internals.peers_heard(gossip) == []
        assert internals.beat_every(c, 1.0) is False, "no heartbeat runs before Heart starts"
    finally:
        internals.heart_step(c).heartbeat_interval, gossip.interval = saved
