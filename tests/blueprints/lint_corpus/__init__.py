"""Realistic steps, each labelled with the lint findings it should get: (method, kind) pairs.

Modules named after a theme model steps from public projects (each names its project), written
here in our own words; ``guide`` and ``kit_steps`` hold the guide's and the kit's steps (the
notebooks' steps are read from the notebooks themselves by ``test_lint_notebooks.py``). A label
lists the true bugs the lint is meant to find; ``missed`` lists true bugs the lint does not look
for, so that recall counts them too.
"""

#: step class -> (blueprint, expected findings, true bugs the lint does not look for)
LABELS = {}
#: The corpus modules.
MODULES = (
    "addons",
    "boot_waits",
    "gossip_patches",
    "guide",
    "integrations",
    "joins",
    "kit_steps",
    "liveness",
    "paths",
    "receivers",
    "requires_forms",
    "signals",
    "sockets",
    "threads",
    "timers",
)


def expect(*findings, blueprint="worker", missed=()):
    """Label a step class: ``@expect(("start", "blocks"))``; no findings means it is clean."""

    def label(cls):
        LABELS[cls] = (blueprint, set(findings), set(missed))
        return cls

    return label


def load():
    """Every labelled step of the corpus (imports its modules)."""
    import importlib

    for name in MODULES:
        importlib.import_module(f"lint_corpus.{name}")
    return dict(LABELS)
