"""The notebook-side EventFeed: history, subscribe, wait_for, bounded memory."""

import threading
import time

import pytest

from kit.events import contract
from kit.events.feed import EventFeed


def offline_feed(maxlen=100):
    """A feed whose receiver thread is never started: events are pushed through add()."""
    return EventFeed("redis://127.0.0.1:1/0", maxlen=maxlen)


def event(type_="kit-x", **fields):
    return {"type": type_, "hostname": "w1@h", "timestamp": time.time(), **fields}


def test_history_is_bounded_and_counts_everything():
    feed = offline_feed(maxlen=100)
    for i in range(50_000):
        feed.add(event(n=i))
    assert len(feed.history) == 100 and feed.history[-1]["n"] == 49_999
    assert feed.counts["kit-x"] == 50_000


def test_wait_for_matches_fields_predicates_and_since():
    feed = offline_feed()
    feed.add(event("kit-gossip", event="node_lost", peer="w2@h"))
    assert feed.wait_for("kit-gossip", timeout=1, event="node_lost")["peer"] == "w2@h"
    assert feed.wait_for("kit-gossip", timeout=1, peer=lambda p: p.startswith("w2"))
    with pytest.raises(TimeoutError, match="no 'kit-gossip' event, event='node_join'"):
        feed.wait_for("kit-gossip", timeout=0.2, event="node_join")
    with pytest.raises(TimeoutError):
        feed.wait_for("kit-gossip", timeout=0.2, since=time.time() + 1, event="node_lost")


def test_wait_for_wakes_up_on_a_later_event_even_during_a_flood():
    feed = offline_feed(maxlen=1000)

    def push():
        for i in range(50_000):
            feed.add(event(n=i))
        feed.add(event("kit-done"))

    threading.Thread(target=push).start()
    assert feed.wait_for("kit-done", timeout=60)["type"] == "kit-done"


def test_subscribers_get_every_event_and_a_broken_one_is_recorded():
    feed = offline_feed()
    got = []
    feed.subscribe(got.append)

    @feed.subscribe
    def broken(e):
        raise ValueError("bad callback")

    for i in range(5):
        feed.add(event(n=i))
    assert [e["n"] for e in got] == list(range(5))
    assert "bad callback" in feed.errors[-1]
    feed.unsubscribe(broken)
    feed.add(event(n=5))
    assert len(feed.errors) == 5 and got[-1]["n"] == 5


def test_subscribe_with_history_gets_each_event_once_in_order_during_a_flood():
    """The history on the subscribing thread, then the new events: none lost, none twice, in
    order, and never two calls at once, while another thread dispatches in batches."""
    feed = offline_feed(maxlen=100_000)
    for i in range(20_000):
        feed.add(event(n=i))
    total, got, inside, overlaps = 60_000, [], [0], []

    def on_event(e):
        inside[0] += 1
        if inside[0] > 1:
            overlaps.append(e["n"])
        got.append(e["n"])
        inside[0] -= 1

    def push():
        for i in range(20_000, total, 10):
            feed.add_many([event(n=n) for n in range(i, i + 10)])

    pusher = threading.Thread(target=push)
    pusher.start()
    time.sleep(0.01)  # the flood is under way
    feed.subscribe(on_event, history=True)
    pusher.join()
    assert got == list(range(total)) and overlaps == []


def test_subscribe_with_history_and_types_filters_the_history_too():
    feed = offline_feed()
    feed.add(event("kit-gossip", n=0))
    feed.add(event("kit-timer", n=1))
    seen = []

    @feed.subscribe(types=[contract.GOSSIP], history=True)
    def on_gossip(e):
        seen.append(e["n"])

    feed.add(event("kit-gossip", n=2))
    feed.add(event("kit-timer", n=3))
    assert seen == [0, 2] and not feed.errors


def test_subscribe_with_types_gets_only_those():
    feed = offline_feed()
    gossip, timers, everything = [], [], []
    feed.subscribe(gossip.append, types=[contract.GOSSIP, "worker-online"])
    feed.subscribe(everything.append)

    @feed.subscribe(types=[contract.TIMER])
    def on_timer(e):
        timers.append(e["type"])

    for kind in ("kit-gossip", "kit-timer", "worker-online", "worker-heartbeat"):
        feed.add(event(kind))
    assert [e["type"] for e in gossip] == ["kit-gossip", "worker-online"] and len(everything) == 4
    assert timers == ["kit-timer"] and not feed.errors
    feed.unsubscribe(gossip.append)
    feed.add(event("kit-gossip"))
    assert len(gossip) == 2
    with pytest.raises(TypeError, match=r"types=\['kit-gossip'\]"):
        feed.subscribe(print, types="kit-gossip")


@pytest.mark.redis
def test_feed_reconnects_when_redis_restarts(redis_server, tmp_path):
    from celery import Celery

    from kit.processes.broker import EmbeddedRedis

    r = EmbeddedRedis(str(tmp_path)).start()
    feed = EventFeed(r.url).start()
    try:
        assert feed.connected
        app = Celery("pub", broker=r.url)
        with app.connection_for_write() as conn:
            app.events.Dispatcher(conn, enabled=True, groups=["kit"]).send("kit-one")
        feed.wait_for("kit-one", timeout=30)
        port = r.port
        r.stop()
        feed.wait_for("kit-feed", timeout=30, connected=False)
        restarted = time.time()
        r2 = EmbeddedRedis(str(tmp_path), port=port)
        r2.password = r.password
        r2.start()
        feed.wait_for("kit-feed", timeout=30, since=restarted, connected=True)
        app = Celery("pub-again", broker=r.url)
        with app.connection_for_write() as conn:
            app.events.Dispatcher(
                conn, enabled=True, groups=["kit"], buffer_while_offline=False
            ).send("kit-two")
        feed.wait_for("kit-two", timeout=30)
        r2.stop()
    finally:
        feed.close()
        r.stop()


def test_table_is_indexed_by_event_time():
    pandas = pytest.importorskip("pandas")
    feed = offline_feed()
    feed.add(
        event("kit-x", timestamp=time.mktime((2026, 1, 2, 12, 0, 3, 0, 0, -1)) + 0.25, n=1)
    )
    table = feed.table(type="kit-x")
    assert isinstance(table, pandas.DataFrame) and table.index.name == "time"
    assert list(table.index) == ["12:00:03.250"] and table.n.tolist() == [1]


@pytest.fixture
def redis(redis_server, tmp_path):
    from kit.processes.broker import EmbeddedRedis

    r = EmbeddedRedis(str(tmp_path)).start()
    yield r
    r.stop()


def dispatcher(conn, app, hostname="pub@h"):
    return app.events.Dispatcher(
        conn, hostname=hostname, enabled=True, groups=["kit"], buffer_while_offline=False
    )


@pytest.mark.redis
def test_feed_hears_only_its_own_key_prefix(redis):
    """On a shared Redis each cluster has its `global_keyprefix`: the feed reads that one's events."""
    from celery import Celery

    alice = {"global_keyprefix": "alice:"}
    with EventFeed(redis.url, transport_options=alice) as feed:
        assert feed.connected and feed._receiver is None, "read straight from Redis pub/sub"
        for prefix in ("bob:", None, "alice:"):
            options = {"global_keyprefix": prefix} if prefix else {}
            app = Celery("pub", broker=redis.url, broker_transport_options=options)
            with app.connection_for_write() as conn:
                dispatcher(conn, app).send("kit-hello", sender=prefix or "plain")
        assert feed.wait_for("kit-hello", timeout=30)["sender"] == "alice:"
        time.sleep(0.3)
        assert [e["sender"] for e in feed.history if e["type"] == "kit-hello"] == ["alice:"]


@pytest.mark.redis
def test_feed_keeps_publish_order_through_batches_and_groups(redis):
    """Thousands of events read a batch at a time, some sent as one group: all, in order, decoded as
    Celery's receiver does (timestamp, local_received)."""
    from celery import Celery

    n = 3000
    with EventFeed(redis.url) as feed:
        got = []
        feed.subscribe(got.append, types=["kit-seq"])
        app = Celery("pub", broker=redis.url)
        with app.connection_for_write() as conn:
            d = dispatcher(conn, app)
            for i in range(n):
                d.send("kit-seq", seq=i)
            grouped = app.events.Dispatcher(
                conn, hostname="grp@h", enabled=True, groups=["kit"], buffer_group=["kit"]
            )
            for i in range(n, n + 5):
                grouped.send("kit-seq", seq=i)  # kept until flush, then one message of 5 events
            grouped.flush()
        feed.wait_for("kit-seq", timeout=30, seq=n + 4)
        assert [e["seq"] for e in got] == list(range(n + 5))
        assert [e.get("seq") for e in feed.history][-3:] == [n + 2, n + 3, n + 4]
        assert feed.counts["kit-seq"] == n + 5 and not feed.errors
        first = got[0]
        assert first["hostname"] == "pub@h" and first["local_received"] >= first["timestamp"] - 1


@pytest.mark.redis
def test_feed_reports_a_message_that_is_not_an_event_and_goes_on(redis):
    import redis as redis_py
    from celery import Celery

    with EventFeed(redis.url) as feed:
        client = redis_py.Redis(port=redis.port, password=redis.password)
        client.publish("/0.celeryev/kit.junk", b"not json")
        client.close()
        app = Celery("pub", broker=redis.url)
        with app.connection_for_write() as conn:
            dispatcher(conn, app).send("kit-after")
        feed.wait_for("kit-after", timeout=30)
        assert any("undecodable event message" in e for e in feed.errors), list(feed.errors)


def test_feed_on_another_broker_uses_celerys_receiver():
    """kombu's in-memory transport stands for any broker that is not Redis (RabbitMQ, SQS...)."""
    from celery import Celery

    with EventFeed("memory://") as feed:
        assert feed.connected and feed._receiver is not None
        app = Celery("pub", broker="memory://")
        with app.connection_for_write() as conn:
            dispatcher(conn, app).send("kit-x", n=1)
        assert feed.wait_for("kit-x", timeout=10)["n"] == 1
