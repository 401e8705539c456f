"""Alias kept so `celery -A kit.worker_app worker` still works: the loader is `kit.worker.app`."""

from kit.worker.app import app  # noqa: F401
