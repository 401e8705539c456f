"""Benchmark: the default gossip at 10, 30, 60 and 90 local workers, against Celery's own, same run.

For each size N, a `kit.LocalCluster(Celery(...), workers=N)` (gossip="sized", the default:
Celery's rule with intervals sized to the workers here, see kit/gossip_timing.py) is started and
timed until it returns: ready means every worker's gossip has heard every other. Once no worker has
heard a new peer (node_join) for 3 s, it stays idle for `idle` seconds, nobody killed, while:
- every `kit-gossip` node_lost is counted (a false one: every worker is alive); also re-joins;
  those reported while the cluster booted are counted from the workers' logs (Celery logs each one);
- a client thread asks the main thread to run a trivial function every 20 ms, as a kernel's shell
  channel does (the "cell round trip"), with `kit.Dashboard` subscribed to the feed;
- the kernel's CPU (this process: the feed's receiver thread, the dashboard), the workers' CPU,
  Redis's CPU and commands/s (INFO stats), and the events/s the feed delivers are measured;
- memory: RSS and USS summed over the N workers (forked workers share pages: USS is what each owns).
Then `kills` workers are SIGKILLed one at a time; the figure is the first survivor's node_lost
(`kit_time` - kill time); the median survivor's is kept too, and how many kills fell inside the
window Celery's rule predicts from `cluster.gossip_timing`. The heartbeat interval the workers chose
is read from their `kit-timer` events. Then a cluster of N with gossip="celery-default" (Celery's own
intervals) gets the same kills: the anchor, which the default's p95 must not exceed.

    python benchmarks/scale.py                  # N = 10, 30, 60, 90; 15 s idle; 5 kills each
    python benchmarks/scale.py -N 30 --idle 20  # one size
"""

from __future__ import annotations

import argparse
import collections
import os
import queue
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, memory_of, percentile, report_rows, row

SIZES = (10, 30, 60, 90)
#: Kills of the anchor cluster (Celery's default gossip) at each size.
ANCHOR_KILLS = 5
ROUND_TRIP_TARGET_S = 0.1


class Watch:
    """A feed subscriber: node_join/node_lost reports, and each worker's heartbeat interval."""

    def __init__(self):
        self.lost, self.joins = [], collections.defaultdict(set)
        self.rejoins, self.interval, self.freq = 0, {}, {}
        self.last_beat, self.gaps = {}, []
        self.last_join = 0.0

    def __call__(self, event):
        kind = event.get("type")
        if kind == "kit-gossip":
            what, host, peer = event.get("event"), event.get("hostname"), event.get("peer")
            if what == "node_lost":
                self.lost.append((event.get("kit_time", 0.0), host, peer))
            elif what == "node_join":
                self.last_join = time.monotonic()
                self.rejoins += peer in self.joins[host]
                self.joins[host].add(peer)
        elif kind == "worker-heartbeat":
            host, sent = event.get("hostname"), event.get("timestamp", 0.0)
            if host in self.last_beat:
                self.gaps.append(sent - self.last_beat[host])
            self.last_beat[host], self.freq[host] = sent, event.get("freq")
        elif kind == "kit-timer" and event.get("kind") == "call_repeatedly":
            if str(event.get("callback", "")).endswith("Heart._send"):
                self.interval[event.get("hostname")] = event.get("interval")

    def settled(self, quiet=3.0):
        """No worker has heard a new peer for `quiet` seconds (the feed's history is too short at
        60 workers to count every join since boot)."""
        return time.monotonic() - self.last_join > quiet


def _cpu_of(pids):
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _kernel_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _round_trips(seconds, period=0.02):
    """Main thread serves a client thread's requests for `seconds`; the round trips in seconds."""
    requests, stop, trips = queue.Queue(), threading.Event(), []

    def client():
        while not stop.is_set():
            requests.put(time.perf_counter())
            time.sleep(period)
        requests.put(None)

    threading.Thread(target=client, daemon=True).start()
    end = time.monotonic() + seconds
    while (t0 := requests.get()) is not None:
        sum(range(10))
        trips.append(time.perf_counter() - t0)
        if time.monotonic() > end:
            stop.set()
    return trips


def _dashboard(cluster):
    try:
        from kit.widgets.dashboard import Dashboard

        return Dashboard(cluster), "Dashboard"
    except Exception as exc:  # measured without it, and said so
        return None, f"feed only (Dashboard failed: {type(exc).__name__}: {exc})"


def _idle(cluster, watch, seconds):
    """Counts and rates over an idle window of `seconds`."""
    import redis

    pids = [w.proc.pid for w in list(cluster._workers.values())]
    r = redis.Redis.from_url(cluster.broker_url)
    redis_pid = cluster.redis.proc.pid if cluster.redis else None
    lost0, rejoins0, events0 = len(watch.lost), watch.rejoins, sum(cluster.events.counts.values())
    gaps0 = len(watch.gaps)
    cmds0, kernel0 = r.info("stats")["total_commands_processed"], _kernel_cpu()
    workers0, redis0, t0 = (
        _cpu_of(pids),
        _cpu_of([redis_pid] if redis_pid else []),
        time.monotonic(),
    )
    trips = _round_trips(seconds)
    took = time.monotonic() - t0
    lost = watch.lost[lost0:]
    out = {
        "false_lost": len(lost),
        "false_lost_peers": len({peer for _, _, peer in lost}),
        "rejoins": watch.rejoins - rejoins0,
        "feed_events_per_s": (sum(cluster.events.counts.values()) - events0) / took,
        "redis_commands_per_s": (r.info("stats")["total_commands_processed"] - cmds0) / took,
        "kernel_cpu": (_kernel_cpu() - kernel0) / took,
        "workers_cpu": (_cpu_of(pids) - workers0) / took,
        "redis_cpu": (_cpu_of([redis_pid]) - redis0) / took if redis_pid else None,
        "round_trip_p50_s": percentile(trips, 50),
        "round_trip_p95_s": percentile(trips, 95),
        "round_trip_max_s": max(trips) if trips else float("nan"),
        "idle_s": took,
        "heartbeat_gap_max_s": max(watch.gaps[gaps0:], default=float("nan")),
        "heartbeat_gap_p99_s": percentile(watch.gaps[gaps0:], 99),
        "advertised_freq_s": median(
            [v for v in watch.freq.values() if isinstance(v, (int, float))]
        ),
    }
    r.close()
    return out


def _missed_in_logs(cluster):
    """Celery's "missed heartbeat from" log lines so far, every worker's: node_lost since boot."""
    return sum(cluster.logs(name).count("missed heartbeat from") for name in cluster.workers)


def _kill(cluster, watch, victim, timeout):
    """SIGKILL one worker; (first survivor's node_lost, median survivor's) in seconds from the kill."""
    survivors = [n for n in cluster.workers if n != victim]
    t_kill = time.time()
    cluster.kill_worker(victim)
    cluster.events.wait_for(
        "kit-gossip", timeout=timeout, since=t_kill - 1, event="node_lost", peer=victim
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [t for t, host, peer in list(watch.lost) if peer == victim and t >= t_kill]
        if len(seen) >= len(survivors) // 2 + 1:
            break
        time.sleep(0.05)
    seen = sorted(t - t_kill for t, _, peer in list(watch.lost) if peer == victim and t >= t_kill)
    return seen[0], median(seen)


def measure(n, idle=15.0, kills=5, settle_timeout=120.0):
    """One cluster of `n` workers: every figure of the table for that size."""
    from celery import Celery

    import kit

    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    try:
        cluster = kit.LocalCluster(
            Celery(f"bench-scale-{n}"), workers=n, progress=False, timeout=max(60, 5 * n)
        )
    except kit.WorkerBootError as exc:  # reported as a row, the other sizes still run
        return {
            "n": n,
            "error": str(exc).splitlines()[0],
            "ready_s": time.monotonic() - t0,
            "load_before": load0,
        }
    ready_s = time.monotonic() - t0
    watch = Watch()
    with cluster:
        cluster.events.subscribe(watch)
        for e in cluster.events.history:  # the intervals chosen at boot
            watch(e)
        watch.last_join = time.monotonic()
        deadline = time.monotonic() + settle_timeout
        while not watch.settled() and time.monotonic() < deadline:
            time.sleep(0.2)
        settled_s = watch.last_join - t0
        view, view_name = _dashboard(cluster)
        mem = memory_of([w.proc.pid for w in list(cluster._workers.values())])
        figures = _idle(cluster, watch, idle)
        figures["boot_lost"] = _missed_in_logs(cluster) - figures["false_lost"]
        timing = cluster.gossip_timing
        victims = list(reversed(cluster.workers))[:kills]
        firsts, medians = [], []
        for victim in victims:
            first, mid = _kill(cluster, watch, victim, timeout=30)
            firsts.append(first)
            medians.append(mid)
            time.sleep(1.0)
        intervals = [v for v in watch.interval.values() if isinstance(v, (int, float))]
        if view is not None:
            view.close()
    return dict(
        figures,
        n=n,
        ready_s=ready_s,
        settled_s=settled_s,
        rss_mib=mem["rss_mib"],
        uss_mib=mem["uss_mib"],
        uss_per_worker_mib=(mem["uss_mib"] or 0) / n,
        lost_p50_s=percentile(firsts, 50),
        lost_p95_s=percentile(firsts, 95),
        lost_median_survivor_p50_s=percentile(medians, 50),
        lost_median_survivor_p95_s=percentile(medians, 95),
        lost_runs_s=firsts,
        predicted=timing.node_lost_window(),
        in_window=sum(
            timing.heartbeat_interval <= s <= timing.node_lost_window()[1] for s in firsts
        ),
        heartbeat_interval_s=median(intervals),
        view=view_name,
        load_before=load0,
        load_after=os.getloadavg()[0],
    )


def anchor(n, kills=ANCHOR_KILLS):
    """SIGKILL -> node_lost with Celery's default gossip at `n` workers: the first survivor's
    (p50, p95) and the median survivor's p95, in seconds.

    Ready already means every worker heard every other (kit.processes.readiness).
    """
    from celery import Celery

    import kit

    cluster = kit.LocalCluster(
        Celery(f"bench-default-{n}"), workers=n, gossip="celery-default", progress=False,
        timeout=max(60, 5 * n),
    )  # fmt: skip
    watch = Watch()
    with cluster:
        cluster.events.subscribe(watch)
        runs = [_kill(cluster, watch, victim, timeout=60) for victim in cluster.workers[:kills]]
    firsts, medians = [r[0] for r in runs], [r[1] for r in runs]
    return {
        "default_p50_s": percentile(firsts, 50),
        "default_p95_s": percentile(firsts, 95),
        "default_median_survivor_p95_s": percentile(medians, 95),
    }


def _rows(f):
    n, target = f["n"], f.get("default_median_survivor_p95_s", float("nan"))
    if "error" in f:
        return [
            row(f"gossip at {n} workers", "ERROR", f["error"][:80], float("nan"), "ready", False)
        ]
    per_min = f["false_lost"] * 60 / f["idle_s"]
    low, high = f["predicted"]
    lost_ok = f["lost_median_survivor_p95_s"] <= target
    rt_ok = f["round_trip_p95_s"] <= ROUND_TRIP_TARGET_S
    return [
        row(
            f"gossip at {n} workers: false node_lost, SIGKILL -> node_lost",
            f"{per_min:.0f} false/min; median survivor p95 {f['lost_median_survivor_p95_s']:.2f} s; "
            f"first p50 {f['lost_p50_s']:.2f} s, p95 {f['lost_p95_s']:.2f} s (heartbeat "
            f"{f['heartbeat_interval_s']:.2f} s; rule {low:.2f}-{high:.2f} s, "
            f"{f['in_window']}/{len(f['lost_runs_s'])} kills inside)",
            f"celery-default: median survivor p95 {target:.2f} s; first p50 "
            f"{f['default_p50_s']:.2f} s, p95 {f['default_p95_s']:.2f} s",
            f["lost_median_survivor_p95_s"] / target,
            "0 false; median survivor p95 <= celery-default's",
            f["false_lost"] == 0 and lost_ok,
        ),
        row(
            f"kernel watching {n} workers (round trip p95)",
            f"{f['round_trip_p95_s'] * 1e3:.1f} ms; feed {f['feed_events_per_s']:.0f} ev/s, "
            f"kernel CPU {f['kernel_cpu']:.2f}",
            f"ready {f['ready_s']:.1f} s, USS {f['uss_mib']:.0f} MiB, "
            f"Redis {f['redis_commands_per_s']:.0f} cmd/s",
            f["round_trip_p95_s"] / ROUND_TRIP_TARGET_S,
            f"p95 <= {ROUND_TRIP_TARGET_S * 1e3:.0f} ms",
            rt_ok,
        ),
    ]


def main(sizes=SIZES, idle=15.0, kills=5) -> dict:
    results = []
    for n in sizes:
        f = measure(n, idle=idle, kills=kills)
        if "error" not in f:
            f.update(anchor(n, kills=max(1, min(kills, ANCHOR_KILLS))))
        results.append(f)
    rows = [r for f in results for r in _rows(f)]
    measured = [f for f in results if "error" not in f]
    worst = max((r["ratio"] for r in rows if r["ratio"] == r["ratio"]), default=float("nan"))
    return {
        "sizes": list(sizes),
        "false_lost_total": sum(f["false_lost"] for f in measured),
        "lost_p95_max_s": max((f["lost_p95_s"] for f in measured), default=float("nan")),
        "ratio": worst,
        "target": 1.0,
        "ok": all(r["ok"] for r in rows),
        "by_size": results,
        "rows": rows,
    }


COLUMNS = (
    ("N", "n", "{}"),
    ("ready s", "ready_s", "{:.1f}"),
    ("heard all s", "settled_s", "{:.1f}"),
    ("heartbeat s", "heartbeat_interval_s", "{:.2f}"),
    ("freq s", "advertised_freq_s", "{:.2f}"),
    ("gap max s", "heartbeat_gap_max_s", "{:.2f}"),
    ("RSS MiB", "rss_mib", "{:.0f}"),
    ("USS MiB", "uss_mib", "{:.0f}"),
    ("Redis cmd/s", "redis_commands_per_s", "{:.0f}"),
    ("Redis CPU", "redis_cpu", "{:.2f}"),
    ("workers CPU", "workers_cpu", "{:.2f}"),
    ("kernel CPU", "kernel_cpu", "{:.3f}"),
    ("false lost at boot", "boot_lost", "{}"),
    ("false lost", "false_lost", "{}"),
    ("lost p50 s", "lost_p50_s", "{:.2f}"),
    ("lost p95 s", "lost_p95_s", "{:.2f}"),
    ("celery-default lost p95 s", "default_p95_s", "{:.2f}"),
    ("median survivor lost p95 s", "lost_median_survivor_p95_s", "{:.2f}"),
    ("celery-default median survivor p95 s", "default_median_survivor_p95_s", "{:.2f}"),
    ("feed ev/s", "feed_events_per_s", "{:.0f}"),
    ("round trip p95 ms", "round_trip_p95_s", "{:.1f}", 1e3),
    ("load", "load_before", "{:.1f}"),
)


def table(results):
    """The per-size figures as a Markdown table (what benchmarks/README.md shows)."""
    head = "| " + " | ".join(c[0] for c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(COLUMNS)]
    for f in results:
        cells = []
        for col in COLUMNS:
            value = f.get(col[1])
            value = value * col[3] if len(col) > 3 and isinstance(value, (int, float)) else value
            cells.append(col[2].format(value) if value is not None else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _args():
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument(
        "-N", type=int, action="append", help="cluster size (repeatable; default 10, 30, 60, 90)"
    )
    parser.add_argument(
        "--idle", type=float, default=15.0, help="idle seconds per size (default 15)"
    )
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per size (default 5)")
    return parser.parse_args()


if __name__ == "__main__":
    args = _args()
    result = main(args.N or SIZES, idle=args.idle, kills=args.kills)
    print(table(result["by_size"]))
    for f in result["by_size"]:
        if "error" in f:
            print(f"N={f['n']}: {f['error']}")
            continue
        print(
            f"N={f['n']}: kills {[round(x, 2) for x in f['lost_runs_s']]} "
            f"(rule {f['predicted'][0]:.2f}-{f['predicted'][1]:.2f} s, celery-default first p95 "
            f"{f.get('default_p95_s', float('nan')):.2f} s, median survivor p95 "
            f"{f.get('default_median_survivor_p95_s', float('nan')):.2f} s), rejoins {f['rejoins']}, "
            f"false lost reports {f['false_lost']} about {f['false_lost_peers']} peers, view {f['view']}, "
            f"load {f['load_before']:.1f} -> {f['load_after']:.1f}"
        )
    print()
    print(report_rows(result["rows"]))
