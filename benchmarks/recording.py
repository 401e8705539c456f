"""Benchmark: what recording costs and what a replay costs to open.

1. Event latency (worker emit -> subscriber, as event_latency.py measures it) in windows that
   alternate without and with `cluster.record(path)` on the same 1-worker cluster: the p95 ratio.
2. Bytes on disk per event, and the size of an idle 3-worker cluster's recording over 20 s,
   extrapolated to 10 minutes.
3. `kit.replay(path)` of a 100,000-event recording, then handing every event to a Timeline
   (`seek` to the end), beside bare `json.loads` of the same lines.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, percentile, report_rows, row  # noqa: E402
from event_latency import FLAG_ENV, BenchEmitter, kit_window  # noqa: E402

OVERHEAD_TARGET = 1.10  # p95 with recording <= 1.1x without
SIZE_TARGET = 5e6  # bytes for 3 workers over 10 minutes
OPEN_TARGET_S = 2.0
EVENTS = 100_000


def latency_windows(tmp, repeat, samples):
    import kit
    from celery import Celery

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
                path = os.path.join(tmp, f"lat{i}.jsonl")
                with cluster.record(path) as rec:
                    recorded.append(percentile(kit_window(cluster, flag, samples)[0], 95))
                per_event.append(os.path.getsize(path) / rec.records)
    finally:
        os.environ.pop(FLAG_ENV, None)
    return median(plain), median(recorded), median(per_event)


def idle_size(tmp, seconds=20.0):
    """Bytes a second of an idle 3-worker cluster's recording (after its boot)."""
    import kit
    from celery import Celery

    path = os.path.join(tmp, "idle.jsonl")
    with kit.LocalCluster(Celery("bench-idle"), workers=3, progress=False) as cluster:
        with cluster.record(path):
            booted = os.path.getsize(path)
            time.sleep(seconds)
            return (os.path.getsize(path) - booted) / seconds, booted


def big_recording(tmp, source):
    """A 100,000-event file made of `source`'s events, repeated with shifted times."""
    lines = Path(source).read_text().splitlines()
    header, events = lines[0], [json.loads(x) for x in lines[1:] if '"kind":"event"' in x]
    path = os.path.join(tmp, "big.jsonl")
    with open(path, "w") as f:
        f.write(header + "\n")
        for i in range(EVENTS):
            r = events[i % len(events)]
            shift = (i // len(events)) * 5.0
            e = dict(r["event"], timestamp=r["event"].get("timestamp", r["at"]) + shift)
            f.write(json.dumps({"kind": "event", "at": r["at"] + shift, "event": e}) + "\n")
    return path


def open_times(path):
    import kit

    start = time.perf_counter()
    with open(path, "rb") as f:
        [json.loads(x) for x in f]
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


def main(repeat: int = 3, samples: int = 400) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        p95_plain, p95_rec, per_event = latency_windows(tmp, repeat, samples)
        rate, boot_bytes = idle_size(tmp)
        parse, opened, handed = open_times(big_recording(tmp, os.path.join(tmp, "lat0.jsonl")))
    ten_min = boot_bytes + rate * 600
    overhead = p95_rec / p95_plain
    return {
        "p95_without_s": p95_plain,
        "p95_with_s": p95_rec,
        "bytes_per_event": per_event,
        "idle_3_workers_bytes_per_s": rate,
        "ten_minutes_3_workers_bytes": ten_min,
        "parse_100k_s": parse,
        "open_100k_s": opened,
        "seek_end_100k_s": handed,
        "ratio": overhead,
        "repeat": repeat,
        "rows": [
            row(
                "event p95 with recording",
                f"{p95_rec * 1e3:.2f} ms",
                f"without {p95_plain * 1e3:.2f} ms",
                overhead,
                "<= 1.10x",
                overhead <= OVERHEAD_TARGET,
            ),
            row(
                "recording, 3 idle workers, 10 min",
                f"{ten_min / 1e6:.2f} MB",
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
        ],  # fmt: skip
    }


if __name__ == "__main__":
    from _common import repeat_arg

    result = main(repeat_arg(3, __doc__))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    print(report_rows(result["rows"]))
