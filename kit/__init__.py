"""Bootsteps Kit: see and play with Celery's worker bootsteps, timer and gossip from JupyterLab.

Names load lazily, so worker processes (which import `kit.worker_app`) never import the
notebook side (graphviz, ipywidgets, plotting).
"""
import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "LocalCluster": "kit.cluster",
    "ClusterError": "kit.cluster",
    "WorkerBootError": "kit.cluster",
    "EventFeed": "kit.events",
    "StepError": "kit.blueprints",
    "StepCycleError": "kit.blueprints",
    "UnknownRequirementError": "kit.blueprints",
    "NotAStepError": "kit.blueprints",
    "blueprint_steps": "kit.blueprints",
    "blueprint_graph": "kit.graph",
    "blueprint_diff": "kit.graph",
}

__all__ = sorted([*_EXPORTS, "steps"])


def __getattr__(name):
    if name == "steps":
        return importlib.import_module("kit.steps")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kit' has no attribute {name!r}")


def __dir__():
    return __all__
