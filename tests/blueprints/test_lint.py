"""The kit's static checks for the guide's pitfalls."""

import inspect
import logging
import os
import time

import pytest
from celery import Celery, bootsteps

import kit
from kit.blueprints.lint import StepWarning, check_step, lint

log = logging.getLogger(__name__)


class GuideDeadlock(bootsteps.StartStopStep):  # the guide's signature
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, deadlock_timeout=3600):
        self.timeout = deadlock_timeout

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(30.0, print)


class LogsInStop(bootsteps.StartStopStep):
    def stop(self, worker):
        log.info("stopping")


class TimerNeverCancelled(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(1.0, self.touch)

    def touch(self):
        pass


class WaitsForFile(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        while not os.path.exists("/nonexistent/ready"):
            time.sleep(1)


class PatchesGossip(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        c.gossip.on_node_join = self.joined

    def joined(self, worker):
        pass


class BlocksInStart(bootsteps.StartStopStep):
    def start(self, worker):
        time.sleep(10)


class UsesPoolWithoutRequires(bootsteps.StartStopStep):
    def create(self, worker):
        self.size = worker.pool.num_processes


class UsesPoolInStart(bootsteps.StartStopStep):
    """Every step's create() (Pool's too) runs before any step's start(): no requires needed."""

    def start(self, worker):
        self.size = worker.pool.num_processes


class UsesPoolInInit(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.size = worker.pool.num_processes


class SendsInCreate(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.events:Events"}

    def create(self, c):
        c.event_dispatcher.send("kit-created")


class SendsInStart(bootsteps.StartStopStep):
    def start(self, c):
        c.event_dispatcher.send("kit-started")


def problems(cls, kind="worker"):
    return [(f.method, f.problem.split(" ")[0]) for f in check_step(cls, kind)]


def test_each_pitfall_is_found():
    assert problems(GuideDeadlock) == [("__init__", "takes"), ("start", "schedules")]
    assert problems(BlocksInStart) == [("start", "may")]
    assert problems(UsesPoolWithoutRequires) == [("requires", "uses")]
    assert problems(TimerNeverCancelled) == [("start", "schedules")]
    assert problems(WaitsForFile) == [("__init__", "waits")]
    assert problems(PatchesGossip, "consumer") == [("start", "assigns")]


def test_a_parent_attribute_is_judged_by_the_phase_that_sets_it():
    """Blueprint.apply runs every __init__, then every include/create; Blueprint.start, every start."""
    assert check_step(UsesPoolInStart) == []
    (init,) = check_step(UsesPoolInInit)
    assert (init.method, init.kind) == ("__init__", "early")
    assert "Pool sets it in its create()" in init.problem
    assert init.problem.endswith(
        "Read it in create() and require 'celery.worker.components:Pool', or read it in start()."
    )
    (create,) = check_step(UsesPoolWithoutRequires)
    assert (create.method, create.kind) == ("requires", "requires")
    assert "in create() but does not require 'celery.worker.components:Pool'" in create.problem
    assert create.problem.endswith("or read it in start(), where it always exists.")
    # Events sets c.event_dispatcher in start(): None in any create(), whatever requires says
    (sends,) = check_step(SendsInCreate, "consumer")
    assert (sends.method, sends.kind) == ("create", "early")
    (unordered,) = check_step(SendsInStart, "consumer")
    assert unordered.kind == "requires" and "before Events.start() sets it" in unordered.problem


def test_logging_in_stop_is_fine_stop_runs_from_the_main_loop_not_a_signal_handler():
    assert check_step(LogsInStop) == []


def line_of(cls, method, text):
    """The line of the first line of ``cls.method`` that contains ``text``."""
    lines, first = inspect.getsourcelines(getattr(cls, method))
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_each_finding_names_the_line_and_the_fix():
    (timer,) = check_step(TimerNeverCancelled)
    assert timer.line == line_of(TimerNeverCancelled, "start", "call_repeatedly")
    assert f"(line {timer.line})" in timer.problem
    assert timer.problem.endswith(
        "Keep it (self.tref = ...) and call self.tref.cancel() in stop()."
    )
    (wait,) = check_step(WaitsForFile)
    assert wait.line == line_of(WaitsForFile, "__init__", "while")
    assert "until os.path.exists('/nonexistent/ready') is true" in wait.problem
    assert "Give the loop a deadline" in wait.problem
    (blocks,) = check_step(BlocksInStart)
    assert blocks.line == line_of(BlocksInStart, "start", "sleep")
    (gossip,) = check_step(PatchesGossip, "consumer")
    assert "has no effect" in gossip.problem and "c.gossip.on.node_join" in gossip.problem


def test_the_kits_own_steps_are_clean():
    for name, (kind, cls) in kit.steps.CATALOG.items():
        assert check_step(cls, kind) == [], name


def test_lint_app_and_cluster_warns_before_booting():
    app = Celery("lint")
    app.steps["worker"].add(TimerNeverCancelled)
    line = line_of(TimerNeverCancelled, "start", "call_repeatedly")
    assert [str(f) for f in lint(app)] == [
        "TimerNeverCancelled.start: schedules a timer entry with worker.timer.call_repeatedly() "
        f"(line {line}) that stop() never cancels: nothing removes it before the worker's own timer "
        "stops, so start() cannot run twice without doubling it. Keep it (self.tref = ...) and call "
        "self.tref.cancel() in stop()."
    ]
    app.steps["worker"].add(kit_test_cycle())
    with (
        pytest.warns(StepWarning, match="TimerNeverCancelled.start"),
        pytest.raises(kit.StepCycleError),
    ):
        kit.LocalCluster(app, progress=False)


def kit_test_cycle():
    import kit_test_steps

    return kit_test_steps.CycleA


def test_inherited_methods_are_checked_and_the_kits_bases_are_not():
    class SlowerBlocks(BlocksInStart):
        seconds = 8

    class Quiet(kit.steps.DeadlockDetection):
        timeout = 2.0

    assert problems(SlowerBlocks) == [("start", "may")]
    assert problems(Quiet) == []


def test_warning_points_at_the_users_line():
    app = Celery("where")
    app.steps["worker"].add(TimerNeverCancelled)
    app.steps["worker"].add(kit_test_cycle())
    with pytest.warns(StepWarning) as caught, pytest.raises(kit.StepCycleError):
        kit.LocalCluster(app, progress=False)
    assert caught[0].filename == __file__


def test_cross_blueprint_requires_are_found_by_lint_graph_and_cluster_before_any_worker():
    from test_snapshot import ConsumerNeedsTimer

    app = Celery("cross")
    app.steps["consumer"].add(ConsumerNeedsTimer)
    (finding,) = lint(app)
    assert (finding.step, finding.method) == ("ConsumerNeedsTimer", "requires")
    assert "a step of the worker blueprint" in finding.problem
    with pytest.raises(kit.CrossBlueprintError, match="c.timer is already there"):
        kit.blueprint_graph(app)
    with pytest.raises(kit.CrossBlueprintError, match="c.timer is already there"):
        kit.LocalCluster(app, progress=False)
