"""A LocalCluster's broker: its Redis (embedded or given), namespace and the app pointed at it."""

import os

from celery import Celery

from kit.celery_private import drop_connection_pool, drop_results
from kit.processes import namespace
from kit.processes.broker import EmbeddedRedis
from kit.processes.broker_watch import BrokerWatch
from kit.result_resync import ResultResync


class ClusterBroker:
    """Where a cluster's messages go, from `start()` to `close()`.

    `url` is the broker given (or `KIT_BROKER_URL`); without one, `start()` runs an embedded Redis
    in `run_dir` and a BrokerWatch that starts it again when it exits, calling `on_state` with the
    outage's state. On a shared broker the cluster gets a namespace: its room's, or one of its own
    (from `tag`).
    """

    def __init__(self, app, run_dir, url=None, *, port=None, room=None, tag="", on_state=None):
        self.app = app
        self.url = url or os.environ.get("KIT_BROKER_URL")
        #: True when the cluster runs its own redis-server
        self.embedded = not self.url
        #: the key prefix on the broker ('' on a private embedded Redis)
        self.namespace = ""
        if room is not None:
            self.namespace = namespace.room_prefix(room)
        elif not self.embedded:
            self.namespace = namespace.private_prefix(tag)
        #: the EmbeddedRedis, if the cluster started one
        self.redis = None
        #: the BrokerWatch of the embedded Redis
        self.watch = None
        #: a Celery app on the broker for the kernel's own messages (ping, inspect, broadcast)
        self.client = None
        self._run_dir, self._port, self._on_state = run_dir, port, on_state
        #: reconnects the app's result consumers after a restart (embedded Redis only)
        self._result_resync = None
        #: the app's settings before it was pointed at this broker
        self._saved_conf = None

    def start(self):
        """Start the embedded Redis (if any) and the kernel's client; returns self."""
        if self.embedded:
            self.redis = EmbeddedRedis(self._run_dir, port=self._port).start()
            self.url = self.redis.url
            self.watch = BrokerWatch(self.redis, self._on_state, on_restart=self.declare_queues)
            self.watch.start()
        # a short BRPOP: an unanswered ping must not hold the client's connection for kombu's 1 s
        self.client = Celery(
            "kit-client",
            broker=self.url,
            set_as_current=False,
            broker_transport_options=self.transport_options({"polling_interval": 0.05}),
        )
        return self

    def transport_options(self, base=None):
        """Transport options every client of this broker uses: its namespace's key prefix."""
        return namespace.transport_options(self.namespace, base)

    def point_app(self, queue=None):
        """Point the app at this broker and namespace (its tasks at `queue`, if given)."""
        self._saved_conf = namespace.point(self.app.conf, self.url, self.namespace, queue)
        drop_connection_pool(self.app)
        if self.watch is not None:
            self._result_resync = ResultResync(self.app, lambda: len(self.watch.history))

    def declare_queues(self):
        """Declare the app's task queues and its consumer steps' queues on the restarted Redis.

        kombu's Redis transport keeps an exchange's bindings in Redis (`_kombu.binding.<exchange>`)
        and silently drops a message sent to an exchange with none. A restarted Redis has none
        until a worker reconnects and declares its queues, and Celery's client does not declare
        a queue again on a connection that declared it before the restart (kombu's maybe_declare
        cache).
        """
        queues = list(self.app.amqp.queues.values())
        for step in self.app.steps["consumer"]:
            queues.extend(getattr(step, "queues", None) or [])
        with self.client.connection_for_write() as conn:
            for queue in queues:
                queue.bind(conn.default_channel).declare()

    @property
    def history(self):
        """One line per exit of the embedded Redis: when, why, how it came back, what was lost."""
        return list(self.watch.history) if self.watch else []

    def check(self):
        """Raise the error that stopped the embedded Redis from coming back, if one did."""
        if self.watch is not None and self.watch.error is not None:
            raise self.watch.error

    def stop_watching(self):
        """Stop starting Redis again and reconnecting results: the cluster is closing."""
        if self.watch is not None:
            self.watch.stop()
        if self._result_resync is not None:
            self._result_resync.close()

    def close(self):
        """Stop the embedded Redis and give the app its settings back; idempotent."""
        self.stop_watching()
        # this thread's results, while Redis still answers: a result the garbage collector frees
        # later, in any thread, must not reconnect to a Redis that is gone (on Celery 5.5 twenty
        # tries a second apart, in that thread), and the app's next use must not reach it either
        drop_results(self.app)
        if self.redis is not None:
            self.redis.close()
        if self._saved_conf is not None:
            namespace.restore(self.app.conf, self._saved_conf)
            self._saved_conf = None
        drop_connection_pool(self.app)
