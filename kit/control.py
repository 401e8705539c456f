"""What LocalCluster and Room share: their lifetime, and talking to the running workers.

Ping, the live blueprint, gossip elections, custom consumers.
"""

import time
import uuid

from kit.celery_private import bound_queues, inspect_request
from kit.errors import ClusterError


class Control:
    """Mixed into LocalCluster and Room.

    Needs `_client` (a Celery app on the broker), `state`, `workers`, `_check_open()` and `close()`.
    """

    @property
    def closed(self):
        """True once close() ran (the `state` is 'closed')."""
        return self.state == "closed"

    #: The Recorder started by `record=path`, if any.
    recording = None

    def record(self, path):
        """Keep this run in `path` (JSON lines) until closed or the cluster closes: a Recorder.

        Usable as `with cluster.record("run.jsonl"): ...`; `kit.replay(path)` shows it again.
        """
        from kit.record.recorder import Recorder

        self._check_open()
        return Recorder(self, path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ping(self, workers=None, timeout=1.0):
        """Names of the workers (default: all) answering Celery's `ping` within `timeout` s."""
        kwargs = {"destination": list(workers), "limit": len(workers)} if workers else {}
        replies = self._client.control.ping(timeout=timeout, **kwargs) or []
        return sorted(name for reply in replies for name in reply)

    def inspect_blueprint(self, worker, timeout=5.0):
        """The live blueprints of a running worker, from the kit's `kit_blueprint` inspect command.

        Asked again after 1 s, then 2 s... without an answer: Redis drops a broadcast sent while
        the worker is not yet listening (it sends heartbeats, and even `worker_ready`, a moment
        before its remote-control subscription is in place), so a lone request can be lost.
        """
        deadline, window = time.monotonic() + timeout, 1.0
        while (left := deadline - time.monotonic()) > 0:
            inspect = self._client.control.inspect([worker], timeout=min(window, left))
            replies = inspect_request(inspect, "kit_blueprint") or {}
            if worker in replies:
                return replies[worker]
            window *= 2
        raise ClusterError(
            f"worker {worker!r} did not answer kit_blueprint within {timeout} s; "
            f"live workers: {self.workers!r}"
        )

    def elect(self, worker=None, action=None, timeout=5.0, election=None):
        """Make `worker` (default: the first) request a gossip election; returns the election id.

        Every live worker acknowledges each request it hears (kit-gossip 'elect-ack', with the
        request's Lamport clock as `request_clock`). Only a worker that requested an election
        decides it, once it has as many acks as peers it knows, and it elects the first of the
        requests it heard, by Lamport clock (kit-gossip 'elected'); that leader runs the topic's
        handler ('won').
        `election=` an id returned before: `worker` requests that same election.
        """
        self._check_open()
        worker = worker or self.workers[0]
        election = election or uuid.uuid4().hex[:12]
        replies = self._client.control.broadcast(
            "kit_elect",
            arguments={"id": election, "action": action},
            destination=[worker],
            reply=True,
            timeout=timeout,
        )
        if not replies:
            raise ClusterError(f"worker {worker!r} did not answer kit_elect within {timeout} s")
        return election

    def publish(self, body, content_type=None, queue=None, declare=True):
        """Publish a message to a custom consumer's queue (default: the kit's SafeConsumer).

        A dict/list/str body goes as JSON unless `content_type` is given, in which case `body`
        is sent as-is (bytes or str) with that content type: e.g. malformed JSON, or pickle.
        `declare=False` sends to the queue's exchange without declaring the queue first, as a
        producer that leaves that to its consumers does; Redis would drop the message if no queue
        is bound there (none is after a broker restart, until a consumer reconnects), so
        ClusterError names the exchange and routing key instead.
        """
        from kit.steps import custom_queue

        queue = queue or custom_queue
        with self._client.connection_for_write() as conn:
            if not declare:
                _check_bound(conn.default_channel, queue)
            producer = conn.Producer()
            kwargs = (
                {"serializer": "json"}
                if content_type is None
                else {
                    "content_type": content_type,
                    "content_encoding": "binary" if isinstance(body, bytes) else "utf-8",
                }
            )
            producer.publish(
                body,
                exchange=queue.exchange,
                routing_key=queue.routing_key,
                declare=[queue] if declare else [],
                retry=True,
                **kwargs,
            )


def _check_bound(channel, queue):
    """ClusterError if a message to `queue`'s exchange and routing key would reach no queue."""
    exchange, key = queue.exchange.name, queue.routing_key
    if not bound_queues(channel, exchange, key):
        raise ClusterError(
            f"no queue is bound to exchange {exchange!r} with routing key {key!r}: the broker "
            "would drop this message without a word. Fix: start the consumer of queue "
            f"{queue.name!r} first (after a broker restart, wait until its worker is back), or "
            "publish with declare=True to declare the queue and its binding first."
        )
