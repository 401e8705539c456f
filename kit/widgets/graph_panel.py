"""The Graph panel: the live blueprints of a worker (or the app's static ones) as SVG.

A button draws it again.
"""

import ipywidgets as w

from kit.blueprints.graph import BLUEPRINT_CHOICES, blueprint_graph
from kit.errors import ClusterError
from kit.events.contract import GOSSIP
from kit.roster import live_workers
from kit.widgets.panel import Panel, escape, set_options
from kit.widgets.steps_panel import svg_html

#: The dropdown entry for the static graph of the app (no worker asked).
STATIC = "app (static)"


class GraphPanel(Panel):
    """What actually booted in a worker, redrawn after every restart or on Refresh."""

    title = "Graph"
    types = ("worker-online", "worker-offline", GOSSIP)

    def __init__(self, dash):
        super().__init__(dash)
        self.source = w.Dropdown(
            description="draw", options=[STATIC], layout=w.Layout(width="280px")
        )
        self.blueprint = w.ToggleButtons(
            options=BLUEPRINT_CHOICES, value="both", style={"button_width": "90px"}
        )
        self.probes = w.Checkbox(
            value=True, description="kit probes", indent=False, layout=w.Layout(width="110px")
        )
        self.refresh_button = self.button("Refresh", self.render, icon="refresh")
        self.svg = w.HTML()
        self.drawn = None
        self._rendering = self._picked = False
        for control in (self.source, self.blueprint, self.probes):
            control.observe(self._changed, names="value")
        try:
            self.render()
        except ClusterError as exc:
            # a worker that does not answer yet: the dashboard opens
            # anyway, saying so; Refresh (or the next join) draws it
            self.fail(exc)
            dash.show_error(exc, f"{self.title}: render")
        self.widget = w.VBox(
            [
                w.HBox([self.source, self.blueprint, self.probes, self.refresh_button]),
                self.status,
                self.svg,
            ]
        )

    def _changed(self, _change):
        if not self._rendering:
            # the reader chose: a replay no longer picks a worker for them
            self._picked = True
            self.dash.run(self, self.render)

    def _drawable(self, workers):
        """The workers whose live blueprint can be drawn (a replay's: once it handed it out)."""
        return [n for n in workers if self.cluster.has_blueprint(n)]

    def _set_sources(self, workers):
        self._rendering = True
        try:
            set_options(
                self.source, [STATIC, *workers] + ([self.drawn] if self._gone(workers) else [])
            )
        finally:
            self._rendering = False

    def _gone(self, workers):
        return self.drawn not in (None, STATIC) and self.drawn not in workers

    def render(self):
        """Draw the chosen source: the app's static blueprint or a live worker's."""
        workers = self._drawable(live_workers(self.cluster))
        name = self.source.value
        if (name != STATIC and name not in workers) or (
            name == STATIC and workers and not self.svg.value
        ):
            name = workers[0] if workers else STATIC
        self.drawn = name
        self._set_sources(workers)
        self._rendering = True
        try:
            self.source.value = name
        finally:
            self._rendering = False
        kw = {"blueprint": self.blueprint.value, "probes": self.probes.value}
        if name == STATIC and self.app is None and self.cluster.static is None:
            self.svg.value, self.drawn = "<i>no static blueprint in this recording</i>", name
            return
        graph = (
            blueprint_graph(self.cluster.static if self.app is None else self.app, **kw)
            if name == STATIC
            else blueprint_graph(self.cluster, worker=name, **kw)
        )
        self.svg.value, self.drawn = svg_html(graph, max_height="520px"), name
        self.say(
            f"drawn: {escape(name)}"
            + (" — what booted in this worker process" if name != STATIC else "")
        )

    def on_event(self, event):
        return event.get("type") != GOSSIP or event.get("event") in (
            "node_join",
            "node_leave",
            "node_lost",
        )

    def refresh(self):
        """Keep the worker list true; a drawing of a worker that is gone says so and is greyed."""
        workers = self._drawable(live_workers(self.cluster))
        if self.drawn == STATIC and workers and self.app is None and not self._picked:
            # a replay reached a worker: draw it, as live opens
            self._set_sources(workers)
            self._rendering = True
            try:
                self.source.value = workers[0]
            finally:
                self._rendering = False
            return self.render()
        self._set_sources(workers)
        stale = "opacity:0.35" in self.svg.value[:80]
        # a replay played it back
        if stale and self.app is None and self.drawn in workers:
            return self.render()
        if self._gone(workers) and not stale:
            self.svg.value = f"<div style='opacity:0.35'>{self.svg.value}</div>"
            self.say(
                f"{escape(self.drawn)} is gone (stopped or killed): this drawing is how it was. "
                "Pick a live worker, or Refresh.",
                ok=False,
            )

    def after_restart(self):
        self.render()
