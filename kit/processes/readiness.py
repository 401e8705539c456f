"""Worker readiness: each worker announces itself once (a `kit-ready` event) and the kernel collects
those.

Why not a ping loop: the old loop pinged the booting workers with a 0.15 s reply window and
`limit=len(workers)`, again and again. kombu's `Mailbox._collect` counts every reply it drains
toward that limit, replies to earlier pings too (it sets them aside in `Mailbox.unclaimed`), and
waits at most the window for each. Once 60 booting workers on two cores answer later than 0.15 s,
every round reads the previous round's replies and sends a new ping: the backlog never drains, and
no worker is ever counted ready. An announcement has no window: it waits in the feed's history until
it is read.
"""

import threading
import time

from kit.events import contract

#: Seconds without any announcement before the pending workers are pinged (a safety net, not the
#: signal).
PING_EVERY = 5.0
#: Step methods that run before a worker is ready: one reported stuck fails the boot at once.
BOOT_METHODS = {"__init__", "include", "create", "start"}


def _fails_boot(event):
    """A step of the app's own is stuck at boot. Celery's own steps can be slow on a loaded machine
    (a prefork pool starting its children, a broker far away): those wait for the deadline."""
    return event.get("method") in BOOT_METHODS and not event.get("step", "").startswith("celery.")


def stuck_text(event):
    """'is stuck in Step.start for 5 s (file:line)' from a `kit-stuck` event."""
    where = f" ({event['file']}:{event['line']})" if event.get("file") else ""
    return f"is stuck in {event['label']}.{event['method']} for {event['elapsed']:.0f} s{where}"


class ReadyWatch:
    """The `kit-ready` announcements of starting workers, matched by node name and process id."""

    def __init__(self, feed, workers):
        self.feed = feed
        self.pending = {w.name: w for w in workers}
        self._heard = set()
        #: node name -> its first `kit-stuck` report of a boot method (it will not become ready)
        self.stuck = {}
        self._arrived = threading.Event()
        feed.subscribe(self._on_event)
        for event in feed.history:  # announced before we subscribed
            self._on_event(event)

    def _on_event(self, event):
        if event.get("type") == contract.READY:
            self._heard.add((event.get("hostname"), event.get("pid")))
            self._arrived.set()
        elif event.get("type") == contract.STUCK and _fails_boot(event):
            self.stuck.setdefault(event.get("hostname"), event)
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

    def wait(self, timeout, answering, progress=None):
        """Until no worker is pending: None, or (worker, why) for the first that died or was too
        slow.

        `answering(names)` pings the pending workers after PING_EVERY seconds without an
        announcement; `progress()` is called each time some became ready.
        """
        deadline = time.monotonic() + timeout
        next_ping = time.monotonic() + PING_EVERY
        while self.pending:
            for w in list(self.pending.values()):
                if not w.alive:
                    return w, f"exited with status {w.proc.returncode}"
                if w.name in self.stuck:
                    return w, stuck_text(self.stuck[w.name])
            if time.monotonic() > deadline:
                return next(iter(self.pending.values())), f"was not ready within {timeout:.0f} s"
            if self.collect(wait=0.1):
                next_ping = time.monotonic() + PING_EVERY  # announcements arrive: no ping needed
                if progress:
                    progress()
            if self.pending and time.monotonic() > next_ping:  # silence: was an announcement lost?
                for name in answering(list(self.pending)):
                    if name in self.pending:
                        self.mark(self.pending[name])
                next_ping = time.monotonic() + PING_EVERY
        return None

    def mark(self, worker):
        """`worker` is ready (announced, or answered a ping)."""
        worker.ready = True
        self.pending.pop(worker.name, None)

    def close(self):
        """Stop listening to the feed."""
        self.feed.unsubscribe(self._on_event)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
