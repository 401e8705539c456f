"""Wrong answers to notebook 06's exercise (predict, then measure, the node_lost latency)."""

MEASURE = '''
lost = cluster.events.wait_for("kit-gossip", event="node_lost", peer=victim, timeout=30)
latency = lost["timestamp"] - killed_at
'''

WRONG = {
    1: [
        (
            "types in the window for Celery's defaults instead of computing it",
            '''
def lost_window(freq, interval):
    return 2.0, 9.0
''' + MEASURE,
            "don't type numbers in",
        ),
        (
            "ignores the 2 x freq expiry window: a peer is lost one freq after its last heartbeat",
            '''
def lost_window(freq, interval):
    return freq, freq + interval
''' + MEASURE,
            "2 x freq",
        ),
        (
            "thinks a loss can be seen at once: earliest 0",
            '''
def lost_window(freq, interval):
    return 0.0, 2 * freq + interval
''' + MEASURE,
            "earliest",
        ),
        (
            "measures to when the answer was read, not to the event's timestamp",
            '''
import time
def lost_window(freq, interval):
    return freq, 2 * freq + interval

lost = cluster.events.wait_for("kit-gossip", event="node_lost", peer=victim, timeout=30)
time.sleep(3)
latency = time.time() - killed_at
''',
            "outside your window",
        ),
    ],
}
