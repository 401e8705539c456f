"""A cluster's broker side: the embedded Redis, the app pointed at it, and what close() leaves."""

import threading

import pytest
from celery import Celery

from kit.processes.cluster_broker import ClusterBroker

pytestmark = [pytest.mark.redis]


def test_a_result_that_goes_as_the_broker_closes_does_not_make_celery_reconnect(
    redis_server, tmp_path
):
    """On Celery 5.5 ``AsyncResult.__del__`` unsubscribes (``cancel_for``) on the result consumer's
    pub/sub connection; on a Redis that is gone, Celery retries 20 times, a second apart, in the
    thread the result went in. The garbage collector frees results (they are in reference
    cycles) in any thread, at any time: here one goes in another thread just after Redis stops.
    """
    app = Celery("closing", set_as_current=False)
    broker = ClusterBroker(app, str(tmp_path)).start()
    broker.point_app()
    consumer = app.backend.result_consumer
    # two results still pending (5.7 unsubscribes only those), and one waited for and finished
    late = [app.AsyncResult(task_id) for task_id in ("t-1", "t-2", "t-3")]
    for result in late:
        consumer.consume_from(result.id)
    consumer.cancel_for("t-1")
    reconnects = []
    # Celery's retry loop (backend.ensure), recorded instead of run
    consumer._ensure = lambda fun, args, **policy: reconnects.append(fun.__name__)
    stop_redis = broker.redis.close

    def stop_then_let_go():
        stop_redis()
        elsewhere = threading.Thread(target=late.clear)
        elsewhere.start()
        elsewhere.join()

    broker.redis.close = stop_then_let_go
    broker.close()
    assert not late and reconnects == []
