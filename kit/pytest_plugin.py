"""A pytest plugin: `kit_cluster`, a real Redis-backed cluster for testing your own bootsteps.

Override `kit_app` in your conftest.py to return the app (with its steps) to test::

    @pytest.fixture
    def kit_app():
        app = Celery("mine")
        app.steps["worker"].add(MyStep)
        return app
"""

import pytest


@pytest.fixture
def kit_app():
    """The Celery app the cluster runs: override it to add your steps, tasks and options."""
    from celery import Celery

    return Celery("kit-test")


@pytest.fixture
def kit_cluster_options():
    """Keyword arguments for kit.LocalCluster: override to change workers, pool, worker_options."""
    return {"workers": 1}


@pytest.fixture
def kit_cluster(kit_app, kit_cluster_options):
    """A started kit.LocalCluster for `kit_app`, closed after the test."""
    from kit.cluster import LocalCluster

    cluster = LocalCluster(kit_app, progress=False, **kit_cluster_options)
    try:
        yield cluster
    finally:
        cluster.close()
