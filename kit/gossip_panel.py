"""The Gossip panel: add, stop or kill a worker, start an election; each worker's view of the cluster size; the log."""
import collections
import time

import ipywidgets as w

from kit.panels import Panel, clock, escape, live_workers, push, set_options, stamp, worker_dropdown

#: kit-gossip events shown in the log, with the fields that explain them.
DETAILS = {"node_join": ("peer", "size"), "node_leave": ("peer", "size"), "node_lost": ("peer", "size"),
           "election": ("election", "action"), "elect-ack": ("election", "requested_by"),
           "elected": ("election", "leader", "voters"), "won": ("winner", "action")}
ICONS = {"node_join": "🟢", "node_leave": "⚪", "node_lost": "❌", "election": "🗳", "elect-ack": "✋",
         "elected": "⭐", "won": "🏆", "cluster-size": "📏"}


class GossipPanel(Panel):
    """Buttons that make gossip happen, and what each worker's Gossip step saw."""

    title = "Gossip"

    def __init__(self, dash, keep=200):
        super().__init__(dash)
        self.log, self.sizes, self.winner = collections.deque(maxlen=keep), {}, None
        self._heard, self._shown = 0.0, {}
        self.worker = worker_dropdown()
        self.add_button = self.button("Add worker", self.add, icon="plus", tooltip="peers see node_join")
        self.stop_button = self.button("Stop", self.stop, icon="stop", tooltip="warm shutdown: peers see node_leave")
        self.kill_button = self.button("Kill", self.kill, icon="bolt", style="danger", tooltip="SIGKILL: node_lost")
        self.elect_button = self.button("Start election", self.elect, icon="check-square",
                                        tooltip="from the chosen worker; exactly one wins")
        self.winner_html, self.log_html = w.HTML(), w.HTML(layout=w.Layout(max_height="230px", overflow="auto"))
        self.chart = self._chart()
        for event in list(self.cluster.events.history):
            self.on_event(event)
        self.refresh()
        self.widget = w.VBox([w.HBox([self.add_button, self.worker, self.stop_button, self.kill_button,
                                      self.elect_button]), self.status, self.winner_html,
                              w.HBox([self.chart, self.log_html], layout=w.Layout(width="100%"))])

    def _chart(self):
        import plotly.graph_objects as go
        return go.FigureWidget(layout={"height": 260, "width": 480, "margin": {"l": 40, "r": 10, "t": 30, "b": 30},
                                       "title": {"text": "cluster size as each worker sees it", "font": {"size": 12}},
                                       "xaxis": {"type": "date", "tickformat": "%H:%M:%S"},
                                       "yaxis": {"rangemode": "tozero", "dtick": 1}, "legend": {"font": {"size": 10}},
                                       "uirevision": "kit"})

    # -- actions (run by the dashboard: buttons disabled meanwhile, errors shown) ---------------
    def chosen(self):
        if not self.worker.value:
            raise ValueError(f"choose a worker first: the cluster's workers are {self.cluster.workers!r}")
        return self.worker.value

    def add(self):
        name = self.cluster.add_worker()
        self.say(f"🟢 started {escape(name)}: its peers report node_join")
        self.refresh_workers()

    def stop(self):
        name = self.chosen()
        self.cluster.stop_worker(name)
        self.say(f"⚪ stopped {escape(name)} (warm shutdown): its peers report node_leave")
        self.refresh_workers()

    def kill(self):
        name = self.chosen()
        self.cluster.kill_worker(name)
        self.say(f"❌ killed {escape(name)} (SIGKILL): its peers report node_lost when its heartbeats stop")
        self.refresh_workers()

    def elect(self):
        name = self.chosen()
        election = self.cluster.elect(worker=name)
        event = self.cluster.events.wait_for("kit-gossip", timeout=15, event="elected", election=election)
        self.say(f"🗳 election {escape(election)} started by {escape(name)}: ⭐ {escape(event.get('leader'))} elected")

    def refresh_workers(self):
        set_options(self.worker, live_workers(self.cluster))

    # -- live part ------------------------------------------------------------------------------
    def on_event(self, event):
        kind = event.get("type")
        if kind == "worker-heartbeat":  # keeps the size lines running to "now", once a second
            if time.monotonic() - self._heard < 1.0:
                return False
            self._heard = time.monotonic()
            return True
        if kind not in ("kit-gossip", "kit-cluster-size", "worker-online", "worker-offline"):
            return kind == "kit-feed"
        what = event.get("event") or kind[4:]
        host, t = event.get("hostname", "?"), event.get("timestamp") or time.time()
        if kind.startswith("kit-"):
            self.log.append((t, host, what, {k: event.get(k) for k in DETAILS.get(what, ("size",))}))
        if kind == "kit-gossip" and event.get("size") is not None:  # the size counts the worker itself
            self.sizes.setdefault(host, collections.deque(maxlen=200)).append((t, event["size"]))
            if len(self.sizes) > 64:  # bounded: forget the worker heard from least recently
                self.sizes.pop(min(list(self.sizes.items()), key=lambda item: item[1][-1][0])[0], None)
        if what == "won":
            self.winner = (t, event.get("winner"))
        return True

    def refresh(self):
        self.refresh_workers()
        if self.winner:
            t, name = self.winner
            self.winner_html.value = f"🏆 last election won by <b>{escape(name)}</b> at {clock(t)}"
        rows = "".join(f"<tr><td>{clock(t)}</td><td>{escape(host)}</td><td>{ICONS.get(what, '')} {escape(what)}</td>"
                       f"<td>{escape(', '.join(f'{k}={v}' for k, v in fields.items() if v is not None))}</td></tr>"
                       for t, host, what, fields in reversed(list(self.log)[-40:]))
        self.log_html.value = ("<table style='font-size:12px'><tr><th>time</th><th>seen by</th><th>callback</th>"
                               f"<th></th></tr>{rows}</table>" if rows else "<i>no gossip callbacks yet</i>")
        self._draw()

    def _draw(self):
        now, live, traces = time.time(), set(live_workers(self.cluster)), []
        for host, points in sorted(list(self.sizes.items())):  # a copy: the feed thread adds hosts
            points = list(points) + ([(now, points[-1][1])] if host in live and points else [])
            traces.append({"type": "scatter", "meta": host, "name": host, "mode": "lines+markers",
                           "line": {"shape": "hv"}, "marker": {"size": 5}, "x": [stamp(t) for t, _ in points],
                           "y": [s for _, s in points], "hovertext": [f"{host} sees {s}" for _, s in points]})
        if traces:
            push(self.chart, traces, self._shown)

    def sizes_seen(self):
        """{worker: latest cluster size it reported (itself + the peers it sees alive)}."""
        return {host: points[-1][1] for host, points in list(self.sizes.items()) if points}
