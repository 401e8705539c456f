"""LocalCluster: an embedded Redis and real `celery worker` processes, owned by the notebook's kernel."""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref

from celery import Celery

from kit import display, lint, shipping, tasks
from kit.blueprints import check_app_steps
from kit.broker import EmbeddedRedis
from kit.events import EventFeed
from kit.forkserver import ForkServer
from kit.procs import child_preexec, kill_tree, signal_group, stderr_tail
from kit.steps import KIT_OPTIONS

_clusters = weakref.WeakSet()
_forkserver = None


def _fork_server():
    """The kernel's warm fork server, started on first use and shared by its clusters."""
    global _forkserver
    if _forkserver is None or not _forkserver.alive:
        _forkserver = ForkServer()
    return _forkserver


class ClusterError(RuntimeError):
    """The cluster could not do what was asked."""


class WorkerBootError(ClusterError):
    """A worker process exited or did not answer a ping before its deadline."""


class _Worker:
    def __init__(self, name, proc, log_path, boot_log):
        self.name, self.proc, self.log_path, self.boot_log = name, proc, log_path, boot_log
        self.ready = False

    @property
    def alive(self):
        return self.proc.poll() is None

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


class LocalCluster:
    """A real Redis-backed Celery cluster for `app`: `with kit.LocalCluster(app, workers=2) as cluster: ...`"""

    def __init__(self, app=None, workers=2, *, broker=None, pool="threads", concurrency=2, mingle=False,
                 loglevel="info", worker_options=None, gossip="fast", probes=True, task_events=True,
                 timeout=60.0, port=None, fork=True, progress=True):
        if gossip not in ("fast", "celery-default"):
            raise ValueError(f"gossip={gossip!r}: choose 'fast' or 'celery-default'")
        self.app = app if app is not None else Celery("kit")
        self.pool, self.concurrency, self.mingle, self.loglevel = pool, concurrency, mingle, loglevel
        self.gossip, self.probes, self.timeout, self.task_events = gossip, probes, timeout, task_events
        self.fork = fork and sys.platform.startswith("linux")
        self.worker_options = dict(worker_options or {})
        self._flags(self.worker_options)
        lint.warn(self.app)
        check_app_steps(self.app)
        self.closed, self.state = False, "starting"
        self._workers, self._count, self.redis, self.events = {}, 0, None, None
        self.run_dir = tempfile.mkdtemp(prefix="kit-")  # mode 0700
        self._progress = display.Progress(self) if progress else None
        _clusters.add(self)
        try:
            if self.fork:
                _fork_server()  # warms up (imports Celery) while Redis starts
            self._start_broker(broker, port)
            self._configure_app()
            shipping.ship(self.app, self.run_dir, probes=probes, gossip=gossip)
            self.events = EventFeed(self.broker_url).start()
            self._boot([self._spawn() for _ in range(workers)])
            self.state = "running"
        except BaseException:
            self.close()
            raise
        finally:
            if self._progress:
                self._progress.done()

    # -- broker and app -------------------------------------------------------------------------
    def _start_broker(self, broker, port):
        broker = broker or os.environ.get("KIT_BROKER_URL")
        if broker:
            self.broker_url, self.embedded = broker, False
        else:
            self.redis = EmbeddedRedis(self.run_dir, port=port).start()
            self.broker_url, self.embedded = self.redis.url, True
        self._client = Celery("kit-client", broker=self.broker_url, set_as_current=False)

    def _configure_app(self):
        conf = self.app.conf
        self._saved_conf = {k: conf.get(k) for k in ("broker_url", "result_backend")}
        conf.broker_url = self.broker_url
        if not conf.result_backend:
            conf.result_backend = self.broker_url.rsplit("/", 1)[0] + "/1"
        self.app._pool = None  # drop connections to a previous broker
        tasks.register(self.app)

    # -- workers --------------------------------------------------------------------------------
    def _flags(self, options):
        known = {o.name: o for o in [*KIT_OPTIONS, *self.app.user_options["worker"]]}
        flags = []
        for name, value in options.items():
            option = known.get(name.replace("-", "_"))
            if option is None:
                raise ValueError(f"unknown worker option {name!r}: the app's and the kit's are {sorted(known)!r} "
                                 "(add one with app.user_options['worker'].add(click.Option(...)))")
            if option.is_flag:
                flags += [option.opts[0]] if value else []
            elif value is not None:
                flags += [option.opts[0], str(value)]
        return flags

    def _spawn(self, name=None):
        if name is None:
            self._count += 1
            name = f"w{self._count}@{socket.gethostname()}"
        slug = name.split("@")[0]
        log_path, boot_log = (os.path.join(self.run_dir, f"{slug}.{ext}") for ext in ("log", "boot"))
        open(boot_log, "w").close()
        cmd = [sys.executable, "-m", "celery", "-A", "kit.worker_app", "worker", "-n", name,
               "-P", self.pool, "-c", str(self.concurrency), "-l", self.loglevel,
               *([] if self.mingle else ["--without-mingle"]), *(["-E"] if self.task_events else []),
               *self._flags(self.worker_options)]
        env = dict(os.environ, KIT_RUN_DIR=self.run_dir, KIT_BROKER_URL=self.broker_url,
                   KIT_PARENT_PID=str(os.getpid()), KIT_BOOT_LOG=boot_log, PYTHONUNBUFFERED="1")
        if self.fork:
            proc = _fork_server().spawn(cmd[3:], env, self.run_dir, log_path)
        else:
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, cwd=self.run_dir, preexec_fn=child_preexec)
        worker = self._workers[name] = _Worker(name, proc, log_path, boot_log)
        return worker

    def _boot(self, workers, timeout=None):
        """Wait until every worker answers a ping; on failure stop it and raise WorkerBootError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        pending = {w.name: w for w in workers}
        since = time.time() - 1.0
        while pending:
            for name, w in list(pending.items()):
                if not w.alive:
                    self._forget(name)
                    raise WorkerBootError(self._boot_failure(w, f"exited with status {w.proc.returncode}"))
            if time.monotonic() > deadline:
                w = next(iter(pending.values()))
                for name in pending:
                    self._terminate(name)
                raise WorkerBootError(self._boot_failure(w, f"did not answer a ping within {timeout or self.timeout:.0f} s"))
            online = [n for n in pending if self._online(n, since)]
            if not online:
                continue
            replies = self._client.control.ping(destination=online, timeout=0.15, limit=len(online))
            for reply in replies:
                for name in reply:
                    if name in pending:
                        pending.pop(name).ready = True
            if self._progress:
                self._progress.update()

    def _online(self, name, since, wait=0.1):
        """Has the worker announced itself (worker-online)? Then a ping can reach it."""
        try:
            self.events.wait_for("worker-online", timeout=wait, since=since, hostname=name)
            return True
        except TimeoutError:
            return False

    def _boot_failure(self, w, what):
        booting = w.booting()
        where = f" at step {booting}" if booting else ""
        return (f"worker {w.name} {what}{where}.\n--- last lines of its log ---\n{stderr_tail(w.log_path)}\n"
                "--- fix the step named above, then cluster.restart() or start a new cluster")

    def _terminate(self, name, grace=10.0):
        w = self._workers.pop(name, None)
        if w is not None:
            kill_tree(w.proc.pid, grace=grace)
            w.proc.wait()

    def _terminate_all(self, grace):
        """SIGTERM every worker at once, then SIGKILL what is left after `grace` seconds."""
        workers = list(self._workers.values())
        self._workers.clear()
        for w in workers:
            signal_group(w.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(w.proc.poll() is None for w in workers):
            time.sleep(0.02)
        for w in workers:
            signal_group(w.proc.pid, signal.SIGKILL)
            w.proc.wait()

    def _forget(self, name):
        w = self._workers.pop(name, None)
        if w is not None:
            signal_group(w.proc.pid, signal.SIGKILL)
            w.proc.wait()

    @property
    def workers(self):
        """Names of the worker processes that are alive."""
        return [name for name, w in self._workers.items() if w.alive]

    def _check_open(self):
        if self.closed:
            raise ClusterError("this cluster is closed: start a new one with kit.LocalCluster(app)")

    def _known(self, name):
        if name not in self._workers:
            raise ValueError(f"no worker {name!r}: the cluster's workers are {self.workers!r}")
        return self._workers[name]

    def add_worker(self, name=None):
        """Start one more worker (peers see gossip node_join) and return its name."""
        self._check_open()
        w = self._spawn(name)
        self._boot([w])
        return w.name

    def stop_worker(self, name, timeout=30.0):
        """Stop a worker gracefully (SIGTERM, warm shutdown): peers see node_leave."""
        self._check_open()
        self._known(name)
        self._terminate(name, grace=timeout)

    def kill_worker(self, name):
        """SIGKILL a worker's process tree: peers see node_lost once its heartbeats stop."""
        self._check_open()
        self._known(name)
        self._forget(name)

    def restart(self, worker_options=None):
        """Ship app.steps/tasks/options again and restart the workers one by one (same names).

        If a worker fails to boot with the new steps, it is started again with the previous
        ones, so the cluster stays usable, and WorkerBootError says what went wrong.
        """
        self._check_open()
        if worker_options is not None:
            self._flags(worker_options)
        check_app_steps(self.app)
        previous = (shipping.load(self.run_dir), dict(self.worker_options))
        if worker_options is not None:
            self.worker_options = dict(worker_options)
        shipping.ship(self.app, self.run_dir, probes=self.probes, gossip=self.gossip)
        for name in list(self._workers):
            self._terminate(name)
            try:
                self._boot([self._spawn(name)])
            except WorkerBootError:
                self._roll_back(name, *previous)
                raise

    def _roll_back(self, name, payload, options):
        shipping.write(payload, self.run_dir)
        self.worker_options = options
        self._boot([self._spawn(name)])

    def logs(self, name, lines=None):
        """The worker's log (stdout and stderr); `loglevel='debug'` shows Celery's boot order."""
        with open(self._known(name).log_path, errors="replace") as f:
            text = f.read()
        return "\n".join(text.splitlines()[-lines:]) if lines else text

    def inspect_blueprint(self, worker, timeout=5.0):
        """The live blueprints of a running worker, from the kit's `kit_blueprint` inspect command."""
        replies = self._client.control.inspect([worker], timeout=timeout)._request("kit_blueprint") or {}
        if worker not in replies:
            raise ClusterError(f"worker {worker!r} did not answer kit_blueprint within {timeout} s; "
                               f"live workers: {self.workers!r}")
        return replies[worker]

    def elect(self, worker=None, action=None, timeout=5.0):
        """Start a gossip election from `worker` (default: the first); returns the election id.

        Every live worker acknowledges (kit-gossip 'elect-ack'); exactly one wins (kit-gossip 'won').
        """
        self._check_open()
        worker = worker or self.workers[0]
        election = uuid.uuid4().hex[:12]
        replies = self._client.control.broadcast("kit_elect", arguments={"id": election, "action": action},
                                                 destination=[worker], reply=True, timeout=timeout)
        if not replies:
            raise ClusterError(f"worker {worker!r} did not answer kit_elect within {timeout} s")
        return election

    def publish(self, body, content_type=None, queue=None):
        """Publish a message to a custom consumer's queue (default: the kit's SafeConsumer).

        A dict/list/str body goes as JSON unless `content_type` is given, in which case `body`
        is sent as-is (bytes or str) with that content type: e.g. malformed JSON, or pickle.
        """
        from kit.steps import custom_queue
        queue = queue or custom_queue
        with self._client.connection_for_write() as conn:
            producer = conn.Producer()
            kwargs = ({"serializer": "json"} if content_type is None
                      else {"content_type": content_type, "content_encoding": "binary" if isinstance(body, bytes) else "utf-8"})
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key,
                             declare=[queue], retry=True, **kwargs)

    # -- lifetime -------------------------------------------------------------------------------
    def close(self):
        """Stop the workers, the event feed and the embedded Redis; idempotent."""
        if self.closed:
            return
        self.closed, self.state = True, "closed"
        self._terminate_all(grace=5.0)
        if self.events is not None:
            self.events.close()
        if self.redis is not None:
            self.redis.stop()
        for key, value in getattr(self, "_saved_conf", {}).items():
            self.app.conf[key] = value
        self.app._pool = None
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return display.text(self)

    def _repr_html_(self):
        return display.html(self)


@atexit.register
def _close_all():
    for cluster in list(_clusters):
        cluster.close()
    if _forkserver is not None:
        _forkserver.close()
