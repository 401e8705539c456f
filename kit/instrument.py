"""`CELERY_LOADER=kit.instrument:Loader`: the name a project's own worker uses (kit/worker/instrument.py)."""

from kit.worker.instrument import Loader

__all__ = ["Loader"]
