"""The cluster-view contract: a view that only watches needs five members; refusals name the fix."""

import pytest

import kit
from kit.events.log import EventLog
from kit.record.replay import Replay
from kit.view import ACTIONS, ClusterView


class Watcher(ClusterView):
    """The smallest view: someone else's workers, watched; no action of its own."""

    def __init__(self):
        self.events, self.state = EventLog(), "watching"

    @property
    def workers(self):
        return self.worker_states.present()

    @property
    def closed(self):
        return self.state == "closed"

    def describe(self):
        return "a watcher"

    def close(self):
        self.state = "closed"


def test_a_view_that_only_watches_refuses_every_action_but_record_and_says_why():
    view = Watcher()
    assert view.live and not view.starts_workers and not view.owns("w1@h")
    assert view.allows("record") and view.workers == []
    for action in set(ACTIONS) - {"record"}:
        assert view.refusal(action) == f"a watcher only watches: it cannot {ACTIONS[action]}"
    for call in (view.add_worker, view.restart, lambda: view.kill_worker("w1@h"), view.ping):
        with pytest.raises(kit.ClusterError, match="a watcher only watches"):
            call()
    with pytest.raises(ValueError, match="'fly'.*choose one of"):
        view.refusal("fly")
    view.events.add({"type": "worker-heartbeat", "hostname": "w1@h", "freq": 2.0,
                           "timestamp": view.now(), "local_received": view.now()})  # fmt: skip
    assert view.workers == ["w1@h"] and view.worker_states is view.worker_states


def test_every_view_of_the_kit_implements_the_contract():
    assert all(issubclass(cls, ClusterView) for cls in (kit.LocalCluster, kit.Room, Replay))
    assert not Replay.live and kit.LocalCluster.starts_workers and not kit.Room.starts_workers
