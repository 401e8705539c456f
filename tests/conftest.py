"""Shared fixtures: one session-scoped cluster; outside programs skip locally and fail under CI."""

import os
import pathlib
import shutil
import sys

import pytest

#: Helpers some tests share with another folder's tests (the notebook runner of tests/course, the
#: polling of tests/widgets); tests/ itself is on sys.path as this file's folder.
HERE = pathlib.Path(__file__).resolve().parent
sys.path[1:1] = [str(HERE / "course"), str(HERE / "widgets")]

IN_CI = bool(os.environ.get("CI"))


def need_program(name, finder=None):
    """Skip (locally) or fail (under CI) when an outside program is missing."""
    found = finder() if finder else shutil.which(name)
    if not found:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message}, and CI must have it (.ci/run installs it)")
        pytest.skip(message)
    return found


def pytest_addoption(parser):
    parser.addoption(
        "--runtime-env",
        action="store_true",
        help="run the tests that need .venv-runtime, the kit as docker/Dockerfile installs it (built once)",
    )


@pytest.fixture(scope="session")
def runtime_python(request):
    """The python of .venv-runtime (tests/runtime_env.py); those tests run with --runtime-env only."""
    if not request.config.getoption("--runtime-env"):
        pytest.skip("needs the runtime-only venv: make test-runtime (pytest --runtime-env) runs it")
    from runtime_env import runtime_python

    return runtime_python()


@pytest.fixture(scope="session")
def redis_server():
    from kit.processes.broker import find_redis_server

    return need_program("redis-server", find_redis_server)


@pytest.fixture(scope="session")
def shared_cluster(redis_server):
    """One cluster for the read-mostly integration tests: 2 workers with the test steps installed."""
    import kit_test_steps as s
    from celery import Celery

    import kit

    app = Celery("kit-shared")
    app.steps["worker"].add(s.Recorder)
    app.steps["worker"].add(s.Ticker)
    app.steps["worker"].add(s.FastDeadlock)
    app.steps["consumer"].add(kit.steps.SafeConsumer)
    app.steps["consumer"].add(kit.steps.ClusterAwareStep)
    cluster = kit.LocalCluster(
        app, workers=2, progress=False, worker_options={"kit_greeting": "hello"}
    )
    yield cluster
    cluster.close()


@pytest.fixture
def shared_redis(redis_server, tmp_path):
    """A real redis-server with a password that no cluster started: a workshop's shared broker."""
    from kit.processes.broker import EmbeddedRedis

    server = EmbeddedRedis(str(tmp_path)).start()
    yield server
    server.stop()


#: Target for the whole set of notebooks, reported (not enforced: a loaded machine is slower).
NOTEBOOK_SET_BUDGET = 300


@pytest.fixture
def report(record_property):
    """Records a notebook's run time as the test's `notebook_seconds` property, summed up below (it
    reaches the summary under pytest-xdist too, which sends properties back with each report).
    """
    return lambda seconds: record_property("notebook_seconds", seconds)


def pytest_terminal_summary(terminalreporter):
    """Each notebook's run time (the `notebook_seconds` property its test recorded), per test file."""
    runs = {}
    for report in terminalreporter.stats.get("passed", []):
        for key, seconds in report.user_properties:
            if key == "notebook_seconds":
                where, _, name = report.nodeid.partition("::")
                runs.setdefault(where, []).append((name.partition("[")[2].rstrip("]"), seconds))
    for where, times in sorted(runs.items()):
        terminalreporter.section(f"notebook run times ({where})")
        for name, seconds in sorted(times):
            terminalreporter.write_line(f"{name:32s} {seconds:6.1f} s")
        total = sum(seconds for _, seconds in times)
        terminalreporter.write_line(
            f"{'total, ' + str(len(times)) + ' notebooks':32s} {total:6.1f} s "
            f"(target: the set within {NOTEBOOK_SET_BUDGET} s)"
        )


pytest_plugins = ["pytester"]


def in_a_thread(fn):
    """Run `fn()` in a thread of its own and return what it returns (or raise what it raised).

    Playwright's sync API refuses a thread where an asyncio loop runs, and an earlier test in the
    same process (a kernel client, nbclient) may have left one running in the main thread.
    """
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def pytest_configure(config):
    """Import every public kit module before any test starts a thread.

    The kit is a pytest plugin, so pytest rewrites its modules' asserts as they are imported, with
    `ast.parse`; the CPython 3.11.7 here fails with "AST constructor recursion depth mismatch"
    when that parse meets a `compile()` in another thread (a widget's redraw thread compiling a
    Jinja template): a kit module imported lazily in the middle of a test (`kit.attach`) did.
    """
    import importlib

    import kit

    # the modules only: a first kit.LocalCluster lookup would start the fork server too
    for target in set(kit._EXPORTS.values()):
        importlib.import_module(target.partition(":")[0])
