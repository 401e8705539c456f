"""ClusterView: the written contract between what shows a cluster and what it shows."""

import abc
import threading
import time

from kit.errors import ClusterError
from kit.worker_states import TYPES, WorkerStates

#: Every action a view may allow, and what it does (the words of a refusal).
ACTIONS = {
    "add": "start a worker",
    "stop": "stop a worker",
    "kill": "kill a worker",
    "restart": "restart the workers",
    "shutdown": "ask a worker to shut down",
    "ping": "ping the workers",
    "inspect": "ask a worker for its live blueprint",
    "elect": "start a gossip election",
    "publish": "publish a message to a consumer",
    "record": "record what it shows",
}

#: Why a view refuses an action on a worker that someone else started.
NOT_OWNED = "{name} was not started by this notebook: only its owner can {what} it"

_states_lock = threading.Lock()


class ClusterView(abc.ABC):
    """A cluster as the card, the dashboard, the header and the recorder see it.

    LocalCluster (workers it started), Room (a room's workers, started by others) and Replay (a
    recording) are views; those widgets read a view through this contract only.

    To implement this class, you must provide:

    - `events`: an EventLog (kit.events.log) of the cluster's events, Celery's and the kit's
      (an EventFeed fills it from the broker, a replay from its file);
    - `workers`: a property, the names of the workers there now;
    - `state`: its state in a word or two ('running', "watching room 'pycon'", 'replay', and
      'closed' once closed), and `closed`;
    - `describe()`: what it is, in one line ('LocalCluster', 'replay of run.jsonl, ...');
    - `close()`: stop watching (idempotent).

    Everything else has a default that fits a view that only watches (owns no worker and
    allows no action), and may be changed:

    - `live` (True): its events arrive as they happen; False for a recording (its clock moves
      only when played, and every action is refused);
    - `starts_workers` (False): it can start workers (add, restart);
    - `owns(name)` (False): it started worker `name` and holds its process;
    - `now()` (time.time): its clock; `started_at` (None): when it began; `paused` (False): its
      clock stands still; `age()` (''): where it stands in time, in words ('up 12 s');
    - `worker_states`: the one WorkerStates (kit.worker_states) fed from `events`, built on first
      use; every state a widget shows is read from it;
    - `refusal(action, worker=None)`: None when it allows `action` (a key of `ACTIONS`) on
      `worker`, else why not and what to do instead. Widgets ask it before they offer an action.
      The default refuses everything but 'record';
    - the actions, each refused with ClusterError(refusal) by default: `add_worker(name=None)`,
      `stop_worker(name, timeout=30.0)`, `kill_worker(name)`, `restart(worker_options=None,
      timeout=None)`, `shutdown(name)`, `ping(workers=None, timeout=1.0)`,
      `inspect_blueprint(worker, timeout=5.0)`, `elect(worker=None, action=None, timeout=5.0)`,
      `publish(body, content_type=None, queue=None, declare=True)`; and `record(path)`, a
      Recorder (kit.record.recorder) keeping what it shows;
    - what its card shows: `broker_url` (''), `embedded` (False: it started no broker),
      `where()`, `broker_history` ([]), `app` (None), `steps_added`, `worker_options` ({}),
      `run_options`, `static` (None: the recorded static blueprints when there is no app),
      `has_blueprint(name)`, `timeout` (the deadline its actions wait, seconds), `notes()` ([]:
      lines the card shows under its worker table, e.g. how to instrument a worker).
    """

    live = True
    starts_workers = False
    started_at = None
    paused = False
    broker_url = ""
    embedded = False
    app = None
    static = None
    timeout = 30.0
    worker_options = {}
    #: The Recorder started by `record=path`, if any.
    recording = None

    @property
    @abc.abstractmethod
    def workers(self):
        """The names of the workers there now."""

    @property
    @abc.abstractmethod
    def closed(self):
        """True once close() ran."""

    @abc.abstractmethod
    def describe(self):
        """What the view is, in one line."""

    @abc.abstractmethod
    def close(self):
        """Stop watching; idempotent."""

    # -- what a view shows ----------------------------------------------------------------------
    def owns(self, name):
        """True if the view started worker `name` and holds its process."""
        return False

    def now(self):
        """The view's clock (epoch seconds)."""
        return time.time()

    def age(self):
        """Where the view stands in time, in words ('' if nothing to say)."""
        return ""

    def where(self):
        """Where its broker is, in words."""
        return "attached broker"

    @property
    def broker_history(self):
        """One line per restart of a broker the view owns."""
        return []

    @property
    def worker_states(self):
        """The view's one WorkerStates, fed from `events` (from its history on)."""
        return self._watch_states()

    def _watch_states(self):
        """Build the view's WorkerStates once (a view calls it as soon as its `events` exist)."""
        with _states_lock:
            model = self.__dict__.get("_worker_states")
            if model is None:
                model = self.__dict__["_worker_states"] = WorkerStates(clock=self.now)
                self.events.subscribe(model.on_event, types=TYPES, history=True)
        return model

    @property
    def steps_added(self):
        """{'worker': [...], 'consumer': [...]}: the names of the steps its app added."""
        steps = self.app.steps if self.app is not None else {}
        return {
            bp: [getattr(s, "__name__", str(s)) for s in steps.get(bp, ())]
            for bp in ("worker", "consumer")
        }

    @property
    def run_options(self):
        """The options its workers run with (pool, concurrency, ...)."""
        return dict(self.worker_options)

    def notes(self):
        """Lines the card shows under its worker table (none by default)."""
        return []

    def has_blueprint(self, name):
        """True when `inspect_blueprint(name)` can answer."""
        return name in self.workers

    # -- what a view allows ---------------------------------------------------------------------
    def refusal(self, action, worker=None):
        """None when the view allows `action` on `worker`; else why not, and what to do instead."""
        self._known_action(action)
        if action == "record":
            return None
        return f"{self.describe()} only watches: it cannot {ACTIONS[action]}"

    def allows(self, action, worker=None):
        """True when the view allows `action` (a key of ACTIONS) on `worker`."""
        return self.refusal(action, worker) is None

    def _known_action(self, action):
        if action not in ACTIONS:
            raise ValueError(f"action={action!r}: choose one of {sorted(ACTIONS)}")

    def _refuse(self, action, worker=None):
        """Raise ClusterError with the refusal of `action` (the default of every action)."""
        raise ClusterError(
            self.refusal(action, worker) or f"{type(self).__name__} does not {ACTIONS[action]}"
        )

    def add_worker(self, name=None):
        """Start one more worker and return its name."""
        self._refuse("add")

    def stop_worker(self, name, timeout=30.0):
        """Stop worker `name` gracefully: peers see node_leave."""
        self._refuse("stop", name)

    def kill_worker(self, name):
        """SIGKILL worker `name`: peers see node_lost."""
        self._refuse("kill", name)

    def restart(self, worker_options=None, timeout=None):
        """Restart the workers with the app's steps and `worker_options`."""
        self._refuse("restart")

    def shutdown(self, name):
        """Ask worker `name` to stop (Celery's `shutdown` broadcast)."""
        self._refuse("shutdown", name)

    def ping(self, workers=None, timeout=1.0):
        """Names of the workers answering Celery's `ping`."""
        self._refuse("ping")

    def inspect_blueprint(self, worker, timeout=5.0):
        """The live blueprints of worker `worker`."""
        self._refuse("inspect", worker)

    def elect(self, worker=None, action=None, timeout=5.0):
        """Start a gossip election; returns its id."""
        self._refuse("elect", worker)

    def publish(self, body, content_type=None, queue=None, declare=True):
        """Publish a message to a custom consumer's queue (declared first, unless declare=False)."""
        self._refuse("publish")

    def record(self, path):
        """Keep what the view shows in `path` (JSON lines): a Recorder."""
        from kit.record.recorder import Recorder

        if (why := self.refusal("record")) is not None:
            raise ClusterError(why)
        return Recorder(self, path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
