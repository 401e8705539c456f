"""Run every benchmark in benchmarks/ and print one table: figure, anchor, ratio, target, ok.

Each benchmark module (a `*.py` here with a `main()`; `_common`, `run_all` excluded) runs in its own
Python process, so one that fails or hangs doesn't take the others down; a failure becomes an ERROR
row. Benchmarks measure, they don't gate: the exit status is 0 either way (`--strict` exits 1 when
a target is missed or a benchmark failed).

    python benchmarks/run_all.py                 # everything, each with its default repetitions
    python benchmarks/run_all.py --repeat 1      # one repetition each (quick look)
    python benchmarks/run_all.py -k latency -k node_lost --json results.json
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import quiet_env, report_rows  # noqa: E402

#: Shown first, in this order; any other benchmark module found here follows, alphabetically.
ORDER = (
    "cluster_start",
    "event_latency",
    "widget_latency",
    "feed_throughput",
    "node_lost",
    "graph_render",
    "memory",
)
SKIP = {"_common", "run_all"}
#: Keys of a benchmark's dict that are not its figures.
META = {"ratio", "target", "ok", "repeat", "rows", "figure", "anchor", "name"}


def modules(selected=()):
    found = [p.stem for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_")]
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def _numbers(result):
    return [
        (k, v)
        for k, v in result.items()
        if k not in META and isinstance(v, (int, float)) and not isinstance(v, bool)
    ]


def _show(key, value):
    label = key[:-2] if key.endswith(("_s", "_ms")) else key
    label = label.removesuffix("_m")
    if key.endswith("_s"):
        text = f"{value * 1e3:.1f} ms" if abs(value) < 1 else f"{value:.2f} s"
    elif key.endswith("_ms"):
        text = f"{value:.1f} ms"
    else:
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"{label} {text}"


def _target(result):
    target, ratio, ok = result.get("target"), result.get("ratio"), result.get("ok")
    if not isinstance(target, (int, float)) or not isinstance(ratio, (int, float)):
        return str(target if target is not None else "")
    if bool(ok) == (ratio <= target) and bool(ok) != (ratio >= target):
        return f"<= {target}"
    if bool(ok) == (ratio >= target) and bool(ok) != (ratio <= target):
        return f">= {target}"
    return str(target)


def _first(result, test):
    return next(((k, v) for k, v in _numbers(result) if test(k)), None)


def rows_of(name, result):
    """The table rows of one benchmark's result: its own `rows`, else one made from its figures.

    The contract is `main() -> {..., "ratio", "target", "ok"}` (optionally "rows", or "figure" and
    "anchor" as text); for a dict without them, the row is guessed: figure = its p50/p95 (else its
    first time), anchor = a figure named like an anchor (bare, cli, raw, flower, default, ...),
    ratio = `ratio` or the first `ratio_*` (p95 preferred), target = `target` or `target_*`.
    """
    if isinstance(result.get("rows"), list) and result["rows"]:
        return [dict(r, name=r.get("name") or name) for r in result["rows"]]
    numbers = dict(_numbers(result))
    figure = result.get("figure")
    if not figure:
        p50 = _first(result, lambda k: "p50" in k and not k.startswith(("ratio", "target")))
        p95 = _first(result, lambda k: "p95" in k and not k.startswith(("ratio", "target")))
        first = _first(result, lambda k: k.endswith("_s") and not k.startswith(("ratio", "target")))
        shown = [p for p in (p50, p95) if p] or ([first] if first else list(numbers.items())[:1])
        figure = ", ".join(_show(k, v) for k, v in shown)
    anchor = result.get("anchor")
    if not anchor:
        words = ("anchor", "bare", "cli", "raw", "flower", "default", "baseline", "celery")
        found = _first(
            result, lambda k: any(w in k for w in words) and not k.startswith(("ratio", "target"))
        )
        anchor = _show(*found) if found else ""
    ratio = result.get("ratio")
    if not isinstance(ratio, (int, float)):
        found = _first(result, lambda k: k.startswith("ratio") and "p95" in k) or _first(
            result, lambda k: k.startswith("ratio")
        )
        ratio = found[1] if found else None
    if "target" in result:
        target = _target(dict(result, ratio=ratio))
    else:
        found = _first(result, lambda k: k.startswith("target"))
        target = (
            ("<= " + _show(*found).split(" ", 1)[1])
            if found and found[0].endswith("_s")
            else (_show(*found) if found else "")
        )
    return [
        {
            "name": name.replace("_", " "),
            "figure": figure,
            "anchor": anchor,
            "ratio": ratio,
            "target": target,
            "ok": bool(result.get("ok")),
        }
    ]


def run_one(name, out, repeat=None):
    """In the child process: import the module, run main(), write its dict as JSON."""
    module = importlib.import_module(name)
    kwargs = {}
    if repeat is not None and "repeat" in inspect.signature(module.main).parameters:
        kwargs["repeat"] = repeat
    result = module.main(**kwargs)
    Path(out).write_text(json.dumps(result, default=_jsonable))


def _jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def run(name, repeat=None, timeout=1800):
    """Run one benchmark in a fresh process; (result dict or None, error text, seconds)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp, "result.json")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--out", str(out)]
        if repeat is not None:
            cmd += ["--repeat", str(repeat)]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                cmd,
                cwd=HERE.parent,
                env=quiet_env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s", time.monotonic() - t0
        took = time.monotonic() - t0
        if proc.returncode == 0 and out.exists():
            return json.loads(out.read_text()), "", took
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-12:]
        return None, "\n".join(tail) or f"exit status {proc.returncode}", took


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-k", action="append", default=[], help="run only benchmarks whose name contains this"
    )
    parser.add_argument("--repeat", type=int, default=None, help="repetitions for every benchmark")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per benchmark (default 1800)"
    )
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 if a target is missed or a benchmark fails"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run_one(args.one, args.out, args.repeat)
        return 0

    names = modules(args.k)
    print(
        f"running {len(names)} benchmarks on {os.cpu_count()} cores: {', '.join(names)}", flush=True
    )
    rows, results, failed = [], {}, False
    for name in names:
        result, error, took = run(name, args.repeat, args.timeout)
        if result is None:
            failed = True
            print(
                f"  {name}: ERROR after {took:.0f} s\n    " + error.replace("\n", "\n    "),
                flush=True,
            )
            rows.append(
                {
                    "name": name.replace("_", " "),
                    "figure": "ERROR",
                    "anchor": error.splitlines()[-1][:60],
                    "ratio": None,
                    "target": "",
                    "ok": False,
                    "error": True,
                }
            )
            continue
        results[name] = result
        mine = rows_of(name, result)
        rows += mine
        failed |= not all(r.get("ok") for r in mine)
        print(f"  {name}: done in {took:.0f} s", flush=True)
    print()
    print(report_rows(rows))
    print(
        "\nratio = figure / anchor (latency, time, memory: lower is better; throughput: higher is better)."
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"cores": os.cpu_count(), "results": results, "rows": rows},
                indent=2,
                default=_jsonable,
            )
        )
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
