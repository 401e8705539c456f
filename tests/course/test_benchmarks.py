"""Smoke tests of benchmarks/: every module imports and has main(); the cheapest run once.

Timing is not tested (the targets are for `make bench`); only that a run returns numeric figures
and a ratio, and that run_all builds its table and never gates.
"""

import importlib
import math
import sys
from pathlib import Path

import pytest
from conftest import need_program

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

MINE = (
    "cluster_start",
    "event_latency",
    "feed_throughput",
    "node_lost",
    "memory",
    "scale",
    "instrument_overhead",
    "stuck_report",
)


def bench_modules():
    return sorted(
        p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all"
    )


def numeric(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_result(result):
    assert isinstance(result, dict)
    assert numeric(result["ratio"]) and result["ratio"] > 0, result.get("ratio")
    assert "target" in result and isinstance(result["ok"], bool)
    figures = [
        k for k, v in result.items() if k not in ("ratio", "target", "repeat") and numeric(v)
    ]
    assert len(figures) >= 2, result
    for row in result.get("rows", []):
        assert {"name", "figure", "anchor", "ratio", "target", "ok"} <= row.keys()


@pytest.mark.parametrize("name", bench_modules())
def test_every_benchmark_imports_and_has_main(name):
    module = importlib.import_module(name)
    assert callable(module.main)


def test_all_of_ours_are_there():
    assert set(MINE) <= set(bench_modules())


def test_run_all_table_from_rows_and_from_plain_dicts():
    import run_all

    rows = run_all.rows_of(
        "graph_render",
        {"kit_warm_s": 0.02, "cli_s": 1.5, "ratio": 0.0133, "target": 0.5, "ok": True, "repeat": 5},
    )
    assert rows[0]["figure"] == "kit_warm 20.0 ms" and rows[0]["anchor"] == "cli 1.50 s"
    assert rows[0]["target"] == "<= 0.5"
    rows += run_all.rows_of(
        "x",
        {
            "rows": [
                {
                    "name": "a",
                    "figure": "1 s",
                    "anchor": "2 s",
                    "ratio": 0.5,
                    "target": "<= 1",
                    "ok": False,
                }
            ],
            "ratio": 0.5,
        },
    )
    table = run_all.report_rows(
        rows
        + [
            {
                "name": "broken",
                "figure": "ERROR",
                "anchor": "boom",
                "ratio": None,
                "target": "",
                "ok": False,
                "error": True,
            }
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["benchmark", "figure", "anchor", "ratio", "target", "ok"]
    assert "0.013" in lines[2] and lines[2].rstrip().endswith("ok")
    assert lines[3].rstrip().endswith("MISSED") and lines[4].rstrip().endswith("ERROR")


def test_run_all_exits_0_and_reports_a_failing_benchmark(tmp_path, monkeypatch, capsys):
    import run_all

    monkeypatch.setattr(
        run_all, "run", lambda name, repeat=None, timeout=0: (None, "RuntimeError: boom", 0.1)
    )
    assert run_all.main(["-k", "memory"]) == 0
    out = capsys.readouterr().out
    assert "ERROR" in out and "boom" in out
    assert run_all.main(["-k", "memory", "--strict"]) == 1


@pytest.mark.slow
@pytest.mark.redis
def test_memory_runs(redis_server):
    import memory

    check_result(memory.main(repeat=1, n=30_000))


@pytest.mark.slow
@pytest.mark.redis
def test_feed_throughput_runs(redis_server):
    import feed_throughput

    result = feed_throughput.main(repeat=1, n=2000)
    check_result(result)
    assert result["kit_events_per_s"] > 0 and result["bare_events_per_s"] > 0


@pytest.mark.slow
@pytest.mark.redis
def test_event_latency_runs(redis_server):
    import event_latency

    result = event_latency.main(repeat=1, samples=50)
    check_result(result)
    assert 0 < result["kit_p50_s"] <= result["kit_p95_s"] and result["raw_p95_s"] > 0


@pytest.mark.slow
@pytest.mark.redis
def test_scale_runs(redis_server):
    import scale

    result = scale.main(sizes=(3,), idle=2.0, kills=1)
    check_result(result)
    f = result["by_size"][0]
    assert f["n"] == 3 and f["heartbeat_interval_s"] == 0.5 and f["feed_events_per_s"] > 0
    assert f["predicted"] == (0.5, 1.25) and f["default_p95_s"] > 0, "against Celery's own gossip"
    assert 0 < f["lost_p50_s"] < 30 and f["redis_commands_per_s"] > 0 and f["uss_mib"] > 0
    table = scale.table(result["by_size"]).splitlines()
    assert table[0].startswith("| N |") and table[2].startswith("| 3 |")


@pytest.mark.slow
@pytest.mark.dot
def test_graph_render_runs():
    need_program("dot")
    import graph_render

    check_result(graph_render.main(repeat=1))


@pytest.mark.slow
@pytest.mark.redis
def test_instrument_overhead_runs(redis_server):
    import instrument_overhead

    result = instrument_overhead.main(repeat=1, tasks=50, idle=3.0)
    check_result(result)
    assert result["instrumented_tasks_per_cpu_s"] > 0 and result["plain_tasks_per_cpu_s"] > 0
    # the instrumented worker's timer fires (Heart every 2 s) reach the feed; the plain one sends none
    assert result["kit_events_per_s_idle"] > 0 and result["celery_events_per_s_idle_plain"] > 0
