"""The worker side's gateway (kit/worker/internals.py): its internals exist, each function works."""

import inspect
import pathlib
import re
import time
from types import SimpleNamespace

import celery
import pytest
from celery import Celery, bootsteps
from kombu.asynchronous.timer import Timer

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
    internals.on_election_won(gossip, "kit", won.append)
    gossip.consensus_replies["e1"] = []
    gossip.consensus_requests["e1"].append((1, gossip.full_hostname, "kit", "go"))
    # what Celery does unguarded
    with pytest.raises(IndexError):
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
        # sent during the socket write
        dispatcher._group_buffer["task"].append(Event("task-started"))

    dispatcher._publish = publish
    dispatcher._group_buffer["task"].append(Event("task-received"))
    dispatcher.flush(errors=False, groups=True)
    assert published == [("task.multi", ["task-received"])]
    return [e["type"] for e in dispatcher._group_buffer["task"]]


@pytest.fixture
def dispatcher(worker, monkeypatch):
    from celery.events.dispatcher import EventDispatcher

    # put back after the test
    monkeypatch.setattr(EventDispatcher, "flush", EventDispatcher.flush)
    return worker.app.events.Dispatcher(worker.app.connection_for_write(), enabled=False)


def test_celery_before_5_7_drops_events_sent_during_a_flush(dispatcher):
    from kit.worker.event_flush import AFFECTED

    kept = _flush_while_a_thread_sends(dispatcher)
    assert kept == ([] if AFFECTED else ["task-started"]), f"Celery {celery.__version__}"


def test_the_guard_keeps_events_sent_during_a_flush(dispatcher):
    internals.keep_events_sent_during_flush()
    assert _flush_while_a_thread_sends(dispatcher) == ["task-started"]


def test_every_gateway_function_is_called_by_a_worker_test():
    """A function added to the gateway gets a test here (or in another tests/worker file)."""
    functions = {
        name
        for name, value in vars(internals).items()
        if inspect.isfunction(value)
        and not name.startswith("_")
        and value.__module__ == internals.__name__
    }
    here = pathlib.Path(__file__).parent
    called = set(re.findall(r"internals\.(\w+)\(", "".join(p.read_text() for p in here.glob("*.py"))))
    assert functions - called == set()


def test_wrap_finalize_steps_wraps_celerys_once(monkeypatch):
    # put back after the test
    monkeypatch.setattr(bootsteps.Blueprint, "_finalize_steps", bootsteps.Blueprint._finalize_steps)
    seen = []

    def wrap(original):
        def finalize(self, steps):
            seen.append(self.name)
            return original(self, steps)

        return finalize

    internals.wrap_finalize_steps(wrap)
    internals.wrap_finalize_steps(wrap)
    bootsteps.Blueprint(name="probe").apply(SimpleNamespace())
    assert seen == ["probe"]


def test_timer_entries_are_of_the_kits_class_and_tell_callback_and_cancellation():
    class Mine(internals.Entry):
        __slots__ = ()

    timer = Timer()
    internals.use_entry_class(timer, Mine)
    entry = timer.call_after(60, print)
    try:
        assert type(entry) is Mine and internals.entry_callback(entry) is print
        assert not internals.entry_cancelled(entry)
        entry.cancel()
        assert internals.entry_cancelled(entry)
    finally:
        timer.stop()


def test_heart_step_is_the_consumers_heart(worker):
    heart = internals.heart_step(worker.consumer)
    assert type(heart).__name__ == "Heart" and hasattr(heart, "heartbeat_interval")


def test_live_blueprints_list_the_step_instances_in_boot_order(worker):
    blueprint, consumer = internals.live_blueprints(worker.consumer)
    assert blueprint is worker.blueprint
    worker_names = [type(step).name for step in blueprint.order]
    consumer_names = [type(step).name for step in consumer.order]
    assert worker_names[-1] == "celery.worker.components.Consumer"
    assert internals.GOSSIP in consumer_names and internals.HEART in consumer_names


def test_gossip_peers_are_the_workers_its_state_heard(worker):
    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    now = time.time()
    heartbeat = {"type": "worker-heartbeat", "hostname": "peer@h", "timestamp": now, "freq": 2.0}
    gossip.state.event(dict(heartbeat, local_received=now))
    try:
        assert "peer@h" in internals.gossip_peers(gossip)
    finally:
        gossip.state.workers.pop("peer@h", None)
    assert "peer@h" not in internals.gossip_peers(gossip)


def test_election_is_none_until_celery_knows_it(worker):
    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    assert internals.election(gossip, "unknown") == (None, None)


def test_wrapped_election_handlers_get_celerys_and_receive_its_messages(worker, monkeypatch):
    gossip = worker.consumer.blueprint.steps[internals.GOSSIP]
    for key in ("worker.elect", "worker.elect.ack"):
        # put back after the test
        monkeypatch.setitem(gossip.event_handlers, key, gossip.event_handlers[key])
    wrapped, heard = {}, []

    def recorder(kind):
        def wrap(original):
            wrapped[kind] = original
            return lambda event: heard.append((kind, event["id"]))

        return wrap

    internals.wrap_election_handlers(gossip, recorder("request"), recorder("ack"))
    assert wrapped == {"request": gossip.on_elect, "ack": gossip.on_elect_ack}
    for key, eid in (("worker.elect", "e1"), ("worker.elect.ack", "e2")):
        gossip.on_message(None, SimpleNamespace(delivery_info={"routing_key": key}, payload={"id": eid}))
    assert heard == [("request", "e1"), ("ack", "e2")]


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
