"""Benchmark: the size of a `kit.report` file for 10 idle minutes of 3 workers, and its write time.

An idle 3-worker cluster is recorded (`.jsonl.gz`) for `--seconds` (60 by default). Its report is
written twice from the recording: once the workers are up (after BOOT seconds) and at the end;
the growth in between, a second, extrapolates the file to 10 minutes. Then a 10-minute recording
is made of the idle stretch itself (its events repeated with shifted times after the boot, as
recording.py does for its big file) and reported for real: its size, how many timeline items it
draws, and how long `kit.report` took.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report_rows, row

SIZE_TARGET = 2e6  # bytes for 10 idle minutes of 3 workers (issue 26)
TEN_MINUTES = 600.0
BOOT = 5.0


def idle_run(tmp, seconds):
    """(recording's path, report size after BOOT s, report size at the end, seconds between)."""
    from celery import Celery

    import kit

    path = os.path.join(tmp, "idle.jsonl.gz")
    with kit.LocalCluster(Celery("bench-report"), workers=3, progress=False) as cluster:
        with cluster.record(path):
            time.sleep(BOOT)
            first, t0 = kit.report(path, os.path.join(tmp, "boot.html")), time.time()
            time.sleep(max(1.0, seconds - BOOT))
        last, t1 = kit.report(path, os.path.join(tmp, "end.html")), time.time()
    return path, first.stat().st_size, last.stat().st_size, t1 - t0


def ten_minutes(tmp, source):
    """A 10-minute recording: `source`'s header and boot, then its idle events repeated."""
    from kit.record import fileformat

    header, records, _ = fileformat.read(source)
    start = header.get("started_at") or records[0]["at"]
    boot = [r for r in records if r["at"] < start + BOOT]
    idle = [r for r in records if r["at"] >= start + BOOT and r["kind"] == "event"]
    span = max(r["at"] for r in idle) - idle[0]["at"] + 0.1
    path = os.path.join(tmp, "ten.jsonl.gz")
    sink = fileformat.Sink(path)
    rest = [r for r in records if r["at"] >= start + BOOT and r["kind"] != "event"]
    sink.write([header, *boot, *rest])
    shift = 0.0
    while idle[0]["at"] + shift < start + TEN_MINUTES:
        batch = []
        for r in idle:
            e = dict(r["event"], timestamp=r["event"].get("timestamp", r["at"]) + shift)
            batch.append({"kind": "event", "at": r["at"] + shift, "event": e})
        sink.write(batch)
        shift += span
    sink.close()
    return path, len(boot) + len(rest) + len(idle) * round(shift / span)


def main(repeat: int = 1, seconds: float = 60.0) -> dict:
    import kit
    from kit.report_html.timeline import item_count, timeline_state

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        path, boot_size, end_size, between = idle_run(tmp, seconds)
        per_second = (end_size - boot_size) / between
        extrapolated = boot_size + per_second * (TEN_MINUTES - BOOT)
        ten, records = ten_minutes(tmp, path)
        start = time.perf_counter()
        out = kit.report(ten, os.path.join(tmp, "ten.html"))
        took = time.perf_counter() - start
        size = out.stat().st_size
        replay = kit.replay(ten)
        replay.seek(replay.duration)
        state = timeline_state(replay)
        replay.close()
    drawn, periodic = item_count(state), sum(len(c["t"]) for c in state["periodic_chunks"].values())
    worst = max(size, extrapolated)
    return {
        "idle_seconds": between + BOOT,
        "report_after_boot_bytes": boot_size,
        "report_growth_bytes_per_s": per_second,
        "extrapolated_10_min_bytes": extrapolated,
        "ten_minute_records": records,
        "ten_minute_report_bytes": size,
        "ten_minute_report_write_s": took,
        "ten_minute_timeline_items": drawn,
        "ten_minute_periodic_items": periodic,
        "ratio": worst / SIZE_TARGET,
        "target": "<= 2 MB",
        "ok": worst <= SIZE_TARGET,
        "repeat": repeat,
        "rows": [
            row(
                "kit.report, 3 idle workers, 10 min",
                f"{size / 1e6:.2f} MB (extrapolated {extrapolated / 1e6:.2f} MB)",
                f"{per_second / 1e3:.2f} kB/s idle; written in {took:.1f} s",
                worst / SIZE_TARGET,
                "<= 2 MB",
                worst <= SIZE_TARGET,
            )
        ],
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="idle seconds recorded")
    args = parser.parse_args()
    result = main(seconds=args.seconds)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    print(report_rows(result["rows"]))
