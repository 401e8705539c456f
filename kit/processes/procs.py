"""Child processes the kit owns: spawned in their own group, dying with their parent.

They are killed as a whole tree.
"""

import ctypes
import os
import re
import signal
import sys
import time

from kit.errors import ClusterError

PR_SET_PDEATHSIG = 1


def child_preexec():
    """Run in the child before exec: own process group, and SIGKILL when its parent dies (Linux).

    PR_SET_PDEATHSIG fires when the thread that started the child ends, not only the process:
    start children from a thread that lives as long as they should (BrokerWatch waits for its Redis).
    """
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def alive(pid):
    """True while process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def signal_group(pid, sig):
    """Send `sig` to the process group led by `pid`; nothing if it is gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(*pids, grace=5.0):
    """SIGTERM the process groups led by `pids` at once, then SIGKILL them after `grace` seconds.

    Returns as soon as every leader is gone, at most `grace` seconds later.
    """
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.02)
    for pid in pids:
        signal_group(pid, signal.SIGKILL)


#: How a record of Celery's log starts: "[2026-01-31 12:00:00,123: INFO/MainProcess] ...".
RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def record_tail(text, lines):
    """The last `lines` lines of a log, starting at a record's first line (never mid-traceback).

    Never mid-banner either. A record cut by the limit is left out; if that leaves nothing, the
    last record is given whole.
    """
    all_lines = text.splitlines()
    tail = all_lines[-lines:]
    starts = [i for i, line in enumerate(tail) if RECORD.match(line)]
    if starts:
        return "\n".join(tail[starts[0] :])
    first = next(
        (i for i in range(len(all_lines) - len(tail), -1, -1) if RECORD.match(all_lines[i])), 0
    )
    return "\n".join(all_lines[first:])


def stderr_tail(path, lines=15):
    """The last lines of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


class ChildProcess:
    """What the kernel's child processes share (EmbeddedRedis, ForkServer, WorkerProcess).

    `start()` starts the process and waits for its readiness signal, returning self (on failure it
    stops what it started and raises with the process's stderr tail); `close()` stops it for good
    and is idempotent; `status` is the one state: 'created', 'starting', 'running', 'exited' (it
    ended on its own) or 'closed'. `with` starts and closes it (dask's ProcessInterface is the
    model).
    """

    #: What the error messages call it.
    kind = "process"
    #: The Popen-like handle (`pid`, `poll()`, `wait()`), None before start.
    proc = None
    _closed = False

    def start(self, **kwargs):
        """Start the process (again, if it exited); refuses after close()."""
        if self._closed:
            raise ClusterError(f"this {self.kind} is closed: make a new one")
        if self.status in ("starting", "running"):
            return self
        try:
            self._start(**kwargs)
        except BaseException:
            self._stop()
            raise
        return self

    def close(self):
        """Stop the process and its children for good; calling it again does nothing."""
        if not self._closed:
            self._closed = True
            self._stop()

    @property
    def status(self):
        """'created', 'starting', 'running', 'exited' (ended on its own) or 'closed'."""
        if self._closed:
            return "closed"
        if self.proc is None:
            return "created"
        return "exited" if self.proc.poll() is not None else self._up()

    @property
    def alive(self):
        """True while the process runs (starting or running)."""
        return self.status in ("starting", "running")

    def _up(self):
        """The status of a process that runs: 'running' unless the subclass knows it still boots."""
        return "running"

    def _start(self, **kwargs):
        raise NotImplementedError

    def _stop(self):
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        pid = f" pid {self.proc.pid}" if self.proc is not None else ""
        return f"<{type(self).__name__} {self.status}{pid}>"
