"""Slow work in a thread target or nested function (fine), or in start() itself (blocks)."""

import threading
import time
from time import sleep

from celery import bootsteps

from lint_corpus import expect


@expect()
class Poller(bootsteps.StartStopStep):
    """The loop sleeps in the thread's target, a method that start() does not call."""

    def start(self, worker):
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self):
        while not self.stopping.is_set():
            time.sleep(1.0)

    def stop(self, worker):
        self.stopping.set()
        self.thread.join()


@expect()
class NestedLoop(bootsteps.StartStopStep):
    def start(self, worker):
        def loop():
            while True:
                time.sleep(5)

        threading.Thread(target=loop, daemon=True).start()
        threading.Thread(target=lambda: sleep(1), daemon=True).start()


@expect(("start", "blocks"))
class WaitsForReady(bootsteps.StartStopStep):
    def start(self, worker):
        self.ready = threading.Event()
        threading.Thread(target=self.connect, daemon=True).start()
        self.ready.wait()

    def connect(self):
        self.ready.set()


@expect(("start", "blocks"))
class SlowHelper(bootsteps.StartStopStep):
    """start() calls a method of its own that sleeps: the worker waits for both."""

    def start(self, worker):
        self.connect(retries=3)

    def connect(self, retries):
        for _ in range(retries):
            time.sleep(0.5)


@expect(("start", "blocks"))
class BareSleep(bootsteps.StartStopStep):
    def start(self, worker):
        sleep(2)


@expect()
class OwnSleepMethod(bootsteps.StartStopStep):
    """A method of its own named sleep, which does not block."""

    def start(self, worker):
        self.sleep()

    def sleep(self):
        self.sleeping = True
