"""Static checks of a step's source: the guide's pitfalls and the bug patterns of real steps.

The guide's pitfalls: no **kwargs, blocking in start, a missing requires. The bug patterns of real
steps are in ``lint_timers``, ``lint_waits`` and ``lint_gossip``.
"""

import ast
import inspect
import warnings
from dataclasses import dataclass

from kit.blueprints import calls, lint_gossip, lint_requires, lint_timers, lint_waits
from kit.errors import StepError, StepWarning, user_stacklevel


@dataclass
class Finding:
    """One thing the checks found in a step: where, what and why, and the fix."""

    #: the step class name
    step: str
    #: where it was found
    method: str
    #: what and why (with the line), then the fix
    problem: str
    #: kwargs, blocks, waits, timer, gossip, early, requires or blueprint
    kind: str = ""
    #: the line of the step's source file, 0 when unknown
    line: int = 0

    def __str__(self):
        return f"{self.step}.{self.method}: {self.problem}"


def _own_methods(cls):
    """Methods the user wrote: the class's own, and its bases' up to Celery's or the kit's own."""
    methods = {}
    for klass in reversed(cls.__mro__):
        if klass is cls or not klass.__module__.startswith(("celery.", "kit.", "builtins")):
            methods.update({k: v for k, v in vars(klass).items() if inspect.isfunction(v)})
    return methods


def _scan(cls, methods, name, check, seen=None):
    """(call, method, line) of the first call ``check`` flags in method ``name``.

    The own methods it calls are searched too.
    """
    seen = seen if seen is not None else set()
    seen.add(name)
    fn = methods[name]
    node = calls.parse(fn)
    if node is None:
        return None
    scope = calls.scope_of(fn, cls, node)
    for call in sorted((n for n in calls.walk(node) if isinstance(n, ast.Call)), key=_position):
        if check(call, scope):
            return f"{ast.unparse(call.func)}()", name, calls.first_line(fn) + call.lineno - 1
        helper = _self_method(call, scope)
        if helper in methods and helper not in seen:
            found = _scan(cls, methods, helper, check, seen)
            if found:
                return found
    return None


def _position(node):
    return node.lineno, node.col_offset


def _self_method(call, scope):
    f = call.func
    if (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id == scope.self_name
    ):
        return f.attr
    return None


def _init_finding(name, methods):
    init = methods.get("__init__")
    if init is None or any(
        p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()
    ):
        return []
    line = calls.first_line(init)
    return [
        Finding(
            name,
            "__init__",
            f"takes no **kwargs (line {line}), but every step receives every worker option as a "
            "keyword argument: the worker fails with TypeError. Add **kwargs.",
            "kwargs",
            line,
        )
    ]


def _start_findings(cls, methods):
    hit = "start" in methods and _scan(cls, methods, "start", calls.blocking)
    if not hit:
        return []
    via = f" in self.{hit[1]}" if hit[1] != "start" else ""
    return [
        Finding(
            cls.__name__,
            "start",
            f"may block: it calls {hit[0]} (line {hit[2]}{via}), and the worker boots no further "
            "until start() returns. Use a thread or worker.timer.call_after instead.",
            "blocks",
            hit[2],
        )
    ]


def check_step(cls, kind="worker"):
    """Findings for one step class of blueprint ``kind``: its author's methods, inherited too."""
    methods = _own_methods(cls)
    waits = lint_waits.wait_findings(cls.__name__, methods, Finding)
    # an unbounded wait in start is the worse news about the same loop: say only that
    blocks = [] if any(w.method == "start" for w in waits) else _start_findings(cls, methods)
    return [
        *_init_finding(cls.__name__, methods),
        *waits,
        *blocks,
        *lint_timers.timer_findings(cls.__name__, methods, Finding, kind),
        *lint_gossip.gossip_findings(cls.__name__, methods, Finding),
        *lint_requires.requires_findings(cls, methods, kind, Finding),
    ]


def _step_findings(app):
    found = []
    for kind in ("worker", "consumer"):
        for step in sorted(app.steps[kind], key=str):
            if isinstance(step, type):
                found.extend(check_step(step, kind))
    return found


def _blueprint_findings(app):
    """Steps that require a step of the other blueprint.

    Other StepErrors are LocalCluster's to raise.
    """
    from kit.blueprints.snapshot import cross_blueprint_errors

    try:
        errors = cross_blueprint_errors(app)
    except StepError:
        return []
    return [Finding(e.label, "requires", str(e), "blueprint") for e in errors]


def lint(app):
    """Findings for every step class in app.steps['worker'] and ['consumer'], and their requires."""
    return _step_findings(app) + _blueprint_findings(app)


def warn(app):
    """A StepWarning per finding of check_step.

    LocalCluster does this, then raises any StepError.
    """
    for finding in _step_findings(app):
        warnings.warn(str(finding), StepWarning, stacklevel=user_stacklevel())
