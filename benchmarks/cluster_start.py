"""Benchmark: `kit.LocalCluster(app, workers=3)` ready, cold and warm, and its memory, against bare
`celery worker --pool=solo` processes.

- cold: a fresh Python process runs `from celery import Celery; import kit`, then at once
  `kit.LocalCluster(Celery('bench'), workers=3)`, timed from that call until it returned (Redis up,
  the fork server started and ready, every worker announced itself): the first cluster of a new
  kernel as a notebook's first cells run it, with no pause between the cells. The time from the
  process's spawn (its imports too) is printed beside it.
- warm: later clusters in this process, which reuse its warm fork server, as a notebook kernel does.
- anchor of both: one `python -m celery -A tiny worker --pool=solo` with Celery's defaults (mingle,
  gossip, heartbeat on) against a plain redis-server started beforehand, from its spawn until it
  answers `app.control.ping`: cold too, a new process each time.
- memory: RSS summed over the warm cluster's 3 workers + Redis + the fork server (found as the
  workers' parent), 1 s after it is ready; PSS/USS beside it (forked workers share pages with the
  fork server, so RSS counts those pages several times). Anchor: 3 bare solo workers running at
  once, RSS summed, 1 s after all answered a ping.
Runs alternate kit / bare so both see the same machine load; figures are medians.
`--breakdown` instead prints where one cold start's time goes (see `_cold_phases.py`).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PlainRedis, median, memory_of, quiet_env, report_rows, row

COLD_TARGET = 0.6  # first cluster of a fresh process / one bare worker started cold
WARM_TARGET = 0.15  # later cluster / bare worker
RSS_TARGET_MIB = 250.0
RSS_RATIO_TARGET = 1.2  # cluster RSS / 3 bare workers' RSS
WORKERS = 3
TINY_APP = "import os\nfrom celery import Celery\n\napp = Celery('tiny', broker=os.environ['BENCH_BROKER'])\n"
#: What the fresh process runs: a notebook's first cells in one go; says "ready", waits, closes.
COLD_CHILD = (
    """
import sys, time
from celery import Celery
import kit

t0 = time.perf_counter()
cluster = kit.LocalCluster(Celery("bench"), workers=%d, progress=False)
print(time.perf_counter() - t0, flush=True)
sys.stdin.readline()
cluster.close()
"""
    % WORKERS
)


def start_cold(workdir):
    """Seconds the first `kit.LocalCluster(...)` of a fresh Python process took, and seconds from
    that process's spawn until it was ready (its imports too).

    It runs in an empty folder, as a notebook's folder is (a `.py` file there makes LocalCluster
    check it for names that shadow packages the workers import).
    """
    folder = tempfile.mkdtemp(dir=workdir)
    err = open(Path(workdir, "cold.err"), "w+b")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", COLD_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=err,
        cwd=folder,
        env=quiet_env(),
        start_new_session=True,  # its whole tree can be killed if it fails
    )
    try:
        ready = select.select([proc.stdout], [], [], 120)[0] and proc.stdout.readline()
        total = time.perf_counter() - t0
        if not ready:
            err.seek(0)
            raise RuntimeError(f"the cold cluster did not start: {err.read()[-2000:].decode()}")
        proc.stdin.write(b"close\n")
        proc.stdin.flush()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        err.close()
    return float(ready), total


def start_warm():
    """Seconds until LocalCluster(...) returns in this process (its fork server is warm)."""
    from celery import Celery

    import kit

    t0 = time.perf_counter()
    cluster = kit.LocalCluster(Celery("bench"), workers=WORKERS, progress=False)
    return time.perf_counter() - t0, cluster


def cluster_memory(cluster):
    """Memory of the workers, the embedded Redis and the fork server (the workers' parent)."""
    import psutil

    workers = [w.proc.pid for w in cluster._workers.values()]
    pids = workers + [cluster.redis.proc.pid]
    parents = {psutil.Process(pid).ppid() for pid in workers}
    servers = [pid for pid in parents if pid not in (os.getpid(), 1, 0)]  # forked: the fork server
    memory = memory_of(pids + servers)
    memory["server_rss_mib"] = memory["rss_mib"] - memory_of(pids)["rss_mib"]
    return memory


def spawn_bare(redis_url, workdir, name):
    """One default solo worker `name`, spawned now (its log in workdir)."""
    env = dict(quiet_env(), BENCH_BROKER=redis_url, PYTHONPATH=workdir)
    with open(Path(workdir, f"{name.split('@')[0]}.log"), "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tiny", "worker", "--pool=solo", "-n", name],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_answering(procs, client, workdir):
    """Ping the workers {name: proc} until all answered (RuntimeError if one exits or 60 s pass)."""
    pending = set(procs)
    deadline = time.monotonic() + 60
    while pending:
        for name in pending:
            if procs[name].poll() is not None:
                log = Path(workdir, f"{name.split('@')[0]}.log").read_text()[-2000:]
                raise RuntimeError(f"bare worker exited {procs[name].returncode}: {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bare workers {sorted(pending)} did not answer a ping within 60 s")
        for reply in client.control.ping(destination=list(pending), timeout=0.05) or ():
            pending -= set(reply)


def stop(procs):
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bare_names(tag, count):
    return [f"bare{tag}-{i}-{os.getpid()}@{socket.gethostname()}" for i in range(count)]


def start_bare(redis_url, workdir, tag, client):
    """Seconds from spawning one default solo worker until it answers a ping; then stop it."""
    (name,) = bare_names(tag, 1)
    t0 = time.perf_counter()
    procs = {name: spawn_bare(redis_url, workdir, name)}
    try:
        wait_answering(procs, client, workdir)
        return time.perf_counter() - t0
    finally:
        stop(procs.values())


def bare_memory(redis_url, workdir, tag, client):
    """RSS (and PSS/USS) summed over WORKERS bare solo workers running at once."""
    procs = {n: spawn_bare(redis_url, workdir, n) for n in bare_names(tag, WORKERS)}
    try:
        wait_answering(procs, client, workdir)
        time.sleep(1.0)
        return memory_of([p.pid for p in procs.values()])
    finally:
        stop(procs.values())


def main(repeat: int = 7) -> dict:
    import psutil  # noqa: F401 - fail early with a clear ImportError
    from celery import Celery

    import kit  # noqa: F401 - imported before timing, as in a notebook

    cold, spawned, warm, bare, memory, anchor_memory = [], [], [], [], [], []
    with PlainRedis() as redis, tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "tiny.py").write_text(TINY_APP)
        # polling_interval is kombu Redis's BRPOP timeout (default 1 s): an unanswered ping leaves
        # that BRPOP pending on the client's connection, and the next ping's reply is not read until
        # it returns.
        client = Celery(
            "bench-client",
            broker=redis.url,
            set_as_current=False,
            broker_transport_options={"polling_interval": 0.05},
        )
        client.control.ping(timeout=0.05)  # open the client's connection before timing
        start_warm()[1].close()  # this process's fork server: warm from here on
        for n in range(repeat):
            took, total = start_cold(workdir)
            cold.append(took)
            spawned.append(total)
            bare.append(start_bare(redis.url, workdir, f"c{n}", client))
            took, cluster = start_warm()
            warm.append(took)
            time.sleep(1.0)  # let the workers settle before measuring memory
            memory.append(cluster_memory(cluster))
            cluster.close()
            bare.append(start_bare(redis.url, workdir, f"w{n}", client))
            if n < 3:
                anchor_memory.append(bare_memory(redis.url, workdir, f"m{n}", client))
    return figures(cold, spawned, warm, bare, memory, anchor_memory)


def figures(cold_runs, spawned_runs, warm_runs, bare_runs, memory, anchor_memory):
    cold, warm, bare = median(cold_runs), median(warm_runs), median(bare_runs)
    spawned = median(spawned_runs)
    mem = {k: median([m[k] for m in memory]) for k in ("rss_mib", "pss_mib", "uss_mib")}
    mem["server_rss_mib"] = median([m["server_rss_mib"] for m in memory])
    anchor_rss = median([m["rss_mib"] for m in anchor_memory])
    f = {
        "kit_cold_s": cold,
        "kit_cold_from_spawn_s": spawned,
        "cold_from_spawn_ratio": spawned / bare,
        "kit_warm_s": warm,
        "bare_solo_s": bare,
        "cold_ratio": cold / bare,
        "warm_ratio": warm / bare,
        "rss_mib": mem["rss_mib"],
        "pss_mib": mem["pss_mib"],
        "uss_mib": mem["uss_mib"],
        "fork_server_rss_mib": mem["server_rss_mib"],
        "bare3_rss_mib": anchor_rss,
        "rss_ratio": mem["rss_mib"] / anchor_rss,
        "processes": memory[0]["processes"],
        "kit_cold_runs_s": cold_runs,
        "kit_warm_runs_s": warm_runs,
        "bare_runs_s": bare_runs,
        "repeat": len(cold_runs),
    }
    pss = f", PSS {f['pss_mib']:.0f}" if f["pss_mib"] is not None else ""
    f["rows"] = [
        row(
            f"first LocalCluster(workers={WORKERS}) of a fresh process",
            f"{cold:.2f} s (from spawn, imports too: {spawned:.2f} s)",
            f"bare solo worker, cold {bare:.2f} s",
            f["cold_ratio"],
            f"<= {COLD_TARGET}",
            f["cold_ratio"] <= COLD_TARGET,
        ),
        row(
            f"warm LocalCluster(workers={WORKERS})",
            f"{warm:.2f} s",
            f"bare solo worker {bare:.2f} s",
            f["warm_ratio"],
            f"<= {WARM_TARGET}",
            f["warm_ratio"] <= WARM_TARGET,
        ),
        row(
            f"cluster memory ({WORKERS} workers + Redis + fork server)",
            f"RSS {f['rss_mib']:.0f} MiB{pss}; fork server {f['fork_server_rss_mib']:.0f}",
            f"{WORKERS} bare solo workers RSS {anchor_rss:.0f} MiB",
            f["rss_ratio"],
            f"<= {RSS_RATIO_TARGET}x and <= {RSS_TARGET_MIB:.0f} MiB",
            f["rss_ratio"] <= RSS_RATIO_TARGET and f["rss_mib"] <= RSS_TARGET_MIB,
        ),
    ]
    f["ratio"], f["target"] = f["cold_ratio"], COLD_TARGET
    f["ok"] = all(r["ok"] for r in f["rows"])
    return f


def _report(f: dict) -> str:
    def opt(v):
        return f"{v:.0f} MiB" if v is not None else "n/a"

    def runs(times):
        return [round(t, 3) for t in times]

    return "\n".join(
        [
            f"cold (first LocalCluster of a fresh process): {f['kit_cold_s']:.3f} s  (median of "
            f"{f['repeat']}); from its spawn, imports too: {f['kit_cold_from_spawn_s']:.3f} s "
            f"(ratio {f['cold_from_spawn_ratio']:.3f})",
            f"warm (fork server warm):                     {f['kit_warm_s']:.3f} s",
            f"bare `celery worker --pool=solo` answers a ping: {f['bare_solo_s']:.3f} s  (median of "
            f"{len(f['bare_runs_s'])})",
            f"cluster memory ({f['processes']} processes): RSS {f['rss_mib']:.0f} MiB (fork server "
            f"{f['fork_server_rss_mib']:.0f}), PSS {opt(f['pss_mib'])}, USS {opt(f['uss_mib'])}; "
            f"{WORKERS} bare workers RSS {f['bare3_rss_mib']:.0f} MiB",
            f"runs: cold {runs(f['kit_cold_runs_s'])}  warm {runs(f['kit_warm_runs_s'])}  "
            f"bare {runs(f['bare_runs_s'])}",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--repeat", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument(
        "--breakdown", action="store_true", help="where one cold start's time goes, repeated -n"
    )
    args = parser.parse_args()
    if args.breakdown:
        from _cold_phases import report

        print(report(args.repeat))
    else:
        print(_report(main(args.repeat)))
