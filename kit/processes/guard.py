"""Before a cluster starts: refuse one in a kit worker; warn of files hiding what workers import."""

import functools
import os
import re
import sys
import warnings
from importlib import machinery, metadata

from kit.errors import ClusterError, ShadowWarning, user_frame, user_stacklevel

#: Distributions whose packages every kit worker imports at start (with their dependencies).
WORKER_DISTRIBUTIONS = ("celery", "cloudpickle", "click")
#: Extras of those the kit installs (celery[redis]).
EXTRAS = {"redis"}


def inside_kit_process():
    """What kit process this is ('the kit worker w1@host', 'the kit's fork server'), or None."""
    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    if main is not None and main.name == "kit.processes.forkserver":
        return f"the kit's fork server (pid {os.getpid()})"
    if "kit.worker.app" in sys.argv or "kit.worker_app" in sys.argv:
        name = sys.argv[sys.argv.index("-n") + 1] if "-n" in sys.argv[:-1] else "?"
        return f"the kit worker {name} (pid {os.getpid()})"
    if os.environ.get("KIT_BOOT_LOG"):
        return f"a process started by a kit worker (pid {os.getpid()})"
    return None


def _caller():
    """``file:line`` of the innermost frame outside the kit's own code."""
    frame, _ = user_frame()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


def refuse_inside_worker():
    """Raise ClusterError when called inside a kit worker or its fork server.

    Clusters would nest without end.
    """
    where = inside_kit_process()
    if where is None:
        return
    raise ClusterError(
        f"kit.LocalCluster was started inside {where}, called from {_caller()}: refused, since a cluster "
        "started there starts a second Redis and more workers, and each of them imports this code again, "
        "without end. Start clusters from the notebook only; if a module the workers import starts one "
        "(e.g. a flower.py next to the notebook, which Celery loads as a command-line plugin), rename it "
        "or put that code under `if __name__ == '__main__':`."
    )


def _requirements(dist):
    """Names of the distributions ``dist`` needs (its EXTRAS included)."""
    names = []
    for req in dist.requires or ():
        name, _, marker = req.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
        if extra is None or extra.group(1) in EXTRAS:
            names.append(re.split(r"[\s<>=!~\[(;]", name.strip(), maxsplit=1)[0])
    return names


@functools.lru_cache(maxsize=1)
def _imported_at_start():
    """Top-level module -> what it is, for the packages every kit worker imports at start."""
    todo, seen = list(WORKER_DISTRIBUTIONS), set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(_requirements(metadata.distribution(name)))
        except metadata.PackageNotFoundError:
            continue
    found = {"kit": "the kit itself"}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            if dist.lower().replace("_", "-") in seen:
                found.setdefault(module, f"the {dist} package")
    for ep in metadata.entry_points(group="celery.commands"):
        found[ep.module.split(".")[0]] = (
            f"the Celery command-line plugin {ep.name!r}, loaded at every start"
        )
    return found


def _local_modules(folder):
    """Importable names in ``folder``: modules (``x.py``), regular packages (``x/__init__.py``)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return {}
    found = {}
    for entry in entries:
        path = os.path.join(folder, entry)
        if entry.endswith(".py") and os.path.isfile(path):
            found[entry[:-3]] = path
        elif os.path.isfile(os.path.join(path, "__init__.py")):
            found[entry] = path
    return found


def _hides(name, path, folder):
    """True when another copy of ``name`` is on sys.path outside ``folder`` (the real package)."""
    here = {os.path.realpath(p or ".") for p in ("", ".", folder)}
    elsewhere = [p for p in sys.path if os.path.realpath(p or ".") not in here]
    spec = machinery.PathFinder.find_spec(name, elsewhere)
    origin = spec and (spec.origin or next(iter(spec.submodule_search_locations or ()), None))
    return bool(origin) and not os.path.realpath(origin).startswith(os.path.realpath(path))


def shadowed(folder=None):
    """``(path, package, what it is)`` for each file in ``folder`` hiding a package workers import.

    ``folder`` defaults to the cwd; those packages are the ones every worker imports at start (the
    fork server and workers put that folder first on sys.path).
    """
    folder = folder or os.getcwd()
    local = _local_modules(folder)
    if not local:
        return []
    known = _imported_at_start()
    return [
        (local[n], n, known[n]) for n in sorted(local) if n in known and _hides(n, local[n], folder)
    ]


def shadow_message(path, package, what):
    """The ShadowWarning text: which file hides which package, and how to rename it."""
    return (
        f"{path} shadows {package!r} ({what}): the kit's workers put this folder first on sys.path, so "
        f"they import (and run) this file instead. Rename it, e.g. to my_{package}.py."
    )


def warn_shadowing():
    """A ShadowWarning per file of the cwd hiding a package the workers import.

    LocalCluster calls this.
    """
    for path, package, what in shadowed():
        warnings.warn(
            shadow_message(path, package, what), ShadowWarning, stacklevel=user_stacklevel()
        )
