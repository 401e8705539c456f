"""The kernel side's one gateway to Celery's and kombu's private internals.

Every private name of Celery or kombu that code running in the notebook's kernel touches is used
through a function below, never directly, so a release that renames one breaks here, with the
function's name (tests/test_celery_private.py calls each on the oldest and the newest Celery).
Each function says the releases it was checked on: Celery (and its kombu) 5.5.3, 5.6.2, 5.7.0.
The worker side has its own gateway, kit/worker/internals.py.
"""

from celery.backends.redis import RedisBackend

#: The releases every function below was checked on (Celery, with the kombu it installs).
CHECKED_ON = ("5.5.3", "5.6.2", "5.7.0")


def inspect_request(inspect, command, **arguments):
    """Ask the workers of ``inspect`` to run the inspect command ``command``: ``{worker: reply}``.

    ``Inspect._request`` is how Celery's own inspect methods (``ping``, ``stats``...) call a named
    command, and the only way to call one of the kit's (``kit_blueprint``) with the inspect's
    destination, timeout and reply parsing. Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    return inspect._request(command, **arguments)


def drop_connection_pool(app):
    """Make ``app`` open fresh broker connections from its current ``conf`` on next use.

    ``Celery._pool`` caches the connection pool ``app.pool`` built for the broker URL of its first
    use; setting it to None (as ``Celery._after_fork`` does) makes the next use build one for the
    URL the kit just configured. Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    app._pool = None


def publish_topics(channel, exchange, routing_key="*"):
    """The Redis pub/sub channels kombu publishes ``exchange``'s messages on, with the key prefix.

    kombu's Redis ``Channel`` names them with ``_get_publish_topic`` (one topic, kombu 5.5) or
    ``_get_publish_topics`` (a list, kombu 5.6 and later), and its ``PrefixedRedisPubSub`` puts
    ``global_keyprefix`` in front. Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    several = getattr(channel, "_get_publish_topics", None)
    topics = several(exchange, routing_key) if several else [
        channel._get_publish_topic(exchange, routing_key)
    ]
    prefix = channel.global_keyprefix or ""
    return [prefix + topic for topic in topics]


def reconnect_results(backend):
    """Give ``backend``'s Redis result consumer a new pub/sub connection, if it has one open.

    ``ResultConsumer._reconnect_pubsub`` is what Celery runs itself when reading its connection
    fails: it reads the stored results of the tasks it waits for (MGET), then subscribes again on
    a new connection. Other result backends are left alone. Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    if not isinstance(backend, RedisBackend):
        return
    consumer = backend.result_consumer
    if consumer._pubsub is not None:
        consumer._reconnect_pubsub()


def drop_results(app):
    """Forget this thread's result backend of ``app``, closing its Redis result consumer first.

    ``Celery._backend`` is the backend ``app.backend`` made for this thread (or for every thread,
    when thread-safe), built from the conf of its first use; None when there is none yet. Setting
    it to None (as ``_backend_cache`` starts) makes the next use build one from the conf the kit
    just restored or pointed elsewhere. Before that, ``ResultConsumer.stop()`` closes its pub/sub
    connection and ``_pubsub = None`` makes ``cancel_for``, which ``AsyncResult.__del__`` calls,
    only forget the task: without it a result collected after its Redis stopped reconnects, on
    5.5 twenty tries a second apart, in whatever thread the garbage collector ran in (an event
    feed starting then missed its 10 s deadline). Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    backend = app._backend
    if backend is None:
        return
    if isinstance(backend, RedisBackend) and backend.result_consumer._pubsub is not None:
        backend.result_consumer.stop()
        backend.result_consumer._pubsub = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


def bound_queues(channel, exchange, routing_key):
    """The queues kombu's Redis transport would put a message for ``exchange``/``routing_key`` in.

    ``Channel._lookup`` is where kombu's virtual transport routes a message: it reads the
    exchange's bindings (``_kombu.binding.<exchange>`` in Redis) and, finding none, returns the
    ``deadletter_queue`` if one is set, else ``[]``: the message is then dropped without a word.
    Checked on 5.5.3, 5.6.2, 5.7.0.
    """
    return list(channel._lookup(exchange, routing_key))
