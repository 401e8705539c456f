"""Lint rule: a while loop that sleeps or waits with no deadline or count while the worker boots."""

import ast

from kit.blueprints import calls

#: Methods that run while the worker boots: a wait here holds the whole worker.
BOOT = ("__init__", "include", "create", "start")
#: Comparisons that bound a loop (a deadline, a counter); `is`, `in`, `==` do not.
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def wait_findings(name, methods, finding):
    """A finding per boot method that reaches a ``while`` loop which sleeps and has no bound."""
    found = []
    for boot in BOOT:
        hit = _first_unbounded(methods, boot)
        if hit is None:
            continue
        method, loop, waits = hit
        line = calls.line_of(method, loop, methods)
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
    for method, node, _ in calls.reachable(methods, boot):
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
    """True when the loop is bounded: a deadline, a number of tries, or a counter.

    Bounded means the loop's test, or a condition that leaves the loop, compares with an order (a
    deadline, a number of tries), or its test names a counter the body changes.
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
