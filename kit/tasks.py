"""Demo tasks registered on every cluster's app: `kit.sleep`, `kit.busy`, `kit.fail`."""

import time


def _sleep(seconds=1.0):
    """Sleep (the worker thread idles; the timer keeps firing on threads/prefork)."""
    time.sleep(float(seconds))
    return seconds


def _busy(seconds=1.0):
    """Burn CPU for `seconds` (holds the GIL in bursts; on the solo pool it starves the timer)."""
    end = time.perf_counter() + float(seconds)
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def _fail(message="kit.fail was asked to fail"):
    """Raise RuntimeError: for task_failure signals and failure events."""
    raise RuntimeError(message)


DEMO_TASKS = {"kit.sleep": _sleep, "kit.busy": _busy, "kit.fail": _fail}


def register(app):
    """Add the demo tasks to `app` (idempotent)."""
    for name, fun in DEMO_TASKS.items():
        if name not in app.tasks:
            app.task(name=name, shared=False)(fun)
    return app
