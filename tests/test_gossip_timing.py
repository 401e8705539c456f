"""Celery's rule for a lost worker, measured on a real cluster against `cluster.gossip_timing`.

node_lost must come as the rule says: never sooner than 2 x freq after the victim's last heartbeat
was sent, and within the window the rule predicts from the intervals alone (kit/gossip_timing.py):
by 2F + the check interval I after the SIGKILL. The slack for a busy machine (late timers, delivery)
is added to the upper bounds only.
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
        since_kill, since_beat = [], []
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
                since_kill.append(lost["kit_time"] - t)
                since_beat.append(lost["kit_time"] - last_heartbeat(c, victim))
            c.add_worker()
        expiry = timing.expires_after
        # the rule itself: never before 2 x freq after the last heartbeat was sent
        assert all(
            expiry - 0.01 <= s <= expiry + timing.check_interval + BUSY_SLACK for s in since_beat
        ), (
            f"node_lost {since_beat} s after the victim's last heartbeat; Celery's rule: "
            f"{expiry}-{expiry + timing.check_interval} s"
        )
        assert all(s <= latest + BUSY_SLACK for s in since_kill), (
            f"node_lost {since_kill} s after the kill; predicted {earliest}-{latest} s"
        )


def last_heartbeat(cluster, name):
    """When `name` sent its last heartbeat (its own clock: the same machine's)."""
    beats = [
        e["timestamp"]
        for e in cluster.events.history
        if e.get("hostname") == name and e.get("type") in ("worker-heartbeat", "worker-online")
    ]
    return max(beats)


@pytest.mark.redis
def test_celery_default_timing_is_celerys_own(shared_cluster):
    from kit import gossip_timing

    assert gossip_timing.timing("celery-default", 90).node_lost_window() == (2.0, 9.0)
    assert shared_cluster.gossip_timing.node_lost_window() == (0.5, 1.25)
