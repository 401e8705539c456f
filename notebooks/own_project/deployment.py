"""Deployment: what a process manager does for notebook 12's project (its broker, its workers).

In production systemd or Kubernetes starts `celery -A proj.celery:app worker` with the broker in
the environment; here a Redis server of the project's own and these worker processes stand in.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import time

from kit.processes.broker import EmbeddedRedis

#: The project's own command line, unchanged (the name and options are added per worker).
COMMAND = ["celery", "-A", "proj.celery:app", "worker", "--loglevel=info", "--concurrency=1"]


class Deployment:
    """A copy of the project in `folder`, a Redis broker of its own, and the workers started on it."""

    def __init__(self, project, folder):
        self.folder = folder
        shutil.copytree(project, folder / "proj", ignore=shutil.ignore_patterns("__pycache__"))
        self.broker = EmbeddedRedis(str(folder)).start()
        self.procs = {}
        # a kernel that exits (or restarts) without the last cell stops them too
        atexit.register(self.close)

    def command(self, name, *options):
        """The worker's command line, as its authors type it."""
        return [*COMMAND, "-n", name, *options]

    def start(self, name, *options, env=None):
        """Start `celery -A proj.celery:app worker -n NAME ...` in the project's folder; `env` is added.

        The worker gets the broker in `CELERY_BROKER_URL` and a temporary folder of its own in
        `TMPDIR` (as systemd's `PrivateTmp=yes` does): a killed worker's pool leaves its files there.
        """
        self.stop(name)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "KIT_"))}
        tmp = self.folder / "tmp"
        tmp.mkdir(exist_ok=True)
        env = dict(clean, CELERY_BROKER_URL=self.broker.url, TMPDIR=str(tmp), **(env or {}))
        with open(self.log_path(name), "ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", *self.command(name, *options)],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self.procs[name]

    def log_path(self, name):
        """The file the worker's output goes to."""
        return self.folder / f"{name.partition('@')[0]}.log"

    def log(self, name):
        """What the worker printed so far."""
        return self.log_path(name).read_text(errors="replace")

    def terminate(self, name, timeout=20.0):
        """SIGTERM (Celery's warm shutdown); the seconds until it exited, or None if it still runs."""
        proc, start = self.procs[name], time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - start

    def stop(self, name):
        """Kill the worker and its pool processes (SIGKILL: what systemd does once TimeoutStopSec passed)."""
        proc = self.procs.pop(name, None)
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def close(self):
        """Stop every worker and the broker, and remove the project's copy; idempotent."""
        for name in list(self.procs):
            self.stop(name)
        self.broker.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
