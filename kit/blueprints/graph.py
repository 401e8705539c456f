"""Graphviz pictures of a worker's two blueprints: static, live, diffs and a focused step."""

from __future__ import annotations

from kit.blueprints.graph_style import (
    EDGE_ATTR,
    GRAPH_ATTR,
    NODE_ATTR,
    edge_attrs,
    is_probe,
    legend,
    node_attrs,
    node_id,
    pair_attrs,
)
from kit.blueprints.render import HINT, BlueprintGraph
from kit.blueprints.snapshot import BLUEPRINTS, blueprint_steps

__all__ = [
    "BLUEPRINT_CHOICES",
    "HINT",
    "BlueprintGraph",
    "blueprint_diff",
    "blueprint_graph",
    "related_steps",
]

#: Values accepted by ``blueprint_graph(..., blueprint=...)``.
BLUEPRINT_CHOICES = ("both",) + BLUEPRINTS
#: Where Celery defines the worker step that starts the consumer blueprint.
CONSUMER_STEP = "celery.worker.components.Consumer"


def _plain(snap, names) -> tuple[dict, dict]:
    """Rows ``{bp: [(step, mark)]}`` and edges ``{(bp, a, b): mark}`` with no marks."""
    rows = {bp: [(s, "") for s in snap.steps(bp)] for bp in names}
    return rows, {(bp, s.name, r): "" for bp in names for s, _ in rows[bp] for r in s.requires}


def _diffed(before, after, names) -> tuple[dict, dict]:
    """Rows and edges of ``after`` plus what ``before`` had, marked added or removed."""
    rows, edges = _plain(after, names)
    old_rows, old_edges = _plain(before, names)
    old = {(bp, s.name) for bp in names for s, _ in old_rows[bp]}
    for bp in names:
        new = {s.name for s, _ in rows[bp]}
        rows[bp] = [(s, "" if (bp, s.name) in old else "added") for s, _ in rows[bp]]
        rows[bp] += [(s, "removed") for s, _ in old_rows[bp] if s.name not in new]
    marked = {key: "" if key in old_edges else "added" for key in edges}
    return rows, marked | {key: "removed" for key in old_edges if key not in edges}


def _reach(start: str, links: dict) -> set:
    seen, todo = set(), list(links.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(links.get(name, ()))
    return seen


def _after_last(step, steps) -> set:
    """A ``last`` step implicitly requires every other step of its blueprint."""
    return {s.name for s in steps if not s.last} if step.last else set()


def related_steps(snap, focus: str) -> dict:
    """``{(bp, name): mark}``: 'focus', what it 'requires', what is 'required-by' it.

    Both transitively.
    """
    found = snap.find(focus)
    if not found:
        labels = sorted({s.label for bp in BLUEPRINTS for s in snap.steps(bp)})
        raise ValueError(f"focus={focus!r} is no step's label, name or ref; labels: {labels}")
    marks = {}
    for bp, step in found:
        needs = {s.name: set(s.requires) | _after_last(s, snap.steps(bp)) for s in snap.steps(bp)}
        needed_by = {n: {m for m, reqs in needs.items() if n in reqs} for n in needs}
        marks |= {(bp, n): "requires" for n in _reach(step.name, needs)}
        marks |= {(bp, n): "required-by" for n in _reach(step.name, needed_by)}
    return marks | {(bp, step.name): "focus" for bp, step in found}


def _focused(snap, names, focus: str) -> tuple[dict, dict]:
    marks = related_steps(snap, focus)
    rows, edges = _plain(snap, names)
    rows = {bp: [(s, marks.get((bp, s.name), "dim")) for s, _ in rows[bp]] for bp in names}

    def edge_mark(bp, a, b):
        ma, mb = marks.get((bp, a)), marks.get((bp, b))
        if ma in ("focus", "requires") and mb == "requires":
            return "requires"
        return "required-by" if ma == "required-by" and mb in ("focus", "required-by") else "dim"

    return rows, {key: edge_mark(*key) for key in edges}


def _last_edges(g, bp: str, rows: list) -> None:
    """Dotted lines from a ``last`` step to the steps nothing else requires: it boots after them."""
    required = {r for s, _ in rows for r in s.requires}
    for last, _ in (r for r in rows if r[0].last):
        for s, _ in rows:
            if s.name not in required and not s.last:
                g.edge(
                    node_id(bp, last.name),
                    node_id(bp, s.name),
                    style="dotted",
                    arrowhead="none",
                    color="#c0c8d0",
                    **{"class": f"after-last {bp}"},
                )


def _drawn(rows: dict) -> set:
    """The kinds of mark a picture of these rows holds, for the legend."""
    steps = [s for pairs in rows.values() for s, _ in pairs]
    out = {"probe"} if any(is_probe(s) for s in steps) else set()
    if any(s.last for s in steps):
        out.add("last")
    if rows.get("consumer") and any(s.name == CONSUMER_STEP for s, _ in rows.get("worker", ())):
        out.add("consumer")
    return out


def _without_probes(rows: dict, edges: dict) -> tuple[dict, dict]:
    hidden = {(bp, s.name) for bp, pairs in rows.items() for s, _ in pairs if is_probe(s)}
    rows = {
        bp: [(s, m) for s, m in pairs if (bp, s.name) not in hidden] for bp, pairs in rows.items()
    }
    return rows, {
        k: m for k, m in edges.items() if (k[0], k[1]) not in hidden and (k[0], k[2]) not in hidden
    }


def _pairs(g, rows: dict, pairs: dict) -> None:
    """Undirected lines between two steps of a blueprint (`pairs`: {(bp, a, b): mark})."""
    drawn = {(bp, s.name) for bp, steps in rows.items() for s, _ in steps}
    for (bp, a, b), mark in sorted(pairs.items()):
        if (bp, a) in drawn and (bp, b) in drawn:
            g.edge(node_id(bp, a), node_id(bp, b), **pair_attrs(bp, a, b, mark))


def _draw(
    rows: dict,
    edges: dict,
    title: str,
    modes: list,
    live: bool,
    probes: bool = True,
    pairs: dict | None = None,
) -> BlueprintGraph:
    if not probes:
        rows, edges = _without_probes(rows, edges)
    g = BlueprintGraph(
        "blueprints", graph_attr=GRAPH_ATTR, node_attr=NODE_ATTR, edge_attr=EDGE_ATTR
    )
    modes = modes + sorted(set((pairs or {}).values()))
    g.graph_attr["label"], g.legend_plain = legend(modes, title, live, _drawn(rows))
    for bp, steps in rows.items():
        with g.subgraph(name=f"cluster_{bp}") as sub:
            # "r" is the left side in a right-to-left layout
            sub.attr(
                label=f"{bp} blueprint",
                style="rounded",
                color="#9aa5b1",
                fontsize="11",
                labelloc="t",
                labeljust="r",
            )
            for step, mark in steps:
                sub.node(node_id(bp, step.name), **node_attrs(bp, step, mark))
    for (bp, a, b), mark in sorted(edges.items()):
        if any(s.name == b for s, _ in rows[bp]):
            g.edge(node_id(bp, a), node_id(bp, b), **edge_attrs(bp, a, b, mark))
    for bp, steps in rows.items():
        _last_edges(g, bp, steps)
    _pairs(g, rows, pairs or {})
    _link_consumer(g, rows)
    return g


def _link_consumer(g, rows: dict) -> None:
    """The worker's Consumer step starts the consumer blueprint: link it to that cluster."""
    consumer_steps = sorted(rows.get("consumer", ()), key=lambda pair: pair[0].order)
    if consumer_steps and any(s.name == CONSUMER_STEP for s, _ in rows.get("worker", ())):
        g.edge(
            node_id("worker", CONSUMER_STEP),
            node_id("consumer", consumer_steps[0][0].name),
            lhead="cluster_consumer",
            constraint="false",
            style="bold",
            color="#7a8ca3",
            tooltip="Consumer starts the consumer blueprint",
            **{"id": "starts-consumer", "class": "starts-consumer"},
        )


def _blueprints(blueprint: str) -> tuple:
    if blueprint not in BLUEPRINT_CHOICES:
        raise ValueError(f"blueprint={blueprint!r} is not one of {BLUEPRINT_CHOICES}")
    return BLUEPRINTS if blueprint == "both" else (blueprint,)


def _title(snap) -> str:
    return f"live: worker {snap.hostname}" if snap.live else f"static: app {snap.app!r} (no worker)"


def blueprint_graph(
    source,
    worker: str | None = None,
    blueprint: str = "both",
    diff_from=None,
    focus: str | None = None,
    probes: bool = True,
    pairs: dict | None = None,
) -> BlueprintGraph:
    """Draw the blueprints of an app (static), a cluster's worker (live) or a Snapshot.

    `probes=False` leaves out the kit's own instrumentation steps (drawn grey and dotted, "kit
    probe"). `pairs` ({(blueprint, step name, step name): 'flipped'}) draws a dashed red line
    between each two steps, e.g. the ones that booted in either order (kit.boot_order).
    """
    names = _blueprints(blueprint)
    marks = set((pairs or {}).values()) - {"flipped"}
    if marks:
        raise ValueError(f"pairs= marks {sorted(marks)!r}: the one mark drawn is 'flipped'")
    if diff_from is not None and focus is not None:
        raise ValueError(f"pass diff_from= or focus=, not both (focus={focus!r})")
    snap = blueprint_steps(source, worker)
    if diff_from is not None:
        if pairs:
            raise ValueError(f"pass diff_from= or pairs=, not both (pairs={pairs!r:.80})")
        return blueprint_diff(diff_from, snap, blueprint=blueprint)
    if focus is not None:
        rows, edges = _focused(snap, names, focus)
        title = f"{_title(snap)} · focus: {focus}"
        modes = ["live"] * snap.live + ["focus"]
        return _draw(rows, edges, title, modes, snap.live, probes, pairs)
    modes = ["live"] * snap.live
    return _draw(*_plain(snap, names), _title(snap), modes, snap.live, probes, pairs)


def blueprint_diff(before, after, blueprint: str = "both") -> BlueprintGraph:
    """Draw ``after`` with the steps and requires edges added or removed since ``before``.

    Added ones are green, removed ones red.
    """
    names = _blueprints(blueprint)
    old, new = blueprint_steps(before), blueprint_steps(after)
    rows, edges = _diffed(old, new, names)
    title = _title(new) if _title(old) == _title(new) else f"{_title(old)} → {_title(new)}"
    return _draw(rows, edges, f"diff: {title}", ["diff"], new.live)
