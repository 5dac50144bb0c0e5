"""Strict model: a segment's allocation without a MIP (revision 5).

Under ``strict`` (:mod:`cost`, :mod:`held`) a plan's period is the largest
of three times, each monotone in what the plan gives:

* compute: operator ``i`` on ``k_i`` copies of its ``min_i`` arrays takes
  ``R_i / k_i`` (``R_i`` a copy's cycles), so at a period ``T`` it needs
  ``c_i(T) = min_i max(1, ceil(R_i / T))`` arrays;
* channel: ``X / E <= T (1 + F)`` and ``X + U <= D_main T (1 + F)`` (the
  channel's bytes spread over the whole pipeline, fill included:
  :func:`cost.segment_period`) where the unheld bytes ``U = sum_q A_q (1 -
  f_q)`` fall as tensors get memory arrays;
* ports: a tensor partly held needs ``p_q = array_bytes A_q / (S_q D_cim)
  <= T``; wholly held on ``H`` arrays, ``A_q / (H D_cim) <= T``.

**At a fixed T** the compute arrays are ``c_i(T)`` (fewer cannot meet T,
more only add reload) and the rest of the chip, ``B(T)``, is the memory
budget. Tensors whose ``p_q <= T`` save ``array_bytes A_q / S_q`` bytes of
channel traffic per array up to their last, partly filled, array: a
concave saving, so taking arrays in decreasing marginal saving gives the
largest saving for every budget at once. A tensor with ``p_q > T`` can only
be held whole, on ``max(ceil(S_q / array_bytes), ceil(A_q / (T D_cim)))``
arrays: a 0/1 item, added by a knapsack over the budget (exact; ``B <=
arrays``). T is feasible iff the compute fits and the best saving reaches
``X + sum A - D_main T`` (and ``X / E <= T``). Every part of this is
monotone in T, so **the smallest feasible period T*** is found by
bisection (to a relative 1e-12).

**The reload trade-off** is the scan of revision 4: the cost ``max(T (1 +
F), V) + max(W, P(T) / E)`` (``P`` the programmed bytes of ``c(T)``) only
grows between the periods where some ``c_i`` steps down, so the best
period is T* or a step ``R_i / k`` above it; each is priced in one
vectorised pass. At the chosen period the memory arrays are the fewest
that meet it (the knapsack's smallest budget reaching the saving), all as
the producer's output arrays (``mem_out``; the lowering writes a tensor
there, its readers read it in place): no in-place sharing is needed.

Exact with respect to the model (up to the bisection's tolerance); tests
compare it with brute force over every count vector on tiny chips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cmswitch.hardware import Hardware
from cmswitch.schedule.cost import (
    CostOptions,
    compute_macs,
    fill_factor,
    segment_data,
    segment_vector_work,
    vector_cycles,
)
from cmswitch.schedule.held import SegmentData
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import Workload

_TOL = 1e-12
_EPS = 1e-9


@dataclass(frozen=True)
class Limits:
    """Arrays a segment may use: ``compute`` and ``memory`` caps (0 memory
    for the all-compute policies) and the chip."""

    arrays: int
    compute: int
    memory: int


class _Tensors:
    """The savings of holding a segment's tensors, at any period."""

    def __init__(self, data: SegmentData, hw: Hardware) -> None:
        ab = float(hw.array_bytes)
        self.size = np.array([t.size for t in data.tensors])
        self.acc = np.array([t.accesses for t in data.tensors])
        self.full = np.ceil(self.size / ab - _EPS).astype(np.int64)  # arrays to hold it whole
        self.per_array = ab * self.acc / self.size  # bytes saved by each full array
        self.last = self.acc - (self.full - 1) * self.per_array  # by the last one
        self.port = self.per_array / hw.d_cim  # p_q: period a partly held tensor needs
        self.d_cim = hw.d_cim

    def partial(self, t: float) -> np.ndarray:
        """Which tensors' ports keep up with period ``t`` when held in part."""
        return self.port <= t * (1 + _EPS)

    def best(self, t: float, budget: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """``best[b]``: the largest saving with ``b <= budget`` arrays at
        period ``t`` from the tensors holdable in part, and the tensors
        that can only be held whole, with their arrays (:meth:`fewest`)."""
        partial = self.partial(t)
        base = np.zeros(budget + 1)
        b = 0
        for gain, _, count in self._gains(partial):
            take = min(count, budget - b)
            if take <= 0:
                break
            base[b + 1 : b + take + 1] = base[b] + gain * np.arange(1, take + 1)
            b += take
        base[b + 1 :] = base[b]
        # 0/1 items: tensors held whole on enough arrays for their ports
        items = []
        for q in np.nonzero(~partial)[0]:
            need = max(int(self.full[q]), math.ceil(self.acc[q] / (t * self.d_cim) - _EPS))
            if need <= budget:
                items.append((int(q), need))
        return base, items

    def fewest(self, t: float, budget: int, target: float) -> tuple[int, np.ndarray] | None:
        """The fewest arrays saving at least ``target`` bytes at period
        ``t`` and, per tensor, its arrays; None if ``budget`` cannot."""
        base, items = self.best(t, budget)
        # knapsack over the budget for the 0/1 items, on top of the concave part
        stages = [base]
        for q, w in items:
            prev = stages[-1]
            cur = prev.copy()
            cand = prev[: len(prev) - w] + float(self.acc[q])
            cur[w:] = np.maximum(prev[w:], cand)
            stages.append(cur)
        final = stages[-1]
        ok = np.nonzero(final >= target)[0]
        if len(ok) == 0:
            return None
        b = int(ok[0])
        held = np.zeros(len(self.size), dtype=np.int64)
        rest = b
        for k in range(len(items) - 1, -1, -1):  # which 0/1 items, backwards
            q, w = items[k]
            if rest >= w and stages[k + 1][rest] > stages[k][rest]:
                held[q] = w
                rest -= w
        self._spread(t, rest, held)
        return b, held

    def _gains(self, partial: np.ndarray) -> list[tuple[float, int, int]]:
        """The tensors holdable in part as (bytes saved per array, tensor,
        arrays), in decreasing saving: each tensor's full arrays, then its
        last, partly filled one (a concave saving per tensor, so the greedy
        prefix is the best for every budget)."""
        order: list[tuple[float, int, int]] = []
        for q in np.nonzero(partial)[0]:
            n = int(self.full[q])
            if n > 1:
                order.append((float(self.per_array[q]), int(q), n - 1))
            order.append((float(self.last[q]), int(q), 1))
        order.sort(key=lambda g: -g[0])
        return order

    def _spread(self, t: float, arrays: int, held: np.ndarray) -> None:
        """Give ``arrays`` to the partly holdable tensors in decreasing
        marginal saving (the greedy prefix :meth:`best` priced)."""
        order = self._gains(self.partial(t))
        for _, q, count in order:
            take = min(count, arrays)
            if take <= 0:
                break
            held[q] += take
            arrays -= take


def solve(
    workload: Workload, start: int, end: int, opts: CostOptions, lim: Limits
) -> tuple[tuple[OpAlloc, ...], float] | None:
    """The allocation of operators ``start..end`` minimising the strict
    local cost (and, at that cost, the memory arrays), and its period; None
    if the operators' fewest arrays do not fit ``lim``."""
    hw = workload.hardware
    ops = workload.ops[start : end + 1]
    data = segment_data(workload, start, end)
    tensors = _Tensors(data, hw)
    mins = np.array([o.min_arrays for o in ops], dtype=np.int64)
    ccap = min(lim.compute, lim.arrays)  # compute arrays the segment may use
    if mins.sum() > ccap:
        return None
    rows = np.array([compute_macs(o, hw, opts) / (o.min_arrays * hw.op_cim) for o in ops])
    total_acc = data.external + data.accesses

    def compute_arrays(t: float) -> np.ndarray:
        copies = np.maximum(1, np.ceil(rows / t - _EPS)).astype(np.int64)
        return mins * copies

    def budget(c: np.ndarray) -> int:
        return max(0, min(lim.arrays - int(c.sum()), lim.memory))

    fill = 1.0 + fill_factor(workload, start, end, opts)

    def feasible(t: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(compute arrays, held arrays per tensor) meeting period t (the
        channel has the whole pipeline, ``t * fill``)."""
        if data.external > hw.external_bw_bytes * t * fill * (1 + _EPS):
            return None
        c = compute_arrays(t)
        if c.sum() > ccap:
            return None
        # bytes the held tensors must save (rounding: 1e-9 of the accesses)
        target = total_acc - hw.d_main * t * fill - _EPS * total_acc
        if target <= 0:
            return c, np.zeros(len(tensors.size), dtype=np.int64)
        got = tensors.fewest(t, budget(c), target)
        return None if got is None else (c, got[1])

    # the slowest plan: one copy each, nothing held
    hi = max(float(rows.max()), total_acc / (hw.d_main * fill),
             data.external / (hw.external_bw_bytes * fill))  # fmt: skip
    lo_c = rows / np.maximum(1, (ccap - (mins.sum() - mins)) // mins)
    lo = max(float(lo_c.max()), data.external / (hw.external_bw_bytes * fill),
             total_acc / (hw.d_main * fill + lim.memory * hw.d_cim))  # fmt: skip
    lo = max(lo, hi * 1e-12)
    if feasible(lo) is not None:
        hi = lo
    else:
        while hi > lo * (1 + _TOL):
            mid = math.sqrt(lo * hi)
            if feasible(mid) is None:
                lo = mid
            else:
                hi = mid
    t_star = hi
    # the reload trade-off: T* or a period where some c_i steps down
    vec = vector_cycles(segment_vector_work(workload, start, end), hw)
    weights = np.array(
        [o.weight_bytes / o.min_arrays if o.stationary else 0.0 for o in ops]
    )  # bytes one compute array is programmed with
    top = int(np.max(np.ceil(rows / t_star - _EPS)))
    steps = (rows[:, None] / np.arange(1, top + 1)).ravel()
    cands = np.unique(np.concatenate([[t_star], steps[steps > t_star]]))
    copies = np.maximum(1, np.ceil(rows[:, None] / cands[None, :] - _EPS)).astype(np.int64)
    programmed = weights @ (mins[:, None] * copies)
    est = np.maximum(cands * fill, vec) + np.maximum(
        hw.write_cycles_per_array, programmed / hw.external_bw_bytes
    )
    best = est.min()
    for k in np.nonzero(est <= best * (1.0 + 1e-12))[0][::-1]:  # ties: fewer arrays
        got = feasible(float(cands[k]))
        if got is not None:
            c, held = got
            break
    else:  # cannot happen: every candidate is >= T*, and feasibility is monotone
        raise AssertionError("strict solver: no feasible candidate period")
    mem_out = np.zeros(len(ops), dtype=np.int64)
    for t, h in zip(data.tensors, held, strict=True):
        mem_out[t.producer] += int(h)
    allocs = tuple(OpAlloc(int(ci), 0, int(mo)) for ci, mo in zip(c, mem_out, strict=True))
    return allocs, t_star
