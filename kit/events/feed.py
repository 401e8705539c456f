"""The notebook-side event feed: a receiver thread per cluster that fills an EventLog (log.py).

It reads the broker; on Redis straight from its pub/sub channels (stream.py).
"""

import threading
import time

from celery import Celery

from kit.errors import ClusterError
from kit.events.contract import FEED, GROUP
from kit.events.log import EventLog
from kit.events.stream import RedisEventStream
from kit.processes.broker import mask_url


class EventFeed(EventLog):
    """Every Celery event on the cluster's broker (Celery's own and the kit's `kit-*`), as dicts.

    History is a ring buffer of `maxlen` events. Callbacks run on the receiver thread: keep them
    short, and never print from them (use a widget or append to a list). `transport_options` must
    carry the cluster's namespace (`global_keyprefix`) on a shared broker, or the feed hears
    nothing.
    """

    def __init__(self, broker_url, maxlen=10000, transport_options=None):
        super().__init__(maxlen)
        options = {"broker_transport_options": transport_options or {}}
        self._app = Celery("kit-feed", broker=broker_url, set_as_current=False, **options)
        self._receiver = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kit-event-feed", daemon=True)
        self._heard = threading.Event()
        self._probe_id = f"kit-feed-{id(self):x}"
        #: connections made so far: a probe thread stops when a newer one starts
        self._generation = 0

    def start(self, timeout=10.0):
        """Start receiving; returns once an event of its own has come back (the feed is subscribed).

        ClusterError (the feed closed again) if its probe is not heard within `timeout` seconds.
        """
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self.connected, timeout)
        if not self.connected:
            self.close()
            raise ClusterError(self._unheard(timeout))
        return self

    def _unheard(self, timeout):
        errors = "; ".join(list(self.errors)[-2:]) or "none"
        return (
            f"the event feed did not hear its own probe event within {timeout:.0f} s "
            f"(broker {mask_url(self._app.conf.broker_url)}, connected={self.connected}, errors: {errors}). "
            "Fix: check that the broker is up and reachable (python -m kit doctor), "
            "and that the feed has the cluster's transport options"
        )

    def _probe(self):
        """A new connection: send probe events until one comes back (then the feed is connected).

        Subscribed is not yet listening: kombu subscribes to Redis's pub/sub channels on its first
        read, and Redis keeps no message for a subscriber that is not there yet."""
        self._generation += 1
        self._heard.clear()
        threading.Thread(
            target=self._confirm,
            args=(self._generation,),
            name="kit-event-feed-probe",
            daemon=True,
        ).start()

    def _announcing(self, ready):
        """Wrap an EventReceiver's on_consume_ready to start the probe."""

        def on_ready(*args, **kwargs):
            self._probe()
            return ready(*args, **kwargs)

        return on_ready

    def _confirm(self, generation, every=0.05, patience=60.0):
        """Send probe events until one comes back, then mark the feed connected.

        Once per connection.
        """
        deadline = time.monotonic() + patience
        try:
            with self._app.connection_for_write() as conn:
                probe = self._app.events.Dispatcher(
                    conn,
                    hostname=self._probe_id,
                    enabled=True,
                    groups=[GROUP],
                    buffer_while_offline=False,
                )
                while generation == self._generation and not self._stopping:
                    probe.send("kit-feed-probe")
                    if self._heard.wait(every):
                        self._set_connected(True)
                        return
                    if time.monotonic() > deadline:
                        self.errors.append(
                            f"no probe event back within {patience:.0f} s of connecting"
                        )
                        return
        except Exception as exc:
            # the receiver's own loop sees the broker fail, and reconnects
            self.errors.append(f"probe: {type(exc).__name__}: {exc}")

    def _run(self):
        while not self._stopping:
            try:
                with self._app.connection_for_read() as conn:
                    # fail fast: this loop retries and sees close()
                    conn.ensure_connection(max_retries=0)
                    if RedisEventStream.fits(conn):
                        self._read_redis(conn)
                    else:
                        self._consume(conn)
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                self._set_connected(False)
                if not self._stopping:
                    time.sleep(0.5)
        self._set_connected(False)

    def _read_redis(self, conn):
        """Read the event channels straight from Redis (stream.py), a batch at a time."""
        accept = {self._app.conf.event_serializer, "json"}
        stream = RedisEventStream(conn, self._app.conf.event_exchange, accept, self.errors)
        try:
            self._probe()
            while not self._stopping:
                events = stream.read(timeout=0.25)
                if events:
                    self._take(events)
        finally:
            stream.close()

    def _consume(self, conn):
        """Any other broker (or Redis through Sentinel): Celery's EventReceiver, event by event."""
        self._receiver = receiver = self._app.events.Receiver(
            conn, handlers={"*": lambda event: self._take((event,))}
        )
        receiver.on_consume_ready = self._announcing(receiver.on_consume_ready)
        receiver.should_stop = self._stopping
        # its own connection too
        receiver.connect_max_retries = 0
        for _ in receiver.consume(limit=None, timeout=None, safety_interval=0.25, wakeup=False):
            pass

    def _set_connected(self, value):
        with self._cond:
            if value != self.connected:
                self.connected = value
                self.add(
                    {"type": FEED, "hostname": "", "timestamp": time.time(), "connected": value}
                )
            self._cond.notify_all()

    def _take(self, events):
        """Keep and hand on a batch of received events, except the feed's own probes."""
        kept = []
        for event in events:
            if event.get("hostname") == self._probe_id:
                self._heard.set()
                continue
            if "timestamp" not in event:
                event["timestamp"] = time.time()
            kept.append(event)
        if kept:
            self.add_many(kept)

    def close(self):
        """Stop the receiver thread; idempotent."""
        self._stopping = True
        if self._receiver is not None:
            self._receiver.should_stop = True
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<EventFeed {len(self._ring)} events, connected={self.connected}>"
