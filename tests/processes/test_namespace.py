"""Namespaces on a shared Redis: two clusters on one password-protected redis-server never meet."""

import json
import os
import time

import pytest
import redis
from celery import Celery

import kit
from kit.processes import namespace


def test_room_names_are_checked():
    assert namespace.room_prefix("pycon-2026") == "kit.room.pycon-2026:"
    for bad in ("", "has space", "a:b", "-dash", "x" * 41, None):
        with pytest.raises(ValueError, match="room name") as info:
            namespace.check_room(bad)
        assert repr(bad) in str(info.value)


def test_transport_options_keep_the_apps_own():
    assert namespace.transport_options("kit.ab:", {"polling_interval": 0.05}) == {
        "polling_interval": 0.05,
        "global_keyprefix": "kit.ab:",
    }
    assert namespace.transport_options("", {"x": 1}) == {"x": 1}


@pytest.mark.redis
@pytest.mark.slow
def test_two_clusters_on_one_redis_are_private(shared_redis):
    apps = [Celery("alice"), Celery("bob")]
    for app in apps:
        app.steps["consumer"].add(kit.steps.SafeConsumer)
    a = kit.LocalCluster(apps[0], workers=1, broker=shared_redis.url, progress=False)
    b = kit.LocalCluster(apps[1], workers=1, broker=shared_redis.url, progress=False)
    try:
        (wa,), (wb,) = a.workers, b.workers
        assert f"private namespace {a.namespace!r}" in repr(a)
        assert wa != wb and wa.startswith(f"w1-{a.tag}@"), (
            wa,
            wb,
        )  # unique names on a shared broker
        # remote control: each client reaches its own worker only
        assert [name for r in a._client.control.ping(timeout=1.0) for name in r] == [wa]
        assert [name for r in b._client.control.ping(timeout=1.0) for name in r] == [wb]
        assert a.inspect_blueprint(wa)["hostname"] == wa
        # tasks and the result backend
        result = apps[0].send_task("kit.sleep", (0,))
        result.get(timeout=20)
        assert result.state == "SUCCESS"
        done = a.events.wait_for("task-succeeded", timeout=20, uuid=result.id)
        assert done["hostname"] == wa
        # custom consumer messages
        a.publish({"n": 1})
        a.events.wait_for("kit-consumer", timeout=20, outcome="accepted", hostname=wa)
        time.sleep(1.0)
        # events (Celery's and the kit's): neither feed heard the other cluster
        assert not [e for e in b.events.history if e.get("hostname") == wa]
        assert not [e for e in a.events.history if e.get("hostname") == wb]
        assert not [e for e in b.events.history if e.get("type") == "kit-consumer"]
        # every key of the broker and the result backend lives under one of the two prefixes
        keys = redis.Redis(port=shared_redis.port, password=shared_redis.password, db=0).keys()
        keys += redis.Redis(port=shared_redis.port, password=shared_redis.password, db=1).keys()
        assert keys and all(k.decode().startswith((a.namespace, b.namespace)) for k in keys), keys
        assert any(k.decode().startswith(f"{a.namespace}celery-task-meta-") for k in keys), keys
    finally:
        a.close()
        b.close()
    assert (
        apps[0].conf.broker_transport_options == {} and apps[0].conf.task_default_queue == "celery"
    )


@pytest.mark.redis
def test_embedded_cluster_needs_no_namespace(shared_cluster):
    assert shared_cluster.namespace == "" and shared_cluster.room is None
    assert all("-" not in name.split("@")[0] for name in shared_cluster.workers), (
        shared_cluster.workers
    )


#: Appended to each notebook: what its last cluster heard (its tag, and every worker's hostname).
HEARD = (
    "import json\n"
    "print(json.dumps({'tag': cluster.tag, 'hosts': sorted({e['hostname'] for e in cluster.events.history "
    "if e.get('type', '').startswith('worker-')})}))"
)


def _run_notebook(name, env_url):
    import pathlib

    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell
    from test_notebooks import NOTEBOOK_DIR, NOTEBOOK_TIMEOUT, failures, read

    nb = read(next(pathlib.Path(NOTEBOOK_DIR).glob(f"{name}_*.ipynb")))
    nb.cells.append(new_code_cell(HEARD))
    client = NotebookClient(
        nb, timeout=NOTEBOOK_TIMEOUT, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute(env=dict(os.environ, KIT_BROKER_URL=env_url))
    errors, tracebacks = failures(nb)
    assert not errors and not tracebacks, (
        f"{name} with KIT_BROKER_URL: {errors}, tracebacks in {tracebacks}"
    )
    return json.loads(nb.cells[-1].outputs[0]["text"])


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_kernels_on_one_redis_never_see_each_other(shared_redis):
    """Two people on one JupyterHub with one KIT_BROKER_URL, each running notebooks 04 and 06 at once."""
    from concurrent.futures import ThreadPoolExecutor

    def person(_):
        return [_run_notebook(name, shared_redis.url) for name in ("04", "06")]

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(person, range(2))
    heard = first + second
    assert len({h["tag"] for h in heard}) == 4, heard  # four clusters, four namespaces
    for h in heard:
        assert h["hosts"], f"cluster {h['tag']} heard no worker at all"
        strangers = [host for host in h["hosts"] if f"-{h['tag']}@" not in host]
        assert not strangers, f"cluster {h['tag']} heard workers of another cluster: {strangers}"
