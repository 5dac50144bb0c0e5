"""Scheduling policies on one cost model: CMSwitch and its baselines.

Every policy produces segments and per-operator array counts; :func:`evaluate`
then costs the plan with :mod:`cmswitch.schedule.cost`, so no policy is costed
differently from another.

* ``cmswitch``: exact DP over segments (:mod:`segment`) whose candidate plans
  per segment are the dual-mode optimum, the all-compute optimum and the
  static-ratio optimum of every static fraction asked for
  (:mod:`allocate`), then :func:`duplicate`. Because the DP state carries
  the plan, the switch / write-back costs a dual-mode plan would add are
  weighed against the all-compute and static plans exactly; and because its
  candidate set contains every baseline's, CMSwitch is never slower than
  ``all-compute-dp`` (hence ``cim-mlc`` and ``puma``) or ``static`` at those
  fractions, on the same workload, under this cost model.
* ``all-compute-dp``: the same exact DP, all arrays in compute mode.
* ``cim-mlc``: all compute; greedy segmentation appending operators while
  their minimum arrays fit; then :func:`duplicate` (CIM-MLC's knapsack-style
  use of left-over arrays).
* ``static``: exact DP where every segment has at most floor(F * N) compute
  arrays and the rest memory (F = ``compute_fraction``), as the paper's
  fixed-ratio sweep.
* ``puma``: one operator per segment (no cross-operator pipelining), all
  compute, each operator with its optimal duplication.

Every policy is finished by :func:`duplicate` (left-over arrays as weight
copies; within the compute share for ``static``). On a DP result it changes
nothing when every segment was solved exactly (the segment optimum already
chose the copies); it matters for the greedy ``cim-mlc``.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cmswitch.schedule.allocate import (
    ALL_COMPUTE,
    DUAL,
    NODE_LIMIT,
    AllocMode,
    SegmentSolution,
    SegmentSolver,
    SolverCache,
)
from cmswitch.schedule.cost import (
    DEFAULT_OPTIONS,
    CostOptions,
    LocalCost,
    compute_macs,
    compute_time,
    copy_step,
    fill_factor,
    live_bytes,
    local_parts,
    pipeline_time,
    segment_period,
    segment_vector_work,
    stationary_weight_bytes,
    switch_cost,
    vector_cycles,
    writeback_cost,
)
from cmswitch.schedule.plan import (
    OpAlloc,
    Schedule,
    SegmentPlan,
    SolverStats,
    compute_arrays,
    memory_arrays,
)
from cmswitch.schedule.segment import Key, segment_dp
from cmswitch.workload import CimOpInfo, Workload

POLICIES: tuple[str, ...] = ("cmswitch", "cim-mlc", "all-compute-dp", "static", "puma")
SOLVERS: tuple[str, ...] = ("auto", "mip")

Progress = Callable[[int, int], None]
PlanItem = (
    SegmentPlan
    | tuple[int, int, Sequence[OpAlloc], Sequence[tuple[int, int, int]]]
    | tuple[int, int, Sequence[OpAlloc], Sequence[tuple[int, int, int]], float]
)


class ScheduleError(ValueError):
    """The workload cannot be scheduled as asked. The message is user-facing."""


@dataclass(frozen=True)
class _Seg:
    start: int
    end: int
    allocs: tuple[OpAlloc, ...]
    shared: tuple[tuple[int, int, int], ...]
    gap: float = 0.0

    @functools.cached_property
    def compute(self) -> int:
        return compute_arrays(self.allocs)

    @functools.cached_property
    def memory(self) -> int:
        return memory_arrays(self.allocs, self.shared)

    @functools.cached_property
    def local_shared(self) -> tuple[tuple[int, int, int], ...]:
        """``shared`` by segment position (the cost model's convention)."""
        return tuple((p - self.start, c - self.start, k) for p, c, k in self.shared)


# ----------------------------------------------------------------- evaluation
def _as_seg(item: PlanItem | _Seg) -> _Seg:
    if isinstance(item, _Seg):
        return item
    if isinstance(item, SegmentPlan):
        return _Seg(item.start, item.end, tuple(item.allocs), tuple(item.shared), item.gap)
    gap = float(item[4]) if len(item) > 4 else 0.0  # type: ignore[misc]
    return _Seg(item[0], item[1], tuple(item[2]), tuple(tuple(s) for s in item[3]), gap)  # type: ignore[misc]


def _validate(workload: Workload, segs: Sequence[_Seg], opts: CostOptions) -> None:
    hw = workload.hardware
    expect = 0
    for seg in segs:
        where = f"segment {seg.start}..{seg.end}"
        if seg.start != expect or seg.end < seg.start or seg.end >= len(workload):
            raise ScheduleError(
                f"{where}: segments must cover operators 0..{len(workload) - 1} in order"
            )
        expect = seg.end + 1
        if len(seg.allocs) != seg.end - seg.start + 1:
            raise ScheduleError(f"{where}: needs one allocation per operator")
        for i, a in zip(range(seg.start, seg.end + 1), seg.allocs, strict=True):
            op = workload.ops[i]
            if a.compute < op.min_arrays or a.mem_in < 0 or a.mem_out < 0:
                raise ScheduleError(
                    f"{where}: operator {op.name} gets {a.compute} compute arrays, needs "
                    f">= {op.min_arrays} (and non-negative memory arrays)"
                )
        out_use: dict[int, int] = {}
        in_use: dict[int, int] = {}
        for p, c, s in seg.shared:
            if not (seg.start <= p < c <= seg.end) or p not in workload.ops[c].preds or s < 0:
                raise ScheduleError(f"{where}: shared arrays ({p}, {c}) are not an internal edge")
            if s > math.ceil(workload.edges.get((p, c), 0.0) / hw.array_bytes):
                raise ScheduleError(f"{where}: shares more arrays ({p}, {c}) than the data needs")
            out_use[p] = out_use.get(p, 0) + s
            in_use[c] = in_use.get(c, 0) + s
        for p, s in out_use.items():
            if s > seg.allocs[p - seg.start].mem_out:
                raise ScheduleError(f"{where}: operator {p} shares more output arrays than it has")
        for c, s in in_use.items():
            if s > seg.allocs[c - seg.start].mem_in:
                raise ScheduleError(f"{where}: operator {c} reuses more input arrays than it has")
        if seg.compute + seg.memory > hw.arrays:
            raise ScheduleError(
                f"{where}: uses {seg.compute + seg.memory} arrays, the chip has {hw.arrays}"
            )
    if expect != len(workload):
        raise ScheduleError(f"segments must cover operators 0..{len(workload) - 1}")


def _inter(workload: Workload, prev: _Seg | None, seg: _Seg) -> tuple[float, float]:
    if prev is None:
        return 0.0, 0.0
    sw = switch_cost(workload.hardware, prev.compute, prev.memory, seg.compute, seg.memory)
    wb = writeback_cost(workload, prev.start, prev.end, prev.memory, seg.memory)
    return sw, wb


def _local(workload: Workload, seg: _Seg, opts: CostOptions) -> LocalCost:
    return local_parts(workload, seg.start, seg.end, seg.allocs, opts, seg.local_shared)


def evaluate(
    workload: Workload,
    segments_and_allocs: Sequence[PlanItem] | Sequence[_Seg],
    options: CostOptions = DEFAULT_OPTIONS,
    *,
    policy: str = "custom",
    stats: SolverStats | None = None,
) -> Schedule:
    """Cost a given plan with the one cost model. Each item is a SegmentPlan
    or (start, end, allocs, shared[, gap]). The workload's leading vector
    work is charged to the first segment."""
    segs = [_as_seg(x) for x in segments_and_allocs]
    _validate(workload, segs, options)
    hw = workload.hardware
    plans: list[SegmentPlan] = []
    prev: _Seg | None = None
    for k, seg in enumerate(segs):
        part = _local(workload, seg, options)
        vec = part.vector
        if k == 0:
            vec += vector_cycles(workload.leading_vector_work, hw)
        sw, wb = _inter(workload, prev, seg)
        plans.append(
            SegmentPlan(
                seg.start,
                seg.end,
                seg.allocs,
                seg.shared,
                part.intra,
                sw,
                part.reload,
                wb,
                vec,
                seg.gap,
            )
        )
        prev = seg
    latency = sum(p.total_cycles for p in plans)
    if not plans:
        latency = vector_cycles(workload.leading_vector_work, hw)
    return Schedule(policy, tuple(plans), latency, stats or SolverStats(), workload)


# ---------------------------------------------------------------- duplication
def duplicate(
    workload: Workload,
    schedule: Schedule,
    options: CostOptions = DEFAULT_OPTIONS,
    *,
    compute_cap: int | None = None,
) -> Schedule:
    """Give left-over arrays to compute-bound operators as weight copies,
    greedily, while the schedule's total latency (the segment's own cost,
    switches and write-backs around it) strictly drops. Never makes it
    slower. ``compute_cap`` bounds every segment's compute arrays (the
    static policy's share)."""
    hw = workload.hardware
    segs = [_as_seg(s) for s in schedule.segments]

    def around(k: int, seg: _Seg) -> float:
        cost = _local(workload, seg, options).total
        cost += sum(_inter(workload, segs[k - 1] if k else None, seg))
        if k + 1 < len(segs):
            cost += sum(_inter(workload, seg, segs[k + 1]))
        return cost

    for k in range(len(segs)):
        while True:
            seg = segs[k]
            free = hw.arrays - seg.compute - seg.memory
            if compute_cap is not None:
                free = min(free, compute_cap - seg.compute)
            if free <= 0:
                break
            base = around(k, seg)
            period = segment_period(
                workload, seg.start, seg.end, seg.allocs, options, seg.local_shared
            )
            ops = workload.ops[seg.start : seg.end + 1]
            bottleneck = [
                i
                for i, (o, a) in enumerate(zip(ops, seg.allocs, strict=False))
                if compute_time(o, a.compute, hw, options) >= period * (1 - 1e-9)
            ]
            # a copy for an operator that does not set the period cannot
            # shorten it, and reload and switches never shrink with more arrays
            steps = {i: copy_step(ops[i], options) for i in bottleneck}
            moves = [[i] for i in bottleneck if steps[i] <= free]
            if len(bottleneck) > 1 and sum(steps.values()) <= free:
                moves.append(bottleneck)
            best: tuple[float, _Seg] | None = None
            for move in moves:
                allocs = list(seg.allocs)
                for i in move:
                    a = allocs[i]
                    step = copy_step(ops[i], options)
                    allocs[i] = OpAlloc(a.compute + step, a.mem_in, a.mem_out)
                cand = _Seg(seg.start, seg.end, tuple(allocs), seg.shared, seg.gap)
                c = around(k, cand)
                if c < base * (1 - 1e-12) and (best is None or c < best[0]):
                    best = (c, cand)
            if best is None:
                break
            segs[k] = best[1]
    return evaluate(workload, segs, options, policy=schedule.policy, stats=schedule.stats)


# ------------------------------------------------------------------- policies
def _check_fits(workload: Workload, cap: int, what: str) -> None:
    for op in workload.ops:
        if op.min_arrays > cap:
            raise ScheduleError(
                f"operator {op.name} needs {op.min_arrays} compute arrays but {what} "
                f"has {cap}; split it first"
            )


def _max_len(workload: Workload, cap: int) -> Callable[[int], int]:
    """Longest run from i whose minimum arrays fit `cap`."""
    mins = [o.min_arrays for o in workload.ops]
    lens: list[int] = []
    for i in range(len(mins)):
        j, total = i, 0
        while j < len(mins) and total + mins[j] <= cap:
            total += mins[j]
            j += 1
        lens.append(max(j - i, 1))
    return lambda i: lens[i]


def _dp(
    workload: Workload,
    solver: SegmentSolver,
    modes: Sequence[AllocMode],
    cap: int,
    progress: Progress | None,
) -> list[_Seg]:
    n = len(workload)
    max_len = _max_len(workload, cap)
    total = sum(max_len(i) for i in range(n))
    done = 0
    sols: dict[tuple[int, int], list[SegmentSolution]] = {}

    def candidates(i: int, j: int) -> list[float]:
        nonlocal done
        found: list[SegmentSolution] = []
        for m in modes:
            s = solver.solve(i, j, m)
            if s is not None and all(s.allocs != f.allocs or s.shared != f.shared for f in found):
                found.append(s)
        sols[(i, j)] = found
        done += 1
        if progress is not None:
            progress(done, total)
        return [s.local for s in found]

    def seg_of(key: Key) -> _Seg:
        s = sols[(key[0], key[1])][key[2]]
        shared = tuple((p + key[0], c + key[0], k) for p, c, k in s.shared)
        return _Seg(key[0], key[1], s.allocs, shared, s.gap)

    # (compute, memory, live bytes) of each plan: the DP asks for inter costs
    # of every pair of adjacent plans, so summaries are computed once
    summary: dict[Key, tuple[int, int, float]] = {}
    hw = workload.hardware

    def summary_of(key: Key) -> tuple[int, int, float]:
        got = summary.get(key)
        if got is None:
            s = sols[(key[0], key[1])][key[2]]
            live = live_bytes(workload, key[0], key[1])
            got = summary[key] = (s.compute_arrays, s.memory_arrays, live)
        return got

    def inter(prev: Key | None, key: Key) -> float:
        if prev is None:
            return 0.0
        c0, m0, live = summary_of(prev)
        c1, m1, _ = summary_of(key)
        return switch_cost(hw, c0, m0, c1, m1) + writeback_cost(
            workload, prev[0], prev[1], m0, m1, live=live
        )

    lower = _lower_bound(workload, solver.opts)

    def max_out(key: Key) -> float:
        """Any inter cost leaving plan `key` (C', M' arrays, `live` bytes):
        with C + M <= N next, the m->c switches are at most M' and the c->m
        ones at most C'; the write-back is at most what M' arrays held."""
        c0, m0, live = summary_of(key)
        return (
            hw.switch_m2c_cycles * m0
            + hw.switch_c2m_cycles * c0
            + min(live, m0 * hw.array_bytes) / hw.external_bw_bytes
        )

    try:
        result = segment_dp(n, candidates, inter, max_len, lower, max_out)
    except ValueError:
        raise ScheduleError(
            "no feasible segmentation: some operator cannot be mapped under this policy"
        ) from None
    if progress is not None:  # pruned segments are never solved: report completion
        progress(total, total)
    return [seg_of(k) for k in result.path]


def _lower_bound(workload: Workload, opts: CostOptions) -> Callable[[int, int], float]:
    """A cheap lower bound on any plan's local cost for DP pruning (see
    segment_dp), valid for every mode.

    Local cost >= T_lb (1 + F) (+) vector + reload_lb, where (+) is a sum
    (paper) or a max (strict) and T_lb uses the compute side: sum_i c_i <=
    N and c_i >= OP_i / (T OP_cim) give T >= sum OP / (N OP_cim); c_i <= N
    - sum of the others' minima gives T >= OP_i / ((N - others) OP_cim). In
    strict also the data side (:mod:`held`): every access is served by the
    channel and the buffer's bus (``D_main``, over the whole pipeline ``T (1
    + F)``) or by a memory array's port (``D_cim``, within ``T``), at most
    the arrays beyond the minimum compute, so T >= (reads and writes of the
    segment) / (D_main (1 + F) + D_cim x those arrays), and the streamed
    inputs read from before the segment cross the external channel alone,
    T >= those bytes / (external_bw_bytes (1 + F));
    the reads and writes counted are every operator's streamed input,
    output and hosted vector ops' reads and writes, a subset of
    what :func:`held.segment_data` counts. (The matching bound on the
    inter cost leaving a plan is `max_out` in :func:`_dp`.)"""
    hw = workload.hardware
    ops = workload.ops
    w = hw.write_cycles_per_array

    macs = [compute_macs(o, hw, opts) for o in ops]
    mins = [o.min_arrays for o in ops]
    macs_sum = list(itertools.accumulate(macs, initial=0.0))
    mins_sum = list(itertools.accumulate(mins, initial=0))
    n_arr, op_cim = hw.arrays, hw.op_cim

    def touched(o: CimOpInfo) -> float:
        made = o.output_bytes + o.vector_bytes
        src = ops[o.source] if o.source >= 0 else None
        read = o.input_bytes if src is None or src.output_bytes > 0 else 0.0
        return read + (made if o.output_bytes > 0 else 0.0)

    accessed = list(itertools.accumulate((touched(o) for o in ops), initial=0.0))

    def lower(i: int, j: int) -> float:
        others = n_arr - (mins_sum[j + 1] - mins_sum[i])
        t = (macs_sum[j + 1] - macs_sum[i]) / (n_arr * op_cim)
        fill = 1.0 + fill_factor(workload, i, j, opts)
        if opts.model == "strict":
            bw = hw.d_main * fill + max(0, others) * hw.d_cim
            t = max(t, (accessed[j + 1] - accessed[i]) / bw)
        top = 0
        external = 0.0  # streamed inputs from before the segment (main memory)
        for k in range(i, j + 1):
            t = max(t, macs[k] / ((others + mins[k]) * op_cim))
            top = max(top, mins[k])
            if ops[k].source < i:
                external += ops[k].input_bytes
        if opts.model == "strict":
            t = max(t, external / (hw.external_bw_bytes * fill))
        reload = top * w
        if opts.model == "strict":  # every weight programmed at least once
            reload = max(w, stationary_weight_bytes(workload, i, j) / hw.external_bw_bytes)
        vec = vector_cycles(segment_vector_work(workload, i, j), hw)
        return (pipeline_time(t * fill, vec, opts) + reload) * (1.0 - 1e-9)

    return lower


def _greedy_cim_mlc(workload: Workload, opts: CostOptions) -> list[_Seg]:
    hw = workload.hardware
    segs: list[_Seg] = []
    i, n = 0, len(workload)
    while i < n:
        j, used = i, workload.ops[i].min_arrays
        while j + 1 < n and used + workload.ops[j + 1].min_arrays <= hw.arrays:
            j += 1
            used += workload.ops[j].min_arrays
        allocs = tuple(OpAlloc(o.min_arrays) for o in workload.ops[i : j + 1])
        segs.append(_Seg(i, j, allocs, ()))
        i = j + 1
    return segs


def schedule(
    workload: Workload,
    policy: str = "cmswitch",
    options: CostOptions = DEFAULT_OPTIONS,
    *,
    compute_fraction: float = 0.5,
    static_fractions: Sequence[float] = (),
    time_limit: float | None = None,
    node_limit: int | None = NODE_LIMIT,
    solver: str = "auto",
    progress: Progress | None = None,
    cache: SolverCache | None = None,
    duplicate_weights: bool = True,
) -> Schedule:
    """Schedule `workload` with `policy`. ``compute_fraction`` is the static
    policy's F; CMSwitch considers the static plans of that fraction and of
    every one in ``static_fractions`` (so it is never slower than ``static``
    at any of them). ``node_limit`` bounds each MIP's branch-and-bound nodes
    (a work limit: the result does not depend on the machine's load),
    ``time_limit`` optionally its seconds; a MIP stopped by either keeps its
    best incumbent and reports its gap. ``solver``: ``auto`` solves segments
    in closed form where that is exact and with HiGHS otherwise (paper cost
    model; strict segments never need a MIP); ``mip`` uses HiGHS for every
    paper segment. ``cache`` (a dict,
    initially empty) shares segment solutions between calls with the same
    chip, cost options, limits and solver. ``duplicate_weights=False`` skips
    the final :func:`duplicate` (the ``cim-duplicate`` pass does it on IR)."""
    if policy not in POLICIES:
        raise ScheduleError(f"unknown policy {policy!r}; policies: {', '.join(POLICIES)}")
    for f in (compute_fraction, *static_fractions):
        if not 0.0 <= f <= 1.0:
            raise ScheduleError(f"compute fraction {f} is not within [0, 1]")
    if solver not in SOLVERS:
        raise ScheduleError(f"unknown solver {solver!r}; choose {' or '.join(SOLVERS)}")
    if time_limit is not None and time_limit <= 0:
        raise ScheduleError(f"time limit {time_limit} must be positive")
    if node_limit is not None and node_limit < 1:
        raise ScheduleError(f"node limit {node_limit} must be at least 1")
    t0 = time.perf_counter()
    hw = workload.hardware
    _check_fits(workload, hw.arrays, "the chip")
    seg_solver = SegmentSolver(
        workload,
        options,
        time_limit,
        node_limit=node_limit,
        closed_form=solver == "auto",
        cache=cache,
    )

    def static_mode(fraction: float) -> AllocMode:
        c = math.floor(fraction * hw.arrays)
        return AllocMode(memory=True, compute_cap=c, memory_cap=hw.arrays - c)

    c_static = math.floor(compute_fraction * hw.arrays)
    static = static_mode(compute_fraction)

    segs: list[_Seg]
    if policy == "cmswitch":
        # a static share of the whole chip (no memory arrays) is all-compute;
        # a share some operator does not fit offers no plan at this split
        modes: list[AllocMode] = [DUAL, ALL_COMPUTE]
        largest = max((o.min_arrays for o in workload.ops), default=0)
        for f in sorted({compute_fraction, *static_fractions}):
            m = static_mode(f)
            if largest <= (m.compute_cap or 0) < hw.arrays and m not in modes:
                modes.append(m)
        segs = _dp(workload, seg_solver, modes, hw.arrays, progress)
    elif policy == "all-compute-dp":
        segs = _dp(workload, seg_solver, (ALL_COMPUTE,), hw.arrays, progress)
    elif policy == "static":
        _check_fits(workload, c_static, f"the static compute share ({compute_fraction:g})")
        segs = _dp(workload, seg_solver, (static,), c_static, progress)
    elif policy == "puma":
        segs = []
        for i in range(len(workload)):
            s = seg_solver.solve(i, i, ALL_COMPUTE)
            if s is None:  # cannot happen after _check_fits; kept as a clear error
                raise ScheduleError(f"operator {workload.ops[i].name} cannot be mapped")
            segs.append(_Seg(i, i, s.allocs, (), s.gap))
            if progress is not None:
                progress(i + 1, len(workload))
    else:  # cim-mlc
        segs = _greedy_cim_mlc(workload, options)
        if progress is not None:
            progress(len(workload), len(workload))

    result = evaluate(workload, segs, options, policy=policy)
    if duplicate_weights:
        cap = c_static if policy == "static" else None
        result = duplicate(workload, result, options, compute_cap=cap)
    stats = SolverStats(  # after the solves and the duplication
        mips_solved=seg_solver.mips_solved,
        cache_hits=seg_solver.cache_hits,
        closed_form=seg_solver.closed_form_solved,
        worst_gap=seg_solver.worst_gap,
        time_limited=seg_solver.time_limited,
        seconds=time.perf_counter() - t0,
    )
    return Schedule(policy, result.segments, result.latency_cycles, stats, workload)
