"""What notebooks 06 to 11 teach about Celery (gossip, shutdown, events, pool children), on real workers.

Each test pins one claim the course makes, on whichever Celery is installed: `make
test-oldest-celery` runs this file on the oldest release the kit claims, `make test` on the newest.
"""

import os
import signal
import sys
import time

import pytest
from celery import Celery, bootsteps, signals
from celery.utils import log

import kit
from kit.events.telemetry import emit

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.xdist_group("claims-gossip")]

#: Heartbeat interval (Celery's `freq`) and gossip check interval the tests' workers use.
FREQ, CHECK = 0.5, 0.25
#: Seconds a busy 2-core machine may add to a measurement (delivery, a late event loop).
SLACK = 1.0


class QuickGossip(bootsteps.Step):
    """Heartbeat every FREQ s and check for lost peers every CHECK s, with Celery's own rule."""

    requires = {"celery.worker.consumer.heart:Heart", "celery.worker.consumer.gossip:Gossip"}

    def create(self, c):
        c.blueprint.steps["celery.worker.consumer.heart.Heart"].heartbeat_interval = FREQ
        c.gossip.interval = CHECK


class WhereStopRuns(bootsteps.StartStopStep):
    """Reports, from stop and terminate, whether they run inside Celery's shutdown signal handler."""

    requires = {"celery.worker.components:Pool"}

    def start(self, worker):
        signals.worker_shutting_down.connect(shutting_down, weak=False)

    def stop(self, worker):
        report_where("stop")

    def terminate(self, worker):
        report_where("terminate")


def report_where(what):
    """Emit whether this call runs inside Celery's shutdown signal handler (flag and stack)."""
    frames, frame = [], sys._getframe()
    while frame is not None:
        frames.append(frame.f_code.co_name)
        frame = frame.f_back
    # _handle_request: the handler celery.apps.worker installs for SIGTERM/SIGQUIT/SIGINT
    on_stack = "_handle_request" in frames
    emit("where", what=what, in_sighandler=bool(log._in_sighandler), handler_on_stack=on_stack,
         safe=False)  # fmt: skip


def shutting_down(**kwargs):
    """A worker_shutting_down receiver: it runs inside the signal handler."""
    report_where("worker_shutting_down")


@pytest.fixture(scope="module")
def gossip_cluster(redis_server):
    """Three workers (task events on, as the kit runs them) with Celery's own gossip rule at
    FREQ/CHECK, the stop reporter and the event sender."""
    app = Celery("claims")
    app.steps["consumer"].add(QuickGossip)
    app.steps["worker"].add(WhereStopRuns)
    app.steps["consumer"].add(SendsOwnEvents)
    with kit.LocalCluster(app, workers=3, gossip="celery-default", progress=False) as cluster:
        yield cluster


def heard_by_all(cluster, name, since, timeout=30):
    """Wait until every other worker's gossip has reported `name` joining."""
    for peer in cluster.workers:
        if peer != name:
            cluster.events.wait_for(
                "kit-gossip", event="node_join", peer=name, hostname=peer, since=since,
                timeout=timeout,
            )  # fmt: skip


def test_two_requesters_the_first_request_by_lamport_clock_is_elected(gossip_cluster):
    c = gossip_cluster
    w1, w2, _ = sorted(c.workers)
    since = time.time()
    election = c.elect(w2)
    first = c.events.wait_for(
        "kit-gossip", event="elected", election=election, hostname=w2, timeout=30
    )
    # w2 heard only its own request when it decided: the requester wins an election alone
    assert first["leader"] == w2
    # w2's later heartbeats carry a clock past its request's; w1 adjusts its own to it
    c.events.wait_for("worker-heartbeat", hostname=w2, since=first["timestamp"] + FREQ, timeout=10)
    # ... once w1 has read it too
    time.sleep(0.5)
    c.elect(w1, election=election)
    second = c.events.wait_for(
        "kit-gossip", event="elected", election=election, hostname=w1, timeout=30
    )
    acks = [
        e
        for e in c.events.history
        if e["type"] == "kit-gossip" and e.get("event") == "elect-ack"
        and e.get("election") == election and e["hostname"] == w1
    ]  # fmt: skip
    clocks = {e["requested_by"]: e["request_clock"] for e in acks}
    assert set(clocks) == {w1, w2} and clocks[w2] < clocks[w1]
    # w1 requested too, but the first request by Lamport clock is w2's: w1 does not win
    assert second["leader"] == w2
    time.sleep(1.0)
    won = [
        e
        for e in c.events.history
        if e["type"] == "kit-gossip" and e.get("event") == "won" and e["timestamp"] >= since
    ]
    assert [e["hostname"] for e in won] == [w2]


def test_a_killed_worker_is_lost_within_celerys_window(gossip_cluster):
    c = gossip_cluster
    since = time.time()
    victim = c.add_worker()
    heard_by_all(c, victim, since)
    c.events.wait_for("worker-heartbeat", hostname=victim, since=time.time(), timeout=10)
    killed_at = time.time()
    c.kill_worker(victim)
    for peer in c.workers:
        lost = c.events.wait_for(
            "kit-gossip", event="node_lost", peer=victim, hostname=peer, timeout=30
        )
        latency = lost["timestamp"] - killed_at
        # alive until its last heartbeat + 2 x freq; noticed at the next check
        assert FREQ - 0.2 < latency < 2 * FREQ + CHECK + SLACK, (peer, latency)


def test_stop_runs_on_the_main_loop_after_the_signal_handler_returned(gossip_cluster):
    c = gossip_cluster
    since = time.time()
    name = c.add_worker()
    c.stop_worker(name)
    where = dict(hostname=name, since=since, timeout=30)
    # the probe sees a signal handler where there is one: worker_shutting_down runs inside it
    receiver = c.events.wait_for("kit-where", what="worker_shutting_down", **where)
    assert receiver["in_sighandler"] is True and receiver["handler_on_stack"] is True
    stop = c.events.wait_for("kit-where", what="stop", **where)
    assert stop["in_sighandler"] is False and stop["handler_on_stack"] is False


def test_a_cold_shutdown_calls_terminate_not_stop_after_the_signal_handler(gossip_cluster):
    c = gossip_cluster
    since = time.time()
    name = c.add_worker()
    pid = c.events.wait_for("kit-lifecycle", hostname=name, since=since, timeout=30)["pid"]
    # SIGQUIT: Celery's cold shutdown (SIGTERM is the warm one)
    os.kill(pid, signal.SIGQUIT)
    where = dict(hostname=name, since=since, timeout=30)
    receiver = c.events.wait_for("kit-where", what="worker_shutting_down", **where)
    assert receiver["in_sighandler"] is True
    terminate = c.events.wait_for("kit-where", what="terminate", **where)
    assert terminate["in_sighandler"] is False and terminate["handler_on_stack"] is False
    time.sleep(0.5)
    stops = [e for e in c.events.history if e["type"] == "kit-where" and e.get("what") == "stop"
             and e["hostname"] == name and e["timestamp"] >= since]  # fmt: skip
    assert not stops, "a cold shutdown called stop as well as terminate"


class SendsOwnEvents(bootsteps.StartStopStep):
    """Sends a 'lab-*' event through Celery's dispatcher before and after allowing its group."""

    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        c.event_dispatcher.send("lab-hello", when="before")
        if c.event_dispatcher.groups:
            c.event_dispatcher.groups.add("lab")
        c.event_dispatcher.send("lab-hello", when="after")


def test_without_task_events_celery_sends_only_the_groups_its_dispatcher_allows(redis_server):
    app = Celery("claims-groups")
    app.steps["consumer"].add(SendsOwnEvents)
    options = {"worker_options": {"task_events": False}, "progress": False}
    with kit.LocalCluster(app, workers=1, **options) as cluster:
        after = cluster.events.wait_for("lab-hello", when="after", timeout=30)
        time.sleep(0.5)
        sent = [e.get("when") for e in cluster.events.history if e["type"] == "lab-hello"]
        assert sent == ["after"], sent
        # the heartbeats still pass: the group was added, not set
        cluster.events.wait_for("worker-heartbeat", since=after["timestamp"], timeout=10)


def test_with_task_events_every_group_passes(gossip_cluster):
    c = gossip_cluster
    w = c.workers[0]
    c.events.wait_for("lab-hello", when="after", hostname=w, timeout=30)
    assert c.events.wait_for("lab-hello", when="before", hostname=w, timeout=5)


@signals.worker_process_init.connect
def slow_process_init(**kwargs):
    """Stands in for slow per-child set-up (seconds from the app's `lab_init_seconds`)."""
    from celery import current_app

    report_process("worker_process_init")
    time.sleep(current_app.conf.get("lab_init_seconds", 0))


@signals.worker_ready.connect
def on_ready(**kwargs):
    report_process("worker_ready")


@signals.task_failure.connect
def on_failure(sender=None, **kwargs):
    report_process("task_failure", task=sender.name)


def report_process(signal_name, **fields):
    """Emit the name of the process a signal's receiver runs in."""
    from multiprocessing import current_process

    emit("signal", signal=signal_name, process=current_process().name, **fields)


def test_signals_run_where_their_moment_happens(redis_server):
    app = Celery("claims-signals")
    app.conf.imports = [__name__]
    options = {"pool": "prefork", "concurrency": 1, "progress": False}
    with kit.LocalCluster(app, workers=1, **options) as cluster:
        app.send_task("kit.fail").get(timeout=30, propagate=False)
        seen = {
            name: cluster.events.wait_for("kit-signal", signal=name, timeout=30)["process"]
            for name in ("worker_ready", "worker_process_init", "task_failure")
        }
        assert seen["worker_ready"] == "MainProcess"
        assert seen["worker_process_init"].startswith("ForkPoolWorker")
        assert seen["task_failure"].startswith("ForkPoolWorker")


def test_the_proc_alive_timeout_spares_the_first_children_and_kills_their_replacements(
    redis_server,
):
    from celery.exceptions import TimeoutError as ResultTimeout

    app = Celery("claims-proc-alive")
    app.conf.imports = [__name__]
    app.conf.update(worker_max_tasks_per_child=1, worker_proc_alive_timeout=1.0, lab_init_seconds=2)
    options = {"pool": "prefork", "concurrency": 1, "progress": False}
    with kit.LocalCluster(app, workers=1, **options) as cluster:
        first = app.send_task("kit.sleep", (0.1,))
        second = app.send_task("kit.sleep", (0.1,))
        # the child forked at boot took 2 s to start, past the 1 s limit, and ran a task
        assert first.get(timeout=30) == 0.1
        with pytest.raises(ResultTimeout):
            second.get(timeout=4)
        # each replacement is killed once the limit passes, still inside its 2 s set-up
        deadline = time.monotonic() + 20
        while "Timed out waiting for UP message" not in cluster.logs(cluster.workers[0]):
            assert time.monotonic() < deadline, "no replacement child was killed within 20 s"
            time.sleep(0.2)
