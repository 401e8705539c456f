"""The worker-side emitter: reserved names renamed, unsendable records dropped and counted, never blocking."""

import time

import pytest
from celery import Celery

from kit.events import telemetry
from kit.events.feed import EventFeed
from kit.events.telemetry import Emitter, feed_listening
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


@pytest.mark.redis
def test_after_an_outage_records_wait_until_a_feed_listens_again(
    redis_server, tmp_path, monkeypatch
):
    """Redis pub/sub keeps nothing: a record sent before the kernel's feed subscribes is lost."""
    monkeypatch.setattr(telemetry, "RESUBSCRIBE_WAIT", 60.0)
    r = EmbeddedRedis(str(tmp_path)).start()
    app = Celery("emit", broker=r.url)
    em, feed = Emitter(), None
    try:
        with app.connection_for_write() as conn:
            assert feed_listening(conn) is False
        # as after a broker error
        em.outage = True
        em.start(app, "w9@h")
        em.emit("held", n=1)
        time.sleep(1.0)
        assert [type_ for type_, _ in em.queue] == ["held"]
        feed = EventFeed(r.url).start()
        with app.connection_for_write() as conn:
            assert feed_listening(conn) is True
        assert feed.wait_for("kit-held", timeout=30)["n"] == 1
        assert not em.outage
    finally:
        em.close(timeout=0)
        if feed is not None:
            feed.close()
        r.stop()


@pytest.mark.redis
def test_a_feed_of_another_namespace_does_not_count(redis_server, tmp_path):
    r = EmbeddedRedis(str(tmp_path)).start()
    feed = EventFeed(r.url, transport_options={"global_keyprefix": "kit-room-a:"}).start()
    try:
        other = Celery("emit", broker=r.url)
        other.conf.broker_transport_options = {"global_keyprefix": "kit-room-b:"}
        same = Celery("emit", broker=r.url)
        same.conf.broker_transport_options = {"global_keyprefix": "kit-room-a:"}
        with other.connection_for_write() as a, same.connection_for_write() as b:
            assert (feed_listening(a), feed_listening(b)) == (False, True)
    finally:
        feed.close()
        r.stop()
