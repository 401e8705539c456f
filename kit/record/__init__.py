"""Keeping a run to show it again without a cluster (kernel side only).

Nothing here runs in a worker. ``fileformat.py`` is the recording's format (JSON lines behind a
versioned header) and its reader; ``recorder.py`` writes one while a cluster runs; ``replay.py``
reads it back as an object the widgets draw as they draw a live cluster; ``trace.py`` turns it into
Chrome's trace-event JSON for Perfetto.
"""
