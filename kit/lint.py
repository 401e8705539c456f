"""Static checks for the guide's pitfalls in a step's source: logging in stop/terminate, blocking in start, and more."""

import ast
import inspect
import textwrap
import warnings
from dataclasses import dataclass
from kit.errors import StepError, StepWarning  # noqa: F401

#: Calls that block the worker's boot when made in start().
BLOCKING = {"sleep", "join", "wait", "recv", "accept", "input"}
#: Calls that are unsafe in stop()/terminate(), which may run in a signal handler.
LOGGING = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print"}
#: Worker attributes that exist only once a step that provides them has been created.
PROVIDED_BY = {
    "pool": "celery.worker.components:Pool",
    "timer": "celery.worker.components:Timer",
    "hub": "celery.worker.components:Hub",
    "gossip": "celery.worker.consumer.gossip:Gossip",
    "event_dispatcher": "celery.worker.consumer.events:Events",
}


@dataclass
class Finding:
    step: str  #: the step class name
    method: str  #: where it was found
    problem: str  #: what and why, with the fix

    def __str__(self):
        return f"{self.step}.{self.method}: {self.problem}"


def _calls(fn):
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return set(), set()
    names, attrs = set(), set()
    for node in _walk_body(tree.body[0]):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
        if isinstance(node, ast.Attribute):
            attrs.add(node.attr)
    return names, attrs


def _walk_body(fn):
    """The nodes of a function, not of functions defined inside it (a timer callback may sleep)."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _required(cls):
    reqs = set()
    for klass in cls.__mro__:
        for r in getattr(klass, "requires", ()) or ():
            reqs.add(r if isinstance(r, str) else f"{r.__module__}:{r.__name__}")
    return reqs


#: On the consumer, these exist before any consumer step (the worker hands them over).
CONSUMER_HAS = {"pool", "timer", "hub"}


def _own_methods(cls):
    """Methods the user wrote: the class's and its bases', up to Celery's (and the kit's) own."""
    methods = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith(("celery.", "kit.", "builtins")):
            methods.update({k: v for k, v in vars(klass).items() if inspect.isfunction(v)})
    return methods


def check_step(cls, kind="worker"):
    """Findings for one step class (the methods its author wrote, inherited ones included)."""
    name, found, methods = cls.__name__, [], _own_methods(cls)
    init = methods.get("__init__")
    if init is not None:
        params = inspect.signature(init).parameters.values()
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            found.append(
                Finding(
                    name,
                    "__init__",
                    "takes no **kwargs, but every step receives every worker "
                    "option as a keyword argument: the worker fails with TypeError. Add **kwargs.",
                )
            )
    for method in ("stop", "terminate", "shutdown"):
        if method in methods and _calls(methods[method])[0] & LOGGING:
            found.append(
                Finding(
                    name,
                    method,
                    "logs or prints; it may run in a signal handler, where logging "
                    "can deadlock. Record into a list (or kit.telemetry.emit(..., safe=False)).",
                )
            )
    if "start" in methods and _calls(methods["start"])[0] & BLOCKING:
        found.append(
            Finding(
                name,
                "start",
                "may block (sleep/join/wait/recv/input): the worker boots no further "
                "until start() returns. Use a thread or worker.timer.call_after instead.",
            )
        )
    used = set().union(*(_calls(f)[1] for f in methods.values()))
    for attr, provider in PROVIDED_BY.items():
        if kind == "consumer" and attr in CONSUMER_HAS:
            continue
        if attr in used and provider not in _required(cls) and not _requires_transitively(cls, provider):
            found.append(
                Finding(
                    name,
                    "requires",
                    f"uses .{attr} but does not require {provider!r}: it may "
                    "run before that exists. Add it to requires.",
                )
            )
    return found


def _requires_transitively(cls, provider, seen=None):
    from celery.utils.imports import symbol_by_name

    seen = seen if seen is not None else set()
    for r in getattr(cls, "requires", ()) or ():
        try:
            req = symbol_by_name(r) if isinstance(r, str) else r
        except Exception:
            continue
        ref = f"{req.__module__}:{req.__name__}"
        if ref == provider:
            return True
        if ref not in seen:
            seen.add(ref)
            if _requires_transitively(req, provider, seen):
                return True
    return False


def _step_findings(app):
    found = []
    for kind in ("worker", "consumer"):
        for step in sorted(app.steps[kind], key=str):
            if isinstance(step, type):
                found.extend(check_step(step, kind))
    return found


def _blueprint_findings(app):
    """Steps that require a step of the other blueprint (other StepErrors are LocalCluster's to raise)."""
    from kit.blueprints import cross_blueprint_errors

    try:
        errors = cross_blueprint_errors(app)
    except StepError:
        return []
    return [Finding(e.label, "requires", str(e)) for e in errors]


def lint(app):
    """Findings for every step class in app.steps['worker'] and ['consumer'], and for their requires."""
    return _step_findings(app) + _blueprint_findings(app)


def warn(app):
    """A StepWarning per finding of check_step (LocalCluster does this, then raises any StepError)."""
    for finding in _step_findings(app):
        warnings.warn(str(finding), StepWarning, stacklevel=4)  # the user's LocalCluster(...)/restart()
