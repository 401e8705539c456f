"""Tests for kit.blueprints.snapshot: static resolution, live replies and step errors."""

import pytest
from celery import Celery, bootsteps

from kit.blueprints.snapshot import (
    CrossBlueprintError,
    NotAStepError,
    Snapshot,
    StepCycleError,
    StepError,
    UnknownRequirementError,
    blueprint_steps,
    check_app_steps,
    cross_blueprint_errors,
    live_snapshot,
)

W = "celery.worker.components"
C = "celery.worker.consumer"
WORKER_LABELS = {"Hub", "Pool", "Beat", "Timer", "StateDB", "Consumer", "Autoscaler"}
CONSUMER_LABELS = {
    "Connection",
    "Mingle",
    "Events",
    "Gossip",
    "Heart",
    "Control",
    "Tasks",
    "DelayedDelivery",
    "event loop",
    "Agent",
}


# The steps of Celery's "Extensions and Bootsteps" guide, trimmed to what the graph needs.
class InfoStep(bootsteps.Step):
    requires = {"celery.worker.components:Pool"}


class DeadlockDetection(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}


class MyConsumerStep(bootsteps.ConsumerStep):
    def get_consumers(self, channel):
        return []


class ElectionCallbacks(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}


def guide_app():
    app = Celery("guide")
    app.steps["worker"].update({InfoStep, DeadlockDetection})
    app.steps["consumer"].update({MyConsumerStep, ElectionCallbacks})
    return app


def by_label(snap, bp):
    return {s.label: s for s in snap.steps(bp)}


def assert_boot_order_respects_requires(steps):
    order = {s.name: s.order for s in steps}
    assert sorted(order.values()) == list(range(1, len(steps) + 1))
    for step in steps:
        for req in step.requires:
            assert order[req] < order[step.name], (step.name, req)
        if step.last:
            assert step.order == len(steps)


def test_default_blueprints_static():
    snap = blueprint_steps(Celery("lab"))
    worker, consumer = by_label(snap, "worker"), by_label(snap, "consumer")
    assert set(worker) == WORKER_LABELS and set(consumer) == CONSUMER_LABELS
    assert not snap.live and snap.app == "lab" and snap.hostname is None
    assert worker["Pool"].requires == (f"{W}.Hub",)
    assert worker["Hub"].requires == (f"{W}.Timer",)
    assert worker["Autoscaler"].ref == "celery.worker.autoscale:WorkerComponent"
    assert consumer["Gossip"].requires == (f"{C}.mingle.Mingle",)
    assert consumer["Control"].requires == (f"{C}.tasks.Tasks",)
    assert worker["Timer"].name == f"{W}.Timer" and worker["Timer"].ref == f"{W}:Timer"
    assert [s.label for s in snap.worker if s.last] == ["Consumer"]
    assert [s.label for s in snap.consumer if s.last] == ["event loop"]
    conditional = {
        s.label for bp in ("worker", "consumer") for s in snap.steps(bp) if s.conditional
    }
    assert conditional == {"Beat", "StateDB", "Autoscaler", "Agent", "Hub"}
    assert not any(s.user for s in snap.worker + snap.consumer)
    assert all(s.enabled is None and s.started is None for s in snap.worker)
    assert_boot_order_respects_requires(snap.worker)
    assert_boot_order_respects_requires(snap.consumer)


def test_static_snapshot_is_deterministic():
    assert blueprint_steps(Celery("a")).worker == blueprint_steps(Celery("b")).worker


def test_guide_steps():
    snap = blueprint_steps(guide_app())
    worker, consumer = by_label(snap, "worker"), by_label(snap, "consumer")
    assert worker["InfoStep"].requires == (f"{W}.Pool",) and worker["InfoStep"].user
    assert worker["DeadlockDetection"].requires == (f"{W}.Timer",)
    assert worker["DeadlockDetection"].ref == f"{DeadlockDetection.__module__}:DeadlockDetection"
    assert consumer["MyConsumerStep"].requires == (f"{C}.connection.Connection",)
    assert consumer["ElectionCallbacks"].requires == (f"{C}.gossip.Gossip",)
    assert consumer["ElectionCallbacks"].user and not consumer["Gossip"].user
    assert set(worker) == WORKER_LABELS | {"InfoStep", "DeadlockDetection"}
    assert_boot_order_respects_requires(snap.worker)
    assert_boot_order_respects_requires(snap.consumer)


def test_requires_are_followed_transitively_and_not_mutated():
    class Base(bootsteps.Step):
        requires = ("celery.worker.components:Timer",)

    class Top(bootsteps.Step):
        requires = (Base,)
        conditional = True

    app = Celery("lab")
    app.steps["worker"].add(Top)
    worker = by_label(blueprint_steps(app), "worker")
    assert worker["Base"].requires == (f"{W}.Timer",) and worker["Top"].requires == (Base.name,)
    assert worker["Top"].conditional and not worker["Base"].conditional
    assert Base.requires == (
        "celery.worker.components:Timer",
    )  # Celery's _firstpass would rewrite it


def test_steps_are_not_instantiated_and_no_broker_is_needed():
    class Boom(bootsteps.StartStopStep):
        requires = ("celery.worker.components:Pool",)

        def __init__(
            self, worker, deadlock_timeout=3600
        ):  # the guide's signature: breaks a real boot
            raise AssertionError("a static snapshot must not instantiate steps")

    app = Celery("lab", broker="redis://127.0.0.1:1/0")
    app.steps["worker"].add(Boom)
    assert by_label(blueprint_steps(app), "worker")["Boom"].requires == (f"{W}.Pool",)


def test_strings_in_app_steps_are_resolved():
    app = Celery("lab")
    app.steps["worker"].add(f"{InfoStep.__module__}:InfoStep")
    assert "InfoStep" in by_label(blueprint_steps(app), "worker")


def test_source_kinds():
    snap = blueprint_steps(Celery("lab"))
    assert blueprint_steps(snap) is snap

    class FakeCluster:
        def inspect_blueprint(self, worker):
            self.asked = worker
            return LIVE_REPLY

    cluster = FakeCluster()
    live = blueprint_steps(cluster, worker="w1@host")
    assert cluster.asked == "w1@host" and live.hostname == "w1@host" and live.live
    with pytest.raises(ValueError, match="worker='w1'"):
        blueprint_steps(Celery("lab"), worker="w1")
    with pytest.raises(TypeError, match="42"):
        blueprint_steps(42)
    with pytest.raises(ValueError, match="'pool'"):
        snap.steps("pool")


def step(mod, cls, order, requires=(), **fields):
    base = {
        "name": f"{mod}.{cls}",
        "ref": f"{mod}:{cls}",
        "label": cls,
        "requires": list(requires),
        "enabled": True,
        "last": False,
        "order": order,
        "started": True,
        "timings": {"__init__": 0.00002, "create": 0.0001, "start": 0.002},
        "error": None,
    }
    return base | fields


LIVE_REPLY = {
    "hostname": "w1@host",
    "worker": [
        step(W, "Timer", 1),
        step(W, "Hub", 2, [f"{W}.Timer"]),
        step(W, "Pool", 3, [f"{W}.Hub"]),
        step(
            "celery.worker.autoscale",
            "WorkerComponent",
            4,
            [f"{W}.Pool"],
            label="Autoscaler",
            enabled=False,
            started=False,
            timings={"__init__": 0.00001},
        ),
        step(W, "Beat", 5, enabled=False, started=False, timings={"__init__": 0.00001}),
        step(W, "StateDB", 6, enabled=False, started=False, timings={"__init__": 0.00001}),
        step("lab", "DeadlockDetection", 7, [f"{W}.Timer"]),
        step(
            W,
            "Consumer",
            8,
            last=True,
            started=False,
            timings={"__init__": 0.00001, "create": 0.048, "include": 0.04802},
        ),
    ],
    "consumer": [
        step(f"{C}.connection", "Connection", 1),
        step(f"{C}.events", "Events", 2, [f"{C}.connection.Connection"]),
        step(f"{C}.mingle", "Mingle", 3, [f"{C}.events.Events"], enabled=False, started=False),
        step(f"{C}.gossip", "Gossip", 4, [f"{C}.mingle.Mingle"]),
        step(f"{C}.heart", "Heart", 5, [f"{C}.events.Events"]),
        step(f"{C}.tasks", "Tasks", 6, [f"{C}.mingle.Mingle"]),
        step(f"{C}.control", "Control", 7, [f"{C}.tasks.Tasks"]),
        step(
            f"{C}.agent", "Agent", 8, [f"{C}.connection.Connection"], enabled=False, started=False
        ),
        step(f"{C}.delayed_delivery", "DelayedDelivery", 9, [f"{C}.tasks.Tasks"]),
        step(f"{C}.consumer", "Evloop", 10, label="event loop", last=True, started=False),
    ],
}


def test_live_reply_is_parsed_in_boot_order():
    snap = live_snapshot(LIVE_REPLY)
    worker = by_label(snap, "worker")
    assert [s.label for s in snap.worker][:3] == ["Timer", "Hub", "Pool"]
    assert worker["Beat"].enabled is False and worker["StateDB"].enabled is False
    assert worker["Beat"].conditional and worker["StateDB"].conditional
    assert worker["Timer"].enabled and worker["Timer"].started
    assert worker["Timer"].timings == {"__init__": 0.00002, "create": 0.0001, "start": 0.002}
    assert worker["DeadlockDetection"].user and not worker["Pool"].user
    assert worker["Consumer"].last and worker["Consumer"].order == 8
    assert by_label(snap, "consumer")["Mingle"].requires == (f"{C}.events.Events",)


def test_bad_live_reply():
    with pytest.raises(ValueError, match="not a blueprint reply"):
        live_snapshot({"hostname": "w1@host", "worker": []})
    with pytest.raises(ValueError, match="'worker': None"):
        blueprint_steps({"worker": None, "consumer": []})
    with pytest.raises(ValueError, match=r"not a blueprint reply \(.*\): None"):
        live_snapshot(None)


def cyclic_app(*classes, blueprint="worker"):
    app = Celery("broken")
    app.steps[blueprint].update(classes)
    return app


@pytest.mark.timeout(10)
def test_two_step_cycle_is_named():
    class A(bootsteps.Step):
        pass

    class B(bootsteps.Step):
        requires = (A,)

    A.requires = (B,)
    with pytest.raises(StepCycleError) as info:
        check_app_steps(cyclic_app(A))
    assert f"{A.name} -> {B.name} -> {A.name}" in str(info.value)
    assert isinstance(info.value, StepError) and isinstance(info.value, ValueError)


@pytest.mark.timeout(10)
def test_self_cycle_is_named():
    class Selfish(bootsteps.StartStopStep):
        pass

    Selfish.requires = (Selfish,)
    with pytest.raises(StepCycleError, match=f"{Selfish.name} -> {Selfish.name}$"):
        blueprint_steps(cyclic_app(Selfish, blueprint="consumer"))


@pytest.mark.timeout(10)
def test_cycle_below_the_step_names_only_the_cycle():
    class X(bootsteps.Step):
        pass

    class Y(bootsteps.Step):
        requires = (X,)

    class Z(bootsteps.Step):
        requires = (Y, "celery.worker.components:Timer")

    X.requires = (Z,)

    class Root(bootsteps.Step):
        requires = (X,)

    with pytest.raises(StepCycleError) as info:
        check_app_steps(cyclic_app(Root))
    message = str(info.value)
    assert f"{X.name} -> {Z.name} -> {Y.name} -> {X.name}" in message and Root.name not in message


@pytest.mark.timeout(10)
def test_unknown_requirement_names_step_and_string():
    class Needy(bootsteps.Step):
        requires = ("celery.worker.components:Nope",)

    with pytest.raises(UnknownRequirementError) as info:
        check_app_steps(cyclic_app(Needy))
    assert repr(Needy.name) in str(info.value) and "'celery.worker.components:Nope'" in str(
        info.value
    )

    Needy.requires = ("no_such_module_xyz:Step",)
    with pytest.raises(UnknownRequirementError, match="no_such_module_xyz:Step"):
        check_app_steps(cyclic_app(Needy))


def test_unknown_string_in_app_steps():
    with pytest.raises(UnknownRequirementError, match=r"app.steps\['consumer'\].*'nowhere:Step'"):
        check_app_steps(cyclic_app("nowhere:Step", blueprint="consumer"))


def test_not_a_step():
    class Plain:
        pass

    with pytest.raises(NotAStepError, match="not a celery.bootsteps.Step subclass") as info:
        check_app_steps(cyclic_app(Plain))
    assert "Plain" in str(info.value) and isinstance(info.value, TypeError)

    class NeedsAFunction(bootsteps.Step):
        requires = (len,)

    with pytest.raises(
        NotAStepError, match=f"{NeedsAFunction.name!r} requires <built-in function len>"
    ):
        check_app_steps(cyclic_app(NeedsAFunction))
    with pytest.raises(NotAStepError, match="an instance"):
        check_app_steps(cyclic_app(DeadlockDetection(None)))


def test_requires_given_as_a_bare_string():
    class Typo(bootsteps.Step):
        requires = "celery.worker.components:Timer"

    with pytest.raises(
        StepError, match=r"use a tuple, e.g. requires=\('celery.worker.components:Timer',\)"
    ):
        check_app_steps(cyclic_app(Typo))


def test_check_app_steps_passes_a_good_app():
    assert check_app_steps(guide_app()) is None


def test_two_classes_with_one_name_warn():
    def make():
        class Rerun(bootsteps.Step):
            pass

        return Rerun

    with pytest.warns(UserWarning, match="re-run cell"):
        snap = blueprint_steps(cyclic_app(make(), make()))
    assert [s.label for s in snap.worker].count("Rerun") == 1


def test_snapshot_find():
    snap = blueprint_steps(guide_app())
    assert [(bp, s.label) for bp, s in snap.find("Timer")] == [("worker", "Timer")]
    assert snap.find(f"{W}:Pool")[0][1].label == "Pool" and snap.find("nothing") == []
    assert isinstance(snap, Snapshot)


# -- a step may only require steps of its own blueprint (Celery issue 3955) --
class ConsumerNeedsTimer(bootsteps.StartStopStep):  # written after the guide's timer section
    requires = {"celery.worker.components:Timer"}


class NeedsPool(bootsteps.Step):
    requires = {"celery.worker.components:Pool"}


class ConsumerChain(bootsteps.StartStopStep):
    requires = (NeedsPool,)


class WorkerNeedsGossip(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}


def one_step_app(kind, step):
    app = Celery("cross")
    app.steps[kind].add(step)
    return app


def test_consumer_step_requiring_a_worker_step_names_both_and_the_fix():
    with pytest.raises(CrossBlueprintError) as caught:
        check_app_steps(one_step_app("consumer", ConsumerNeedsTimer))
    error = caught.value
    assert isinstance(error, StepError)
    assert (error.blueprint, error.required, error.required_blueprint) == (
        "consumer",
        f"{W}.Timer",
        "worker",
    )
    text = str(error)
    assert text.startswith(f"consumer step '{__name__}.ConsumerNeedsTimer' requires '{W}.Timer'")
    assert "a step of the worker blueprint" in text and "c.timer is already there" in text


def test_cross_blueprint_through_a_chain_names_the_chain_and_the_step_to_fix():
    with pytest.raises(
        CrossBlueprintError, match=r"through ConsumerChain -> NeedsPool -> Pool"
    ) as caught:
        check_app_steps(one_step_app("consumer", ConsumerChain))
    assert "drop 'celery.worker.components.Pool' from NeedsPool.requires" in str(caught.value)
    assert "c.pool is already there" in str(caught.value)


def test_worker_step_requiring_a_consumer_step_is_told_to_move():
    with pytest.raises(
        CrossBlueprintError, match=r"move WorkerNeedsGossip to app.steps\['consumer'\]"
    ):
        blueprint_steps(one_step_app("worker", WorkerNeedsGossip))
    with pytest.raises(
        CrossBlueprintError, match=r"requires 'celery.worker.consumer.connection.Connection'"
    ):
        check_app_steps(
            one_step_app("worker", bootsteps.ConsumerStep)
        )  # the docs' ConsumerStep, misplaced


def test_celerys_own_steps_and_the_guides_never_cross():
    """Celery's default steps require only steps of their own blueprint; so do the guide's."""
    assert cross_blueprint_errors(Celery("plain")) == []
    assert cross_blueprint_errors(guide_app()) == []
    # the same step in both blueprints, or a helper pulled into both, is not a cross-blueprint require
    app = Celery("both")
    app.steps["worker"].add(NeedsPool)
    app.steps["consumer"].add(MyConsumerStep)
    assert cross_blueprint_errors(app) == []


def test_requires_left_as_a_placeholder_is_named():
    class Starter(bootsteps.Step):  # an exercise's starter cell: requires = ...  # TODO
        requires = ...

    with pytest.raises(StepError, match=r"requires=Ellipsis: use a tuple or set of steps"):
        check_app_steps(one_step_app("worker", Starter))
