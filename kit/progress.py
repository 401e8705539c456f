"""The start-up progress line a cluster shows in a notebook while its workers boot."""

import html as _html
import time

from kit.kernel import in_kernel
from kit.roster import STYLE, badge, plural


class Progress:
    """A line per worker while a cluster starts (in a notebook; silent elsewhere), then a past-tense
    line.
    """

    def __init__(self, cluster):
        self.cluster = cluster
        self.handle = None
        self.t0 = time.monotonic()
        self.finished = False
        if not in_kernel():
            return
        from IPython.display import HTML, display

        self.HTML = HTML
        self.handle = display(HTML(self._render()), display_id=True)

    def _render(self, final=False):
        c = self.cluster
        workers = c.workers
        if final:
            names = ", ".join(_html.escape(n) for n in workers)
            took = time.monotonic() - self.t0
            when = time.strftime("%H:%M:%S")
            if c.state == "running":
                what = (
                    f"started {plural(len(workers), 'worker')} ({names}) in {took:.1f} s at {when}"
                )
            else:
                what = f"did not start (at {when}, after {took:.1f} s)"
            hint = "Its live state: display <code>cluster</code>."
            return f"<div style='{STYLE}'>LocalCluster {what}. {hint}</div>"
        # the workers are started once the event feed runs: their states are there to read
        ready = c.worker_states.ready if workers else None
        items = " ".join(
            f"<span>{badge('up' if ready(n) else 'booting')} {_html.escape(n)}</span>"
            for n in workers
        )
        broker = "broker up" if c.broker_url else "starting redis…"
        return f"<div style='{STYLE}'>LocalCluster starting: {broker} · {items}</div>"

    def update(self):
        """Redraw the boot line while the cluster starts."""
        # later boots (add_worker) leave the line be
        if self.handle is not None and not self.finished:
            self.handle.update(self.HTML(self._render()))

    def done(self):
        """Replace the live line with what happened (a past-tense line stays true after kills and
        adds).
        """
        if self.handle is not None and not self.finished:
            self.handle.update(self.HTML(self._render(final=True)))
        self.finished = True
