"""The Gossip panel: add, stop or kill a worker, start an election; the cluster size each worker sees; log."""

import collections
import time

import ipywidgets as w

from kit.contract import CLUSTER_SIZE, FEED, GOSSIP, GOSSIP_EVENTS
from kit.widgets.panel import Panel, clock, escape, live_workers, set_options, worker_dropdown

#: kit-gossip events shown in the log, with the fields that explain them.
DETAILS = GOSSIP_EVENTS


class LogLine(collections.namedtuple("LogLine", "time host what fields")):
    """One line of the gossip log: when, which worker saw it, what (node_join, elected, ...), its fields."""


ICONS = {
    "node_join": "🟢",
    "node_leave": "⚪",
    "node_lost": "❌",
    "election": "🗳",
    "elect-ack": "✋",
    "elected": "⭐",
    "won": "🏆",
    "cluster-size": "📏",
}


class GossipPanel(Panel):
    """Buttons that make gossip happen, and what each worker's Gossip step saw."""

    title = "Gossip"
    types = (GOSSIP, CLUSTER_SIZE, FEED, "worker-online", "worker-offline", "worker-heartbeat")

    def __init__(self, dash, keep=200):
        super().__init__(dash)
        self.log, self.sizes, self.winner = collections.deque(maxlen=keep), {}, None
        self._heard = 0.0
        self.worker = worker_dropdown()
        self.add_button = self.button("Add worker", self.add, icon="plus", tooltip="peers see node_join")
        self.stop_button = self.button(
            "Stop", self.stop, icon="stop", tooltip="warm shutdown: peers see node_leave"
        )
        self.kill_button = self.button(
            "Kill", self.kill, icon="bolt", style="danger", tooltip="SIGKILL: node_lost"
        )
        self.elect_button = self.button(
            "Start election",
            self.elect,
            icon="check-square",
            tooltip="from the chosen worker; exactly one wins",
        )
        self.winner_html, self.log_html = (
            w.HTML(),
            w.HTML(layout=w.Layout(max_height="230px", overflow="auto")),
        )
        self.chart = self._chart()
        self.worker.observe(lambda _change: self._ownership(), "value")
        self.replay()
        self.refresh()
        self.widget = w.VBox(
            [
                w.HBox([self.add_button, self.worker, self.stop_button, self.kill_button, self.elect_button]),
                self.status,
                self.winner_html,
                w.HBox([self.chart, self.log_html], layout=w.Layout(width="100%")),
            ]
        )

    def _chart(self):
        return w.HTML(layout=w.Layout(width="470px", min_width="470px"))

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
        event = self.cluster.events.wait_for(GOSSIP, timeout=15, event="elected", election=election)
        leader = escape(event.get("leader"))
        self.say(f"🗳 election {escape(election)} started by {escape(name)}: ⭐ {leader} elected")

    def refresh_workers(self):
        set_options(self.worker, live_workers(self.cluster))
        self._ownership()

    def _ownership(self):
        """Kill and Add need processes this notebook owns: disabled, with the reason why, in a room view."""
        name, owns = self.worker.value, getattr(self.cluster, "owns", lambda _name: True)
        kill_ok, add_ok = not name or owns(name), getattr(self.cluster, "starts_workers", True)
        self.kill_button.tooltip = (
            "SIGKILL: node_lost"
            if kill_ok
            else f"{name} was not started by this notebook: only its owner can kill it "
            "(Stop asks it to shut down through remote control)"
        )
        self.add_button.tooltip = "peers see node_join" if add_ok else "a room view starts no workers"
        if not self.dash._running:  # an action restores the buttons' states itself when it ends
            self.kill_button.disabled, self.add_button.disabled = not kill_ok, not add_ok

    # -- live part ------------------------------------------------------------------------------
    def on_event(self, event):
        kind = event.get("type")
        if kind == "worker-heartbeat":  # keeps the size lines running to "now", once a second
            if time.monotonic() - self._heard < 1.0:
                return False
            self._heard = time.monotonic()
            return True
        if kind == FEED:
            return True
        what = event.get("event") or kind[4:]
        host, t = event.get("hostname", "?"), event.get("timestamp") or time.time()
        if kind.startswith("kit-"):
            self.log.append(LogLine(t, host, what, {k: event.get(k) for k in DETAILS.get(what, ("size",))}))
        if kind == GOSSIP and event.get("size") is not None:  # the size counts the worker itself
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
        self.chart.value = size_chart(list(self.sizes.items()), time.time(), set(live_workers(self.cluster)))

    def sizes_seen(self):
        """{worker: latest cluster size it reported (itself + the peers it sees alive)}."""
        return {host: points[-1][1] for host, points in list(self.sizes.items()) if points}


COLOURS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2", "#f58518", "#72b7b2", "#9d755d", "#eeca3b")


def size_chart(sizes, now, live, span=120.0, width=460, height=230):
    """SVG step chart of the cluster size each worker saw in the last `span` s; sizes: [(worker, points)]."""
    left, top, right, bottom = 30, 32, width - 110, height - 24
    top_size = max([s for _, points in sizes for _, s in points] + [1])
    x = lambda t: left + (right - left) * (t - (now - span)) / span  # noqa: E731
    y = lambda s: bottom - (bottom - top) * s / top_size  # noqa: E731
    title = f"cluster size as each worker sees it (last {span:.0f} s)"
    parts = [f"<text x='{left}' y='14' font-size='12'>{title}</text>"]
    for s in range(top_size + 1):
        parts.append(
            f"<line x1='{left}' x2='{right}' y1='{y(s):.1f}' y2='{y(s):.1f}' stroke='#e5e5e5'/>"
            f"<text x='{left - 6}' y='{y(s) + 4:.1f}' font-size='10' text-anchor='end'>{s}</text>"
        )
    for i, (host, points) in enumerate(sorted(sizes, key=lambda item: item[0])):
        points = [(max(t, now - span), s) for t, s in list(points) if t >= now - span] or list(points)[-1:]
        if not points:
            continue
        end = now if host in live else points[-1][0]
        path, colour = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"], COLOURS[i % len(COLOURS)]
        for t1, s1 in points[1:] + [(end, points[-1][1])]:
            path.append(f"H{x(t1):.1f}V{y(s1):.1f}")
        parts.append(
            f"<path d='{''.join(path)}' fill='none' stroke='{colour}' stroke-width='2'/>"
            f"<text x='{right + 8}' y='{top + 14 * i + 10}' font-size='11' fill='{colour}'>"
            f"{escape(host)}: {points[-1][1]}</text>"
        )
    ticks = "".join(
        f"<text x='{x(now - a):.1f}' y='{height - 8}' font-size='10' text-anchor='middle'>"
        f"{f'-{a:.0f} s' if a else 'now'}</text>"
        for a in (span, span * 0.75, span / 2, span / 4, 0)
    )
    return (
        f"<svg width='{width}' height='{height}' style='font-family:sans-serif'>{''.join(parts)}{ticks}</svg>"
    )
