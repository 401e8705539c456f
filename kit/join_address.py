"""The broker address attendees type to join a room, and whether their laptops can reach it."""

from __future__ import annotations

import ipaddress
import os
from typing import NamedTuple
from urllib.parse import urlsplit

from kit.processes.broker import mask_url

#: The environment variable that names the broker's address as other machines reach it,
#: ``HOST[:PORT]`` (the compose stack's lab sets it from ``REDIS_BIND``).
PUBLIC_ENV = "KIT_PUBLIC_HOST"
#: Name suffixes that only Docker resolves (host.docker.internal, ...).
INTERNAL_SUFFIXES = (".internal",)
#: What to set so that laptops can reach the broker: in the compose stack, and anywhere else.
FIX = (
    "In the compose stack: set REDIS_BIND=<this machine's LAN address> in .env beside "
    "docker-compose.yml, then run the `docker compose ... up` command again (the lab passes it on "
    f"as {PUBLIC_ENV}).\nElsewhere: export {PUBLIC_ENV}=<LAN address or full host name>[:PORT] "
    "before starting JupyterLab."
)


class JoinAddress(NamedTuple):
    """What attendees would type, and why their laptops can't reach it ('' when they can)."""

    #: ``python -m kit worker --broker URL --room ROOM --name NAME`` ('' if there is no URL).
    command: str
    #: Why a laptop can't reach the URL's host, or ''.
    problem: str = ""
    #: The host is loopback: the command works on the machine that runs Redis, nowhere else.
    loopback: bool = False

    def __str__(self) -> str:
        """The command when laptops can reach the broker, else the problem and what to set."""
        if not self.problem:
            return self.command
        text = f"Attendees can't join from their laptops: {self.problem}.\n{FIX}"
        if self.loopback and self.command:
            text += f"\nOn the machine that runs Redis itself, this joins:\n{self.command}"
        return text


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """Is ``host`` this machine only (127.0.0.0/8, ::1, localhost, *.localhost)?"""
    ip, name = _ip(host), host.lower().rstrip(".")
    if ip is not None:
        return ip.is_loopback
    return name == "localhost" or name.endswith(".localhost")


def unreachable(host: str) -> str:
    """Why another machine can't connect to ``host``, or '' when a laptop on the network can.

    Loopback, "every interface" and Docker-internal names can't work; neither can a name without a
    domain (``redis`` in the compose stack is the Redis container's name, unknown to laptops).
    """
    ip, name = _ip(host), host.lower().rstrip(".")
    if not host:
        return "the broker URL names no host"
    if is_loopback(host):
        return f"the broker's host {host} is loopback, which only the machine running Redis reaches"
    if ip is not None:
        return (
            f"{host} means every interface, no address to connect to" if ip.is_unspecified else ""
        )
    if name.endswith(INTERNAL_SUFFIXES):
        return f"{host!r} is a Docker-internal name, which laptops can't resolve"
    if "." not in name:
        return (
            f"the broker's host {host!r} is a name without a domain (in the compose stack, the "
            "Redis container's name), which laptops can't resolve"
        )
    return ""


def public_url(broker_url: str, public: str | None = None) -> str:
    """``broker_url`` with its host and port replaced by ``public`` (``HOST[:PORT]``), if given.

    The password, user and database stay the broker's; ValueError names a malformed ``public``.
    """
    if not public:
        return broker_url
    parts, given = urlsplit(broker_url), urlsplit(f"//{public.strip()}")
    try:
        port = given.port or parts.port
    except ValueError:
        port = -1
    if not given.hostname or given.username or given.path or port == -1:
        raise ValueError(
            f"{PUBLIC_ENV}={public!r} is not HOST[:PORT] (e.g. 192.168.1.20:6379), the address "
            "at which laptops reach Redis"
        )
    host = f"[{given.hostname}]" if ":" in given.hostname else given.hostname
    auth = parts.netloc.rpartition("@")[0]
    netloc = (f"{auth}@" if auth else "") + host + (f":{port}" if port else "")
    return parts._replace(netloc=netloc).geturl()


def join_address(
    broker_url: str, room: str, name: str = "YOUR_NAME", password: bool = False, environ=None
) -> JoinAddress:
    """What an attendee types to join ``room`` on ``broker_url``, and whether a laptop reaches it.

    The address is ``broker_url`` as ``$KIT_PUBLIC_HOST`` publishes it, when that is set.
    """
    environ = os.environ if environ is None else environ
    public = environ.get(PUBLIC_ENV)
    try:
        url = public_url(broker_url if password else mask_url(broker_url), public)
    except ValueError as exc:
        return JoinAddress("", str(exc))
    command = f"python -m kit worker --broker {url} --room {room} --name {name}"
    host = urlsplit(url).hostname or ""
    return JoinAddress(command, unreachable(host), is_loopback(host))
