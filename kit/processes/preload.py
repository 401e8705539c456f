"""What the fork server imports once before it forks workers, and how it leaves its memory for them.

Runs in the fork server only (kit.processes.forkserver.serve); every worker it forks starts with
these modules loaded and their pages shared.
"""

import ctypes
import gc
import sys
import types

#: What every worker imports before it is ready (but kit.worker.app, which builds the user's app):
#: imported once here, so the forked workers share it instead of each importing it again.
PRELOAD = (
    "celery.__main__",
    "celery.bin.celery",
    "celery.bin.worker",
    "celery.apps.worker",
    "celery.worker",
    "celery.worker.consumer",
    "celery.worker.consumer.delayed_delivery",
    "celery.worker.components",
    "celery.worker.autoscale",
    "celery.concurrency.thread",
    "celery.backends.redis",
    "celery.app.control",
    "celery.app.events",
    "celery.app.log",
    "celery.events.dispatcher",
    "celery.events.receiver",
    "celery.events.state",
    "celery.fixups.django",
    "kombu.transport.redis",
    "kombu.pidbox",
    "kombu.mixins",
    "kombu.matcher",
    "billiard.pool",
    "encodings.idna",
    "cloudpickle",
    "kit.worker.probes",
    "kit.worker.remote_commands",
    "kit.worker.event_flush",
    "kit.worker.sized_gossip",
    "kit.processes.namespace",
    "kit.steps",
    "kit.processes.shipping",
    "kit.tasks",
)
#: Imported by Celery's command line for `celery amqp repl` only (with prompt_toolkit: ~9 MiB and
#: ~0.3 s per process); no worker runs that command, so the fork server imports the command line
#: without it (see preload()).
NOT_FOR_WORKERS = ("click_repl",)


def preload():
    """Import PRELOAD, then freeze its objects and trim the heap.

    While Celery's command line loads, NOT_FOR_WORKERS are empty stand-ins, dropped after, so a
    worker's own `import click_repl` still gets the real one.
    """
    stand_ins = {
        name: types.ModuleType(name) for name in NOT_FOR_WORKERS if name not in sys.modules
    }
    for module in stand_ins.values():
        # the one name celery.bin uses
        module.register_repl = lambda group, name="repl": None
    sys.modules.update(stand_ins)
    try:
        for name in PRELOAD:
            try:
                __import__(name)
            except ModuleNotFoundError as exc:
                # not in this Celery/kombu release: the worker
                # would not import it either; a missing dependency is an error
                if exc.name != name:
                    raise
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    gc.collect()
    # forked workers then share these objects' pages instead of copying them
    gc.freeze()
    trim()


def trim():
    """Give the C heap's free pages back (glibc), so forked workers do not inherit them."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        # not glibc
        pass
