"""LocalCluster: an embedded Redis and real `celery worker` processes, owned by the kernel."""

import atexit
import shutil
import socket
import sys
import tempfile
import time
import weakref

from celery import Celery

from kit import display, gossip_timing, tasks
from kit.control import Control
from kit.errors import ClusterError, WorkerBootError
from kit.events.feed import EventFeed
from kit.processes import guard, namespace, options, plan, shipping
from kit.processes.cluster_broker import ClusterBroker
from kit.processes.procs import record_tail
from kit.processes.readiness import ReadyWatch
from kit.processes.workers import WorkerProcess, close_fork_server, fork_server, terminate_all
from kit.progress import Progress
from kit.view import NOT_OWNED, ClusterView

_clusters = weakref.WeakSet()


class LocalCluster(Control, ClusterView):
    """A real Redis-backed Celery cluster: `with kit.LocalCluster(app, workers=2) as cluster: ...`

    Workers are forked from a warm fork server (`fork=True`, Linux), which makes them boot in a
    fraction of a second; they then share its hash seed, so they order unrelated steps alike.
    `fork=False` spawns each with `python -m celery`, and each process orders them its own way.

    `worker_options` are `celery worker`'s own options by name (`{"loglevel": "debug",
    "without_mingle": False, "queues": "a,b"}`), the kit's and the app's `user_options['worker']`;
    `pool` and `concurrency` are shortcuts for the two most used. The rest start as
    `kit.processes.options.DEFAULTS` says (threads pool, 2 threads, info log, no mingle, task events
    on). `record="run.jsonl"` keeps the run from its boot on (see `record()`).

    A ClusterView (kit/view.py) that starts and owns its workers and allows every action on them.
    """

    starts_workers = True

    def __init__(
        self,
        app=None,
        workers=2,
        *,
        broker=None,
        pool=None,
        concurrency=None,
        worker_options=None,
        gossip="sized",
        probes=True,
        timeout=60.0,
        port=None,
        fork=True,
        progress=True,
        room=None,
        record=None,
    ):
        guard.refuse_inside_worker()
        if room is not None:
            namespace.check_room(room)
        self.app = app if app is not None else Celery("kit")
        #: 'sized' or 'celery-default' (kit.gossip_timing; 'fast' is the former name of 'sized')
        self.gossip = gossip_timing.mode_of(gossip)
        self._gossip_workers = workers
        self.probes = probes
        self.timeout = timeout
        self.fork = fork and sys.platform.startswith("linux")
        if self.fork:
            # first: it imports Celery while the plan is checked and Redis starts
            fork_server()
        self._shortcuts = options.shortcuts(
            pool=pool, concurrency=concurrency, worker_options=worker_options
        )
        # before the plan: a broken app still hears of a shadowing file
        guard.warn_shadowing()
        self._plan = self._make_plan(worker_options)
        #: 'starting', 'running', a broker outage ('broker restarting'...), 'closed'
        self.state = "starting"
        self.room = room
        #: names this cluster's workers and keys on a shared broker
        self.tag = namespace.new_tag()
        #: name -> WorkerProcess
        self._workers = {}
        #: workers started so far (names w1, w2, ...)
        self._count = 0
        #: the EventFeed
        self.events = None
        # mode 0700
        self.run_dir = tempfile.mkdtemp(prefix="kit-")
        #: the ClusterBroker: its Redis, namespace and the app pointed at it
        self.broker = ClusterBroker(
            self.app,
            self.run_dir,
            broker,
            port=port,
            room=room,
            tag=self.tag,
            on_state=self._broker_state,
        )
        self._progress = Progress(self) if progress else None
        _clusters.add(self)
        self.started_at = time.time()
        try:
            self.broker.start()
            # in a room: to our workers
            self.broker.point_app(f"kit.{self.tag}" if room is not None else None)
            tasks.register(self.app)
            shipping.write(self._plan.payload(self.app), self.run_dir)
            transport = self.broker.transport_options()
            self.events = EventFeed(self.broker_url, transport_options=transport).start()
            # first of the feed's subscribers: every widget reads states it already holds
            self._watch_states()
            self.recording = self.record(record) if record else None
            since = time.time()
            self._boot([self._spawn() for _ in range(workers)], since=since)
            self.state = "running"
        except BaseException:
            self.close()
            raise
        finally:
            if self._progress:
                self._progress.done()

    # -- broker and app -------------------------------------------------------------------------
    @property
    def broker_url(self):
        """The broker's URL (the embedded Redis's once it started)."""
        return self.broker.url

    @property
    def embedded(self):
        """True when the cluster runs its own redis-server."""
        return self.broker.embedded

    @property
    def namespace(self):
        """The key prefix on the broker ('' on a private embedded Redis)."""
        return self.broker.namespace

    @property
    def redis(self):
        """The embedded Redis (`kit.processes.broker.EmbeddedRedis`), None on a given broker."""
        return self.broker.redis

    @property
    def _client(self):
        return self.broker.client

    @property
    def broker_history(self):
        """One line per exit of the embedded Redis: when, why, how it came back, what was lost."""
        return self.broker.history

    def _broker_state(self, state):
        if not self.closed and self.state != "starting":
            self.state = state

    # -- workers --------------------------------------------------------------------------------
    def _spawn(self, name=None):
        if name is None:
            self._count += 1
            shared = not self.embedded or self.room is not None
            # unique on a shared broker
            own = f"-{self.tag}" if shared else ""
            name = f"w{self._count}{own}@{socket.gethostname()}"
        args = (name, self.run_dir, self.broker_url, self._plan.argv, self.fork)
        worker = WorkerProcess(*args, namespace=self.namespace)
        self._workers[name] = worker.start()
        return worker

    def _make_plan(self, worker_options):
        """The Plan for `worker_options` over the cluster's shortcuts and the kit's defaults."""
        base = (options.DEFAULTS, self._shortcuts)
        return plan.make(
            self.app,
            worker_options,
            base=base,
            probes=self.probes,
            gossip=self.gossip,
            workers=self._gossip_workers,
        )

    @property
    def worker_options(self):
        """The worker options the workers run with, as given to LocalCluster or restart()."""
        return dict(self._plan.worker_options)

    def _boot(self, workers, timeout=None, since=0.0):
        """Wait until each worker is ready and every worker's gossip heard every other.

        `since` is when they were started. On failure, stop them and raise WorkerBootError.
        """
        progress = self._progress and self._progress.update
        peers = [w for w in self._workers.values() if w not in workers]
        gossip = self._plan.gossip_reports
        with ReadyWatch(self.events, workers, peers, since=since, gossip=gossip) as watch:
            failed = watch.wait(timeout or self.timeout, self.ping, progress)
        if failed is None:
            return
        worker, why = failed
        # the deadline passed or a step is stuck: stop every worker still booting
        if worker.alive:
            message = worker.failure(why)
            # still booting; or, when only their gossip was too slow, every new worker;
            # a worker stuck in a step's start would not stop on SIGTERM: SIGKILL it
            for name in list(watch.pending) or [w.name for w in workers]:
                self._drop(name, None if name in watch.stuck else 10.0)
            raise WorkerBootError(message, stuck=watch.stuck.get(worker.name))
        self._drop(worker.name)
        raise WorkerBootError(worker.failure(why))

    def _drop(self, name, grace=None):
        """Stop worker `name` gracefully within `grace` seconds, or SIGKILL it (`grace=None`)."""
        w = self._workers.pop(name, None)
        if w is not None:
            w.close(grace) if grace is not None else w.kill()

    @property
    def workers(self):
        """Names of the worker processes that are alive."""
        return [name for name, w in list(self._workers.items()) if w.alive]

    @property
    def gossip_timing(self):
        """The intervals the workers' gossip runs with: a `kit.gossip_timing.GossipTiming`.

        `heartbeat_interval` is the longest `freq` the cluster's workers advertise in their latest
        heartbeats (as planned for their number until one is heard), `check_interval` how often
        Celery's `Gossip.periodic` looks for lost peers; `node_lost_window()` gives the seconds
        from a SIGKILL to the survivors' node_lost by Celery's rule: `(F, 2F + I)`.
        """
        own = set(self._workers)
        return gossip_timing.heard(self.gossip, self.events.history, own, len(self.workers))

    def owns(self, name):
        """True for a worker this cluster started (it may kill it); False for others in its room."""
        return name in self._workers

    def refusal(self, action, worker=None):
        """None for every action on its own workers; a worker of its room is only its owner's."""
        self._known_action(action)
        if action == "shutdown":
            return "a LocalCluster stops its own workers: cluster.stop_worker(name)"
        if action in ("stop", "kill") and worker is not None and not self.owns(worker):
            return NOT_OWNED.format(name=worker, what=action)
        return None

    def describe(self):
        """'LocalCluster'."""
        return "LocalCluster"

    def where(self):
        """'embedded redis', or 'attached' with the cluster's room or private namespace."""
        if self.room:
            return f"room {self.room!r}, attached"
        if self.embedded:
            return "embedded redis"
        return f"private namespace {self.namespace!r}, attached"

    def age(self):
        """'up 12 s' while running."""
        return f"up {time.time() - self.started_at:.0f} s" if self.state == "running" else ""

    @property
    def run_options(self):
        """The options the workers run with: the kit's defaults, the shortcuts, worker_options."""
        return options.merged(options.DEFAULTS, self._shortcuts, self.worker_options)

    def _check_open(self):
        if self.closed:
            raise ClusterError("this cluster is closed: start a new one with kit.LocalCluster(app)")
        self.broker.check()

    def _known(self, name):
        if name not in self._workers:
            raise ValueError(f"no worker {name!r}: the cluster's workers are {self.workers!r}")
        return self._workers[name]

    def add_worker(self, name=None):
        """Start one more worker (peers see gossip node_join) and return its name."""
        self._check_open()
        since = time.time()
        w = self._spawn(name)
        self._boot([w], since=since)
        return w.name

    def stop_worker(self, name, timeout=30.0):
        """Stop a worker gracefully (SIGTERM, warm shutdown): peers see node_leave."""
        self._check_open()
        self._known(name)
        self._drop(name, grace=timeout)

    def kill_worker(self, name):
        """SIGKILL a worker's process tree: peers see node_lost once its heartbeats stop."""
        self._check_open()
        self._known(name)
        self._drop(name)

    def restart(self, worker_options=None, timeout=None):
        """Ship app.steps/tasks/options again and restart the workers one by one (same names).

        If a worker fails to boot with the new steps within `timeout` seconds (default: the
        cluster's), it is started again with the previous ones, so the cluster stays usable,
        and WorkerBootError says what went wrong.
        """
        self._check_open()
        self._gossip_workers = max(1, len(self._workers))
        new = self._make_plan(
            self._plan.worker_options if worker_options is None else worker_options
        )
        previous = (self._plan, shipping.read_bytes(self.run_dir))
        self._plan = new
        shipping.write(new.payload(self.app), self.run_dir)
        for name in list(self._workers):
            self._drop(name, 10.0)
            try:
                since = time.time()
                self._boot([self._spawn(name)], timeout, since=since)
            except WorkerBootError:
                self._roll_back(name, *previous)
                raise

    def _roll_back(self, name, previous, payload):
        """Start `name` again with the previous plan and the exact payload bytes it ran with."""
        shipping.write_bytes(payload, self.run_dir)
        self._plan = previous
        since = time.time()
        self._boot([self._spawn(name)], since=since)

    def logs(self, name, lines=None):
        """The worker's log (stdout, stderr); worker_options={'loglevel': 'debug'} logs boot."""
        with open(self._known(name).log_path, errors="replace") as f:
            text = f.read()
        return record_tail(text, lines) if lines else text

    # -- lifetime -------------------------------------------------------------------------------
    def close(self):
        """Stop the workers, the event feed and the embedded Redis; idempotent."""
        if self.closed:
            return
        # first: it would start Redis again, or set a state over 'closed'
        self.broker.stop_watching()
        self.state = "closed"
        workers = list(self._workers.values())
        self._workers = {}
        terminate_all(workers, grace=5.0)
        if self.events is not None:
            self.events.close()
        self.broker.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    __repr__ = display.text
    _repr_html_ = display.html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return display.mimebundle(self)


@atexit.register
def _close_all():
    for cluster in list(_clusters):
        cluster.close()
    close_fork_server()
