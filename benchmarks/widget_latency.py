"""Benchmark: worker sends an event → the Timeline widget's model holds it, against Flower's 1 s poll."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Flower's dashboard refreshes about once a second.
FLOWER_POLL_S = 1.0
#: The widget model should hold an event this soon after the worker sent it (p95).
TARGET_S = 0.100


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Probe:
    """Pairs each task's `task-started` send time (worker clock) with when the widget model first shows it."""

    def __init__(self, timeline):
        self.sent, self.shown, self.received, self.lock = {}, {}, {}, threading.Lock()
        self.done = threading.Condition(self.lock)
        timeline.cluster.events.subscribe(self.on_event)
        timeline.observe(self.on_update)

    def on_event(self, event):
        if event.get("type") == "task-started":
            with self.lock:
                self.sent[event["uuid"]] = event["timestamp"]
                self.received[event["uuid"]] = time.time()

    def on_update(self, timeline):
        now = time.time()
        bars = next((t for t in timeline.widget.data if t.meta == "tasks"), None)
        with self.lock:
            for uuid in (bars.customdata if bars is not None else ()):
                if uuid not in self.shown:
                    self.shown[uuid] = now
            self.done.notify_all()

    def wait(self, uuid, timeout=30.0):
        with self.lock:
            if not self.done.wait_for(lambda: uuid in self.shown and uuid in self.sent, timeout):
                raise TimeoutError(f"task {uuid} never showed up in the timeline's widget model within {timeout} s")
            return self.shown[uuid] - self.sent[uuid]


def main(samples: int = 200, workers: int = 2, rate: float = 10.0) -> dict:
    """p50/p95 latency (s) from a worker's task-started event to the Timeline's FigureWidget model holding its bar.

    The Timeline updates its widget at most `rate` times a second, so an event waits up to 1/rate s
    for the next update: with the default 10/s, p95 sits near 100 ms by construction.
    """
    from celery import Celery

    import kit
    from kit.timeline import Timeline

    app = Celery("bench")
    with kit.LocalCluster(app, workers=workers, progress=False) as cluster:
        timeline = Timeline(cluster, rate=rate)
        timeline.widget  # the model the browser mirrors
        probe = Probe(timeline)
        cluster.app.send_task("kit.sleep", (0,)).get(timeout=30)  # warm up
        updates0, t0 = timeline.updates, time.monotonic()
        sent = []
        for _ in range(samples):  # on a clock of its own, so events land at random points of the update rhythm
            sent.append(cluster.app.send_task("kit.sleep", (0,)).id)
            time.sleep(random.expovariate(1 / 0.04))
        latencies = [probe.wait(uuid) for uuid in sent]
        feed = [probe.received[uuid] - probe.sent[uuid] for uuid in sent]
        rate = (timeline.updates - updates0) / (time.monotonic() - t0)
        timeline.close()
    p50, p95 = statistics.median(latencies), percentile(latencies, 95)
    return {"samples": samples, "workers": workers, "rate": rate, "p50_s": p50, "p95_s": p95, "max_s": max(latencies),
            "feed_p50_s": statistics.median(feed), "feed_p95_s": percentile(feed, 95),
            "updates_per_s": rate, "flower_poll_s": FLOWER_POLL_S, "ratio_p50": p50 / FLOWER_POLL_S,
            "ratio_p95": p95 / FLOWER_POLL_S, "target_s": TARGET_S, "ok": p95 <= TARGET_S}


def _report(f: dict) -> str:
    return (f"worker send → Timeline widget model ({f['samples']} tasks, {f['workers']} workers, fast gossip on, "
            f"updates capped at {f['rate']:.0f}/s):\n"
            f"  p50 {f['p50_s'] * 1e3:6.1f} ms   p95 {f['p95_s'] * 1e3:6.1f} ms   max {f['max_s'] * 1e3:6.1f} ms"
            f"   ({f['updates_per_s']:.1f} widget updates/s)\n"
            f"  of which worker send → feed callback: p50 {f['feed_p50_s'] * 1e3:.1f} ms, p95 {f['feed_p95_s'] * 1e3:.1f} ms\n"
            f"Flower's poll: {f['flower_poll_s'] * 1e3:.0f} ms → ratio p50 {f['ratio_p50']:.3f}, p95 {f['ratio_p95']:.3f}\n"
            f"target p95 <= {f['target_s'] * 1e3:.0f} ms: {'ok' if f['ok'] else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--samples", type=int, default=200, help="tasks to time (default 200)")
    parser.add_argument("-w", "--workers", type=int, default=2, help="workers in the cluster (default 2)")
    parser.add_argument("-r", "--rate", type=float, default=10.0, help="Timeline's widget updates per second (default 10)")
    args = parser.parse_args()
    print(_report(main(args.samples, args.workers, args.rate)))
