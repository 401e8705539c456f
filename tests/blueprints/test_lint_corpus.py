"""Precision and recall of the lint on a corpus of labelled steps (tests/blueprints/lint_corpus/)."""

import lint_corpus
from celery import Celery

from kit.blueprints.lint import lint


def found(cls, blueprint):
    app = Celery("corpus")
    app.steps[blueprint].add(cls)
    return {(f.method, f.kind) for f in lint(app) if f.step == cls.__name__}


def test_lint_precision_and_recall_are_one_on_the_corpus():
    labels = lint_corpus.load()
    assert len(labels) >= 25, len(labels)
    tp = fp = fn = 0
    wrong = []
    for cls, (blueprint, expected) in labels.items():
        got = found(cls, blueprint)
        tp, fp, fn = tp + len(got & expected), fp + len(got - expected), fn + len(expected - got)
        if got != expected:
            wrong.append(
                f"{cls.__module__}.{cls.__name__}: got {sorted(got)}, expected {sorted(expected)}"
            )
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    assert (precision, recall) == (1.0, 1.0), "\n".join(wrong)
    assert tp >= 15  # the corpus has real findings to find, not only clean steps


def test_the_corpus_has_each_kind_of_finding_and_each_fixed_false_alarm():
    labels = lint_corpus.load()
    kinds = {kind for _, expected in labels.values() for _, kind in expected}
    assert kinds == {"kwargs", "logs", "blocks", "requires", "blueprint"}
    names = {cls.__name__ for cls in labels}
    assert {
        "StateFile",
        "BareJoin",
        "CsvHeader",
        "SeparatorVariable",
        "ShellCommand",
        "NestedLoop",
    } <= names
