"""Each function of the kernel side's gateway (kit/celery_private.py) still works on this Celery."""

import gc
import time

import celery
import pytest
from celery import Celery

from kit import celery_private

pytestmark = pytest.mark.redis

#: Every function of the gateway; a test below calls each (a new one must be added here too).
FUNCTIONS = (
    "inspect_request",
    "drop_connection_pool",
    "publish_topics",
    "reconnect_results",
    "drop_results",
    "bound_queues",
)


def test_every_gateway_function_is_called_below():
    public = {
        name
        for name, value in vars(celery_private).items()
        if callable(value) and not name.startswith("_") and value.__module__ == celery_private.__name__
    }
    assert public == set(FUNCTIONS)


@pytest.fixture
def app(shared_redis):
    return Celery("private", broker=shared_redis.url, set_as_current=False)


def test_inspect_request_asks_the_workers_and_parses_no_reply_as_none(app):
    """No worker listens on this broker: Celery's parsing of an empty reply is None."""
    inspect = app.control.inspect(["nobody@nowhere"], timeout=0.2)
    assert celery_private.inspect_request(inspect, "ping") is None, f"Celery {celery.__version__}"


def test_drop_connection_pool_makes_the_app_use_its_new_broker_url(shared_redis):
    app = Celery("private", broker="redis://127.0.0.1:1/0", set_as_current=False)
    assert app.pool.connection.port == 1
    app.conf.broker_url = shared_redis.url
    # Celery keeps the pool of the first URL until it is dropped
    assert app.pool.connection.port == 1
    celery_private.drop_connection_pool(app)
    assert app.pool.connection.port == shared_redis.port


@pytest.mark.parametrize("prefix", ["", "alice:"])
def test_publish_topics_are_where_an_event_arrives(shared_redis, prefix):
    """An event a Celery dispatcher sends arrives on a channel matching a topic of publish_topics."""
    import redis

    options = {"global_keyprefix": prefix} if prefix else {}
    app = Celery("private", broker=shared_redis.url, broker_transport_options=options)
    with app.connection_for_write() as conn:
        topics = celery_private.publish_topics(conn.default_channel, "celeryev")
        assert topics and all(t.startswith(f"{prefix}/0.celeryev") for t in topics), topics
        client = redis.Redis.from_url(shared_redis.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.psubscribe(*topics)
            dispatcher = app.events.Dispatcher(
                conn, hostname="pub@h", enabled=True, groups=["kit"], buffer_while_offline=False
            )
            dispatcher.send("kit-hello")
            message = _next_message(pubsub, deadline=time.monotonic() + 30)
        finally:
            pubsub.close()
            client.close()
    assert message is not None and message["pattern"].decode() in topics, message


def test_reconnect_results_subscribes_again_on_a_new_connection(shared_redis):
    """After the reconnect the consumer hears a result stored and published on the new connection."""
    backend_url = shared_redis.url.rsplit("/", 1)[0] + "/1"
    app = Celery("private", broker=shared_redis.url, backend=backend_url, set_as_current=False)
    consumer = app.backend.result_consumer
    consumer.consume_from("t-1")
    old = consumer._pubsub
    celery_private.reconnect_results(app.backend)
    try:
        assert consumer._pubsub is not old and consumer._pubsub.subscribed
        # a worker's store: SET and PUBLISH of the task's meta
        app.backend.store_result("t-1", 42, "SUCCESS")
        result = app.AsyncResult("t-1")
        assert result.get(timeout=30) == 42
        # gone while Redis runs (it is in a reference cycle): on Celery 5.5 an AsyncResult's
        # __del__ unsubscribes from it
        del result
        gc.collect()
    finally:
        old.close()
        consumer.stop()


def test_drop_results_lets_a_late_result_go_quietly_and_the_next_use_build_anew(tmp_path):
    """No reconnect (on 5.5: 20 tries a second apart) when the result goes after its Redis."""
    from kit.processes.broker import EmbeddedRedis

    server = EmbeddedRedis(str(tmp_path)).start()
    backend_url = server.url.rsplit("/", 1)[0] + "/1"
    app = Celery("private", broker=server.url, backend=backend_url, set_as_current=False)
    celery_private.drop_results(app)  # none yet: nothing to do, and none is made
    backend = app.backend
    result = app.AsyncResult("t-3")
    backend.result_consumer.consume_from("t-3")
    celery_private.drop_results(app)
    server.stop()
    began = time.monotonic()
    del result
    gc.collect()
    backend.result_consumer.cancel_for("t-3")
    assert time.monotonic() - began < 1.0
    assert backend.result_consumer._pubsub is None
    app.conf.result_backend = "cache+memory://"
    assert app.backend is not backend and app.backend.get_state("t-4") == "PENDING"


def test_reconnect_results_leaves_other_backends_alone():
    app = Celery("private", backend="cache+memory://", set_as_current=False)
    celery_private.reconnect_results(app.backend)
    assert app.backend.get_state("t-2") == "PENDING"


def test_bound_queues_is_empty_until_a_queue_is_bound(app):
    from kombu import Exchange, Queue

    queue = Queue("kit.private.q", Exchange("kit.private.x"), "kit.private.k")
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        assert celery_private.bound_queues(channel, "kit.private.x", "kit.private.k") == []
        queue.bind(channel).declare()
        try:
            found = celery_private.bound_queues(channel, "kit.private.x", "kit.private.k")
            assert found == ["kit.private.q"]
            assert celery_private.bound_queues(channel, "kit.private.x", "other") == []
        finally:
            queue.bind(channel).delete()


def _next_message(pubsub, deadline):
    """The first message (not a subscribe confirmation) before `deadline`, else None."""
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message is not None:
            return message
    return None
