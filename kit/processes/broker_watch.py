"""Supervision of a cluster's own redis-server: restart it when it exits, and say what was lost."""

import signal
import threading
import time

from kit.errors import BrokerError, ClusterError

#: What an embedded Redis loses when it exits: it keeps nothing on disk.
LOST = "queued messages, task results and the queue bindings (declared again before 'running')"


def exit_reason(returncode):
    """'killed by SIGKILL' or 'exited with status 1'."""
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class BrokerWatch:
    """A thread that restarts ``redis`` (an EmbeddedRedis) on its port, with its password.

    It restarts it when it exits. ``on_state(text)`` is told 'broker restarting', 'running', or why
    the broker is lost. ``on_restart()`` runs on the restarted Redis before 'running' (the cluster
    declares its queues again there); what it raises is kept in the outage's line. ``history``
    keeps one line per outage; ``error`` is the ClusterError to raise while the broker cannot come
    back. The thread starts the new redis-server, which dies with it (PR_SET_PDEATHSIG is per
    thread): after stop() the thread stays, doing nothing, until that Redis has stopped.
    """

    def __init__(self, redis, on_state, on_restart=None, interval=0.1, retry=1.0):
        self.redis = redis
        self.on_state = on_state
        self.on_restart = on_restart
        self.interval = interval
        self.retry = retry
        self.history = []
        self.error = None
        self._down = None
        #: held while checking: hold it to keep the watch from acting
        self.lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kit-broker-watch", daemon=True)

    def start(self):
        """Start watching; returns self."""
        self._thread.start()
        return self

    def _run(self):
        while not self._stopping.wait(self.retry if self.error else self.interval):
            with self.lock:
                if not self._stopping.is_set() and not self.redis.running:
                    self._recover()
        # ending now would SIGKILL a redis-server this thread restarted, while its cluster still
        # stops its workers and results on it
        while self.redis.alive:
            time.sleep(self.interval)

    def _recover(self):
        if self._down is None:
            proc = self.redis.proc
            self._down = (time.time(), exit_reason(proc.returncode if proc else None))
            self.on_state("broker restarting")
        try:
            self.redis.restart()
        except BrokerError as exc:
            self._lost(exc)
            return
        since, why = self._down
        self.history.append(
            f"{time.strftime('%H:%M:%S', time.localtime(since))} redis-server {why}; restarted on port "
            f"{self.redis.port} after {time.time() - since:.2f} s; lost: {LOST}{self._after_restart()}"
        )
        self._down = None
        self.error = None
        self.on_state("running")

    def _after_restart(self):
        """Run on_restart; '' if it did its work, else '; ' and what went wrong."""
        if self.on_restart is None:
            return ""
        try:
            self.on_restart()
        except Exception as exc:
            # still 'running': the workers declare their queues again when they reconnect
            return f"; queues not declared again ({type(exc).__name__}: {exc})"
        return ""

    def _lost(self, exc):
        port = self.redis.port
        self.error = ClusterError(
            f"the cluster's redis-server {self._down[1]} and cannot be restarted on port {port}: {exc}. "
            f"Fix: stop what listens on 127.0.0.1:{port} (the cluster then restarts Redis by itself), "
            "or close this cluster and start a new one with kit.LocalCluster(app)."
        )
        why = f"port {port} taken" if "taken" in str(exc) else f"restart on port {port} failed"
        self.on_state(f"broker lost ({why}; retrying every {self.retry:.0f} s)")

    @property
    def note(self):
        """The last outage, in one line ('' if none)."""
        return self.history[-1] if self.history else ""

    def stop(self):
        """Stop watching (waits for a restart in progress); idempotent.

        The thread ends once the Redis it watches has stopped (its owner closes it).
        """
        self._stopping.set()
        if self._thread is not threading.current_thread():
            # a restart runs holding the lock
            with self.lock:
                pass
