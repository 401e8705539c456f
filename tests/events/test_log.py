"""EventLog's public write side (add, add_many, clear) and the clock it labels events with."""

import time

from kit.events.log import EventLog, clock


def test_added_events_are_kept_counted_and_handed_out_in_order():
    log, seen = EventLog(maxlen=3), []
    log.subscribe(seen.append)
    log.add({"type": "a", "timestamp": 1.0})
    log.add_many([{"type": "b", "timestamp": 2.0}, {"type": "a", "timestamp": 3.0}])
    assert [e["type"] for e in seen] == ["a", "b", "a"]
    assert [e["type"] for e in log.history] == ["a", "b", "a"]
    assert log.counts == {"a": 2, "b": 1}
    assert log.wait_for("b", timeout=0.1)["timestamp"] == 2.0


def test_clear_empties_the_history_and_the_counts_but_keeps_subscribers():
    log, seen = EventLog(), []
    log.subscribe(seen.append)
    log.add({"type": "a", "timestamp": 1.0})
    log.clear()
    assert log.history == [] and not log.counts
    log.add({"type": "b", "timestamp": 2.0})
    assert [e["type"] for e in seen] == ["a", "b"] and log.counts == {"b": 1}


def test_clock_is_local_time_with_milliseconds_and_empty_without_a_timestamp():
    ts = time.mktime((2026, 12, 7, 12, 0, 3, 0, 0, -1)) + 0.25
    assert clock(ts) == "12:00:03.250"
    assert clock(None) == "" and clock(0) == ""
