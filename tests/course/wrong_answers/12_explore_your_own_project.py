"""Wrong answers to notebook 12's exercises: the hanging stop(), the boot-order pin, the pytest test."""

FLUSHER = 'cluster.folder / "proj" / "flusher.py"'


def stop(*body):
    """Exercise 1's cell, with `body` as the lines of Flusher.stop."""
    lines = "".join(f"    {line}\n" for line in body)
    return f'rewrite({FLUSHER}, "Flusher", "stop", """\ndef stop(self, worker):\n{lines}""")\n'


def requires(line):
    """Exercise 2's cell, with `line` as Flusher's requires."""
    return f"rewrite({FLUSHER}, \"Flusher\", \"requires\", {line!r})\n"


TEST = '''%%writefile {tests}/test_liveness.py
import pathlib
import time


def test_the_probe_touches_its_file(celery_worker, tmp_path):
'''

WRONG = {
    1: [
        (
            "sets the event only after the join (still hangs)",
            stop("self.thread.join()", "self.done.set()"),
            "did not exit within 30 s",
        ),
        (
            "joins with a timeout: the worker exits, the thread never finishes",
            stop("self.thread.join(timeout=1)"),
            "never sent its last batch",
        ),
        (
            "drops the join: the daemon thread dies with the process",
            stop("pass"),
            "never sent its last batch",
        ),
    ],
    2: [
        (
            "repeats a requires that was already implied (Timer)",
            requires('requires = {"celery.worker.components:Timer"}'),
            "Flusher and Pool are still unordered",
        ),
        (
            "pins Flusher after Hub, which Pool needs too: Pool is still free to come later",
            requires('requires = {"celery.worker.components:Hub"}'),
            "Flusher and Pool are still unordered",
        ),
    ],
    3: [
        (
            "waits for the file but asserts nothing",
            TEST
            + '    alive = tmp_path / "alive"\n'
            + "    deadline = time.monotonic() + 10\n"
            + "    while not alive.exists() and time.monotonic() < deadline:\n"
            + "        time.sleep(0.1)\n",
            "also passes when LivenessProbe.start() does nothing",
        ),
        (
            "asserts only that the worker fixture exists",
            TEST + "    assert celery_worker is not None\n",
            "also passes when LivenessProbe.start() does nothing",
        ),
        (
            "looks for the file in the current folder, not the test's tmp_path",
            TEST
            + '    alive = pathlib.Path("alive")\n'
            + "    time.sleep(3)\n"
            + "    assert alive.exists()\n",
            "The test failed on the project",
        ),
    ],
}
