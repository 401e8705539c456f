"""kit.attach: a read-only view of a broker's workers, the kit's join workers and plain `celery
worker`s alike, on a real redis-server with a password."""

import base64
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import redis
from celery import Celery
from test_room import wait_until

import kit
from kit.attached import HINT, READ_ONLY

#: A project's own Celery app, as its authors write it: the broker and key prefix from settings.
PROJECT = textwrap.dedent(
    """
    import os

    from celery import Celery

    app = Celery("proj")
    app.conf.broker_url = os.environ["PROJ_BROKER_URL"]
    if os.environ.get("PROJ_KEYPREFIX"):
        app.conf.broker_transport_options = {"global_keyprefix": os.environ["PROJ_KEYPREFIX"]}


    @app.task
    def add(x, y):
        return x + y
    """
)


def start(argv, log_path, cwd=None, env=None):
    """A worker process in its own process group, its output in `log_path`."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def plain_worker(tmp_path, url, name, prefix="", options=()):
    """`celery -A proj worker` from the project's folder, as its authors start it."""
    (tmp_path / "proj.py").write_text(PROJECT)
    env = dict(os.environ, PROJ_BROKER_URL=url, PROJ_KEYPREFIX=prefix)
    argv = [sys.executable, "-m", "celery", "-A", "proj", "worker", "-n", f"{name}@%h", "-P", "solo"]
    return start([*argv, "-l", "info", *options], tmp_path / f"{name}.log", cwd=tmp_path, env=env)


def join_worker(tmp_path, url, name):
    """`python -m kit worker --broker URL --name NAME`: a worker instrumented by the kit."""
    argv = [sys.executable, "-m", "kit", "worker", "--broker", url, "--name", name]
    return start(argv, tmp_path / f"{name}.log")


def stop(procs):
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_ready(log_path, timeout=90):
    """Until the worker's log says Celery's "<name> ready." (its consumer is running)."""
    wait_until(lambda: " ready." in log_path.read_text(errors="replace"), timeout,
               f"no 'ready.' in {log_path.name}")  # fmt: skip


def named(workers, short):
    return next((n for n in workers if n.split("@")[0] == short), None)


def blueprints_in(recording):
    """The workers whose live blueprint a recording holds."""
    records = [json.loads(line) for line in recording.read_text().splitlines() if line]
    return [r["worker"] for r in records if r.get("kind") == "blueprint"]


def keys_of(url):
    """{(db, key): (type, size)} of every key on the server: list length, set/hash/zset size,
    string length.

    Keys with an expiry are left out: kombu's Redis transport takes and drops its own lock
    (`unacked_mutex`, SET with EX) in every worker's housekeeping, by itself.
    """
    out = {}
    base = url.rsplit("/", 1)[0]
    for db in redis.Redis.from_url(url).info("keyspace"):
        one = redis.Redis.from_url(f"{base}/{db[2:]}")
        sizes = {"list": one.llen, "set": one.scard, "hash": one.hlen, "zset": one.zcard,
                 "string": one.strlen}  # fmt: skip
        for key in one.scan_iter(count=500):
            if one.ttl(key) >= 0:
                continue
            kind = one.type(key).decode()
            out[(db, key.decode())] = (kind, sizes[kind](key) if kind in sizes else None)
        one.close()
    return out


class Monitor:
    """Redis's MONITOR in a thread: every command any client sends, until `stop()`."""

    END = "kit-test-monitor-end"

    def __init__(self, client):
        self.client, self.commands = client, []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "MONITOR did not start"

    def _run(self):
        with self.client.monitor() as monitor:
            self._ready.set()
            while True:
                command = monitor.next_command()["command"]
                if command == f"ECHO {self.END}":
                    return
                self.commands.append(command)

    def stop(self):
        self.client.echo(self.END)
        self._thread.join(10)

    def pidbox_methods(self):
        """The method of every remote-control message published (broadcast or addressed)."""
        methods = []
        for command in self.commands:
            name, _, rest = command.partition(" ")
            if name.upper() == "PUBLISH" and "celery.pidbox" in rest.split(" ", 1)[0]:
                body = re.search(r'"body": "([A-Za-z0-9+/=]+)"', rest).group(1)
                methods.append(json.loads(base64.b64decode(body))["method"])
        return methods

    def pushed(self):
        """The keys any client pushed onto (LPUSH/RPUSH): tasks, and remote-control replies."""
        return [c.split(" ")[1] for c in self.commands if c.split(" ")[0].upper() in ("LPUSH", "RPUSH")]


@pytest.fixture
def workers(shared_redis, tmp_path):
    """A plain `celery worker` of a project and a kit join worker on the shared broker."""
    url = shared_redis.url
    procs = [plain_worker(tmp_path, url, "plain"), join_worker(tmp_path, url, "joined")]
    try:
        wait_ready(tmp_path / "plain.log")
        wait_ready(tmp_path / "joined.log")
        yield procs
    finally:
        stop(procs)


@pytest.mark.redis
@pytest.mark.dot
@pytest.mark.slow
def test_attach_lists_every_worker_shows_the_kit_ones_and_changes_no_key(
    shared_redis, workers, tmp_path, caplog
):
    """An attach session (listing, Celery's inspect commands, the live graph, the dashboard, the
    timeline, a recording) leaves every key on the broker as it was, sends no task and no
    remote-control message but read-only ones; the password shows nowhere.

    Two things of its own touch Redis, and leave no trace: the event feed reads Celery's events by
    PSUBSCRIBE (pub/sub: no key, no queue; its probe event is a PUBLISH; through Sentinel it uses
    Celery's EventReceiver, whose auto-delete fanout binding kombu's Redis channel deletes on
    close), and each inspect's reply queue (`<uuid>.reply.celery.pidbox` and its entry in
    `_kombu.binding.reply.celery.pidbox`) is deleted by kombu once the replies are read
    (`after_reply_message_received`).
    """
    before = keys_of(shared_redis.url)
    assert any("_kombu.binding.celery" in key for _, key in before), before
    monitor = Monitor(redis.Redis.from_url(shared_redis.url))
    caplog.set_level(logging.DEBUG)
    app = Celery("proj")
    try:
        with kit.attach(shared_redis.url, app=app) as view:
            wait_until(lambda: named(view.workers, "plain") and named(view.workers, "joined"), 60,
                       "both workers not listed")  # fmt: skip
            plain, joined = named(view.workers, "plain"), named(view.workers, "joined")
            wait_until(lambda: view.instrumented(joined), 30, "no kit-* event from the join worker")
            assert not view.instrumented(plain) and view.hints() == {plain: f"{plain}: {HINT}"}
            assert "CELERY_LOADER=kit.instrument:Loader" in repr(view)

            # what Celery itself offers, for both
            assert set(view.inspect("stats")) >= {plain, joined}
            assert "proj.add" in view.inspect("registered", [plain])[plain]
            assert view.inspect("active_queues", [plain])[plain][0]["name"] == "celery"
            assert view.inspect("active", [plain]) == {plain: []}
            assert shared_redis.password not in json.dumps(view.inspect("conf", [plain]))
            with pytest.raises(ValueError, match="only reads"):
                view.inspect("hello")

            # the live graph of the instrumented one; the static one of the app; the others refused
            graph = kit.blueprint_graph(view, worker=joined)
            assert "live" in graph.source and "TimerProbe" in graph.source, graph.source[:300]
            assert "Consumer" in kit.blueprint_graph(app).source
            with pytest.raises(kit.ClusterError, match="CELERY_LOADER=kit.instrument:Loader"):
                view.inspect_blueprint(plain)
            assert view.has_blueprint(joined) and not view.has_blueprint(plain)

            # the widgets take it
            dash = kit.Dashboard(view)
            try:
                assert dash.steps.apply_button.disabled and dash.gossip.kill_button.disabled
                assert dash.gossip.stop_button.disabled and dash.gossip.add_button.disabled
                # the graph tab draws the join worker live; the plain one is not offered
                assert dash.graph.drawn == joined and not dash.errors, dash.errors
                assert plain not in str(dash.graph.source.options)
            finally:
                dash.close()
            timeline = kit.Timeline(view, periodic=True)
            try:
                # the join worker's timer fires (Heart, gossip) are drawn; the plain one has none
                wait_until(lambda: timeline.lanes().get(joined, {}).get("fires"), 30,
                           "no timer fire of the join worker on the timeline")  # fmt: skip
                assert not timeline.lanes().get(plain, {}).get("fires")
            finally:
                timeline.close()
            recording = tmp_path / "attach.jsonl"
            with view.record(recording):
                view.events.wait_for("worker-heartbeat", timeout=10, hostname=plain)
                wait_until(lambda: blueprints_in(recording) == [joined], 30,
                           "no live blueprint of the join worker in the recording")  # fmt: skip
            from kit.widgets.card import card_of

            card = card_of(view)
            assert plain in card.html.value and joined in card.html.value
            # one line under the table says how to instrument the plain one (and only it)
            assert card.html.value.count("CELERY_LOADER=kit.instrument:Loader") == 1
            assert f"{plain}: not instrumented" in card.html.value
            texts = [repr(view), view._repr_html_(), card.html.value, recording.read_text()]
            for text in texts:
                assert shared_redis.password not in text
            with pytest.raises(kit.ClusterError, match="read-only"):
                view.shutdown(plain)

        # the recording plays back: both workers, the join worker's live graph
        with kit.replay(recording) as replay:
            replay.seek(replay.duration)
            assert {plain, joined} <= set(replay.all_workers)
            assert "TimerProbe" in kit.blueprint_graph(replay, worker=joined).source

        # nothing was sent to the project's workers but read-only questions
        stats = Celery("check", broker=shared_redis.url).control.inspect([plain], timeout=3).stats()
        assert stats[plain]["total"] == {}, stats
    finally:
        monitor.stop()
    methods = monitor.pidbox_methods()
    assert "stats" in methods and "kit_blueprint" in methods, methods
    assert set(methods) <= {*READ_ONLY, "kit_blueprint"}, methods
    pushed = monitor.pushed()
    assert pushed and all(key.endswith(".reply.celery.pidbox") for key in pushed), pushed
    after = keys_of(shared_redis.url)
    assert after == before, {k: (before.get(k), after.get(k)) for k in before.keys() ^ after.keys() | {
        k for k in before if before[k] != after.get(k)}}  # fmt: skip
    for record in caplog.records:
        assert shared_redis.password not in record.getMessage()


@pytest.mark.redis
@pytest.mark.slow
def test_attach_honours_the_apps_key_prefix_and_the_urls_db(shared_redis, tmp_path):
    """A project on database 3 with `global_keyprefix` 'proj:' is seen with its app's settings
    only: not without the prefix, not on database 0. With control=True, Celery's `shutdown`
    reaches it. Its task events (it runs with -E) come through."""
    url = shared_redis.url.rsplit("/", 1)[0] + "/3"
    proc = plain_worker(tmp_path, url, "prefixed", prefix="proj:", options=["-E"])
    try:
        wait_ready(tmp_path / "prefixed.log")
        app = Celery("proj", broker=url, broker_transport_options={"global_keyprefix": "proj:"})
        theirs = redis.Redis.from_url(url).keys("*")
        assert theirs and all(key.startswith(b"proj:") for key in theirs), theirs
        with kit.attach(None, app=app, control=True) as view:
            assert "prefix 'proj:'" in view.describe() and "/3" in view.describe()
            name = wait_until(lambda: named(view.workers, "prefixed"), 60, "not listed")
            assert view.inspect("ping", [name]) == {name: {"ok": "pong"}}
            # the project sends a task (the view never does): its events are seen
            result = app.send_task("proj.add", (2, 3))
            done = view.events.wait_for("task-succeeded", timeout=30, uuid=result.id)
            assert done["hostname"] == name and done["result"] == "5"
            with kit.attach(url) as bare, kit.attach(shared_redis.url, app=app) as db0:
                # two more heartbeats heard with the right settings, none with the wrong ones
                for _ in range(2):
                    view.events.wait_for("worker-heartbeat", timeout=10, hostname=name,
                                         since=time.time())  # fmt: skip
                assert bare.workers == [] and db0.workers == []
                assert bare.inspect("ping") == {} and db0.inspect("ping") == {}
            view.shutdown(name)
            view.events.wait_for("worker-offline", timeout=30, hostname=name)
            assert proc.wait(timeout=30) == 0
    finally:
        stop([proc])


@pytest.mark.redis
def test_attach_refuses_actions_unless_control_and_never_kills(shared_redis):
    with kit.attach(shared_redis.url) as view:
        assert view.workers == [] and view.state == "attached, read-only"
        for action in ("record", "ping", "inspect"):
            assert view.refusal(action) is None, action
        calls = {
            "stop": lambda: view.stop_worker("w1@h"),
            "shutdown": lambda: view.shutdown("w1@h"),
            "elect": lambda: view.elect("w1@h"),
            "publish": lambda: view.publish({"x": 1}),
        }
        for action, call in calls.items():
            assert "control=True" in view.refusal(action, "w1@h"), action
            with pytest.raises(kit.ClusterError, match="read-only"):
                call()
        assert "not started by this notebook" in view.refusal("kill", "w1@h")
        with pytest.raises(kit.ClusterError, match="not started by this notebook"):
            view.kill_worker("w1@h")
        with pytest.raises(kit.ClusterError, match="owns no worker"):
            view.add_worker()
        with pytest.raises(ValueError, match="'purge'"):
            view.refusal("purge")
    assert view.closed and view.state == "closed"
    with pytest.raises(kit.ClusterError, match="closed"):
        view.inspect("stats")
    with kit.attach(shared_redis.url, control=True) as view:
        for action in ("stop", "shutdown", "publish"):
            assert view.refusal(action, "w1@h") is None, action
        assert "CELERY_LOADER" in view.refusal("elect", "w1@h")
        with pytest.raises(kit.ClusterError, match="no instrumented worker"):
            view.elect()
        assert "view.shutdown(name)" in view.refusal("kill", "w1@h")
        assert view.refusal("restart") is not None


@pytest.mark.redis
def test_attach_says_what_is_wrong_and_hides_the_password(shared_redis):
    with pytest.raises(ValueError, match="broker_url=None"):
        kit.attach(None)
    with pytest.raises(ValueError, match="'localhost:6379'"):
        kit.attach("localhost:6379")
    from kit.attached import Attached

    shared_redis.stop()
    dead = f"redis://:secret-pw@127.0.0.1:{shared_redis.port}/0"
    with pytest.raises(kit.ClusterError) as failed:
        Attached(dead, timeout=2)
    assert "secret-pw" not in str(failed.value) and ":***@" in str(failed.value)
    assert "kit doctor" in str(failed.value)


@pytest.mark.redis
@pytest.mark.slow
def test_attach_shows_instrumented_workers_boot_gossip_and_stop(shared_redis, tmp_path):
    """Join workers started while attached: their lifecycle (each step's start, then its stop),
    their gossip (node_join, node_leave) and their states come through the view."""
    with kit.attach(shared_redis.url, control=True) as view:
        procs = [join_worker(tmp_path, shared_redis.url, name) for name in ("ann", "ben")]
        try:
            ready = [view.events.wait_for("kit-ready", timeout=90, hostname=lambda h, n=n:
                                          h.startswith(f"{n}@")) for n in ("ann", "ben")]  # fmt: skip
            ann, ben = (event["hostname"] for event in ready)
            for name in (ann, ben):
                view.events.wait_for("kit-lifecycle", timeout=10, hostname=name, method="start",
                                     label="Control")  # fmt: skip
                assert view.worker_states.ready(name) and view.instrumented(name)
            view.events.wait_for("kit-gossip", timeout=60, event="node_join", peer=ben,
                                 hostname=ann)  # fmt: skip
            assert view.hints() == {}
            view.stop_worker(ben)
            view.events.wait_for("kit-lifecycle", timeout=30, hostname=ben, method="stop")
            view.events.wait_for("kit-gossip", timeout=60, event="node_leave", peer=ben)
            wait_until(lambda: view.workers == [ann], 30, f"{ben} still listed after it left")
            assert procs[1].wait(timeout=30) == 0
        finally:
            stop(procs)


@pytest.mark.redis
def test_attach_tells_the_kits_workers_by_their_kit_events(shared_redis):
    """A worker is instrumented once a kit-* event of its own arrives; one whose heartbeat came
    GRACE s ago with none since is not (its blueprint is refused then, not after SETTLE s)."""
    from kit.attached import GRACE, SETTLE

    with kit.attach(shared_redis.url) as view:
        now = time.time()
        for name in ("plain@h", "kit@h"):
            view.events.add({"type": "worker-heartbeat", "hostname": name, "timestamp": now,
                             "freq": 2.0})  # fmt: skip
        view.events.add({"type": "kit-timer", "hostname": "kit@h", "timestamp": now})
        assert view.instrumented("kit@h") and not view.instrumented("plain@h")
        assert view.workers == ["kit@h", "plain@h"] and list(view.hints()) == ["plain@h"]
        asked = time.monotonic()
        with pytest.raises(kit.ClusterError, match="plain@h: not instrumented"):
            view.inspect_blueprint("plain@h", timeout=30)
        assert GRACE - 0.1 <= time.monotonic() - asked < SETTLE
        assert view.has_blueprint("kit@h") and not view.has_blueprint("plain@h")
