"""The kit's pytest plugin: a user's test suite gets a real cluster from the `kit_cluster` fixture."""

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_kit_cluster_fixture_runs_a_users_step(pytester, redis_server):
    pytester.makepyfile(
        audit_steps="""
        from celery import bootsteps
        from kit.events.telemetry import emit

        class AuditStep(bootsteps.StartStopStep):
            requires = {"celery.worker.components:Pool"}

            def start(self, worker):
                emit("audit", pool=type(worker.pool).__name__)
    """
    )
    pytester.makepyfile(
        test_audit="""
        import pytest
        from celery import Celery
        import kit
        from audit_steps import AuditStep

        @pytest.fixture
        def kit_app():
            app = Celery("audit")
            app.steps["worker"].add(AuditStep)
            return app

        def test_audit_step_boots(kit_cluster):
            event = kit_cluster.events.wait_for("kit-audit", timeout=60)
            assert event["pool"] == "TaskPool"
            for name in kit_cluster.workers:
                assert "AuditStep" in kit.blueprint_graph(kit_cluster, worker=name).source

        def test_default_app_has_demo_tasks(kit_cluster):
            assert kit_cluster.app.send_task("kit.sleep", (0,)).get(timeout=60) == 0
    """
    )
    result = pytester.runpytest_subprocess("-q", timeout=300)  # the plugin loads by its entry point
    result.assert_outcomes(passed=2)
