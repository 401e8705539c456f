"""The command line: ``python -m kit lab | worker [-A MODULE:APP] | doctor``."""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

from kit.processes import namespace

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
POOLS = ("threads", "prefork", "solo", "eventlet", "gevent")
LOGLEVELS = ("debug", "info", "warning", "error", "critical")
BROKER_HELP = "give it with --broker redis://:PASSWORD@HOST:PORT/0 or set KIT_BROKER_URL"


def notebooks_dir() -> Path:
    """``notebooks/`` beside the project that holds this package, else the current directory."""
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (root / "notebooks").is_dir():
            return root / "notebooks"
    return Path.cwd()


#: JupyterLab settings the kit ships (``overrides.json``): a notebook opens with its kernel started,
#: never a "Select Kernel" dialog, and no "Jupyter news?" prompt covers the page.
LAB_SETTINGS = Path(__file__).resolve().parent / "lab_settings"


def lab_command(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The JupyterLab command line for ``python -m kit lab``."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={args.notebook_dir or notebooks_dir()}",
        f"--ip={args.ip}",
    ]
    if not any(arg.startswith("--LabApp.app_settings_dir") for arg in extra):
        cmd.append(f"--LabApp.app_settings_dir={LAB_SETTINGS}")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        cmd.append("--allow-root")
    if kernels_can_encrypt() and not any("transport_encryption" in arg for arg in extra):
        cmd.append("--KernelManager.transport_encryption=auto")
    return cmd + extra


def kernels_can_encrypt() -> bool:
    """Whether JupyterLab can give its kernels CurveZMQ keys (jupyter_client >= 8.10, curve).

    Then it does, and ipykernel no longer warns at each start that its tcp sockets are open to
    every local user; kernels that cannot encrypt run as before ("auto").
    """
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:
        return False
    return "transport_encryption" in KernelManager.class_traits() and zmq.has("curve")


def check_broker(url: str | None) -> str:
    """``url`` if join mode can use it; raises ValueError with the fix otherwise."""
    if not url:
        raise ValueError(f"join mode needs a broker: {BROKER_HELP}")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(
            f"broker URL scheme {parts.scheme!r} is not supported; use redis:// or rediss://"
        )
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} names no host; use redis://:PASSWORD@HOST:PORT/0")
    if not parts.password and parts.hostname not in LOCAL_HOSTS:
        raise ValueError(
            f"broker URL for {parts.hostname!r} has no password; join mode needs the "
            "password: redis://:PASSWORD@HOST:PORT/0 (ask the instructor for it)"
        )
    return url


def check_steps(text: str) -> list[str]:
    """Names from ``--steps``, checked against ``kit.steps.CATALOG`` when the catalog exists."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    try:
        from kit.steps import CATALOG
    except ImportError:
        if names:
            print(
                "kit: no step catalog (kit.steps.CATALOG) in this kit; passing --steps on unchecked",
                file=sys.stderr,
            )
        return names
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ValueError(
            f"unknown step(s) {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(sorted(CATALOG)) or '(none)'}"
        )
    return names


#: Join mode's defaults for the options ``-A`` passes on only when given.
JOIN_DEFAULTS = {"pool": "threads", "concurrency": 2, "loglevel": "info"}
#: The loader that adds the kit's probes to a project's own worker (kit/worker/instrument.py).
LOADER = "kit.instrument:Loader"
#: The environment `--dry-run` shows, per mode.
JOIN_ENV = ("KIT_BROKER_URL", "KIT_JOIN_STEPS", "KIT_NAMESPACE")
APP_ENV = ("CELERY_LOADER", "CELERY_BROKER_URL")


def _node(name: str) -> str:
    return name if "@" in name else f"{name}@%h"


def worker_command(
    args: argparse.Namespace, extra: list[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """The ``celery worker`` command line and environment: join mode, or ``-A``."""
    if args.app:
        return own_app_command(args, list(extra))
    broker = check_broker(args.broker or os.environ.get("KIT_BROKER_URL"))
    steps = check_steps(args.steps)
    node = _node(args.name or _default_name())
    from kit.processes import options

    chosen = {k: getattr(args, k) or v for k, v in JOIN_DEFAULTS.items()}
    flags = options.flags(None, {**chosen, "without_mingle": True})
    cmd = [sys.executable, "-m", "celery", "-A", "kit.worker.app", "worker", "-n", node, *flags]
    room = args.room or os.environ.get("KIT_ROOM") or None
    prefix = namespace.room_prefix(room) if room else ""
    env = dict(
        os.environ, KIT_BROKER_URL=broker, KIT_JOIN_STEPS=",".join(steps), KIT_NAMESPACE=prefix
    )
    return cmd, env


def own_app_command(args: argparse.Namespace, extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """``celery -A APP worker ...`` for a project's own app, instrumented by the kit's loader.

    The project's steps, options and config stay as they are: only the options given here are
    passed on (``--name`` as ``-n``; every other one, e.g. ``-Q`` or ``--autoscale``, as written),
    and ``--broker`` goes in ``CELERY_BROKER_URL`` (kept out of the process list).
    """
    if args.steps or args.room:
        raise ValueError(
            "--steps and --room are for join mode; with -A the worker runs the project's own "
            "steps on its own broker: drop them, or drop -A to join a kit cluster"
        )
    cmd = [sys.executable, "-m", "celery", "-A", args.app, "worker"]
    if args.name:
        cmd += ["-n", _node(args.name)]
    for flag, value in (("-P", args.pool), ("-c", args.concurrency), ("-l", args.loglevel)):
        if value is not None:
            cmd += [flag, str(value)]
    env = dict(os.environ, CELERY_LOADER=LOADER)
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
    return cmd + extra, env


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value!r}")
    return value


def _default_name() -> str:
    try:
        return getpass.getuser() or "worker"
    except Exception:
        # no user database entry in some containers
        return "worker"


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of `python -m kit`: lab, worker (join mode) and doctor."""
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{lab,worker,doctor}")

    lab = sub.add_parser(
        "lab",
        allow_abbrev=False,
        help="open JupyterLab on the kit's notebooks",
        epilog="Other options (e.g. --port 8899, --no-browser) go to JupyterLab.",
    )
    lab.add_argument(
        "--ip", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    lab.add_argument("--notebook-dir", help="folder to open (default: the kit's notebooks/)")
    lab.add_argument(
        "--dry-run", action="store_true", help="print the command instead of running it"
    )

    worker = sub.add_parser(
        "worker",
        help="join an existing cluster as a worker (join mode), or run your own app (-A)",
        epilog="With -A MODULE:APP, every other option goes to `celery worker` as written.",
    )
    worker.add_argument(
        "-A",
        "--app",
        metavar="MODULE:APP",
        help="run a project's own Celery app (e.g. proj.celery:app) with the kit's probes",
    )
    worker.add_argument(
        "--broker",
        help="redis://:PASSWORD@HOST:PORT/0 (default: $KIT_BROKER_URL; with -A: the project's)",
    )
    worker.add_argument(
        "--name", help=f"node name (default: {_default_name()}; with -A: the project's)"
    )
    worker.add_argument(
        "--room",
        help="the room to join, e.g. pycon (default: $KIT_ROOM; none: the broker's bare namespace)",
    )
    worker.add_argument(
        "--steps", default="", help="comma-separated step names from kit.steps.CATALOG"
    )
    worker.add_argument("--pool", choices=POOLS, help="default: threads; with -A: the project's")
    worker.add_argument("--concurrency", type=_positive, help="default: 2; with -A: the project's")
    worker.add_argument("--loglevel", choices=LOGLEVELS, help="default: info; with -A: Celery's")
    worker.add_argument(
        "--dry-run", action="store_true", help="print the command instead of running it"
    )

    sub.add_parser("doctor", help="check what is installed and say what to fix")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status (``lab`` and ``worker`` exec instead)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab" and not getattr(args, "app", None):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "doctor":
        from kit import doctor

        return doctor.main()
    if args.command == "lab":
        cmd, env = lab_command(args, extra), dict(os.environ)
    else:
        try:
            cmd, env = worker_command(args, extra)
        except ValueError as exc:
            print(f"python -m kit worker: error: {exc}", file=sys.stderr)
            return 2
    if args.dry_run:
        from kit.processes.broker import mask_url

        names = () if args.command != "worker" else APP_ENV if args.app else JOIN_ENV
        shown = [f"{k}={mask_url(env[k])}" for k in names if k in env] + cmd
        print(shlex.join(shown))
        return 0
    sys.stdout.flush()
    os.execvpe(cmd[0], cmd, env)
    # not reached
    return 0


if __name__ == "__main__":
    sys.exit(main())
