"""What notebooks 00-05 say about Celery, shown on real workers (run on the oldest and newest Celery).

Each test names the notebook whose sentence it pins. The workers run the steps of `claim_steps`.
"""

import os
import signal
import subprocess
import sys
import time

import claim_steps as steps
import pytest
from celery import Celery, bootsteps
from celery.utils.imports import symbol_by_name

import kit

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.xdist_group("claims-blueprints")]

CELERY = tuple(int(part) for part in __import__("celery").__version__.split(".")[:2])
#: Every default step of both blueprints, as `module:Class`.
DEFAULT_STEPS = [
    f"celery.worker.components:{name}"
    for name in ("Timer", "Hub", "Pool", "Beat", "StateDB", "Consumer")
] + ["celery.worker.autoscale:WorkerComponent"] + [
    f"celery.worker.consumer.{module}:{name}"
    for module, name in (
        ("connection", "Connection"), ("mingle", "Mingle"), ("events", "Events"),
        ("gossip", "Gossip"), ("heart", "Heart"), ("control", "Control"), ("tasks", "Tasks"),
        ("delayed_delivery", "DelayedDelivery"), ("consumer", "Evloop"), ("agent", "Agent"),
    )
]  # fmt: skip


def kit_events(cluster, type_, since=0.0, **match):
    """The events of `type_` received so far (with `timestamp` >= since) whose fields equal `match`."""
    return [
        e
        for e in cluster.events.history
        if e["type"] == type_
        and e["timestamp"] >= since
        and all(e.get(k) == v for k, v in match.items())
    ]


@pytest.fixture(scope="module")
def cluster(redis_server):
    """Two workers with the claim steps, logging at debug level."""
    app = Celery("claims")
    for step in (steps.SeesCreated, steps.PlainStartStop, steps.Priorities):
        app.steps["worker"].add(step)
    for step in (steps.DispatcherAtCreate, steps.Hello, steps.WhichTimer):
        app.steps["consumer"].add(step)
    # the lint sees the mistake DispatcherAtCreate makes on purpose
    with pytest.warns(kit.StepWarning, match="DispatcherAtCreate.create: reads .event_dispatcher"):
        cluster = kit.LocalCluster(
            app, workers=2, progress=False, worker_options={"loglevel": "debug"}
        )
    with cluster:
        yield cluster


# -- notebook 01 ---------------------------------------------------------------------------------
def test_conditional_only_marks_beat_autoscaler_and_agent():
    marked = {ref for ref in DEFAULT_STEPS if symbol_by_name(ref).conditional}
    assert {ref.rsplit(":", 1)[1] for ref in marked} == {"Beat", "WorkerComponent", "Agent"}


def test_hub_control_and_delayed_delivery_decide_in_include_if_the_rest_through_enabled():
    own = {
        ref.rsplit(":", 1)[1]
        for ref in DEFAULT_STEPS
        if symbol_by_name(ref).include_if is not bootsteps.Step.include_if
    }
    assert own == {"Hub", "Control", "DelayedDelivery"}


def test_live_worker_shows_both_ways_of_not_running(cluster):
    live = cluster.inspect_blueprint(cluster.workers[0])
    steps_ = {s["label"]: s for bp in ("worker", "consumer") for s in live[bp]}
    # switched off through enabled, in __init__ (the kit starts workers --without-mingle)
    for label in ("Mingle", "Beat", "StateDB"):
        assert not steps_[label]["enabled"] and not steps_[label]["started"], steps_[label]
    # include_if() said no on Redis: still enabled, never started
    assert steps_["DelayedDelivery"]["enabled"] and not steps_["DelayedDelivery"]["started"]
    # the guide's Hub, Events and Heart rows, running
    for label in ("Hub", "Events", "Heart", "Gossip", "Control"):
        assert steps_[label]["enabled"] and steps_[label]["started"], steps_[label]
    beat = cluster.events.wait_for("worker-heartbeat", hostname=cluster.workers[0], timeout=15)
    assert beat["freq"] > 0


def test_celery_graph_bootsteps_runs_init_and_create_but_not_start(tmp_path):
    (tmp_path / "proj.py").write_text(
        "import os\n"
        "from celery import Celery, bootsteps\n"
        "class Marks(bootsteps.StartStopStep):\n"
        "    def create(self, w):\n"
        "        open(os.path.join(os.environ['MARKS'], 'create'), 'w').close()\n"
        "    def start(self, w):\n"
        "        open(os.path.join(os.environ['MARKS'], 'start'), 'w').close()\n"
        "app = Celery('proj')\n"
        "app.steps['worker'].add(Marks)\n"
    )
    run = celery_cli(tmp_path, "-A", "proj", "graph", "bootsteps", MARKS=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "Marks" in run.stdout and "Consumer" in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".py" and p.is_file()) == [
        "create"
    ]


def test_debug_log_shows_the_boot_order_and_each_start(cluster):
    log = cluster.logs(cluster.workers[0])
    assert "| Worker: New boot order: {" in log
    assert "| Consumer: New boot order: {" in log
    assert "| Consumer: Starting Connection" in log


# -- notebook 02 ---------------------------------------------------------------------------------
def test_every_create_runs_before_any_start(cluster):
    event = cluster.events.wait_for("kit-claim-start", hostname=cluster.workers[0], timeout=10)
    assert event["pool"] and event["timer"]
    calls = [
        e
        for e in kit_events(
            cluster, "kit-lifecycle", hostname=cluster.workers[0], blueprint="worker"
        )
        if e["method"] in ("create", "start")
    ]
    last_create = max(e["started_at"] for e in calls if e["method"] == "create")
    first_start = min(e["started_at"] for e in calls if e["method"] == "start")
    assert last_create < first_start


def test_event_dispatcher_is_made_by_events_start(cluster):
    event = cluster.events.wait_for(
        "kit-claim-dispatcher-at-create", hostname=cluster.workers[0], timeout=10
    )
    assert event["none"] is True


def test_a_consumer_step_sends_its_own_event_with_the_dispatcher(cluster):
    hello = cluster.events.wait_for("kit-hello", hostname=cluster.workers[0], timeout=10)
    assert (hello["pool"], hello["concurrency"]) == ("celery.concurrency.thread", 2)
    # sent by Celery's dispatcher, not the kit's emit (which stamps kit_time)
    assert "kit_time" not in hello and hello["clock"] > 0


def test_warm_shutdown_calls_stop_outside_the_signal_handler(cluster):
    name = cluster.add_worker()
    since = time.time()
    cluster.stop_worker(name)
    handler = cluster.events.wait_for("kit-claim-handler", hostname=name, since=since, timeout=30)
    stop = cluster.events.wait_for("kit-claim-shutdown", hostname=name, since=since, timeout=30)
    # the control: the detector sees Celery's handler where it does run
    assert handler["how"] == "Warm" and handler["in_handler"] is True
    assert stop["method"] == "stop" and stop["in_handler"] is False
    assert stop["thread"] == "MainThread"
    assert cluster.events.wait_for("kit-claim-plain-stop", hostname=name, since=since, timeout=30)


def test_cold_shutdown_calls_terminate_not_stop(cluster):
    name = cluster.add_worker()
    pid = cluster.app.control.inspect([name]).stats()[name]["pid"]
    since = time.time()
    os.kill(pid, signal.SIGQUIT)
    last = cluster.events.wait_for(
        "kit-lifecycle",
        hostname=name,
        label="Connection",
        method="shutdown",
        since=since,
        timeout=30,
    )
    handler = cluster.events.wait_for("kit-claim-handler", hostname=name, since=since, timeout=5)
    assert handler["how"] == "Cold" and handler["in_handler"] is True
    ours = kit_events(cluster, "kit-claim-shutdown", since=since, hostname=name)
    assert [(e["method"], e["in_handler"]) for e in ours] == [("terminate", False)]
    # a StartStopStep with only stop: its stop is not called, and its default terminate does nothing
    assert not kit_events(cluster, "kit-claim-plain-stop", since=since, hostname=name)
    worker_calls = {
        (e["label"], e["method"])
        for e in kit_events(
            cluster, "kit-lifecycle", since=since, hostname=name, blueprint="worker"
        )
        if e["timestamp"] <= last["timestamp"]
    }
    assert ("PlainStartStop", "terminate") in worker_calls
    assert ("PlainStartStop", "stop") not in worker_calls


def celery_cli(folder, *args, **env):
    """`python -m celery ARGS` run in `folder`."""
    return subprocess.run(
        [sys.executable, "-m", "celery", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_celery_pulls_a_worker_step_into_the_consumer_blueprint_and_fails(tmp_path):
    (tmp_path / "proj.py").write_text(
        "from celery import Celery, bootsteps\n"
        "class NeedsTimer(bootsteps.StartStopStep):\n"
        "    requires = {'celery.worker.components:Timer'}\n"
        "app = Celery('proj')\n"
        "app.steps['consumer'].add(NeedsTimer)\n"
    )
    run = celery_cli(tmp_path, "-A", "proj", "graph", "bootsteps")
    assert run.returncode != 0
    assert "'Consumer' object has no attribute 'use_eventloop'" in run.stderr


# -- notebook 00 ---------------------------------------------------------------------------------
def test_add_consumer_sends_a_task_to_one_chosen_worker(cluster):
    app = cluster.app
    for worker in cluster.workers[:2]:
        app.control.add_consumer(f"claims-only-{worker}", destination=[worker], reply=True)
        result = app.send_task("kit.sleep", (0.05,), queue=f"claims-only-{worker}")
        result.get(timeout=10)
        ran = cluster.events.wait_for("task-succeeded", uuid=result.id, timeout=10)
        assert ran["hostname"] == worker


# -- notebook 03 ---------------------------------------------------------------------------------
def test_broker_restart_stops_and_starts_the_consumer_blueprint(redis_server):
    app = Celery("claims-broker")
    app.steps["consumer"].add(steps.ConsumerTicker)
    app.steps["worker"].add(steps.WorkerTicker)
    # the lint sees the timer entry ConsumerTicker leaves on purpose
    with pytest.warns(kit.StepWarning, match="ConsumerTicker.start: schedules a timer entry"):
        cluster = kit.LocalCluster(app, workers=1, progress=False)
    with cluster:
        w1 = cluster.workers[0]
        cluster.events.wait_for("kit-claim-consumer-tick", timeout=10)
        pid = cluster.events.wait_for("kit-lifecycle", hostname=w1, label="ConsumerTicker")["pid"]
        since = time.time()
        cluster.redis.proc.kill()
        again = cluster.events.wait_for(
            "kit-lifecycle", label="ConsumerTicker", method="start", since=since, timeout=60
        )
        time.sleep(2.0)
        calls = [
            (e["label"], e["method"])
            for e in kit_events(cluster, "kit-lifecycle", since=since)
            if e["label"] in ("ConsumerTicker", "WorkerTicker")
        ]
        # the stop's event waits in the worker until the kernel's feed listens again
        assert calls == [("ConsumerTicker", "stop"), ("ConsumerTicker", "start")], calls
        assert "Connection to broker lost" in cluster.logs(w1)
        assert again["pid"] == pid
        recent = time.time() - 1.0
        made = {e["made_at"] for e in kit_events(cluster, "kit-claim-consumer-tick", since=recent)}
        worker_ticks = kit_events(cluster, "kit-claim-worker-tick", since=recent)
    if CELERY == (5, 6):
        # nothing cancels the first start's entry: the step's timer doubled
        assert len(made) == 2
    else:
        # 5.5 clears the whole timer, 5.7 cancels the entries made while the consumer started
        assert len(made) == 1
    if CELERY == (5, 5):
        # Consumer.on_close clears the whole timer: a worker step's entry is gone for good
        assert not worker_ticks
    else:
        assert worker_ticks


def test_one_timer_fired_by_the_event_loop_shared_by_both_blueprints(cluster):
    event = cluster.events.wait_for("kit-claim-timer", hostname=cluster.workers[0], timeout=10)
    assert (event["cls"], event["same"]) == ("kombu.asynchronous.timer.Timer", True)


def test_entries_due_together_fire_by_priority_lowest_first(cluster):
    w1 = cluster.workers[0]
    cluster.events.wait_for("kit-claim-priority", hostname=w1, priority=9, timeout=10)
    fired = [e["priority"] for e in kit_events(cluster, "kit-claim-priority", hostname=w1)]
    assert fired == [0, 9]


def test_a_datetime_eta_is_converted_to_the_timers_clock_on_each_call():
    """Why notebook 03 gives `call_at` a float: two calls with one datetime get different etas."""
    from datetime import datetime, timezone

    from kombu.asynchronous import timer

    monotonic = iter([100.0, 100.000004])
    when = datetime.now(timezone.utc)
    first, second = (timer.to_timestamp(when, time=lambda: next(monotonic)) for _ in range(2))
    assert first != second


# -- notebook 04 ---------------------------------------------------------------------------------
def test_the_guides_init_without_kwargs_stops_the_boot(redis_server):
    from celery.worker import WorkController, state

    assert not hasattr(WorkController, "active_requests")
    assert list(state.active_requests) == []
    app = Celery("claims-guide")
    app.steps["worker"].add(steps.GuideDeadlockDetection)
    lint = pytest.warns(
        kit.StepWarning, match=r"GuideDeadlockDetection.__init__: takes no \*\*kwargs"
    )
    boot = pytest.raises(kit.WorkerBootError, match="unexpected keyword argument 'pool_cls'")
    with lint, boot:
        kit.LocalCluster(app, workers=1, progress=False)


def test_the_deadlock_check_never_runs_while_a_solo_task_does(redis_server):
    app = Celery("claims-deadlock")
    app.steps["worker"].add(steps.FastDeadlockDetection)
    with kit.LocalCluster(app, workers=1, progress=False) as cluster:
        stuck = app.send_task("kit.sleep", (2.5,))
        cluster.events.wait_for("kit-deadlock", task_id=stuck.id, timeout=20)
        stuck.get(timeout=20)
        cluster.restart(worker_options={"pool": "solo"})
        stuck = app.send_task("kit.sleep", (2.5,))
        stuck.get(timeout=20)
        # once the task is over, the next check finds nothing to report
        time.sleep(1.0)
        assert not kit_events(cluster, "kit-deadlock", task_id=stuck.id)


# -- notebook 05 ---------------------------------------------------------------------------------
def waiting(app):
    with app.connection_for_write() as conn:
        return steps.QUEUE(conn.default_channel).queue_declare().message_count


def test_unacked_is_not_counted_and_the_guides_consumer_dies_on_a_poison_message(redis_server):
    app = Celery("claims-poison")
    app.steps["consumer"].add(steps.Reports)
    with kit.LocalCluster(app, workers=1, progress=False) as cluster:
        w1 = cluster.workers[0]
        for step, left_stopped in ((steps.Reports, 1), (steps.Rejects, 0)):
            app.steps["consumer"] = {step}
            since = time.time()
            # ships the steps (no worker runs after the first round), then starts the worker
            cluster.restart()
            if not cluster.workers:
                cluster.add_worker(w1)
            if step is steps.Reports:
                cluster.publish(b"{not json", content_type="application/json", queue=steps.QUEUE)
            cluster.events.wait_for("kit-claims-poison", since=since, timeout=15)
            time.sleep(0.5)
            # received and neither acked nor rejected: on Redis it sits in the `unacked` hash,
            # which queue_declare's message_count does not count
            assert waiting(app) == 0, step.__name__
            # a warm shutdown closes the channel: kombu puts back what was not acked or rejected
            cluster.stop_worker(w1)
            assert waiting(app) == left_stopped, step.__name__
        app.steps["consumer"] = {steps.Guide}
        cluster.restart()
        cluster.add_worker(w1)
        cluster.publish(b"{not json", content_type="application/json", queue=steps.QUEUE)
        deadline = time.monotonic() + 30
        while cluster.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not cluster.workers, "the guide's consumer should have stopped the worker"
        log = cluster.logs(w1)
        assert "Unrecoverable error" in log and "Restoring 1 unacknowledged message" in log
        assert waiting(app) == 1
