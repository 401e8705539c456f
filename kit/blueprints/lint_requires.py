"""Lint rule: what a step reads from its parent while the worker boots, against its requires."""

import ast

from kit.blueprints import calls

#: Parent attributes a step of the blueprint sets: the step, and the method of it that sets them.
#: Checked on 5.5.3, 5.6.2 and 5.7.0: Pool, Timer and Hub set theirs in create() (Pool and Hub set
#: None in __init__); Gossip sets c.gossip in __init__; Events sets c.event_dispatcher in start().
PROVIDED_BY = {
    "worker": {
        "pool": ("celery.worker.components:Pool", "create"),
        "timer": ("celery.worker.components:Timer", "create"),
        "hub": ("celery.worker.components:Hub", "create"),
    },
    "consumer": {
        "gossip": ("celery.worker.consumer.gossip:Gossip", "__init__"),
        "event_dispatcher": ("celery.worker.consumer.events:Events", "start"),
    },
}
#: Methods that run while the worker boots (where a missing requires bites).
BOOT_METHODS = ("__init__", "include", "create", "start")
#: When each boot method runs. Blueprint.apply runs every step's __init__, then each step's
#: include (which calls create) in boot order; Blueprint.start then runs each step's start in that
#: order. A read in an earlier phase than the setter's never sees the value, one in the same phase
#: sees it only if requires orders the setter first, one in a later phase always sees it.
PHASE = {"__init__": 0, "include": 1, "create": 1, "start": 2}


def _parent_attrs(fn):
    """Attributes read from the method's parent argument, each with the first line that reads it.

    The parent is the method's first argument after self: ``worker.pool``, ``c.gossip``.
    """
    node = calls.parse(fn)
    args = (node.args.posonlyargs + node.args.args)[1:2] if node else []
    if not args:
        return {}
    parent, start = args[0].arg, calls.first_line(fn) - 1
    found = {}
    for n in sorted(calls.walk(node), key=lambda n: getattr(n, "lineno", 0), reverse=True):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == parent:
            found[n.attr] = start + n.lineno
    return found


def requires_findings(cls, methods, kind, finding):
    """Findings for what the step reads from its parent at boot, against what its requires orders.

    A read of an attribute of the other blueprint is in the wrong blueprint; a read in a phase
    before the one that sets the attribute is too early whatever requires says ("early"); a read in
    the same phase needs the setting step in requires ("requires"); a later read is always safe.
    """
    reads = {m: _parent_attrs(methods[m]) for m in BOOT_METHODS if m in methods}
    used = {}
    for m in reversed(BOOT_METHODS):
        used.update(reads.get(m, {}))
    found = []
    for attr, (provider, _) in PROVIDED_BY["consumer"].items() if kind == "worker" else ():
        if attr in used:
            found.append(
                finding(
                    cls.__name__,
                    "requires",
                    f"uses worker.{attr} (line {used[attr]}), which only the consumer has "
                    f"(c.{attr}): move the step to app.steps['consumer'] and add {provider!r} to "
                    "its requires.",
                    "blueprint",
                    used[attr],
                )
            )
    for attr, (provider, sets_in) in PROVIDED_BY[kind].items():
        read = [(m, lines[attr]) for m, lines in reads.items() if attr in lines]
        early = [(m, line) for m, line in read if PHASE[m] < PHASE[sets_in]]
        same = [(m, line) for m, line in read if PHASE[m] == PHASE[sets_in]]
        if early:
            found.append(_too_early(finding, cls.__name__, attr, provider, sets_in, *early[0]))
        elif same and not _requires_transitively(cls, provider):
            found.append(_unordered(finding, cls.__name__, attr, provider, sets_in, *same[0]))
    return found


def _later(sets_in):
    """The boot methods of the phases after the one of `sets_in`, where the attribute is set."""
    return [m for m in ("create", "start") if PHASE[m] > PHASE[sets_in]]


def _too_early(finding, name, attr, provider, sets_in, method, line):
    """The finding for a read in a phase before the one where `provider` sets the attribute."""
    step = provider.rsplit(":", 1)[-1]
    return finding(
        name,
        method,
        f"reads .{attr} (line {line}) in {method}(), where it is not set yet: {step} sets it in "
        f"its {sets_in}(), and Celery runs every step's {method}() before any step's "
        f"{sets_in}(), whatever requires says. Read it in {sets_in}() and require {provider!r}"
        + "".join(f", or read it in {m}()" for m in _later(sets_in))
        + ".",
        "early",
        line,
    )


def _unordered(finding, name, attr, provider, sets_in, method, line):
    """The finding for a read in the phase where `provider` sets it, with nothing ordering them."""
    step = provider.rsplit(":", 1)[-1]
    later = _later(sets_in)
    return finding(
        name,
        "requires",
        f"uses .{attr} (line {line}) in {method}() but does not require {provider!r}: it may "
        f"run before {step}.{sets_in}() sets it. Add it to requires"
        + (f", or read it in {later[-1]}(), where it always exists" if later else "")
        + ".",
        "requires",
        line,
    )


def _requires_transitively(cls, provider, seen=None):
    from celery.utils.imports import symbol_by_name

    seen = seen if seen is not None else set()
    reqs = getattr(cls, "requires", ()) or ()
    for r in reqs if isinstance(reqs, (set, frozenset, list, tuple)) else ():
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
