"""The kit's remote-control commands (as Celery's `celery.worker.control`): blueprint, elections."""

from celery.utils.imports import symbol_by_name
from celery.worker.control import control_command, inspect_command

from kit.events.contract import GOSSIP
from kit.events.telemetry import emit
from kit.worker import internals
from kit.worker.probes import label


@inspect_command()
def kit_blueprint(state):
    """What booted in this worker: both blueprints in boot order, with enabled/started/timings."""
    c = state.consumer
    worker, consumer = internals.live_blueprints(c)
    return {"hostname": c.hostname, "worker": _describe(worker), "consumer": _describe(consumer)}


def _describe(blueprint):
    steps = []
    for i, step in enumerate(blueprint.order):
        cls = type(step)
        steps.append(
            {
                "name": cls.name,
                "ref": f"{cls.__module__}:{cls.__name__}",
                "label": label(cls),
                "requires": [
                    symbol_by_name(r).name if isinstance(r, str) else r.name for r in cls.requires
                ],
                "enabled": bool(getattr(step, "enabled", True)),
                "last": bool(cls.last),
                "order": i,
                "started": bool(getattr(step, "_kit_started", False)),
                "timings": dict(getattr(step, "_kit_timings", {})),
                "error": None,
            }
        )
    return steps


@control_command(args=[("id", str), ("action", str)], signature="<id> [action]")
def kit_elect(state, id, action=None):
    """Start a gossip election on topic 'kit' from this worker (the winner emits 'won')."""
    gossip = state.consumer.gossip
    if not gossip.enabled:
        return {
            "error": "gossip is disabled on this worker (--without-gossip or a transport without fanout)"
        }
    emit(GOSSIP, event="election", election=id, topic="kit", action=action)
    gossip.election(id, "kit", action)
    return {"ok": id}
