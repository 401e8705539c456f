"""kit.Room: watch a room on a shared Redis (its workers, their steps, gossip) without owning its
workers.
"""

import os
import threading
import time

from celery import Celery

from kit import display
from kit.control import Control
from kit.errors import ClusterError
from kit.events.feed import EventFeed
from kit.join_address import join_address
from kit.processes import namespace

#: What the dashboard says when an action needs a process this notebook started.
NOT_OWNED = "{name} was not started by this notebook: only its owner can {what} it"


class Room(Control):
    """The instructor's view of a room: `room = kit.Room(URL, "pycon")`, then `kit.Dashboard(room)`.

    `room.workers` lists every worker heard in the room (by its heartbeats, whoever started it).
    What goes through Celery's remote control works on any of them: `inspect_blueprint`,
    `kit.blueprint_graph(room, worker=...)`, `elect`, `ping`, `shutdown`. Killing or restarting
    needs the process, so a Room refuses those and says who can. `record="room.jsonl"` keeps
    what the room shows, for `kit.replay` (an instructor's run to show later).
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
        self._workers = {}
        self._seen = {}  # hostname -> (last heard, heartbeat interval)
        self._lock = threading.Lock()
        options = namespace.transport_options(self.namespace, {"polling_interval": 0.05})
        self.app = Celery(
            "kit-room", broker=broker, set_as_current=False, broker_transport_options=options
        )
        self._client = self.app
        self.events = EventFeed(
            broker, transport_options=namespace.transport_options(self.namespace)
        )
        self.events.subscribe(self._on_event)
        try:
            self.events.start(timeout=timeout)
            for peer in self.ping():
                self._heard(peer, 2.0)
            self.recording = self.record(record) if record else None
        except BaseException:
            self.close()
            raise
        self.state = f"watching room {name!r}"

    # -- who is in the room ---------------------------------------------------------------------
    def _on_event(self, event):
        kind, host = event.get("type", ""), event.get("hostname")
        if kind == "worker-offline":
            with self._lock:
                self._seen.pop(host, None)
        elif kind.startswith("worker-") and host:
            self._heard(host, float(event.get("freq") or 2.0))

    def _heard(self, host, freq):
        with self._lock:
            self._seen[host] = (time.monotonic(), freq)

    @property
    def workers(self):
        """Every worker heard in the room within two of its heartbeat intervals (plus a second), by
        name.
        """
        now = time.monotonic()
        with self._lock:
            seen = list(self._seen.items())
        return sorted(host for host, (heard, freq) in seen if now - heard <= 2 * freq + 1.0)

    #: The dashboard's Add button is off: a Room starts no workers.
    starts_workers = False

    def owns(self, name):
        """False: a Room starts no worker (a LocalCluster in the room owns the ones it started)."""
        return False

    def join_command(self, name="YOUR_NAME", password=False):
        """What an attendee types to join this room, or why laptops can't reach the broker and what
        to set.

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

    def kill_worker(self, name):
        """Refused: a Room kills no one's workers (ClusterError names what to do instead)."""
        raise ClusterError(
            NOT_OWNED.format(name=name, what="kill") + "; room.shutdown(name) asks it to stop"
        )

    def add_worker(self, name=None):
        """Refused: a Room starts no workers (ClusterError says how attendees join)."""
        raise ClusterError(
            f"a Room starts no workers: attendees join with `python -m kit worker --room {self.name}`, "
            f"or start your own with kit.LocalCluster(app, broker=URL, room={self.name!r})"
        )

    def restart(self, worker_options=None, timeout=None):
        """Refused: each owner restarts their own workers (ClusterError)."""
        raise ClusterError(
            f"a Room can't restart room {self.name!r}'s workers: it did not start them; "
            "each owner restarts their own (cluster.restart())"
        )

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
