"""The compose stack without Docker, as the README tells it: a Redis with a password, three join workers
in the room, and every notebook run with KIT_BROKER_URL set, the kit installed as docker/Dockerfile does."""

import os
import re
import shlex
import signal
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from runtime_env import runtime_env
from test_notebooks import IDS, NOTEBOOK_TIMEOUT, NOTEBOOKS, failures, read
from test_runtime_notebooks import run, runtime_kernel  # noqa: F401  (runtime_kernel: a fixture)

import kit
from kit.join_address import PUBLIC_ENV
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
    """redis (password required) + `python -m kit worker --room workshop` x3: {url, env, workers};
    ``env`` is the lab's (its KIT_PUBLIC_HOST as compose sets it when REDIS_BIND is not set).
    """
    where = tmp_path_factory.mktemp("stack")
    server = EmbeddedRedis(str(where)).start()
    env = dict(runtime_env(runtime_python), KIT_BROKER_URL=server.url, KIT_ROOM=ROOM)
    env.pop(PUBLIC_ENV, None)
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
        lab = dict(env, **{PUBLIC_ENV: f"127.0.0.1:{server.port}"})
        yield {"url": server.url, "env": lab, "workers": workers, "logs": where}
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
    for text in join_outputs(nb):
        assert text.startswith("Attendees can't join from their laptops"), text
        assert "REDIS_BIND=" in text, text
    dead = [name for name, proc in stack["workers"].items() if proc.poll() is not None]
    assert not dead, f"join workers {dead} exited while {path.name} ran (logs in {stack['logs']})"


def test_the_join_workers_still_answer(stack):
    with kit.Room(stack["url"], ROOM) as room:
        assert len(joined(room, timeout=30)) == len(JOINERS)


def join_outputs(nb):
    """What each cell that prints `room.join_command()` printed (notebook 11's "what attendees
    type"), '' for such a cell that printed nothing.
    """
    return [
        "".join(
            out.text
            for out in cell.get("outputs", [])
            if out.output_type == "stream" and out.name == "stdout"
        )
        for cell in nb.cells
        if cell.cell_type == "code" and "join_command()" in cell.source
    ]


#: What the lab prints, as notebook 11 does: the join command, then the one with the password.
LAB_PRINTS = (
    "import kit; room = kit.Room(); print(room.join_command()); print('@@'); "
    "print(room.join_command(name='attendee', password=True)); room.close()"
)


def in_the_lab(runtime_python, env, *args):
    """Run the runtime venv's python with ``args`` in the lab's environment ``env``; its stdout."""
    run = subprocess.run(
        [str(runtime_python), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode in (0, 1), f"{shlex.join(args)} failed:\n{run.stderr[-3000:]}"
    return run.stdout


def doctor_row(text):
    """The doctor's *join address* row, without its mark and name."""
    rows = re.findall(r"^(?:ok|warn) +join address +(.*)$", text, re.M)
    assert len(rows) == 1, text
    return rows[0].strip()


#: The address REDIS_BIND publishes, as the lab is told it: a documentation address (TEST-NET-2,
#: RFC 5737). No packet goes there: the tests send traffic to loopback only.
PUBLISHED_HOST = "198.51.100.7"


def stop(proc):
    """Stop a join worker gracefully (SIGTERM: Celery's warm shutdown); SIGKILL after 60 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.timeout(240)
def test_with_the_published_address_attendees_type_a_command_that_joins(stack, runtime_python):
    """The lab prints the published host:port; the command, pasted with the password, joins.

    On a laptop the published address reaches Redis through Docker's port publishing; here the
    attendee's command runs with that host replaced by 127.0.0.1 (the same port, password, db, room
    and name), so nothing is sent beyond this machine's loopback.
    """
    public = f"{PUBLISHED_HOST}:{urlsplit(stack['url']).port}"
    env = dict(stack["env"], **{PUBLIC_ENV: public})
    shown, secret = in_the_lab(runtime_python, env, "-c", LAB_PRINTS).split("\n@@\n")
    assert shown.startswith("python -m kit worker --broker "), shown
    broker = urlsplit(shlex.split(shown)[shlex.split(shown).index("--broker") + 1])
    assert f"{broker.hostname}:{broker.port}" == public and broker.password == "***", shown
    assert shown.strip().endswith(f"--room {ROOM} --name YOUR_NAME")
    assert doctor_row(in_the_lab(runtime_python, env, "-m", "kit", "doctor")) == shown.strip()

    # an attendee pastes the command (with the password): no KIT_* setting of the stack's
    laptop = {k: v for k, v in env.items() if not k.startswith("KIT_")}
    pasted = secret.replace(f"@{public}/", f"@127.0.0.1:{public.rpartition(':')[2]}/")
    assert pasted != secret, secret
    argv = [str(runtime_python), *shlex.split(pasted)[1:]]
    with open(stack["logs"] / "attendee.log", "wb") as log:
        attendee = subprocess.Popen(
            argv,
            env=laptop,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        with kit.Room(stack["url"], ROOM) as room:
            deadline = time.monotonic() + 120
            while not any(n.startswith("attendee@") for n in room.ping(timeout=1.0)):
                assert attendee.poll() is None, f"the attendee exited (see {log.name})"
                assert time.monotonic() < deadline, "the attendee did not join within 120 s"
    finally:
        stop(attendee)


def test_without_a_published_address_the_lab_says_what_to_set(stack, runtime_python):
    shown, _ = in_the_lab(runtime_python, stack["env"], "-c", LAB_PRINTS).split("\n@@\n")
    assert shown.startswith(
        "Attendees can't join from their laptops: the broker's host 127.0.0.1 is"
    )
    assert "REDIS_BIND=<this machine's LAN address> in .env" in shown
    row = doctor_row(in_the_lab(runtime_python, stack["env"], "-m", "kit", "doctor"))
    assert "laptops can't use it" in row and "127.0.0.1 is loopback" in row
