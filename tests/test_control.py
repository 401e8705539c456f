"""Control.publish on a real redis-server: a message the broker would drop is named, not sent."""

import pytest
from celery import Celery
from kombu import Exchange, Queue

from kit.control import Control
from kit.errors import ClusterError

pytestmark = pytest.mark.redis


class Client(Control):
    """Control's contract, on one broker: `_client`, `state`, `workers`, `_check_open`, `close`."""

    def __init__(self, url):
        self._client = Celery("control", broker=url, set_as_current=False)
        self.state = "running"
        self.workers = []

    def _check_open(self):
        pass

    def close(self):
        self.state = "closed"


@pytest.fixture
def client(shared_redis):
    return Client(shared_redis.url)


def queued(client, queue):
    """How many messages wait in `queue` (kombu's Redis transport: a list named after it)."""
    import redis

    with redis.Redis.from_url(client._client.conf.broker_url) as r:
        return r.llen(queue.name)


def test_a_publish_to_an_exchange_without_bindings_is_named_and_not_sent(client):
    queue = Queue("kit.t.unbound", Exchange("kit.t.unbound"), "kit.t.key")
    with pytest.raises(ClusterError) as info:
        client.publish({"n": 1}, queue=queue, declare=False)
    text = str(info.value)
    assert "exchange 'kit.t.unbound' with routing key 'kit.t.key'" in text
    assert "would drop" in text and "Fix: start the consumer of queue 'kit.t.unbound'" in text
    assert queued(client, queue) == 0


def test_a_publish_to_a_bound_queue_arrives_with_or_without_declaring(client):
    queue = Queue("kit.t.bound", Exchange("kit.t.bound"), "kit.t.key")
    # declare=True (the default) binds the queue, as before
    client.publish({"n": 1}, queue=queue)
    client.publish({"n": 2}, queue=queue, declare=False)
    assert queued(client, queue) == 2
