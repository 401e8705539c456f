"""Worker options in Celery's vocabulary (`celery worker`'s, the kit's, the app's) as CLI flags."""

import click
from celery.bin.worker import worker as worker_command

from kit.steps import KIT_OPTIONS

#: What the kit's workers run with unless told otherwise (Celery's own defaults: prefork, warning,
#: mingle).
DEFAULTS = {
    "pool": "threads",
    "concurrency": 2,
    "loglevel": "info",
    "without_mingle": True,
    "task_events": True,
}

_DAEMON = "a daemon option: the cluster's workers are children of the kernel"

#: `celery worker` options the cluster sets itself, and what to do instead.
OWNED = {
    "hostname": "the cluster names its workers: cluster.add_worker(name=...)",
    "detach": "the cluster owns its worker processes",
    "logfile": "the cluster keeps each worker's log: cluster.logs(name)",
    "pidfile": _DAEMON,
    "uid": _DAEMON,
    "gid": _DAEMON,
    "umask": _DAEMON,
    "executable": _DAEMON,
}


def _key(name):
    return name.replace("-", "_")


def known(app):
    """{name: click option} a kit worker accepts: `celery worker`'s (less OWNED), kit's, app's.

    `app` None: no app options (a worker that joins a room runs the kit's own app).
    """
    celery = [
        p for p in worker_command.params if isinstance(p, click.Option) and p.name not in OWNED
    ]
    own = [] if app is None else app.user_options["worker"]
    found = {}
    for option in [*celery, *KIT_OPTIONS, *own]:
        found.setdefault(option.name, option)
    return found


def merged(*layers):
    """The options of every layer, later ones winning, names spelled with underscores."""
    out = {}
    for layer in layers:
        out.update({_key(name): value for name, value in (layer or {}).items()})
    return out


def shortcuts(pool, concurrency, worker_options):
    """{'pool': ..., 'concurrency': ...} of the shortcuts given; ValueError if in worker_options."""
    given = {k: v for k, v in (("pool", pool), ("concurrency", concurrency)) if v is not None}
    both = sorted(set(given) & set(merged(worker_options)))
    if both:
        raise ValueError(f"{both[0]} is given twice, as {both[0]}= and in worker_options: keep one")
    return given


def flags(app, options):
    """Worker options {name: value} as the `celery worker` flags click parses.

    ValueError on a bad one.
    """
    options_of = known(app)
    argv = []
    for name, value in options.items():
        argv += _flags(_option(options_of, name), name, value)
    return argv


def _option(options_of, name):
    key = _key(name)
    if key in OWNED:
        raise ValueError(f"worker option {name!r} is set by the kit ({OWNED[key]})")
    if key not in options_of:
        raise ValueError(
            f"unknown worker option {name!r}: choose one of {sorted(options_of)!r} "
            "(add your own with app.user_options['worker'].add(click.Option(...)))"
        )
    return options_of[key]


def _flags(option, name, value):
    flag = option.opts[0]
    if option.is_flag:
        return [flag] if value else []
    if value is None:
        return []
    values = value if option.multiple and isinstance(value, (list, tuple)) else [value]
    out = []
    for v in values:
        text = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        _check_value(option, name, text)
        out += [flag, text]
    return out


def _check_value(option, name, text):
    """Refuse a value click would refuse at the worker's boot.

    Only click's own types are checked, with no side effects.
    """
    kind = option.type
    if isinstance(kind, click.Choice):
        if text.lower() not in {c.lower() for c in kind.choices}:
            raise ValueError(f"worker option {name}={text!r}: choose one of {list(kind.choices)!r}")
    elif type(kind).__module__ == "click.types":
        try:
            kind.convert(text, option, None)
        except click.BadParameter as exc:
            raise ValueError(f"worker option {name}={text!r}: {exc.message}") from None
