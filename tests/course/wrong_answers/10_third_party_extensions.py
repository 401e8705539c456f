"""Wrong answers to notebook 10's exercise (a pytest test that a bad message is rejected)."""

HEAD = '''%%writefile {test_dir}/test_safe_consumer.py
def test_bad_message_is_rejected(kit_cluster):
    kit_cluster.publish(b"{bad", content_type="application/json")
'''
TAIL = '''
    assert event["rejected"] == 1
    assert kit_cluster.workers, "the worker died"
'''

def answer(line):
    """The test, with `line` where the solution waits for the event."""
    return HEAD + "    event = " + line + TAIL


WRONG = {
    1: [
        (
            "waits for the outcome of a good message",
            answer('kit_cluster.events.wait_for("kit-consumer", outcome="accepted", timeout=10)'),
            "The test failed",
        ),
        (
            "waits for the type without the kit- group",
            answer('kit_cluster.events.wait_for("consumer", outcome="rejected", timeout=10)'),
            "The test failed",
        ),
    ],
}
