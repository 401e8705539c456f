"""kit.procs helpers that need no process: the log tail that starts at a record."""

from kit.procs import record_tail

LOG = """ -------------- w1@h v5.5
--- ***** -----
-- ******* ---- [config]
[2026-12-01 19:11:03,100: INFO/MainProcess] Connected to redis://127.0.0.1:1/0
[2026-12-01 19:11:03,200: ERROR/MainProcess] boom
Traceback (most recent call last):
  File "x.py", line 1
ValueError: bad
[2026-12-01 19:11:03,300: INFO/MainProcess] w1@h ready."""


def test_tail_starts_at_a_record_never_mid_banner_or_traceback():
    assert record_tail(LOG, 7).splitlines()[0].endswith("Connected to redis://127.0.0.1:1/0")
    assert record_tail(LOG, 4).splitlines() == [
        LOG.splitlines()[-1]
    ]  # the traceback's record was cut: left out
    assert record_tail(LOG, 1) == LOG.splitlines()[-1]
    cut = record_tail(LOG.rsplit("\n", 1)[0], 2)  # only a traceback's tail in reach: its whole record
    assert cut.splitlines()[0].endswith("boom") and cut.endswith("ValueError: bad")
