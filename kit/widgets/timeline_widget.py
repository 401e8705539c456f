"""The timeline's widget: lanes on a canvas (timeline_view.js), sent as 5-second chunks.

Big chunks go in half-second pieces, within Jupyter's iopub budget.
"""

import collections
import json
import pathlib
import threading
import time

import anywidget
import traitlets

HERE = pathlib.Path(__file__).parent
#: Bytes a second the widget may send, averaged over WINDOW seconds (Jupyter's limit: 1 MB/s over 3
#: s, shared by every widget and output of the notebook).
BUDGET, WINDOW = 300_000, 3.0
#: A chunk of more items than PIECE_ROWS is sent in pieces of PIECE seconds: an update then carries
#: the piece that changed (~KB), not the whole chunk, so updates can come many times a second.
PIECE, PIECE_ROWS = 0.5, 16


def pieces(chunks):
    """The chunks, each big one cut into PIECE-second pieces (`{id}~{n}`), each a chunk itself."""
    out = {}
    for key, chunk in chunks.items():
        if len(chunk["t"]) <= PIECE_ROWS:
            out[key] = chunk
            continue
        rows = {}
        for i, t in enumerate(chunk["t"]):
            rows.setdefault(int(t // PIECE), []).append(i)
        columns = [k for k, v in chunk.items() if isinstance(v, list) and k not in ("hosts", "h")]
        hosts, h = chunk["hosts"], chunk["h"]
        for n, picked in rows.items():
            names = list(dict.fromkeys(hosts[h[i]] for i in picked))
            piece = {"s": chunk["s"], "t0": chunk["t0"], "hosts": names}
            piece["h"] = [names.index(hosts[h[i]]) for i in picked]
            piece.update((k, [chunk[k][i] for i in picked]) for k in columns)
            out[f"{key}~{n}"] = piece
    return out


class TimelineWidget(anywidget.AnyWidget):
    """Lanes on a canvas (timeline_view.js).

    A view starts from `snapshot`, asks the kernel for a fresh one, then applies updates; every
    message carries whole chunks, so a late or extra view never drifts.
    """

    _esm = HERE / "timeline_view.js"
    _css = HERE / "timeline_view.css"
    lanes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    series = traitlets.Dict().tag(sync=True)
    window = traitlets.Float(60.0).tag(sync=True)
    #: When the cluster started: the view's window starts no earlier (fits a young cluster).
    since = traitlets.Float(0.0).tag(sync=True)
    #: Non-zero: the time the picture froze at (the cluster closed); the view stops scrolling.
    frozen = traitlets.Float(0.0).tag(sync=True)
    #: Draw Celery's own periodic timers too (toggled in the view).
    periodic = traitlets.Bool(False).tag(sync=True)
    snapshot = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.chunks = {}
        self.sent_bytes = 0
        self.messages = 0
        self._lock = threading.Lock()
        # (monotonic time, bytes) of the messages of the last WINDOW s
        self._recent = collections.deque()
        #: what "now" is: a replay's position when it draws one
        self.clock = time.time
        self.on_msg(self._on_view_msg)

    def show(self, lanes, series, chunks, now):
        """Send what changed since the last call: changed chunks whole, and the ids of dropped ones.

        Returns False, sending nothing, while the last `WINDOW` seconds already carried `BUDGET`
        bytes a second (a big cluster's boot): call again later and the changes go out together."""
        chunks = pieces(chunks)
        with self._lock:
            changed = {k: v for k, v in chunks.items() if self.chunks.get(k) != v}
            dropped = [k for k in self.chunks if k not in chunks]
            if (changed or dropped) and self._over_budget():
                return False
            self.chunks = chunks
        if self.lanes != lanes:
            self.lanes = lanes
        if self.series != series:
            self.series = series
        if changed or dropped:
            self._post({"type": "update", "now": now, "set": changed, "drop": dropped})
        return True

    def _over_budget(self):
        cutoff = time.monotonic() - WINDOW
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()
        return bool(self._recent) and sum(n for _, n in self._recent) > BUDGET * WINDOW

    def _post(self, msg):
        size = len(json.dumps(msg))
        self.sent_bytes += size
        self._recent.append((time.monotonic(), size))
        self.messages += 1
        self.send(msg)

    def _on_view_msg(self, _widget, content, _buffers):
        if isinstance(content, dict) and content.get("type") == "hello":
            with self._lock:
                chunks = dict(self.chunks)
            self._post({"type": "snapshot", "now": self.clock(), "chunks": chunks})

    def refresh_snapshot(self):
        """Put the current chunks in `snapshot`, which a view draws before the kernel answers."""
        with self._lock:
            self.snapshot = dict(self.chunks)

    def _repr_mimebundle_(self, **kwargs):
        self.refresh_snapshot()
        return super()._repr_mimebundle_(**kwargs)
