"""A guard for Celery before 5.7, which loses task events a pool thread sends during a flush."""

import celery

from kit.worker import internals

#: Celery 5.5 and 5.6 clear a buffered event group after publishing it, so the events other threads
#: appended meanwhile are lost: on the threads pool, `task-started` often never arrives
#: (celery#10434, fixed in 5.7.0).
AFFECTED = tuple(celery.VERSION[:2]) < (5, 7)


def install():
    """Guard every event dispatcher of this worker process, on an affected Celery only."""
    if AFFECTED:
        internals.keep_events_sent_during_flush()
