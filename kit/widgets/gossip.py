"""The Gossip panel: add, stop, kill a worker, start an election; the size each worker sees; log."""

import collections
import time

import ipywidgets as w

from kit.events.contract import CLUSTER_SIZE, FEED, GOSSIP, GOSSIP_EVENTS
from kit.roster import live_workers
from kit.widgets.gossip_chart import size_chart
from kit.widgets.panel import Panel, clock, escape, set_options, worker_dropdown

#: kit-gossip events shown in the log, with the fields that explain them.
DETAILS = GOSSIP_EVENTS


class LogLine(collections.namedtuple("LogLine", "time host what fields")):
    """One line of the gossip log: when, which worker saw what (node_join, elected...), fields."""


#: A symbol per callback (in every common font; the word beside it says it too).
ICONS = {
    "node_join": "▲",
    "node_leave": "▽",
    "node_lost": "✕",
    "recount": "↻",
    "election": "?",
    "elect-ack": "✓",
    "elected": "★",
    "won": "★",
    "cluster-size": "#",
}


class GossipPanel(Panel):
    """Buttons that make gossip happen, and what each worker's Gossip step saw."""

    title = "Gossip"
    types = (GOSSIP, CLUSTER_SIZE, FEED, "worker-online", "worker-offline", "worker-heartbeat")

    def __init__(self, dash, keep=200):
        super().__init__(dash)
        self.log = collections.deque(maxlen=keep)
        #: the cluster's clock (a replay's moves through its recording)
        self.now = self.cluster.now
        self.reset()
        self.worker = worker_dropdown()
        self.add_button = self.button(
            "Add worker", self.add, icon="plus", tooltip="peers see node_join", action="add"
        )
        self.stop_button = self.button(
            "Stop", self.stop, icon="stop", tooltip="warm shutdown: peers see node_leave", action="stop"
        )
        self.kill_button = self.button(
            "Kill", self.kill, icon="bolt", style="danger", tooltip="SIGKILL: node_lost", action="kill"
        )
        self.elect_button = self.button(
            "Start election",
            self.elect,
            icon="check-square",
            tooltip="from the chosen worker; exactly one wins",
            action="elect",
        )
        self.winner_html = w.HTML()
        self.log_html = w.HTML(layout=w.Layout(max_height="230px", overflow="auto"))
        self.chart = self._chart()
        self.worker.observe(lambda _change: self._ownership(), "value")
        self.refresh()
        self.widget = w.VBox(
            [
                w.HBox(
                    [
                        self.add_button,
                        self.worker,
                        self.stop_button,
                        self.kill_button,
                        self.elect_button,
                    ]
                ),
                self.status,
                self.winner_html,
                w.HBox([self.chart, self.log_html], layout=w.Layout(width="100%")),
            ]
        )

    def _chart(self):
        return w.HTML(layout=w.Layout(width="550px", min_width="550px"))

    def reset(self):
        """Forget what was heard (a replay going back in time hands it out again)."""
        self.log.clear()
        self.sizes = {}
        self.winner = None
        self._heard = 0.0

    # -- actions (run by the dashboard: buttons disabled meanwhile, errors shown) ---------------
    def chosen(self):
        """The worker picked in the dropdown; ValueError naming the workers if none is."""
        if not self.worker.value:
            raise ValueError(
                f"choose a worker first: the cluster's workers are {self.cluster.workers!r}"
            )
        return self.worker.value

    def add(self):
        """Start one more worker (its peers see node_join)."""
        name = self.cluster.add_worker()
        self.say(f"▲ started {escape(name)}: its peers report node_join")
        self.refresh_workers()

    def stop(self):
        """Stop the chosen worker with a warm shutdown (node_leave)."""
        name = self.chosen()
        self.cluster.stop_worker(name)
        self.say(f"▽ stopped {escape(name)} (warm shutdown): its peers report node_leave")
        self.refresh_workers()

    def kill(self):
        """SIGKILL the chosen worker (node_lost once its heartbeats stop)."""
        name = self.chosen()
        self.cluster.kill_worker(name)
        self.say(
            f"✕ killed {escape(name)} (SIGKILL): its peers report node_lost when its heartbeats stop"
        )
        self.refresh_workers()

    def elect(self):
        """Start an election from the chosen worker and show who won."""
        name = self.chosen()
        election = self.cluster.elect(worker=name)
        event = self.cluster.events.wait_for(GOSSIP, timeout=15, event="elected", election=election)
        leader = escape(event.get("leader"))
        self.say(f"election {escape(election)} started by {escape(name)}: ★ {leader} elected")

    def refresh_workers(self):
        """Fill the dropdown with the live workers."""
        set_options(self.worker, live_workers(self.cluster))
        self._ownership()

    def _ownership(self):
        """Add, Stop, Kill and the election as the view allows them on the chosen worker."""
        self.allow_actions(self.worker.value or None)

    # -- live part ------------------------------------------------------------------------------
    def on_event(self, event):
        kind = event.get("type")
        # keeps the size lines running to "now", once a second
        if kind == "worker-heartbeat":
            if time.monotonic() - self._heard < 1.0:
                return False
            self._heard = time.monotonic()
            return True
        if kind == FEED:
            return True
        what = event.get("event") or kind[4:]
        host, t = event.get("hostname", "?"), event.get("timestamp") or self.now()
        if kind.startswith("kit-"):
            self.log.append(
                LogLine(t, host, what, {k: event.get(k) for k in DETAILS.get(what, ("size",))})
            )
        # the size counts the worker itself
        if kind == GOSSIP and event.get("size") is not None:
            self.sizes.setdefault(host, collections.deque(maxlen=200)).append((t, event["size"]))
            # bounded: forget the worker heard from least recently
            if len(self.sizes) > 128:
                self.sizes.pop(
                    min(list(self.sizes.items()), key=lambda item: item[1][-1][0])[0], None
                )
        if what == "won":
            self.winner = (t, event.get("winner"))
        return True

    @property
    def ends(self):
        """{worker: (time, 'lost' | 'left')}: where each gone worker's line stops.

        From the view's worker states.
        """
        return self.cluster.worker_states.ended()

    def refresh(self):
        self.refresh_workers()
        if self.winner:
            t, name = self.winner
            self.winner_html.value = f"★ last election won by <b>{escape(name)}</b> at {clock(t)}"
        rows = "".join(
            f"<tr><td>{clock(t)}</td><td>{escape(host)}</td><td>{ICONS.get(what, '')} {escape(what)}</td>"
            f"<td>{escape(', '.join(f'{k}={v}' for k, v in fields.items() if v is not None))}</td></tr>"
            for t, host, what, fields in reversed(list(self.log)[-40:])
        )
        self.log_html.value = (
            "<table style='font-size:12px'><tr><th>time</th><th>seen by</th><th>callback</th>"
            f"<th></th></tr>{rows}</table>"
            if rows
            else "<i>no gossip callbacks yet</i>"
        )
        self._draw()

    def _draw(self):
        live = set(live_workers(self.cluster))
        ends = {h: end for h, end in self.ends.items() if h not in live}
        # copies: the feed thread appends to these deques while this draws
        sizes = [(host, list(points)) for host, points in list(self.sizes.items())]
        self.chart.value = size_chart(sizes, self.now(), live, ends)

    def sizes_seen(self):
        """{worker: latest cluster size it reported (itself + the peers its gossip knows)}."""
        return {host: points[-1][1] for host, points in list(self.sizes.items()) if points}
