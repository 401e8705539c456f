"""Steps that hook a library into the worker: logging context, a ping on the timer, a boot option."""

from celery import bootsteps
from celery.signals import after_task_publish, before_task_publish

from lint_corpus import expect


def _bind_context(**kwargs):
    pass


def _unbind_context(**kwargs):
    pass


# Models django-structlog (django_structlog/celery/steps.py): a plain Step whose __init__ connects
# signal receivers that carry the logging context into tasks. Correct.
@expect()
class StructLogInit(bootsteps.Step):
    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        before_task_publish.connect(_bind_context)
        after_task_publish.connect(_unbind_context)


# Models ergo_celery (request/ping_timer.py): pings the active requests every few seconds on the
# worker's timer, reading the interval from the app's configuration; cancels the entry in stop().
# Correct.
@expect()
class PingActiveRequests(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, *args, **kwargs):
        self.tref = None
        self.backend = worker.app.backend
        self.interval = worker.app.conf.get("corpus_ping_interval", 2)

    def start(self, worker):
        self.tref = worker.timer.call_repeatedly(self.interval, self.ping, (worker,))

    def stop(self, worker):
        if self.tref:
            self.tref.cancel()
            self.tref = None

    def ping(self, worker):
        for request in tuple(worker.state.active_requests):
            self.pinged = request.id


# Models ArkID (its Celery app module): a worker option read in __init__, which sends a task when set.
# The option reaches every step as a keyword argument, and **options takes the rest. Correct.
@expect()
class InitPermissions(bootsteps.Step):
    def __init__(self, parent, corpus_init_permission=False, **options):
        super().__init__(parent, **options)
        if corpus_init_permission:
            parent.app.send_task("corpus.update_permissions")
