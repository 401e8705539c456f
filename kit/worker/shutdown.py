"""A shutdown signal as an event: Celery's `worker_shutting_down` queued as `kit-shutdown`.

Celery sends `worker_shutting_down` from its SIGTERM/SIGQUIT handler, which then only sets a flag
(`state.should_stop` or `should_terminate`); the worker's main loop stops the steps later. The
event says which step call the main thread was running when the signal came (steps still
starting, or stopping), from the calls the lifecycle probe notes in `running`.
"""

import threading

from celery import signals

from kit.events.contract import SHUTDOWN
from kit.events.telemetry import emit

#: The step calls running now, outermost first: (thread id, 'Label.method'); append/remove only.
running = []


def _on_shutting_down(sender=None, sig=None, how=None, exitcode=None, **kwargs):
    """In Celery's signal handler: only queue the event (the emitter's thread sends it)."""
    main = threading.main_thread().ident
    during = next((text for ident, text in reversed(running) if ident == main), None)
    emit(SHUTDOWN, safe=False, sig=sig, how=how, exitcode=exitcode, during=during)


def install():
    """Report every shutdown signal this worker process receives (once per process)."""
    signals.worker_shutting_down.connect(_on_shutting_down, weak=False)
