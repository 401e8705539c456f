"""Precision and recall of the lint on a corpus of labelled steps (tests/blueprints/lint_corpus/).

Run with ``-s`` to see the figures that benchmarks/README.md reports.
"""

import re

import lint_corpus
from celery import Celery

from kit.blueprints.lint import lint

#: The bug patterns issue 24 names: each must be caught wherever the corpus has it.
NAMED = {"timer", "waits"}


def found(cls, blueprint):
    app = Celery("corpus")
    app.steps[blueprint].add(cls)
    return {(f.method, f.kind) for f in lint(app) if f.step == cls.__name__}


def score():
    """Counts over the corpus: true and false findings, misses (labelled, or not looked for)."""
    labels = lint_corpus.load()
    s = {"steps": len(labels), "clean": 0, "tp": 0, "fp": 0, "fn": 0, "missed": 0, "wrong": []}
    s["by_kind"] = {}
    for cls, (blueprint, expected, missed) in labels.items():
        got = found(cls, blueprint)
        s["clean"] += not expected and not missed
        s["tp"] += len(got & expected)
        s["fp"] += len(got - expected)
        s["fn"] += len(expected - got)
        s["missed"] += len(missed)
        for _, kind in expected:
            caught, total = s["by_kind"].get(kind, (0, 0))
            s["by_kind"][kind] = (caught + ((_, kind) in got), total + 1)
        if got != expected:
            s["wrong"].append(
                f"{cls.__module__}.{cls.__name__}: got {sorted(got)}, expected {sorted(expected)}"
            )
    s["precision"] = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
    s["recall"] = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
    s["recall_all"] = s["tp"] / (s["tp"] + s["fn"] + s["missed"])
    return s


def projects():
    """The public projects the corpus models (named in its comments)."""
    import inspect

    text = "".join(
        inspect.getsource(__import__(f"lint_corpus.{m}", fromlist=["_"]))
        for m in lint_corpus.MODULES
    )
    return set(re.findall(r"# Models ([\w./-]+)", text))


def test_lint_has_no_false_alarm_and_catches_the_named_patterns():
    s = score()
    print(
        f"\nlint corpus: {s['steps']} steps ({s['clean']} correct), {len(projects())} public projects; "
        f"{s['tp'] + s['fn']} labelled bugs, {s['tp']} found, {s['fp']} false alarms, "
        f"{s['missed']} true bugs not looked for\n"
        f"precision {s['precision']:.2f}, recall {s['recall']:.2f} on what the lint looks for, "
        f"{s['recall_all']:.2f} counting the rest\n"
        + "\n".join(f"  {k}: {c}/{n}" for k, (c, n) in sorted(s["by_kind"].items()))
    )
    assert s["fp"] == 0, "\n".join(s["wrong"])
    for kind in NAMED:
        caught, total = s["by_kind"][kind]
        assert total >= 3 and caught == total, (kind, caught, total, s["wrong"])
    assert (s["precision"], s["recall"]) == (1.0, 1.0), "\n".join(s["wrong"])
    assert s["tp"] >= 25  # the corpus has real findings to find, not only clean steps


def test_the_corpus_is_broad_and_has_each_kind_and_each_fixed_false_alarm():
    labels = lint_corpus.load()
    assert len(labels) >= 60, len(labels)
    assert len(projects()) >= 10, projects()
    kinds = {kind for _, expected, _ in labels.values() for _, kind in expected}
    assert kinds == {
        "kwargs",
        "blocks",
        "waits",
        "timer",
        "gossip",
        "early",
        "requires",
        "blueprint",
    }
    names = {cls.__name__ for cls in labels}
    assert {
        # old false alarms: string and path joins, logging in stop
        "StateFile",
        "BareJoin",
        "CsvHeader",
        "SeparatorVariable",
        "ShellCommand",
        "NestedLoop",
        "LogsInTerminate",
        "HealthServer",
        "AlertReceiver",
    } <= names
