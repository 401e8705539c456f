"""Worker readiness: each worker announces itself once (a `kit-ready` event) and the kernel collects those.

No reply window to miss: a broadcast ping with a short window loses every late reply, and 60 workers
on two cores reply late, so a ping loop may never see them. An announcement waits in the feed's history.
"""

import threading

from kit import contract


class ReadyWatch:
    """The `kit-ready` announcements of starting workers, matched by node name and process id."""

    def __init__(self, feed, workers):
        self.feed, self.pending = feed, {w.name: w for w in workers}
        self._heard, self._arrived = set(), threading.Event()
        feed.subscribe(self._on_event)
        for event in feed.history:  # announced before we subscribed
            self._on_event(event)

    def _on_event(self, event):
        if event.get("type") == contract.READY:
            self._heard.add((event.get("hostname"), event.get("pid")))
            self._arrived.set()

    def _announced(self, worker):
        heard = self._heard
        return (worker.name, worker.proc.pid) in heard or (worker.name, None) in heard

    def collect(self, wait):
        """Wait up to `wait` seconds for an announcement; mark and return the workers now ready."""
        self._arrived.wait(wait)
        self._arrived.clear()
        ready = [w for w in list(self.pending.values()) if self._announced(w)]
        for w in ready:
            self.mark(w)
        return ready

    def mark(self, worker):
        """`worker` is ready (announced, or answered a ping)."""
        worker.ready = True
        self.pending.pop(worker.name, None)

    def close(self):
        self.feed.unsubscribe(self._on_event)
