"""Notebook 12 owns what it starts: its project's broker and workers are gone, and so is its copy."""

import os
import pathlib
import re

import nbformat
import pytest
from test_notebooks import NOTEBOOK_DIR, NOTEBOOK_TIMEOUT, failures

pytestmark = [pytest.mark.slow, pytest.mark.redis]

PATH = NOTEBOOK_DIR / "12_explore_your_own_project.ipynb"


def files(folder):
    """Every file under `folder`, bytecode caches left out."""
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def processes_in(folder):
    """(pid, command line) of every process whose command line or working folder is in `folder`."""
    found = []
    for proc in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append((int(proc.name), cmdline))
    return found


def output(cell):
    """What a cell printed on stdout."""
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
def test_it_leaves_no_process_and_no_file_and_reports_the_hang_at_its_line(tmp_path, redis_server):
    from nbclient import NotebookClient

    temp = tmp_path / "tmp"
    temp.mkdir()
    before = files(NOTEBOOK_DIR)
    nb = nbformat.read(PATH, 4)
    client = NotebookClient(
        nb, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )  # fmt: skip
    client.execute(env=dict(os.environ, TMPDIR=str(temp)))
    assert failures(nb) == ([], [])
    # the report names the project's own file and the line where stop() waits
    cell = next(c for c in nb.cells if c.cell_type == "code" and "kit-stuck" in c.source)
    where = re.search(r"stuck in Flusher\.stop for \d+ s at (\S+):(\d+)", output(cell))
    assert where, output(cell)
    path, line = where.groups()
    assert path.startswith(str(temp)) and path.endswith("proj/flusher.py")
    flusher = (NOTEBOOK_DIR / "own_project" / "proj" / "flusher.py").read_text().splitlines()
    assert flusher[int(line) - 1].strip() == "self.thread.join()"
    # its last cell stopped everything: no process in its folder, no folder, no new file here
    assert processes_in(temp) == []
    assert list(temp.iterdir()) == [], f"left in its temporary folder: {list(temp.iterdir())}"
    assert files(NOTEBOOK_DIR) == before, f"new files: {sorted(files(NOTEBOOK_DIR) - before)}"
