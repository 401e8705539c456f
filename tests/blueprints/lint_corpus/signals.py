"""What stop/terminate do: record, write, emit or log. All fine on Celery 5.5-5.7, which calls them
from the worker's main loop once its signal handler has set a flag (the old lint flagged logging).
"""

import logging
import os
import time

from celery import bootsteps

from kit.events.telemetry import emit
from lint_corpus import expect

logger = logging.getLogger(__name__)


@expect()
class RecordsInStop(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.events = []

    def stop(self, worker):
        self.events.append(("stop", time.time()))


@expect()
class WritesFdInStop(bootsteps.StartStopStep):
    def start(self, worker):
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def stop(self, worker):
        os.write(self.fd, b"stopping\n")


@expect()
class EmitsInStop(bootsteps.StartStopStep):
    def stop(self, worker):
        emit("stopped", safe=False)


@expect()
class LogsInTerminate(bootsteps.StartStopStep):
    def terminate(self, worker):
        logger.warning("terminating %s", worker.hostname)


@expect()
class OwnLoggerInStop(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.log = logging.getLogger("steps")

    def stop(self, worker):
        self.log.info("bye")


@expect()
class HelperPrintsInStop(bootsteps.StartStopStep):
    def stop(self, worker):
        self.report()

    def report(self):
        print("stopped")


@expect()
class OwnInfoMethod(bootsteps.StartStopStep):
    """A method of its own named info, which only appends: not logging."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.lines = []

    def info(self, text):
        self.lines.append(text)

    def stop(self, worker):
        self.info("stopping")
