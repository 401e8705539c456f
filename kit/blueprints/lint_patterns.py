"""Bug patterns of real steps: timer entries never cancelled, unbounded waits at boot, patched gossip."""

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
#: Methods that run while the worker boots: a wait here holds the whole worker.
BOOT = ("__init__", "include", "create", "start")
#: Comparisons that bound a loop (a deadline, a counter); `is`, `in`, `==` do not.
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
#: Gossip methods that Gossip.__init__ hands to the events State or to its table of handlers:
#: assigning the instance's attribute afterwards changes nothing.
BOUND_AT_INIT = {"on_node_join", "on_node_leave", "on_elect", "on_elect_ack"}
#: Gossip's handlers a step might assign; on_node_lost is looked up on each periodic check.
GOSSIP_HANDLERS = BOUND_AT_INIT | {"on_node_lost"}


def reachable(methods, name):
    """(method name, parsed method, self's name) for ``name`` and the own methods it calls."""
    todo, seen, out = [name], set(), []
    while todo:
        current = todo.pop(0)
        if current in seen or current not in methods:
            continue
        seen.add(current)
        node = calls.parse(methods[current])
        if node is None:
            continue
        args = node.args.posonlyargs + node.args.args
        me = args[0].arg if args else "self"
        out.append((current, node, me))
        todo.extend(_self_calls(node, me))
    return out


def _self_calls(node, me):
    return [
        n.func.attr for n in calls.walk(node) if isinstance(n, ast.Call) and _self_attr(n.func, me)
    ]


def _self_attr(node, me):
    """The attribute name when ``node`` is ``self.<name>``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == me:
        return node.attr
    return None


def _self_attrs_in(node, me):
    return {a for n in ast.walk(node) if (a := _self_attr(n, me))}


def line_of(method, node, methods):
    """The line of ``node`` in the step's source file."""
    return calls.first_line(methods[method]) + node.lineno - 1


def _stored_in(call, fn_node, me):
    """The attribute of self that keeps the entry ``call`` returns (``self.tref = ...``,
    ``self.trefs.append(...)``), through one local variable at most; None when it is dropped.
    """
    held = {call}
    for _ in range(2):
        for n in calls.walk(fn_node):
            if isinstance(n, ast.Assign) and _holds(n.value, held):
                for target in n.targets:
                    base = target.value if isinstance(target, ast.Subscript) else target
                    if (attr := _self_attr(base, me)) is not None:
                        return attr
                    if isinstance(target, ast.Name):
                        held |= {
                            m
                            for m in calls.walk(fn_node)
                            if isinstance(m, ast.Name) and m.id == target.id and _loads(m)
                        }
            if isinstance(n, ast.Call) and any(a in held for a in n.args):
                if isinstance(n.func, ast.Attribute) and n.func.attr in ("append", "add"):
                    if (attr := _self_attr(n.func.value, me)) is not None:
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
        for _, node, me in reachable(methods, start):
            for n in calls.walk(node):
                if _is_cancel(n):
                    found |= _self_attrs_in(n, me)
                if isinstance(n, ast.For) and any(_is_cancel(m) for m in ast.walk(n)):
                    found |= _self_attrs_in(n.iter, me)
    return found


def _is_cancel(node):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cancel"
    )


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
    for method, node, me in reachable(methods, "start"):
        for call in sorted(_scheduling_calls(node), key=lambda c: (c.lineno, c.col_offset)):
            attr = _stored_in(call, node, me)
            if call.func.attr not in OWNED[kind] or (attr is not None and attr in cancelled):
                continue
            line = line_of(method, call, methods)
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


def wait_findings(name, methods, finding):
    """A finding per boot method that reaches a ``while`` loop which sleeps and has no bound."""
    found = []
    for boot in BOOT:
        hit = _first_unbounded(methods, boot)
        if hit is None:
            continue
        method, loop, waits = hit
        line = line_of(method, loop, methods)
        via = f" in self.{method}" if method != boot else ""
        found.append(
            finding(
                name,
                boot,
                f"waits without a bound: the while loop at line {line}{via} calls {waits} "
                f"{_until(loop)}, with no deadline or count, so the worker hangs at boot (never ready, "
                "no ping) when that never happens. Give the loop a deadline and raise an error that "
                "says what is missing, or wait in a thread.",
                "waits",
                line,
            )
        )
    return found


def _first_unbounded(methods, boot):
    for method, node, _ in reachable(methods, boot):
        for loop in sorted(
            (n for n in calls.walk(node) if isinstance(n, ast.While)), key=lambda n: n.lineno
        ):
            waits = _waiting_call(loop)
            if waits and not _bounded(loop):
                return method, loop, waits
    return None


def _waiting_call(loop):
    """The first call in the loop (test or body) that sleeps or waits, as text; None if none."""
    for part in (loop.test, *loop.body):
        for n in calls.walk_node(part):
            if isinstance(n, ast.Call):
                f = n.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if called in ("sleep", "wait"):
                    return f"{ast.unparse(f)}()"
    return None


def _until(loop):
    """What ends the loop, in words."""
    test = loop.test
    if isinstance(test, ast.Constant) and test.value:
        return "until something breaks out of it"
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return f"until {ast.unparse(test.operand)} is true"
    return f"while {ast.unparse(test)}"


def _bounded(loop):
    """True when the loop's test, or a condition that leaves the loop, compares with an order
    (a deadline, a number of tries), or its test names a counter the body changes.
    """
    if _orders(loop.test):
        return True
    changed = {
        ast.unparse(n.target)
        for s in loop.body
        for n in calls.walk_node(s)
        if isinstance(n, ast.AugAssign)
    }
    if {ast.unparse(n) for n in ast.walk(loop.test)} & changed:
        return True
    return any(
        _orders(n.test)
        and any(
            isinstance(m, (ast.Break, ast.Return, ast.Raise))
            for b in n.body
            for m in calls.walk_node(b)
        )
        for s in loop.body
        for n in calls.walk_node(s)
        if isinstance(n, ast.If)
    )


def _orders(test):
    return any(
        isinstance(n, ast.Compare) and any(isinstance(op, ORDERING) for op in n.ops)
        for n in ast.walk(test)
    )


def gossip_findings(name, methods, finding):
    """A finding per assignment to a gossip handler (``c.gossip.on_node_join = ...``)."""
    found = []
    for method in methods:
        node = calls.parse(methods[method])
        for n in calls.walk(node) if node else ():
            if not isinstance(n, ast.Assign):
                continue
            for target in n.targets:
                if _is_gossip_handler(target):
                    line = line_of(method, n, methods)
                    found.append(
                        finding(name, method, _gossip_problem(target.attr, line), "gossip", line)
                    )
    return found


def _is_gossip_handler(target):
    return (
        isinstance(target, ast.Attribute)
        and target.attr in GOSSIP_HANDLERS
        and isinstance(target.value, ast.Attribute)
        and target.value.attr == "gossip"
    )


def _gossip_problem(handler, line):
    event = handler.removeprefix("on_")
    if handler in BOUND_AT_INIT:
        effect = (
            "has no effect: Gossip.__init__ already handed its own bound method to the events "
            "State (or its handler table), which keeps calling that one"
        )
    else:
        effect = (
            "replaces Celery's own handler: its log line and the callbacks other steps added "
            f"to c.gossip.on.{event} no longer run"
        )
    fix = (
        f"Add a callback to c.gossip.on.{event} (a set) instead"
        if event in ("node_join", "node_leave", "node_lost")
        else "Use c.gossip.election() and c.gossip.election_handlers instead"
    )
    return f"assigns c.gossip.{handler} (line {line}), which {effect}. {fix}."
