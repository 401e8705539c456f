"""Bootsteps Kit: see and play with Celery's worker bootsteps, timer and gossip from JupyterLab.

The folders follow the process boundary (data flows kernel -> workers -> events -> widgets):

- ``kit/worker/``: runs only inside a ``celery worker`` process: ``app.py`` (the ``-A`` module
  that rebuilds the notebook's app), the probes, the remote-control commands, fast gossip.
- ``kit/widgets/``: the notebook's widgets: the dashboard, its panels, the timeline (JS/CSS beside it).
- the kernel side, at the top: ``cluster.py`` (LocalCluster) with ``plan.py`` and ``options.py``
  (what workers run with), ``broker.py``, ``forkserver.py``, ``workers.py`` (the processes),
  ``events.py``, ``control.py``, ``room.py``, ``blueprints.py`` (with ``membership.py``, the
  cross-blueprint check), ``graph.py`` (its look in ``graph_style.py``), ``lint.py``, ``doctor.py``.
- shared by both sides: ``steps.py`` (steps users import), ``telemetry.py`` (``emit``),
  ``contract.py`` (the ``kit-*`` event types), ``shipping.py``, ``tasks.py``, ``procs.py``, ``errors.py``.

Names load lazily, so worker processes never import the notebook side (graphviz, ipywidgets);
tests/test_exports.py enforces it.
"""

import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it ('module:attr' when the names differ).
_EXPORTS = {
    "LocalCluster": "kit.cluster",
    "EventFeed": "kit.events",
    "Room": "kit.room",
    "blueprint_steps": "kit.blueprints",
    "blueprint_graph": "kit.graph",
    "blueprint_diff": "kit.graph",
    "Timeline": "kit.widgets.timeline",
    "Dashboard": "kit.widgets.dashboard",
    "lint_steps": "kit.lint:lint",
    **{
        name: "kit.errors"
        for name in (
            "ClusterError",
            "BrokerError",
            "WorkerBootError",
            "StepError",
            "StepCycleError",
            "CrossBlueprintError",
            "UnknownRequirementError",
            "NotAStepError",
            "ShippingError",
            "StepWarning",
            "ShadowWarning",
        )
    },
}

__all__ = sorted([*_EXPORTS, "steps"])


def __getattr__(name):
    if name == "steps":
        return importlib.import_module("kit.steps")
    if name in _EXPORTS:
        module, _, attr = _EXPORTS[name].partition(":")
        value = getattr(importlib.import_module(module), attr or name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kit' has no attribute {name!r}")


def __dir__():
    return __all__
