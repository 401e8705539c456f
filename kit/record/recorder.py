"""Writing a recording while a cluster runs: `with cluster.record("run.jsonl"): ...`."""

import collections
import dataclasses
import queue
import threading
import time
import warnings

import celery

import kit
from kit.errors import RecordingWarning, StepError
from kit.events.contract import FEED, READY
from kit.processes.broker import mask_url
from kit.record import fileformat
from kit.roster import Roster

#: Seconds between two writes (each flushed): what a killed kernel can lose at most.
TICK = 0.1
#: How many times a worker is asked for its live blueprint before the recording goes without.
ASKS = 3


class Recorder:
    """Every event the cluster's feed sees, appended to `path` and flushed record by record.

    With the events: its roster's changes and each worker's live blueprint (asked once the worker is
    ready, and at the start for those already running). Stops by itself when the cluster closes;
    `close()` stops it sooner. A write that fails (a full disk) stops the recording with a
    RecordingWarning: the cluster keeps running.
    """

    def __init__(self, cluster, path):
        self.cluster = cluster
        self.path = str(path)
        #: records written so far
        self.records = 0
        #: why the recording stopped early (an OSError), or None
        self.error = None
        self._lock = threading.Lock()
        self._roster = None
        self._asks = queue.SimpleQueue()
        #: records the writer thread writes next
        self._pending = collections.deque()
        self._stopping = threading.Event()
        self._sink = fileformat.Sink(self.path)
        self._threads = []
        self._flush([fileformat.header(**_about(cluster))])
        # could not even write the header (a full disk): warned already
        if self.closed:
            return
        #: the history is handed out (on this thread): only written
        self._opening = True
        cluster.events.subscribe(self._on_event, history=True)
        self._opening = False
        # the history, in the file before the writer thread starts
        self._drain()
        self._write_roster()
        self._threads = [
            threading.Thread(target=fn, name=f"kit-recorder-{fn.__name__[1:]}", daemon=True)
            for fn in (self._ask_blueprints, self._write_pending)
        ]
        for thread in self._threads:
            thread.start()
        for name in cluster.workers:
            self._asks.put(name)
        # it closed while the history was handed out
        if cluster.closed:
            self.close()

    @property
    def closed(self):
        """True once the recording stopped (closed, the cluster closed, or a write failed)."""
        return self._sink is None

    def _on_event(self, event):
        """On the feed's thread: only queues the record (the writer thread writes it)."""
        self._pending.append({"kind": "event", "at": _when(event), "event": event})
        # the roster, the asks and a closed cluster are seen to after
        if self._opening:
            return
        kind = event.get("type")
        if kind in Roster.TYPES:
            self._write_roster()
        # it answers remote control now (worker-online comes too early)
        if kind == READY:
            self._asks.put(event.get("hostname"))
        elif kind == FEED and self.cluster.closed:
            self.close()

    def _write_roster(self):
        workers = list(self.cluster.workers)
        with self._lock:
            if workers != self._roster:
                self._roster = workers
                self._pending.append({"kind": "roster", "at": time.time(), "workers": workers})

    def _ask_blueprints(self):
        while (name := self._asks.get()) is not None:
            reply = None
            for _ in range(ASKS):
                try:
                    reply = self.cluster.inspect_blueprint(name, timeout=5.0)
                    break
                except Exception:
                    # busy, gone, or never answers: ask again
                    if self.closed:
                        return
            if reply is not None:
                record = {"kind": "blueprint", "at": time.time(), "worker": name, "reply": reply}
                self._pending.append(record)

    def _write_pending(self):
        """The writer thread: every TICK seconds, what was queued, in one write and flush."""
        while not self._stopping.wait(TICK):
            self._drain()
        self._drain()

    def _drain(self):
        batch = []
        while self._pending:
            batch.append(self._pending.popleft())
        if batch:
            self._flush(batch)

    def _flush(self, records):
        """Write records and flush them; a failure (a full disk) stops the recording."""
        sink = self._sink
        if sink is None or not records:
            return
        try:
            sink.write(records)
            self.records += len(records)
        except OSError as exc:
            self.error, self._sink = exc, None
            self._unhook(sink)
            warnings.warn(
                f"the recording to {self.path} stopped after {self.records} records: {exc}. "
                "The cluster keeps running. Fix: free some disk space, then cluster.record(path) "
                "again, to another file",
                RecordingWarning,
                stacklevel=3,
            )

    def _unhook(self, sink):
        self.cluster.events.unsubscribe(self._on_event)
        self._asks.put(None)
        self._stopping.set()
        try:
            sink.close()
        except OSError:
            # the close writes what could not be written: already reported
            pass

    def close(self):
        """Stop recording; the file keeps every record so far. Idempotent."""
        self.cluster.events.unsubscribe(self._on_event)
        self._stopping.set()
        for writer in self._threads[1:]:
            if writer is not threading.current_thread():
                writer.join(timeout=10)
        with self._lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            self._unhook(sink)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "stopped" if self.closed else "recording"
        return f"<Recorder {state} to {self.path!r}: {self.records} records>"


def _when(event):
    return event.get("timestamp") or time.time()


def _about(cluster):
    """The header's fields: what ran, when, with which versions, and the app's static blueprints."""
    return {
        "recorded_at": time.time(),
        "kit": kit.__version__,
        "celery": celery.__version__,
        "source": type(cluster).__name__,
        "broker": mask_url(cluster.broker_url or ""),
        "started_at": cluster.started_at,
        "static": _static(cluster.app),
        "worker_options": _jsonable(cluster.run_options),
        "steps": cluster.steps_added,
    }


def _jsonable(options):
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
            for k, v in options.items()}  # fmt: skip


def _static(app):
    """The app's static blueprints as plain data (None when they do not resolve)."""
    from kit.blueprints.snapshot import static_snapshot

    if not isinstance(app, celery.Celery):
        return None
    try:
        return dataclasses.asdict(static_snapshot(app))
    except StepError:
        return None
