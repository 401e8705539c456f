"""Wrong answers to notebook 01's exercises, each one a learner gives."""

SOLUTION_REQUIRES = '{"celery.worker.consumer.tasks:Tasks", "celery.worker.consumer.gossip:Gossip"}'

WRONG = {
    1: [
        (
            "fixes the case of one letter only",
            'statedb_ref = "celery.worker.components:StateDb"',
            "does not import",
        ),
        (
            "looks for the step in celery.worker.state, where the state lives",
            'statedb_ref = "celery.worker.state:StateDB"',
            "does not import",
        ),
    ],
    2: [
        (
            "requires Tasks only, trusting the order seen once for Gossip",
            """
class AfterTasks(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

app.steps["consumer"].add(AfterTasks)
""",
            "['Gossip']",
        ),
        (
            "requires Heart instead of Gossip",
            """
class AfterTasks(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks", "celery.worker.consumer.heart:Heart"}

app.steps["consumer"].add(AfterTasks)
""",
            "['Gossip']",
        ),
        (
            "the right requires, in the worker's blueprint",
            f"""
class AfterTasks(bootsteps.StartStopStep):
    requires = {SOLUTION_REQUIRES}

app.steps["worker"].add(AfterTasks)
""",
            "consumer blueprint",
        ),
    ],
}
