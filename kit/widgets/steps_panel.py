"""The Steps panel: tick catalog steps and your own; Apply → rolling restart → blueprint diff."""

import sys
import warnings

import ipywidgets as w
from celery import bootsteps

from kit.blueprints.graph import blueprint_diff
from kit.blueprints.snapshot import blueprint_steps
from kit.roster import plural
from kit.steps import CATALOG
from kit.widgets.panel import Panel, escape

#: The base classes a notebook subclasses: not steps to offer.
_BASES = {bootsteps.Step, bootsteps.StartStopStep, bootsteps.ConsumerStep}


def _blueprint_of(cls):
    """Where a notebook's step likely belongs: the consumer if it is or requires a ConsumerStep."""
    requires = " ".join(
        r if isinstance(r, str) else f"{r.__module__}:{r.__name__}" for r in cls.requires or ()
    )
    return (
        "consumer"
        if issubclass(cls, bootsteps.ConsumerStep) or "worker.consumer" in requires
        else "worker"
    )


def notebook_steps(module_name="__main__"):
    """Step classes defined at the top level of the notebook (its `__main__`)."""
    module = sys.modules.get(module_name)
    found = []
    for obj in list(vars(module).values()) if module else []:
        if (
            isinstance(obj, type)
            and issubclass(obj, bootsteps.Step)
            and obj not in _BASES
            and not obj.__module__.startswith(("celery", "kit"))
        ):
            found.append(obj)
    return found


def label_of(step):
    return step if isinstance(step, str) else f"{step.__module__}.{step.__name__}"


def svg_html(graph, max_height="420px"):
    """A graphviz graph as inline SVG, no wider than its box (so its caption shows), scrolling."""
    svg = graph.svg()
    svg = svg[svg.find("<svg") :].replace("<svg ", "<svg style='max-width:100%;height:auto' ", 1)
    return (
        f"<div style='max-height:{max_height};overflow:auto;border:1px solid #e0e0e0'>{svg}</div>"
    )


class StepsPanel(Panel):
    """A checkbox per ready step (kit.steps.CATALOG) and per step class in app.steps or notebook."""

    title = "Steps"

    def __init__(self, dash):
        super().__init__(dash)
        self.boxes = {}
        self.items = {}
        self._offered = []
        self.list = w.VBox(layout=w.Layout(max_height="260px", overflow="auto"))
        self.deadline = w.BoundedFloatText(
            value=min(30.0, self.cluster.timeout),
            min=2,
            max=600,
            description="boot deadline (s)",
            style={"description_width": "initial"},
            layout=w.Layout(width="200px"),
        )
        self.apply_button = self.button(
            "Apply (rolling restart)", self.apply, icon="refresh", style="primary", action="restart"
        )
        self.rescan_button = self.button(
            "Rescan",
            self.rescan,
            icon="search",
            tooltip="Pick up steps added to app.steps or defined in the notebook since",
        )
        self.diff = w.HTML()
        self.warnings = w.HTML()
        self.rescan()
        self.widget = w.VBox(
            [
                w.HTML(
                    "<b>Steps in the workers' blueprints</b> — tick, then Apply. Errors name the "
                    "step; a worker that cannot boot is rolled back."
                ),
                self.list,
                w.HBox([self.apply_button, self.rescan_button, self.deadline]),
                self.status,
                self.warnings,
                self.diff,
            ]
        )

    def candidates(self):
        """(key, blueprint, step, description): catalog, then app.steps, then notebook classes."""
        out, seen = [], set()
        for name, (bp, cls) in CATALOG.items():
            out.append(
                (
                    f"{bp}:{label_of(cls)}",
                    bp,
                    cls,
                    f"<b>{escape(name)}</b> · {bp} · {escape(cls.__name__)}",
                )
            )
            seen.update([cls] if self.app is not None else [cls, cls.__name__])
        for bp in ("worker", "consumer"):
            for step in sorted(self.added(bp), key=label_of):
                if step not in seen:
                    seen.add(step)
                    out.append(
                        (f"{bp}:{label_of(step)}", bp, step, f"{bp} · {escape(label_of(step))}")
                    )
        for cls in notebook_steps() if self.app is not None else ():
            if cls not in seen:
                bp = _blueprint_of(cls)
                out.append(
                    (
                        f"{bp}:{label_of(cls)}",
                        bp,
                        cls,
                        f"{bp} · {escape(label_of(cls))} <i>(notebook)</i>",
                    )
                )
        return out

    def added(self, bp):
        """The steps in app.steps[bp]; a replay's: the names it recorded."""
        if self.app is None:
            return set(self.cluster.steps_added[bp])
        return self.app.steps[bp]

    def _ticked(self, bp, step):
        added = self.added(bp)
        return step in added or (self.app is None and getattr(step, "__name__", step) in added)

    def offer(self, step, blueprint=None):
        """Add a step class (e.g. from a module) to the picker, unticked; returns its key."""
        blueprint = blueprint or _blueprint_of(step)
        self._offered.append(
            (
                f"{blueprint}:{label_of(step)}",
                blueprint,
                step,
                f"{blueprint} · {escape(label_of(step))} <i>(offered)</i>",
            )
        )
        self.rescan()
        return self._offered[-1][0]

    def rescan(self):
        """Rebuild the list (ticks not applied yet are kept)."""
        found = self.candidates()
        found += [o for o in self._offered if o[0] not in {key for key, *_ in found}]
        self.items = {key: (bp, step) for key, bp, step, _ in found}
        ticked = {key: box.value for key, box in self.boxes.items()}
        self.boxes = {
            key: w.Checkbox(
                value=ticked.get(key, self._ticked(bp, step)),
                indent=False,
                layout=w.Layout(width="auto"),
            )
            for key, (bp, step) in self.items.items()
        }
        self.list.children = [w.HBox([self.boxes[key], w.HTML(text)]) for key, _, _, text in found]

    def sync(self):
        """Tick exactly the steps that are in app.steps."""
        for key, (bp, step) in self.items.items():
            self.boxes[key].value = self._ticked(bp, step)

    def check(self, key_or_step, value=True):
        """Tick (or untick) a step by catalog name, class, or key; the test-friendly click."""
        if key_or_step in CATALOG:
            bp, key_or_step = CATALOG[key_or_step]
        keys = [k for k, (_, step) in self.items.items() if key_or_step in (k, step)]
        if not keys:
            raise ValueError(
                f"no step {key_or_step!r} in the picker: choose from {sorted(self.items)!r} "
                "(define it in the notebook and press Rescan, or add it to app.steps)"
            )
        for key in keys:
            self.boxes[key].value = value

    def apply(self):
        """Put the ticked steps in app.steps, restart the workers, show the blueprint diff."""
        saved = {bp: set(self.app.steps[bp]) for bp in ("worker", "consumer")}
        before = blueprint_steps(self.app)
        for key, (bp, step) in self.items.items():
            (self.app.steps[bp].add if self.boxes[key].value else self.app.steps[bp].discard)(step)
        added = [label_of(s) for bp in saved for s in self.app.steps[bp] - saved[bp]]
        removed = [label_of(s) for bp in saved for s in saved[bp] - self.app.steps[bp]]
        self.say(f"restarting {plural(len(self.cluster.workers), 'worker')}…")
        try:
            self._restart()
        except BaseException:
            # the cluster rolled back: make the app agree with it
            for bp, steps in saved.items():
                self.app.steps[bp].clear()
                self.app.steps[bp].update(steps)
            self.sync()
            raise
        self.diff.value = svg_html(blueprint_diff(before, self.app))
        changes = ", ".join([f"+{a}" for a in added] + [f"−{r}" for r in removed]) or "no change"
        self.say(f"✔ {escape(changes)} · restarted {escape(', '.join(self.cluster.workers))}")
        self.dash.after_restart(self)

    def _restart(self):
        """cluster.restart() with this panel's boot deadline; its warnings are shown here.

        A warning such as "start may block".
        """
        timeout, self.cluster.timeout = self.cluster.timeout, self.deadline.value
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.cluster.restart()
        finally:
            self.cluster.timeout = timeout
            self.warnings.value = "".join(
                f"<div style='color:#8a6d00'>⚠ {escape(m.category.__name__)}: {escape(m.message)}</div>"
                for m in caught
            )
