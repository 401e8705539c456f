"""The Graph panel: the live blueprints of a chosen worker (or the app's static ones) as SVG, refreshable."""

import ipywidgets as w

from kit.graph import BLUEPRINT_CHOICES, blueprint_graph
from kit.widgets.panel import Panel, escape, set_options
from kit.widgets.steps import svg_html

#: The dropdown entry for the static graph of the app (no worker asked).
STATIC = "app (static)"


class GraphPanel(Panel):
    """What actually booted in a worker, redrawn after every restart or on Refresh."""

    title = "Graph"

    def __init__(self, dash):
        super().__init__(dash)
        self.source = w.Dropdown(description="draw", options=[STATIC], layout=w.Layout(width="280px"))
        self.blueprint = w.ToggleButtons(
            options=BLUEPRINT_CHOICES, value="both", style={"button_width": "90px"}
        )
        self.refresh_button = self.button("Refresh", self.render, icon="refresh")
        self.svg = w.HTML()
        self._rendering = False
        self.source.observe(self._changed, names="value")
        self.blueprint.observe(self._changed, names="value")
        self.render()
        self.widget = w.VBox(
            [w.HBox([self.source, self.blueprint, self.refresh_button]), self.status, self.svg]
        )

    def _changed(self, _change):
        if not self._rendering:
            self.dash.run(self, self.render)

    def render(self):
        self._rendering = True
        try:
            workers = self.cluster.workers
            set_options(self.source, [STATIC, *workers])
            if self.source.value == STATIC and workers and not self.svg.value:
                self.source.value = workers[0]
        finally:
            self._rendering = False
        name = self.source.value
        graph = (
            blueprint_graph(self.app, blueprint=self.blueprint.value)
            if name == STATIC
            else blueprint_graph(self.cluster, worker=name, blueprint=self.blueprint.value)
        )
        self.svg.value = svg_html(graph, max_height="520px")
        self.say(
            f"drawn: {escape(name)}" + (" — what booted in this worker process" if name != STATIC else "")
        )

    def after_restart(self):
        self.render()
