"""After the embedded Redis restarts, a thread's result consumer reconnects before it publishes.

Celery's Redis ResultConsumer keeps one pub/sub connection per thread (``app.backend`` is
thread-local). When its Redis dies, nothing reads that socket, so it does not notice: the next
``send_task`` subscribes to the new task's result on the dead socket (the write succeeds, the
SUBSCRIBE goes nowhere), then publishes the task. On Celery 5.7 only ``get()``, reading the
socket, makes Celery reconnect, in ``ResultConsumer._reconnect_pubsub`` (celery/backends/redis.py):
it reads the stored results (MGET), then subscribes on a new connection. A result stored and
published between the two is never seen, and ``get()`` times out although the task succeeded.
(5.5.3 and 5.6.2 have the same MGET-then-SUBSCRIBE order, but their ``drain_events`` lets
redis-py's PubSub reconnect first.) Reconnecting before the task message is published (Celery's
``before_task_publish`` signal, sent in the publishing thread) closes that window: the task cannot
finish before the subscription is in place.
"""

from weakref import WeakKeyDictionary

from celery.signals import before_task_publish

from kit.celery_private import reconnect_results


class ResultResync:
    """Reconnect the publishing thread's result consumer of ``app`` once per broker restart.

    ``restarts()`` says how many times the broker restarted so far. close() disconnects it.
    """

    def __init__(self, app, restarts):
        self.app = app
        self.restarts = restarts
        #: backend (one per thread) -> the restarts it has reconnected after
        self._seen = WeakKeyDictionary()
        before_task_publish.connect(self._before_publish, weak=False)

    def _before_publish(self, **kwargs):
        count = self.restarts()
        if not count:
            return
        backend = self.app.backend
        if self._seen.get(backend, 0) < count:
            reconnect_results(backend)
            self._seen[backend] = count

    def close(self):
        """Stop reconnecting; idempotent."""
        before_task_publish.disconnect(self._before_publish)
