"""Where a cold start goes: the first `LocalCluster(workers=3)` of a fresh process, phase by phase.

Used by `cluster_start.py --breakdown` (a helper, not a benchmark: run_all skips `_` files). A fresh Python
process runs a notebook's first cells in one go, with light hooks on the kit's process classes
(only modules the start path imports anyway are imported early); every mark is seconds since the
process was spawned, medians over the runs. The fork server reports how long its own imports took;
the workers' `kit-ready` events say when each worker was ready.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, quiet_env

CHILD = r"""
import json, os, sys, time
T0 = float(sys.argv[1])
marks = {"python up (interpreter, site)": time.time()}
from celery import Celery
marks["from celery import Celery"] = time.time()
import kit
marks["import kit"] = time.time()
from kit.processes import broker, forkserver, readiness, workers

def hook(cls, name, begin=None, end=None, once=True):
    original = getattr(cls, name)
    def wrapper(*args, **kwargs):
        if begin and not (once and begin in marks):
            marks[begin] = time.time()
        try:
            return original(*args, **kwargs)
        finally:
            if end and not (once and end in marks):
                marks[end] = time.time()
    setattr(cls, name, wrapper)

hook(forkserver.ForkServer, "start", "fork server spawned (Popen)", None)
hook(broker.EmbeddedRedis, "start", "Redis: start", "Redis: answers PING")
hook(workers.WorkerProcess, "start", "event feed connected, first fork asked", None)
hook(forkserver.ForkServer, "wait_ready", None, "fork server ready, seen by the kernel")
hook(readiness.ReadyWatch, "__init__", "all forked, waiting for kit-ready", None)
hook(readiness.ReadyWatch, "close", None, "every worker ready (LocalCluster returns)")
LocalCluster = kit.LocalCluster
marks["kit.LocalCluster looked up (kit.cluster imported)"] = time.time()
cluster = LocalCluster(Celery("bench"), workers=3, progress=False)
server = workers._forkserver
info = getattr(server, "ready_info", None) or {}
if "at" in info:
    marks["fork server ready (its own clock)"] = info["at"]
ready = sorted(e["timestamp"] for e in cluster.events.history if e.get("type") == "kit-ready")
if ready:
    marks["first worker sent kit-ready"] = ready[0]
    marks["last worker sent kit-ready"] = ready[-1]
cluster.close()
out = {k: v - T0 for k, v in marks.items()}
out["fork server's imports took (s)"] = info.get("preload_s")
print(json.dumps(out))
"""


def one_run():
    """The marks of one cold start in a fresh process: {phase: seconds since spawn}."""
    with tempfile.TemporaryDirectory() as folder:  # empty, as a notebook's folder is
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, repr(t0)],
            cwd=folder,
            env=quiet_env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
    if out.returncode != 0:
        raise RuntimeError(f"cold start failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(repeat=5):
    """The phases as text: median seconds since spawn, and the step from the mark before."""
    runs = [one_run() for _ in range(repeat)]
    names = sorted(
        {k for r in runs for k in r if not k.endswith("(s)")},
        key=lambda k: median([r.get(k) for r in runs]),
    )
    lines = [f"cold start, {repeat} fresh processes, median seconds since spawn:"]
    before = 0.0
    for name in names:
        at = median([r.get(name) for r in runs])
        lines.append(f"  {at:6.3f}  (+{at - before:5.3f})  {name}")
        before = at
    took = median([r.get("fork server's imports took (s)") for r in runs])
    lines.append(f"  fork server's own imports: {took:.3f} s" if took == took else "")
    return "\n".join(lines)
