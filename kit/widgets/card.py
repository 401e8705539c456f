"""The cluster's live card, what `cluster` shows in a notebook: state, broker, workers.

It also has a button that opens the dashboard.
"""

import weakref

import ipywidgets as w

from kit import status_html
from kit.events.contract import LIFECYCLE, STUCK
from kit.widgets.live_status import live_status

_cards = weakref.WeakKeyDictionary()


def card_of(cluster):
    """The one live card of a cluster (every display of `cluster` is a view of it)."""
    card = _cards.get(cluster)
    if card is None:
        card = _cards[cluster] = ClusterCard(cluster)
    return card


class ClusterCard:
    """dask's LocalCluster card for the kit, redrawn while the cluster lives.

    The cluster's LiveStatus (shared with its dashboard) redraws it.
    """

    def __init__(self, cluster):
        self.cluster = cluster
        self.status = live_status(cluster)
        self.roster = self.status.roster
        self.dashboard = None
        self.html = w.HTML(status_html.card(cluster, self.roster))
        self.open_button = w.Button(
            description="Open dashboard",
            icon="tachometer",
            tooltip="kit.Dashboard(cluster): steps, gossip, consumer, options, graph, timeline",
            layout=w.Layout(width="auto"),
        )
        self.open_button.on_click(lambda _b: self.open())
        self.out = w.Output()
        #: a replay's play/pause, speed and slider (the dashboard has its own)
        self.bar = None
        if not cluster.live:
            from kit.widgets.replay_bar import ReplayBar

            self.bar = ReplayBar(cluster)
            self.open_button.tooltip = "kit.Dashboard(replay): the same tabs, driven by the file"
        top = [self.bar.widget] if self.bar else []
        self.widget = w.VBox([*top, self.html, self.open_button, self.out])
        self.status.watch(self.refresh)
        # a stuck report, and the return of a stuck call, change the card's stuck lines
        self._stuck_hosts = set()
        cluster.events.subscribe(self._on_step_event, types=(STUCK, LIFECYCLE))

    def _on_step_event(self, event):
        """On the feed's thread: redraw for a stuck report, and for a stuck worker's next call."""
        host = event.get("hostname")
        if event.get("type") == STUCK:
            self._stuck_hosts.add(host)
            self.status.poke()
        elif host in self._stuck_hosts:
            if not self.cluster.worker_states.stuck(host):
                self._stuck_hosts.discard(host)
            self.status.poke()

    def open(self):
        """Show the cluster's dashboard under the card."""
        from kit.widgets.dashboard import Dashboard

        if self.dashboard is None:
            self.dashboard = Dashboard(self.cluster)
            with self.out:
                from IPython.display import display as show

                show(self.dashboard)
        self.open_button.disabled = True

    def refresh(self):
        """Redraw the card (only what changed goes to the page); stop once the cluster closed."""
        value = status_html.card(self.cluster, self.roster)
        if value != self.html.value:
            self.html.value = value
        if self.cluster.closed:
            self.open_button.disabled = True
            self.open_button.tooltip = "the cluster is closed"
            self.status.unwatch(self.refresh)
            self.cluster.events.unsubscribe(self._on_step_event)
            if self.bar is not None:
                self.bar.close()
