"""Exact segment allocation without a MIP, for the ``paper`` cost model.

With every operator seeing the full ``D_main`` (paper Eq. 10), the fewest
arrays operator ``i`` needs for a pipeline period ``T`` are closed-form::

    c_i(T)   = max(min_i, ceil(OP_i / (T OP_cim)))
    Mem_i(T) = max(0, ceil((OP_i / (T AI_i) - D_main) / D_cim))

Both are non-increasing, right-continuous step functions of ``T``. A segment
needs ``sum c + sum Mem - share(Mem)`` arrays, where ``share`` is the most
memory arrays reused in place (a producer's output buffer read as its
consumer's input buffer): a maximum *b-matching* on the segment's internal
edges with node budgets ``Mem_i`` and edge capacities ``ceil(bytes /
array_bytes)`` (one array has one role per operator, so an operator's shared
arrays in and out together stay within its ``Mem_i``). Lowering one budget
lowers the best matching by at most one, so the array count, and with it
feasibility, is monotone in ``T``: the best period ``T*`` is the smallest
feasible breakpoint of the step functions (binary search). The segment's
cost ``T (1 + F) + W max_l sum_{i in l} c_i(T) + vector`` (Eq. 2's reload per
layer ``l``) then only needs the periods ``T >= T*`` at which some ``c_i``
steps down (:func:`best_period`).

The b-matching is bounded from both sides by one maximum flow on the
bipartite double cover (its value halved is the LP optimum; rounding the LP
solution down and completing it greedily gives an integer matching). When the
two bounds decide the question (in practice almost always; the upper bound is
exact on bipartite graphs, the rounded lower one need not be), no MIP is
needed; otherwise the functions here say so (``nan`` / ``None``) and the
caller solves the MIP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cmswitch.hardware import Hardware
from cmswitch.schedule.cost import CostOptions
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import CimOpInfo

Edge = tuple[int, int, int]
"""(producer, consumer, capacity in arrays), indices relative to the segment."""


# ------------------------------------------------------------------ b-matching
@dataclass(frozen=True)
class Matching:
    """Bounds on the maximum b-matching and an integer matching reaching ``lower``."""

    lower: int
    upper: int
    share: tuple[int, ...]
    """Arrays shared per edge (same order as the edges) in the integer matching."""


def b_matching(budgets: Sequence[int], edges: Sequence[Edge]) -> Matching:
    """Bounds on the maximum b-matching (see module docstring)."""
    live = [
        e for e, (p, c, cap) in enumerate(edges) if cap > 0 and budgets[p] > 0 and budgets[c] > 0
    ]
    if not live:
        return Matching(0, 0, (0,) * len(edges))
    n = len(budgets)
    # double cover: source 0, left 1..n, right n+1..2n, sink 2n+1
    src, sink = 0, 2 * n + 1
    graph = _FlowGraph(2 * n + 2)
    for i, b in enumerate(budgets):
        if b > 0:
            graph.add(src, 1 + i, b)
            graph.add(1 + n + i, sink, b)
    arcs: list[tuple[int, int]] = []
    for e in live:
        p, c, cap = edges[e]
        arcs.append((graph.add(1 + p, 1 + n + c, cap), graph.add(1 + c, 1 + n + p, cap)))
    flow = graph.max_flow(src, sink)
    share = [0] * len(edges)
    resid = list(budgets)
    for e, (a, b) in zip(live, arcs, strict=True):
        p, c, _ = edges[e]
        s = (graph.flow(a) + graph.flow(b)) // 2
        share[e] = s
        resid[p] -= s
        resid[c] -= s
    for e in live:  # greedy completion of the rounded LP solution
        p, c, cap = edges[e]
        extra = min(cap - share[e], resid[p], resid[c])
        if extra > 0:
            share[e] += extra
            resid[p] -= extra
            resid[c] -= extra
    return Matching(sum(share), flow // 2, tuple(share))


class _FlowGraph:
    """A tiny max-flow (shortest augmenting paths) on integer capacities."""

    def __init__(self, n: int) -> None:
        self.adj: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[int] = []
        self.orig: list[int] = []

    def add(self, u: int, v: int, cap: int) -> int:
        k = len(self.to)
        self.to += [v, u]
        self.cap += [cap, 0]
        self.orig += [cap, 0]
        self.adj[u].append(k)
        self.adj[v].append(k + 1)
        return k

    def flow(self, arc: int) -> int:
        return self.orig[arc] - self.cap[arc]

    def max_flow(self, s: int, t: int) -> int:
        total = 0
        while True:
            parent = [-1] * len(self.adj)
            parent[s] = -2
            queue = [s]
            for u in queue:
                if u == t:
                    break
                for k in self.adj[u]:
                    v = self.to[k]
                    if self.cap[k] > 0 and parent[v] == -1:
                        parent[v] = k
                        queue.append(v)
            if parent[t] == -1:
                return total
            k = parent[t]
            push, v = self.cap[k], self.to[k ^ 1]
            while v != s:
                k = parent[v]
                push = min(push, self.cap[k])
                v = self.to[k ^ 1]
            v = t
            while v != s:
                k = parent[v]
                self.cap[k] -= push
                self.cap[k ^ 1] += push
                v = self.to[k ^ 1]
            total += push


# --------------------------------------------------------------- allocations
@dataclass(frozen=True)
class Limits:
    """What a segment may use: all arrays, compute at most, memory at most."""

    arrays: int
    compute: int
    memory: int
    memory_mode: bool


class FewestArrays:
    """The fewest compute and memory arrays of a segment's operators as
    functions of the period T (module docstring), vectorised over operators
    and, for compute, over many periods at once."""

    def __init__(
        self, ops: Sequence[CimOpInfo], hw: Hardware, opts: CostOptions, memory_mode: bool
    ) -> None:
        self.hw, self.memory_mode = hw, memory_mode
        self.macs = np.array([float(o.macs) for o in ops])
        self.ai = np.array([o.ai(opts.intensity) for o in ops])
        self.mins = np.array([o.min_arrays for o in ops], dtype=np.int64)
        self.active = self.macs > 0
        self.safe_macs = np.where(self.active, self.macs, 1.0)

    def compute(self, t: float | np.ndarray) -> np.ndarray:
        """c_i(T): shape (ops,) for one period, (ops, periods) for an array."""
        ts = np.asarray(t, dtype=float)
        macs = self.safe_macs if ts.ndim == 0 else self.safe_macs[:, None]
        mins = self.mins if ts.ndim == 0 else self.mins[:, None]
        active = self.active if ts.ndim == 0 else self.active[:, None]
        c = np.maximum(mins, _ceil_vec(macs / (ts * self.hw.op_cim)))
        return np.where(active, c, mins)

    def needs(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Fewest (compute, memory) arrays per operator for period t."""
        c = self.compute(t)
        if not self.memory_mode:
            return c, np.zeros_like(c)
        hw = self.hw
        y = (self.safe_macs / (t * self.ai) - hw.d_main) / hw.d_cim
        return c, np.where(self.active, np.maximum(0, _ceil_vec(y)), 0)


def _ceil_vec(x: np.ndarray) -> np.ndarray:
    """ceil with a relative tolerance: a period computed at a breakpoint must
    not round up to one array more."""
    return np.ceil(x - 1e-9 * np.maximum(1.0, np.abs(x))).astype(np.int64)


def min_period(seg: FewestArrays, edges: Sequence[Edge], lim: Limits) -> float | None:
    """The best period T* of the segment; ``math.nan`` if the matching bounds
    cannot decide it (solve the MIP), None if no allocation fits."""
    hw = seg.hw
    act = seg.active
    ccap = min(lim.arrays, lim.compute)
    spare = ccap - int(seg.mins.sum())
    if spare < 0:  # the minima alone exceed the compute cap (or the chip)
        return None
    floor_t = 0.0
    if not lim.memory_mode and act.any():  # every operator must live on D_main alone
        floor_t = float(np.max(seg.macs[act] / (seg.ai[act] * hw.d_main)))
    parts = [np.array([floor_t])]
    if act.any():
        parts.append((seg.macs[act][:, None] / (np.arange(1, ccap + 1) * hw.op_cim)).ravel())
        if lim.memory_mode:
            hi = min(lim.arrays, lim.memory + sum(cap for *_, cap in edges))
            bw = np.arange(hi + 1) * hw.d_cim + hw.d_main
            parts.append((seg.macs[act][:, None] / (seg.ai[act][:, None] * bw)).ravel())
    if act.any():  # compute arrays alone: sum c <= ccap, c_i <= ccap - others' minima
        floor_t = max(
            floor_t,
            float(seg.macs.sum()) / (ccap * hw.op_cim),
            float(np.max(seg.macs / ((spare + seg.mins) * hw.op_cim))),
        ) * (1.0 - 1e-12)
    cands = np.unique(np.concatenate(parts))
    cands = cands[(cands >= floor_t) & (cands > 0)]
    if cands.size == 0:
        cands = np.array([floor_t])
    cheap_caps = [(p, q, cap) for p, q, cap in edges]
    matches: dict[float, Matching] = {}

    def fits(t: float, bound: str) -> bool:
        c, m = seg.needs(t)
        sc, sm = int(c.sum()), int(m.sum())
        if sc > lim.compute:
            return False
        need = max(0, sc + sm - lim.arrays, sm - lim.memory)
        if need == 0:
            return True
        if not cheap_caps:
            return False
        ml = m.tolist()
        cheap = min(sum(min(cap, ml[p], ml[q]) for p, q, cap in cheap_caps), sm // 2)
        if cheap < need:
            return False
        match = matches.get(t)
        if match is None:
            match = matches[t] = b_matching(ml, edges)
        return (match.upper if bound == "upper" else match.lower) >= need

    def first_fit(bound: str) -> int | None:
        if not fits(float(cands[-1]), bound):
            return None
        lo, hi = 0, cands.size - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(float(cands[mid]), bound):
                hi = mid
            else:
                lo = mid + 1
        return lo

    optimistic = first_fit("upper")  # sharing over-estimated: T <= T*
    if optimistic is None:
        return None
    t = float(cands[optimistic])
    if fits(t, "lower"):
        return t
    return math.nan


def best_period(
    seg: FewestArrays, groups: Sequence[int], t_star: float, fill: float, top: int
) -> float:
    """The period T >= T* minimising ``T * fill + W * max_l Com_l(T)``.

    ``Com_l(T)``, the compute arrays of layer ``l`` (operators with equal
    ``groups`` entry) at their fewest for period T, is a non-increasing step
    function; between its steps the cost grows with T, so the optimum is T*
    or a step of some c_i: ``OP_i / (c OP_cim)`` for ``c <= top``. Ties go to
    the larger period (fewer arrays)."""
    hw = seg.hw
    steps = (seg.macs[seg.active][:, None] / (np.arange(1, top + 1) * hw.op_cim)).ravel()
    cands = np.unique(np.concatenate([[t_star], steps[steps > t_star]]))[::-1]
    c = seg.compute(cands)
    index = {g: k for k, g in enumerate(dict.fromkeys(groups))}
    member = np.zeros((len(index), len(groups)), dtype=np.int64)
    member[[index[g] for g in groups], np.arange(len(groups))] = 1
    reload = (member @ c).max(axis=0)
    cost = cands * fill + hw.write_cycles_per_array * reload
    ok = np.nonzero(cost <= cost.min() * (1.0 + 1e-12))[0]
    return float(cands[ok[0]])


def lean_allocation(
    seg: FewestArrays, edges: Sequence[Edge], t: float, lim: Limits
) -> tuple[tuple[OpAlloc, ...], tuple[Edge, ...]] | None:
    """The fewest arrays reaching period `t`: (allocations, shared edges with
    their arrays); None if the matching bounds cannot certify the fewest."""
    c_arr, m_arr = seg.needs(t)
    c, m = c_arr.tolist(), m_arr.tolist()
    share: tuple[int, ...] = (0,) * len(edges)
    if edges and any(m):
        match = b_matching(m, edges)
        if match.lower != match.upper:
            return None
        share = match.share
    out = [0] * len(c)
    for (p, _, _), s in zip(edges, share, strict=True):
        out[p] += s
    allocs = tuple(OpAlloc(ci, mi - o, o) for ci, mi, o in zip(c, m, out, strict=True))
    # Fits by construction, so not checked again: t >= T*, where the fewest
    # arrays fit (min_period's matching bound, or the MIP's allocation), and
    # neither the fewest arrays nor the memory left after the best sharing
    # grow with T (one array less in a budget shares at most one less).
    memory = sum(m) - sum(share)
    assert sum(c) <= lim.compute and memory <= lim.memory and sum(c) + memory <= lim.arrays
    shared = tuple((p, q, s) for (p, q, _), s in zip(edges, share, strict=True) if s > 0)
    return allocs, shared
