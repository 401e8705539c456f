"""Benchmark: the EventFeed's memory under a 100,000-event flood, and the kernel's responsiveness meanwhile.

1. Bounded memory: an offline EventFeed (its receiver thread never started) gets 100,000 synthetic
   events (shaped like real `kit-timer` / `kit-lifecycle` / task events) through `feed.add`,
   with tracemalloc measuring the memory the feed holds after `maxlen` events (ring just full) and at
   checkpoints up to 100,000. Figures: bytes per kept event and the growth after the ring is full
   (ratio = memory at 100,000 / memory at maxlen; bounded means ~1).
2. Round trip: a `LocalCluster` (embedded Redis, the real feed, no workers) with `kit.Dashboard`
   subscribed (falls back to `Timeline` if the dashboard can't be built), 100,000 events pushed
   through `cluster.events.add` from another thread, as the receiver thread would. Meanwhile a
   "client" thread asks the main thread (as a kernel's shell channel does) to run a trivial function
   every 20 ms; the round trip is request -> function done. Idle round trip first, as the anchor.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, percentile, report_rows, row

GROWTH_TARGET = 1.1  # memory after 100,000 events / memory after maxlen events
ROUND_TRIP_TARGET_S = 0.1  # p95 during the flood (the kit's "on screen within 100 ms")
FLOOD = 100_000
_TYPES = (
    "kit-timer",
    "kit-timer",
    "kit-timer",
    "kit-lifecycle",
    "task-succeeded",
    "worker-heartbeat",
    "kit-gossip",
)


def synthetic(i, now=None):
    """One event shaped like what Celery's Receiver hands the feed (fresh strings, as decoded JSON)."""
    now = now or time.time()
    kind = _TYPES[i % len(_TYPES)]
    event = {
        "type": kind,
        "hostname": f"w{i % 3 + 1}@bench",
        "timestamp": now,
        "clock": i,
        "pid": 4242,
        "utcoffset": 0,
        "local_received": now,
        "kit_time": now,
    }
    if kind == "kit-timer":
        event.update(
            kind="fire",
            callback=f"kombu.asynchronous.timer.Timer.tick_{i % 50}",
            duration=0.000123,
            error=None,
        )
    elif kind == "kit-lifecycle":
        event.update(
            blueprint="consumer",
            step=f"celery.worker.consumer.step{i % 12}",
            label=f"Step{i % 12}",
            method="start",
            started_at=now,
            duration=0.0012,
            error=None,
        )
    elif kind == "kit-gossip":
        event.update(event="node_join", peer=f"w{i % 7}@bench", size=3)
    elif kind.startswith("task-"):
        event.update(uuid=f"{i:032x}", result="None", runtime=0.01)
    else:
        event.update(freq=2.0, sw_ident="py-celery", active=0, processed=i)
    return event


def bounded_memory(n=FLOOD, maxlen=None):
    from kit.events.feed import EventFeed

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        feed = EventFeed("redis://127.0.0.1:1/0", **({"maxlen": maxlen} if maxlen else {}))
        maxlen = feed._ring.maxlen
        checkpoints = sorted({maxlen, 2 * maxlen, n // 2, n})
        at = {}
        now = time.time()
        for i in range(1, n + 1):
            feed.add(synthetic(i, now))
            if i in checkpoints:
                at[i] = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
        kept = len(feed._ring)
    finally:
        tracemalloc.stop()
    per_event = at[n] / kept
    return {
        "maxlen": maxlen,
        "kept": kept,
        "bytes_at": at,
        "peak_bytes": peak,
        "bytes_per_kept_event": per_event,
        "growth": at[n] / at[maxlen],
        "counts_keys": len(feed.counts),
    }


def round_trip(n=FLOOD, period=0.02):
    from celery import Celery

    import kit

    with kit.LocalCluster(Celery("bench-memory"), workers=0, progress=False) as cluster:
        view, name = None, "Dashboard"
        try:
            from kit.widgets.dashboard import Dashboard

            view = Dashboard(cluster)
        except Exception as exc:  # measured without it, and said so
            name = f"Timeline (Dashboard failed: {type(exc).__name__}: {exc})"
            from kit.widgets.timeline import Timeline

            view = Timeline(cluster)
            view.widget  # noqa: B018 - the widget exists, as when shown in a notebook
        time.sleep(0.5)
        requests, stop = queue.Queue(), threading.Event()

        def client():
            while not stop.is_set():
                requests.put(time.perf_counter())
                time.sleep(period)
            requests.put(None)

        def serve(until):
            """The main thread's loop: run each request's trivial function; round trips in seconds."""
            trips = []
            while True:
                t0 = requests.get()
                if t0 is None:
                    return trips
                sum(range(10))
                trips.append(time.perf_counter() - t0)
                if until():
                    stop.set()

        # idle anchor
        t_idle = time.monotonic()
        threading.Thread(target=client, daemon=True).start()
        idle = serve(lambda: time.monotonic() - t_idle > 2.0)

        # during the flood
        requests, stop = queue.Queue(), threading.Event()
        flood_done, flood_time = threading.Event(), {}

        def flood():
            t0 = time.perf_counter()
            now = time.time()
            for i in range(n):
                cluster.events.add(synthetic(i, now))
            flood_time["s"] = time.perf_counter() - t0
            flood_done.set()

        threading.Thread(target=client, daemon=True).start()
        threading.Thread(target=flood, daemon=True).start()
        during = serve(flood_done.is_set)
        updates = getattr(getattr(view, "timeline", view), "updates", None)
        view.close()
    return {
        "view": name,
        "idle": idle,
        "during": during,
        "flood_s": flood_time.get("s"),
        "timeline_updates": updates,
    }


def main(repeat: int = 3, n: int = FLOOD) -> dict:
    mems = [bounded_memory(n) for _ in range(repeat)]
    growth = median([m["growth"] for m in mems])
    per_event = median([m["bytes_per_kept_event"] for m in mems])
    bound_mib = median([m["bytes_at"][n] for m in mems]) / 2**20
    trips = [round_trip(n) for _ in range(repeat)]
    idle_p95 = median([percentile(t["idle"], 95) for t in trips])
    flood_p50 = median([percentile(t["during"], 50) for t in trips])
    flood_p95 = median([percentile(t["during"], 95) for t in trips])
    flood_max = median([max(t["during"]) for t in trips])
    flood_rate = median([n / t["flood_s"] for t in trips if t["flood_s"]])
    mem_ok, rt_ok = growth <= GROWTH_TARGET, flood_p95 <= ROUND_TRIP_TARGET_S
    m0 = mems[0]
    return {
        "maxlen": m0["maxlen"],
        "bytes_per_kept_event": per_event,
        "bound_mib": bound_mib,
        "growth": growth,
        "ratio": growth,
        "target": GROWTH_TARGET,
        "ok": mem_ok and rt_ok,
        "memory_ok": mem_ok,
        "bytes_at": m0["bytes_at"],
        "peak_mib": m0["peak_bytes"] / 2**20,
        "round_trip_idle_p95_s": idle_p95,
        "round_trip_flood_p50_s": flood_p50,
        "round_trip_flood_p95_s": flood_p95,
        "round_trip_flood_max_s": flood_max,
        "round_trip_ratio": flood_p95 / idle_p95,
        "round_trip_target_s": ROUND_TRIP_TARGET_S,
        "round_trip_ok": rt_ok,
        "flood_events_per_s": flood_rate,
        "view": trips[0]["view"],
        "timeline_updates": trips[0]["timeline_updates"],
        "n": n,
        "repeat": repeat,
        "rows": [
            row(
                "feed memory, 100k-event flood",
                f"{per_event:.0f} B/kept event, bound {bound_mib:.1f} MiB (maxlen {m0['maxlen']:,})",
                "memory at maxlen events",
                growth,
                f"<= {GROWTH_TARGET}",
                mem_ok,
            ),
            row(
                "kernel round trip during flood (p95)",
                f"{flood_p95 * 1e3:.1f} ms (flood {flood_rate:,.0f} ev/s)",
                f"idle p95 {idle_p95 * 1e3:.2f} ms",
                flood_p95 / idle_p95,
                f"p95 <= {ROUND_TRIP_TARGET_S * 1e3:.0f} ms",
                rt_ok,
            ),
        ],
    }


def _report(f: dict) -> str:
    at = ", ".join(f"{k:,}: {v / 2**20:.2f} MiB" for k, v in sorted(f["bytes_at"].items()))
    return "\n".join(
        [
            f"EventFeed(maxlen={f['maxlen']:,}) after N events (tracemalloc): {at}; "
            f"peak {f['peak_mib']:.2f} MiB",
            f"bytes per kept event {f['bytes_per_kept_event']:.0f}; bound ~{f['bound_mib']:.1f} MiB; "
            f"growth after the ring is full x{f['growth']:.3f} (target <= {f['target']}): "
            f"{'ok' if f['memory_ok'] else 'MISSED'}",
            f"round trip (client thread -> main thread runs a function), with {f['view']} subscribed:",
            f"  idle p95 {f['round_trip_idle_p95_s'] * 1e3:.2f} ms; during a {f['n']:,}-event flood "
            f"({f['flood_events_per_s']:,.0f} events/s) p50 {f['round_trip_flood_p50_s'] * 1e3:.2f} ms, "
            f"p95 {f['round_trip_flood_p95_s'] * 1e3:.2f} ms, max {f['round_trip_flood_max_s'] * 1e3:.1f} ms "
            f"(target p95 <= {f['round_trip_target_s'] * 1e3:.0f} ms: "
            f"{'ok' if f['round_trip_ok'] else 'MISSED'}); "
            f"timeline updates during the run: {f['timeline_updates']}",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    from _common import repeat_arg

    print(_report(main(repeat_arg(3, __doc__))))
