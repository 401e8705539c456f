"""How a cluster shows itself: the worker roster's states, plurals, the card's HTML, the start-up line."""

import types

from kit import display
from kit.progress import Progress
from kit.roster import Roster


class Proc:
    def __init__(self, pid, alive=True, ready=True):
        self.proc, self.alive, self.ready = types.SimpleNamespace(pid=pid), alive, ready


def fake_cluster(**workers):
    app = types.SimpleNamespace(steps={"worker": [], "consumer": []})
    return types.SimpleNamespace(
        _workers=dict(workers),
        workers=list(workers),
        closed=False,
        state="running",
        app=app,
        pool="threads",
        concurrency=2,
        embedded=False,
        broker_url="redis://:s3cret@127.0.0.1:6379/0",
    )


def test_roster_tells_booting_up_left_and_lost():
    c = fake_cluster(
        **{"w1@h": Proc(11), "w2@h": Proc(12, ready=False), "w3@h": Proc(13), "w4@h": Proc(14)}
    )
    roster = Roster(c)
    assert roster.states() == {"w1@h": "up", "w2@h": "booting", "w3@h": "up", "w4@h": "up"}
    del c._workers["w3@h"], c._workers["w4@h"]  # stop_worker / kill_worker forget them
    roster.on_event({"type": "worker-offline", "hostname": "w3@h"})
    roster.on_event(
        {"type": "kit-gossip", "hostname": "w1@h", "event": "node_lost", "peer": "w4@h"}
    )
    assert (
        roster.on_event({"type": "worker-heartbeat", "hostname": "w1@h", "processed": 7}) is False
    )
    assert roster.states() == {"w1@h": "up", "w2@h": "booting", "w3@h": "left", "w4@h": "lost"}
    assert roster.counts() == "1 up · 1 booting · 1 left · 1 lost" and roster.pid("w4@h") == 14
    c.closed = True
    assert set(roster.states().values()) == {"closed"}


def test_card_html_has_the_worker_table_and_hides_the_password():
    c = fake_cluster(**{"w1@h": Proc(11)})
    roster = Roster(c)
    roster.on_event({"type": "worker-heartbeat", "hostname": "w1@h", "processed": 7})
    page = display.html(c, roster)
    for text in ("w1@h", "11", "threads", "up", "7", "redis://:***@127.0.0.1:6379/0", "(none)"):
        assert text in page
    assert "s3cret" not in page and "s3cret" not in display.text(c)
    assert "1 worker [" in display.text(c) and display.plural(2, "worker") == "2 workers"


def test_start_up_line_ends_in_the_past_tense_and_stays(monkeypatch):
    c = fake_cluster(**{"w1@h": Proc(11), "w2@h": Proc(12)})
    shown = []
    progress = Progress(c)  # outside a kernel: no handle; drive its rendering directly
    progress.handle, progress.HTML = types.SimpleNamespace(update=shown.append), str
    progress.update()
    assert "starting" in shown[-1] and "w2@h" in shown[-1]
    progress.done()
    assert "started 2 workers (w1@h, w2@h)" in shown[-1]
    c._workers["w3@h"] = Proc(13)  # add_worker boots again and asks for an update
    progress.update()
    assert len(shown) == 2, "the past-tense line is never rewritten with later workers"


def test_a_worker_killed_before_the_roster_looked_is_still_listed_lost():
    c = fake_cluster(**{"w1@h": Proc(11)})
    roster = Roster(c)
    roster.on_event(
        {"type": "worker-online", "hostname": "w9@h", "pid": 99}
    )  # added, then killed at once
    assert roster.states() == {"w1@h": "up", "w9@h": "lost"} and roster.pid("w9@h") == 99


def test_without_processes_of_its_own_the_listed_workers_are_up():
    """A room or a replay starts no process: the workers it lists are up, the others gone."""
    c = fake_cluster()
    c.workers = ["w1@h", "w2@h"]
    roster = Roster(c)
    assert roster.states() == {"w1@h": "up", "w2@h": "up"}
    c.workers = ["w1@h"]
    roster.on_event(
        {"type": "kit-gossip", "hostname": "w1@h", "event": "node_lost", "peer": "w2@h"}
    )
    assert roster.states() == {"w1@h": "up", "w2@h": "lost"} and roster.counts() == "1 up · 1 lost"
