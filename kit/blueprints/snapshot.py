"""Snapshots of a worker's two blueprints: static from an app, or live from a worker."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from celery import Celery, bootsteps
from celery.utils.graph import DependencyGraph
from celery.utils.imports import symbol_by_name

from kit.blueprints.membership import cross_errors
from kit.errors import (  # noqa: F401  (the step errors, importable from here too)
    CrossBlueprintError,
    NotAStepError,
    StepCycleError,
    StepError,
    UnknownRequirementError,
)

#: The worker's two blueprints, in boot order: the WorkController's, then the Consumer's.
BLUEPRINTS = ("worker", "consumer")

#: Steps that decide ``enabled`` in ``__init__``: Beat (``-B``), StateDB (``--statedb``),
#: the autoscaler (``--autoscale``), Agent (``worker_agent``) and Hub (event loop or not).
#: A step of your own is conditional when it sets Celery's ``conditional = True``.
CONDITIONAL_STEPS = frozenset(
    {
        "celery.worker.components.Beat",
        "celery.worker.components.StateDB",
        "celery.worker.autoscale.WorkerComponent",
        "celery.worker.consumer.agent.Agent",
        "celery.worker.components.Hub",
    }
)


@dataclass(frozen=True)
class StepInfo:
    """One step of a blueprint, as drawn and compared by the kit."""

    #: Celery's ``Step.name``, e.g. ``celery.worker.components.Timer``.
    name: str
    #: short name, e.g. ``Timer``.
    label: str
    #: ``module:Class``.
    ref: str
    #: names of the steps this one requires.
    requires: tuple = ()
    #: starts after every other step of its blueprint.
    last: bool = False
    #: decides ``enabled`` when the worker boots.
    conditional: bool = False
    #: defined outside the ``celery`` package.
    user: bool = False
    #: 1-based boot-order number.
    order: int = 0
    #: live only: included in the worker.
    enabled: bool | None = None
    #: live only: ``start`` ran.
    started: bool | None = None
    #: live only: method -> seconds.
    timings: dict = field(default_factory=dict, compare=False)
    #: live only: what the step raised.
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The steps of both blueprints, each tuple in boot order."""

    #: StepInfo of the WorkController blueprint.
    worker: tuple = ()
    #: StepInfo of the Consumer blueprint.
    consumer: tuple = ()
    #: the worker's node name for a live snapshot, else None.
    hostname: str | None = None
    #: the app's main name for a static snapshot.
    app: str | None = None

    @property
    def live(self) -> bool:
        """True when taken from a running worker."""
        return self.hostname is not None

    def steps(self, blueprint: str) -> tuple:
        """Steps of ``'worker'`` or ``'consumer'``."""
        if blueprint not in BLUEPRINTS:
            raise ValueError(f"blueprint={blueprint!r} is not one of {BLUEPRINTS}")
        return getattr(self, blueprint)

    def find(self, key: str) -> list:
        """``(blueprint, step)`` pairs whose label, name or ref is ``key``."""
        return [
            (bp, s) for bp in BLUEPRINTS for s in self.steps(bp) if key in (s.label, s.name, s.ref)
        ]


def _is_step(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, bootsteps.Step)


def _load(obj, whose: str):
    """Resolve a step class or string; ``whose`` starts the error message (where it came from)."""
    if isinstance(obj, str):
        try:
            obj = symbol_by_name(obj)
        except (ImportError, AttributeError, ValueError) as exc:
            raise UnknownRequirementError(
                f"{whose} {obj!r}, which does not import: {exc}"
            ) from None
    if not _is_step(obj):
        hint = " (an instance: add the class itself)" if isinstance(obj, bootsteps.Step) else ""
        raise NotAStepError(f"{whose} {obj!r}, which is not a celery.bootsteps.Step subclass{hint}")
    return obj


def _requires(cls) -> list:
    reqs = cls.requires or ()
    if isinstance(reqs, str):
        raise StepError(
            f"step {cls.name!r} has requires={reqs!r}: use a tuple, e.g. requires=({reqs!r},)"
        )
    if not isinstance(reqs, (tuple, list, set, frozenset)):
        raise StepError(
            f"step {cls.name!r} has requires={reqs!r}: use a tuple or set of steps, "
            "e.g. requires={'celery.worker.components:Pool'}"
        )
    return [_load(r, f"step {cls.name!r} requires") for r in reqs]


def _warn_duplicate(name: str, bp: str) -> None:
    warnings.warn(
        f"two classes are named {name!r} in the {bp} blueprint and Celery keeps only one "
        f"(a re-run cell?): remove the old one from app.steps[{bp!r}]",
        stacklevel=2,
    )


def _resolve(entries, bp: str) -> tuple[dict, dict]:
    """Follow ``requires`` from ``entries``: (name -> class, name -> required names)."""
    found, edges, path = {}, {}, []

    def visit(cls):
        if cls.name in path:
            cycle = path[path.index(cls.name) :] + [cls.name]
            raise StepCycleError(f"steps require each other in a cycle: {' -> '.join(cycle)}")
        if cls.name in found:
            if found[cls.name] is not cls:
                _warn_duplicate(cls.name, bp)
            return
        found[cls.name] = cls
        path.append(cls.name)
        reqs = _requires(cls)
        for req in reqs:
            visit(req)
        path.pop()
        edges[cls.name] = tuple(sorted({r.name for r in reqs}))

    for cls in entries:
        visit(cls)
    return found, edges


def _boot_order(found: dict, edges: dict) -> list:
    """The boot order by Celery's own DependencyGraph: requirements first, ``last`` at the end.

    The graph is built as ``Blueprint._finalize_steps`` builds it (each step depends on its
    ``requires``; the ``last`` step depends on every other step) and sorted by its ``topsort``.
    Its first pass is left out: it rewrites each class's ``requires`` and loops forever on a cycle
    (``_resolve`` found every cycle before). Celery adds the steps in the order of a set, so its order
    among steps with no ``requires`` path between them varies from process to process; the kit adds
    them in reverse name order, one fixed choice.
    """
    names = sorted(found, reverse=True)
    graph = DependencyGraph((found[n], [found[r] for r in edges[n]]) for n in names)
    last = next((found[n] for n in names if found[n].last), None)
    if last is not None:
        for cls in list(graph):
            if cls is not last:
                graph.add_edge(last, cls)
    return [cls.name for cls in graph.topsort()]


def _entries(app, bp: str) -> list:
    """The steps Celery's blueprint starts from, as classes.

    Its ``default_steps`` plus ``app.steps[bp]``.
    """
    from celery.worker import WorkController
    from celery.worker.consumer import Consumer

    owner = WorkController if bp == "worker" else Consumer
    own = set(app.steps.get(bp, ()))
    # the blueprint's own list of what it claims (a set: default steps and app.steps[bp])
    claimed = owner.Blueprint(steps=own).types
    defaults = [
        _load(s, f"{owner.__name__}.Blueprint.default_steps has")
        for s in sorted(claimed - own, key=str)
    ]
    return defaults + [_load(s, f"app.steps[{bp!r}] has") for s in sorted(own, key=str)]


def _step_info(cls, requires: tuple, order: int) -> StepInfo:
    module = cls.__module__
    return StepInfo(
        name=cls.name,
        label=cls.label or cls.name.rsplit(".", 1)[-1],
        ref=f"{module}:{cls.__name__}",
        requires=requires,
        last=bool(cls.last),
        order=order,
        conditional=bool(cls.conditional) or cls.name in CONDITIONAL_STEPS,
        user=not (module == "celery" or module.startswith("celery.")),
    )


def _resolved(app) -> dict:
    """bp -> (names of its own steps, name -> class, name -> required names)."""
    out = {}
    for bp in BLUEPRINTS:
        entries = _entries(app, bp)
        out[bp] = ({cls.name for cls in entries}, *_resolve(entries, bp))
    return out


def cross_blueprint_errors(app) -> list:
    """A CrossBlueprintError per step that requires a step of the other blueprint.

    Through a chain of requires too. Celery's own default steps never do: its only link between the
    two blueprints is the worker's Consumer step, which creates the Consumer (and ``celery graph``
    draws that edge with ``connect_with``).
    """
    return cross_errors(_resolved(app))


def _ordered(found: dict, edges: dict) -> tuple:
    order = _boot_order(found, edges)
    return tuple(_step_info(found[n], edges[n], i) for i, n in enumerate(order, 1))


def check_app_steps(app) -> None:
    """Raise a StepError if ``app.steps`` would hang, or break, a worker's boot."""
    static_snapshot(app)


def static_snapshot(app) -> Snapshot:
    """Resolve both blueprints of ``app`` without creating a worker or any step."""
    resolved = _resolved(app)
    errors = cross_errors(resolved)
    if errors:
        raise errors[0]
    steps = {bp: _ordered(found, edges) for bp, (_, found, edges) in resolved.items()}
    return Snapshot(app=app.main, **steps)


def _live_step(raw: dict, index: int) -> StepInfo:
    ref, name = raw.get("ref", ""), raw["name"]
    return StepInfo(
        name=name,
        label=raw.get("label") or name.rsplit(".", 1)[-1],
        ref=ref,
        requires=tuple(raw.get("requires") or ()),
        last=bool(raw.get("last")),
        conditional=bool(raw.get("conditional")) or name in CONDITIONAL_STEPS,
        user=not (ref or name).startswith("celery."),
        order=index,
        enabled=raw.get("enabled"),
        started=raw.get("started"),
        timings=dict(raw.get("timings") or {}),
        error=raw.get("error"),
    )


def live_snapshot(reply: dict) -> Snapshot:
    """Parse the kit's blueprint inspect reply; steps are listed, numbered from 1, in boot order."""
    if not isinstance(reply, dict) or not all(isinstance(reply.get(bp), list) for bp in BLUEPRINTS):
        raise ValueError(
            f"not a blueprint reply (want 'worker' and 'consumer' lists): {reply!r:.200}"
        )
    steps = {bp: tuple(_live_step(s, i) for i, s in enumerate(reply[bp], 1)) for bp in BLUEPRINTS}
    return Snapshot(hostname=str(reply.get("hostname") or "?"), **steps)


def blueprint_steps(source, worker: str | None = None) -> Snapshot:
    """A Snapshot of an app (static), a cluster's worker (live), a reply dict, or a Snapshot."""
    if isinstance(source, Snapshot):
        return source
    if hasattr(source, "inspect_blueprint"):
        # default: the first
        worker = worker or next(iter(getattr(source, "workers", None) or ()), None)
        return live_snapshot(source.inspect_blueprint(worker))
    if worker is not None:
        raise ValueError(f"worker={worker!r} needs a cluster as source, not {source!r}")
    if isinstance(source, dict):
        return live_snapshot(source)
    if isinstance(source, Celery):
        return static_snapshot(source)
    raise TypeError(
        f"cannot take blueprint steps from {source!r}: "
        "pass a Celery app, a cluster, a blueprint reply dict or a Snapshot"
    )
