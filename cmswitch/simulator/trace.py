"""A Perfetto / Chrome trace of a timing simulation.

Open the JSON in https://ui.perfetto.dev or ``chrome://tracing``. One cycle is
shown as one microsecond. Layout (Stream's habit: one metadata event per
track, one complete ``X`` event per piece of work):

* process ``arrays``: one thread per physical array (compute, programming,
  switches) and one for its memory-mode traffic (reads and writes of data it
  holds, merged where they overlap);
* process ``channel``: one thread per *lane* of the external channel
  (overlapping transfers get their own lanes, since a track cannot hold
  overlapping events);
* process ``vector unit``: one thread;
* counter tracks: channel bytes per cycle and buffer bytes.

Consecutive pieces of the same op on the same track are merged into one
event, which keeps files of large models small. ``args`` carry the op's
label and segment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmswitch.simulator.timeline import Timeline

_ARRAYS, _CHANNEL, _VECTOR, _COUNTERS = 1, 2, 3, 4


def trace_events(timeline: Timeline) -> list[dict[str, Any]]:
    run = timeline.run
    ops = timeline.ops
    events: list[dict[str, Any]] = []
    for pid, name in ((_ARRAYS, "arrays"), (_CHANNEL, "channel"), (_VECTOR, "vector unit"),
                      (_COUNTERS, "counters")):  # fmt: skip
        events.append({"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}})
        events.append({"ph": "M", "pid": pid, "name": "process_sort_index",
                       "args": {"sort_index": pid}})  # fmt: skip

    # (pid, tid) -> open piece [op, kind, start, end]
    pieces: dict[tuple[int, int], list[Any]] = {}
    # memory-mode reads and writes overlap each other on an array: they get
    # their own thread per array (tid offset) so tracks never overlap
    MEMORY_TID = 1 << 20
    out: list[tuple[int, int, int, str, float, float]] = []

    def put(pid: int, tid: int, op: int, kind: str, start: float, end: float) -> None:
        key = (pid, tid)
        cur = pieces.get(key)
        same = cur is not None and cur[1] == kind and (cur[0] == op or kind == "memory")
        if cur is not None and same and start <= cur[3] + 1e-9:
            # memory-mode traffic of several ops overlaps on one array: one event
            cur[3] = max(cur[3], end)
            return
        if cur is not None:
            out.append((pid, tid, cur[0], cur[1], cur[2], cur[3]))
        pieces[key] = [op, kind, start, end]

    order = sorted(range(len(timeline.tasks)), key=lambda i: run.start[i])
    arrays: set[int] = set()
    for i in order:
        task = timeline.tasks[i]
        start, end = run.start[i], run.finish[i]
        if end <= start:
            continue
        for a in task.arrays:
            arrays.add(a)
            put(_ARRAYS, a, task.op, task.kind, start, end)
        for a in task.touches:
            arrays.add(a)
            put(_ARRAYS, a + MEMORY_TID, task.op, "memory", start, end)
        if task.server is not None:
            put(_VECTOR, 0, task.op, task.kind, start, end)
    lanes: list[float] = []
    for task_index, start, end, _nbytes in sorted(run.flow_spans, key=lambda s: (s[1], s[0])):
        lane = next((k for k, free in enumerate(lanes) if free <= start + 1e-9), len(lanes))
        if lane == len(lanes):
            lanes.append(end)
        lanes[lane] = end
        task = timeline.tasks[task_index]
        put(_CHANNEL, lane, task.op, task.kind, start, end)
    for (pid, tid), cur in pieces.items():
        out.append((pid, tid, cur[0], cur[1], cur[2], cur[3]))

    for a in sorted(arrays):
        events.append({"ph": "M", "pid": _ARRAYS, "tid": a, "name": "thread_name",
                       "args": {"name": f"array {a}"}})  # fmt: skip
        events.append({"ph": "M", "pid": _ARRAYS, "tid": a + MEMORY_TID, "name": "thread_name",
                       "args": {"name": f"array {a} (memory traffic)"}})  # fmt: skip
    for lane in range(len(lanes)):
        events.append({"ph": "M", "pid": _CHANNEL, "tid": lane, "name": "thread_name",
                       "args": {"name": f"lane {lane}"}})  # fmt: skip
    events.append({"ph": "M", "pid": _VECTOR, "tid": 0, "name": "thread_name",
                   "args": {"name": "vector unit"}})  # fmt: skip
    for pid, tid, op, kind, start, end in sorted(out, key=lambda e: (e[4], e[0], e[1])):
        record = ops[op]
        events.append({
            "ph": "X", "pid": pid, "tid": tid, "name": f"{kind} {record.name}",
            "cat": kind, "ts": start, "dur": end - start,
            "args": {"op": record.label, "segment": record.segment},
        })  # fmt: skip
    if run.link_rates:
        for t, rate in run.link_rates[0]:
            events.append({"ph": "C", "pid": _COUNTERS, "name": "channel bytes/cycle", "ts": t,
                           "args": {"bytes_per_cycle": rate}})  # fmt: skip
    if run.pool_levels and timeline.pool_names and timeline.pool_names[0] == "buffer":
        for t, level in run.pool_levels[0]:
            events.append({"ph": "C", "pid": _COUNTERS, "name": "buffer bytes", "ts": t,
                           "args": {"bytes": level}})  # fmt: skip
    return events


def write_trace(timeline: Timeline, path: str | Path) -> None:
    """The trace at `path`, written atomically (:mod:`cmswitch.fileio`)."""
    from cmswitch import fileio

    fileio.write_text(path, trace_json(timeline))


def trace_json(timeline: Timeline) -> str:
    """The Perfetto / Chrome trace of a timing simulation, as JSON text."""
    data = {
        "traceEvents": trace_events(timeline),
        "displayTimeUnit": "ns",
        "otherData": {
            "time_unit": "1 us = 1 cycle",
            "hardware": timeline.hardware.name,
            "simulated_cycles": timeline.total_cycles,
        },
    }
    return json.dumps(data, separators=(",", ":"))
