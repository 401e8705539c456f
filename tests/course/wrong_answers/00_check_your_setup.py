"""Wrong answers to notebook 00's exercise (which worker ran it?), each one a learner gives."""

WRONG = {
    1: [
        (
            "names a worker without looking at the task: the first of the cluster",
            """
def worker_that_ran(result):
    return cluster.workers[0]
""",
            "uuid=result.id",
        ),
        (
            "takes the first task-succeeded event there is, not this task's",
            """
def worker_that_ran(result):
    return cluster.events.wait_for("task-succeeded", timeout=10)["hostname"]
""",
            "uuid=result.id",
        ),
        (
            "returns the task's id instead of the worker's name",
            """
def worker_that_ran(result):
    return cluster.events.wait_for("task-succeeded", uuid=result.id, timeout=10)["uuid"]
""",
            "should return one of",
        ),
    ],
}
