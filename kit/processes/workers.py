"""Worker processes: the `celery worker` command line, start (forked or spawned), stop.

It also diagnoses a boot that failed.
"""

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading

from kit.processes.forkserver import ForkServer
from kit.processes.procs import ChildProcess, child_preexec, kill_tree, signal_group, stderr_tail

_forkserver = None
_lock = threading.Lock()


def fork_server():
    """The kernel's warm fork server, started on first use and shared by its clusters."""
    global _forkserver
    with _lock:
        if _forkserver is None or not _forkserver.alive:
            # one that exited on its own: drop its log
            close_fork_server()
            _forkserver = ForkServer().start()
        return _forkserver


def prestart():
    """Start the kernel's fork server now, so it imports Celery while the notebook goes on.

    Called at `import kit` in a Jupyter kernel and when `kit.LocalCluster` is first looked up
    (`from kit import LocalCluster` too); does nothing off Linux, with KIT_PRESTART=0, inside a
    process the kit started (a worker, the fork server), or in any process running Celery's command
    line (a `celery worker` of one's own importing a module that names LocalCluster): no process
    is ever started by an import there. LocalCluster() itself starts the server if none runs.
    """
    from kit.processes.guard import inside_kit_process

    if (
        sys.platform.startswith("linux")
        and os.environ.get("KIT_PRESTART", "1") != "0"
        and "celery.bin.celery" not in sys.modules
        and inside_kit_process() is None
    ):
        fork_server()


# registered before kit.cluster's, so it runs after the clusters closed
@atexit.register
def close_fork_server():
    """Close the kernel's fork server (its workers die with it).

    The next fork_server() starts another.
    """
    if _forkserver is not None:
        _forkserver.close()


class WorkerProcess(ChildProcess):
    """One `celery -A kit.worker.app worker` process of a cluster, with its log and boot markers.

    `start()` forks (or spawns) it and returns; it is 'starting' until the cluster hears its
    `kit-ready` announcement and sets `ready`, then 'running'. `close(grace)` is a warm shutdown,
    `kill()` a SIGKILL of its process tree; both are final and idempotent.
    """

    kind = "worker"

    def __init__(self, name, run_dir, broker_url, argv, fork=True, namespace=""):
        self.name = name
        #: set once the worker announced itself (kit.processes.readiness)
        self.ready = False
        self.fork = fork
        self.run_dir = run_dir
        slug = name.split("@")[0]
        self.log_path = os.path.join(run_dir, f"{slug}.log")
        self.boot_log = os.path.join(run_dir, f"{slug}.boot")
        self.argv = ["-A", "kit.worker.app", "worker", "-n", name, *argv]
        self.env = dict(
            os.environ,
            KIT_RUN_DIR=run_dir,
            KIT_BROKER_URL=broker_url,
            KIT_NAMESPACE=namespace,
            KIT_PARENT_PID=str(os.getpid()),
            KIT_BOOT_LOG=self.boot_log,
            PYTHONUNBUFFERED="1",
        )

    def _start(self):
        open(self.boot_log, "w").close()
        if self.fork:
            self.proc = fork_server().spawn(self.argv, self.env, self.run_dir, self.log_path)
            return
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", *self.argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.run_dir,
                preexec_fn=child_preexec,
            )

    def _up(self):
        return "running" if self.ready else "starting"

    def close(self, grace=10.0):
        """Warm shutdown: SIGTERM its process tree, SIGKILL after `grace` seconds."""
        if not self._closed:
            self._closed = True
            if self.proc is not None:
                kill_tree(self.proc.pid, grace=grace)
                self.proc.wait()

    def kill(self):
        """SIGKILL its process tree now (peers see node_lost once its heartbeats stop)."""
        if not self._closed:
            self._closed = True
            self._stop()

    def _stop(self):
        if self.proc is not None:
            signal_group(self.proc.pid, signal.SIGKILL)
            # a process forked a moment ago may not lead its group yet (setsid comes first thing)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def booting(self):
        """Where boot went wrong: the first step call that raised, else the last one never left."""
        try:
            with open(self.boot_log) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        open_calls = {}
        for line in lines:
            mark, _, where = line.partition(" ")
            where, _, error = where.partition(" ! ")
            if error:
                return f"{where} (raised {error})"
            if mark == ">":
                open_calls[where] = True
            else:
                open_calls.pop(where, None)
        return f"{list(open_calls)[-1]} (still running)" if open_calls else None

    def failure(self, what):
        """The WorkerBootError text: what happened, the step, the log's tail, the fix."""
        booting = self.booting()
        where = f" at step {booting}" if booting else ""
        return (
            f"worker {self.name} {what}{where}.\n"
            f"--- last lines of its log ---\n{stderr_tail(self.log_path)}\n"
            "--- fix the step named above, then cluster.restart() or start a new cluster"
        )


def terminate_all(workers, grace):
    """Warm shutdown of every worker at once (kill_tree of them all); each is closed afterwards."""
    kill_tree(*(w.proc.pid for w in workers if w.proc is not None), grace=grace)
    for w in workers:
        w.kill()
