"""kit.attach: a read-only view of every worker on a broker, instrumented by the kit or not.

The module is not named attach.py: importing kit.attach would put the module where the function
kit.attach is.
"""

import threading
import time

from celery import Celery

from kit import display
from kit.control import Control
from kit.errors import ClusterError
from kit.events.contract import FEED, GROUP
from kit.events.feed import EventFeed
from kit.processes.broker import mask_url
from kit.view import ACTIONS, NOT_OWNED, ClusterView

#: Celery's inspect commands that only read a worker's state (`view.inspect(command)`). Not
#: `hello` (it merges the caller's revoked tasks into the worker's), `memdump` or `objgraph`.
READ_ONLY = ("ping", "clock", "stats", "active", "registered", "active_queues", "conf",
             "scheduled", "reserved", "revoked", "query_task", "report")  # fmt: skip
#: The actions `control=True` allows, each through Celery's remote control.
CONTROLLED = ("stop", "shutdown", "elect", "publish")
#: How to instrument a worker the kit did not start (one line: the card and the repr show it).
HINT = (
    "not instrumented: to see its live graph, lifecycle, timers and gossip, start it with the "
    "kit's loader: CELERY_LOADER=kit.instrument:Loader celery -A proj worker ..."
)
#: Seconds after a worker's heartbeat by which an instrumented worker has sent a kit-* event: its
#: timer probe reports the firing of Heart's timer entry, the one that sent the heartbeat.
GRACE = 1.0
#: At most this long, `attach` waits to tell the kit's workers from the others (one heartbeat
#: interval, 2 s by default, plus GRACE, plus slack for a busy machine).
SETTLE = 5.0
#: Settings of `app=` that say how to reach its broker (the key prefix is in the first).
BROKER_SETTINGS = ("broker_transport_options", "broker_use_ssl", "broker_login_method")


def attach(broker_url, *, app=None, control=False):
    """A read-only view of every worker on `broker_url`: `view = kit.attach(URL)`.

    It lists every worker whose heartbeats it hears (or that answers Celery's `ping`), whoever
    started it. Workers instrumented by the kit (they send `kit-*` events) show their live graph
    (`kit.blueprint_graph(view, worker=name)`), lifecycle, timers and gossip; the others what
    Celery itself answers (`view.inspect("stats")`, `active`, `registered`, `active_queues`,
    `conf`), their task events if enabled, and a hint (`view.hint(name)`) on how to instrument
    them. `app=` (the project's Celery app) gives the static blueprint (`kit.blueprint_graph(app)`)
    and the broker settings, among them the key prefix (`global_keyprefix`); `broker_url=None`
    takes the app's. `control=True` allows Celery's remote control (shutdown, elections).
    `kit.Dashboard(view)`, `kit.Timeline(view)` and `view.record(path)` take it.
    """
    if broker_url is None and app is not None:
        broker_url = app.conf.broker_url
    if not isinstance(broker_url, str) or "://" not in broker_url:
        shown = mask_url(broker_url) if isinstance(broker_url, str) else broker_url
        raise ValueError(
            f"broker_url={shown!r}: give the broker's URL, e.g. "
            "kit.attach('redis://:PASSWORD@HOST:6379/0'), or app= with its broker_url set"
        )
    return Attached(broker_url, app=app, control=control)


class Attached(Control, ClusterView):
    """What `kit.attach` returns: a ClusterView (kit/view.py) that owns no worker and only reads.

    Sends no task and no broadcast but Celery's read-only inspect commands (`READ_ONLY`) and the
    kit's own `kit_blueprint` (only to workers that sent `kit-*` events), declares no queue and
    purges nothing; with `control=True`, the actions of `CONTROLLED` too. Killing, adding and
    restarting need the process: always refused. Its event feed reads Celery's events by Redis
    pub/sub and publishes only its own probe event there (no key, no queue); each inspect's reply
    queue is deleted by kombu once read.
    """

    def __init__(self, broker_url, app=None, control=False, timeout=10.0):
        self.broker_url = broker_url
        self.app = app
        self.control = bool(control)
        self.timeout = timeout
        self.embedded = False
        self.worker_options = {}
        self.state = "starting"
        settings = {key: app.conf[key] for key in BROKER_SETTINGS if app and app.conf[key]}
        self.prefix = (settings.get("broker_transport_options") or {}).get("global_keyprefix", "")
        self._client = Celery("kit-attach", broker=broker_url, set_as_current=False, **settings)
        self._kit = set()
        self._beat = {}
        self._heard = threading.Condition()
        self.events = EventFeed(
            broker_url, transport_options=settings.get("broker_transport_options")
        )
        self.events.subscribe(self._on_event, history=True)
        self._watch_states()
        try:
            self.events.start(timeout=timeout)
            # a ping answer is a sign of life, as a heartbeat at Celery's default interval
            peers = self.ping()
            for peer in peers:
                self.worker_states.heard(peer, freq=2.0)
            self._settle(peers, SETTLE)
        except BaseException:
            self.close()
            raise
        self.state = "attached, control" if self.control else "attached, read-only"

    # -- who is there, and what the kit can show of each ----------------------------------------
    @property
    def workers(self):
        """Every worker there now: heard, and alive by Celery's heartbeat expiry."""
        return self.worker_states.present()

    def _on_event(self, event):
        """On the feed's thread: note who sends `kit-*` events and each one's first heartbeat."""
        host, kind = event.get("hostname"), event.get("type") or ""
        if not host or kind == FEED:
            return
        with self._heard:
            if kind == "worker-heartbeat":
                self._beat.setdefault(host, time.monotonic())
            elif kind.startswith(f"{GROUP}-") and host not in self._kit:
                self._kit.add(host)
                self._heard.notify_all()

    def _decided(self, name):
        """Known instrumented, or a heartbeat came GRACE s ago and no kit-* event since."""
        beat = self._beat.get(name)
        return name in self._kit or (beat is not None and time.monotonic() - beat > GRACE)

    def _settle(self, names, timeout):
        """Wait (at most `timeout` s) until it is known which of `names` are instrumented."""
        deadline = time.monotonic() + timeout
        with self._heard:
            while not all(self._decided(n) for n in names):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._heard.wait(min(left, 0.1))

    def instrumented(self, name):
        """True once a `kit-*` event from worker `name` was heard."""
        return name in self._kit

    def hint(self, name):
        """None for an instrumented worker; else how to instrument it, in one line."""
        return None if self.instrumented(name) else f"{name}: {HINT}"

    def hints(self):
        """{worker: hint} for every worker there now that is not instrumented."""
        return {name: self.hint(name) for name in self.workers if not self.instrumented(name)}

    def notes(self):
        """The card's lines: how to instrument each worker there that is not."""
        return list(self.hints().values())

    def inspect(self, command, workers=None, timeout=1.0, **arguments):
        """{worker: reply} to one of Celery's read-only inspect commands (`READ_ONLY`).

        For example `view.inspect("stats")`, `view.inspect("active", ["w1@host"])`.
        """
        if command not in READ_ONLY:
            raise ValueError(f"command={command!r}: kit.attach only reads; choose one of {READ_ONLY}")
        self._check_open()
        inspect = self._client.control.inspect(list(workers) if workers else None, timeout=timeout)
        return getattr(inspect, command)(**arguments) or {}

    def has_blueprint(self, name):
        """True when `inspect_blueprint(name)` can answer: it is there and instrumented."""
        return name in self.workers and self.instrumented(name)

    # -- what it allows -------------------------------------------------------------------------
    def refusal(self, action, worker=None):
        """Reading is allowed; actions need control=True; killing, adding, restarting never."""
        self._known_action(action)
        if action in ("record", "ping"):
            return None
        if action == "inspect" or (action == "elect" and self.control):
            if worker is None or self.instrumented(worker):
                return None
            return f"{self.hint(worker)}; its static blueprint: kit.blueprint_graph(app)"
        if action == "kill":
            ask = "view.shutdown(name)" if self.control else "kit.attach(URL, control=True)"
            name = worker or "an attached worker"
            return NOT_OWNED.format(name=name, what="kill") + f"; {ask} can ask it to shut down"
        if action in CONTROLLED:
            return None if self.control else (
                f"this attach view is read-only: it cannot {ACTIONS[action]}. "
                "Use kit.attach(URL, control=True) for Celery's remote control"
            )  # fmt: skip
        # add, restart
        return f"kit.attach cannot {ACTIONS[action]}: it owns no worker; their owners can"

    def _allowed(self, action, worker=None):
        self._check_open()
        if (why := self.refusal(action, worker)) is not None:
            raise ClusterError(why)

    def inspect_blueprint(self, worker, timeout=5.0):
        """The live blueprints of an instrumented worker (the kit's `kit_blueprint` inspect)."""
        self._check_open()
        self._settle([worker], min(timeout, SETTLE))
        self._allowed("inspect", worker)
        return super().inspect_blueprint(worker, timeout=timeout)

    def shutdown(self, name):
        """With control=True: Celery's `shutdown` broadcast to `name` (peers see node_leave)."""
        self._allowed("shutdown", name)
        self._client.control.shutdown(destination=[name])

    def stop_worker(self, name, timeout=None):
        """With control=True: the `shutdown` broadcast (the dashboard's Stop button)."""
        self._allowed("stop", name)
        self._client.control.shutdown(destination=[name])

    def elect(self, worker=None, action=None, timeout=5.0):
        """With control=True: a gossip election from an instrumented worker; its id."""
        worker = worker or next((n for n in self.workers if self.instrumented(n)), None)
        self._allowed("elect", worker)
        if worker is None:
            raise ClusterError(f"no instrumented worker to start an election from: {HINT}")
        return super().elect(worker, action, timeout)

    def publish(self, body, content_type=None, queue=None):
        """With control=True: publish to a custom consumer's queue (see Control.publish)."""
        self._allowed("publish")
        return super().publish(body, content_type, queue)

    # -- lifetime and display -------------------------------------------------------------------
    def describe(self):
        """What it is, e.g. attach redis://:***@host:6379/0 (prefix 'proj:')."""
        prefix = f" (prefix {self.prefix!r})" if self.prefix else ""
        return f"attach {mask_url(self.broker_url)}{prefix}"

    def where(self):
        """An attached broker, in words."""
        return "attached broker"

    def _check_open(self):
        if self.closed:
            raise ClusterError("this attach view is closed: call kit.attach(URL) again")

    def close(self):
        """Stop watching (the workers keep running); idempotent."""
        if self.closed:
            return
        self.state = "closed"
        self.events.close()

    def __repr__(self):
        workers = self.workers
        kit_ones = [n for n in workers if self.instrumented(n)]
        hints = "".join(f"; {line}" for line in self.hints().values())
        return (
            f"<{self.describe()} {self.state}: {len(workers)} worker(s) {workers!r}, "
            f"instrumented {kit_ones!r}{hints}>"
        )

    _repr_html_ = display.html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return display.mimebundle(self)
