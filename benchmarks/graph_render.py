"""Benchmark: the two-blueprint SVG in a warm kernel vs `celery graph bootsteps | dot -Tsvg` as processes."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The app module given to ``celery -A`` (no broker connection is made).
TINY_APP = "from celery import Celery\n\napp = Celery('tiny', broker='memory://')\n"
#: The kit's rendering should take at most this fraction of the command-line route.
TARGET = 0.5


def _median(fun, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fun()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm_render(app) -> str:
    """Build and render the graph in this process, as a notebook cell does."""
    from kit.blueprints.graph import blueprint_graph

    svg = blueprint_graph(app).pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg, svg[:200]
    return svg


def cli_render(workdir: str) -> bytes:
    """``python -m celery -A tiny graph bootsteps | dot -Tsvg``, two processes."""
    env = {**os.environ, "PYTHONPATH": workdir}
    celery = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tiny", "graph", "bootsteps"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    dot = subprocess.Popen(["dot", "-Tsvg"], stdin=celery.stdout, stdout=subprocess.PIPE)
    celery.stdout.close()
    svg, _ = dot.communicate(timeout=60)
    err = celery.communicate(timeout=60)[1]
    if celery.returncode or dot.returncode or b"<svg" not in svg:
        raise RuntimeError(f"celery graph bootsteps | dot failed: {err.decode()[-2000:]}")
    return svg


def main(repeat: int = 5) -> dict:
    """Median seconds of both routes over ``repeat`` runs, and their ratio (kit / CLI)."""
    if shutil.which("dot") is None:
        raise RuntimeError("this benchmark needs Graphviz's dot: apt-get install graphviz")
    from celery import Celery

    app = Celery("tiny", broker="memory://")
    warm_render(app)  # warm up: imports and the first dot start
    warm = _median(lambda: warm_render(app), repeat)
    with tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "tiny.py").write_text(TINY_APP)
        cli = _median(lambda: cli_render(workdir), repeat)
    ratio = warm / cli
    return {
        "kit_warm_s": warm,
        "cli_s": cli,
        "ratio": ratio,
        "target": TARGET,
        "ok": ratio <= TARGET,
        "repeat": repeat,
    }


def _report(figures: dict) -> str:
    return (
        f"kit, warm process (blueprint_graph(app).pipe('svg')): {figures['kit_warm_s'] * 1e3:8.1f} ms\n"
        f"celery graph bootsteps | dot -Tsvg (processes):      {figures['cli_s'] * 1e3:8.1f} ms\n"
        f"ratio {figures['ratio']:.3f} (target <= {figures['target']}): "
        f"{'ok' if figures['ok'] else 'MISSED'}  [median of {figures['repeat']}]"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-n", "--repeat", type=int, default=5, help="repetitions per route (default 5)"
    )
    print(_report(main(parser.parse_args().repeat)))
