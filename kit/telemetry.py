"""Worker-side emitter: probes append records; a thread sends them as `kit-*` Celery events."""
import collections
import threading
import time

#: Fields the event dispatcher sets itself; a probe's field of the same name is renamed `<name>_`.
RESERVED = {"type", "hostname", "timestamp", "clock", "pid", "utcoffset", "blind", "retry", "retry_policy"}

#: The event group the kit sends in (never `worker-*`: gossip would count those as heartbeats).
GROUP = "kit"


class Emitter:
    """Buffers records from any context and publishes them from one background thread.

    `emit(..., safe=False)` only appends to a deque (atomic in CPython), so it may be called
    from `stop`/`terminate`, which can run in a signal handler; the thread picks it up within 50 ms.
    """

    #: How many records are kept while the broker is unreachable.
    maxlen = 20000

    def __init__(self):
        self.queue = collections.deque(maxlen=self.maxlen)
        self.wake = threading.Event()
        self.dispatcher = None
        self.thread = None
        self.dropped = 0

    def emit(self, type_, safe=True, **fields):
        for key in RESERVED & fields.keys():
            fields[f"{key}_"] = fields.pop(key)
        fields.setdefault("kit_time", time.time())
        self.queue.append((type_, fields))
        if safe and self.thread is not None:
            self.wake.set()

    def start(self, app, hostname):
        if self.thread is not None:
            return
        self.app, self.hostname = app, hostname
        self.thread = threading.Thread(target=self._run, name="kit-emitter", daemon=True)
        self.thread.start()

    def _connect(self):
        conn = self.app.connection_for_write()
        self.dispatcher = self.app.events.Dispatcher(
            conn, hostname=self.hostname, enabled=True, groups=[GROUP], buffer_while_offline=False)

    def _run(self):
        while True:
            self.wake.wait(0.05)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # broker down: keep the records, reconnect later
                self._reset()
                time.sleep(0.5)

    def _reset(self):
        if self.dispatcher is not None:
            try:
                self.dispatcher.connection.release()
            except Exception:
                pass
        self.dispatcher = None

    def flush(self):
        while self.queue:
            if self.dispatcher is None:
                self._connect()
            type_, fields = self.queue[0]
            try:
                self.dispatcher.send(f"{GROUP}-{type_}", retry=False, **fields)
            except self.dispatcher.connection.connection_errors:
                raise
            except Exception:  # a record that can't be sent (e.g. not JSON-serializable) is dropped, counted
                self.dropped += 1
            self.queue.popleft()


#: The one emitter of this worker process.
emitter = Emitter()


def emit(type_, safe=True, **fields):
    emitter.emit(type_, safe=safe, **fields)
