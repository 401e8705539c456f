"""The lint on every step the notebooks define: no false alarm, and the course's known bugs named."""

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from kit.blueprints.lint import check_step

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Findings that are true on every claimed release, per (notebook, class): the course shows these
#: bugs on purpose, or (marked) teaches them without saying so.
TRUE = {
    # the guide's DeadlockDetection, as printed: no **kwargs
    ("04", "DeadlockDetection"): {("__init__", "kwargs")},
    # the pitfalls lab: each step is one pitfall
    ("09", "BlockingStart"): {("start", "blocks")},
    ("09", "HangingStart"): {("start", "blocks")},
    ("09", "PoolPeek"): {("requires", "requires")},
    # the timer lab: a consumer step that never cancels its entry, doubled by a broker restart
    ("03", "Leaky"): {("start", "timer")},
}
CONSUMER = re.compile(r"""app\.steps\[["']consumer["']\]\s*(?:\.add\(|\|=\s*\{)\s*(\w+)""")


def python_source(nb):
    """The notebook's code cells as one Python text, shell (!) and magic (%) lines dropped."""
    import nbformat

    cells = [c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"]
    lines = "\n".join(cells).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(("!", "%")))


def definitions(source):
    """Imports, functions (undecorated) and classes of ``source`` as a module that starts nothing;
    each class definition kept under its own name (``Name__2`` for the second one), then bound to
    ``Name``.
    """
    body, seen, names = [], {}, {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            body.append(node)
        elif isinstance(node, ast.FunctionDef):
            # decorators would run here (@app.task, @signals.x.connect): the function alone will do
            node.decorator_list = []
            body.append(node)
        elif isinstance(node, ast.ClassDef):
            seen[node.name] = seen.get(node.name, 0) + 1
            original = node.name
            if seen[original] > 1:
                node.name = f"{original}__{seen[original]}"
                alias = ast.parse(f"{original} = {node.name}").body[0]
                body += [node, alias]
            else:
                body.append(node)
            names[node.name] = original
    return ast.unparse(ast.Module(body=body, type_ignores=[])), names


def notebook_steps(nb, tmp_path):
    """(original name, class, blueprint) for every step class the notebook defines."""
    from celery.bootsteps import Step

    source = python_source(nb)
    text, names = definitions(source)
    path = tmp_path / f"nb_{nb.stem}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    # the notebook runs in notebooks/, and notebook 12 puts its project's folder on sys.path
    folders = [str(nb.parent), *(str(d) for d in nb.parent.iterdir() if (d / "proj").is_dir())]
    sys.path[:0] = folders
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.path[: len(folders)]
    consumer = set(CONSUMER.findall(source))
    steps = []
    for name, original in names.items():
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, Step):
            kind = "consumer" if original in consumer or _is_consumer_step(cls) else "worker"
            steps.append((original, cls, kind))
    return steps


def _is_consumer_step(cls):
    from celery.bootsteps import ConsumerStep

    return issubclass(cls, ConsumerStep)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem[:2] for nb in NOTEBOOKS])
def test_no_false_alarm_on_the_notebooks_steps(nb, tmp_path):
    """Every finding on a notebook's step is one of the true ones listed above."""
    number = nb.stem[:2]
    wrong = []
    for name, cls, kind in notebook_steps(nb, tmp_path):
        got = {(f.method, f.kind) for f in check_step(cls, kind)}
        if not got <= TRUE.get((number, name), set()):
            wrong.append(f"{name} ({kind}): {sorted(got)}")
    assert not wrong, f"{nb.name}: findings not known to be true:\n" + "\n".join(wrong)


def test_the_notebooks_define_steps_the_lint_reads(tmp_path):
    """The extraction finds the course's steps (a guard against checking nothing)."""
    found = {nb.stem[:2]: {name for name, _, _ in notebook_steps(nb, tmp_path)} for nb in NOTEBOOKS}
    assert {"TimerTour", "Leaky", "Pulse"} <= found["03"]
    assert "DeadlockDetection" in found["04"]
    assert "ClusterAwareStep" in found["06"]
    assert {"BlockingStart", "LoudStop", "PoolPeek"} <= found["09"]
    assert sum(len(v) for v in found.values()) >= 20, found
