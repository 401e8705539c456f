"""The kit's static checks for the guide's pitfalls."""

import logging
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


class BlocksInStart(bootsteps.StartStopStep):
    def start(self, worker):
        time.sleep(10)


class UsesPoolWithoutRequires(bootsteps.StartStopStep):
    def start(self, worker):
        self.size = worker.pool.num_processes


def problems(cls, kind="worker"):
    return [(f.method, f.problem.split(" ")[0]) for f in check_step(cls, kind)]


def test_each_pitfall_is_found():
    assert problems(GuideDeadlock) == [("__init__", "takes")]
    assert problems(LogsInStop) == [("stop", "logs")]
    assert problems(BlocksInStart) == [("start", "may")]
    assert problems(UsesPoolWithoutRequires) == [("requires", "uses")]


def test_the_kits_own_steps_are_clean():
    for name, (kind, cls) in kit.steps.CATALOG.items():
        assert check_step(cls, kind) == [], name


def test_lint_app_and_cluster_warns_before_booting():
    app = Celery("lint")
    app.steps["worker"].add(LogsInStop)
    assert [str(f) for f in lint(app)] == [
        "LogsInStop.stop: logs or prints (log.info()); it may run in a signal handler, "
        "where logging can deadlock. Record into a list (or kit.events.telemetry.emit(..., safe=False))."
    ]
    app.steps["worker"].add(kit_test_cycle())
    with pytest.warns(StepWarning, match="LogsInStop.stop"), pytest.raises(kit.StepCycleError):
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
    app.steps["worker"].add(LogsInStop)
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
