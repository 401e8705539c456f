"""Shipping a notebook's app to worker processes through a private file.

What ships: its configuration, steps, tasks and options.
"""

import importlib
import io
import json
import os
import sys

import cloudpickle
from celery import bootsteps
from celery.app.defaults import DEFAULTS
from celery.utils.imports import symbol_by_name

from kit.errors import ShippingError

PAYLOAD = "app.pkl"
#: Where to import from, read before the payload is unpickled (its classes may live there).
PATHS = "paths.json"

#: Config keys the cluster decides itself.
OWN_KEYS = {
    "broker_url",
    "broker_read_url",
    "broker_write_url",
    "broker_host",
    "broker_port",
    "broker_password",
    "broker_user",
    "broker_vhost",
    "broker_transport",
}


#: Task attributes carried over for tasks shipped by value.
TASK_OPTIONS = (
    "max_retries",
    "default_retry_delay",
    "acks_late",
    "ignore_result",
    "rate_limit",
    "time_limit",
    "soft_time_limit",
)


def _importable(obj):
    """True when a worker can import `obj` by reference (module:qualname)."""
    module = getattr(obj, "__module__", "__main__")
    if module == "__main__" or module.startswith("__"):
        return False
    try:
        return getattr(importlib.import_module(module), obj.__name__, None) is obj
    except Exception:
        return False


def _current(cls):
    """Is `cls` the latest definition of its name (not a class left over by a re-run cell)?"""
    module = sys.modules.get(cls.__module__)
    latest = getattr(module, cls.__name__, None) if module else None
    return latest is None or latest is cls or not isinstance(latest, type)


def _dotted(step):
    return step if isinstance(step, str) else f"{step.__module__}.{step.__qualname__}"


def steps_of(app, kind):
    """The steps of app.steps[kind] in a stable order (names and classes by dotted path)."""
    return sorted(app.steps[kind], key=_dotted)


def prune_steps(app, kind):
    """Remove from app.steps[kind] the stale copies left by re-run cells; return what is left."""
    steps = app.steps[kind]
    steps.difference_update({s for s in steps if isinstance(s, type) and not _current(s)})
    return steps_of(app, kind)


def user_tasks(app):
    """Tasks the user defined on the app (not Celery's own, not the kit's demo tasks)."""
    app.loader.import_default_modules()
    return [t for name, t in sorted(app.tasks.items()) if not name.startswith(("celery.", "kit."))]


def _task_spec(task):
    fun = getattr(task, "__wrapped__", None) or task.run
    if _importable(fun):
        return {"module": fun.__module__}
    run = type(task).__dict__.get("run")
    bind = run is not None and not isinstance(run, staticmethod)
    opts = {k: getattr(task, k) for k in TASK_OPTIONS}
    return {"name": task.name, "fun": fun, "bind": bind, "opts": opts}


def config_of(app):
    """The app's configuration that differs from Celery's defaults, without broker settings."""
    conf = {}
    for key, value in app.conf.items():
        if key in OWN_KEYS or key == "deprecated_settings":
            continue
        if key not in DEFAULTS or DEFAULTS[key] != value:
            conf[key] = value
    conf.setdefault("accept_content", ["json"])
    return conf


def parts_of(app, probes=True, gossip="sized", gossip_workers=1):
    """What the workers rebuild the app from, all but its configuration.

    ShippingError if it cannot be pickled. `gossip` is the mode (kit.gossip_timing),
    `gossip_workers` the number of workers the cluster starts on this machine, which the "sized"
    gossip starts its intervals from.
    """
    parts = {
        "main": app.main or "kit",
        "steps": {kind: steps_of(app, kind) for kind in ("worker", "consumer")},
        "tasks": [_task_spec(t) for t in user_tasks(app)],
        "user_options": sorted(app.user_options["worker"], key=lambda o: o.name or ""),
        "probes": probes,
        "gossip": gossip,
        "gossip_workers": gossip_workers,
    }
    for kind, steps in parts["steps"].items():
        for step in steps:
            _check_picklable(step, f"{kind} step {getattr(step, '__name__', step)!r}")
    for spec in parts["tasks"]:
        _check_picklable(spec.get("fun"), f"task {spec.get('name')!r}")
    return parts


def payload_of(app, **kwargs):
    """The whole payload: the app's parts (see parts_of) and its configuration."""
    return {**parts_of(app, **kwargs), "config": config_of(app)}


def ship(app, run_dir, **kwargs):
    """Write the app's payload into run_dir (0600) and return its path."""
    return write(payload_of(app, **kwargs), run_dir)


class _Pickler(cloudpickle.Pickler):
    """cloudpickle, but an importable step class always travels by reference.

    Even as the base of a notebook class: the step metaclass rewrites __qualname__, so cloudpickle
    would copy it by value and break `super()` in its methods.
    """

    def reducer_override(self, obj):
        if isinstance(obj, type) and issubclass(obj, bootsteps.Step) and _importable(obj):
            return symbol_by_name, (f"{obj.__module__}:{obj.__name__}",)
        return super().reducer_override(obj)


def dumps(obj):
    """Pickle `obj` as the workers will load it (importable steps by reference)."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(obj)
    return buffer.getvalue()


def write(payload, run_dir):
    """Write the payload and the kernel's import path into run_dir (0600); return the path."""
    paths = {"sys_path": [p for p in sys.path if p and os.path.isdir(p)], "cwd": os.getcwd()}
    _write_private(os.path.join(run_dir, PATHS), json.dumps(paths).encode())
    return write_bytes(dumps(payload), run_dir)


def read_bytes(run_dir):
    """The shipped payload as bytes.

    Never unpickled in the kernel: that would rewrite live classes.
    """
    with open(os.path.join(run_dir, PAYLOAD), "rb") as f:
        return f.read()


def write_bytes(data, run_dir):
    """Write already pickled payload bytes into run_dir (0600); return the path."""
    return _write_private(os.path.join(run_dir, PAYLOAD), data)


def _write_private(path, data):
    """Write a file only its owner can read, atomically."""
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def _check_picklable(obj, what):
    try:
        dumps(obj)
    except Exception as exc:
        raise ShippingError(
            f"{what} can't be shipped to the workers: {type(exc).__name__}: {exc}. "
            "Define it at the top level of a cell or in an importable module, and keep "
            "unpicklable objects (locks, connections, open files) out of class attributes."
        ) from exc


def load(run_dir):
    """In a worker: take the kernel's import path and working directory, then unpickle."""
    with open(os.path.join(run_dir, PATHS)) as f:
        paths = json.load(f)
    sys.path.extend(p for p in paths["sys_path"] if p not in sys.path)
    if os.path.isdir(paths["cwd"]):
        os.chdir(paths["cwd"])
    with open(os.path.join(run_dir, PAYLOAD), "rb") as f:
        return cloudpickle.load(f)
