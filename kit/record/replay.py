"""A recording played back: `kit.replay("run.jsonl")` stands where a live cluster would.

It does for the timeline, the graph and every other view that reads a cluster's events, workers
and blueprints.
"""

import bisect
import functools
import itertools
import os
import threading
import time

from kit.errors import ClusterError
from kit.events.contract import REPLAY
from kit.events.log import EventLog
from kit.record import fileformat
from kit.roster import plural
from kit.view import ACTIONS, ClusterView

#: Seconds between two steps of the playback thread.
TICK = 0.05


def replay(path):
    """Open a recording (see kit/record/fileformat.py): a Replay, paused at its start."""
    return Replay(path)


class Replay(ClusterView):
    """A recorded run: `events`, `workers`, `inspect_blueprint()` and `now()` as a cluster has them.

    They are driven by a position in the recording that `play()`, `pause()` and `seek()` move.
    A ClusterView (kit/view.py) that is not live: nothing here starts a worker or talks to a
    broker, so `refusal()` refuses every action and each raises a ClusterError that says it is a
    replay. Its workers and their states come from the recorded events, at the replay's clock.
    `dropped` counts the lines that were not whole records (a recording cut short).
    """

    live = False
    state = "replay"

    def __init__(self, path):
        self.path = os.fspath(path)
        self.header, records, self.dropped = fileformat.index(self.path)
        #: (at, kind, raw line), parsed when handed out
        self._records = records
        # handed out in the order the feed saw them (workers' clocks differ a little): a record
        # is due once the replay's clock passes its time and every time written before it
        self._times = list(itertools.accumulate((at for at, _, _ in records), max))
        self.started_at = self.header.get("started_at") or (self._times[0] if records else 0.0)
        self.ended_at = max(self._times[-1] if records else self.started_at, self.started_at)
        self.broker_url = self.header.get("broker", "")
        #: The options the workers ran with (pool, concurrency, ...), as recorded.
        self.worker_options = dict(self.header.get("worker_options") or {})
        self.events = EventLog(maxlen=max(10000, len(records)))
        self.events.connected = True
        self.speed = 1.0
        self.paused = True
        self._lock = threading.RLock()
        #: index of the next record to hand out
        self._next = 0
        #: indices of records that did not parse
        self._bad = set()
        #: recording time of the replay's "now"
        self._position = self.started_at
        #: (real time, recording time) at play()
        self._clock = (time.monotonic(), self.started_at)
        self._blueprints = {}
        self._done = threading.Event()
        self._thread = None
        self._closed = False
        self._watch_states()

    # -- what a view reads ----------------------------------------------------------------------
    @property
    def recorded_at(self):
        """When the recording started (epoch seconds)."""
        return self.header.get("recorded_at") or self.started_at

    @property
    def duration(self):
        """Seconds from the recording's start to its last record."""
        return self.ended_at - self.started_at

    @property
    def position(self):
        """Seconds from the recording's start to where the replay stands."""
        return self.now() - self.started_at

    @property
    def finished(self):
        """True once every record was handed out."""
        return self._next >= len(self._records)

    @property
    def workers(self):
        """The workers there at the replay's position, by the recorded events."""
        return self.worker_states.present()

    def age(self):
        """'at 1.0 of 5.0 s': where the replay stands in its recording."""
        return f"at {self.position:.1f} of {self.duration:.1f} s"

    def where(self):
        """'recorded on': the broker the recording was made on."""
        return "recorded on"

    @functools.cached_property
    def all_workers(self):
        """Every worker the recording names, in the order they first appear."""
        seen = {}
        for _, kind, raw in self._records:
            if kind != "event" and (r := fileformat.parse(raw)):
                for name in r.get("workers", ()) if kind == "roster" else [r.get("worker")]:
                    seen.setdefault(name, None)
        return [n for n in seen if n]

    @property
    def closed(self):
        return self._closed

    def now(self):
        """The replay's clock: the recording time it stands at (moves while playing)."""
        with self._lock:
            if self.paused:
                return self._position
            if self.speed == float("inf"):
                return self.ended_at
            real, at = self._clock
            return min(self.ended_at, at + (time.monotonic() - real) * self.speed)

    def inspect_blueprint(self, worker, timeout=None):
        """The live blueprint `worker` reported once it was ready (as recorded)."""
        if worker not in self._blueprints:
            known = sorted(self._blueprints)
            raise ClusterError(
                f"this replay of {self.path} has no blueprint of {worker!r} at {self.position:.1f} s "
                f"(workers with one so far: {known}). Fix: seek() further, or pick one of those"
            )
        return self._blueprints[worker]

    @property
    def steps_added(self):
        """{'worker': [...], 'consumer': [...]}: the names of the steps the app added."""
        steps = self.header.get("steps") or {}
        return {bp: list(steps.get(bp, ())) for bp in ("worker", "consumer")}

    def has_blueprint(self, worker):
        """True once the replay handed out `worker`'s live blueprint."""
        return worker in self._blueprints

    @property
    def static(self):
        """The app's static blueprints as recorded (a Snapshot), or None."""
        from kit.blueprints.snapshot import Snapshot, StepInfo

        data = self.header.get("static")
        if not data:
            return None
        steps = {
            bp: tuple(StepInfo(**{**s, "requires": tuple(s["requires"])}) for s in data[bp])
            for bp in ("worker", "consumer")
        }
        return Snapshot(app=data.get("app"), **steps)

    # -- moving through it ----------------------------------------------------------------------
    def play(self, speed=None):
        """Play from the position at `speed` (1.0, 10.0, float('inf'); default: the last one)."""
        self._check_open()
        if speed is not None:
            if not speed > 0:
                raise ValueError(f"speed={speed!r}: give a number above 0, e.g. 1.0, 10.0, inf")
            self.speed = float(speed)
        with self._lock:
            self._clock = (time.monotonic(), self.now())
            self.paused = False
            self._done.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="kit-replay", daemon=True)
            self._thread.start()
        return self

    def pause(self):
        """Stop where it stands (the views keep their picture)."""
        with self._lock:
            self._position, self.paused = self.now(), True
        return self

    def seek(self, position):
        """Stand at `position` seconds from the start, paused.

        Later records are handed out at once; going back starts the views again (a kit-replay
        event) and hands out the earlier ones.
        """
        self._check_open()
        position = min(max(0.0, float(position)), self.duration)
        with self._lock:
            self.paused = True
            at = self.started_at + position
            if at < self._position:
                self.events.clear()
                self._next, self._blueprints = 0, {}
                self.events.add({"type": REPLAY, "hostname": "", "timestamp": at,
                                       "position": position})  # fmt: skip
            self._position = at
            self._hand_out(at)
        return self

    def wait(self, timeout=None):
        """Until the playback reached the end; True if it did within `timeout` seconds."""
        return self._done.wait(timeout)

    def _run(self):
        while not self._closed:
            with self._lock:
                if self.paused:
                    return
                at = self.ended_at if self.speed == float("inf") else self.now()
                self._hand_out(at)
                if self.finished:
                    self._position, self.paused = self.ended_at, True
                    self._done.set()
                    return
            time.sleep(TICK)

    def _hand_out(self, until):
        """Hand out every record up to recording time `until` (under the lock)."""
        end = bisect.bisect_right(self._times, until)
        for i in range(self._next, end):
            _, kind, raw = self._records[i]
            record = fileformat.parse(raw)
            # a line that looked whole at its start only: counted once
            if record is None:
                self.dropped += i not in self._bad
                self._bad.add(i)
            elif kind == "event":
                self.events.add(record["event"])
            elif kind == "blueprint":
                self._blueprints[record["worker"]] = record["reply"]
        self._next = max(self._next, end)
        if self.finished:
            self._done.set()

    # -- what a replay cannot do ----------------------------------------------------------------
    def _check_open(self):
        if self._closed:
            raise ClusterError(f"this replay of {self.path} is closed: kit.replay(path) again")

    def refusal(self, action, worker=None):
        """Every action: no worker runs in a replay."""
        self._known_action(action)
        return (
            f"a replay of {self.path}: no worker runs, so it cannot {ACTIONS[action]}. "
            "Fix: start a kit.LocalCluster to try it live"
        )

    def close(self):
        """Stop the playback (the views keep their last picture)."""
        self._closed, self.paused = True, True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self):
        """'replay of run.jsonl, recorded 2026-12-04 21:30, 3 workers'."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.recorded_at))
        n = len(self.all_workers)
        return f"replay of {os.path.basename(self.path)}, recorded {when}, {plural(n, 'worker')}"

    def __repr__(self):
        state = (
            "closed" if self._closed else "paused" if self.paused else f"playing {self.speed:g}x"
        )
        dropped = f", {self.dropped} lines dropped" if self.dropped else ""
        return (
            f"<{self.describe()}: {len(self._records)} records, {state} at {self.position:.1f} "
            f"of {self.duration:.1f} s{dropped}>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        from kit import display

        return display.mimebundle(self)
