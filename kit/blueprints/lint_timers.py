"""Lint rule: a timer entry that a step's start() schedules and nothing cancels."""

import ast

from kit.blueprints import calls

#: Timer methods that schedule an entry; each returns the entry, whose cancel() removes it.
SCHEDULING = ("call_repeatedly", "call_after", "call_at")
#: The ones that matter per blueprint: a worker step's start() runs once per process, so only an
#: entry that repeats outlives it; a consumer step's start() runs again after every reconnection.
OWNED = {"worker": ("call_repeatedly",), "consumer": SCHEDULING}
#: Where a step may cancel its entries: stop and the other ends of its life, or start itself before
#: it schedules again (Celery's own Gossip step does that).
CANCELLING = ("stop", "terminate", "shutdown", "start")
#: Why an entry that outlives its step hurts, per blueprint.
OUTLIVES = {
    "consumer": "every new start() adds one more, and the consumer restarts its steps each time the "
    "broker connection is lost",
    "worker": "nothing removes it before the worker's own timer stops, so start() cannot run twice "
    "without doubling it",
}


def timer_findings(name, methods, finding, kind="worker"):
    """A finding per timer entry that start() schedules and nothing cancels."""
    cancelled = _cancelled(methods)
    found = []
    for method, node, me in calls.reachable(methods, "start"):
        for call in sorted(_scheduling_calls(node), key=lambda c: (c.lineno, c.col_offset)):
            attr = _stored_in(call, node, me)
            if call.func.attr not in OWNED[kind] or (attr is not None and attr in cancelled):
                continue
            line = calls.line_of(method, call, methods)
            via = f" in self.{method}" if method != "start" else ""
            keep = f"self.{attr}" if attr else "self.tref"
            found.append(
                finding(
                    name,
                    "start",
                    f"schedules a timer entry with {ast.unparse(call.func)}() (line {line}{via}) "
                    f"that stop() never cancels: {OUTLIVES[kind]}. "
                    f"Keep it ({keep} = ...) and call {keep}.cancel() in stop().",
                    "timer",
                    line,
                )
            )
    return found


def _scheduling_calls(node):
    return [
        n
        for n in calls.walk(node)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in SCHEDULING
    ]


def _stored_in(call, fn_node, me):
    """The attribute of self that keeps the entry ``call`` returns; None when it is dropped.

    ``self.tref = ...`` or ``self.trefs.append(...)``, through one local variable at most.
    """
    held = {call}
    for _ in range(2):
        for n in calls.walk(fn_node):
            if isinstance(n, ast.Assign) and _holds(n.value, held):
                for target in n.targets:
                    base = target.value if isinstance(target, ast.Subscript) else target
                    if (attr := calls.self_attr(base, me)) is not None:
                        return attr
                    if isinstance(target, ast.Name):
                        held |= {
                            m
                            for m in calls.walk(fn_node)
                            if isinstance(m, ast.Name) and m.id == target.id and _loads(m)
                        }
            if isinstance(n, ast.Call) and any(a in held for a in n.args):
                if isinstance(n.func, ast.Attribute) and n.func.attr in ("append", "add"):
                    if (attr := calls.self_attr(n.func.value, me)) is not None:
                        return attr
    return None


def _holds(value, held):
    """True when ``value`` is a held node, or a list, tuple or set literal with one in it."""
    items = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else [value]
    return any(item in held for item in items)


def _loads(name):
    return isinstance(name.ctx, ast.Load)


def _cancelled(methods):
    """Attributes of self whose entries some stop/terminate/shutdown/start cancels."""
    found = set()
    for start in CANCELLING:
        for _, node, me in calls.reachable(methods, start):
            for n in calls.walk(node):
                if _is_cancel(n):
                    found |= calls.self_attrs_in(n, me)
                if isinstance(n, ast.For) and any(_is_cancel(m) for m in ast.walk(n)):
                    found |= calls.self_attrs_in(n.iter, me)
    return found


def _is_cancel(node):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cancel"
    )
