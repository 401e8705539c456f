"""Namespaces on a shared Redis: a key prefix per private cluster or per room.

kombu's Redis transport prefixes every key and every pub/sub channel with the transport option
`global_keyprefix`, so tasks, custom-consumer queues, remote control (pidbox), events and gossip of
one namespace never meet another's. Celery's Redis result backend reads its own
`result_backend_transport_options['global_keyprefix']`. Every client must use the same prefix.
"""

import re
import secrets

#: The environment variable that hands a worker process its namespace (the key prefix; empty: none).
ENV = "KIT_NAMESPACE"
#: The environment variable that names the room (`python -m kit worker`, `kit.Room`, the compose
#: lab).
ROOM_ENV = "KIT_ROOM"
#: What a room's name may look like: it becomes part of every key of the room.
ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def check_room(name):
    """`name` if it can name a room; ValueError naming the bad value and the rule otherwise."""
    if not isinstance(name, str) or not ROOM_NAME.fullmatch(name):
        raise ValueError(
            f"room name {name!r} is not allowed: use 1-40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. room='pycon')"
        )
    return name


def room_prefix(name):
    """The key prefix of a named room, shared by all who use that name on the same broker."""
    return f"kit.room.{check_room(name)}:"


def new_tag():
    """A short random tag that names one private cluster: key prefix, worker names, task queue."""
    return secrets.token_hex(3)


def private_prefix(tag):
    """The key prefix of one cluster's private namespace."""
    return f"kit.{tag}:"


def transport_options(prefix, base=None):
    """`base` transport options plus the namespace's `global_keyprefix` (if there is a prefix)."""
    options = dict(base or {})
    if prefix:
        options["global_keyprefix"] = prefix
    return options


def from_env(environ):
    """The key prefix a process is given: KIT_NAMESPACE if set, else KIT_ROOM's, else none.

    An empty KIT_NAMESPACE means none. So `celery -A kit.worker.app flower` (or `inspect ping`)
    with KIT_ROOM set looks inside the room.
    """
    if environ.get(ENV) is not None:
        return environ[ENV]
    room = environ.get(ROOM_ENV)
    return room_prefix(room) if room else ""


def apply(conf, prefix):
    """Put an app's broker and Redis result backend in the namespace `prefix` (none if empty)."""
    if not prefix:
        return
    conf.broker_transport_options = transport_options(prefix, conf.broker_transport_options)
    conf.result_backend_transport_options = transport_options(
        prefix, conf.result_backend_transport_options
    )


#: App settings a cluster changes (point) and gives back when it closes (restore).
SAVED_KEYS = (
    "broker_url",
    "result_backend",
    "broker_transport_options",
    "result_backend_transport_options",
    "task_default_queue",
)


def point(conf, broker_url, prefix, queue=None):
    """Point an app at `broker_url` in namespace `prefix`; return its old settings, for `restore`.

    The result backend defaults to the broker's Redis, database 1. `queue` becomes the default task
    queue unless the app routes its tasks already (in a room, a notebook's tasks go to its workers).
    """
    saved = {key: conf.get(key) for key in SAVED_KEYS}
    conf.broker_url = broker_url
    if not conf.result_backend:
        conf.result_backend = broker_url.rsplit("/", 1)[0] + "/1"
    apply(conf, prefix)
    if queue and conf.task_default_queue == "celery" and not conf.task_queues:
        conf.task_default_queue = queue
    return saved


def restore(conf, saved):
    """Give an app back the settings `point` changed."""
    for key, value in saved.items():
        conf[key] = value
