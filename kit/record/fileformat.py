"""A recording: JSON lines, the first one a header naming the format and its version.

    {"format": "bootsteps-kit-recording", "version": 1, "recorded_at": ..., "kit": ..., ...}
    {"kind": "event", "at": 1764870000.25, "event": {"type": "kit-timer", ...}}
    {"kind": "roster", "at": ..., "workers": ["w1@host", "w2@host"]}
    {"kind": "blueprint", "at": ..., "worker": "w1@host", "reply": {...}}

One record per line, written and flushed as it happens: a run cut short (a killed kernel, a full
disk) leaves every line before the cut whole, and a reader keeps those. A name ending in `.gz`
writes the same lines gzip-compressed (about 6 times smaller), flushed with a sync point after
every write, so a cut file still decompresses up to its last write (`zcat run.jsonl.gz | jq`).
"""

import json
import os
import zlib

from kit.errors import RecordingError

FORMAT = "bootsteps-kit-recording"
VERSION = 1
KINDS = ("event", "roster", "blueprint")
GZIP_MAGIC = b"\x1f\x8b"


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


class Sink:
    """Where a recording's lines go: a plain file, or gzip when its name ends in `.gz`."""

    def __init__(self, path):
        # closed by close()
        self._file = open(path, "wb")
        gz = os.fspath(path).endswith(".gz")
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31) if gz else None

    def write(self, records):
        """Append records as lines and flush them to the file (OSError if the disk is full)."""
        data = "".join(line(r) for r in records).encode()
        # a sync point: what is written so far decompresses whole
        if self._zip is not None:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(data)
        self._file.flush()

    def close(self):
        try:
            if self._zip is not None:
                # the end of the gzip stream
                self._file.write(self._zip.flush())
        finally:
            self._file.close()


def _content(name):
    """The file's bytes, decompressed if it is gzip (up to where a cut or damaged file ends)."""
    with open(name, "rb") as f:
        data = f.read()
    if data[:2] != GZIP_MAGIC:
        return data
    out, unzip = [], zlib.decompressobj(31)
    for i in range(0, len(data), 1 << 16):
        try:
            out.append(unzip.decompress(data[i : i + (1 << 16)]))
        except zlib.error:
            # damaged from here on: keep what came before
            break
        if unzip.eof:
            break
    return b"".join(out)


def index(path):
    """(header, [(at, kind, raw line)], dropped), parsing only each record's start.

    A replay opens fast and parses a record when it hands it out (`parse`). The last line is parsed
    whole, as a run cut short leaves its last line cut.
    """
    name = os.fspath(path)
    lines = _content(name).split(b"\n")
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
        # written otherwise, or the last line: parse it whole
        if entry is None:
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
    except ValueError:
        # a line cut short (UnicodeDecodeError is a ValueError too)
        return None
