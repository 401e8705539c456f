"""The worker-side emitter: reserved names renamed, unsendable records dropped and counted, never blocking."""

import pytest
from celery import Celery

from kit.events.feed import EventFeed
from kit.events.telemetry import Emitter
from kit.processes.broker import EmbeddedRedis


def test_reserved_fields_are_renamed_and_unsafe_emit_does_not_wake():
    em = Emitter()
    em.emit("x", safe=False, hostname="mine", type="t", value=1)
    type_, fields = em.queue[0]
    assert (
        type_ == "x"
        and fields["hostname_"] == "mine"
        and fields["type_"] == "t"
        and fields["value"] == 1
    )
    assert not em.wake.is_set()


@pytest.mark.redis
def test_records_reach_the_feed_and_a_bad_one_is_dropped(redis_server, tmp_path):
    r = EmbeddedRedis(str(tmp_path)).start()
    feed = EventFeed(r.url).start()
    em = Emitter()
    try:
        em.start(Celery("emit", broker=r.url), "w9@h")
        em.emit("first", n=1)
        em.emit("bad", thing=object())
        em.emit("after", n=2)
        got = feed.wait_for("kit-after", timeout=30)
        assert got["hostname"] == "w9@h" and got["n"] == 2
        assert feed.wait_for("kit-first", timeout=5)["n"] == 1
        assert em.dropped == 1 and "kit-bad" not in feed.counts
    finally:
        feed.close()
        r.stop()
