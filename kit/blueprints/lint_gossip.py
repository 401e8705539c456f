"""Lint rule: a step that assigns one of gossip's handlers instead of adding to ``c.gossip.on``."""

import ast

from kit.blueprints import calls

#: Gossip methods that Gossip.__init__ hands to the events State or to its table of handlers:
#: assigning the instance's attribute afterwards changes nothing.
BOUND_AT_INIT = {"on_node_join", "on_node_leave", "on_elect", "on_elect_ack"}
#: Gossip's handlers a step might assign; on_node_lost is looked up on each periodic check.
GOSSIP_HANDLERS = BOUND_AT_INIT | {"on_node_lost"}


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
                    line = calls.line_of(method, n, methods)
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
