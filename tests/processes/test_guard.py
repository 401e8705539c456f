"""The guard: no cluster inside a kit worker; files next to the notebook that hide what workers import."""

import os
import subprocess
import sys

import kit_test_steps as s
import pytest
from celery import Celery

import kit
from kit import doctor
from kit.processes import guard


@pytest.fixture
def fresh_cache():
    guard._imported_at_start.cache_clear()
    yield
    guard._imported_at_start.cache_clear()


def test_a_cluster_started_inside_a_kit_process_is_refused_with_where_and_why(monkeypatch):
    monkeypatch.setenv("KIT_BOOT_LOG", "/nonexistent")
    with pytest.raises(kit.ClusterError) as caught:
        kit.LocalCluster(progress=False)
    text = str(caught.value)
    assert f"inside a process started by a kit worker (pid {os.getpid()})" in text
    assert f"called from {__file__}:" in text and "without end" in text and "flower.py" in text
    monkeypatch.delenv("KIT_BOOT_LOG")
    monkeypatch.setattr(sys, "argv", ["celery", "-A", "kit.worker.app", "worker", "-n", "w7@h"])
    assert guard.inside_kit_process() == f"the kit worker w7@h (pid {os.getpid()})"


def test_a_step_starting_a_cluster_fails_the_boot_naming_the_step_and_leaves_nothing(
    redis_server, tmp_path, monkeypatch
):
    # the first lookup of kit.LocalCluster starts this process's fork server (in a temp dir of its
    # own): started before TMPDIR points into tmp_path, so only the clusters' run dirs would go there
    from kit.processes.workers import prestart

    prestart()
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where both clusters' run dirs would go
    monkeypatch.setattr("tempfile.tempdir", None)
    app = Celery("nested")
    app.steps["worker"].add(s.StartsACluster)
    with pytest.raises(kit.WorkerBootError) as caught:
        kit.LocalCluster(app, workers=1, fork=False, progress=False)
    text = str(caught.value)
    assert (
        "at step worker StartsACluster start (raised ClusterError: kit.LocalCluster was started"
        in text
    )
    assert "inside the kit worker w1@" in text and "kit_test_steps.py:" in text
    assert os.listdir(tmp_path) == []  # the outer run dir is removed; no inner one was ever made


def test_files_hiding_a_workers_package_are_named(tmp_path, fresh_cache):
    (tmp_path / "redis.py").write_text("raise SystemExit('not the real redis')\n")
    (tmp_path / "analysis.py").write_text("")
    (tmp_path / "kombu").mkdir()
    (tmp_path / "kombu" / "__init__.py").write_text("")
    found = guard.shadowed(str(tmp_path))
    assert [(os.path.basename(p), name) for p, name, _ in found] == [
        ("kombu", "kombu"),
        ("redis.py", "redis"),
    ]
    assert found[1][2] == "the redis package"


def test_the_kits_own_source_folder_hides_nothing():
    here = os.path.dirname(os.path.dirname(os.path.abspath(kit.__file__)))
    assert guard.shadowed(here) == []  # kit/ there is the kit itself


def fake_plugin(site):
    """A distribution registering a Celery command-line plugin, as Flower does."""
    dist = site / "fakeplug-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[celery.commands]\nfakeplug = fakeplug_cli.command:cli\n"
    )
    (site / "fakeplug_cli").mkdir()
    (site / "fakeplug_cli" / "__init__.py").write_text("")


def test_a_file_named_like_a_celery_plugin_warns_from_localcluster_and_doctor(
    tmp_path, monkeypatch, fresh_cache
):
    fake_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (notebook / "fakeplug_cli.py").write_text("import kit\nkit.LocalCluster()\n")
    monkeypatch.chdir(notebook)
    app = Celery("shadow")
    app.steps["worker"].add(s.CycleA)  # stops the cluster right after its checks
    with pytest.warns(kit.ShadowWarning) as caught, pytest.raises(kit.StepCycleError):
        kit.LocalCluster(app, progress=False)
    # other warnings may come too (pytest.warns keeps them all): exactly one is the shadowing
    (warning,) = [w for w in caught if issubclass(w.category, kit.ShadowWarning)]
    assert str(warning.message).startswith(
        f"{notebook / 'fakeplug_cli.py'} shadows 'fakeplug_cli' (the Celery command-line plugin 'fakeplug'"
    )
    assert "Rename it" in str(warning.message) and warning.filename == __file__
    row = doctor.check_shadowing()
    assert not row.ok and not row.required and row.fix.startswith("rename fakeplug_cli.py")


SCRIPT = """
import os, warnings
from celery import Celery
import kit


def redis_servers_below(pid):
    found = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = open(f"/proc/{entry}/cmdline", "rb").read()
            ppid, up = int(entry), False
            while ppid > 1 and not up:
                ppid = int(open(f"/proc/{ppid}/stat").read().rsplit(")", 1)[1].split()[1])
                up = ppid == pid
        except (OSError, ValueError, IndexError):
            continue
        found += up and b"redis-server" in cmd
    return found


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with kit.LocalCluster(Celery("nb"), workers=1, progress=False) as c:
        print("task", c.app.send_task("kit.sleep", (0,)).get(timeout=60))
        print("redis-servers", redis_servers_below(os.getpid()))
print("shadow-warnings", sum(w.category is kit.ShadowWarning for w in caught))
"""


PLUGIN_FILE = """
import kit
try:
    kit.LocalCluster(progress=False)
except kit.ClusterError as exc:
    with open("refused.txt", "a") as f:
        f.write(f"{exc}\\n")
    raise
"""


def test_a_plugin_file_that_starts_a_cluster_runs_once_and_nests_nothing(redis_server, tmp_path):
    """The issue's case: a file named like a Celery CLI plugin, next to the notebook, starts a cluster."""
    fake_plugin(tmp_path / "site")
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (notebook / "fakeplug_cli.py").write_text(PLUGIN_FILE)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
    )
    env.pop("KIT_BOOT_LOG", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=notebook,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["task", "0", "redis-servers", "1", "shadow-warnings", "1"], (
        proc.stdout
    )
    refused = (
        notebook / "refused.txt"
    ).read_text()  # Celery's CLI imported it in the kit's fork server
    assert refused.startswith("kit.LocalCluster was started inside the kit's fork server"), refused
