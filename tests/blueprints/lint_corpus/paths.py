"""File paths: os.path.join, a bare join imported from os.path, pathlib, shlex.join (all prompt)."""

import json
import os
import pathlib
import shlex
import subprocess
import tempfile
from os.path import join

from celery import bootsteps

from lint_corpus import expect


@expect()
class StateFile(bootsteps.StartStopStep):
    """Writes where it keeps its state: os.path.join was flagged as 'may block' (a false alarm)."""

    def start(self, worker):
        self.path = os.path.join(tempfile.gettempdir(), f"{worker.hostname}.json")
        with open(self.path, "w") as f:
            json.dump({"started": True}, f)

    def stop(self, worker):
        os.unlink(self.path)


@expect()
class BareJoin(bootsteps.StartStopStep):
    def start(self, worker):
        self.log_dir = join(tempfile.gettempdir(), "steps", "logs")


@expect()
class PathlibDir(bootsteps.StartStopStep):
    def start(self, worker):
        self.root = pathlib.Path(tempfile.gettempdir()) / "kit"
        self.name = "/".join(self.root.parts[-2:])


@expect()
class ShellCommand(bootsteps.StartStopStep):
    """Builds a command line with shlex.join and starts it without waiting."""

    argv = ["echo", "started"]

    def start(self, worker):
        self.line = shlex.join(self.argv)
        self.proc = subprocess.Popen(self.argv)

    def stop(self, worker):
        self.proc.terminate()
