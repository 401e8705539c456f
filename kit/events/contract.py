"""The worker -> kernel event contract: every `kit-*` event type and its fields, written once.

Worker-side code emits with `kit.events.telemetry.emit(contract.GOSSIP, event="node_lost", ...)`;
the notebook side reads `event["type"] == contract.GOSSIP` (the value is the string `"kit-gossip"`)
or subscribes with `cluster.events.subscribe(fn, types=[contract.GOSSIP])`. Every event also carries
Celery's own fields (`hostname`, `timestamp`, `pid`, `clock`, ...) and the kit's `kit_time`. A
probe's field named like one of Celery's is renamed with a trailing `_` (`pid` -> `pid_`).
"""

#: The event group the kit sends in (never `worker-*`: gossip would count those as heartbeats).
GROUP = "kit"


class EventType(str):
    """A `kit-*` event type: the string is the event's `type`; `name` is what `emit` was given.

    `fields` maps each field to what it means; `details` names the ones a log line shows.
    """

    def __new__(cls, name, fields, doc, details=()):
        self = super().__new__(cls, f"{GROUP}-{name}")
        self.name = name
        self.fields = dict(fields)
        self.doc = doc
        self.details = tuple(details)
        return self

    # pickles and copies as the plain string it is
    def __reduce__(self):
        return (str, (str(self),))


LIFECYCLE = EventType(
    "lifecycle",
    {
        "blueprint": "'worker' or 'consumer'",
        "step": "the step's name (its module.Class)",
        "label": "the step's label (class name)",
        "method": "__init__, include, create, start, stop, close, terminate or shutdown",
        "started_at": "when the call began (epoch seconds)",
        "duration": "seconds the call took",
        "error": "'Type: message' if it raised, else None",
    },
    "A step method ran (the boot waterfall, and every stop/shutdown).",
    details=("blueprint", "label", "method", "duration", "error"),
)
STUCK = EventType(
    "stuck",
    {
        "blueprint": "'worker' or 'consumer'",
        "step": "the step's name (its module.Class)",
        "label": "the step's label (class name)",
        "method": "the step method still running: __init__, include, create, start, stop, close, "
        "terminate or shutdown",
        "started_at": "when the call began (epoch seconds)",
        "elapsed": "seconds it had run when reported",
        "file": "the file it is stuck in (the innermost frame in the step's own module, else the "
        "innermost frame)",
        "line": "the line in that file",
        "stack": "the stack of the thread running it, 'file:line in function' from outer to inner",
    },
    "A step method is still running past the threshold (KIT_STUCK_AFTER, default 5 s): sent while "
    "it is stuck, again each time its elapsed time doubles (kit.worker.stuck).",
    details=("label", "method", "elapsed", "file", "line"),
)
SHUTDOWN = EventType(
    "shutdown",
    {
        "how": "'Warm' or 'Cold' (Celery's words: SIGTERM is warm, SIGQUIT cold)",
        "sig": "the signal's name, e.g. 'SIGTERM'",
        "exitcode": "the exit code the worker will end with",
        "during": "'Label.method' of the step call the main thread ran when it arrived (steps still "
        "starting, or stopping), else None",
    },
    "A shutdown signal arrived: sent from Celery's signal handler (worker_shutting_down), which only "
    "sets a flag; the worker's main loop stops the steps later.",
    details=("how", "sig", "during"),
)
TIMER = EventType(
    "timer",
    {
        "kind": "call_at, call_after, call_repeatedly (scheduled), fire or cancel",
        "callback": "the callback's module.qualname",
        "priority": "the entry's priority (scheduled only)",
        "eta": "epoch seconds (call_at only)",
        "delay": "seconds (call_after only)",
        "interval": "seconds (call_repeatedly only)",
        "duration": "seconds the callback ran (fire only)",
        "error": "'Type: message' if the callback raised (fire only)",
    },
    "The worker's timer scheduled, fired or cancelled a callback (kit.worker.probes.TimerProbe).",
    details=("kind", "callback", "delay", "eta", "interval", "duration", "error"),
)
#: kit-gossip's `event` values, each with the fields it carries besides `event`.
GOSSIP_EVENTS = {
    "node_join": ("peer", "size"),
    "node_leave": ("peer", "size"),
    "node_lost": ("peer", "size"),
    "recount": ("size",),
    "election": ("election", "topic", "action"),
    "elect-ack": ("election", "topic", "requested_by", "request_clock"),
    "elected": ("election", "leader", "voters"),
    "won": ("winner", "action"),
}
GOSSIP = EventType(
    "gossip",
    {
        "event": f"one of {', '.join(GOSSIP_EVENTS)}",
        "peer": "the worker that joined, left or was lost",
        "size": "the cluster size this worker now sees: itself + the peers its gossip knows "
        "(recount: it settled at another value after the callbacks, e.g. two peers lost in one check)",
        "election": "the election's id",
        "topic": "the election's topic",
        "action": "what the winner is asked to do",
        "requested_by": "the worker that sent the request (one of the election's candidates)",
        "request_clock": "the request's Lamport clock (the first request by clock is elected)",
        "leader": "the elected worker",
        "voters": "how many workers voted",
        "winner": "the worker that won (sent by the winner)",
    },
    "What a worker's Gossip step saw (kit.worker.probes.GossipProbe, kit_elect).",
    details=("event", "peer", "size", "election", "leader", "winner"),
)
DEADLOCK = EventType(
    "deadlock",
    {
        "task_id": "the stuck task's id",
        "task_name": "its name",
        "runtime": "seconds it has run",
        "timeout": "the step's timeout",
        "action": "'report' or 'shutdown'",
    },
    "kit.steps.DeadlockDetection found a task running past its timeout.",
    details=("task_name", "task_id", "runtime", "timeout"),
)
CONSUMER = EventType(
    "consumer",
    {
        "outcome": "'accepted' or 'rejected'",
        "body": "the body as short JSON (accepted)",
        "reason": "why it was rejected",
        "content_type": "the message's content type (rejected)",
        "accepted": "messages accepted so far",
        "rejected": "messages rejected so far",
    },
    "kit.steps.SafeConsumer accepted or rejected a message.",
    details=("outcome", "body", "reason"),
)
CLUSTER_SIZE = EventType(
    "cluster-size",
    {"size": "live peers the guide's ClusterAwareStep counts (without itself)"},
    "kit.steps.ClusterAwareStep recounted the cluster.",
    details=("size",),
)
OPTION = EventType(
    "option",
    {"name": "the worker option's name", "value": "the value the step received"},
    "kit.steps.OptionReader received a worker option.",
    details=("name", "value"),
)
READY = EventType(
    "ready",
    {},
    "The worker booted: it takes tasks and answers remote control (sent once, on Celery's worker_ready).",
)
FEED = EventType(
    "feed",
    {"connected": "True once the feed consumes from the broker, False when it lost it"},
    "Made by the notebook's EventFeed itself (never sent by a worker): its broker connection changed.",
    details=("connected",),
)
REPLAY = EventType(
    "replay",
    {"position": "seconds from the recording's start the replay jumped back to"},
    "Made by kit.replay itself (never sent by a worker): it went back in time; views start again.",
    details=("position",),
)

#: Every kit event type, by its `type` string.
_ALL = (
    LIFECYCLE,
    STUCK,
    SHUTDOWN,
    TIMER,
    GOSSIP,
    DEADLOCK,
    CONSUMER,
    CLUSTER_SIZE,
    OPTION,
    READY,
    FEED,
    REPLAY,
)
TYPES = {t: t for t in _ALL}

#: Celery's own events the kit's panels read too (see Celery's "Event Reference").
CELERY_WORKER = ("worker-online", "worker-heartbeat", "worker-offline")
CELERY_TASK = ("task-received", "task-started", "task-succeeded", "task-failed")


def type_of(name):
    """The event type `emit(name, ...)` sends: a known EventType, else the string `kit-<name>`."""
    if isinstance(name, EventType):
        return name
    full = f"{GROUP}-{name}"
    return TYPES.get(full, full)


def details(event):
    """{field: value} a log line or tooltip shows: the event's `details` fields that are set."""
    kind = TYPES.get(event.get("type"))
    names = kind.details if kind is not None else ()
    if kind is GOSSIP:
        names = ("event", *GOSSIP_EVENTS.get(event.get("event"), ("size",)))
    return {k: event[k] for k in names if event.get(k) is not None}
