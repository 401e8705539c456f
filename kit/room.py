"""kit.Room: watch a room's workers on a shared Redis (their steps, gossip) without owning them."""

import os

from celery import Celery

from kit import display
from kit.control import Control
from kit.errors import ClusterError
from kit.events.feed import EventFeed
from kit.join_address import join_address
from kit.processes import namespace
from kit.view import NOT_OWNED, ClusterView


class Room(Control, ClusterView):
    """The instructor's view of a room: `room = kit.Room(URL, "pycon")`, then `kit.Dashboard(room)`.

    `room.workers` lists every worker heard in the room (by its heartbeats, whoever started it).
    What goes through Celery's remote control works on any of them: `inspect_blueprint`,
    `kit.blueprint_graph(room, worker=...)`, `elect`, `ping`, `shutdown`. Killing or restarting
    needs the process, so a Room refuses those and says who can. `record="room.jsonl"` keeps
    what the room shows, for `kit.replay` (an instructor's run to show later).

    A ClusterView (kit/view.py) that owns no worker: `refusal()` says which actions it allows.
    """

    def __init__(self, broker=None, name=None, timeout=10.0, record=None):
        broker = broker or os.environ.get("KIT_BROKER_URL")
        name = name or os.environ.get(namespace.ROOM_ENV)
        if not broker:
            raise ValueError(
                "kit.Room needs a broker: kit.Room('redis://:PASSWORD@HOST:PORT/0', 'pycon') "
                "or set KIT_BROKER_URL"
            )
        if not name:
            raise ValueError(
                "kit.Room needs the room's name: kit.Room(URL, 'pycon'), or set KIT_ROOM"
            )
        self.name = namespace.check_room(name)
        self.broker_url = broker
        self.timeout = timeout
        self.namespace = namespace.room_prefix(name)
        self.embedded = False
        self.state = "starting"
        self.worker_options = {}
        options = namespace.transport_options(self.namespace, {"polling_interval": 0.05})
        self.app = Celery(
            "kit-room", broker=broker, set_as_current=False, broker_transport_options=options
        )
        self._client = self.app
        self.events = EventFeed(
            broker, transport_options=namespace.transport_options(self.namespace)
        )
        self._watch_states()
        try:
            self.events.start(timeout=timeout)
            # a ping answer is a sign of life, as a heartbeat at Celery's default interval
            for peer in self.ping():
                self.worker_states.heard(peer, freq=2.0)
            self.recording = self.record(record) if record else None
        except BaseException:
            self.close()
            raise
        self.state = f"watching room {name!r}"

    # -- who is in the room ---------------------------------------------------------------------
    @property
    def workers(self):
        """Every worker of the room there now: heard, and alive by Celery's heartbeat expiry."""
        return self.worker_states.present()

    #: The dashboard's Add button is off: a Room starts no workers.
    starts_workers = False

    def describe(self):
        """The room it watches, e.g. Room 'pycon'."""
        return f"Room {self.name!r}"

    def where(self):
        """The room on a broker others share, e.g. room 'pycon', attached."""
        return f"room {self.name!r}, attached"

    def refusal(self, action, worker=None):
        """Remote control is allowed on any worker of the room; what needs the process is not."""
        self._known_action(action)
        if action == "kill":
            name = worker or "a room's worker"
            return NOT_OWNED.format(name=name, what="kill") + "; room.shutdown(name) asks it to stop"
        if action == "add":
            return (
                f"a Room starts no workers: attendees join with `python -m kit worker --room "
                f"{self.name}`, or start your own with kit.LocalCluster(app, broker=URL, "
                f"room={self.name!r})"
            )
        if action == "restart":
            return (
                f"a Room can't restart room {self.name!r}'s workers: it did not start them; "
                "each owner restarts their own (cluster.restart())"
            )
        return None

    def join_command(self, name="YOUR_NAME", password=False):
        """What an attendee types to join this room, or why laptops can't reach the broker.

        The address is `$KIT_PUBLIC_HOST` (HOST[:PORT], which the compose stack sets from
        REDIS_BIND) when set, else the room's own broker URL; the password is hidden unless
        `password=True`. `kit.join_address.join_address` gives the parts.
        """
        return str(join_address(self.broker_url, self.name, name=name, password=password))

    # -- remote control (works on any worker of the room) ---------------------------------------
    def shutdown(self, name):
        """Ask a worker to stop gracefully (Celery's `shutdown` broadcast): peers see node_leave."""
        self._check_open()
        self._client.control.broadcast("shutdown", destination=[name])

    def stop_worker(self, name, timeout=None):
        """In a room: the `shutdown` broadcast (the dashboard's Stop button)."""
        self.shutdown(name)

    def _check_open(self):
        if self.closed:
            raise ClusterError(
                f"this view of room {self.name!r} is closed: open a new kit.Room(URL, name)"
            )

    # -- lifetime and display -------------------------------------------------------------------
    def close(self):
        """Stop watching (the room's workers keep running); idempotent."""
        if self.closed:
            return
        self.state = "closed"
        self.events.close()

    __repr__ = display.room_text
    _repr_html_ = display.room_html
