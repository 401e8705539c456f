"""Wrong answers to notebook 03's exercise (a consumer step's timer, cancelled in stop), each one a
learner gives.
"""


def pulse(start, stop):
    """The step `Pulse` with these lines in `start` and `stop`, installed in the consumer blueprint."""
    return f"""
class Pulse(bootsteps.StartStopStep):
    requires = {{"celery.worker.consumer.connection:Connection"}}

    def start(self, c):
        {start}

    def stop(self, c):
        {stop}

    def beat(self):
        emit("pulse")

app.steps["consumer"].add(Pulse)
"""


REPEAT = "self.tref = c.timer.call_repeatedly(0.2, self.beat)"

WRONG = {
    1: [
        (
            "schedules in start and never cancels in stop",
            pulse(REPEAT, "pass"),
            "self.tref.cancel()",
        ),
        (
            "clears the whole timer in stop: every step's entries go, and nothing is cancelled",
            pulse(REPEAT, "c.timer.clear()"),
            "self.tref.cancel()",
        ),
        (
            "schedules one beat with call_after instead of a repeating entry",
            pulse("self.tref = c.timer.call_after(0.2, self.beat)", "self.tref.cancel()"),
            "call_repeatedly",
        ),
    ],
}
