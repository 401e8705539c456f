"""Boot runs: the order each worker process made a blueprint's steps in.

Read from a cluster's events (restarting it first if asked), from recordings, or from event dicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kit.blueprints.snapshot import BLUEPRINTS, blueprint_steps
from kit.events.contract import LIFECYCLE

__all__ = ["BootRun", "boot_runs", "read"]

#: The lifecycle method whose calls give a blueprint's boot order: `Blueprint.apply` creates
#: every step in its order (Timer and other steps without `start` too) before any `start`.
ORDER_METHOD = "__init__"
#: What `boot_order` takes (for its error message).
SOURCES = (
    "a LocalCluster (restarts=N restarts it first), another cluster view with app=, "
    "kit.replay(path), a recording's path, a list of those, or a list of event dicts"
)


@dataclass(frozen=True)
class BootRun:
    """One blueprint's boot in one worker process: its steps' names in the order they were made."""

    #: the worker's node name.
    worker: str
    #: its process id (a restart is a new process).
    pid: int | None
    #: 'worker' or 'consumer'.
    blueprint: str
    #: step names, first made first.
    order: tuple


def boot_runs(events) -> list:
    """The BootRuns in `kit-lifecycle` events.

    Per worker process and blueprint: the steps' `__init__` calls by their start time.
    """
    calls = {}
    for e in events:
        if e.get("type") == LIFECYCLE and e.get("method") == ORDER_METHOD:
            key = (e.get("hostname") or "?", e.get("pid"), e.get("blueprint"))
            calls.setdefault(key, []).append((e.get("started_at") or 0.0, e.get("step")))
    return [
        BootRun(worker, pid, bp, tuple(dict.fromkeys(name for _, name in sorted(made))))
        for (worker, pid, bp), made in calls.items()
        if bp in BLUEPRINTS
    ]


def _recording(path) -> tuple:
    """(static Snapshot or None, every event) of a recording, read by a replay of its own."""
    from kit.record.replay import Replay

    with Replay(path) as rp:
        rp.seek(rp.duration)
        return rp.static, rp.events.history


def _read_one(source, restarts: int) -> tuple:
    """(Snapshot or None, events) of one source."""
    from kit.cluster import LocalCluster
    from kit.record.replay import Replay
    from kit.view import ClusterView

    if not isinstance(source, (str, os.PathLike, Replay, ClusterView)):
        raise TypeError(f"cannot read boot orders from {source!r}: pass {SOURCES}")
    if restarts and not (isinstance(source, ClusterView) and source.starts_workers):
        raise ValueError(
            f"restarts={restarts!r} restarts a cluster's workers, and {source!r} starts none: "
            "pass a LocalCluster, or restarts=0"
        )
    if not isinstance(source, ClusterView):
        return _recording(source)
    if isinstance(source, Replay):
        return _recording(source.path)
    got = []
    collect = got.append
    source.events.subscribe(collect, types=[LIFECYCLE], history=True)
    try:
        for _ in range(restarts):
            source.restart()
    finally:
        source.events.unsubscribe(collect)
    return (blueprint_steps(source.app) if isinstance(source, LocalCluster) else None), got


def read(source, restarts: int = 0) -> tuple:
    """(static Snapshot or None, BootRuns) of a source, or of each source in a list.

    A list of dicts is taken as the events themselves (no Snapshot).
    """
    items = source if isinstance(source, (list, tuple)) else [source]
    if items and all(isinstance(e, dict) for e in items):
        if restarts:
            raise ValueError(f"restarts={restarts!r} needs a LocalCluster, not a list of events")
        return None, boot_runs(items)
    snaps, events = [], []
    for item in items:
        snap, got = _read_one(item, restarts)
        snaps.append(snap)
        events += got
    return next((s for s in snaps if s), None), boot_runs(events)
