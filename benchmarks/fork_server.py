"""Benchmark: the kit's fork server against multiprocessing's forkserver (with set_forkserver_preload).

Both start `celery worker`s exactly the way the kit does: `kit.LocalCluster(Celery('bench'),
workers=3)` in a fresh Python process, with the kit's workers (its readiness, its shipped app).
Only the server that forks them differs:

- kit: `kit/processes/forkserver.py` (a `python -m` child that imports PRELOAD, then forks per JSON
  request; exit statuses through files).
- stdlib: `multiprocessing.get_context("forkserver")` with `set_forkserver_preload` of a module that
  runs the same `kit.processes.preload.preload()`; each worker is a `Process` whose target is the kit
  fork server's own `_child` (so the worker's start is identical), exit status from the Process.

Figures, per variant (medians over `repeat` fresh processes, the variants alternating):
- cold: the first LocalCluster of the process (the server starts, preloads, forks 3 workers that
  boot and announce themselves);
- warm: a second LocalCluster in the same process (the server is already warm);
- memory: 1 s after the first cluster is ready, RSS / PSS / USS summed over every process the
  benchmark process started (Redis, the server, its helpers, the 3 workers).
Ratios are stdlib / kit: below 1 the standard library's server is faster or smaller.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, memory_of, quiet_env, report_rows, row

WORKERS = 3
VARIANTS = ("kit", "stdlib")


class StdlibHandle:
    """A worker started by multiprocessing: the parts of Popen the cluster uses."""

    def __init__(self, process):
        self.process = process
        self.pid = process.pid

    def poll(self):
        return self.process.exitcode

    def wait(self, timeout=30.0):
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise TimeoutError(f"process {self.pid} still running after {timeout} s")
        return self.process.exitcode


class StdlibForkServer:
    """multiprocessing's forkserver behind the kit fork server's `start`/`spawn`/`close`/`alive`."""

    alive = True

    def __init__(self):
        import multiprocessing

        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["_stdlib_preload"])

    def start(self):
        from multiprocessing import forkserver

        # starts the server now (it preloads while Redis starts), as the kit's start() does
        forkserver.ensure_running()
        return self

    def spawn(self, argv, env, cwd, log):
        from kit.processes.forkserver import _child

        request = {"argv": argv, "env": env, "cwd": cwd, "log": log}
        process = self.context.Process(target=_child, args=(request,), daemon=True)
        process.start()
        return StdlibHandle(process)

    def close(self):
        """Nothing to do: the server exits with this process, its workers with it."""


def child(variant):
    """In a fresh process: cold cluster, memory, warm cluster; prints one JSON line."""
    import psutil
    from celery import Celery

    import kit
    import kit.cluster
    from kit.processes import workers

    if variant == "stdlib":
        server = StdlibForkServer().start()
        # the benchmark swaps the server the kit forks its workers from, nothing else
        workers.fork_server = kit.cluster.fork_server = lambda: server
    t0 = time.perf_counter()
    cluster = kit.LocalCluster(Celery("bench"), workers=WORKERS, progress=False)
    cold = time.perf_counter() - t0
    time.sleep(1.0)
    memory = memory_of([p.pid for p in psutil.Process().children()])
    cluster.close()
    t0 = time.perf_counter()
    cluster = kit.LocalCluster(Celery("bench"), workers=WORKERS, progress=False)
    warm = time.perf_counter() - t0
    cluster.close()
    print(json.dumps({"cold_s": cold, "warm_s": warm, **memory}), flush=True)


def run(variant, workdir):
    """One fresh process of `variant`: its figures."""
    err = open(Path(workdir, f"{variant}.err"), "w+b")
    env = dict(quiet_env(), KIT_PRESTART="0")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", variant],
        stdout=subprocess.PIPE,
        stderr=err,
        stdin=subprocess.DEVNULL,
        cwd=tempfile.mkdtemp(dir=workdir),
        env=env,
        # its whole tree can be killed if it fails
        start_new_session=True,
    )
    try:
        line = select.select([proc.stdout], [], [], 180)[0] and proc.stdout.readline()
        proc.wait(60)
        if not line:
            err.seek(0)
            raise RuntimeError(f"{variant} run failed: {err.read()[-2000:].decode()}")
        return json.loads(line)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        err.close()


def main(repeat: int = 3) -> dict:
    runs = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as workdir:
        for n in range(repeat):
            # alternate which goes first, so both see the same load
            for variant in VARIANTS if n % 2 == 0 else VARIANTS[::-1]:
                runs[variant].append(run(variant, workdir))
    return figures(runs)


def figures(runs):
    keys = ("cold_s", "warm_s", "rss_mib", "pss_mib", "uss_mib")
    med = {v: {k: median([r[k] for r in runs[v]]) for k in keys} for v in VARIANTS}
    kit, std = med["kit"], med["stdlib"]
    f = {f"{v}_{k}": med[v][k] for v in VARIANTS for k in med[v]}
    f.update(
        cold_ratio=std["cold_s"] / kit["cold_s"],
        warm_ratio=std["warm_s"] / kit["warm_s"],
        pss_ratio=std["pss_mib"] / kit["pss_mib"],
        rss_ratio=std["rss_mib"] / kit["rss_mib"],
        repeat=len(runs["kit"]),
    )
    for v in VARIANTS:
        f[f"{v}_cold_runs_s"] = [round(r["cold_s"], 3) for r in runs[v]]
        f[f"{v}_warm_runs_s"] = [round(r["warm_s"], 3) for r in runs[v]]
        f[f"{v}_pss_runs_mib"] = [round(r["pss_mib"]) for r in runs[v]]
    # informational: no target; the decision is written in benchmarks/README.md
    f["ratio"], f["target"], f["ok"] = f["cold_ratio"], "measured (README)", True
    f["rows"] = [
        row(
            f"stdlib forkserver: first LocalCluster(workers={WORKERS})",
            f"{std['cold_s']:.2f} s",
            f"kit fork server {kit['cold_s']:.2f} s",
            f["cold_ratio"],
            "measured",
            True,
        ),
        row(
            f"stdlib forkserver: warm LocalCluster(workers={WORKERS})",
            f"{std['warm_s']:.2f} s",
            f"kit fork server {kit['warm_s']:.2f} s",
            f["warm_ratio"],
            "measured",
            True,
        ),
        row(
            "stdlib forkserver: memory (3 workers + Redis + server)",
            f"PSS {std['pss_mib']:.0f} MiB, RSS {std['rss_mib']:.0f}, USS {std['uss_mib']:.0f}",
            f"kit PSS {kit['pss_mib']:.0f} MiB, RSS {kit['rss_mib']:.0f}, USS {kit['uss_mib']:.0f}",
            f["pss_ratio"],
            "measured",
            True,
        ),
    ]
    return f


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
    else:
        result = main(args.repeat)
        print(report_rows(result.pop("rows")))
        print(json.dumps(result, indent=1))
