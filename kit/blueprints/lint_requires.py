"""Lint rule: what a step reads from its parent while the worker boots, against its requires."""

import ast

from kit.blueprints import calls

#: Parent attributes that exist only once the step providing them was created, per blueprint.
PROVIDED_BY = {
    "worker": {
        "pool": "celery.worker.components:Pool",
        "timer": "celery.worker.components:Timer",
        "hub": "celery.worker.components:Hub",
    },
    "consumer": {
        "gossip": "celery.worker.consumer.gossip:Gossip",
        "event_dispatcher": "celery.worker.consumer.events:Events",
    },
}
#: Methods that run while the worker boots (where a missing requires bites).
BOOT_METHODS = ("__init__", "include", "create", "start")


def _parent_attrs(fn):
    """Attributes read from the method's parent argument (``worker.pool``, ``c.gossip``), each
    with the first line that reads it.
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
    """Findings for what the step reads from its parent at boot against what its requires
    guarantee: the wrong blueprint, a missing requires, or a read in __init__ (always too early).
    """
    used = {}
    for m in reversed(BOOT_METHODS):
        used.update(_parent_attrs(methods[m]) if m in methods else {})
    early = _parent_attrs(methods["__init__"]) if "__init__" in methods else {}
    found = []
    for attr, provider in PROVIDED_BY["consumer"].items() if kind == "worker" else ():
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
    for attr, provider in PROVIDED_BY[kind].items():
        if kind == "worker" and attr in early:
            found.append(_too_early(finding, cls.__name__, attr, provider, early[attr]))
        elif attr in used and not _requires_transitively(cls, provider):
            found.append(
                finding(
                    cls.__name__,
                    "requires",
                    f"uses .{attr} (line {used[attr]}) but does not require {provider!r}: it may "
                    "run before that exists. Add it to requires.",
                    "requires",
                    used[attr],
                )
            )
    return found


def _too_early(finding, name, attr, provider, line):
    return finding(
        name,
        "__init__",
        f"reads worker.{attr} (line {line}) in __init__, where it does not exist yet: Celery runs "
        "every step's __init__ before any step's create(), whatever requires says. Read it in "
        f"create() or start(), and require {provider!r}.",
        "early",
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
