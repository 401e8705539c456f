"""`CELERY_LOADER=kit.instrument:Loader`: the loader's public name (kit/worker/instrument.py)."""

from kit.worker.instrument import Loader

__all__ = ["Loader"]
