"""The worker side's one gateway to the Celery and kombu internals the kit's probes touch.

Each internal is used through a function below, so a Celery release that renames one breaks here:
`missing(worker)` says which, and what the kit needs it for, and tests/worker/test_internals.py
calls every function on the oldest and the newest Celery. The kernel side has its own gateway,
kit/celery_private.py. Every function was checked on Celery 5.5.3, 5.6.2 and 5.7.0 (CHECKED_ON).
"""

from dataclasses import dataclass

from celery import bootsteps
from kombu.asynchronous import timer

#: The releases every function and entry below was checked on (Celery, with the kombu it installs).
CHECKED_ON = ("5.5.3", "5.6.2", "5.7.0")

#: The consumer's Heart and Gossip steps, as named in ``c.blueprint.steps``.
HEART = "celery.worker.consumer.heart.Heart"
GOSSIP = "celery.worker.consumer.gossip.Gossip"

#: Kombu's timer entry class (TracedEntry subclasses it: ``fun``, ``canceled``, ``cancel``).
Entry = timer.Entry


@dataclass(frozen=True)
class Internal:
    """One internal: where it lives, its name, and what the kit does with it."""

    #: a real object ('worker', 'consumer', 'timer', 'gossip', ...) or 'module:Class'
    where: str
    #: attribute name (dotted for nested ones)
    name: str
    #: why the kit needs it
    use: str


INTERNALS = (
    Internal(
        "celery.bootsteps:Blueprint", "_finalize_steps", "wrapped to trace every step's lifecycle"
    ),
    Internal("kombu.asynchronous.timer:Entry", "fun", "names a cancelled timer callback"),
    Internal("kombu.asynchronous.timer:Entry", "canceled", "reports a cancellation once"),
    Internal("kombu.asynchronous.timer:Entry", "cancel", "overridden to report cancellations"),
    Internal("timer", "Entry", "replaced so the worker's timer creates traced entries"),
    Internal("consumer", "blueprint.steps", "finds the Heart step by name"),
    Internal("consumer", "controller.blueprint.order", "lists the worker blueprint's steps live"),
    Internal("consumer", "blueprint.order", "lists the consumer blueprint's steps live"),
    Internal(
        "gossip", "event_handlers", "wraps the 'worker.elect' and 'worker.elect.ack' handlers"
    ),
    Internal("gossip", "on_elect", "Celery's handler of an election request, wrapped"),
    Internal("gossip", "on_elect_ack", "Celery's handler of an election ack, wrapped"),
    Internal("gossip", "election_handlers", "registers the 'kit' election topic"),
    Internal(
        "gossip", "consensus_requests", "an election's requests (guards the single-request case)"
    ),
    Internal("gossip", "consensus_replies", "tells when Celery decided an election"),
    Internal("gossip", "clock.sort_heap", "the leader Celery picks, to report it"),
    Internal("gossip", "full_hostname", "whether this worker won"),
    Internal(
        "celery.worker.state:active_requests", "", "DeadlockDetection reads the running tasks"
    ),
    Internal(
        "celery.events.dispatcher:EventDispatcher",
        "flush",
        "replaced on Celery < 5.7: keeps events",
    ),
    Internal(
        "dispatcher", "_group_buffer", "the buffered task events the event-flush guard flushes"
    ),
    Internal("dispatcher", "_publish", "the event-flush guard publishes one group's batch"),
    Internal(
        "dispatcher", "mutex", "the event-flush guard holds the dispatcher's lock, as Celery does"
    ),
)


def wrap_finalize_steps(wrap):
    """Replace ``Blueprint._finalize_steps`` with ``wrap(original)`` (once per process)."""
    original = bootsteps.Blueprint._finalize_steps
    if not getattr(original, "_kit", False):
        wrapped = wrap(original)
        wrapped._kit = True
        bootsteps.Blueprint._finalize_steps = wrapped


def use_entry_class(worker_timer, cls):
    """Make the worker's kombu timer create ``cls`` entries."""
    worker_timer.Entry = cls


def heart_step(c):
    """The consumer's Heart bootstep (its ``heartbeat_interval`` is read when it starts)."""
    return c.blueprint.steps[HEART]


def election(gossip, eid):
    """``(requests, replies)`` of election ``eid`` as Celery keeps them (None while unknown)."""
    return gossip.consensus_requests.get(eid), gossip.consensus_replies.get(eid)


def leader(gossip, requests):
    """The request Celery's on_elect_ack elects from ``requests``."""
    return requests[0] if len(requests) == 1 else gossip.clock.sort_heap(list(requests))


def keep_events_sent_during_flush():
    """Make ``EventDispatcher.flush`` remove only the buffered events it published (as 5.7 does)."""
    from celery.events.dispatcher import EventDispatcher

    original = EventDispatcher.flush
    if getattr(original, "_kit", False):
        return

    def flush(self, errors=True, groups=True):
        original(self, errors=errors, groups=False)
        if not groups:
            return
        with self.mutex:
            for group, events in list(self._group_buffer.items()):
                batch = list(events)
                if batch:
                    self._publish(batch, self.producer, f"{group}.multi")
                    # what other threads appended meanwhile stays
                    del events[: len(batch)]

    flush._kit = True
    EventDispatcher.flush = flush


def entry_callback(entry):
    """The function a kombu timer entry calls when it fires."""
    return entry.fun


def entry_cancelled(entry):
    """True once a kombu timer entry was cancelled."""
    return entry.canceled


def live_blueprints(c):
    """The worker's and the consumer's running blueprints, ``(worker, consumer)``, from ``c``.

    ``c`` is the consumer. Each has ``order``: its step instances in boot order.
    """
    return c.controller.blueprint, c.blueprint


def gossip_peers(gossip):
    """Node names of every worker the gossip's event state knows (itself too, once heard)."""
    return list(gossip.state.workers)


def on_election_won(gossip, topic, fn):
    """Call ``fn(action)`` when this worker wins an election on ``topic``."""
    gossip.election_handlers[topic] = fn


def wrap_election_handlers(gossip, wrap_request, wrap_ack):
    """Wrap Gossip's election handlers: ``wrap_request(on_elect)``, ``wrap_ack(on_elect_ack)``.

    The wrappers get Celery's own handlers, to call them.
    """
    handlers = gossip.event_handlers
    handlers["worker.elect"] = wrap_request(gossip.on_elect)
    handlers["worker.elect.ack"] = wrap_ack(gossip.on_elect_ack)


def _lookup(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _owner(where, objects):
    if where in objects:
        return objects[where]
    from celery.utils.imports import symbol_by_name

    return symbol_by_name(where)


def missing(worker):
    """What Celery no longer has, one message per internal, checked on a built (unstarted) worker.

    ``worker`` is a WorkController that was created but not started.
    """
    c = worker.consumer
    from types import SimpleNamespace

    from celery.events.state import Worker
    from celery.worker.heartbeat import Heart

    eventer = SimpleNamespace(on_enabled=set(), on_disabled=set())
    objects = {"worker": worker, "consumer": c, "timer": worker.timer, "peer": Worker("peer@kit")}
    objects["heartbeat"] = Heart(worker.timer, eventer)
    objects["dispatcher"] = worker.app.events.Dispatcher(
        worker.app.connection_for_write(), enabled=False
    )
    steps = getattr(getattr(c, "blueprint", None), "steps", {})
    objects.update(gossip=steps.get(GOSSIP), heart=steps.get(HEART))
    problems = [
        f"the consumer blueprint has no step {n!r}" for n in (GOSSIP, HEART) if n not in steps
    ]
    for item in INTERNALS:
        try:
            owner = _owner(item.where, objects)
            # its step is missing: said above
            if owner is None:
                continue
            if item.name:
                _lookup(owner, item.name)
        except (AttributeError, ImportError, KeyError) as exc:
            where = f"{item.where}.{item.name}" if item.name else item.where
            problems.append(
                f"{where} is gone ({type(exc).__name__}: {exc}); the kit uses it: {item.use}. "
                "Update kit/worker/internals.py for this Celery release."
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Gossip timing (kit/worker/sized_gossip.py): the only private parts of Celery's Heart and Gossip
# it touches, checked on Celery 5.5.3, 5.6.2 and 5.7.0. It sets intervals; Celery's own
# Gossip.periodic, on_node_lost and State expiry decide who is lost.
# ---------------------------------------------------------------------------------------------

GOSSIP_TIMING = (
    Internal("heart", "heartbeat_interval", "the heartbeat interval Heart starts with"),
    Internal("gossip", "interval", "seconds between two runs of Celery's Gossip.periodic"),
    Internal("gossip", "register_timer", "re-arms Gossip.periodic at a new interval"),
    Internal("gossip", "on", "node_join/leave/lost callbacks: the gossip re-sizes its intervals"),
    Internal("gossip", "state.workers", "the peers heard, counted to size the intervals"),
    Internal("consumer", "heart", "the running heartbeat sender"),
    Internal("heartbeat", "interval", "the freq each heartbeat advertises"),
    Internal("heartbeat", "tref", "the heartbeat timer entry, re-armed at a new interval"),
    Internal("heartbeat", "timer", "the timer the heartbeat runs on"),
    Internal("heartbeat", "_send", "a heartbeat sent at once, announcing a new freq"),
)
INTERNALS = INTERNALS + GOSSIP_TIMING


def start_heartbeat_every(c, seconds):
    """Make Celery's Heart step start its heartbeats every `seconds` (advertised as `freq`)."""
    heart_step(c).heartbeat_interval = seconds


def check_gossip_every(gossip, seconds, rearm=False):
    """Run Celery's ``Gossip.periodic`` every `seconds`; `rearm` when its timer already runs."""
    gossip.interval = seconds
    if rearm:
        gossip.register_timer()


def peers_heard(gossip):
    """The hostnames of the peers Celery's gossip state holds now (itself not among them)."""
    return [w.hostname for w in list(gossip.state.workers.values())]


def beat_every(c, seconds):
    """Send a heartbeat now that advertises ``freq=seconds``, then one every `seconds`.

    Peers judge a worker by the `freq` of its last heartbeat, so a longer interval is announced
    before the first longer gap. False when Heart is not running (it is off, or restarting).
    """
    start_heartbeat_every(c, seconds)
    heart = c.heart
    if heart is None or heart.tref is None:
        return False
    heart.timer.cancel(heart.tref)
    heart.interval = float(seconds)
    heart._send("worker-heartbeat")
    heart.tref = heart.timer.call_repeatedly(heart.interval, heart._send, ("worker-heartbeat",))
    return True
