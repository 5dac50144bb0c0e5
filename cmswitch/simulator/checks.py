"""Invariants checked on every timing simulation.

Each failure is a :class:`SimulationError` naming the op concerned:

* **conservation**: the bytes each op moved over the external channel (as
  measured while its flows advanced) equal what its attributes call for
  (loads, stores, programming, ``dram`` parts of reads and writes), and the
  channel's total equals the program's;
* **no resource above 100 %**: no link ever carried more than its capacity;
  no array and no vector unit did two exclusive pieces of work at once;
* **no piece faster than its resources**: every task lasted at least its
  fixed cycles and its bytes over its narrowest link or cap; no task started
  before what it depends on finished;
* **bounds**: the total is at least the external bytes over the bandwidth,
  at least any array's busy time and at least the critical path (longest
  chain of tasks' lower bounds through dependencies and array order);
* **accounting**: the breakdown sums to the total, per segment and overall.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.ir import Operation

from cmswitch.simulator.accounting import CATEGORIES
from cmswitch.simulator.engine import Task
from cmswitch.simulator.errors import SimulationError
from cmswitch.simulator.timeline import Timeline

REL = 1e-6
# event times are sums of many rate changes: their rounding grows with the
# clock (about 1e-10 of it on the largest zoo runs), never with a piece's length
TIME_REL = 1e-8


def too_fast(length: float, bound: float, finish: float) -> bool:
    """Whether a piece of ``length`` cycles ending at cycle ``finish`` beat
    the ``bound`` its resources allow, beyond the clock's rounding."""
    return length < bound * (1 - REL) - TIME_REL * max(1.0, finish)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


def _lower_bound(task: Task, capacity: Sequence[float]) -> float:
    bound = task.cycles
    for flow in task.flows:
        rate = flow.cap
        for link, weight in flow.links:
            rate = min(rate, capacity[link] / weight)
        if flow.nbytes > 0:
            bound = max(bound, flow.nbytes / rate)
    return bound


def check_timeline(
    timeline: Timeline, ops: Sequence[Operation], declared_ext: Sequence[float]
) -> None:
    run = timeline.run
    tasks = timeline.tasks
    hw = timeline.hardware
    capacity = [hw.external_bw_bytes, hw.internal_bw_bits / 8 or 1e-9] + [hw.d_cim] * hw.arrays

    def fail(task: int | None, message: str) -> SimulationError:
        op = ops[tasks[task].op] if task is not None else None
        return SimulationError(op, message)

    # conservation, per op and in total
    measured = [0.0] * len(ops)
    for task, nbytes in run.task_link_bytes.items():
        measured[tasks[task].op] += nbytes
    for k, (got, want) in enumerate(zip(measured, declared_ext, strict=True)):
        if not _close(got, want):
            raise SimulationError(
                ops[k], f"moved {got:,.1f} bytes over the external channel, its program "
                f"calls for {want:,.1f}",
            )  # fmt: skip
    total_ext = sum(declared_ext)
    if run.link_bytes and not _close(run.link_bytes[0], total_ext):
        raise SimulationError(
            None, f"the external channel carried {run.link_bytes[0]:,.1f} bytes, the program "
            f"calls for {total_ext:,.1f}",
        )  # fmt: skip

    # no link above its capacity
    for link, peak in enumerate(run.link_peak):
        if peak > capacity[link] * (1 + REL):
            raise SimulationError(
                None, f"link {timeline.link_names[link]} carried {peak:g} bytes/cycle, "
                f"its capacity is {capacity[link]:g}",
            )  # fmt: skip

    # every task: no faster than its resources, after its dependencies
    bounds = [_lower_bound(task, capacity) for task in tasks]
    for i, task in enumerate(tasks):
        length = run.finish[i] - run.start[i]
        bound = bounds[i]
        if too_fast(length, bound, run.finish[i]):
            raise fail(i, f"a piece took {length:g} cycles, its resources need {bound:g}")
        for d in task.deps:
            if run.start[i] < run.finish[d] - REL * max(1.0, run.finish[d]):
                raise fail(i, f"started at cycle {run.start[i]:g} before its input was ready "
                           f"(cycle {run.finish[d]:g})")  # fmt: skip

    # exclusive resources: arrays and the vector unit
    busiest = _busiest_exclusive(timeline, fail)

    # bounds on the total
    total = run.makespan
    floor_ext = (run.link_bytes[0] if run.link_bytes else 0.0) / hw.external_bw_bytes
    if total < floor_ext * (1 - REL):
        raise SimulationError(None, f"the total ({total:g} cycles) is below external bytes / "
                              f"bandwidth ({floor_ext:g})")  # fmt: skip
    if total < busiest * (1 - REL):
        raise SimulationError(None, f"the total ({total:g} cycles) is below an array's busy "
                              f"time ({busiest:g})")  # fmt: skip
    path = critical_path(tasks, capacity, bounds)
    if total < path * (1 - REL):
        raise SimulationError(None, f"the total ({total:g} cycles) is below the critical path "
                              f"({path:g})")  # fmt: skip

    # accounting
    parts_sum = sum(timeline.breakdown[c] for c in CATEGORIES)
    if not _close(parts_sum, total):
        raise SimulationError(None, f"the breakdown sums to {parts_sum:g} cycles, the total is "
                              f"{total:g}")  # fmt: skip
    for seg in timeline.segments:
        got = sum(seg.breakdown[c] for c in CATEGORIES)
        if not _close(got, seg.cycles):
            raise SimulationError(None, f"segment {seg.index}: the breakdown sums to {got:g}, "
                                  f"its window is {seg.cycles:g} cycles")  # fmt: skip


def _busiest_exclusive(
    timeline: Timeline, fail: Callable[[int | None, str], SimulationError]
) -> float:
    """Checks no array and no vector unit did two pieces of work at once;
    returns the longest busy time of any. Vectorised (an LLM's program has
    millions of (task, array) uses); on a violation, the plain loop below
    finds the first pair for the message."""
    run, tasks = timeline.run, timeline.tasks
    n = len(tasks)
    if n == 0:
        return 0.0
    counts = np.fromiter(
        (len(t.arrays) + (t.server is not None) for t in tasks), dtype=np.int64, count=n
    )
    keys = np.fromiter(
        itertools.chain.from_iterable(
            t.arrays if t.server is None else (*t.arrays, -1 - t.server) for t in tasks
        ),
        dtype=np.int32,
        count=int(counts.sum()),
    )
    if keys.size == 0:
        return 0.0
    owner = np.repeat(np.arange(n, dtype=np.int32), counts)
    start_of = np.asarray(run.start, dtype=np.float64)
    finish_of = np.asarray(run.finish, dtype=np.float64)
    busiest = 0.0
    low, high = int(keys.min()), int(keys.max())
    for first in range(low, high + 1, _CHUNK):  # a few resources at a time: bounded memory
        picked = np.flatnonzero((keys >= first) & (keys < first + _CHUNK))
        if picked.size == 0:
            continue
        k, who = keys[picked], owner[picked]
        start, finish = start_of[who], finish_of[who]
        order = np.lexsort((finish, start, k))
        k, s, f = k[order], start[order], finish[order]
        overlap = (k[1:] == k[:-1]) & (s[1:] < f[:-1] - REL * np.maximum(1.0, f[:-1]))
        if overlap.any():
            _exclusive_loop(timeline, fail)
        busy = np.bincount(k - first, weights=f - s)
        busiest = max(busiest, float(busy.max()))
    return busiest


_CHUNK = 8
"""Resources whose uses are checked together."""


def _exclusive_loop(timeline: Timeline, fail: Callable[[int | None, str], SimulationError]) -> None:
    run, tasks = timeline.run, timeline.tasks
    uses: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, task in enumerate(tasks):
        for a in task.arrays:
            uses[("array", a)].append(i)
        if task.server is not None:
            uses[("vector unit", task.server)].append(i)
    for (what, index), users in uses.items():
        users.sort(key=lambda i: (run.start[i], run.finish[i]))
        for prev, cur in itertools.pairwise(users):
            if run.start[cur] < run.finish[prev] - REL * max(1.0, run.finish[prev]):
                name = f"array {index}" if what == "array" else "the vector unit"
                raise fail(cur, f"{name} is busy until cycle {run.finish[prev]:g} with "
                           f"{timeline.ops[tasks[prev].op].label}, but this starts at "
                           f"{run.start[cur]:g}")  # fmt: skip


def critical_path(
    tasks: Sequence[Task], capacity: Sequence[float], bounds: Sequence[float] | None = None
) -> float:
    """Longest chain of lower bounds through explicit dependencies and per-array
    program order (derived here again, not taken from the engine): a task
    that uses an array exclusively comes after its previous exclusive user
    and everything that read or wrote it as memory since; one that touches
    it, after its previous exclusive user. Per array, only the latest such
    finishing bound matters, kept in two vectors (an LLM's operators use
    tens of arrays per tile)."""
    n_arrays = 1 + max((a for t in tasks for a in (*t.arrays, *t.touches)), default=-1)
    excl_done = np.zeros(n_arrays)
    """Per array: the bound at which its last exclusive user is done."""
    touch_done = np.zeros(n_arrays)
    """Per array: the latest bound of a task touching it since."""
    index: dict[tuple[int, ...], np.ndarray] = {}

    def as_index(ids: tuple[int, ...]) -> np.ndarray:
        found = index.get(ids)
        if found is None:
            found = index[ids] = np.asarray(ids, dtype=np.intp)
        return found

    done = [0.0] * len(tasks)
    best = 0.0
    for i, task in enumerate(tasks):
        ready = max((done[d] for d in task.deps), default=0.0)
        arrays, touches = task.arrays, task.touches
        ids = as_index(arrays) if arrays else None
        if ids is not None:
            ready = max(ready, float(excl_done[ids].max()), float(touch_done[ids].max()))
        if touches:
            ready = max(ready, float(excl_done[as_index(touches)].max()))
        bound = bounds[i] if bounds is not None else _lower_bound(task, capacity)
        done[i] = finish = ready + bound
        if ids is not None:
            excl_done[ids] = finish
            touch_done[ids] = 0.0
        if touches:
            near = as_index(touches)
            touch_done[near] = np.maximum(touch_done[near], finish)
        best = max(best, finish)
    return best if math.isfinite(best) else 0.0
