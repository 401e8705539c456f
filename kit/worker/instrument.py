"""A Celery loader that adds the kit's probes to a project's own worker: `kit.instrument:Loader`.

`CELERY_LOADER=kit.instrument:Loader celery -A proj.celery:app worker ...` runs the project's
command line unchanged: Celery takes its loader from `CELERY_LOADER`, and `WorkController.__init__`
calls `app.loader.init_worker()` before it builds the blueprints. This loader is Celery's default
(`AppLoader`) plus, in `on_worker_init`, the probes: step lifecycle tracing with the stuck-step
watchdog, the timer probe and the gossip probe. It changes no setting, queue, pool or gossip timing;
the kit's events go out on their own `kit-*` group through their own connection. A probe that fails
on some Celery release logs one warning line and turns itself off; the worker runs on.
"""

import logging

from celery import signals
from celery.loaders.app import AppLoader

from kit.events import telemetry
from kit.events.contract import READY
from kit.events.telemetry import emit

logger = logging.getLogger("kit.instrument")


def _disabled(what, exc):
    logger.warning("kit: the %s probe is off on this worker: %s: %s", what, type(exc).__name__, exc)


def guarded(step, method, what):
    """A subclass of probe `step` whose `method` logs one warning instead of raising."""
    original = getattr(step, method)

    def safe(self, parent):
        try:
            return original(self, parent)
        except Exception as exc:
            _disabled(what, exc)

    return type(step.__name__, (step,), {method: safe, "__module__": step.__module__})


def install(app):
    """Add the kit's probes to `app`'s worker (this process) and send its events from here."""
    try:
        from kit.worker import probes, remote_commands  # noqa: F401  (registers kit_blueprint)

        probes.install_lifecycle_probe()
    except Exception as exc:
        _disabled("lifecycle", exc)
        return
    app.steps["worker"].add(guarded(probes.TimerProbe, "create", "timer"))
    app.steps["consumer"].add(guarded(probes.GossipProbe, "start", "gossip"))
    signals.celeryd_init.connect(_on_init, weak=False)
    signals.worker_ready.connect(_on_ready, weak=False)


def _on_init(sender=None, instance=None, **kwargs):
    telemetry.emitter.start(instance.app, sender)


def _on_ready(sender=None, **kwargs):
    from kit.worker.stuck import watchdog

    emit(READY)
    after = f"after {watchdog.after:g} s" if watchdog.after else "off (KIT_STUCK_AFTER=0)"
    logger.info("kit: probes on (kit-* events on this broker); stuck-step reports %s", after)


class Loader(AppLoader):
    """Celery's default loader, plus the kit's probes in every worker it starts."""

    def on_worker_init(self):
        super().on_worker_init()
        install(self.app)
