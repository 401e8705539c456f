"""Imported by multiprocessing's fork server in fork_server.py: the kit fork server's own preload."""

# the function every forked worker runs, as the kit's fork server has it loaded
from kit.processes import forkserver  # noqa: F401
from kit.processes.preload import preload

preload()
