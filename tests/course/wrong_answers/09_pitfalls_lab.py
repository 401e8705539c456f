"""Wrong answers to notebook 09's exercise (the `requires` that puts PoolPeek after Pool)."""

BODY = '''
    def create(self, worker):
        emit("pool-peek", pool=type(worker.pool).__name__)
'''

WRONG = {
    1: [
        (
            "requires Hub, the step Pool itself requires, not Pool",
            '''
class PoolPeekFixed(bootsteps.Step):
    requires = {"celery.worker.components:Hub"}
''' + BODY,
            "not ordered after Pool",
        ),
        (
            "requires the Timer, another worker step, not Pool",
            '''
class PoolPeekFixed(bootsteps.Step):
    requires = {"celery.worker.components:Timer"}
''' + BODY,
            "not ordered after Pool",
        ),
        (
            "makes it a ConsumerStep: right requires, wrong kind of step for worker.pool",
            '''
class PoolPeekFixed(bootsteps.ConsumerStep):
    requires = {"celery.worker.components:Pool"}
''' + BODY,
            "not a ConsumerStep",
        ),
    ],
}
