"""Benchmark: how long `kit.LocalCluster(app, workers=N)` takes to become ready, and where the time goes.

For each N: seconds until the constructor returns, and the moment the last worker announced itself
(its `worker-online` event, relative to the same start): the gap between the two is the readiness
check's own cost. Run: `python benchmarks/ready_time.py 30 60` (default: 10 30 60).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the project on sys.path)

#: LocalCluster(workers=30) should be ready within this many seconds on a 2-core machine.
TARGET_30 = 8.0


def measure(n, gossip="fast", timeout=300.0):
    """(ready seconds, last worker-online seconds) for one cluster of n workers; None when it failed."""
    import kit
    from celery import Celery

    wall0, t0 = time.time(), time.perf_counter()
    try:
        cluster = kit.LocalCluster(Celery("bench"), workers=n, gossip=gossip, timeout=timeout, progress=False)
    except kit.WorkerBootError as exc:
        print(f"N={n}: not ready: {str(exc).splitlines()[0]}")
        return None, None
    ready = time.perf_counter() - t0
    online = [e["timestamp"] for e in cluster.events.history if e.get("type") == "worker-online"]
    last_online = max(online) - wall0 if online else float("nan")
    cluster.close()
    return ready, last_online


def main(sizes=(10, 30, 60)):
    rows = {}
    for n in sizes:
        ready, online = measure(n)
        rows[n] = (ready, online)
        if ready is not None:
            print(f"N={n:3d}: ready {ready:6.2f} s, last worker-online at {online:6.2f} s", flush=True)
    ready30 = rows.get(30, (None,))[0]
    ok = ready30 is not None and ready30 <= TARGET_30
    return {"rows": rows, "target_30": TARGET_30, "ok": ok if 30 in rows else None}


if __name__ == "__main__":
    print(main(tuple(int(a) for a in sys.argv[1:]) or (10, 30, 60)))
