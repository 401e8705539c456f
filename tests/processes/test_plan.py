"""The plan: one pass over the app (options, stale steps, lint, requires, payload) before anything starts."""

import sys
import threading
import warnings

import kit_test_steps as s
import pytest
from celery import Celery, bootsteps

import kit
from kit.processes import options, plan, shipping


def notebook_class(name, **attrs):
    """A step class as a notebook cell defines it (module __main__)."""
    return type(bootsteps.StartStopStep)(
        name, (bootsteps.StartStopStep,), {"__module__": "__main__", **attrs}
    )


def test_plan_holds_the_flags_the_options_and_the_parts_to_ship():
    app = Celery("planned")
    app.steps["worker"].add(s.Recorder)
    p = plan.make(
        app,
        {"kit_greeting": "hi"},
        base=(options.DEFAULTS, {"pool": "solo"}),
        gossip="celery-default",
    )
    assert p.worker_options == {"kit_greeting": "hi"}
    assert p.argv == (
        "-P",
        "solo",
        "-c",
        "2",
        "-l",
        "info",
        "--without-mingle",
        "-E",
        "--kit-greeting",
        "hi",
    )
    assert p.parts["steps"] == {"worker": [s.Recorder], "consumer": []}
    assert p.parts["gossip"] == "celery-default" and "config" not in p.parts


def test_payload_reads_the_apps_configuration_when_shipped():
    app = Celery("later")
    p = plan.make(app)
    app.conf.task_default_queue = "set-after-the-plan"
    assert p.payload(app)["config"]["task_default_queue"] == "set-after-the-plan"


def test_stale_copies_of_a_rerun_cell_are_pruned_by_the_plan_only(monkeypatch):
    app = Celery("rerun")
    old, new = notebook_class("Again"), notebook_class("Again")
    monkeypatch.setattr(sys.modules["__main__"], "Again", new, raising=False)
    app.steps["worker"].update({old, new})
    assert set(shipping.steps_of(app, "worker")) == {old, new}
    assert app.steps["worker"] == {old, new}  # a query leaves the app alone
    assert plan.make(app).parts["steps"]["worker"] == [new]
    assert app.steps["worker"] == {new}


def test_each_check_refuses_before_anything_starts(tmp_path):
    app = Celery("checks")
    with pytest.raises(ValueError, match="unknown worker option 'nope'"):
        plan.make(app, {"nope": 1})
    app.steps["worker"].add(s.CycleA)
    with pytest.raises(kit.StepCycleError):
        plan.make(app)
    app.steps["worker"].discard(s.CycleA)
    app.steps["worker"].add(notebook_class("Locked", lock=threading.Lock()))
    with pytest.raises(shipping.ShippingError, match="worker step 'Locked' can't be shipped"):
        plan.make(app)


def test_plan_warns_about_the_guides_pitfalls():
    app = Celery("lint")
    app.steps["worker"].add(s.BlocksInStart)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan.make(app)
    assert [str(w.message) for w in caught if "BlocksInStart.start: may block" in str(w.message)]


def test_readiness_waits_for_gossip_only_where_workers_report_it():
    app = Celery("gossip-plan")
    assert plan.make(app, workers=3).gossip_reports
    assert plan.make(app, workers=3).parts["gossip_workers"] == 3
    assert plan.make(app, gossip="fast").parts["gossip"] == "sized", "the former name"
    assert not plan.make(app, {"without_gossip": True}).gossip_reports
    assert not plan.make(app, {"without_heartbeat": True}).gossip_reports
    assert not plan.make(app, probes=False).gossip_reports
    with pytest.raises(ValueError, match="gossip='pid-check'"):
        plan.make(app, gossip="pid-check")
