"""kit.blueprints.boot_order and boot_runs: unordered pairs from requires, boot orders from events, flips, the
pasteable requires line, the highlighted graph; and on real workers restarted with other hash seeds.
"""

import xml.etree.ElementTree as ET

import pytest
from celery import Celery, bootsteps

import kit
from kit.blueprints.boot_order import COLUMNS, BootOrder, unordered_pairs
from kit.blueprints.boot_runs import boot_runs
from kit.blueprints.graph import blueprint_graph
from kit.blueprints.snapshot import blueprint_steps
from kit.events.contract import LIFECYCLE

W = "celery.worker.components"
SVG = "{http://www.w3.org/2000/svg}"


def notebook_step(name, requires=()):
    """A step class as a notebook cell defines it: in `__main__`, so the workers get it by value."""
    return type(name, (bootsteps.StartStopStep,), {"__module__": "__main__", "requires": requires})


class Audit(bootsteps.StartStopStep):
    """A step of a project's module (named by its 'module:Class' string in requires)."""


class Probe(bootsteps.StartStopStep):
    requires = {f"{W}:Timer"}


A = notebook_step("A")
B = notebook_step("B")
Needs = notebook_step("Needs", requires={A})


def app_with(*steps, name="bo"):
    app = Celery(name)
    app.steps["worker"].update(steps)
    return app


def lifecycle(pid, order, blueprint="worker", host="w1@h", t0=100.0):
    """`__init__` events of one boot, in `order`, plus calls of other methods the order ignores."""
    events = [
        {"type": LIFECYCLE, "hostname": host, "pid": pid, "blueprint": blueprint,
         "step": name, "method": "__init__", "started_at": t0 + i}
        for i, name in enumerate(order)
    ]  # fmt: skip
    others = [dict(e, method="start", started_at=t0 + 50 - i) for i, e in enumerate(events)]
    return events + others + [{"type": "worker-heartbeat", "hostname": host, "pid": pid}]


def names(app):
    return {s.label: s.name for s in blueprint_steps(app).steps("worker")}


def test_unordered_pairs_are_the_ones_no_requires_path_orders():
    snap = blueprint_steps(app_with(A, B, Needs))
    short = {s.name: s.label for bp in ("worker", "consumer") for s in snap.steps(bp)}
    pairs = {(bp, short[a], short[b]) for bp, a, b in unordered_pairs(snap)}
    labels = {frozenset((a, b)) for bp, a, b in pairs if bp == "worker"}
    # no path either way: flips are possible
    assert {frozenset("AB"), frozenset({"Needs", "B"}), frozenset({"A", "Timer"})} <= labels
    assert ("consumer", "Heart", "Gossip") in pairs or ("consumer", "Gossip", "Heart") in pairs
    # a requires edge, a path of two (Pool -> Hub -> Timer), and the last step: always ordered
    for ordered in ({"A", "Needs"}, {"Pool", "Hub"}, {"Pool", "Timer"}, {"Consumer", "A"}):
        assert frozenset(ordered) not in labels
    assert not any("event loop" in (a, b) for _, a, b in pairs)


def test_boot_runs_take_each_process_and_blueprint_in_init_order():
    events = lifecycle(1, ["x.Timer", "x.A", "x.B"], t0=200.0)[::-1] + lifecycle(2, ["x.B", "x.A"])
    events += lifecycle(2, ["x.Conn", "x.Heart"], blueprint="consumer")
    runs = boot_runs(events)
    assert [(r.pid, r.blueprint, r.order) for r in runs] == [
        (1, "worker", ("x.Timer", "x.A", "x.B")),
        (2, "worker", ("x.B", "x.A")),
        (2, "consumer", ("x.Conn", "x.Heart")),
    ]


def report(app, *orders):
    """A BootOrder of `orders` (labels, one boot each) against `app`'s requires."""
    full = names(app)
    events = [e for i, order in enumerate(orders) for e in lifecycle(i, [full[n] for n in order])]
    return kit.boot_order(events, app=app)


def by_labels(rep, a, b):
    rows = [r for r in rep.rows() if {r["step"], r["other"]} == {a, b}]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_pair_made_in_both_orders_flips_and_gets_a_requires_line():
    app = app_with(A, B, Needs)
    rep = report(app, ["A", "Needs", "B", "Timer"], ["B", "A", "Needs", "Timer"])
    row = by_labels(rep, "A", "B")
    assert row["status"] == "flipped"
    assert (row["step first"], row["other first"]) == (1, 1)
    # a tie between two steps of yours: the later in the kit's order requires the other
    assert row["edit"] in ("A", "B") and row["requires"] in ("requires = {A}", "requires = {B}")
    row = by_labels(rep, "Needs", "B")
    assert row["status"] == "flipped"
    # Needs keeps what it required: the line replaces the class's requires whole
    assert (row["edit"], row["requires"]) in [
        ("Needs", "requires = {A, B}"),
        ("B", "requires = {Needs}"),
    ]
    row = by_labels(rep, "A", "Timer")
    assert row["status"] == "not pinned (did not flip in 2 runs)"
    # a step of yours and one of Celery's: yours requires Celery's, by its 'module:Class' string
    assert (row["edit"], row["requires"]) == ("A", f'requires = {{"{W}:Timer"}}')


def test_the_requires_line_pins_the_pair_once_pasted():
    app = app_with(Audit, Probe)
    rep = report(app, ["Audit", "Timer", "Probe"], ["Timer", "Probe", "Audit"])
    row = by_labels(rep, "Audit", "Probe")
    assert row["status"] == "flipped"
    namespace = {}
    exec(row["requires"], namespace)
    mod = Audit.__module__
    # Probe keeps its Timer; Audit had no requires
    assert (row["edit"], namespace["requires"]) in [
        ("Probe", {f"{W}:Timer", f"{mod}:Audit"}),
        ("Audit", {f"{mod}:Probe"}),
    ]
    # the same class name in the same module: the edited class stands for the original
    edited = type(row["edit"], (bootsteps.StartStopStep,), {"requires": namespace["requires"]})
    others = [s for s in (Audit, Probe) if s.__name__ != row["edit"]]
    pinned = blueprint_steps(app_with(edited, *others))
    pairs = {frozenset((a, b)) for _, a, b in unordered_pairs(pinned)}
    assert frozenset({f"{mod}.Audit", f"{mod}.Probe"}) not in pairs
    assert frozenset({f"{mod}.Audit", f"{W}.Timer"}) in pairs or row["edit"] == "Audit"


def test_celery_pairs_get_a_comment_and_the_table_lists_flips_first():
    app = app_with(A)
    rep = report(app, ["Timer", "StateDB", "A"], ["StateDB", "Timer", "A"])
    row = by_labels(rep, "Timer", "StateDB")
    assert row["status"] == "flipped" and row["edit"] == ""
    assert row["requires"].startswith("# both are Celery's own steps")
    table = rep.table()
    assert list(table.columns) == COLUMNS
    statuses = list(table["status"])
    assert statuses[: len(rep.flipped)] == ["flipped"] * len(rep.flipped)
    assert "flipped" not in statuses[len(rep.flipped) :]
    assert "2 worker and 0 consumer blueprint boots" in rep.note
    orders = rep.orders()
    assert list(orders["order"]) == ["Timer → StateDB → A", "StateDB → Timer → A"]
    assert list(orders["blueprint"]) == ["worker", "worker"]


def test_the_graph_draws_flipped_pairs_as_dashed_red_lines():
    app = app_with(A, B)
    rep = report(app, ["A", "B", "Timer", "StateDB"], ["B", "StateDB", "Timer", "A"])
    source = rep.graph().source
    pair_lines = [line for line in source.splitlines() if 'class="pair worker flipped"' in line]
    ends = (
        '"worker/__main__.A" -> "worker/__main__.B"',
        '"worker/__main__.B" -> "worker/__main__.A"',
    )
    assert any(end in line for line in pair_lines for end in ends)
    assert all("style=dashed" in line and "dir=none" in line for line in pair_lines)
    # Celery's own flipped pair only with celery=True
    assert not any("StateDB" in line and "Timer" in line for line in pair_lines)
    everything = rep.graph(celery=True).source
    lines = everything.splitlines()
    assert any("StateDB" in line and "Timer" in line and "pair" in line for line in lines)
    assert "booted in either order" in source


@pytest.mark.dot
def test_dot_renders_the_pair_as_a_red_dashed_line():
    from conftest import need_program

    need_program("dot")
    rep = report(app_with(A, B), ["A", "B", "Timer"], ["B", "Timer", "A"])
    root = ET.fromstring(rep.graph().svg())
    edges = [g for g in root.iter(f"{SVG}g") if "pair" in g.get("class", "").split()]
    assert edges and all("flipped" in g.get("class") for g in edges)
    for g in edges:
        # inside the tooltip's <a>
        (path,) = g.iter(f"{SVG}path")
        assert path.get("stroke") == "#d93025" and path.get("stroke-dasharray")
        # no arrowhead: neither step requires the other
        assert not list(g.iter(f"{SVG}polygon"))


def test_pairs_argument_is_checked():
    app = app_with(A, B)
    with pytest.raises(ValueError, match="'flipped'"):
        blueprint_graph(app, pairs={("worker", "__main__.A", "__main__.B"): "red"})
    with pytest.raises(ValueError, match="diff_from= or pairs="):
        pairs = {("worker", "__main__.A", "__main__.B"): "flipped"}
        blueprint_graph(app, diff_from=app, pairs=pairs)


def test_errors_say_what_to_pass():
    with pytest.raises(ValueError, match="pass app="):
        kit.boot_order(lifecycle(1, ["x.A"]))
    with pytest.raises(TypeError, match="a recording's path"):
        kit.boot_order(42, app=app_with(A))
    with pytest.raises(ValueError, match="restarts=2 needs a LocalCluster"):
        kit.boot_order(lifecycle(1, ["x.A"]), app=app_with(A), restarts=2)
    one = report(app_with(A), ["A", "Timer"])
    assert "compare at least 2" in repr(one)
    assert isinstance(one, BootOrder)


@pytest.mark.redis
@pytest.mark.slow
def test_real_workers_restarted_with_other_hash_seeds(redis_server, monkeypatch, tmp_path):
    """Each restart is a new process (fork=False: its own hash seed, pinned here); the orders the
    kit reads from kit-lifecycle events are the ones each worker reports (blueprint.order), pairs
    with a requires path never flip, and the flips are exactly where the reported orders differ.
    """
    app = app_with(A, B, Needs)
    snap = blueprint_steps(app)
    known = {bp: {s.name for s in snap.steps(bp)} for bp in ("worker", "consumer")}
    unordered = {frozenset((bp, a, b)) for bp, a, b in unordered_pairs(snap)}
    reported = []
    monkeypatch.setenv("PYTHONHASHSEED", "1")
    path = tmp_path / "run.jsonl"
    with kit.LocalCluster(app, workers=1, fork=False, progress=False, record=path) as cluster:
        name = cluster.workers[0]
        reported.append(cluster.inspect_blueprint(name))
        for seed in ("2", "3"):
            monkeypatch.setenv("PYTHONHASHSEED", seed)
            cluster.restart()
            reported.append(cluster.inspect_blueprint(name))
        monkeypatch.setenv("PYTHONHASHSEED", "4")
        rep = kit.boot_order(cluster, restarts=1)
        reported.append(cluster.inspect_blueprint(name))
    assert len(rep.runs) == 8 and len({r.pid for r in rep.runs}) == 4
    flips = [(p.blueprint, p.step, p.other) for p in rep.flipped]
    for bp in ("worker", "consumer"):
        seen = [tuple(n for n in r.order if n in known[bp]) for r in rep.runs if r.blueprint == bp]
        told = [tuple(s["name"] for s in reply[bp] if s["name"] in known[bp]) for reply in reported]
        assert seen == told
        pos = [{n: i for i, n in enumerate(order)} for order in told]
        for i, a in enumerate(told[0]):
            for b in told[0][i + 1 :]:
                both = {p[a] < p[b] for p in pos}
                if frozenset((bp, a, b)) not in unordered:
                    assert both == {True}, f"{a} and {b} have a requires path, yet flipped"
                flipped = frozenset((bp, a, b)) in {frozenset(k) for k in flips}
                assert flipped == (len(both) == 2), (a, b, both)
    dot = rep.graph(celery=True).source
    for bp, a, b in flips:
        assert f'"{bp}/{a}" -> "{bp}/{b}" [class="pair {bp} flipped"' in dot
    again = kit.boot_order(path)
    assert [r.order for r in again.runs] == [r.order for r in rep.runs]
    assert again.rows() == rep.rows()
