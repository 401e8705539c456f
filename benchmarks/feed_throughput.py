"""Benchmark: events/s that the kit's EventFeed delivers to a subscriber vs a bare Celery EventReceiver.

A separate publisher process sends N `kit-bench` events with Celery's EventDispatcher to the kit's
embedded Redis (the same Redis for both receivers). The receiving side is made the bottleneck: the
first `kit-bench` event blocks the receiver's thread until the publisher has sent all N (Redis keeps
them in the subscriber's output buffer, whose limit is lifted for the run), then the time to deliver
all N to the callback is measured. So the figure is the receiver's delivery capacity, not the
publisher's speed. Kit: `EventFeed(url).subscribe(fn)`; anchor: `app.events.Receiver(conn,
handlers={'*': fn}).capture()`. Runs alternate kit / bare; medians over `repeat` runs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, quiet_env, report_rows, row

TARGET = 1.0  # kit events/s / bare receiver events/s
N = 20000

PUBLISHER = r"""
import select, sys, time
from celery import Celery
url, n = sys.argv[1], int(sys.argv[2])
app = Celery("bench-pub", broker=url, set_as_current=False)
with app.connection_for_write() as conn:
    d = app.events.Dispatcher(conn, hostname="bench-pub@host", groups=["kit"], enabled=True,
                              buffer_while_offline=False)
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        d.send("kit-warmup")          # until the receiver says it sees the stream
    sys.stdin.readline()
    t0 = time.perf_counter()
    for i in range(n):
        d.send("kit-bench", seq=i, callback="bench.feed", duration=0.000123, kind="fire")
    print(f"sent {n / (time.perf_counter() - t0):.1f}", flush=True)
"""


class Sink:
    """The subscriber: blocks on the first kit-bench event until released, then counts."""

    def __init__(self, n):
        self.n, self.count, self.warm = n, 0, threading.Event()
        self.release, self.done = threading.Event(), threading.Event()
        self.t_release = self.t_end = self.cpu_release = self.cpu_end = None

    def __call__(self, event):
        kind = event.get("type")
        if kind == "kit-warmup":
            self.warm.set()
        elif kind == "kit-bench":
            if self.count == 0:
                self.release.wait(120)
                self.t_release, self.cpu_release = time.perf_counter(), time.thread_time()
            self.count += 1
            if self.count == self.n:
                self.t_end, self.cpu_end = time.perf_counter(), time.thread_time()
                self.done.set()


def _run_publisher(url, n, sink, timeout=120):
    """Start the publisher, wait until the receiver sees its stream, let it send n, release the sink."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, url, str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=quiet_env(),
        text=True,
    )
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("publisher did not start")
        if not sink.warm.wait(30):
            raise RuntimeError("the receiver never saw the publisher's warm-up events")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline().split()
        pub_rate = float(line[1]) if len(line) == 2 else float("nan")
        proc.wait(30)
        sink.release.set()
        if not sink.done.wait(timeout):
            raise RuntimeError(f"only {sink.count} of {n} events delivered")
    finally:
        sink.release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return n / (sink.t_end - sink.t_release), n / (sink.cpu_end - sink.cpu_release), pub_rate


def kit_rate(url, n):
    from kit.events.feed import EventFeed

    feed = EventFeed(url).start()
    sink = Sink(n)
    feed.subscribe(sink)
    try:
        return _run_publisher(url, n, sink)
    finally:
        feed.close()


def bare_rate(url, n):
    from celery import Celery

    app = Celery("bench-bare", broker=url, set_as_current=False)
    sink = Sink(n)
    holder = {}

    def run():
        with app.connection_for_read() as conn:
            holder["receiver"] = receiver = app.events.Receiver(conn, handlers={"*": sink})
            receiver.capture(limit=None, timeout=None, wakeup=False)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        return _run_publisher(url, n, sink)
    finally:
        if "receiver" in holder:
            holder["receiver"].should_stop = True
        thread.join(5)


def main(repeat: int = 5, n: int = N) -> dict:
    import redis

    from kit.processes.broker import EmbeddedRedis

    kit_rates, bare_rates, kit_cpu, bare_cpu, pub_rates = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as run_dir:
        broker = EmbeddedRedis(run_dir).start()
        try:
            client = redis.Redis(port=broker.port, password=broker.password)
            client.config_set(
                "client-output-buffer-limit", "pubsub 0 0 0"
            )  # the backlog is the point
            client.close()
            for _ in range(repeat):
                for rates, cpus, measure in (
                    (kit_rates, kit_cpu, kit_rate),
                    (bare_rates, bare_cpu, bare_rate),
                ):
                    rate, cpu, pub = measure(broker.url, n)
                    rates.append(rate)
                    cpus.append(cpu)
                    pub_rates.append(pub)
        finally:
            broker.stop()
    kit, bare = median(kit_rates), median(bare_rates)
    ratio = kit / bare
    cpu_ratio = median(kit_cpu) / median(bare_cpu)
    ok = ratio >= TARGET
    return {
        "kit_events_per_s": kit,
        "bare_events_per_s": bare,
        "ratio": ratio,
        "target": TARGET,
        "ok": ok,
        "kit_events_per_cpu_s": median(kit_cpu),
        "bare_events_per_cpu_s": median(bare_cpu),
        "cpu_ratio": cpu_ratio,
        "publisher_events_per_s": median(pub_rates),
        "n": n,
        "repeat": repeat,
        "kit_runs": kit_rates,
        "bare_runs": bare_rates,
        "rows": [
            row(
                "feed throughput (EventFeed -> subscriber)",
                f"{kit:,.0f} events/s (per CPU-s ratio {cpu_ratio:.2f})",
                f"bare EventReceiver {bare:,.0f} events/s",
                ratio,
                f">= {TARGET}",
                ok,
            )
        ],
    }


def _report(f: dict) -> str:
    return "\n".join(
        [
            f"kit EventFeed -> subscriber:        {f['kit_events_per_s']:10,.0f} events/s",
            f"bare Celery Receiver.capture():     {f['bare_events_per_s']:10,.0f} events/s",
            f"per CPU second of the receiving thread: kit {f['kit_events_per_cpu_s']:,.0f}, bare "
            f"{f['bare_events_per_cpu_s']:,.0f} -> ratio {f['cpu_ratio']:.3f} (less sensitive to other load)",
            f"(publisher, EventDispatcher.send:   {f['publisher_events_per_s']:10,.0f} events/s)",
            f"ratio {f['ratio']:.3f} (target >= {f['target']}): {'ok' if f['ok'] else 'MISSED'}"
            f"  [N={f['n']}, median of {f['repeat']}; runs kit {[round(r) for r in f['kit_runs']]}"
            f" bare {[round(r) for r in f['bare_runs']]}]",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    from _common import repeat_arg

    print(_report(main(repeat_arg(5, __doc__))))
