"""A warm fork server: imports Celery once, then forks each `celery worker` (Celery's CLI) from it.

Kept over multiprocessing's forkserver on the numbers in benchmarks/README.md (fork_server.py).
Started as `python -m kit.processes.forkserver` by the notebook's kernel. Requests and replies are
JSON lines on its stdin/stdout. It never imports kit.worker.app or user code, so each forked worker
starts clean.
It dies with its parent (PR_SET_PDEATHSIG) and kills its workers when its stdin closes.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kit.errors import ClusterError
from kit.processes.procs import ChildProcess, child_preexec, kill_tree, stderr_tail


def _child(request):
    """In the forked child: become a worker process and never return."""
    code = 1
    try:
        child_preexec()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["celery", *request["argv"]]
        from celery.__main__ import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        # what a normal interpreter exit would run (the kit's emitter flush)
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve():
    """The server's loop: preload, say ready, fork a worker per request line until stdin closes."""
    # in the server only: no worker needs it again
    from kit.processes.preload import preload

    began = time.time()
    preload()
    children = {}
    out = sys.stdout
    ready = {"ready": os.getpid(), "preload_s": time.time() - began, "at": time.time()}
    out.write(json.dumps(ready) + "\n")
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        _reap(children)
        if not select.select([stdin], [], [], 0.1)[0]:
            continue
        line = stdin.readline()
        if not line:
            break
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        children[pid] = request["exit_file"]
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def _reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exit_file = children.pop(pid, None)
        if exit_file:
            with open(exit_file, "w") as f:
                f.write(str(os.waitstatus_to_exitcode(status)))


class ForkedProcess:
    """A worker forked by the fork server: the parts of Popen the cluster uses."""

    def __init__(self, pid, exit_file):
        self.pid = pid
        self.exit_file = exit_file
        self.returncode = None

    def poll(self):
        """The exit status once the server wrote it, else None (like Popen.poll)."""
        if self.returncode is None and os.path.exists(self.exit_file):
            with open(self.exit_file) as f:
                text = f.read().strip()
            if text:
                self.returncode = int(text)
        return self.returncode

    def wait(self, timeout=30.0):
        """Wait for the exit status up to `timeout` seconds (TimeoutError after)."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"process {self.pid} still running after {timeout} s")
            time.sleep(0.02)
        return self.returncode


class ForkServer(ChildProcess):
    """The kernel's handle on one fork server process (shared by all clusters of the kernel).

    `start()` launches it and returns at once, so it imports Celery while the cluster starts Redis;
    the first `spawn()` waits for its ready line. Its stderr goes to a private log whose tail any
    failure carries.
    """

    kind = "fork server"
    #: Seconds to wait for the ready line (it imports Celery and the kit's worker modules).
    READY_TIMEOUT = 60.0

    def __init__(self):
        self.lock = threading.Lock()
        #: the server's pid, once it said it is ready
        self._ready = None
        #: its ready line: pid, `preload_s` (its imports took), `at` (time.time() it was ready)
        self.ready_info = None
        self._dir = tempfile.mkdtemp(prefix="kit-forkserver-")
        self.log_path = os.path.join(self._dir, "forkserver.log")

    def _start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kit.processes.forkserver"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                preexec_fn=child_preexec,
                env=dict(os.environ),
            )

    def _up(self):
        return "starting" if self._ready is None else "running"

    def wait_ready(self, timeout=None):
        """Block until the server said it is ready.

        ClusterError with its stderr tail if it never does.
        """
        if self._ready is None:
            self.ready_info = json.loads(self._reply(timeout or self.READY_TIMEOUT, "start"))
            self._ready = self.ready_info["ready"]

    def spawn(self, argv, env, cwd, log):
        """Fork a `celery worker` with `argv` and `env` in `cwd`, its output appended to `log`."""
        with self.lock:
            self.wait_ready()
            exit_file = log + ".exit"
            if os.path.exists(exit_file):
                os.unlink(exit_file)
            request = {"argv": argv, "env": env, "cwd": cwd, "log": log, "exit_file": exit_file}
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            return ForkedProcess(json.loads(self._reply(30.0, "fork a worker"))["pid"], exit_file)

    def _reply(self, timeout, doing):
        """The server's next line on stdout, within `timeout` seconds."""
        if select.select([self.proc.stdout], [], [], timeout)[0]:
            line = self.proc.stdout.readline()
            if line:
                return line
            what = f"exited with {self.proc.wait()}"
        else:
            what = f"did not answer within {timeout:.0f} s"
        raise ClusterError(
            f"the kit's fork server {what} (asked to {doing}).\n--- last lines of its stderr ---\n"
            f"{stderr_tail(self.log_path)}\n--- fix what it says, or use kit.LocalCluster(app, fork=False)"
        )

    def _stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                # the server kills its workers and exits
                self.proc.stdin.close()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    kill_tree(self.proc.pid, grace=0)
                    self.proc.wait()
            self.proc.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)


if __name__ == "__main__":
    serve()
