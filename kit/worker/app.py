"""The kit's worker loader (`celery -A kit.worker.app worker`): rebuilds the app, installs probes.

The app is the notebook's. Reads KIT_RUN_DIR (the shipped payload), KIT_BROKER_URL, KIT_NAMESPACE
(the key prefix of its cluster or room; else KIT_ROOM's), KIT_PARENT_PID (exit when the notebook's
kernel is gone), KIT_BOOT_LOG (boot markers) and KIT_JOIN_STEPS (catalog steps for join mode).
Once ready it sends one `kit-ready` event. With KIT_ROOM set, `celery -A kit.worker.app flower`
(or `inspect`) sees the room.
"""

import importlib
import os
import signal
import threading
import time

from celery import Celery, signals

from kit import gossip_timing, tasks
from kit.events import telemetry
from kit.events.contract import READY
from kit.events.telemetry import emit
from kit.processes import namespace, shipping
from kit.processes.procs import alive
from kit.steps import CATALOG, KIT_OPTIONS
from kit.worker import event_flush, probes, remote_commands, sized_gossip  # noqa: F401


def _task_from_spec(app, spec):
    if "module" in spec:
        importlib.import_module(spec["module"])
        return
    app.task(name=spec["name"], bind=spec["bind"], shared=False, **spec["opts"])(spec["fun"])


def _payload():
    run_dir = os.environ.get("KIT_RUN_DIR")
    if run_dir:
        return shipping.load(run_dir)
    names = [n for n in os.environ.get("KIT_JOIN_STEPS", "").split(",") if n]
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise SystemExit(f"unknown step(s) {unknown!r}: choose from {sorted(CATALOG)!r}")
    steps = {"worker": [], "consumer": []}
    for n in names:
        kind, cls = CATALOG[n]
        steps[kind].append(cls)
    return {
        "main": "kit",
        "config": {"accept_content": ["json"]},
        "steps": steps,
        "tasks": [],
        "user_options": [],
        "probes": True,
        "gossip": "sized",
        "gossip_workers": 1,
    }


def build(payload):
    """A Celery app equal to the notebook's, plus the kit's probes, options and demo tasks."""
    event_flush.install()
    app = Celery(payload["main"], set_as_current=True)
    app.conf.update(payload["config"])
    app.conf.broker_url = os.environ["KIT_BROKER_URL"]
    namespace.apply(app.conf, namespace.from_env(os.environ))
    for kind in ("worker", "consumer"):
        for step in payload["steps"][kind]:
            app.steps[kind].add(step)
    known = {o.name for o in payload["user_options"]}
    for option in payload["user_options"] + [o for o in KIT_OPTIONS if o.name not in known]:
        app.user_options["worker"].add(option)
    tasks.register(app)
    for spec in payload["tasks"]:
        _task_from_spec(app, spec)
    if payload["probes"]:
        probes.install_lifecycle_probe(os.environ.get("KIT_BOOT_LOG"))
        app.steps["worker"].add(probes.TimerProbe)
        app.steps["consumer"].add(probes.GossipProbe)
    if gossip_timing.mode_of(payload["gossip"]) == "sized":
        # one app per worker process: the class carries the size the cluster planned
        sized_gossip.SizedGossip.planned = payload["gossip_workers"]
        app.steps["consumer"].add(sized_gossip.SizedGossip)
    return app


def _watch_parent(pid):
    """Exit when the process that started us is gone (backs up PR_SET_PDEATHSIG)."""
    while alive(pid):
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL) if os.getpgid(0) == os.getpid() else os._exit(1)


@signals.celeryd_init.connect
def _on_init(sender=None, **kwargs):
    telemetry.emitter.start(app, sender)


@signals.worker_ready.connect
def _on_ready(sender=None, **kwargs):
    """Announce once that this worker takes tasks and answers remote control: the kernel waits."""
    emit(READY)


app = build(_payload())
if os.environ.get("KIT_PARENT_PID"):
    threading.Thread(
        target=_watch_parent,
        args=(int(os.environ["KIT_PARENT_PID"]),),
        name="kit-parent-watch",
        daemon=True,
    ).start()
