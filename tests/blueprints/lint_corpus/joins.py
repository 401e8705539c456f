"""String joins (prompt) against thread and process joins (they block)."""

import multiprocessing
import threading

from celery import bootsteps

from lint_corpus import expect


@expect()
class CsvHeader(bootsteps.StartStopStep):
    """ ",".join was flagged as 'may block' (a false alarm)."""

    columns = ("task", "runtime", "worker")

    def start(self, worker):
        self.header = ",".join(self.columns)
        self.banner = " ".join(str(c).upper() for c in self.columns)


@expect()
class SeparatorVariable(bootsteps.StartStopStep):
    def start(self, worker):
        sep = ", "
        self.names = sep.join(sorted(worker.app.tasks))
        self.line = f"{worker.hostname}: ".join(["", "up"])


@expect(("start", "blocks"))
class WaitsForWarmUp(bootsteps.StartStopStep):
    def start(self, worker):
        t = threading.Thread(target=self.warm_up)
        t.start()
        t.join()

    def warm_up(self):
        pass


@expect(("start", "blocks"))
class ProcessJoin(bootsteps.StartStopStep):
    def start(self, worker):
        self.proc = multiprocessing.Process(target=print)
        self.proc.start()
        self.proc.join()


@expect()
class BoundedWait(bootsteps.StartStopStep):
    """Waits at most 0.1 s for a flag: bounded, so not reported."""

    def start(self, worker):
        self.ready = threading.Event()
        threading.Thread(target=self.ready.set).start()
        self.ready.wait(timeout=0.1)
