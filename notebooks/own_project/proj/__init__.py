"""A Celery project of its own, as its team wrote it: notebook 12 starts its workers unchanged."""
