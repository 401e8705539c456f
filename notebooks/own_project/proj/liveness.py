"""LivenessProbe: a file touched from the worker's timer, which a Kubernetes probe checks."""

import pathlib

from celery import bootsteps


class LivenessProbe(bootsteps.StartStopStep):
    """Touches `--liveness-file` every second; the file goes when the worker stops."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, liveness_file=None, **kwargs):
        super().__init__(worker, **kwargs)
        #: the probe's file (None: the option was not given, the step does nothing)
        self.path = pathlib.Path(liveness_file) if liveness_file else None
        self.tref = None

    def start(self, worker):
        if self.path is not None:
            self.tref = worker.timer.call_repeatedly(1.0, self.touch)

    def touch(self):
        self.path.touch()

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
