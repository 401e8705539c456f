"""Wrong answers to notebook 08's exercise (a task_failure handler in a module the worker imports)."""

HEAD = '''%%writefile {lab_dir}/lab_failures.py
from multiprocessing import current_process
from celery import signals
from kit.events.telemetry import emit
'''

WRONG = {
    1: [
        (
            "types in the process name instead of reading it where the handler runs",
            HEAD + '''
@signals.task_failure.connect
def on_task_failure(sender=None, **kwargs):
    emit("signal", signal="task_failure", process="MainProcess", task=sender.name)
''',
            "current_process().name",
        ),
        (
            "reports the task's id as its name",
            HEAD + '''
@signals.task_failure.connect
def on_task_failure(sender=None, task_id=None, **kwargs):
    emit("signal", signal="task_failure", process=current_process().name, task=task_id)
''',
            "sender.name",
        ),
        (
            "writes the handler but never connects it",
            HEAD + '''
def on_task_failure(sender=None, **kwargs):
    emit("signal", signal="task_failure", process=current_process().name, task=sender.name)
''',
            "@signals.task_failure.connect",
        ),
    ],
}
