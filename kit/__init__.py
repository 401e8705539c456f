"""Bootsteps Kit: see and play with Celery's worker bootsteps, timer and gossip from JupyterLab.

The folders follow the process boundary and, on the kernel side, its subsystems (data flows
kernel -> workers -> events -> widgets):

- ``kit/worker/``: runs only inside a ``celery worker`` process: ``app.py`` (the ``-A`` module that
  rebuilds the notebook's app), the probes, the remote-control commands, the sized gossip.
- ``kit/processes/``: the broker, the fork server, the workers and what they start with (the plan,
  worker options, the shipped payload, the namespace), readiness and the guard.
- ``kit/blueprints/``: a worker's two blueprints read (statically or live), checked (lint, the
  cross-blueprint check), drawn (graph, its style, SVG) and compared across boots (boot order).
- ``kit/events/``: the ``kit-*`` event contract, ``emit`` (used in workers) and the kernel's
  EventFeed.
- ``kit/record/``: keeping a run: the recording's format, the recorder, the replay, the trace
  export.
- ``kit/report_html/``: ``kit.report(source, path)``, a run as one self-contained HTML file.
- ``kit/widgets/``: the notebook's widgets: the dashboard, its panels, the timeline (JS/CSS beside
  it).
- the top level: what a user touches: ``cluster.py`` (LocalCluster), ``room.py``,
  ``attached.py`` (kit.attach: a read-only view of any broker's workers), ``control.py``
  (remote control), ``view.py`` (ClusterView: the contract every cluster view keeps, the replay's
  too), ``worker_states.py`` (the one model of worker state, fed from a view's events),
  ``display.py`` and ``progress.py`` (how they show; ``roster.py``, the workers' states in words,
  and ``status_html.py``, the HTML from ``status_templates/``, sit below both them and the
  widgets), ``doctor.py``, the CLI (``__main__.py``), the pytest plugin; and, shared by both sides,
  ``steps.py`` (steps users import), ``tasks.py``, ``errors.py``, ``kernel.py`` and
  ``gossip_timing.py`` (the gossip intervals, when node_lost is due).

Names load lazily, so worker processes never import the notebook side (graphviz, ipywidgets);
tests/test_exports.py enforces it.
"""

import importlib

from kit import kernel

__version__ = "0.1.0"

#: Public name -> module that defines it ('module:attr' when the names differ).
_EXPORTS = {
    "LocalCluster": "kit.cluster",
    "EventFeed": "kit.events.feed",
    "Room": "kit.room",
    "attach": "kit.attached",
    "blueprint_steps": "kit.blueprints.snapshot",
    "blueprint_graph": "kit.blueprints.graph",
    "blueprint_diff": "kit.blueprints.graph",
    "boot_order": "kit.blueprints.boot_order",
    "Timeline": "kit.widgets.timeline",
    "Dashboard": "kit.widgets.dashboard",
    "lint_steps": "kit.blueprints.lint:lint",
    "replay": "kit.record.replay",
    "export_trace": "kit.record.trace",
    "report": "kit.report_html",
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
            "RecordingError",
            "RecordingWarning",
        )
    },
}

__all__ = sorted([*_EXPORTS, "steps"])


#: Names whose first lookup starts the fork server early (kit.processes.workers.prestart).
_CLUSTER_SHAPED = {"LocalCluster"}


def __getattr__(name):
    if name in _CLUSTER_SHAPED:
        importlib.import_module("kit.processes.workers").prestart()
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


# every notebook starts a cluster: let the fork server import Celery meanwhile
if kernel.in_kernel():
    importlib.import_module("kit.processes.workers").prestart()
