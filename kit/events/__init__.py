"""The events between workers and the kernel.

``contract.py`` defines the ``kit-*`` event types once; ``telemetry.py`` is ``emit``, which steps
use inside a worker; ``feed.py`` is the kernel's ``EventFeed``, which receives them with Celery's
own into an ``EventLog`` (``log.py``: history, subscribers, wait_for), which a replay fills too.
This file imports nothing, so a worker that emits loads nothing of the kernel side.
"""
