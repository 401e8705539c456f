"""One Roster and one redraw thread per cluster, shared by its card and its dashboard."""

import time

from test_view import Watcher

from kit.widgets.card import ClusterCard
from kit.widgets.live_status import live_status


def eventually(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.02)


def test_the_card_shares_the_clusters_one_status_and_redraws_from_its_events():
    view = Watcher()
    card, other = ClusterCard(view), ClusterCard(view)
    status = live_status(view)
    assert card.status is other.status is status and card.roster is status.roster
    now = time.time()
    view.events.add({"type": "worker-online", "hostname": "w1@h", "pid": 7, "freq": 2.0,
                           "timestamp": now, "local_received": now})  # fmt: skip
    eventually(lambda: "booting</td>" in card.html.value and "booting</td>" in other.html.value)
    view.events.add({"type": "kit-ready", "hostname": "w1@h", "timestamp": now + 0.1})
    eventually(lambda: "up</td>" in card.html.value)
    view.close()
    status.poke()
    # both cards saw the close and stopped watching: the status is dropped with them
    eventually(lambda: card.open_button.disabled and other.open_button.disabled)
    eventually(lambda: live_status(view) is not status)
    live_status(view).unwatch(None)  # the fresh one, watched by nobody: its thread stops
