"""Each exercise's check rejects the wrong answers a learner gives, and passes the right one.

The wrong answers live in `wrong_answers/<notebook>.py`: a dict `WRONG` from the exercise's number
(1 for the notebook's first collapsed solution cell) to `(why, code, says)` tuples. `code` stands in
for the solution cell; the check cell that follows must then raise, with `says` in its message. The
notebook runs in one kernel, top to bottom: at each exercise every wrong answer is tried first, then
the solution and its check, which must pass, and the notebook goes on.
"""

import importlib.util
import pathlib

import nbformat
import pytest
from test_notebooks import NOTEBOOK_DIR, NOTEBOOKS, code_cells, hidden

WRONG_DIR = pathlib.Path(__file__).resolve().parent / "wrong_answers"
#: Seconds for one notebook with every wrong answer tried (each may restart the cluster).
TIMEOUT = 600


def wrong_answers(path):
    """The notebook's WRONG dict, or {} when it has no file of wrong answers."""
    source = WRONG_DIR / f"{path.stem}.py"
    if not source.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{path.stem[:2]}", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


def exercises(path):
    """Index (among code cells) of each collapsed solution cell, in order."""
    return [i for i, cell in enumerate(code_cells(nbformat.read(path, 4))) if hidden(cell)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_two_wrong_answers(path):
    wrong = wrong_answers(path)
    count = len(exercises(path))
    assert set(wrong) <= set(range(1, count + 1)), f"{path.name} has exercises 1..{count}: {wrong}"
    thin = [n for n in range(1, count + 1) if len(wrong.get(n, ())) < 2]
    assert not thin, (
        f"{path.name}: exercises {thin} need at least two wrong answers in "
        f"tests/course/wrong_answers/{path.stem}.py"
    )


def run_with_wrong_answers(path, wrong):
    """Run the notebook in one kernel; return (exercise, why, problem) for each check that erred."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, 4)
    client = NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )  # fmt: skip
    cells = code_cells(nb)
    where = [k for k, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    solutions = exercises(path)
    problems = []

    def run(source):
        """Run code that is not in the notebook, as a cell appended to it (nbclient wants one)."""
        nb.cells.append(nbformat.v4.new_code_cell(source))
        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)

    with client.setup_kernel():
        for i, cell in enumerate(cells):
            if i in solutions:
                number = solutions.index(i) + 1
                for why, code, says in wrong.get(number, ()):
                    run(code)
                    try:
                        run(cells[i + 1].source)
                    except CellExecutionError as exc:
                        if says not in str(exc):
                            problems.append((number, why, f"rejected, without {says!r}: {exc}"))
                    else:
                        problems.append((number, why, "accepted by the check"))
            client.execute_cell(cell, where[i])
    return problems


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if wrong_answers(p)], ids=lambda p: p.stem
)
def test_checks_reject_wrong_answers_and_pass_the_solution(path, redis_server):
    problems = run_with_wrong_answers(path, wrong_answers(path))
    assert not problems, "\n".join(f"exercise {n}, {why}: {what}" for n, why, what in problems)
