"""What Celery does that the lint's rules rest on, checked on the installed release (5.5.3 and 5.7).

An unstarted WorkController builds both blueprints for real (every step's __init__ and create run,
nothing connects); its Gossip step and events State are Celery's own.
"""

import time

import pytest
from celery import Celery, bootsteps
from celery.utils.imports import symbol_by_name

from kit.worker import internals

SEEN = {}


class ReadsPoolEarly(bootsteps.StartStopStep):
    """Records what worker.pool is in __init__ and in create (requires Pool, as the lint asks)."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        SEEN["pool in __init__"] = worker.pool

    def create(self, worker):
        SEEN["pool in create"] = worker.pool


class TupleOfStrings(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Timer",)


class OldConsumerPath(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer:Gossip",)


@pytest.fixture(scope="module")
def worker():
    """An unstarted WorkController with the steps above; process-wide state put back afterwards."""
    from celery import _state

    saved = (_state.default_app, _state._tls.current_app, _state.task_join_will_block())
    app = Celery("facts", broker="redis://127.0.0.1:1/0", set_as_current=False)
    app.steps["worker"] |= {ReadsPoolEarly, TupleOfStrings}
    app.steps["consumer"].add(OldConsumerPath)
    yield app.WorkController(pool_cls="threads", without_mingle=True)
    _state.set_default_app(saved[0])
    _state._set_current_app(saved[1])
    _state._set_task_join_will_block(saved[2])


def test_every_init_runs_before_any_create_so_the_pool_is_none_in_init(worker):
    """The 'early' rule: requires orders create/start, not __init__ (Blueprint.apply)."""
    assert SEEN["pool in __init__"] is None
    assert SEEN["pool in create"] is worker.pool is not None


class _Parent:
    """What a blueprint is applied to: Celery appends the included steps to `steps`."""

    def __init__(self):
        self.steps, self.calls, self.thing = [], [], None


class ReadsInStart(bootsteps.StartStopStep):
    """Boots first (SetsInCreate requires it) and reads in start() what SetsInCreate creates."""

    def create(self, parent):
        parent.calls.append(("ReadsInStart.create", parent.thing))

    def start(self, parent):
        parent.calls.append(("ReadsInStart.start", parent.thing))


class SetsInCreate(bootsteps.StartStopStep):
    """Sets `parent.thing` in create(), as Pool, Timer and Hub set theirs."""

    requires = (ReadsInStart,)

    def create(self, parent):
        parent.thing = "set"
        parent.calls.append(("SetsInCreate.create", parent.thing))

    def start(self, parent):
        parent.calls.append(("SetsInCreate.start", parent.thing))


def test_every_create_runs_before_any_start_so_start_needs_no_requires():
    """The 'requires' rule: Blueprint.apply runs every create(), then Blueprint.start every start().

    So a step that boots before the one setting an attribute in create() sees it in start().
    """
    parent = _Parent()
    blueprint = bootsteps.Blueprint([ReadsInStart, SetsInCreate], name="facts")
    blueprint.apply(parent)
    blueprint.start(parent)
    assert parent.calls == [
        ("ReadsInStart.create", None),
        ("SetsInCreate.create", "set"),
        ("ReadsInStart.start", "set"),
        ("SetsInCreate.start", "set"),
    ]


def test_pool_and_timer_are_set_before_any_start_and_event_dispatcher_only_in_start(worker):
    """What PROVIDED_BY says: Pool and Timer set theirs in create(), Events in its start()."""
    assert worker.blueprint.started == 0
    assert worker.pool is not None and worker.timer is not None
    # the consumer's blueprint was applied (every __init__ and create), none of it started
    assert (
        worker.consumer.gossip
        is worker.consumer.blueprint.steps["celery.worker.consumer.gossip.Gossip"]
    )
    assert worker.consumer.event_dispatcher is None


def test_requires_as_tuples_and_pre_4_paths_are_honoured(worker):
    """Not bugs: the lint stays quiet about them."""
    from celery.worker.consumer.connection import Connection
    from celery.worker.consumer.gossip import Gossip

    assert symbol_by_name("celery.worker.consumer:Connection") is Connection
    assert symbol_by_name("celery.worker.consumer:Gossip") is Gossip
    order = [s.name for s in worker.blueprint.order]
    assert order.index(TupleOfStrings.name) > order.index("celery.worker.components.Timer")
    order = [s.name for s in worker.consumer.blueprint.order]
    assert order.index(OldConsumerPath.name) > order.index(internals.GOSSIP)


@pytest.fixture
def gossip(worker):
    """The worker's Gossip step, with its assigned handlers and added callbacks removed afterwards."""
    step = worker.consumer.blueprint.steps[internals.GOSSIP]
    events = ("node_join", "node_leave", "node_lost")
    sets = {event: set(getattr(step.on, event)) for event in events}
    yield step
    for name in ("on_node_join", "on_node_lost"):
        vars(step).pop(name, None)
    for event, handlers in sets.items():
        getattr(step.on, event).intersection_update(handlers)


def _event(kind, hostname, age=0.0):
    when = time.time() - age
    return {
        "type": f"worker-{kind}",
        "hostname": hostname,
        "timestamp": when,
        "local_received": when,
        "freq": 2.0,
    }


def test_an_assigned_on_node_join_is_never_called_but_a_callback_in_on_is(gossip):
    """The 'gossip' rule: Gossip.__init__ handed its bound method to the events State."""
    calls = []
    gossip.on_node_join = lambda peer: calls.append(("assigned", peer.hostname))
    gossip.on.node_join.add(lambda peer: calls.append(("added", peer.hostname)))
    gossip.state.event(_event("online", "peer-join@facts"))
    assert calls == [("added", "peer-join@facts")]


def test_an_assigned_on_node_lost_replaces_celerys_handler_and_the_callbacks_in_on(gossip):
    """The 'gossip' rule: periodic() looks on_node_lost up each time, so the new one runs alone."""
    calls = []
    gossip.on.node_lost.add(lambda peer: calls.append(("added", peer.hostname)))
    gossip.state.event(_event("heartbeat", "peer-lost@facts", age=3600))
    gossip.on_node_lost = lambda peer: calls.append(("assigned", peer.hostname))
    gossip.periodic()
    assert calls == [("assigned", "peer-lost@facts")]
