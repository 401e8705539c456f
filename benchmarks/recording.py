"""Benchmark: what recording costs and what a replay costs to open.

1. Event latency (worker emit -> subscriber, as event_latency.py measures it) in windows that
   alternate without and with `cluster.record(path)` on the same 1-worker cluster: the p95 ratio.
2. Bytes on disk per event, and the size of an idle 3-worker cluster's recording over 20 s,
   extrapolated to 10 minutes (`run.jsonl.gz`, and the same run recorded as plain `.jsonl`).
3. `kit.replay(path)` of a 100,000-event recording (gzip, as recorded), beside bare
   `json.loads` of the same lines; then `kit.Dashboard(replay)`: its open time, and the widget
   traffic while the whole replay plays as fast as possible (the most any 3 s carried, against
   Jupyter's iopub limit of 1 MB/s over 3 s, which the live dashboard keeps).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, percentile, report_rows, row
from event_latency import FLAG_ENV, BenchEmitter, kit_window

OVERHEAD_TARGET = 1.10  # p95 with recording <= 1.1x without
SIZE_TARGET = 5e6  # bytes for 3 workers over 10 minutes
OPEN_TARGET_S = 2.0
IOPUB_LIMIT = 1_000_000  # bytes a second over WINDOW_S (Jupyter's iopub_data_rate_limit)
WINDOW_S = 3.0
EVENTS = 100_000


def latency_windows(tmp, repeat, samples):
    from celery import Celery

    import kit

    flag = os.path.join(tmp, "emit")
    os.environ[FLAG_ENV] = flag
    app = Celery("bench-recording")
    app.steps["worker"].add(BenchEmitter)
    plain, recorded, per_event = [], [], []
    try:
        with kit.LocalCluster(app, workers=1, progress=False) as cluster:
            time.sleep(1.0)
            for i in range(repeat):
                plain.append(percentile(kit_window(cluster, flag, samples)[0], 95))
                path = os.path.join(tmp, f"lat{i}.jsonl.gz")
                with cluster.record(path) as rec:
                    recorded.append(percentile(kit_window(cluster, flag, samples)[0], 95))
                per_event.append(os.path.getsize(path) / rec.records)
            costs = recorder_costs(cluster, os.path.join(tmp, "cost.jsonl.gz"))
    finally:
        os.environ.pop(FLAG_ENV, None)
    return median(plain), median(recorded), median(per_event), costs


def recorder_costs(cluster, path, n=20_000):
    """CPU seconds per event: on the feed's thread (the recorder's callback), and on the recorder's
    writer thread (encoding, compressing, writing), timed on real kit-bench events. Unlike the
    latency under load, these stay put on a busy machine."""
    from kit.record import fileformat

    events = [e for e in cluster.events.history if e.get("type") == "kit-bench"][-100:]
    with cluster.record(path) as rec:
        rec._kept = {}
        start = time.thread_time()
        for i in range(n):
            rec._on_event(dict(events[i % len(events)]))
        feed = (time.thread_time() - start) / n
        rec._pending.clear()
    records = [{"kind": "event", "at": e["timestamp"], "event": e} for e in events] * (n // 100)
    sink = fileformat.Sink(path)
    start = time.thread_time()
    for i in range(0, len(records), 10):  # 100 events/s, a write every 0.1 s
        sink.write(records[i : i + 10])
    writer = (time.thread_time() - start) / len(records)
    sink.close()
    return feed, writer


def idle_size(tmp, seconds=20.0):
    """Bytes a second of an idle 3-worker cluster's recording after its boot: gzip, and plain."""
    from celery import Celery

    import kit

    paths = [os.path.join(tmp, "idle.jsonl.gz"), os.path.join(tmp, "idle.jsonl")]
    with kit.LocalCluster(Celery("bench-idle"), workers=3, progress=False) as cluster:
        with cluster.record(paths[0]), cluster.record(paths[1]):
            time.sleep(0.5)  # the history and the blueprints are written
            booted = [os.path.getsize(p) for p in paths]
            time.sleep(seconds)
            sizes = [os.path.getsize(p) for p in paths]
    return [(s - b) / seconds for s, b in zip(sizes, booted, strict=True)], booted


def big_recording(tmp, source):
    """A 100,000-event file made of `source`'s events, repeated with shifted times, written as
    the recorder writes (gzip)."""
    from kit.record import fileformat

    header, records, _ = fileformat.read(source)
    events = [r for r in records if r["kind"] == "event"]
    path = os.path.join(tmp, "big.jsonl.gz")
    sink = fileformat.Sink(path)
    sink.write([header])
    batch = []
    for i in range(EVENTS):
        r = events[i % len(events)]
        shift = (i // len(events)) * 5.0
        e = dict(r["event"], timestamp=r["event"].get("timestamp", r["at"]) + shift)
        batch.append({"kind": "event", "at": r["at"] + shift, "event": e})
        if len(batch) == 100:  # as the recorder: a write (and a sync point) now and then
            sink.write(batch)
            batch = []
    sink.write(batch)
    sink.close()
    return path


def open_times(path):
    import gzip

    import kit

    start = time.perf_counter()
    [json.loads(x) for x in gzip.decompress(Path(path).read_bytes()).splitlines()]
    parse = time.perf_counter() - start
    start = time.perf_counter()
    rp = kit.replay(path)
    opened = time.perf_counter() - start
    tl = kit.Timeline(rp)
    start = time.perf_counter()
    rp.seek(rp.duration)
    tl.lanes()
    handed = time.perf_counter() - start
    tl.close()
    rp.close()
    return parse, opened, handed


def dashboard_traffic(path):
    """(seconds to open kit.Dashboard(replay), the most bytes a second any WINDOW_S carried to
    the widgets' views while the replay played to its end as fast as possible)."""
    import comm

    import kit

    sent = []
    publish = comm.DummyComm.publish_msg  # what a kernel would put on iopub, counted

    def counted(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append((time.monotonic(), len(json.dumps(data, default=str))))

    comm.DummyComm.publish_msg = counted
    try:
        rp = kit.replay(path)
        start = time.perf_counter()
        dash = kit.Dashboard(rp)
        dash._repr_mimebundle_()
        opened = time.perf_counter() - start
        rp.play(float("inf"))
        rp.wait(120)
        time.sleep(WINDOW_S)  # the throttles send what is left
        dash.close()
        rp.close()
    finally:
        comm.DummyComm.publish_msg = publish
    most = max((sum(n for u, n in sent if t - WINDOW_S < u <= t) for t, _ in sent), default=0)
    return opened, most / WINDOW_S


def main(repeat: int = 3, samples: int = 400) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        p95_plain, p95_rec, per_event, (feed_cost, writer_cost) = latency_windows(
            tmp, repeat, samples
        )
        (rate, plain_rate), (boot_bytes, plain_boot) = idle_size(tmp)
        big = big_recording(tmp, os.path.join(tmp, "lat0.jsonl.gz"))
        parse, opened, handed = open_times(big)
        dash_open, traffic = dashboard_traffic(big)
    ten_min = boot_bytes + rate * 600
    overhead = p95_rec / p95_plain
    return {
        "p95_without_s": p95_plain,
        "p95_with_s": p95_rec,
        "bytes_per_event": per_event,
        "feed_thread_s_per_event": feed_cost,
        "writer_thread_s_per_event": writer_cost,
        "idle_3_workers_bytes_per_s": rate,
        "ten_minutes_3_workers_bytes": ten_min,
        "ten_minutes_3_workers_plain_jsonl_bytes": plain_boot + plain_rate * 600,
        "dashboard_open_100k_s": dash_open,
        "dashboard_traffic_bytes_per_s": traffic,
        "parse_100k_s": parse,
        "open_100k_s": opened,
        "seek_end_100k_s": handed,
        "ratio": overhead,
        "repeat": repeat,
        "rows": [
            row(
                "event p95 with recording",
                f"{p95_rec * 1e3:.2f} ms",
                f"without {p95_plain * 1e3:.2f} ms; feed thread +{feed_cost * 1e6:.1f} µs/event",
                overhead,
                "<= 1.10x",
                overhead <= OVERHEAD_TARGET,
            ),
            row(
                "recording, 3 idle workers, 10 min",
                f"{ten_min / 1e6:.2f} MB (plain {(plain_boot + plain_rate * 600) / 1e6:.1f} MB)",
                f"{per_event:.0f} B/event",
                ten_min / SIZE_TARGET,
                "<= 5 MB",
                ten_min <= SIZE_TARGET,
            ),
            row(
                "kit.replay of 100,000 events",
                f"open {opened:.2f} s",
                f"json.loads {parse:.2f} s",
                opened / parse,
                "open <= 2 s",
                opened <= OPEN_TARGET_S,
            ),
            row(
                "kit.Dashboard(replay) of 100,000 events",
                f"open {dash_open:.2f} s, {traffic / 1e3:.0f} kB/s",
                "iopub limit 1000 kB/s",
                traffic / IOPUB_LIMIT,
                "open <= 2 s; <= limit",
                dash_open <= OPEN_TARGET_S and traffic <= IOPUB_LIMIT,
            ),
        ],  # fmt: skip
    }


if __name__ == "__main__":
    from _common import repeat_arg

    result = main(repeat_arg(3, __doc__))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    print(report_rows(result["rows"]))
