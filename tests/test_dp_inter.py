"""The segmentation DP where the inter-segment costs decide the answer.

Chips with large, asymmetric switch latencies, 1 byte per cycle of external
bandwidth (so memory mode pays and write-backs are expensive) and fan-out
edges. The reference enumerates every segmentation and every combination of
the segment solver's candidate plans and costs each whole plan with
:func:`evaluate` (no DP, no pruning): the DP policies must equal it exactly
(``cmswitch`` without duplication, ``all-compute-dp``, ``static``), in both
cost models. A meta-test checks that the instances really exercise the inter
costs: on many of them the plan that is best by local costs alone loses.

Then the pruning bounds of the DP are checked directly as bounds: the lower
bound on a segment's local cost against every solved segment and mode, and
the bound on the inter cost leaving a plan against every transition."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import cmswitch.schedule.policies as policies
from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule import CostOptions, Schedule, evaluate, schedule
from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, AllocMode, SegmentSolver
from cmswitch.workload import Workload

BASE = Hardware.preset("dynaplasia")


def chip(rng: random.Random) -> Hardware:
    # 32 x 32 one-bit arrays: 128 bytes, 4 weights per row, 16 MAC/cycle;
    # D_main = 1 + 8/8 = 2 B/cycle, d_cim = 4 B/cycle per memory array
    return dataclasses.replace(
        BASE,
        arrays=rng.choice([8, 10, 12]),
        rows=32,
        cols=32,
        buffer_bytes=rng.choice([0, 64, 256]),
        internal_bw_bits=8,
        external_bw_bytes=1,
        switch_m2c_cycles=rng.choice([1, 150, 700]),
        switch_c2m_cycles=rng.choice([1, 90, 400]),
        write_cycles_per_row=rng.choice([1, 4]),
    )


def instance(seed: int) -> tuple[Workload, CostOptions]:
    rng = random.Random(seed)
    hw = chip(rng)
    n = rng.randint(3, 5)
    while True:
        shapes = [
            MatmulShape(rng.randint(8, 256), rng.randint(1, 64), rng.randint(1, 12))
            for _ in range(n)
        ]
        if all(hw.min_arrays(s.n, s.k) <= hw.arrays // 2 for s in shapes):
            break
    edges = {  # a chain plus fan-out edges (a producer read by several later ops)
        (p, c): float(shapes[p].output_elems * hw.act_bytes)
        for c in range(1, n)
        for p in range(c)
        if p == c - 1 or rng.random() < 0.4
    }
    vec = [rng.choice([0, 300]) for _ in range(n)]
    wl = Workload.from_ops(hw, shapes, edges, vec)
    model = rng.choice(["paper", "strict"])
    ai = rng.choice(["roofline", "input"])  # drawn either way: same instances
    opts = CostOptions(
        model=model,  # type: ignore[arg-type]
        ai=ai if model == "paper" else "streamed",  # type: ignore[arg-type]
    )
    return wl, opts


def segmentations(n: int) -> Iterator[list[tuple[int, int]]]:
    for cuts in itertools.product([False, True], repeat=n - 1):
        segs, start = [], 0
        for i, cut in enumerate(cuts):
            if cut:
                segs.append((start, i))
                start = i + 1
        segs.append((start, n - 1))
        yield segs


def static_mode(hw: Hardware, fraction: float) -> AllocMode:
    c = math.floor(fraction * hw.arrays)
    return AllocMode(True, c, hw.arrays - c)


def brute_force(wl: Workload, modes: list[AllocMode], opts: CostOptions) -> list[Schedule]:
    """Every plan made of the solver's candidates, costed by `evaluate`."""
    solver = SegmentSolver(wl, opts)
    plans: list[Schedule] = []
    for segs in segmentations(len(wl)):
        options = []
        for i, j in segs:
            sols = [s for m in modes if (s := solver.solve(i, j, m)) is not None]
            options.append(
                [(i, j, s.allocs, tuple((p + i, c + i, k) for p, c, k in s.shared)) for s in sols]
            )
        if any(not o for o in options):
            continue
        plans += [evaluate(wl, list(plan), opts) for plan in itertools.product(*options)]
    return plans


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_dp_policies_equal_brute_force_with_inter_costs(seed: int) -> None:
    wl, opts = instance(seed)
    hw = wl.hardware
    static = static_mode(hw, 0.5)
    cases: list[tuple[str, list[AllocMode]]] = [
        ("cmswitch", [DUAL, ALL_COMPUTE, static]),
        ("all-compute-dp", [ALL_COMPUTE]),
        ("static", [static]),
    ]
    for policy, modes in cases:
        plans = brute_force(wl, modes, opts)
        best = min(p.latency_cycles for p in plans)
        got = schedule(wl, policy, opts, compute_fraction=0.5, duplicate_weights=False)
        assert got.latency_cycles == pytest.approx(best, rel=1e-9), policy
        # what the DP reports is what its plan costs
        again = evaluate(wl, got.segments, opts)
        assert again.latency_cycles == pytest.approx(got.latency_cycles, rel=1e-12), policy
    # duplication only ever helps
    dup = schedule(wl, "cmswitch", opts, compute_fraction=0.5, duplicate_weights=True)
    plans = brute_force(wl, [DUAL, ALL_COMPUTE, static], opts)
    assert dup.latency_cycles <= min(p.latency_cycles for p in plans) * (1 + 1e-9)


def test_instances_exercise_switch_and_writeback() -> None:
    """Without inter costs the best plan would often be another one: the
    instances above are ones where the DP's inter term matters."""
    decided_by_inter = 0
    with_switch = with_writeback = 0
    for seed in SEEDS:
        wl, opts = instance(seed)
        plans = brute_force(wl, [DUAL, ALL_COMPUTE, static_mode(wl.hardware, 0.5)], opts)
        best = min(plans, key=lambda p: p.latency_cycles)
        local_only = min(
            plans,
            key=lambda p: p.latency_cycles - p.breakdown()["switch"] - p.breakdown()["writeback"],
        )
        if local_only.latency_cycles > best.latency_cycles * (1 + 1e-9):
            decided_by_inter += 1
        with_switch += any(p.breakdown()["switch"] > 0 for p in plans)
        with_writeback += any(p.breakdown()["writeback"] > 0 for p in plans)
    assert decided_by_inter >= 5
    assert with_switch >= 20 and with_writeback >= 20


# ------------------------------------------------------------ pruning bounds
Captured = dict[str, Callable[..., Any]]


def captured_oracles(monkeypatch: pytest.MonkeyPatch) -> list[Captured]:
    """Records the oracles `_dp` hands to `segment_dp` (then runs it)."""
    calls: list[Captured] = []
    real = policies.segment_dp

    def spy(n, candidates, inter, max_len=None, lower=None, max_out=None):  # type: ignore[no-untyped-def]
        calls.append(
            {"candidates": candidates, "inter": inter, "max_len": max_len, "lower": lower,
             "max_out": max_out}
        )  # fmt: skip
        return real(n, candidates, inter, max_len, lower, max_out)

    monkeypatch.setattr(policies, "segment_dp", spy)
    return calls


@pytest.mark.parametrize("seed", range(24))
def test_pruning_bounds_are_bounds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    wl, opts = instance(seed)
    hw, n = wl.hardware, len(wl)
    calls = captured_oracles(monkeypatch)
    schedule(wl, "cmswitch", opts, compute_fraction=0.5, duplicate_weights=False)
    (oracle,) = calls
    lower, max_out, inter = oracle["lower"], oracle["max_out"], oracle["inter"]
    assert lower is not None and max_out is not None
    solver = SegmentSolver(wl, opts)
    modes = [DUAL, ALL_COMPUTE, static_mode(hw, 0.5)]
    keys: dict[int, list[tuple[int, int, int]]] = {}  # plans by start
    ends: dict[int, list[tuple[int, int, int]]] = {}
    checked = 0
    for i in range(n):
        for j in range(i, n):
            for m in modes:
                s = solver.solve(i, j, m)
                if s is not None:
                    assert lower(i, j) <= s.local, (i, j, m)
                    checked += 1
            costs = oracle["candidates"](i, j)  # the DP's own candidates (fills its table)
            for a in range(len(costs)):
                keys.setdefault(i, []).append((i, j, a))
                ends.setdefault(j, []).append((i, j, a))
    assert checked > 0
    transitions = 0
    for j, prevs in ends.items():
        for prev in prevs:
            bound = max_out(prev)
            for key in keys.get(j + 1, []):
                assert inter(prev, key) <= bound * (1 + 1e-12), (prev, key)
                transitions += 1
    assert transitions > 0


def test_full_swap_inter_cost_by_hand() -> None:
    """Hand-made: a segment with 7 memory arrays followed by one that needs
    the whole chip in compute mode switches all 7 (m->c) and writes back
    what they held of the live output."""
    hw = dataclasses.replace(
        BASE, arrays=8, rows=32, cols=32, buffer_bytes=0, internal_bw_bits=8,
        external_bw_bytes=1, switch_m2c_cycles=100, switch_c2m_cycles=7,
    )  # fmt: skip
    # op0 streams a lot (bandwidth bound, wants memory arrays); op1 needs 8 arrays
    wl = Workload.from_ops(hw, [MatmulShape(256, 8, 4), MatmulShape(64, 64, 16)])
    assert wl.ops[1].min_arrays == 8
    # op0: 1 compute + 7 memory arrays, then op1: 8 compute arrays
    plan = [(0, 0, (policies.OpAlloc(1, 3, 4),), ()), (1, 1, (policies.OpAlloc(8),), ())]
    got = evaluate(wl, plan, CostOptions(model="paper", ai="roofline"))
    seg = got.segments[1]
    assert seg.switch_cycles == 7 * 100  # 7 memory arrays become compute
    # op0's output is 256 x 4 one-byte values = 1024 bytes, needed by op1;
    # the 7 arrays given up held at most 7 x 128 = 896 of them: 896 cycles at 1 B/cycle
    assert seg.writeback_cycles == 896


def test_lower_bound_is_exact_where_the_allocation_is_forced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two chained compute-bound operators whose minimum arrays fill the chip
    (1 + 7 of 8): the only allocation is the minimum, so the DP's lower
    bound, T_lb (1 + F) + W max_l c_l, must equal the segment's cost. Here
    T = op0's 4096 MACs on 1 array of 16 MAC/cycle = 256 (op1: 1792 on 7
    arrays, 16); F = 1 / M0 = 1/64; W = 32 cycles per array, 7 arrays."""
    hw = dataclasses.replace(
        BASE, arrays=8, rows=32, cols=32, buffer_bytes=4096, internal_bw_bits=8,
        external_bw_bytes=4096,
    )  # fmt: skip
    wl = Workload.from_ops(hw, [MatmulShape(64, 16, 4), MatmulShape(2, 32, 28)])
    assert [o.min_arrays for o in wl.ops] == [1, 7]
    opts = CostOptions(model="paper", ai="input")
    calls = captured_oracles(monkeypatch)
    got = schedule(wl, "all-compute-dp", opts, duplicate_weights=False)
    lower = calls[0]["lower"]
    seg = SegmentSolver(wl, opts).solve(0, 1, ALL_COMPUTE)
    assert seg is not None and [a.compute for a in seg.allocs] == [1, 7]
    expect = 4096 / 16 * (1 + 1 / 64) + 7 * 32
    assert seg.local == pytest.approx(expect, rel=1e-12)
    assert lower(0, 1) == pytest.approx(expect, rel=1e-6)
    assert got.latency_cycles <= expect  # (two segments do better here)
