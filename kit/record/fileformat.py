"""A recording: JSON lines, the first one a header naming the format and its version.

    {"format": "bootsteps-kit-recording", "version": 1, "recorded_at": ..., "kit": ..., ...}
    {"kind": "event", "at": 1764870000.25, "event": {"type": "kit-timer", ...}}
    {"kind": "roster", "at": ..., "workers": ["w1@host", "w2@host"]}
    {"kind": "blueprint", "at": ..., "worker": "w1@host", "reply": {...}}

One record per line, written and flushed as it happens: a run cut short (a killed kernel, a full
disk) leaves every line before the cut whole, and a reader keeps those.
"""

import json
import os

from kit.errors import RecordingError

FORMAT = "bootsteps-kit-recording"
VERSION = 1
KINDS = ("event", "roster", "blueprint")


def header(**fields):
    """The first line's dict: the format, its version, then `fields` (when, what was recorded)."""
    return {"format": FORMAT, "version": VERSION, **fields}


def line(record):
    """One record as a line of JSON (values JSON cannot hold are written as their str)."""
    return json.dumps(record, separators=(",", ":"), default=str) + "\n"


def read(path):
    """(header, records, dropped): the header, every whole record, and how many lines were not.

    RecordingError when the file is not a kit recording or is of a newer version than this kit
    reads (the message names the line and the fix).
    """
    first, entries, dropped = index(path)
    records = [r for r in (_parse(raw) for _, _, raw in entries) if _whole(r)]
    return first, records, dropped + len(entries) - len(records)


def index(path):
    """(header, [(at, kind, raw line)], dropped), parsing only each record's start: a replay
    opens fast and parses a record when it hands it out (`parse`). The last line is parsed
    whole, as a run cut short leaves its last line cut."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        lines = f.read().split(b"\n")
    first = _parse(lines[0]) if lines and lines[0].strip() else None
    if not isinstance(first, dict) or first.get("format") != FORMAT:
        raise RecordingError(
            f"{name}, line 1: not a Bootsteps Kit recording (no {FORMAT!r} header). "
            "Fix: give a file written by cluster.record(path) or LocalCluster(..., record=path)"
        )
    version = first.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RecordingError(
            f"{name}, line 1: a recording of format version {version!r}, and this kit reads up to "
            f"{VERSION}. Fix: upgrade the kit (pip install -U celery-bootsteps-kit)"
        )
    body = [raw for raw in lines[1:] if raw.strip()]
    entries, dropped = [], 0
    for i, raw in enumerate(body):
        entry = _start(raw) if i < len(body) - 1 else None
        if entry is None:  # written otherwise, or the last line: parse it whole
            record = _parse(raw)
            entry = (record["at"], record["kind"], raw) if _whole(record) else None
        if entry is None:
            dropped += 1
        else:
            entries.append(entry)
    return first, entries, dropped


def parse(raw):
    """A record from its line (None if the line is not a whole record)."""
    record = _parse(raw)
    return record if _whole(record) else None


def _start(raw):
    """(at, kind, raw) from a line as `line()` writes it ({"kind":"...","at":...,), else None."""
    if not raw.startswith(b'{"kind":"'):
        return None
    try:
        end = raw.index(b'"', 9)
        kind = raw[9:end].decode()
        if kind not in KINDS or raw[end : end + 7] != b'","at":':
            return None
        return float(raw[end + 7 : raw.index(b",", end + 7)]), kind, raw
    except ValueError:
        return None


def _whole(record):
    return isinstance(record, dict) and record.get("kind") in KINDS and "at" in record


def _parse(raw):
    try:
        return json.loads(raw)
    except ValueError:  # a line cut short (UnicodeDecodeError is a ValueError too)
        return None
