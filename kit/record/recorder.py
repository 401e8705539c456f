"""Writing a recording while a cluster runs: `with cluster.record("run.jsonl"): ...`."""

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
from kit import roster
from kit.roster import Roster


#: How many times a worker is asked for its live blueprint before the recording goes without.
ASKS = 3


class Recorder:
    """Every event the cluster's feed sees, its roster's changes and each worker's live blueprint
    (asked once the worker is ready, and at the start for those already running), appended to
    `path` and flushed record by record.

    Stops by itself when the cluster closes; `close()` stops it sooner. A write that fails (a
    full disk) stops the recording with a RecordingWarning: the cluster keeps running.
    """

    def __init__(self, cluster, path):
        self.cluster = cluster
        self.path = str(path)
        self.records = 0  #: records written so far
        self.error = None  #: why the recording stopped early (an OSError), or None
        self._lock = threading.Lock()
        self._roster = None
        self._asks = queue.SimpleQueue()
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._write(fileformat.header(**_about(cluster)))
        with self._lock:  # events arriving meanwhile wait, and a kept one is not written twice
            cluster.events.subscribe(self._on_event)
            kept = cluster.events.history
            self._kept = {id(e) for e in kept}
            for event in kept:
                self._write({"kind": "event", "at": _when(event), "event": event})
        self._write_roster()
        self._asker = threading.Thread(
            target=self._ask_blueprints, name="kit-recorder", daemon=True
        )
        self._asker.start()
        for name in cluster.workers:
            self._asks.put(name)

    @property
    def closed(self):
        """True once the recording stopped (closed, the cluster closed, or a write failed)."""
        return self._file is None

    def _on_event(self, event):
        with self._lock:
            if self._kept:
                if id(event) in self._kept:
                    return
                self._kept = set()  # past the kept history: no more duplicates possible
            self._write({"kind": "event", "at": _when(event), "event": event})
        kind = event.get("type")
        if kind in Roster.TYPES:
            self._write_roster()
        if kind == READY:  # it answers remote control now (worker-online comes too early)
            self._asks.put(event.get("hostname"))
        elif kind == FEED and getattr(self.cluster, "closed", False):
            self.close()

    def _write_roster(self):
        workers = list(getattr(self.cluster, "workers", ()))
        with self._lock:
            if workers != self._roster:
                self._roster = workers
                self._write({"kind": "roster", "at": time.time(), "workers": workers})

    def _ask_blueprints(self):
        while (name := self._asks.get()) is not None:
            reply = None
            for _ in range(ASKS):
                try:
                    reply = self.cluster.inspect_blueprint(name, timeout=5.0)
                    break
                except Exception:  # noqa: BLE001 - busy, gone, or never answers: ask again
                    if self.closed:
                        return
            if reply is None:
                continue
            with self._lock:
                self._write(
                    {"kind": "blueprint", "at": time.time(), "worker": name, "reply": reply}
                )

    def _write(self, record):
        """Append one record (under the lock, or before any thread runs)."""
        if self._file is None:
            return
        try:
            self._file.write(fileformat.line(record))
            self._file.flush()
            self.records += 1
        except OSError as exc:
            self.error = exc
            self._stop()
            warnings.warn(
                f"the recording to {self.path} stopped after {self.records} records: {exc}. "
                "The cluster keeps running. Fix: free some disk space, then cluster.record(path) "
                "again, to another file",
                RecordingWarning,
                stacklevel=2,
            )

    def _stop(self):
        f, self._file = self._file, None
        if f is not None:
            self.cluster.events.unsubscribe(self._on_event)
            self._asks.put(None)
            try:
                f.close()
            except OSError:  # the close flushes what could not be written: already reported
                pass

    def close(self):
        """Stop recording; the file keeps every record so far. Idempotent."""
        with self._lock:
            self._stop()

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
        "broker": mask_url(getattr(cluster, "broker_url", "") or ""),
        "started_at": getattr(cluster, "started_at", None),
        "static": _static(getattr(cluster, "app", None)),
        "worker_options": _jsonable(roster.run_options(cluster)),
        "steps": roster.steps_added(cluster),
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
