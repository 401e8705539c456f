"""What every dashboard panel shares: buttons running one action at a time, a status, a throttle."""

import html
import threading
import time

import ipywidgets as w

from kit import status_html
from kit.events.log import clock  # noqa: F401  (the widgets import it from here)


class Throttle:
    """Calls `fn()` on one background thread after `poke()`, at most `rate` times per second.

    Pokes that arrive while `fn` runs or cools down are coalesced into the next call, so a
    flood of events costs at most `rate` widget updates per second. With `quick` (seconds), a
    light load is served sooner: the first poke after a quiet spell at once, and while each call
    took at most `light` pokes, the next `quick` after it (never busy over a third of the time).
    `lazy` (seconds): how long pokes marked `urgent=False` (nothing new to show) may wait. If `fn`
    returns False (it could not do its work yet), it is called again at the rate. An exception
    raised by `fn` goes to `on_error(exc)` (default: kept in `errors`); the thread keeps going.
    """

    def __init__(self, fn, rate=10.0, name="kit-throttle", on_error=None, quick=None, lazy=None):
        self.fn = fn
        self.interval = 1.0 / rate
        self.quick = quick
        self.lazy = max(self.interval, lazy or 0.0)
        #: a call that took at most this many pokes leaves the load light
        self.light = 32
        self.on_error = on_error
        self.calls = 0
        self.errors = []
        self._cond = threading.Condition()
        self._pokes = 0
        self._urgent = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def poke(self, urgent=True):
        """Ask for a call soon (spaced by the throttle's rate, or as `quick` and `lazy` say)."""
        with self._cond:
            self._pokes += 1
            if urgent and not self._urgent:
                self._urgent = True
                self._cond.notify()
            elif self._pokes == 1:
                self._cond.notify()

    def _next(self, calm, soon):
        """Wait until a call is due; the number of pokes it takes, or None once closed.

        Due is the monotonic `soon` if a poke is urgent, else `calm`.
        """
        with self._cond:
            while not self._stopping:
                if not self._pokes:
                    self._cond.wait()
                    continue
                left = (soon if self._urgent else calm) - time.monotonic()
                if left <= 0:
                    pokes, self._pokes, self._urgent = self._pokes, 0, False
                    return pokes
                self._cond.wait(left)
        return None

    def _run(self):
        calm = soon = float("-inf")
        while (pokes := self._next(calm, soon)) is not None:
            started = time.monotonic()
            try:
                done = self.fn() is not False
            except Exception as exc:
                # shown by on_error, never swallowed
                (self.on_error or self.errors.append)(exc)
                done = True
            self.calls += 1
            ended = time.monotonic()
            calm, soon = started + self.lazy, started + self.interval
            # again, at the rate
            if not done:
                self.poke()
            elif self.quick is not None and pokes <= self.light:
                # light: soon again, busy <= 1/3
                soon = min(soon, ended + max(self.quick, 2 * (ended - started)))

    def close(self):
        """Stop the throttle's thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


def escape(value) -> str:
    """HTML-escape any value."""
    return html.escape(str(value))


def traceback_html(exc: BaseException, where: str) -> str:
    """An exception as HTML: its message, and the traceback folded in a <details>."""
    return status_html.failure(exc, where=where, mark="⚠", with_traceback=True)


class Panel:
    """One tab of the dashboard: `widget` to show, `status` to talk, `button()` for actions.

    `on_event(event)` runs on the event feed's thread: it only records and returns True when
    `refresh()` (run later by the dashboard's throttle, at most 10 times a second) has work.
    """

    #: The tab's title.
    title = "Panel"
    #: What the tab shows (set by each panel's __init__).
    widget = None
    #: The event types `on_event` is given (kit.events.contract's or Celery's); none by default.
    types = ()

    def __init__(self, dash):
        self.dash = dash
        self.cluster = dash.cluster
        self.app = dash.cluster.app
        self.buttons = []
        self.status = w.HTML(layout=w.Layout(min_height="1.6em"))

    def button(self, description, handler, icon="", tooltip="", style="", action="inspect"):
        """A button whose click runs `handler()` through the dashboard.

        Buttons are disabled meanwhile, errors shown. `action` (a key of kit.view.ACTIONS) is what
        it asks of the cluster.
        """
        b = w.Button(
            description=description,
            icon=icon,
            tooltip=tooltip or description,
            button_style=style,
            layout=w.Layout(width="auto"),
        )
        b.on_click(lambda _button: self.dash.run(self, handler))
        # what it asks of the view, and what it says when the view allows it
        b.action, b.tip = action, b.tooltip
        self.buttons.append(b)
        return b

    def allow_actions(self, worker=None):
        """Each button on as the view allows its action (on `worker`), or off saying why not."""
        for b in self.buttons:
            why = self.cluster.refusal(b.action, worker)
            b.tooltip = why or b.tip
            # an action restores the buttons' states itself when it ends
            if not self.dash.running:
                b.disabled = why is not None

    def say(self, text, ok=True):
        """Show `text` (HTML) in the panel's status line, green or red."""
        self.status.value = status_html.say(text, ok)

    def fail(self, exc):
        """Show an exception's message in the status line."""
        self.status.value = status_html.failure(exc)

    def on_event(self, event) -> bool:
        """Take one event of the panel's `types`; True when the panel needs a refresh."""
        return False

    def refresh(self):
        """Bring the live parts up to date (runs on the dashboard's throttle thread)."""

    def after_restart(self):
        """The workers were restarted by another panel."""

    def reset(self):
        """Forget what was heard (a replay going back in time hands it out again)."""


def worker_dropdown(description="worker"):
    """An empty dropdown of worker names (filled by set_options)."""
    return w.Dropdown(description=description, options=[], layout=w.Layout(width="260px"))


def set_options(dropdown, names):
    """Refresh a dropdown's choices, keeping its value if it is still there."""
    names = list(names)
    if list(dropdown.options) != names:
        keep = dropdown.value if dropdown.value in names else (names[0] if names else None)
        dropdown.options = names
        dropdown.value = keep
