"""The project's tasks."""

from celery import shared_task


@shared_task(name="proj.add")
def add(x, y):
    return x + y
