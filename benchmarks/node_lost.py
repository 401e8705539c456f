"""Benchmark: SIGKILL a worker -> a surviving worker reports node_lost, by Celery's rule, at the kit's
default intervals and at Celery's own.

A 3-worker `kit.LocalCluster` (gossip='sized', the default: heartbeat 0.5 s at this size, check
0.25 s) has one worker SIGKILLed right after it is ready (`cluster.kill_worker`); the figure is the
survivor's `kit-gossip` node_lost event for that peer, measured from the kill: `kit_time` (when the
survivor's gossip probe recorded it) minus the time just before the kill. (`arrived` adds the trip
to the notebook's feed.) A replacement worker is added (ready: every worker heard it) before the
next kill. Each kill is compared with the window Celery's rule predicts from
`cluster.gossip_timing` (`node_lost_window()`: from F to 2F + I). Same with gossip='celery-default'
(heartbeat 2 s, check 5 s: 2-9 s): fewer kills.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, percentile, report_rows, row

#: Seconds a busy machine may add to the latest node_lost Celery's rule predicts.
SLACK_S = 0.25


def measure(gossip, kills, timeout):
    """(seen, arrived, window): seconds from each kill to a survivor's node_lost, and the rule's."""
    from celery import Celery

    import kit

    seen, arrived = [], []
    with kit.LocalCluster(
        Celery(f"bench-lost-{gossip}"), workers=3, gossip=gossip, progress=False
    ) as cluster:
        window = cluster.gossip_timing.node_lost_window()
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
            cluster.add_worker()
    return seen, arrived, window


def main(repeat: int = 8, default_repeat: int = 3) -> dict:
    fast, fast_arrived, window = measure("sized", repeat, timeout=15)
    default, default_arrived, default_window = measure("celery-default", default_repeat, timeout=40)
    fast_p95, fast_p50 = percentile(fast, 95), percentile(fast, 50)
    default_p95, default_p50 = percentile(default, 95), percentile(default, 50)
    ratio = fast_p95 / default_p95
    inside = sum(window[0] <= s <= window[1] for s in fast)
    default_inside = sum(default_window[0] <= s <= default_window[1] for s in default)
    target = window[1] + SLACK_S
    ok = fast_p95 <= target
    return {
        "fast_p50_s": fast_p50,
        "fast_p95_s": fast_p95,
        "default_p50_s": default_p50,
        "default_p95_s": default_p95,
        "fast_arrived_p95_s": percentile(fast_arrived, 95),
        "default_median_s": median(default),
        "window_s": window,
        "default_window_s": default_window,
        "inside": inside,
        "default_inside": default_inside,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        "fast_runs_s": fast,
        "default_runs_s": default,
        "repeat": repeat,
        "default_repeat": default_repeat,
        "rows": [
            row(
                "SIGKILL -> node_lost (sized gossip, p95)",
                f"p50 {fast_p50:.2f} s, p95 {fast_p95:.2f} s ({len(fast)} kills, {inside} inside "
                f"the rule's {window[0]:.2f}-{window[1]:.2f} s)",
                f"celery-default p95 {default_p95:.2f} s ({len(default)} kills, "
                f"{default_inside} inside {default_window[0]:.0f}-{default_window[1]:.0f} s)",
                ratio,
                f"p95 <= {target:.2f} s (the rule's latest + {SLACK_S} s)",
                ok,
            )
        ],
    }


def _report(f: dict) -> str:
    return "\n".join(
        [
            f"sized gossip:   node_lost seen by a survivor p50 {f['fast_p50_s']:.3f} s  "
            f"p95 {f['fast_p95_s']:.3f} s  (in the notebook's feed p95 {f['fast_arrived_p95_s']:.3f} s)  "
            f"runs {[round(x, 3) for x in f['fast_runs_s']]}",
            f"celery-default: node_lost seen by a survivor p50 {f['default_p50_s']:.3f} s  "
            f"p95 {f['default_p95_s']:.3f} s  runs {[round(x, 2) for x in f['default_runs_s']]}",
            f"rule's window: sized {f['window_s']}, {f['inside']} of {len(f['fast_runs_s'])} "
            f"inside; celery-default {f['default_window_s']}, {f['default_inside']} of "
            f"{len(f['default_runs_s'])} inside",
            f"p95 ratio sized/default {f['ratio']:.3f}; target sized p95 <= {f['target']:.2f} s: "
            f"{'ok' if f['ok'] else 'MISSED'}",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    from _common import repeat_arg

    print(_report(main(repeat_arg(8, __doc__))))
