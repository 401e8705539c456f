"""Benchmark: how long `kit.LocalCluster(Celery("x"), workers=N)` takes to become ready, and where it goes.

For each N, in a fresh process (the first cluster of a kernel, fork server included): seconds until
the constructor returns, and when the last worker announced itself with Celery's `worker-online`
(same clock): the gap between the two is what readiness costs beyond the workers' own boot; it
includes waiting until every worker's gossip has heard every other (up to one heartbeat interval).
Targets (issue 11): N=30 ready within 8 s on this 2-core machine; N=60 ready at all (`--big`).
Run: `python benchmarks/ready_time.py [--big]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT

#: Seconds LocalCluster(workers=30) may take to be ready.
TARGET_30 = 8.0
#: The boot deadline given to every cluster: a size that is not ready by then failed.
TIMEOUT = 300.0


def measure(n, gossip="sized", timeout=TIMEOUT):
    """{n, ready_s, last_online_s} for one cluster of n workers started in this process (error on failure)."""
    from celery import Celery

    import kit

    wall0, t0 = time.time(), time.perf_counter()
    try:
        cluster = kit.LocalCluster(
            Celery("bench"), workers=n, gossip=gossip, timeout=timeout, progress=False
        )
    except kit.WorkerBootError as exc:
        return {"n": n, "error": str(exc).splitlines()[0]}
    ready = time.perf_counter() - t0
    online = [e["timestamp"] for e in cluster.events.history if e.get("type") == "worker-online"]
    cluster.close()
    return {
        "n": n,
        "ready_s": ready,
        "last_online_s": max(online) - wall0 if online else float("nan"),
    }


def measure_fresh(n):
    """`measure(n)` in a child process, so every size starts cold like a new kernel."""
    code = f"import json, ready_time; print(json.dumps(ready_time.measure({n})))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"n": n, "error": out.stderr[-500:]}


def _row(f):
    target = TARGET_30 if f["n"] == 30 else TIMEOUT
    ready = f.get("ready_s", float("nan"))
    return {
        "name": f"LocalCluster(workers={f['n']}) ready",
        "figure": f"{ready:.1f} s" if "ready_s" in f else f"not ready: {f['error']}",
        "anchor": f"last worker-online {f.get('last_online_s', float('nan')):.1f} s",
        "ratio": ready / target,
        "target": f"<= {target:.0f} s",
        "ok": "ready_s" in f and ready <= target,
    }


def main(sizes=(10, 30), big=False) -> dict:
    sizes = tuple(sizes) + ((60,) if big and 60 not in sizes else ())
    results = [measure_fresh(n) for n in sizes]
    by_n = {f["n"]: f for f in results}
    rows = [_row(f) for f in results if f["n"] in (30, 60)]
    out = {f"ready_{f['n']}_s": f.get("ready_s", float("nan")) for f in results}
    out.update(
        {f"last_online_{f['n']}_s": f.get("last_online_s", float("nan")) for f in results},
        ratio=by_n.get(30, {}).get("ready_s", float("nan")) / TARGET_30,
        target=1.0,
        ok=all(r["ok"] for r in rows),
        rows=rows,
        by_size=results,
    )
    return out


if __name__ == "__main__":
    result = main(big="--big" in sys.argv)
    for f in result["by_size"]:
        print(json.dumps(f))
    for r in result["rows"]:
        print(
            f"{r['name']:36s} {r['figure']:>10s}  ({r['anchor']}; target {r['target']}, ok={r['ok']})"
        )
