"""One pass over the app before workers start: options, stale steps, lint, requires, payload.

What it finds is kept in a Plan.
"""

from dataclasses import dataclass, field

from kit import gossip_timing
from kit.blueprints import lint
from kit.blueprints.snapshot import BLUEPRINTS, check_app_steps
from kit.processes import options, shipping


@dataclass(frozen=True)
class Plan:
    """What a cluster's workers run with, checked once; starting and restart() ship it as it is."""

    #: The worker options as given (restart() without options reuses them; the Options panel shows
    #: them).
    worker_options: dict = field(default_factory=dict)
    #: The `celery worker` flags: the kit's defaults, the cluster's shortcuts, then
    #: `worker_options`.
    argv: tuple = ()
    #: What the workers rebuild the app from, all but its configuration (shipping.parts_of).
    parts: dict = field(default_factory=dict)
    #: Whether each worker's gossip reports the peers it hears (kit-gossip node_join), so that
    #: readiness can wait until every worker has heard every other: probes on, gossip and
    #: heartbeats not switched off.
    gossip_reports: bool = True

    def payload(self, app):
        """The payload to ship: the parts, and the app's configuration as it is now.

        The cluster sets some of that configuration.
        """
        return {**self.parts, "config": shipping.config_of(app)}


def make(app, worker_options=None, *, base=(), probes=True, gossip="sized", workers=1):
    """Check the app and the options once and return the Plan; raises before anything starts.

    Validates the options (ValueError naming the bad one), drops step classes left by re-run cells
    from app.steps, warns about the guide's pitfalls (StepWarning), refuses broken `requires`
    (StepCycleError, CrossBlueprintError...) and unpicklable steps or tasks (ShippingError).
    `gossip` is the gossip mode (kit.gossip_timing), `workers` the cluster's size on this machine.
    """
    worker_options = dict(worker_options or {})
    merged = options.merged(*base, worker_options)
    argv = options.flags(app, merged)
    for kind in BLUEPRINTS:
        shipping.prune_steps(app, kind)
    lint.warn(app)
    check_app_steps(app)
    mode = gossip_timing.mode_of(gossip)
    parts = shipping.parts_of(app, probes=probes, gossip=mode, gossip_workers=workers)
    silent = merged.get("without_gossip") or merged.get("without_heartbeat")
    return Plan(
        worker_options=worker_options,
        argv=tuple(argv),
        parts=parts,
        gossip_reports=bool(probes and not silent),
    )
