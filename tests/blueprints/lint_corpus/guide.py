"""The steps of Celery's Extensions & Bootsteps guide, as printed there, and in the wrong blueprint."""

from celery import bootsteps
from kombu import Consumer, Exchange, Queue

from lint_corpus import expect

my_queue = Queue("custom", Exchange("custom"), "routing_key")


# print in stop() is fine: Celery 5.5-5.7 call stop() from the worker's main loop, not from the
# signal handler (the guide's "stop may run in a signal handler" is stale).
@expect()
class MyWorkerStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        print("Worker initializing")

    def start(self, worker):
        print("Worker started")

    def stop(self, worker):
        print("Worker stopping")


@expect(("__init__", "kwargs"))
class DeadlockDetection(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, deadlock_timeout=3600):
        self.timeout = deadlock_timeout
        self.tref = None

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(30.0, self.detect, (worker,), priority=10)

    def stop(self, worker):
        if self.tref:
            self.tref.cancel()

    def detect(self, worker):
        from time import time

        for req in worker.active_requests:
            if req.time_start and time() - req.time_start > self.timeout:
                raise SystemExit()


@expect(blueprint="consumer")
class MyConsumerStep(bootsteps.ConsumerStep):
    def get_consumers(self, channel):
        return [
            Consumer(channel, queues=[my_queue], callbacks=[self.handle_message], accept=["json"])
        ]

    def handle_message(self, body, message):
        print(f"Received: {body!r}")
        message.ack()


@expect(blueprint="consumer")
class ClusterAwareStep(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.gossip:Gossip"}

    def start(self, c):
        self.c = c
        c.gossip.on.node_join.add(self.on_change)
        c.gossip.on.node_leave.add(self.on_change)
        c.gossip.on.node_lost.add(self.on_lost)

    def on_change(self, worker):
        cluster_size = len(list(self.c.gossip.state.alive_workers()))
        print(f"Cluster size: {cluster_size}")

    def on_lost(self, worker):
        self.c.timer.call_after(10.0, self.on_change)


def activate_feature():
    pass


@expect()
class MyStep(bootsteps.Step):
    def __init__(self, parent, my_option=False, **options):
        if my_option:
            activate_feature()


@expect(("requires", "blueprint"), ("start", "timer"), blueprint="consumer")
class ConsumerDeadlockDetection(DeadlockDetection.__base__):
    """The guide's timer step moved to the consumer, keeping its requires (Celery issue 3955)."""

    requires = {"celery.worker.components:Timer"}

    def start(self, c):
        self.tref = c.timer.call_repeatedly(30.0, self.check)

    def check(self):
        pass


@expect(("requires", "blueprint"))
class WorkerReadsGossip(bootsteps.StartStopStep):
    """The guide's gossip callbacks, but added to the worker blueprint: the worker has no .gossip."""

    def start(self, worker):
        worker.gossip.on.node_join.add(self.joined)

    def joined(self, peer):
        pass
