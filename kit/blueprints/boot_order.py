"""Boot order across runs: the step pairs no `requires` path orders, and which of them flipped."""

from __future__ import annotations

from dataclasses import dataclass

from kit.blueprints import boot_runs
from kit.blueprints.snapshot import BLUEPRINTS, Snapshot, blueprint_steps

__all__ = ["BootOrder", "Pair", "boot_order", "unordered_pairs"]

#: The table's columns: the pair, how often each came first, and the line that pins it.
COLUMNS = ["blueprint", "step", "other", "step first", "other first", "status", "edit", "requires"]


@dataclass(frozen=True)
class Pair:
    """Two steps of a blueprint that no `requires` path orders, and how the runs ordered them."""

    blueprint: str
    #: the name of the one first in the kit's static order.
    step: str
    #: the other one's name.
    other: str
    #: runs that made `step` before `other`.
    step_first: int
    #: runs that made `other` first.
    other_first: int
    #: the label of the step whose `requires` would pin the pair (None: Celery's).
    edit: str | None
    #: the line to paste into that step's class (a comment when both are Celery's).
    requires: str

    @property
    def runs(self) -> int:
        """Runs that made both steps."""
        return self.step_first + self.other_first

    @property
    def flipped(self) -> bool:
        """True when the runs made them in both orders."""
        return self.step_first > 0 and self.other_first > 0

    @property
    def status(self) -> str:
        """'flipped', or 'not pinned (did not flip in N runs)'."""
        return "flipped" if self.flipped else f"not pinned (did not flip in {self.runs} runs)"


def _closure(steps) -> dict:
    """name -> every step it waits for: its `requires`, transitively; a `last` step, all others."""
    needs = {s.name: set(s.requires) for s in steps}
    for s in steps:
        if s.last:
            needs[s.name] |= {o.name for o in steps if not o.last}
    out = {}
    for name in needs:
        seen, todo = set(), list(needs[name])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(needs.get(n, ()))
        out[name] = seen
    return out


def unordered_pairs(snapshot: Snapshot) -> list:
    """(blueprint, a, b) for each two steps that no `requires` path (nor `last`) orders.

    `a` comes first in the snapshot's order.
    """
    out = []
    for bp in BLUEPRINTS:
        steps = snapshot.steps(bp)
        closure = _closure(steps)
        for i, a in enumerate(steps):
            for b in steps[i + 1 :]:
                if b.name not in closure[a.name] and a.name not in closure[b.name]:
                    out.append((bp, a.name, b.name))
    return out


def _ref(info) -> str:
    """How `requires` names a step: the class itself when defined in `__main__` (a notebook)."""
    module, _, cls = info.ref.partition(":")
    return cls if module == "__main__" else f'"{info.ref}"'


def _pin(by_name: dict, first: str, then: str) -> tuple:
    """(label, line): `then` requires `first`, written into `then`'s class (None: Celery's own)."""
    if not by_name[then].user:
        hint = "a step of yours that needs both should require both"
        return None, f"# both are Celery's own steps: {hint}"
    reqs = [by_name[r] for r in by_name[then].requires if r in by_name] + [by_name[first]]
    return by_name[then].label, "requires = {" + ", ".join(sorted(map(_ref, reqs))) + "}"


def _pair(snapshot, runs, bp, a, b) -> Pair:
    seen = [r.order for r in runs if r.blueprint == bp and a in r.order and b in r.order]
    a_first = sum(order.index(a) < order.index(b) for order in seen)
    by_name = {s.name: s for s in snapshot.steps(bp)}
    # the step of yours gets the requires; of two of yours, the one that came second more often
    if by_name[b].user and (not by_name[a].user or a_first >= len(seen) - a_first):
        edit, line = _pin(by_name, a, b)
    else:
        edit, line = _pin(by_name, b, a)
    return Pair(bp, a, b, a_first, len(seen) - a_first, edit, line)


class BootOrder:
    """The boot orders of several runs against what `requires` guarantees.

    `runs`: the BootRuns (`orders()`: as a DataFrame); `pairs`: a Pair per two steps no `requires`
    path orders, flipped ones first; `table()`: them as a DataFrame; `graph()`: the blueprint with
    flipped pairs drawn as dashed red lines. Steps the runs made that the snapshot lacks (the
    kit's probes) are left out.
    """

    def __init__(self, snapshot: Snapshot, runs: list):
        self.snapshot = snapshot
        self.runs = list(runs)
        pairs = [_pair(snapshot, self.runs, *key) for key in unordered_pairs(snapshot)]
        self.pairs = sorted(pairs, key=lambda p: (not p.flipped, p.edit is None))

    @property
    def flipped(self) -> list:
        """The pairs the runs made in both orders."""
        return [p for p in self.pairs if p.flipped]

    @property
    def note(self) -> str:
        """What the runs can tell: how many, and why none flipped when so."""
        per = {bp: sum(r.blueprint == bp for r in self.runs) for bp in BLUEPRINTS}
        text = f"{per['worker']} worker and {per['consumer']} consumer blueprint boots"
        if min(per.values()) < 2:
            return f"{text}: compare at least 2 (restarts=N, or more recordings)"
        if not self.flipped:
            return (
                f"{text}, no pair flipped. Workers forked from the kit's fork server share its "
                "hash seed, so Celery's own steps (named by strings) keep one order: "
                "kit.LocalCluster(app, fork=False) gives each process its own"
            )
        return f"{text}, {len(self.flipped)} of {len(self.pairs)} unordered pairs flipped"

    def rows(self) -> list:
        """The pairs as dicts, labels for names (the table's rows)."""
        label = {(bp, s.name): s.label for bp in BLUEPRINTS for s in self.snapshot.steps(bp)}
        return [
            {
                "blueprint": p.blueprint,
                "step": label[p.blueprint, p.step],
                "other": label[p.blueprint, p.other],
                "step first": p.step_first,
                "other first": p.other_first,
                "status": p.status,
                "edit": p.edit or "",
                "requires": p.requires,
            }
            for p in self.pairs
        ]

    def table(self):
        """The pairs as a pandas DataFrame, flipped ones first."""
        import pandas

        return pandas.DataFrame(self.rows(), columns=COLUMNS)

    def orders(self):
        """The runs as a pandas DataFrame: worker, pid, blueprint and the order, in labels."""
        import pandas

        label = {s.name: s.label for bp in BLUEPRINTS for s in self.snapshot.steps(bp)}
        rows = [
            (r.worker, r.pid, r.blueprint, " → ".join(label[n] for n in r.order if n in label))
            for r in self.runs
        ]
        return pandas.DataFrame(rows, columns=["worker", "pid", "blueprint", "order"])

    def graph(self, blueprint: str = "both", celery: bool = False):
        """The static blueprint graph, each flipped pair with a step of yours a dashed red line.

        `celery=True` also draws the flipped pairs of Celery's own steps.
        """
        from kit.blueprints.graph import blueprint_graph

        shown = [p for p in self.flipped if celery or p.edit is not None]
        marks = {(p.blueprint, p.step, p.other): "flipped" for p in shown}
        return blueprint_graph(self.snapshot, blueprint=blueprint, pairs=marks)

    def __repr__(self):
        return f"<BootOrder: {self.note}>"

    def _repr_html_(self):
        import html

        return f"<p>{html.escape(self.note)}</p>" + self.table().to_html(index=False)


def boot_order(source, *, app=None, restarts: int = 0) -> BootOrder:
    """Compare the boot orders of several runs with what the steps' `requires` guarantee.

    `source`: a LocalCluster (restarted `restarts` times first: every restart is a new process
    per worker), another cluster view, `kit.replay(path)`, a recording's path, a list of those, or
    a list of `kit-lifecycle` event dicts. `app`: the Celery app whose `requires` decide (default:
    the cluster's app, or the recording's static blueprint).
    """
    snapshot, runs = boot_runs.read(source, restarts)
    if app is not None:
        snapshot = blueprint_steps(app)
    if snapshot is None:
        raise ValueError(
            "no blueprint to compare the runs with: pass app= (the Celery app the workers ran), "
            "e.g. kit.boot_order(source, app=app)"
        )
    return BootOrder(snapshot, runs)
