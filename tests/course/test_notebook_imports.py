"""What the notebooks import, every way to install the kit installs: pyproject, environment.yml, binder/."""

import ast
import functools
import importlib.metadata
import re
import sys

import pytest
from packaging.requirements import Requirement
from test_distribution import CONDA_NAMES, ROOT, conda_deps, tomllib
from test_notebooks import NOTEBOOK_DIR, NOTEBOOKS, code_cells, read

#: ``python -m NAME`` run by a cell: ``!{sys.executable} -m NAME`` or ``[sys.executable, "-m", "NAME"``.
RUN_MODULE = (
    re.compile(r"^\s*!\{sys\.executable\}\s+-m\s+([A-Za-z_][\w.]*)", re.M),
    re.compile(r"""sys\.executable\s*,\s*["']-m["']\s*,\s*["']([A-Za-z_][\w.]*)["']"""),
)
ENVIRONMENTS = ("environment.yml", "binder/environment.yml")
#: Modules that live beside the notebooks (notebook 12's own_project/ and its proj package): the
#: course's own files, not dependencies.
LOCAL = {p.stem for p in NOTEBOOK_DIR.glob("*") if p.is_dir() or p.suffix == ".py"} | {
    p.name for p in NOTEBOOK_DIR.glob("*/*") if (p / "__init__.py").is_file()
}


def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def python_source(cell):
    """A code cell as Python: shell (``!``) and magic (``%``) lines dropped, a ``%%writefile`` body kept."""
    return "\n".join(
        line for line in cell.source.splitlines() if not line.lstrip().startswith(("!", "%"))
    )


def modules(source):
    """Top-level modules that the Python ``source`` imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@functools.cache
def notebook_modules():
    """``module -> notebooks`` for every third-party module the notebooks use (stdlib left out)."""
    used = {}
    for path in NOTEBOOKS:
        for cell in code_cells(read(path)):
            for name in modules(python_source(cell)) | modules_run(cell.source):
                if name not in sys.stdlib_module_names and name not in LOCAL:
                    used.setdefault(name, set()).add(path.stem)
    return used


def modules_run(source):
    """Top-level modules that ``source`` runs with ``python -m``."""
    return {m.split(".")[0] for pattern in RUN_MODULE for m in pattern.findall(source)}


def closure(requirement):
    """Normalized names of the distributions installing ``requirement`` brings (itself and all it needs)."""
    seen, todo = set(), [Requirement(requirement)]
    while todo:
        req = todo.pop()
        if normal(req.name) in seen:
            continue
        seen.add(normal(req.name))
        try:
            needs = importlib.metadata.requires(req.name) or ()
        except importlib.metadata.PackageNotFoundError:  # not for this platform or Python
            continue
        for text in needs:
            dep = Requirement(text)
            wanted = [{"extra": extra} for extra in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in wanted):
                todo.append(dep)
    return seen


@pytest.fixture(scope="module")
def provided():
    """``root requirement name -> distributions it installs`` for pyproject's dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = {}
    for text in project["dependencies"]:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate():
            roots[req.name] = closure(text)
    return roots


def distributions(module):
    dists = importlib.metadata.packages_distributions().get(module)
    assert dists, (
        f"the notebooks import {module!r}, which nothing installed provides: add it to pyproject.toml"
    )
    return {normal(d) for d in dists}


def test_the_scan_finds_imports_magics_and_python_dash_m():
    cell = "%%writefile {d}/t.py\nimport kit.steps\nfrom celery import Celery\nfrom . import x\n"
    assert modules(python_source(type("C", (), {"source": cell}))) == {"kit", "celery"}
    assert modules_run("!{sys.executable} -m kit doctor") == {"kit"}
    assert modules_run('print(f"or {sys.executable} -m pip install flower")') == set()
    assert modules_run('subprocess.run([sys.executable, "-m", "pytest", "-q"])') == {"pytest"}


def test_every_module_the_notebooks_use_is_a_kit_dependency(provided):
    used = notebook_modules()
    assert {"kit", "celery", "pytest"} <= set(used), sorted(used)
    everything = set().union(*provided.values())
    for module, where in sorted(used.items()):
        if module == "kit":
            continue
        missing = distributions(module) - everything
        assert len(missing) < len(distributions(module)), (
            f"{sorted(where)} use {module!r} ({', '.join(sorted(missing))}), which pyproject.toml's "
            "dependencies do not install: a runtime-only install (Docker, Binder, pip install .) lacks it"
        )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_module_the_notebooks_use_is_in_the_conda_environment(provided, environment):
    conda = conda_deps(ROOT / environment)
    for module, where in sorted(notebook_modules().items()):
        if module == "kit":
            continue
        roots = {root for root, dists in provided.items() if distributions(module) & dists}
        via = {root: CONDA_NAMES.get(root, set()) for root in roots}
        assert any(names and names <= set(conda) for names in via.values()), (
            f"{sorted(where)} use {module!r}, which {environment} does not install (it comes with "
            f"{sorted(roots) or 'nothing'} on pip; conda packages {via}): add the conda package there"
        )
