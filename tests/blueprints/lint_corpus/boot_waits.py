"""Waiting at boot for something outside the worker: unbounded (hangs the boot) or with a bound."""

import os
import socket
import tempfile
import threading
import time
from time import sleep

from celery import bootsteps

from lint_corpus import expect

MARKER = os.path.join(tempfile.gettempdir(), "corpus-migrations-done")


# The pattern issue 24 found in public code: wait for a marker file (migrations done) in __init__,
# as container entry scripts do (safeboot-hcp's wait_touchfile.py is one), but inside the worker:
# if the file never appears, the worker hangs before it is ready and never answers a ping.
@expect(("__init__", "waits"))
class WaitsForMigrations(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        while not os.path.exists(MARKER):
            time.sleep(1)


# Connect-and-retry forever in start(), as shell entry scripts loop on `nc -z db 5432`.
@expect(("start", "waits"))
class RetriesDatabaseForever(bootsteps.StartStopStep):
    address = ("127.0.0.1", 5432)

    def start(self, worker):
        while True:
            try:
                self.conn = socket.create_connection(self.address, timeout=1.0)
                break
            except OSError:
                sleep(2)

    def stop(self, worker):
        self.conn.close()


# The same wait moved into a helper that create() calls.
@expect(("create", "waits"))
class WaitsForCacheInHelper(bootsteps.StartStopStep):
    def create(self, worker):
        self.ready = threading.Event()
        self._wait_for_cache()

    def _wait_for_cache(self):
        while self.ready.is_set() is not True:
            self.ready.wait(0.5)


# The fix: a deadline, then an error that says what is missing. Bounded, in __init__: correct.
@expect()
class WaitsWithDeadline(bootsteps.StartStopStep):
    timeout = 30.0

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(MARKER):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{MARKER} did not appear within {self.timeout} s: run migrations"
                )
            time.sleep(0.2)


# A counted number of tries in create(): bounded, correct.
@expect()
class WaitsWithTries(bootsteps.StartStopStep):
    def create(self, worker):
        tries = 30
        while tries and not os.path.exists(MARKER):
            tries -= 1
            time.sleep(1)


# The deadline in the loop's test: bounded, correct.
@expect()
class WaitsUntilDeadline(bootsteps.Step):
    def create(self, worker):
        end = time.monotonic() + 10
        while time.monotonic() < end and not os.path.exists(MARKER):
            time.sleep(0.5)


# The same loop on a thread: the boot goes on. Correct.
@expect()
class WaitsInThread(bootsteps.StartStopStep):
    def start(self, worker):
        self.stopping = threading.Event()
        threading.Thread(target=self.wait_then_work, daemon=True).start()

    def wait_then_work(self):
        while not os.path.exists(MARKER) and not self.stopping.is_set():
            time.sleep(1)

    def stop(self, worker):
        self.stopping.set()
