"""Realistic steps, each labelled with the lint findings it should get: (method, kind) pairs."""

#: step class -> (blueprint, expected findings)
LABELS = {}


def expect(*findings, blueprint="worker"):
    """Label a step class: ``@expect(("start", "blocks"))``; no findings means it is clean."""

    def label(cls):
        LABELS[cls] = (blueprint, set(findings))
        return cls

    return label


def load():
    """Every labelled step of the corpus (imports its modules)."""
    from lint_corpus import guide, joins, kit_steps, paths, signals, sockets, threads, timers  # noqa: F401

    return dict(LABELS)
