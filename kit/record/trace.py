"""A recording as Chrome's trace-event JSON, which Perfetto and chrome://tracing open.

`kit.export_trace("run.jsonl", "run.trace.json")`; Perfetto is at ui.perfetto.dev.
Each worker is a process; its boot calls are slices on a thread per blueprint, its task runs on a
"tasks" thread; timer calls and gossip are instants. Times are microseconds from the recording's
start.
"""

import json
import os

from kit.events.contract import GOSSIP, LIFECYCLE, TIMER
from kit.record import fileformat

#: The threads of a worker's process: (tid, name).
THREADS = {"worker": (1, "worker blueprint"), "consumer": (2, "consumer blueprint"),
           "tasks": (3, "tasks"), "timer": (4, "timer"), "gossip": (5, "gossip")}  # fmt: skip


def export_trace(path_in, path_out):
    """Write the trace of recording `path_in` to `path_out`; returns how many trace events."""
    header, records, _dropped = fileformat.read(path_in)
    events = [r["event"] for r in records if r["kind"] == "event"]
    start = header.get("started_at") or min((r["at"] for r in records), default=0.0)
    pids, out, running = {}, [], {}

    def pid(host):
        if host not in pids:
            pids[host] = len(pids) + 1
            out.append(_meta("process_name", pids[host], 0, host))
            out.extend(
                _meta("thread_name", pids[host], tid, name) for tid, name in THREADS.values()
            )
        return pids[host]

    def us(t):
        return round((t - start) * 1e6, 1)

    for e in sorted(events, key=lambda e: e.get("timestamp", 0.0)):
        kind, host, t = e.get("type", ""), e.get("hostname") or "?", e.get("timestamp", start)
        if kind == LIFECYCLE:
            began = e.get("started_at") or t
            out.append({"ph": "X", "name": f"{e.get('label')}.{e.get('method')}", "cat": "boot",
                        "pid": pid(host), "tid": THREADS.get(e.get("blueprint"), THREADS["worker"])[0],
                        "ts": us(began), "dur": round((e.get("duration") or 0.0) * 1e6, 1),
                        "args": _args(e, "step", "blueprint", "error")})  # fmt: skip
        elif kind == TIMER:
            out.append(_instant(e.get("callback") or "?", "timer", pid(host), THREADS["timer"][0],
                                us(t), _args(e, "kind", "duration", "interval", "error")))  # fmt: skip
        elif kind == GOSSIP:
            out.append(_instant(e.get("event") or "gossip", "gossip", pid(host),
                                THREADS["gossip"][0], us(t), _args(e, "peer", "size", "leader")))  # fmt: skip
        elif kind == "task-started":
            running[e.get("uuid")] = (host, t)
        elif kind in ("task-succeeded", "task-failed") and e.get("uuid") in running:
            host, began = running.pop(e["uuid"])
            out.append({"ph": "X", "name": kind[5:], "cat": "task", "pid": pid(host),
                        "tid": THREADS["tasks"][0], "ts": us(began), "dur": us(t) - us(began),
                        "args": {"uuid": e["uuid"]}})  # fmt: skip
        elif kind in ("worker-online", "worker-offline"):
            out.append(_instant(kind, "worker", pid(host), 0, us(t), {}, scope="p"))
    trace = {"traceEvents": out, "displayTimeUnit": "ms",
             "otherData": {"recording": os.path.basename(os.fspath(path_in)),
                           "recorded_at": header.get("recorded_at"), "kit": header.get("kit")}}  # fmt: skip
    with open(path_out, "w", encoding="utf-8") as f:
        json.dump(trace, f, default=str)
    return len(out)


def _meta(name, pid, tid, value):
    return {"ph": "M", "name": name, "pid": pid, "tid": tid, "args": {"name": value}}


def _instant(name, cat, pid, tid, ts, args, scope="t"):
    return {"ph": "i", "s": scope, "name": name, "cat": cat, "pid": pid, "tid": tid, "ts": ts,
            "args": args}  # fmt: skip


def _args(event, *names):
    return {k: event[k] for k in names if event.get(k) is not None}
