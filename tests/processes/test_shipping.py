"""Shipping the notebook's app: config, steps by reference or by value, tasks, re-run cells."""

import sys
import threading

import kit_test_steps as s
import pytest
from celery import Celery, bootsteps

from kit.processes import shipping


def notebook_class(name, **attrs):
    """A step class as a notebook cell defines it (module __main__)."""
    return type(bootsteps.StartStopStep)(
        name, (bootsteps.StartStopStep,), {"__module__": "__main__", **attrs}
    )


def test_config_keeps_user_changes_and_drops_broker():
    app = Celery("cfg", broker="redis://elsewhere:1/0")
    app.conf.task_default_queue = "mine"
    conf = shipping.config_of(app)
    assert conf["task_default_queue"] == "mine"
    assert "broker_url" not in conf and "worker_pool" not in conf
    assert list(conf["accept_content"]) == ["json"]


def test_importable_steps_go_by_reference_notebook_steps_by_value(tmp_path):
    app = Celery("ship")
    nb = notebook_class("NbStep")
    app.steps["worker"].update({s.Recorder, nb})
    path = shipping.ship(app, str(tmp_path))
    payload = shipping.load(str(tmp_path))
    data = (tmp_path / "app.pkl").read_bytes()
    assert b"kit_test_steps:Recorder" in data and b"NbStep" in data
    names = {cls.__name__: cls for cls in payload["steps"]["worker"]}
    assert names["Recorder"] is s.Recorder and set(names) == {"Recorder", "NbStep"}
    for name in ("app.pkl", "paths.json"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"
    assert path == str(tmp_path / "app.pkl")


def test_notebook_subclass_of_an_importable_step_keeps_its_base_by_reference(tmp_path):
    import kit.steps

    app = Celery("sub")
    sub = type(bootsteps.StartStopStep)(
        "Faster", (kit.steps.DeadlockDetection,), {"__module__": "__main__", "timeout": 2.0}
    )
    app.steps["worker"].add(sub)
    shipping.ship(app, str(tmp_path))
    data = (tmp_path / "app.pkl").read_bytes()
    assert b"kit.steps:DeadlockDetection" in data  # the base is imported in the worker, not copied


def test_rerun_cell_leaves_one_copy(monkeypatch):
    app = Celery("rerun")
    old, new = notebook_class("Twice"), notebook_class("Twice")
    monkeypatch.setattr(sys.modules["__main__"], "Twice", new, raising=False)
    app.steps["worker"].update({old, new})
    assert shipping.prune_steps(app, "worker") == [new]
    assert app.steps["worker"] == {new}


def test_notebook_task_goes_by_value_with_its_options():
    app = Celery("tasks")

    def double(x):
        return 2 * x

    double.__module__ = "__main__"
    app.task(name="nb.double", max_retries=7, shared=False)(double)
    specs = [shipping._task_spec(t) for t in shipping.user_tasks(app)]
    assert [(x["name"], x["fun"], x["bind"], x["opts"]["max_retries"]) for x in specs] == [
        ("nb.double", double, False, 7)
    ]


def test_unpicklable_step_is_a_clear_error(tmp_path):
    app = Celery("bad")
    app.steps["worker"].add(notebook_class("Locked", lock=threading.Lock()))
    with pytest.raises(shipping.ShippingError, match="worker step 'Locked' can't be shipped"):
        shipping.ship(app, str(tmp_path))
