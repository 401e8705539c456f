"""Worker-side emitter: probes append records; a thread sends them as `kit-*` Celery events."""

import atexit
import collections
import os
import threading
import time

from kit.events.contract import GROUP, EventType

#: Fields the event dispatcher sets itself; a probe's field of the same name is renamed `<name>_`.
RESERVED = {
    "type",
    "hostname",
    "timestamp",
    "clock",
    "pid",
    "utcoffset",
    "blind",
    "retry",
    "retry_policy",
}

#: The client name of the kernel's event feed on Redis (CLIENT SETNAME), before its key prefix.
FEED_CLIENT = "kit-feed"
#: After a broker outage, how long the emitter holds its records for a feed to subscribe again.
RESUBSCRIBE_WAIT = 5.0


def feed_client_name(conn):
    """The client name a kit event feed on kombu connection `conn` gives its pub/sub connection."""
    return f"{FEED_CLIENT}:{conn.transport_options.get('global_keyprefix') or ''}"


def feed_listening(conn):
    """Is a kit event feed of `conn`'s namespace subscribed on its Redis? None: can't tell.

    Redis pub/sub keeps nothing for a subscriber that is not there yet, and Redis's CLIENT LIST
    shows each connection's name and pattern subscriptions (`psub`).
    """
    try:
        clients = conn.default_channel.client.client_list()
    except Exception:
        return None
    name = feed_client_name(conn)
    return any(c.get("name") == name and int(c.get("psub") or 0) for c in clients)


class Emitter:
    """Buffers records from any context and publishes them from one background thread.

    `emit(..., safe=False)` only appends to a deque (atomic in CPython), so it may be called
    from a signal handler (e.g. a `worker_shutting_down` receiver, which Celery runs inside its
    handler); the thread picks it up within 50 ms.
    """

    #: How many records are kept while the broker is unreachable.
    maxlen = 20000

    def __init__(self):
        self.queue = collections.deque(maxlen=self.maxlen)
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.dispatcher = self.thread = self.app = None
        self.dropped = 0
        #: True from a broker error until the emitter connected again
        self.outage = False
        self._closing = False
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self):
        """In a pool child (prefork): a fresh buffer, and a thread started on the first emit."""
        self.queue.clear()
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.dispatcher = self.thread = None
        self.outage = self._closing = False

    def emit(self, type_, safe=True, **fields):
        """Queue a `kit-<type_>` event for the sender thread.

        With `safe=False` (in a signal handler) it only queues.
        """
        for key in RESERVED & fields.keys():
            fields[f"{key}_"] = fields.pop(key)
        fields.setdefault("kit_time", time.time())
        self.queue.append((type_.name if isinstance(type_, EventType) else type_, fields))
        if safe and self.app is not None:
            if self.thread is None:
                self._start_thread()
            self.wake.set()

    def start(self, app, hostname):
        """Start the sender thread for `app`'s events as `hostname` (once per process)."""
        if self.thread is not None:
            return
        self.app = app
        self.hostname = hostname
        self._start_thread()
        atexit.register(self.close)

    def _start_thread(self):
        self.thread = threading.Thread(target=self._run, name="kit-emitter", daemon=True)
        self.thread.start()

    def _connect(self):
        conn = self.app.connection_for_write()
        if self.outage:
            self._await_feed(conn)
            self.outage = False
        self.dispatcher = self.app.events.Dispatcher(
            conn, hostname=self.hostname, enabled=True, groups=[GROUP], buffer_while_offline=False
        )

    def _run(self):
        while True:
            self.wake.wait(0.05)
            self.wake.clear()
            try:
                self.flush()
            except Exception:
                # broker down: keep the records, reconnect later
                self._reset()
                time.sleep(0.5)

    def _await_feed(self, conn):
        """After an outage, hold the records until a feed listens again (at most RESUBSCRIBE_WAIT).

        Events sent while the kernel's feed subscribes again after a broker restart would be lost:
        the stop of a step whose blueprint the outage restarted, for one.
        """
        deadline = time.monotonic() + RESUBSCRIBE_WAIT
        while not self._closing and time.monotonic() < deadline:
            if feed_listening(conn) is not False:
                return
            time.sleep(0.05)

    def _reset(self):
        self.outage = True
        if self.dispatcher is not None:
            try:
                self.dispatcher.connection.release()
            except Exception:
                pass
        self.dispatcher = None

    def close(self, timeout=3.0):
        """Send what is buffered before the process exits.

        The stop and shutdown records of a stopping worker.
        """
        self._closing = True
        deadline = time.monotonic() + timeout
        while self.queue and time.monotonic() < deadline:
            try:
                self.flush()
            except Exception:
                self._reset()
                time.sleep(0.1)

    def flush(self):
        """Send every queued event now."""
        with self.lock:
            self._flush()

    def _flush(self):
        while self.queue:
            if self.dispatcher is None:
                self._connect()
            type_, fields = self.queue[0]
            try:
                self.dispatcher.send(f"{GROUP}-{type_}", retry=False, **fields)
            except self.dispatcher.connection.connection_errors:
                raise
            except Exception:
                # a record that can't be sent (e.g. not JSON-serializable) is dropped, counted
                self.dropped += 1
            self.queue.popleft()


#: The one emitter of this worker process.
emitter = Emitter()


def emit(type_, safe=True, **fields):
    """Send a `kit-<type_>` event from this worker (type_: a contract EventType or a short name)."""
    emitter.emit(type_, safe=safe, **fields)
