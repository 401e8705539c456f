"""Bootsteps Kit: see and play with Celery's worker bootsteps, timer and gossip from JupyterLab.

Names load lazily, so worker processes (which import `kit.worker.app`) never import the
notebook side (graphviz, ipywidgets, plotting).
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
