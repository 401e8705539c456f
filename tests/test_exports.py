"""The public names, and the rule that worker processes never import the notebook side."""
import os
import subprocess
import sys

import kit

EXPECTED = ["ClusterError", "Dashboard", "EventFeed", "LocalCluster", "NotAStepError", "StepCycleError", "StepError",
            "Timeline", "UnknownRequirementError", "WorkerBootError", "blueprint_diff", "blueprint_graph",
            "blueprint_steps", "lint_steps", "steps"]


def test_exported_members():
    assert kit.__all__ == EXPECTED
    for name in kit.__all__:
        assert getattr(kit, name) is not None


def test_worker_side_never_imports_the_notebook_side(tmp_path):
    code = ("import sys, kit.worker_app, kit.forkserver, kit.probes, kit.steps\n"
            "heavy = [m for m in ('ipywidgets', 'graphviz', 'plotly', 'IPython', 'kit.graph', 'kit.dashboard')"
            " if m in sys.modules]\n"
            "print(heavy); sys.exit(1 if heavy else 0)")
    env = dict(os.environ, KIT_BROKER_URL="redis://127.0.0.1:1/0")
    env.pop("KIT_RUN_DIR", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
