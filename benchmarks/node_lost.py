"""Benchmark: SIGKILL a worker -> a surviving worker reports node_lost, fast gossip vs Celery's timings.

A 3-worker `kit.LocalCluster` (gossip='fast': heartbeat 0.2 s at this size, check 0.1 s) has one worker
SIGKILLed (`cluster.kill_worker`); the figure is the survivor's `kit-gossip` node_lost event for that
peer, measured from the kill: `kit_time` (when the survivor's gossip probe recorded it) minus the
time just before the kill. (`arrived` adds the trip to the notebook's feed.) A replacement worker is
added and seen by the survivors (node_join) before the next kill. Same with gossip='celery-default'
(heartbeat 2 s, check 5 s): fewer kills, each takes ~7 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, percentile, report_rows, row

TARGET_P95_S = 0.5


def _seen_by_peers(cluster, name, since, timeout):
    """Wait until every other worker's gossip has seen `name` (node_join), so a kill can be noticed."""
    for other in cluster.workers:
        if other != name:
            cluster.events.wait_for(
                "kit-gossip",
                timeout=timeout,
                since=since,
                hostname=other,
                event="node_join",
                peer=name,
            )


def measure(gossip, kills, timeout):
    from celery import Celery

    import kit

    seen, arrived = [], []
    with kit.LocalCluster(
        Celery(f"bench-lost-{gossip}"), workers=3, gossip=gossip, progress=False
    ) as cluster:
        start = time.time() - 5
        for name in cluster.workers:
            _seen_by_peers(cluster, name, start, timeout)
        for _ in range(kills):
            victim = cluster.workers[0]
            t_kill = time.time()
            cluster.kill_worker(victim)
            event = cluster.events.wait_for(
                "kit-gossip",
                timeout=timeout,
                since=t_kill - 1,
                event="node_lost",
                peer=victim,
                hostname=lambda h, victim=victim: h != victim,
            )
            seen.append(event["kit_time"] - t_kill)
            arrived.append(event.get("local_received", time.time()) - t_kill)
            t_add = time.time()
            new = cluster.add_worker()
            _seen_by_peers(cluster, new, t_add - 1, timeout)
            time.sleep(0.3 if gossip == "fast" else 1.0)  # a few heartbeats of the newcomer
    return seen, arrived


def main(repeat: int = 8, default_repeat: int = 3) -> dict:
    fast, fast_arrived = measure("fast", repeat, timeout=15)
    default, default_arrived = measure("celery-default", default_repeat, timeout=40)
    fast_p95, fast_p50 = percentile(fast, 95), percentile(fast, 50)
    default_p95, default_p50 = percentile(default, 95), percentile(default, 50)
    ratio = fast_p95 / default_p95
    ok = fast_p95 <= TARGET_P95_S
    return {
        "fast_p50_s": fast_p50,
        "fast_p95_s": fast_p95,
        "default_p50_s": default_p50,
        "default_p95_s": default_p95,
        "fast_arrived_p95_s": percentile(fast_arrived, 95),
        "default_median_s": median(default),
        "ratio": ratio,
        "target": TARGET_P95_S,
        "ok": ok,
        "fast_runs_s": fast,
        "default_runs_s": default,
        "repeat": repeat,
        "default_repeat": default_repeat,
        "rows": [
            row(
                "SIGKILL -> node_lost (fast gossip, p95)",
                f"p50 {fast_p50:.2f} s, p95 {fast_p95:.2f} s ({len(fast)} kills)",
                f"celery-default p95 {default_p95:.2f} s ({len(default)} kills)",
                ratio,
                f"p95 <= {TARGET_P95_S} s",
                ok,
            )
        ],
    }


def _report(f: dict) -> str:
    return "\n".join(
        [
            f"fast gossip:    node_lost seen by a survivor p50 {f['fast_p50_s']:.3f} s  "
            f"p95 {f['fast_p95_s']:.3f} s  (in the notebook's feed p95 {f['fast_arrived_p95_s']:.3f} s)  "
            f"runs {[round(x, 3) for x in f['fast_runs_s']]}",
            f"celery-default: node_lost seen by a survivor p50 {f['default_p50_s']:.3f} s  "
            f"p95 {f['default_p95_s']:.3f} s  runs {[round(x, 2) for x in f['default_runs_s']]}",
            f"p95 ratio fast/default {f['ratio']:.3f}; target fast p95 <= {f['target']} s: "
            f"{'ok' if f['ok'] else 'MISSED'}",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    from _common import repeat_arg

    print(_report(main(repeat_arg(8, __doc__))))
