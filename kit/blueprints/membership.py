"""Blueprint membership: a step may only require steps of its own blueprint (worker or consumer).

Celery resolves ``requires`` across blueprints without complaint and pulls the required step into
the wrong blueprint, where it breaks the boot (Celery issue 3955); these checks name the step and
the fix before any worker starts."""

from kit.errors import CrossBlueprintError

#: Worker steps whose object a consumer step already has: the worker hands them to the Consumer.
HANDED_OVER = {
    "celery.worker.components.Timer": "c.timer",
    "celery.worker.components.Pool": "c.pool",
    "celery.worker.components.Hub": "c.hub",
}


def _path(start: str, edges: dict, foreign: set) -> list | None:
    """The shortest requires chain from ``start`` to a step of ``foreign``, or None."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for req in edges.get(path[-1], ()):
            if req in foreign:
                return [*path, req]
            if req not in seen:
                seen.add(req)
                paths.append([*path, req])
    return None


def _error(bp: str, other: str, path: list, found: dict) -> CrossBlueprintError:
    label = {n: found[n].label or n.rsplit(".", 1)[-1] for n in path}
    step, req, holder = path[0], path[-1], path[-2]
    via = f" (through {' -> '.join(label[n] for n in path)})" if len(path) > 2 else ""
    if bp == "consumer" and req in HANDED_OVER:
        fix = (
            f"drop {req!r} from {label[holder]}.requires: in a consumer step {HANDED_OVER[req]} is "
            "already there (the worker hands c.timer, c.pool and c.hub to the Consumer)"
        )
    else:
        fix = f"move {label[holder]} to app.steps[{other!r}], where {label[req]} is"
    error = CrossBlueprintError(
        f"{bp} step {step!r} requires {req!r}{via}, a step of the {other} blueprint: a step may only "
        f"require steps of its own blueprint (Celery would pull {label[req]} into the {bp} blueprint, "
        f"where it breaks the worker's boot). Fix: {fix}."
    )
    error.step, error.blueprint, error.required, error.required_blueprint = step, bp, req, other
    error.label = found[step].__name__
    return error


def cross_errors(resolved: dict) -> list:
    """A CrossBlueprintError per step of either blueprint that requires a step of the other.

    resolved: {bp: (names of its own steps, name -> class, name -> required names)} for the two
    blueprints, as kit.blueprints.snapshot resolves them from an app."""
    errors = []
    first, second = resolved
    for bp, other in ((first, second), (second, first)):
        own, found, edges = resolved[bp]
        foreign = resolved[other][0] - own
        for name in sorted(own):
            path = _path(name, edges, foreign)
            if path:
                errors.append(_error(bp, other, path, found))
    return errors
