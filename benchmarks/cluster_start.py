"""Benchmark: `kit.LocalCluster(app, workers=3)` ready (Redis included) vs a bare `celery worker --pool=solo`.

The kit's figure is measured as a notebook kernel sees it: the first cluster of the process is the
cold start (it also starts the kit's fork server); later clusters in the same process reuse the warm
fork server. The anchor is one `python -m celery -A tiny worker --pool=solo` with Celery's defaults
(mingle, gossip, heartbeat on) against a plain redis-server started beforehand, from spawn until it
answers `app.control.ping`. Runs alternate kit / bare so both see the same machine load.
Also: memory of the running cluster (3 workers + Redis + the fork server): RSS, and PSS/USS
(forked workers share pages with the fork server, so RSS counts those pages several times).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PlainRedis, median, memory_of, quiet_env, report_rows, row  # noqa: E402

TARGET = 0.5  # kit warm start / bare worker start
RSS_TARGET_MIB = 250.0
WORKERS = 3
TINY_APP = "import os\nfrom celery import Celery\n\napp = Celery('tiny', broker=os.environ['BENCH_BROKER'])\n"


def start_kit():
    """Seconds until LocalCluster(...) returns (every worker answered a ping), and the cluster."""
    import kit
    from celery import Celery

    t0 = time.perf_counter()
    cluster = kit.LocalCluster(Celery("bench"), workers=WORKERS, progress=False)
    return time.perf_counter() - t0, cluster


def cluster_memory(cluster):
    """Memory of the workers, the embedded Redis and the fork server (found as the workers' parent)."""
    import psutil

    workers = [w.proc.pid for w in cluster._workers.values()]
    pids = workers + [cluster.redis.proc.pid]
    parents = {psutil.Process(pid).ppid() for pid in workers}
    servers = [pid for pid in parents if pid not in (os.getpid(), 1, 0)]  # forked: the fork server
    memory = memory_of(pids + servers)
    memory["rss_no_server_mib"] = memory_of(pids)["rss_mib"] if servers else memory["rss_mib"]
    return memory


def start_bare(redis_url, workdir, n, client):
    """Seconds from spawning one default solo worker until it answers a ping; then stop it."""
    name = f"bare{n}-{os.getpid()}@{socket.gethostname()}"
    env = dict(quiet_env(), BENCH_BROKER=redis_url, PYTHONPATH=workdir)
    log = open(Path(workdir, f"bare{n}.log"), "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tiny", "worker", "--pool=solo", "-n", name],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"bare worker exited {proc.returncode}: "
                    f"{Path(workdir, f'bare{n}.log').read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("bare worker did not answer a ping within 60 s")
            if client.control.ping(destination=[name], timeout=0.05, limit=1):
                took = time.perf_counter() - t0
                break
        memory = memory_of([proc.pid])
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return took, memory


def main(repeat: int = 7) -> dict:
    import psutil  # noqa: F401 - fail early with a clear ImportError
    from celery import Celery

    import kit  # noqa: F401 - imported before timing, as in a notebook

    cold, cluster = start_kit()
    time.sleep(1.0)  # let the workers settle before measuring memory
    memory = cluster_memory(cluster)
    cluster.close()
    warm_times, bare_times, bare_memory = [], [], None
    with PlainRedis() as redis, tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "tiny.py").write_text(TINY_APP)
        # polling_interval is kombu Redis's BRPOP timeout (default 1 s): an unanswered ping leaves that BRPOP
        # pending on the client's connection, and the next ping's reply is not read until it returns.
        client = Celery(
            "bench-client",
            broker=redis.url,
            set_as_current=False,
            broker_transport_options={"polling_interval": 0.05},
        )
        client.control.ping(timeout=0.05)  # open the client's connection before timing
        for n in range(repeat):
            took, cluster = start_kit()
            warm_times.append(took)
            cluster.close()
            took, mem = start_bare(redis.url, workdir, n, client)
            bare_times.append(took)
            bare_memory = bare_memory or mem
    warm, bare = median(warm_times), median(bare_times)
    ratio = warm / bare
    rss_ok = memory["rss_mib"] <= RSS_TARGET_MIB
    figures = {
        "kit_warm_s": warm,
        "kit_cold_s": cold,
        "bare_solo_s": bare,
        "ratio": ratio,
        "target": TARGET,
        "ok": ratio <= TARGET,
        "rss_mib": memory["rss_mib"],
        "pss_mib": memory["pss_mib"],
        "uss_mib": memory["uss_mib"],
        "processes": memory["processes"],
        "rss_without_fork_server_mib": memory["rss_no_server_mib"],
        "rss_target_mib": RSS_TARGET_MIB,
        "rss_ok": rss_ok,
        "bare_rss_mib": bare_memory["rss_mib"] if bare_memory else None,
        "kit_warm_runs_s": warm_times,
        "bare_runs_s": bare_times,
        "repeat": repeat,
    }
    pss = f", PSS {memory['pss_mib']:.0f} MiB" if memory["pss_mib"] is not None else ""
    figures["rows"] = [
        row(
            "cluster start (3 workers + Redis, warm)",
            f"{warm:.2f} s (cold {cold:.2f} s)",
            f"bare solo worker {bare:.2f} s",
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
        ),
        row(
            "cluster memory (3 workers + Redis + fork server)",
            f"RSS {memory['rss_mib']:.0f} MiB{pss}; "
            f"RSS w/o fork server {memory['rss_no_server_mib']:.0f} MiB",
            f"bare solo worker RSS {figures['bare_rss_mib']:.0f} MiB" if bare_memory else "",
            memory["rss_mib"] / RSS_TARGET_MIB,
            f"<= {RSS_TARGET_MIB:.0f} MiB",
            rss_ok,
        ),
    ]
    return figures


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _rounded(times: list) -> list:
    return [round(t, 3) for t in times]


def _report(f: dict) -> str:
    def opt(v):
        return f"{v:.0f} MiB" if v is not None else "n/a"

    return "\n".join(
        [
            f"LocalCluster(app, workers={WORKERS}) ready, warm fork server: {f['kit_warm_s']:.3f} s  "
            f"(median of {f['repeat']})",
            f"LocalCluster(app, workers={WORKERS}) ready, cold (first):     {f['kit_cold_s']:.3f} s",
            f"bare `celery worker --pool=solo` answers a ping:      {f['bare_solo_s']:.3f} s  "
            f"(median of {f['repeat']})",
            f"ratio warm/bare {f['ratio']:.3f} (target <= {f['target']}): {_verdict(f['ok'])}",
            f"cluster memory ({f['processes']} processes): RSS {f['rss_mib']:.0f} MiB, "
            f"PSS {opt(f['pss_mib'])}, USS {opt(f['uss_mib'])}  "
            f"(target RSS <= {f['rss_target_mib']:.0f} MiB: {_verdict(f['rss_ok'])})",
            f"RSS without the fork server (3 workers + Redis): {opt(f['rss_without_fork_server_mib'])}; "
            f"one bare solo worker RSS: {opt(f['bare_rss_mib'])}",
            f"runs: kit {_rounded(f['kit_warm_runs_s'])}  bare {_rounded(f['bare_runs_s'])}",
            "",
            report_rows(f["rows"]),
        ]
    )


if __name__ == "__main__":
    from _common import repeat_arg

    print(_report(main(repeat_arg(7, __doc__))))
