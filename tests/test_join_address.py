"""``kit.join_address`` and ``Room.join_command``: what attendees type, or why laptops can't reach it."""

import shlex
from urllib.parse import urlsplit

import pytest

import kit
from kit.join_address import PUBLIC_ENV, join_address, public_url, unreachable

#: The lab's own broker URL in the compose stack.
COMPOSE_URL = "redis://:s3cret@redis:6379/0"


def broker_of(command):
    """The URL after ``--broker`` in a join command."""
    words = shlex.split(command)
    return urlsplit(words[words.index("--broker") + 1])


@pytest.mark.parametrize(
    "host, why",
    [
        ("127.0.0.1", "loopback"),
        ("127.0.1.1", "loopback"),
        ("::1", "loopback"),
        ("localhost", "loopback"),
        ("lab.localhost", "loopback"),
        ("redis", "name without a domain"),
        ("bootsteps-kit-redis-1", "name without a domain"),
        ("instructor-laptop", "name without a domain"),
        ("host.docker.internal", "Docker-internal"),
        ("0.0.0.0", "every interface"),
        ("::", "every interface"),
        ("", "names no host"),
    ],
)
def test_addresses_laptops_cannot_reach(host, why):
    assert why in unreachable(host)


@pytest.mark.parametrize(
    "host",
    ["192.168.1.20", "10.0.0.7", "172.20.3.4", "2001:db8::5", "fe80::1", "203.0.113.9",
     "instructor.local", "lab.example.org", "LAB.EXAMPLE.ORG."],
)  # fmt: skip
def test_lan_addresses_and_full_host_names_are_reachable(host):
    assert unreachable(host) == ""


def test_the_public_host_replaces_host_and_port_and_keeps_the_rest():
    assert public_url(COMPOSE_URL, "192.168.1.20:6380") == "redis://:s3cret@192.168.1.20:6380/0"
    assert public_url(COMPOSE_URL, "lab.example.org") == "redis://:s3cret@lab.example.org:6379/0"
    assert public_url(COMPOSE_URL, "[2001:db8::5]:1") == "redis://:s3cret@[2001:db8::5]:1/0"
    assert public_url(COMPOSE_URL, "") == COMPOSE_URL


@pytest.mark.parametrize("bad", ["192.168.1.20:port", "redis://h:1/0", "u:p@h:1", "h:1/0", ":6379"])
def test_a_malformed_public_host_is_named_with_the_form_it_needs(bad):
    with pytest.raises(ValueError, match=rf"{PUBLIC_ENV}={bad!r} is not HOST\[:PORT\]"):
        public_url(COMPOSE_URL, bad)
    found = join_address(COMPOSE_URL, "workshop", environ={PUBLIC_ENV: bad})
    assert found.command == "" and "is not HOST[:PORT]" in str(found)


def test_in_the_stack_with_redis_bind_attendees_get_the_published_address():
    found = join_address(COMPOSE_URL, "workshop", environ={PUBLIC_ENV: "192.168.1.20:6379"})
    assert found.problem == "" and str(found) == found.command
    broker = broker_of(found.command)
    assert (broker.hostname, broker.port, broker.password) == ("192.168.1.20", 6379, "***")
    assert found.command.endswith("--room workshop --name YOUR_NAME")
    assert "s3cret" not in found.command


def test_the_password_shows_only_when_asked():
    env = {PUBLIC_ENV: "192.168.1.20"}
    found = join_address(COMPOSE_URL, "workshop", name="alice", password=True, environ=env)
    assert broker_of(found.command).password == "s3cret"
    assert found.command.endswith("--name alice")


def test_loopback_says_what_to_set_and_labels_the_local_command():
    text = str(join_address(COMPOSE_URL, "workshop", environ={PUBLIC_ENV: "127.0.0.1:6379"}))
    first, *rest = text.splitlines()
    assert first.startswith("Attendees can't join from their laptops")
    assert "127.0.0.1 is loopback" in first
    assert "REDIS_BIND=<this machine's LAN address> in .env" in text
    assert f"export {PUBLIC_ENV}=" in text
    # the only line with a command is the one labelled for the machine that runs Redis
    commands = [line for line in rest if line.startswith("python -m kit worker")]
    assert len(commands) == 1
    assert rest[rest.index(commands[0]) - 1].startswith("On the machine that runs Redis itself")


def test_the_compose_name_gives_no_command_at_all():
    text = str(join_address(COMPOSE_URL, "workshop", environ={}))
    assert "'redis' is a name without a domain" in text and "REDIS_BIND" in text
    assert "python -m kit worker" not in text and "@redis:" not in text


@pytest.mark.redis
def test_room_join_command_uses_the_public_host(shared_redis, monkeypatch):
    monkeypatch.delenv(PUBLIC_ENV, raising=False)
    with kit.Room(shared_redis.url, "pycon", timeout=30) as room:
        local = room.join_command()
        monkeypatch.setenv(PUBLIC_ENV, "192.168.1.20:6379")
        public = room.join_command(name="alice")
        with_password = room.join_command(password=True)
    assert local.startswith("Attendees can't join") and "is loopback" in local
    assert f"@127.0.0.1:{urlsplit(shared_redis.url).port}/" in local
    assert public == (
        "python -m kit worker --broker redis://:***@192.168.1.20:6379/0 --room pycon --name alice"
    )
    assert broker_of(with_password).password == urlsplit(shared_redis.url).password
