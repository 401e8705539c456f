"""Wrong answers to notebook 04's exercise (fix the guide's DeadlockDetection), each one a learner gives."""

HEAD = """
class MyDeadlockDetection(bootsteps.StartStopStep):
    requires = {'celery.worker.components:Timer'}
    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(0.5, self.detect, (worker,), priority=10)
    def stop(self, worker):
        if self.tref:
            self.tref.cancel()
"""
INIT = """
    def __init__(self, worker, deadlock_timeout=3600, **kwargs):
        super().__init__(worker, **kwargs)
        self.timeout, self.tref = deadlock_timeout, None
"""
DETECT = """
    def detect(self, worker):
        from time import time
        for req in list(state.active_requests):
            if req.time_start and time() - req.time_start > self.timeout:
                emit("my-deadlock", task_id=req.id, runtime=time() - req.time_start, timeout=self.timeout)
"""

WRONG = {
    1: [
        (
            "takes **kwargs but still reads worker.active_requests",
            HEAD + INIT + DETECT.replace("list(state.active_requests)", "worker.active_requests"),
            "state.active_requests",
        ),
        (
            "fixes detect but keeps the guide's __init__ (no **kwargs): the worker cannot boot",
            HEAD
            + """
    def __init__(self, worker, deadlock_timeout=3600):
        self.timeout, self.tref = deadlock_timeout, None
"""
            + DETECT,
            "**kwargs",
        ),
        (
            "types the timeout in instead of reading the worker option",
            HEAD + INIT.replace("deadlock_timeout, None", "2, None") + DETECT,
            "deadlock_timeout",
        ),
        (
            "reports every running request, without comparing it with the timeout",
            HEAD
            + INIT
            + """
    def detect(self, worker):
        from time import time
        for req in list(state.active_requests):
            emit("my-deadlock", task_id=req.id, runtime=time() - req.time_start, timeout=self.timeout)
""",
            "longer than self.timeout",
        ),
    ],
}
