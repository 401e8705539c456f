"""kit.events.contract: every kit event the workers emit is declared once, with the fields it carries."""

import ast
import pathlib

import pytest

from kit.events import contract, telemetry

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Modules whose emit() calls make up the contract.
EMITTERS = [
    "kit/worker/probes.py",
    "kit/worker/remote_commands.py",
    "kit/worker/app.py",
    "kit/worker/stuck.py",
    "kit/worker/instrument.py",
    "kit/steps.py",
]


def emit_calls(path):
    """(event type name, field names) of every emit(...) call in a module."""
    tree = ast.parse((ROOT / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit":
            kind = node.args[0]
            name = kind.id if isinstance(kind, ast.Name) else ast.literal_eval(kind)
            fields = {k.arg for k in node.keywords if k.arg and k.arg != "safe"}
            if any(
                k.arg is None for k in node.keywords
            ):  # **{key: eta}: the timer's three spellings
                fields |= {"eta", "delay", "interval"}
            yield name, fields


@pytest.mark.parametrize("path", EMITTERS)
def test_every_emit_uses_a_contract_type_and_declared_fields(path):
    calls = list(emit_calls(path))
    assert calls, f"no emit() call found in {path}"
    for name, fields in calls:
        kind = getattr(contract, name, None)
        assert isinstance(kind, contract.EventType), (
            f"{path}: emit({name!r}) is not a contract type"
        )
        assert fields <= set(kind.fields), (
            f"{path}: {kind} fields {fields - set(kind.fields)} not declared"
        )


def test_types_are_the_strings_events_carry():
    assert contract.GOSSIP == "kit-gossip" and contract.GOSSIP.name == "gossip"
    assert contract.type_of("gossip") is contract.GOSSIP
    assert (
        contract.type_of("said") == "kit-said"
    )  # a notebook's own event: not declared, still sent
    assert set(contract.TYPES) == {
        "kit-lifecycle",
        "kit-stuck",
        "kit-shutdown",
        "kit-timer",
        "kit-gossip",
        "kit-deadlock",
        "kit-consumer",
        "kit-cluster-size",
        "kit-option",
        "kit-ready",
        "kit-feed",
        "kit-replay",
    }
    assert all(set(f) <= set(contract.GOSSIP.fields) for f in contract.GOSSIP_EVENTS.values())


def test_emit_queues_the_short_name_as_a_plain_string():
    em = telemetry.Emitter()
    em.emit(contract.GOSSIP, safe=False, event="node_join", peer="w2@h", size=2, pid=1)
    em.emit("said", safe=False, what="hi")
    (kind, fields), (own, _) = em.queue
    assert (type(kind), kind, own) == (str, "gossip", "said")
    assert fields["pid_"] == 1 and "pid" not in fields  # Celery's own field names are kept free


def test_details_shows_what_a_log_line_needs():
    event = {
        "type": "kit-gossip",
        "event": "node_lost",
        "peer": "w3@h",
        "size": 1,
        "loadavg": [0.1],
    }
    assert contract.details(event) == {"event": "node_lost", "peer": "w3@h", "size": 1}
    assert contract.details({"type": "kit-unknown", "x": 1}) == {}


def test_readme_documents_every_type_and_field():
    readme = (ROOT / "README.md").read_text()
    for kind in contract.TYPES.values():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{kind}` |")), None)
        assert row is not None, f"README's event contract table has no row for {kind}"
        assert all(f"`{field}`" in row for field in kind.fields), (
            f"README's row for {kind} misses fields"
        )
