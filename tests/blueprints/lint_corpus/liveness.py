"""Health checks: a heartbeat file on the worker's timer (Kubernetes liveness), an HTTP health server."""

import http.server
import os
import tempfile
import threading
from pathlib import Path

from celery import bootsteps

from lint_corpus import expect

BEAT = Path(tempfile.gettempdir()) / "corpus-worker-heartbeat"


# Models django-DefectDojo (dojo/bootstraps.py), the liveness step posted in Celery issue 4079 and
# copied widely: touch a file every second, remove it in stop. The entry itself is never cancelled.
@expect(("start", "timer"))
class HeartbeatFile(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(1.0, self.beat, (worker,), priority=10)

    def stop(self, worker):
        BEAT.unlink(missing_ok=True)

    def beat(self, worker):
        BEAT.touch()


# Models uktrade/demodjango (celery_worker/liveness_probe.py): the same probe, its __init__ not
# calling super() and keeping an unused list; readiness is a separate signal handler there.
@expect(("start", "timer"))
class HeartbeatFileNoSuper(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        self.requests = []
        self.tref = None

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(1.0, self.beat, (worker,), priority=10)

    def stop(self, worker):
        if BEAT.exists():
            BEAT.unlink()

    def beat(self, worker):
        BEAT.write_text(str(os.getpid()))


@expect()
class HeartbeatFileFixed(HeartbeatFile):
    """The probe as the lint asks: the entry cancelled in stop."""

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        BEAT.unlink(missing_ok=True)


class _Ticker:
    """Calls a function every `interval` seconds on a thread until stopped."""

    def __init__(self, interval, fn):
        self.interval, self.fn, self.done = interval, fn, threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            self.fn()


# Models celery-pulse (celery_pulse/bootstep.py): picks a thread or a greenlet from the pool's class,
# read in __init__, where worker.pool is still None (every __init__ runs before any create()).
@expect(("__init__", "early"))
class PoolAwareHeartbeat(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.ticker = None
        pool_name = type(worker.pool).__name__.lower()
        self.green = "gevent" in pool_name or "eventlet" in pool_name

    def start(self, worker):
        self.ticker = _Ticker(60.0, BEAT.touch)
        threading.Thread(target=self.ticker.run, daemon=True).start()

    def stop(self, worker):
        if self.ticker is not None:
            self.ticker.done.set()


class _Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()


# Models ethyca/fides (celery_healthcheck/server.py): an HTTP health server on a daemon thread;
# stop() logs, shuts the server down and joins with a timeout. Correct (the old lint flagged its logs).
@expect()
class HealthServer(bootsteps.StartStopStep):
    port = 0
    shutdown_timeout = 2.0

    def __init__(self, parent, **kwargs):
        self.server = self.thread = None
        super().__init__(parent, **kwargs)

    def start(self, parent):
        self.server = http.server.HTTPServer(("127.0.0.1", self.port), _Ping)
        self.server.timeout = 5.0
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        print(f"health server on port {self.server.server_port}")

    def stop(self, parent):
        if self.server is None:
            print("health server was never started")
            return
        print("stopping the health server")
        self.server.shutdown()
        self.thread.join(self.shutdown_timeout)
        if self.thread.is_alive():
            print("health server thread still alive; it is a daemon")
