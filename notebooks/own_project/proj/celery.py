"""The project's Celery app: its workers run `celery -A proj.celery:app worker`.

The broker comes from the deployment's environment (`CELERY_BROKER_URL`), as Celery reads it.
"""

import click
from celery import Celery

from proj.audit import AuditConsumer
from proj.flusher import Flusher
from proj.liveness import LivenessProbe

app = Celery("proj", include=["proj.tasks"])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)

app.user_options["worker"].add(
    click.Option(
        ["--liveness-file"],
        default=None,
        help="File the worker touches every second while it runs (the liveness probe's file).",
    )
)
app.steps["worker"].update({LivenessProbe, Flusher})
app.steps["consumer"].add(AuditConsumer)
