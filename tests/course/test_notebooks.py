"""The guided notebooks: committed clean, shaped as STYLE.md asks; each runs top to bottom on real workers."""

import pathlib
import re
import time

import nbformat
import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]

#: Headings every notebook has (STYLE.md, Notebooks).
HEADINGS = (
    "What you'll do",
    "What you'll learn",
    "What you'll need",
    "On your own",
    "In practice",
    "Further reading",
)
#: Seconds one notebook may take, start to end (the whole set should stay within 5 minutes).
NOTEBOOK_TIMEOUT = 240


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def headings(nb):
    return [
        line.lstrip("#").strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]


def hidden(cell):
    return bool(cell.metadata.get("jupyter", {}).get("source_hidden"))


def failures(nb):
    """Code cells (by index among all cells) with an error output or a traceback printed to stderr.

    Anything else on stderr is fine: the kit's StepWarnings (its diagnosis of a step) appear there on
    purpose, as do Celery's and the kit's log lines.
    """
    errors = [
        (i, out.ename, out.evalue)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    tracebacks = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream"
        and out.name == "stderr"
        and "Traceback (most recent call last)" in out.text
    ]
    return errors, tracebacks


def test_the_set_is_numbered_00_to_12():
    assert [path.name[:2] for path in NOTEBOOKS] == [f"{i:02d}" for i in range(13)], [
        p.name for p in NOTEBOOKS
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = read(path)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts: clear them before committing"
    )
    assert "widgets" not in nb.metadata, (
        f"{path.name}: saved widget state in the notebook's metadata"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_structure(path):
    nb = read(path)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"# [A-Z][a-z]+ ", first.source), (
        f"{path.name}: the first cell should be the title, a verb phrase: '# Verb ...'"
    )
    found = headings(nb)
    missing = [h for h in HEADINGS if not any(text.startswith(h) for text in found)]
    assert not missing, f"{path.name}: missing headings {missing}"
    assert any(text.startswith("Exercise") for text in found), (
        f"{path.name}: no '## Exercise: ...' section"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_have_a_hidden_solution_then_a_check(path):
    cells = code_cells(read(path))
    solutions = [i for i, cell in enumerate(cells) if hidden(cell)]
    assert solutions, f"{path.name}: no collapsed solution cell (metadata jupyter.source_hidden)"
    for i in solutions:
        assert i > 0 and not hidden(cells[i - 1]), (
            f"{path.name}: a solution must follow a starter cell"
        )
        check = cells[i + 1].source if i + 1 < len(cells) else ""
        assert check.startswith("# Check") and re.search(r"\bassert\b|AssertionError", check), (
            f"{path.name}: the cell after a solution should be a '# Check' cell that asserts"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ends_by_closing_its_cluster(path):
    cells = code_cells(read(path))
    assert cells[-1].source.rstrip().endswith("cluster.close()"), (
        f"{path.name}: the last cell must close the cluster"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_cells_are_short(path):
    cells = code_cells(read(path))
    short = [cell for cell in cells if len(cell.source.splitlines()) < 10]
    assert len(short) * 2 > len(cells), f"{path.name}: most code cells should be under 10 lines"


def test_a_step_warning_is_not_a_failure_but_a_traceback_is():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    warning = (
        "kit/cluster.py:44: StepWarning: MyWorkerStep.stop: logs or prints; it may run in a "
        "signal handler, where logging can deadlock.\n  self._check_steps()\n"
    )
    traceback = (
        "Exception in thread x:\nTraceback (most recent call last):\n  ...\nValueError: boom\n"
    )
    nb = new_notebook(
        cells=[
            new_code_cell(
                "cluster = kit.LocalCluster(app)",
                outputs=[new_output("stream", name="stderr", text=warning)],
            ),
            new_code_cell(
                "print(1)", outputs=[new_output("stream", name="stderr", text=traceback)]
            ),
            new_code_cell(
                "1 / 0",
                outputs=[
                    new_output(
                        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[]
                    )
                ],
            ),
        ]
    )
    errors, tracebacks = failures(nb)
    assert errors == [(2, "ZeroDivisionError", "division by zero")]
    assert tracebacks == [1]


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 30)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_top_to_bottom(path, redis_server, report):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = read(path)
    client = NotebookClient(
        nb,
        timeout=NOTEBOOK_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    before = recordings()
    start = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:  # the first cell that raised
        pytest.fail(f"{path.name} stopped at an error:\n{exc}")
    elapsed = time.monotonic() - start
    report(elapsed)
    errors, tracebacks = failures(nb)
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    assert not tracebacks, f"{path.name}: tracebacks printed to stderr in cells {tracebacks}"
    assert elapsed < NOTEBOOK_TIMEOUT, f"{path.name} took {elapsed:.0f} s"
    litter = sorted(recordings() - before)
    assert not litter, f"{path.name} left recordings in notebooks/: {litter}"


def recordings():
    """Names of the recordings (`*.jsonl`, `*.jsonl.gz`) in notebooks/: a run must leave none."""
    return {p.name for pattern in ("*.jsonl", "*.jsonl.gz") for p in NOTEBOOK_DIR.glob(pattern)}
