"""The start-up progress line a cluster shows in a notebook while its workers boot."""

import time

from kit import status_html
from kit.kernel import in_kernel


class Progress:
    """A line per worker while a cluster starts, then a past-tense line.

    In a notebook; silent elsewhere.
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
        took = time.monotonic() - self.t0 if final else None
        return status_html.boot_line(self.cluster, took)

    def update(self):
        """Redraw the boot line while the cluster starts."""
        # later boots (add_worker) leave the line be
        if self.handle is not None and not self.finished:
            self.handle.update(self.HTML(self._render()))

    def done(self):
        """Replace the live line with what happened.

        A past-tense line stays true after kills and adds.
        """
        if self.handle is not None and not self.finished:
            self.handle.update(self.HTML(self._render(final=True)))
        self.finished = True
