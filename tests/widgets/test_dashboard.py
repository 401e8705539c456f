"""kit.Dashboard driven from Python against a real cluster: each button's effect on the workers."""

import time
import uuid

import kit_test_steps as s
import pytest
from test_timeline import eventually

import kit
from kit.steps import LifecycleStep, OptionReader, SafeConsumer
from kit.widgets.dashboard import Dashboard

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(redis_server):
    from celery import Celery

    app = Celery("kit-dashboard")
    app.steps["worker"].add(OptionReader)
    app.steps["consumer"].add(SafeConsumer)
    cluster = kit.LocalCluster(app, workers=2, progress=False)
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def dash(cluster):
    dash = Dashboard(cluster)
    yield dash
    dash.close()


def worker_labels(cluster, worker):
    snap = kit.blueprint_steps(cluster, worker=worker)
    return {s.label for s in snap.worker + snap.consumer}


def test_tabs_and_display(dash):
    assert [t for t in dash.tabs.titles] == [
        "Steps",
        "Gossip",
        "Consumer",
        "Options",
        "Graph",
        "Timeline",
    ]
    assert "application/vnd.jupyter.widget-view+json" in dash._repr_mimebundle_()
    eventually(lambda: "2 workers" in dash.header.value and "connected" in dash.header.value)


def test_steps_apply_boots_then_removes_a_step(cluster, dash):
    dash.steps.check("lifecycle")
    dash.steps.apply_button.click()
    assert not dash.errors, dash.errors
    assert LifecycleStep in cluster.app.steps["worker"]
    for worker in cluster.workers:
        assert "LifecycleStep" in worker_labels(cluster, worker)
    assert "LifecycleStep" in dash.steps.diff.value and "<svg" in dash.steps.diff.value
    assert "+kit.steps.LifecycleStep" in dash.steps.status.value
    assert "LifecycleStep" in dash.graph.svg.value, "the graph tab redraws after a restart"
    dash.steps.check("lifecycle", False)
    dash.steps.apply_button.click()
    assert LifecycleStep not in cluster.app.steps["worker"] and not dash.errors
    for worker in cluster.workers:
        assert "LifecycleStep" not in worker_labels(cluster, worker)


@pytest.mark.parametrize(
    "step, error, message",
    [
        (s.RaisesInStart, "WorkerBootError", "RaisesInStart"),
        (s.BlocksInStart, "WorkerBootError", "BlocksInStart"),
        (s.CycleA, "StepCycleError", "kit_test_steps.CycleB"),
    ],
)
def test_step_errors_are_shown_naming_the_step_and_the_cluster_stays_usable(
    cluster, dash, step, error, message
):
    dash.clear_errors()
    key = dash.steps.offer(step, "worker")
    dash.steps.deadline.value = 4
    dash.steps.check(key)
    dash.steps.apply_button.click()
    assert error in dash.steps.status.value and message in dash.steps.status.value
    if step is s.BlocksInStart:
        assert "may block" in dash.steps.warnings.value, "the kit's StepWarning shows in the panel"
    assert [type(e).__name__ for e in dash.errors] == [error] and message in dash.error_area.value
    assert step not in cluster.app.steps["worker"] and dash.steps.boxes[key].value is False
    assert not any(b.disabled for b in dash.buttons)
    assert len(cluster.workers) == 2
    assert cluster.app.send_task("kit.sleep", (0.1,)).get(timeout=30) == 0.1
    for worker in cluster.workers:
        assert step.__name__ not in worker_labels(cluster, worker)
    dash.clear_errors()


def test_gossip_add_kill_and_elect(cluster, dash):
    g = dash.gossip
    g.add_button.click()
    name = cluster.workers[-1]
    assert len(cluster.workers) == 3 and name in g.worker.options and name in g.status.value
    eventually(lambda: "node_join" in g.log_html.value and name in g.log_html.value)
    g.worker.value = name
    g.kill_button.click()
    assert name not in cluster.workers and name not in g.worker.options
    eventually(
        lambda: any(what == "node_lost" and f.get("peer") == name for _, _, what, f in g.log)
    )
    eventually(lambda: "node_lost" in g.log_html.value)
    eventually(lambda: all(g.sizes_seen().get(w) == 2 for w in cluster.workers))
    g.refresh()
    assert g.ends[name][1] == "lost"  # where its line (if it reported a size) stops, marked
    eventually(lambda: f"{name} (lost)" in dash.header.value and "1 lost" in dash.header.value)
    assert name not in dash.graph.source.options or name == dash.graph.drawn
    since = time.time()
    g.worker.value = cluster.workers[0]
    g.elect_button.click()
    assert not dash.errors and "elected" in g.status.value
    won = cluster.events.wait_for("kit-gossip", timeout=30, since=since, event="won")
    eventually(lambda: f"won by <b>{won['winner']}</b>" in g.winner_html.value)
    assert won["winner"] in cluster.workers


def test_consumer_accepts_good_and_rejects_bad_messages(dash):
    c = dash.consumer
    before = dict(c.counts)
    c.text.value = '{"order": 42}'
    for button in (c.json_button, c.malformed_button, c.pickle_button, c.plain_button):
        button.click()
    assert not dash.errors, dash.errors
    eventually(
        lambda: (
            c.counts["accepted"] == before.get("accepted", 0) + 1
            and c.counts["rejected"] == before.get("rejected", 0) + 3
        )
    )
    eventually(
        lambda: (
            f"accepted <b>{c.counts['accepted']}</b>" in c.counters.value
            and f"rejected <b>{c.counts['rejected']}</b>" in c.counters.value
        )
    )
    assert "42" in c.log_html.value and "application/x-python-serialize" in c.log_html.value
    c.text.value = "{not json"
    c.json_button.click()
    assert "not valid JSON" in c.status.value and isinstance(dash.errors[-1], ValueError)
    dash.clear_errors()


def test_options_form_restarts_workers_and_the_step_gets_the_value(cluster, dash):
    greeting = f"hello-{uuid.uuid4().hex[:6]}"
    o = dash.options
    assert {"kit_greeting", "deadlock_timeout", "deadlock_interval"} <= set(o.fields)
    o.fields["deadlock_timeout"].value = "soon"
    o.apply_button.click()
    assert "--deadlock-timeout=" in o.status.value and "not a valid float" in o.status.value
    assert isinstance(dash.errors[-1], ValueError) and cluster.worker_options == {}
    dash.clear_errors()
    o.fields["deadlock_timeout"].value = ""
    o.fields["kit_greeting"].value = greeting
    since = time.time()
    o.apply_button.click()
    assert not dash.errors, dash.errors
    assert cluster.worker_options == {"kit_greeting": greeting} and greeting in o.status.value
    for worker in cluster.workers:
        cluster.events.wait_for(
            "kit-option", timeout=30, since=since, hostname=worker, value=greeting
        )
    eventually(lambda: o.received_html.value.count(greeting) == len(cluster.workers))


def test_exception_in_a_handler_is_shown_and_buttons_come_back(cluster, dash, monkeypatch):
    seen = []

    def broken(worker=None, **kwargs):
        seen.append([b.disabled for b in dash.buttons])
        raise RuntimeError("synthetic failure in elect")

    monkeypatch.setattr(cluster, "elect", broken)
    dash.gossip.elect_button.click()
    assert seen and all(seen[0]), "every button is disabled while an action runs"
    assert isinstance(dash.errors[-1], RuntimeError)
    assert (
        "synthetic failure in elect" in dash.error_area.value
        and "Traceback" in dash.error_area.value
    )
    assert (
        dash.error_box.layout.display != "none" and "synthetic failure" in dash.gossip.status.value
    )
    assert not any(b.disabled for b in dash.buttons)
    dash.clear_errors()
    assert dash.error_box.layout.display == "none" and not dash.errors


def test_graph_panel_draws_a_chosen_worker(cluster, dash):
    g = dash.graph
    g.source.value = cluster.workers[-1]
    assert (
        "<svg" in g.svg.value
        and "OptionReader" in g.svg.value
        and cluster.workers[-1] in g.status.value
    )
    g.source.value = "app (static)"
    assert "static" in g.svg.value and not dash.errors


def test_timeline_tab_is_live(cluster, dash):
    widget = dash.tabs.children[-1]
    assert widget is dash.timeline.widget
    eventually(lambda: set(cluster.workers) <= set(widget.lanes))
    assert not any(
        c["s"].startswith("fire:") for c in widget.chunks.values()
    )  # Celery's ticks: hidden
    widget.periodic = True  # the view's "show Celery's periodic timers"
    eventually(lambda: any(c["s"].startswith("fire:") for c in widget.chunks.values()))
    widget.periodic = False


def test_an_event_flood_is_coalesced_and_keeps_memory_bounded(cluster, dash):
    calls, t0, now = dash.status.calls, time.monotonic(), time.time()
    for i in range(50_000):
        kind = ("kit-gossip", "kit-consumer", "kit-option")[i % 3]
        cluster.events.add(
            {
                "type": kind,
                "hostname": f"flood{i % 5}@test",
                "timestamp": now,
                "event": "node_join",
                "peer": "x",
                "size": 3,
                "outcome": "rejected",
                "name": "kit_greeting",
                "value": i,
            }
        )
    time.sleep(1.0)
    elapsed = time.monotonic() - t0
    assert dash.status.calls - calls <= 10 * elapsed + 2, (dash.status.calls - calls, elapsed)
    assert (
        len(dash.gossip.log) <= 200
        and len(dash.consumer.log) <= 100
        and len(dash.options.received) <= 50
    )
    assert all(len(points) <= 200 for points in dash.gossip.sizes.values())
    eventually(
        lambda: (
            f"rejected <b>{dash.consumer.counts['rejected']}</b>" in dash.consumer.counters.value
        )
    )
    assert not dash.errors, dash.errors


def test_graph_tab_follows_the_workers(cluster, dash):
    graph = dash.graph
    graph.source.value = cluster.workers[0]
    name = cluster.add_worker()
    eventually(lambda: name in graph.source.options)
    graph.source.value = name
    cluster.kill_worker(name)
    eventually(lambda: "is gone" in graph.status.value and "opacity:0.35" in graph.svg.value)
    graph.refresh_button.click()
    assert graph.drawn in cluster.workers and name not in graph.source.options


def test_closed_cluster_dashboard_is_closed_and_card_too(redis_server):
    from celery import Celery

    from kit import display
    from kit.widgets.card import card_of

    c = kit.LocalCluster(Celery("kit-closing"), workers=2, progress=False)
    try:
        d, card = Dashboard(c), card_of(c)
        eventually(lambda: "2 workers up" in d.header.value)
        eventually(
            lambda: (
                all(w in card.html.value for w in c.workers)
                and card.html.value.count("up</td>") == 2
            )
        )
        assert ":***@" in card.html.value or "redis://" in card.html.value
        assert (
            c.redis.password not in card.html.value
            and "<th style='text-align:left'>pid</th>" in card.html.value
        )
        workers = c.workers
    finally:
        c.close()
    eventually(lambda: "closed" in d.header.value and "actions disabled" in d.header.value)
    assert "unreachable" not in d.header.value
    assert (
        all(b.disabled for b in d.buttons) and d.graph.source.disabled and d.gossip.worker.disabled
    )
    assert "kit-closed" in d.widget._dom_classes and d.timeline.widget.frozen > 0
    eventually(lambda: "closed" in card.html.value and card.open_button.disabled)
    assert all(w in card.html.value for w in workers) and "running" not in display.html(c)
    assert "closed" in repr(c) and "1 workers" not in repr(c)
    d.close()


def test_options_form_keeps_the_clusters_celery_options(cluster, dash):
    """The form shows the app's and the kit's options; Apply keeps the others the cluster runs with."""
    cluster.restart(worker_options={"loglevel": "debug"})
    o = dash.options
    o.reload()
    o.fields["kit_greeting"].value = "kept"
    o.apply_button.click()
    assert not dash.errors, dash.errors
    assert cluster.worker_options == {"loglevel": "debug", "kit_greeting": "kept"}
    assert "DEBUG" in cluster.logs(cluster.workers[0], lines=200)
