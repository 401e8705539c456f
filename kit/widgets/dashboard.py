"""kit.Dashboard: a cluster's steps, gossip, consumer, options, graph and timeline in one widget."""

import collections
import threading
import time

import ipywidgets as w

from kit.events.contract import FEED, REPLAY
from kit.roster import Roster
from kit.widgets.consumer import ConsumerPanel
from kit.widgets.gossip import GossipPanel
from kit.widgets.graph_panel import GraphPanel
from kit.widgets.header import header_html
from kit.widgets.live_status import live_status
from kit.widgets.options_panel import OptionsPanel
from kit.widgets.panel import traceback_html
from kit.widgets.steps_panel import StepsPanel
from kit.widgets.timeline import Timeline

#: Events that change the header (the feed's connection, workers coming and going, a replay
#: going back in time).
HEADER = (FEED, REPLAY, *Roster.TYPES)


class Dashboard:
    """Every panel of the kit for one cluster, in tabs that fit a laptop: `kit.Dashboard(cluster)`.

    A button runs its action in the kernel with every button disabled meanwhile. An exception
    raised by an action (or by a live update) is shown in the panel and in the error area
    below the tabs, and kept in `errors`. The header and the panels are redrawn by the cluster's
    LiveStatus (shared with its card, at most 10 times a second); the timeline at most `rate`.
    """

    def __init__(self, cluster, window=60.0, rate=10.0):
        self.cluster = cluster
        self.errors = []
        self.running = False
        #: the cluster's one Roster and redraw thread, shared with its card
        self.status = live_status(cluster)
        self.roster = self.status.roster
        self.closed_at = None
        self._dirty = set()
        self._dirty_lock = threading.Lock()
        self._shown = collections.deque(maxlen=5)
        self.header = w.HTML()
        self.error_area = w.HTML()
        self.clear_button = w.Button(
            description="Clear errors", icon="trash", layout=w.Layout(width="auto")
        )
        self.clear_button.on_click(lambda _b: self.clear_errors())
        self.error_box = w.VBox(
            [self.error_area, self.clear_button], layout=w.Layout(display="none")
        )
        self.steps = StepsPanel(self)
        self.gossip = GossipPanel(self)
        self.consumer = ConsumerPanel(self)
        self.options = OptionsPanel(self)
        self.graph = GraphPanel(self)
        self.panels = [self.steps, self.gossip, self.consumer, self.options, self.graph]
        #: False for a replay: no action runs, only the graph redraws as it moves
        self.live = cluster.live
        # each action on as the view allows it, or off with its reason (a room's restarts, ...)
        for panel in self.panels:
            panel.allow_actions()
        if not self.live:
            self.steps.deadline.disabled = True
        self.timeline = Timeline(cluster, window=window, rate=rate)
        self.tabs = w.Tab(
            children=[p.widget for p in self.panels] + [self.timeline.widget],
            titles=[p.title for p in self.panels] + ["Timeline"],
        )
        #: a replay's play/pause, speed and position slider
        self.bar = None
        if not self.live:
            from kit.widgets.replay_bar import ReplayBar

            self.bar = ReplayBar(cluster)
        self.widget = w.VBox(
            [self.header, *([self.bar.widget] if self.bar else []), self.tabs, self.error_box],
            layout=w.Layout(width="100%", max_width="1150px"),
        )
        self._routes = [(p, frozenset(p.types)) for p in self.panels if p.types]
        types = set(HEADER).union(*(t for _, t in self._routes))
        self._feed_lock = threading.Lock()
        cluster.events.subscribe(self._on_event, types=types, history=True)
        self._listeners = [self._on_event]
        with self._dirty_lock:
            self._dirty.update(self.panels)
        self.status.watch(self._refresh, on_error=lambda exc: self.show_error(exc, "live update"))

    # -- actions --------------------------------------------------------------------------------
    @property
    def buttons(self):
        """Every panel's buttons (tests click them)."""
        return [b for p in self.panels for b in p.buttons]

    def run(self, panel, handler):
        """Run a panel's action: buttons disabled meanwhile; an exception is shown, not hidden."""
        # an action triggered by another one (e.g. a dropdown it refreshed)
        if self.running:
            return handler()
        if self.closed_at is not None:
            return None
        # a replay: only drawing works
        if not self.live and handler != self.graph.render:
            return None
        self.running, states = True, [(b, b.disabled) for b in self.buttons]
        for b, _ in states:
            b.disabled = True
        try:
            panel.status.value = ""
            return handler()
        except Exception as exc:
            # shown in the panel and the error area
            panel.fail(exc)
            self.show_error(exc, f"{panel.title}: {getattr(handler, '__name__', 'action')}")
        finally:
            for b, disabled in states:
                b.disabled = disabled
            self.running = False
            # an action may have changed the workers: every panel looks again
            with self._dirty_lock:
                self._dirty.update(self.panels)
            self.status.poke()

    def show_error(self, exc, where):
        """Show an exception (traceback folded) in the error area below the tabs; keep five."""
        self.errors.append(exc)
        self._shown.append(traceback_html(exc, where))
        self.error_area.value = "".join(reversed(self._shown))
        self.error_box.layout.display = "flex"

    def clear_errors(self):
        """Forget the shown exceptions and empty the error area."""
        self.errors.clear()
        self._shown.clear()
        self.error_area.value = ""
        self.error_box.layout.display = "none"

    def after_restart(self, source):
        """Workers were restarted by `source`: let the other panels catch up (redraw a graph)."""
        for panel in self.panels:
            if panel is not source:
                panel.after_restart()
        with self._dirty_lock:
            self._dirty.update(self.panels)
        self.status.poke()

    # -- live updates (feed thread -> throttle thread) ------------------------------------------
    def _on_event(self, event):
        """On the feed's thread: hand the event to the panels that take it (and the header)."""
        with self._feed_lock:
            self._route(event)

    def _route(self, event):
        kind, header = event.get("type"), event.get("type") in (FEED, REPLAY)
        # a replay went back: what the panels kept is ahead of it
        if kind == REPLAY:
            for panel in self.panels:
                panel.reset()
            dirty = self.panels
        else:
            dirty = [p for p, types in self._routes if kind in types and p.on_event(event)]
            header = header or (kind in Roster.TYPES and self.roster.on_event(event))
        if dirty:
            with self._dirty_lock:
                self._dirty.update(dirty)
        if dirty or header:
            self.status.poke()

    def _refresh(self):
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        if self.closed_at is not None:
            return
        for panel in dirty:
            panel.refresh()
        if self.cluster.closed:
            self._show_closed()
        self.header.value = header_html(
            self.cluster, self.roster, self.cluster.events.connected, self.closed_at
        )

    def _show_closed(self):
        """The cluster was closed: grey the dashboard, disable each control, freeze the timeline."""
        self.closed_at = time.time()
        for control in _controls(self.widget):
            control.disabled = True
        self.widget.add_class("kit-closed")
        self.timeline.freeze(self.closed_at)

    # -- lifetime and display -------------------------------------------------------------------
    def close(self):
        """Stop the live updates (the cluster keeps running)."""
        for fn in self._listeners:
            self.cluster.events.unsubscribe(fn)
        self.status.unwatch(self._refresh)
        self.timeline.close()
        if self.bar is not None:
            self.bar.close()

    def _repr_mimebundle_(self, **kwargs):
        # what a new view of the timeline draws first
        self.timeline.widget.refresh_snapshot()
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        tabs = [p.title for p in self.panels] + ["Timeline"]
        return f"<Dashboard of {self.cluster!r}: tabs {tabs}, {len(self.errors)} errors>"


def _controls(widget):
    """Every widget with a `disabled` trait in `widget`: buttons, dropdowns, checkboxes, text."""
    if widget.has_trait("disabled"):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _controls(child)
