"""How a cluster shows itself: the worker roster's states, plurals, the card's HTML, the start-up line."""

import time
import types

from kit import display
from kit.events.log import EventLog
from kit.progress import Progress
from kit.roster import Roster
from kit.view import ClusterView


class FakeView(ClusterView):
    """A view through the contract only: its workers by name, events fed by the test."""

    embedded = False
    broker_url = "redis://:s3cret@127.0.0.1:6379/0"
    worker_options = {"pool": "threads", "concurrency": 2}

    def __init__(self, *workers):
        self.events, self.state, self.listed = EventLog(), "running", list(workers)
        self.app = types.SimpleNamespace(steps={"worker": [], "consumer": []})

    @property
    def workers(self):
        return list(self.listed)

    @property
    def closed(self):
        return self.state == "closed"

    def describe(self):
        return "LocalCluster"

    def close(self):
        self.state = "closed"

    def feed(self, **event):
        self.events.add({"timestamp": time.time(), "local_received": time.time(), **event})


def booted(view, name, pid, ready=True):
    """`name` started (worker-online with its pid) and, if `ready`, announced kit-ready."""
    view.feed(type="worker-online", hostname=name, pid=pid, freq=2.0)
    if ready:
        view.feed(type="kit-ready", hostname=name, pid=pid)


def fake_cluster(**workers):
    view = FakeView(*workers)
    for name, (pid, ready) in workers.items():
        booted(view, name, pid, ready)
    return view


def test_roster_tells_booting_up_left_and_lost():
    c = fake_cluster(
        **{"w1@h": (11, True), "w2@h": (12, False), "w3@h": (13, True), "w4@h": (14, True)}
    )
    roster = Roster(c)
    assert roster.states() == {"w1@h": "up", "w2@h": "booting", "w3@h": "up", "w4@h": "up"}
    c.listed = ["w1@h", "w2@h"]  # stop_worker / kill_worker forget them
    c.feed(type="worker-offline", hostname="w3@h")
    c.feed(type="kit-gossip", hostname="w1@h", event="node_lost", peer="w4@h")
    heartbeat = {"type": "worker-heartbeat", "hostname": "w1@h", "processed": 7}
    assert roster.on_event(heartbeat) is False
    assert roster.states() == {"w1@h": "up", "w2@h": "booting", "w3@h": "left", "w4@h": "lost"}
    assert roster.counts() == "1 up · 1 booting · 1 left · 1 lost" and roster.pid("w4@h") == 14
    c.close()
    assert set(roster.states().values()) == {"closed"}


def test_card_html_has_the_worker_table_and_hides_the_password():
    c = fake_cluster(**{"w1@h": (11, True)})
    roster = Roster(c)
    c.feed(type="worker-heartbeat", hostname="w1@h", processed=7, freq=2.0)
    page = display.html(c, roster)
    for text in ("w1@h", "11", "threads", "up", "7", "redis://:***@127.0.0.1:6379/0", "(none)"):
        assert text in page
    assert "s3cret" not in page and "s3cret" not in display.text(c)
    assert "1 worker [" in display.text(c) and display.plural(2, "worker") == "2 workers"


def test_start_up_line_ends_in_the_past_tense_and_stays(monkeypatch):
    c = fake_cluster(**{"w1@h": (11, True), "w2@h": (12, True)})
    shown = []
    progress = Progress(c)  # outside a kernel: no handle; drive its rendering directly
    progress.handle, progress.HTML = types.SimpleNamespace(update=shown.append), str
    progress.update()
    assert "starting" in shown[-1] and "w2@h" in shown[-1]
    progress.done()
    assert "started 2 workers (w1@h, w2@h)" in shown[-1]
    c.listed.append("w3@h")  # add_worker boots again and asks for an update
    progress.update()
    assert len(shown) == 2, "the past-tense line is never rewritten with later workers"


def test_a_worker_killed_before_the_roster_looked_is_still_listed_lost():
    c = fake_cluster(**{"w1@h": (11, True)})
    roster = Roster(c)
    # added, then killed at once
    c.feed(type="worker-online", hostname="w9@h", pid=99)
    assert roster.states() == {"w1@h": "up", "w9@h": "lost"} and roster.pid("w9@h") == 99


def test_without_processes_of_its_own_the_listed_workers_are_up():
    """A room or a replay starts no process: the workers it lists are up, the others gone."""
    c = fake_cluster()
    c.listed = ["w1@h", "w2@h"]
    for name in c.listed:  # heard by heartbeat: they ran before the view watched
        c.feed(type="worker-heartbeat", hostname=name, freq=2.0)
    roster = Roster(c)
    assert roster.states() == {"w1@h": "up", "w2@h": "up"}
    c.listed = ["w1@h"]
    c.feed(type="kit-gossip", hostname="w1@h", event="node_lost", peer="w2@h")
    assert roster.states() == {"w1@h": "up", "w2@h": "lost"} and roster.counts() == "1 up · 1 lost"
