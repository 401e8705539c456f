"""The compose stack without Docker, as the README tells it: a Redis with a password, three join workers
in the room, and every notebook run with KIT_BROKER_URL set, the kit installed as docker/Dockerfile does."""

import os
import signal
import subprocess

import pytest
from runtime_env import runtime_env
from test_notebooks import IDS, NOTEBOOK_TIMEOUT, NOTEBOOKS, failures, read
from test_runtime_notebooks import run, runtime_kernel  # noqa: F401  (runtime_kernel: a fixture)

import kit
from kit.processes.broker import EmbeddedRedis

# one xdist process runs the module in order: one stack, every notebook, then the workers' check
pytestmark = [
    pytest.mark.slow,
    pytest.mark.runtime,
    pytest.mark.redis,
    pytest.mark.xdist_group("workshop"),
]

#: The room docker-compose.yml's worker and lab services use (KIT_ROOM).
ROOM = "workshop"
JOINERS = ("worker1", "worker2", "worker3")


@pytest.fixture(scope="module")
def stack(runtime_python, redis_server, tmp_path_factory):
    """redis (password required) + `python -m kit worker --room workshop` x3: {url, env, workers}."""
    where = tmp_path_factory.mktemp("stack")
    server = EmbeddedRedis(str(where)).start()
    env = dict(runtime_env(runtime_python), KIT_BROKER_URL=server.url, KIT_ROOM=ROOM)
    workers = {}
    try:
        for name in JOINERS:
            with open(where / f"{name}.log", "wb") as log:
                workers[name] = subprocess.Popen(
                    [
                        str(runtime_python),
                        "-m",
                        "kit",
                        "worker",
                        "--name",
                        name,
                        "--steps",
                        "lifecycle",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        with kit.Room(server.url, ROOM) as room:
            joined(room, timeout=90)
        yield {"url": server.url, "env": env, "workers": workers, "logs": where}
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        server.stop()


def joined(room, timeout):
    """Wait until the three join workers answer a ping in the room; returns their names."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = room.ping(timeout=1.0)
        if sorted(n.split("@")[0] for n in names) == list(JOINERS):
            return names
    raise AssertionError(f"the join workers did not all answer in room {ROOM!r} within {timeout} s")


@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_notebook_runs_clean_beside_join_workers(path, stack, runtime_kernel, runtime_python):  # noqa: F811
    from nbclient.exceptions import CellExecutionError

    nb = read(path)
    try:
        run(nb, runtime_kernel, runtime_python, env=stack["env"])
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} stopped at an error with KIT_BROKER_URL set:\n{exc}")
    errors, tracebacks = failures(nb)
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    assert not tracebacks, f"{path.name}: tracebacks printed to stderr in cells {tracebacks}"
    dead = [name for name, proc in stack["workers"].items() if proc.poll() is not None]
    assert not dead, f"join workers {dead} exited while {path.name} ran (logs in {stack['logs']})"


def test_the_join_workers_still_answer(stack):
    with kit.Room(stack["url"], ROOM) as room:
        assert len(joined(room, timeout=30)) == len(JOINERS)
