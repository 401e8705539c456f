"""Celery's rule for a lost worker, measured on a real cluster against `cluster.gossip_timing`.

node_lost must come within the window the rule predicts from the intervals alone (see
kit/gossip_timing.py): between one heartbeat interval F and 2F + the check interval I after a
SIGKILL. The slack for a busy machine is added to the upper bound only.
"""

import time

import pytest

#: Seconds a busy machine may add to the predicted latest node_lost (delivery, late timers).
BUSY_SLACK = 2.0


@pytest.mark.redis
@pytest.mark.slow
def test_node_lost_follows_celerys_rule_within_the_predicted_window(redis_server):
    from celery import Celery

    import kit

    with kit.LocalCluster(Celery("rule"), workers=3, progress=False) as c:
        timing = c.gossip_timing
        assert (timing.heartbeat_interval, timing.check_interval) == (0.5, 0.25)
        beats = [
            e["freq"]
            for e in c.events.history
            if e.get("type") == "worker-heartbeat" and e.get("hostname") in c.workers
        ]
        assert beats and set(beats) == {timing.heartbeat_interval}, "what the workers advertise"
        earliest, latest = timing.node_lost_window()
        latencies = []
        for _ in range(2):
            victim = c.workers[0]
            t = time.time()
            c.kill_worker(victim)
            for survivor in c.workers:
                lost = c.events.wait_for(
                    "kit-gossip",
                    timeout=30,
                    since=t - 1,
                    event="node_lost",
                    peer=victim,
                    hostname=survivor,
                )
                latencies.append(lost["kit_time"] - t)
            c.add_worker()
        assert all(earliest * 0.5 <= s <= latest + BUSY_SLACK for s in latencies), (
            f"node_lost {latencies} s after the kill; Celery's rule: {earliest}-{latest} s"
        )
        assert sum(s >= earliest for s in latencies) >= len(latencies) // 2, (
            f"{latencies}: mostly sooner than one heartbeat after the kill is not Celery's rule"
        )


@pytest.mark.redis
def test_celery_default_timing_is_celerys_own(shared_cluster):
    from kit import gossip_timing

    assert gossip_timing.timing("celery-default", 90).node_lost_window() == (2.0, 9.0)
    assert shared_cluster.gossip_timing.node_lost_window() == (0.5, 1.25)
