"""Step 2: allocation inside one segment (spec 5).

**Strict model** (the default): :mod:`strict_solver`, exact and without a
MIP (at a fixed period the compute arrays are closed-form and the memory
arrays a knapsack over the segment's tensors; feasibility is monotone in
the period).

**Paper model**: mixed-integer programming. Variables per operator i
(counts, not array ids): ``c_i`` compute arrays, ``mi_i`` / ``mo_i`` memory
arrays used as input / output buffer; per internal edge (i, j) ``s_ij``
output arrays of i reused in place as input arrays of j. Constraints are
Eq. 6-8 with the errata fixed (``<=``; a producer's output arrays are
reused by its consumers at most once in total, likewise a consumer's input
arrays):

    c_i >= min_arrays_i,  sum_j s_ij <= mo_i,  sum_i s_ij <= mi_j,
    s_ij <= ceil(bytes_ij / array_bytes),  sum(c + mi + mo) - sum s <= N.

The pipeline objective (Eq. 9, 10) is linearised with a throughput variable
``u`` (``t`` scaled to arrays so HiGHS sees coefficients near 1):
``u * OP_i / OP_max <= c_i`` and ``u * OP_i / OP_max <= (Mem_i D_cim + D_main) AI_i / OP_cim``,
with ``AI_i = OP_i / streamed bytes`` under the chosen intensity.

**How reload enters.** The segment's own cost is ``T (1 + F) + W max_i c_i +
vector`` (see :mod:`cost`); the reload term makes duplication a trade-off and
``1/u`` is not linear, so the solver enumerates the reload cap ``R``
(``c_i <= R``) exactly: solve max ``u`` at cap R, read the largest ``c_i`` the
solution actually uses (``R_act``: every cap in ``[R_act, R]`` has the same
optimal period), evaluate the true cost with the cost model, and continue with
cap ``R_act - 1``. It stops when even the cheapest possible reload plus the
current (only growing) period cannot beat the best, and never tries caps whose
reload alone exceeds the best minus the unconstrained period. The result is
exact w.r.t. the cost model up to HiGHS's relative gap (1e-7). A second MIP
then keeps the chosen period and reload and minimises the arrays used, so
switches and write-backs into later segments are not inflated by idle buffers.

**Paper model: usually no MIP at all.** With ``d_i = D_main`` the fewest
arrays an operator needs for a period ``T`` are closed-form and feasibility is
monotone in ``T`` (:mod:`closed_form` has the argument). The best period
``T*`` is then a binary search over breakpoints, deciding the in-place
sharing by two bounds on a b-matching (one max-flow); the reload trade-off is
a scan over the periods at which some operator's fewest compute arrays step
down; the leanest allocation at the chosen period is closed-form too. Where the matching bounds cannot decide (odd cycles with
tight budgets), the MIP above decides instead: one MIP for ``T*`` and one for
the leanest sharing. ``SegmentSolver(closed_form=False)`` (``--solver mip``)
uses the MIP branch and bound for every paper segment; tests check that the
two agree.

Results are memoised by a segment signature (operator shapes, byte counts,
vector work and internal edges, relative to the segment start) and by the
allocation mode, so a transformer's repeated block is solved once.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass

import highspy

from cmswitch.schedule import closed_form, plan, strict_solver
from cmswitch.schedule.cost import (
    CostOptions,
    compute_macs,
    fill_factor,
    local_cost,
    pipeline_time,
    segment_data,
    segment_period,
    segment_vector_work,
    streamed_bytes,
    vector_cycles,
)
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import Workload

_GAP = 1e-7
_TIE = 1e-9
NODE_LIMIT = 10_000
"""Default branch-and-bound nodes per MIP (HiGHS ``mip_max_nodes``): a
work limit, so results do not depend on the machine's load. The segment
MIPs close at the root almost always; a wall-clock ``time_limit`` is
optional."""
_LIMITS = (
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kSolutionLimit,  # mip_max_nodes
    highspy.HighsModelStatus.kIterationLimit,
)


@dataclass(frozen=True)
class AllocMode:
    """Which arrays a segment may use.

    ``memory=False`` keeps every array in compute mode (CIM-MLC, PUMA);
    ``compute_cap`` / ``memory_cap`` bound the segment's compute / memory
    arrays (the static-ratio baseline)."""

    memory: bool = True
    compute_cap: int | None = None
    memory_cap: int | None = None


DUAL = AllocMode()
ALL_COMPUTE = AllocMode(memory=False)


@dataclass(frozen=True)
class SegmentSolution:
    """An allocation relative to the segment start, with its own cost."""

    allocs: tuple[OpAlloc, ...]
    shared: tuple[tuple[int, int, int], ...]
    local: float
    gap: float

    @property
    def compute_arrays(self) -> int:
        return plan.compute_arrays(self.allocs)

    @property
    def memory_arrays(self) -> int:
        return plan.memory_arrays(self.allocs, self.shared)


@contextlib.contextmanager
def quiet_fd1() -> Iterator[None]:
    """Silence HiGHS's banner, printed on the C-level stdout (TOOLCHAIN 6)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _new_highs(time_limit: float | None, node_limit: int | None) -> highspy.Highs:
    with quiet_fd1():
        h = highspy.Highs()
        h.silent()
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(node_limit))
    h.setOptionValue("mip_rel_gap", _GAP)
    h.setOptionValue("threads", 1)
    return h


def internal_edges(workload: Workload, start: int, end: int) -> tuple[tuple[int, int, float], ...]:
    """Edges inside the segment, relative to its start, sorted."""
    out = []
    for c in range(start, end + 1):
        for p in workload.ops[c].preds:
            if start <= p <= end:
                out.append((p - start, c - start, workload.edges.get((p, c), 0.0)))
    return tuple(sorted(out))


def signature(workload: Workload, start: int, end: int) -> Hashable:
    ops = tuple(
        (o.shape, o.min_arrays, o.weight_bytes, o.input_bytes, o.output_bytes, o.vector_work)
        for o in workload.ops[start : end + 1]
    )
    # a whole edge runs from an earlier operator to a later one (its reader),
    # so the segment's are among its readers' predecessors: no scan of
    # every whole edge of the model per candidate segment
    whole_edges = workload.whole_edges
    whole = tuple(
        sorted(
            (p - start, c - start)
            for c in range(start, end + 1)
            for p in workload.ops[c].preds
            if p >= start and (p, c) in whole_edges
        )
    )
    # strict's data (what the segment reads from earlier segments depends
    # on where it starts; its tensors' sizes and accesses on vector edges)
    data = segment_data(workload, start, end)
    return (
        ops, internal_edges(workload, start, end), layer_groups(workload, start, end), whole,
        data.external_parts, data.tensors,
    )  # fmt: skip


def layer_groups(workload: Workload, start: int, end: int) -> tuple[int, ...]:
    """Per operator of the segment, the segment position of the first
    operator of its layer (operators of one layer share a reload budget)."""
    first: dict[int, int] = {}  # one path for any layer order (no faster special case)
    return tuple(first.setdefault(o.layer, k) for k, o in enumerate(workload.ops[start : end + 1]))


SolverCache = dict[Hashable, "SegmentSolution | None"]
"""Segment solutions by (signature, mode): shareable between solvers of the
same chip, cost options, limits and solver kind."""


@dataclass
class _Raw:
    allocs: tuple[OpAlloc, ...]
    shared: tuple[tuple[int, int, int], ...]
    u: float
    gap: float


class SegmentSolver:
    """Solves (and memoises) segment allocations of one workload."""

    def __init__(
        self,
        workload: Workload,
        opts: CostOptions,
        time_limit: float | None = None,
        *,
        node_limit: int | None = NODE_LIMIT,
        closed_form: bool = True,
        cache: SolverCache | None = None,
    ) -> None:
        self.workload = workload
        self.opts = opts
        self.time_limit = time_limit
        """Seconds per MIP (None: no wall-clock limit)."""
        self.node_limit = node_limit
        """Branch-and-bound nodes per MIP (None: unlimited)."""
        self.closed_form = closed_form
        self._cache: SolverCache = {} if cache is None else cache
        self._signatures: dict[tuple[int, int], Hashable] = {}
        self._prefix_min = [0]
        for o in workload.ops:
            self._prefix_min.append(self._prefix_min[-1] + o.min_arrays)
        self.mips_solved = 0
        self.closed_form_solved = 0
        self.cache_hits = 0
        self.worst_gap = 0.0
        self.time_limited = 0
        """MIPs stopped by a time or node limit."""
        self.seconds = 0.0

    # ------------------------------------------------------------------ public
    def feasible_quick(self, start: int, end: int, mode: AllocMode) -> bool:
        """Necessary conditions, checked before any MIP."""
        hw = self.workload.hardware
        need = self._prefix_min[end + 1] - self._prefix_min[start]
        budget = hw.arrays if mode.compute_cap is None else min(hw.arrays, mode.compute_cap)
        return need <= budget

    def solve(self, start: int, end: int, mode: AllocMode = DUAL) -> SegmentSolution | None:
        """The allocation minimising intra + reload + vector, or None if the
        segment cannot be mapped in this mode."""
        if not self.feasible_quick(start, end, mode):
            return None
        sig = self._signatures.get((start, end))
        if sig is None:
            sig = self._signatures[(start, end)] = signature(self.workload, start, end)
        key = (sig, mode)
        if key in self._cache:
            self.cache_hits += 1
            return self._cache[key]
        sol = self._from_dual(start, end, sig, mode)
        if sol is None:
            t0 = time.perf_counter()
            sol = self._solve(start, end, mode)
            self.seconds += time.perf_counter() - t0
        self._cache[key] = sol
        return sol

    def _from_dual(
        self, start: int, end: int, sig: Hashable, mode: AllocMode
    ) -> SegmentSolution | None:
        """The dual-mode optimum, if it is already known, proven optimal and
        allowed in `mode` (a subset of the dual-mode plans): then it is
        `mode`'s optimum too, and no solve is needed. For `mode` DUAL itself
        the entry is absent: :meth:`solve` returns cached solutions first."""
        dual = self._cache.get((sig, DUAL))
        if dual is None or dual.gap > 0.0:
            return None
        c, m = dual.compute_arrays, dual.memory_arrays
        if not mode.memory and m > 0:
            return None
        if mode.compute_cap is not None and c > mode.compute_cap:
            return None
        if mode.memory_cap is not None and m > mode.memory_cap:
            return None
        return dual

    # ---------------------------------------------------------------- private
    def _solve(self, start: int, end: int, mode: AllocMode) -> SegmentSolution | None:
        if self.opts.model == "strict":
            return self._solve_strict(start, end, mode)
        if self.closed_form:
            return self._solve_paper(start, end, mode)
        return self._solve_bnb(start, end, mode)

    def _solve_strict(self, start: int, end: int, mode: AllocMode) -> SegmentSolution | None:
        """Strict model: :mod:`strict_solver` (exact, no MIP)."""
        wl, hw = self.workload, self.workload.hardware
        memory = 0
        if mode.memory:
            memory = hw.arrays if mode.memory_cap is None else mode.memory_cap
        top = hw.arrays if mode.compute_cap is None else min(hw.arrays, mode.compute_cap)
        got = strict_solver.solve(
            wl, start, end, self.opts, strict_solver.Limits(hw.arrays, top, memory)
        )
        self.closed_form_solved += 1
        if got is None:
            return None
        allocs = got[0]
        return SegmentSolution(allocs, (), local_cost(wl, start, end, allocs, self.opts), 0.0)

    def _solve_paper(self, start: int, end: int, mode: AllocMode) -> SegmentSolution | None:
        """Paper model: T* by :mod:`closed_form` (a MIP only when its matching
        bounds cannot decide), then the best period for intra + reload."""
        wl, opts, hw = self.workload, self.opts, self.workload.hardware
        ops = wl.ops[start : end + 1]
        top = hw.arrays if mode.compute_cap is None else min(hw.arrays, mode.compute_cap)
        groups = layer_groups(wl, start, end)
        if _group_max(groups, [o.min_arrays for o in ops]) > top:
            return None
        edges = (
            tuple(
                (p, c, math.ceil(b / hw.array_bytes))
                for p, c, b in internal_edges(wl, start, end)
                if b > 0
            )
            if mode.memory
            else ()
        )
        lim = closed_form.Limits(
            hw.arrays,
            top,
            0 if not mode.memory else hw.arrays if mode.memory_cap is None else mode.memory_cap,
            mode.memory,
        )
        gap = 0.0
        fewest = closed_form.FewestArrays(ops, hw, opts, mode.memory)
        t_star = closed_form.min_period(fewest, edges, lim)
        if t_star is None:
            return None
        mips_before = self.mips_solved
        if math.isnan(t_star):
            model = self._mip(start, end, mode, top, None)
            first = model.run()
            if first is None:
                return self._fallback(start, end, mode) if model.timed_out else None
            t_star = segment_period(wl, start, end, first.allocs, opts)
            gap = first.gap
        fill = 1.0 + fill_factor(wl, start, end, opts)
        t_best = closed_form.best_period(fewest, groups, t_star, fill, top)
        op_max = max(o.macs for o in ops)
        lean = closed_form.lean_allocation(fewest, edges, t_best, lim)
        if lean is not None:
            allocs, shared = lean
        else:
            cap = _group_max(groups, fewest.compute(t_best).tolist())
            u = op_max / (t_best * hw.op_cim)
            raw = self._mip(start, end, mode, cap, u * (1.0 - _TIE)).run()
            if raw is None:  # numerical corner: the throughput MIP at this cap
                model = self._mip(start, end, mode, top, None)
                model.set_cap(cap)
                raw = model.run()
            if raw is None:
                return None
            gap = max(gap, raw.gap)
            allocs, shared = raw.allocs, raw.shared
        if self.mips_solved == mips_before:
            self.closed_form_solved += 1
        return SegmentSolution(allocs, shared, local_cost(wl, start, end, allocs, opts), gap)

    def _solve_bnb(self, start: int, end: int, mode: AllocMode) -> SegmentSolution | None:
        wl, opts, hw = self.workload, self.opts, self.workload.hardware
        ops = wl.ops[start : end + 1]
        w = hw.write_cycles_per_array
        fill = 1.0 + fill_factor(wl, start, end, opts)
        vec = vector_cycles(segment_vector_work(wl, start, end), hw)
        groups = layer_groups(wl, start, end)
        r0 = _group_max(groups, [o.min_arrays for o in ops])
        top = hw.arrays if mode.compute_cap is None else min(hw.arrays, mode.compute_cap)
        op_max = max(compute_macs(o, hw, opts) for o in ops)

        def used(raw: _Raw) -> int:  # Com of the segment's largest layer
            return _group_max(groups, [a.compute for a in raw.allocs])

        def cost_of(raw: _Raw) -> float:
            return local_cost(wl, start, end, raw.allocs, opts)

        def bound(lo: int, hi: int, t_lb: float) -> float:
            # every cap R in [lo, hi] has T(R) >= t_lb, >= OP_max / (R
            # OP_cim), reload >= lo w
            t = max(t_lb, op_max / (hi * hw.op_cim))
            return pipeline_time(t * fill, vec, opts) + lo * w

        model = self._mip(start, end, mode, top, None)
        raw = model.run()
        if raw is None:
            return self._fallback(start, end, mode) if model.timed_out else None
        best_cost, best = cost_of(raw), raw
        incomplete = False  # a sub-problem timed out without any solution
        t_top = segment_period(wl, start, end, raw.allocs, opts) / (1.0 + 1e-6)
        # Branch and bound over reload caps: an interval [lo, hi] of caps
        # not yet covered, with a lower bound on the period of every cap.
        todo = [(r0, used(raw) - 1, t_top)]
        while todo:
            todo = [x for x in todo if x[0] <= x[1]]
            if not todo:
                break
            todo.sort(key=lambda x: bound(*x))
            lo, hi, t_lb = todo.pop(0)
            if bound(lo, hi, t_lb) >= best_cost * (1.0 - 1e-12):
                continue
            mid = (lo + hi + 1) // 2
            model.set_cap(mid)
            raw = model.run()
            if raw is None:  # caps <= mid infeasible (or unknown: timed out)
                incomplete = incomplete or model.timed_out
                todo.append((mid + 1, hi, t_lb))
                continue
            c = cost_of(raw)
            if c < best_cost:
                best_cost, best = c, raw
            t_mid = segment_period(wl, start, end, raw.allocs, opts) / (1.0 + 1e-6)
            todo.append((lo, used(raw) - 1, t_mid))
            todo.append((mid + 1, hi, t_lb))
        cost, raw = best_cost, best
        # Second pass: same period and reload, fewest arrays.
        lean = self._mip(start, end, mode, used(raw), raw.u * (1.0 - _TIE)).run()
        if (
            lean is not None
            and cost_of(lean) <= cost * (1.0 + _TIE)
            and _arrays_used(lean) <= _arrays_used(raw)
        ):
            cost, raw = cost_of(lean), lean
        gap = raw.gap
        if incomplete:  # optimality of the reload trade-off not proven
            gap = 1.0
            self.worst_gap = max(self.worst_gap, gap)
        return SegmentSolution(raw.allocs, raw.shared, cost, gap)

    def _fallback(self, start: int, end: int, mode: AllocMode) -> SegmentSolution | None:
        """The time limit stopped the MIP before any solution: the fewest
        arrays (every operator at its minimum compute arrays, no memory),
        reported with gap 1 (nothing proven)."""
        wl, opts, hw = self.workload, self.opts, self.workload.hardware
        ops = wl.ops[start : end + 1]
        compute = sum(o.min_arrays for o in ops)
        ccap = hw.arrays if mode.compute_cap is None else mode.compute_cap
        if compute > ccap:
            return None
        allocs = tuple(OpAlloc(o.min_arrays) for o in ops)
        self.worst_gap = max(self.worst_gap, 1.0)
        return SegmentSolution(allocs, (), local_cost(wl, start, end, allocs, opts), 1.0)

    def _mip(
        self, start: int, end: int, mode: AllocMode, reload_cap: int, u_floor: float | None
    ) -> _Model:
        """Paper model: max u (u_floor None) or min arrays subject to u >=
        u_floor."""
        wl, opts, hw = self.workload, self.opts, self.workload.hardware
        ops = wl.ops[start : end + 1]
        n = len(ops)
        edges = internal_edges(wl, start, end)
        op_max = max(compute_macs(o, hw, opts) for o in ops)
        h = _new_highs(self.time_limit, self.node_limit)
        big = float(hw.arrays)
        c = [h.addIntegral(lb=o.min_arrays, ub=min(reload_cap, hw.arrays)) for o in ops]
        # the reload cap bounds each layer's compute arrays (Eq. 2's Com_l)
        members: dict[int, list[int]] = {}
        for k, g in enumerate(layer_groups(wl, start, end)):
            members.setdefault(g, []).append(k)
        group_rows = [
            (
                h.addConstr(h.qsum([c[k] for k in ks]) <= float(reload_cap)).index,
                sum(ops[k].min_arrays for k in ks),
            )
            for ks in members.values()
            if len(ks) > 1
        ]
        u = h.addVariable(lb=0.0 if u_floor is None else u_floor, ub=highspy.kHighsInf)
        arrays_used = h.qsum(c)
        mi: list[highspy.highs_var] = []
        mo: list[highspy.highs_var] = []
        s: list[highspy.highs_var] = []
        if mode.memory:
            mi = [h.addIntegral(lb=0, ub=big) for _ in ops]
            mo = [h.addIntegral(lb=0, ub=big) for _ in ops]
            s = [
                h.addIntegral(lb=0, ub=min(big, math.ceil(b / hw.array_bytes)))
                for (_, _, b) in edges
            ]
            for i in range(n):
                outs = [s[e] for e, (p, _, _) in enumerate(edges) if p == i]
                ins = [s[e] for e, (_, q, _) in enumerate(edges) if q == i]
                if outs:
                    h.addConstr(h.qsum(outs) <= mo[i])
                if ins:
                    h.addConstr(h.qsum(ins) <= mi[i])
            mem_total = h.qsum(mi) + h.qsum(mo) - (h.qsum(s) if s else 0)
            arrays_used = arrays_used + mem_total
            if mode.memory_cap is not None:
                h.addConstr(mem_total <= mode.memory_cap)
        h.addConstr(arrays_used <= hw.arrays)
        if mode.compute_cap is not None:
            h.addConstr(h.qsum(c) <= mode.compute_cap)
        for i, o in enumerate(ops):
            work = compute_macs(o, hw, opts)
            r = work / op_max
            k = work / (streamed_bytes(o, opts) * hw.op_cim)
            h.addConstr(u * r <= c[i])
            lhs = u * r - (mi[i] + mo[i]) * (hw.d_cim * k) if mode.memory else u * r
            h.addConstr(lhs <= hw.d_main * k)
        return _Model(
            self, h, c, mi, mo, s, u, edges, group_rows,
            maximize_u=u_floor is None, objective=arrays_used,
        )  # fmt: skip


class _Model:
    """One segment MIP whose reload cap (upper bound of every c_i) can change."""

    def __init__(
        self,
        solver: SegmentSolver,
        h: highspy.Highs,
        c: list[highspy.highs_var],
        mi: list[highspy.highs_var],
        mo: list[highspy.highs_var],
        s: list[highspy.highs_var],
        u: highspy.highs_var,
        edges: tuple[tuple[int, int, float], ...],
        group_rows: list[tuple[int, int]],
        *,
        maximize_u: bool,
        objective: highspy.highs_linear_expression,
    ) -> None:
        self.solver, self.h, self.c, self.mi, self.mo, self.s, self.u = solver, h, c, mi, mo, s, u
        self.edges = edges
        self.group_rows = group_rows
        """(row, least compute arrays) of each layer with several operators."""
        self.infeasible = False
        self.no_presolve = False
        self.timed_out = False
        """The last run hit a time or node limit before finding any solution."""
        self.lbs = _lower_bounds(h, c)
        if maximize_u:
            h.changeObjectiveSense(highspy.ObjSense.kMaximize)
            h.changeColCost(u.index, 1.0)
        else:
            h.changeObjectiveSense(highspy.ObjSense.kMinimize)
            for v in (*c, *mi, *mo):
                h.changeColCost(v.index, 1.0)
            for v in s:
                h.changeColCost(v.index, -1.0)

    def set_cap(self, cap: int) -> None:
        for v, lb in zip(self.c, self.lbs, strict=False):
            if cap < lb:
                self.infeasible = True
                return
            self.h.changeColBounds(v.index, lb, float(cap))
        for row, least in self.group_rows:
            if cap < least:
                self.infeasible = True
                return
            self.h.changeRowBounds(row, -highspy.kHighsInf, float(cap))
        self.infeasible = False

    def run(self) -> _Raw | None:
        self.timed_out = False
        if self.infeasible:
            return None
        h, sv = self.h, self.solver
        h.run()
        sv.mips_solved += 1
        status = h.getModelStatus()
        info = h.getInfo()
        if status == highspy.HighsModelStatus.kOptimal:
            gap = max(0.0, float(info.mip_gap))
        elif status in _LIMITS and info.primal_solution_status == 2:  # an incumbent
            sv.time_limited += 1
            gap = min(1.0, float(info.mip_gap))
        else:
            if status in _LIMITS:  # no incumbent at all
                sv.time_limited += 1
                self.timed_out = True
            return None
        if gap > _GAP:
            sv.worst_gap = max(sv.worst_gap, gap)
        else:
            gap = 0.0
        sol = h.getSolution().col_value
        if any(math.isnan(x) for x in sol):
            # HiGHS 1.x can leave a presolve-removed column undefined in an
            # "optimal" solution; solve this model again without presolve.
            if self.no_presolve:
                return None
            h.setOptionValue("presolve", "off")
            self.no_presolve = True
            try:
                return self.run()
            finally:
                h.setOptionValue("presolve", "choose")
                self.no_presolve = False

        def iv(v: highspy.highs_var) -> int:
            return round(sol[v.index])

        n = len(self.c)
        allocs = tuple(
            OpAlloc(
                iv(self.c[i]), iv(self.mi[i]) if self.mi else 0, iv(self.mo[i]) if self.mo else 0
            )
            for i in range(n)
        )
        shared = tuple(
            (p, q, iv(self.s[e]))
            for e, (p, q, _) in enumerate(self.edges)
            if self.s and iv(self.s[e]) > 0
        )
        return _Raw(allocs, shared, float(sol[self.u.index]), gap)


def _arrays_used(raw: _Raw) -> int:
    return plan.compute_arrays(raw.allocs) + plan.memory_arrays(raw.allocs, raw.shared)


def _group_max(groups: tuple[int, ...], values: list[int]) -> int:
    """max over layers of the sum of `values` of the layer's operators."""
    sums: dict[int, int] = {}
    for g, v in zip(groups, values, strict=True):
        sums[g] = sums.get(g, 0) + v
    return max(sums.values())


def _lower_bounds(h: highspy.Highs, cols: list[highspy.highs_var]) -> list[float]:
    lp = h.getLp()
    return [float(lp.col_lower_[v.index]) for v in cols]
