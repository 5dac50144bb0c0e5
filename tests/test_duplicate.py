"""Weight duplication and the greedy CIM-MLC baseline against references
that do not use their code: brute force over copy counts, and hand-computed
plans.

Brute force: every vector of compute-array counts ``c_i >= a_i`` (the plan's
allocation) that fits the chip, in every segment at once, costed by
:func:`evaluate`. The instances are compute-bound segments whose period is
set by one operator or by identical operators of different layers, with
memory arrays from a dual-mode plan around them: then the cost of a segment
is convex in its (common) copy count and the switches couple neighbouring
segments only through each segment's own compute arrays, so the greedy
duplication must reach the brute-force optimum exactly. It needs both the
joint move (tied operators) and the switch cost into the next segment to
get there."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule import CostOptions, OpAlloc, duplicate, evaluate, schedule
from cmswitch.workload import Workload

PAPER_INPUT = CostOptions(model="paper", ai="input")
# 32 x 32 one-bit arrays: 4 weights per row, OP_cim = 16 MAC/cycle, W = 32
# cycles per array; D_main = 64 + 1 = 65 B/cycle, so with AI = K >= 4 every
# operator here is compute bound (65 * 4 > 16 * 8 arrays).
CHIP = dataclasses.replace(
    Hardware.preset("dynaplasia"),
    arrays=8,
    rows=32,
    cols=32,
    buffer_bytes=64,
    internal_bw_bits=8,
    external_bw_bytes=64,
    write_cycles_per_row=1,
)


def brute_force(wl: Workload, plan: list[tuple[int, int, tuple[OpAlloc, ...]]]) -> float:
    hw = wl.hardware
    per_segment = []
    for _, _, allocs in plan:
        used = sum(a.compute + a.memory for a in allocs)
        free = hw.arrays - used
        choices = [
            tuple(
                OpAlloc(a.compute + d, a.mem_in, a.mem_out)
                for a, d in zip(allocs, extra, strict=True)
            )
            for extra in itertools.product(range(free + 1), repeat=len(allocs))
            if sum(extra) <= free
        ]
        per_segment.append(choices)
    best = math.inf
    for combo in itertools.product(*per_segment):
        items = [(s, e, allocs, ()) for (s, e, _), allocs in zip(plan, combo, strict=True)]
        best = min(best, evaluate(wl, items, PAPER_INPUT).latency_cycles)
    return best


def structured(seed: int) -> tuple[Workload, list[tuple[int, int, tuple[OpAlloc, ...]]]]:
    """2-3 segments; each has one big operator or two identical big ones and
    at most one small operator that never sets the period; some segments
    hold memory arrays (input buffers) as a dual-mode plan would."""
    rng = random.Random(seed)
    hw = dataclasses.replace(
        CHIP,
        switch_m2c_cycles=rng.choice([1, 40, 300]),
        switch_c2m_cycles=rng.choice([1, 60, 500]),
        write_cycles_per_row=rng.choice([1, 2]),
    )
    shapes: list[MatmulShape] = []
    plan: list[tuple[int, int, tuple[OpAlloc, ...]]] = []
    for _ in range(rng.randint(2, 3)):
        start = len(shapes)
        big = MatmulShape(rng.randint(64, 900), rng.randint(1, 32), rng.choice([4, 8]))
        seg = [big] * rng.choice([1, 2])
        if rng.random() < 0.5:  # a small op: M * N * K * 8 arrays < the big op's MACs
            seg.append(MatmulShape(1, rng.randint(1, 8), 4))
        shapes += seg
        allocs = [OpAlloc(hw.min_arrays(s.n, s.k)) for s in seg]
        mins = sum(a.compute for a in allocs)
        memory = rng.randint(0, max(0, hw.arrays - mins - 1))
        allocs[0] = OpAlloc(allocs[0].compute, memory, 0)
        plan.append((start, len(shapes) - 1, tuple(allocs)))
    wl = Workload.from_ops(hw, shapes)
    for s in shapes:  # the small op never sets the period, even at 1 array
        if s.m == 1:
            assert all(s.macs * hw.arrays < b.macs for b in shapes if b.m > 1)
    return wl, plan


@pytest.mark.parametrize("seed", range(40))
def test_duplicate_equals_brute_force_over_copy_counts(seed: int) -> None:
    wl, plan = structured(seed)
    base = evaluate(wl, [(s, e, a, ()) for s, e, a in plan], PAPER_INPUT)
    got = duplicate(wl, base, PAPER_INPUT)
    assert got.latency_cycles == pytest.approx(brute_force(wl, plan), rel=1e-12)
    assert got.latency_cycles <= base.latency_cycles
    # duplication only adds compute arrays; memory and segments are kept
    for old, new in zip(base.segments, got.segments, strict=True):
        assert (old.start, old.end, old.memory_arrays) == (new.start, new.end, new.memory_arrays)
        assert all(b.compute >= a.compute for a, b in zip(old.allocs, new.allocs, strict=True))


def test_joint_move_for_tied_operators() -> None:
    """Two identical operators of different layers set the period together:
    a copy of one alone changes nothing, a copy of both pays.

    Each: M = 512, N = 32, K = 4 -> 65 536 MACs, 1 array (32 rows, 4
    weights per row), 4096 cycles per array. Segment of both, 1 + 1 arrays:
    period 4096, fill 0 (independent), reload 32: 4128. With c = 2 for
    both: 2048 + 64 = 2112; c = 3: 1365.3 + 96 = 1461.3; c = 4 (all 8
    arrays): 1024 + 128 = 1152."""
    shape = MatmulShape(512, 32, 4)
    wl = Workload.from_ops(CHIP, [shape, shape], edges={})
    base = evaluate(wl, [(0, 1, (OpAlloc(1), OpAlloc(1)), ())], PAPER_INPUT)
    assert base.latency_cycles == pytest.approx(4096 + 32)
    got = duplicate(wl, base, PAPER_INPUT)
    assert [a.compute for a in got.segments[0].allocs] == [4, 4]
    assert got.latency_cycles == pytest.approx(1024 + 128)


def test_duplication_weighs_the_switch_into_the_next_segment() -> None:
    """Segment 0: one compute-bound operator; segment 1 holds 6 memory
    arrays and 1 compute array. Each compute array of segment 0 beyond
    8 - 6 = 2 is switched to memory mode before segment 1, 500 cycles each.

    op0: M = 512, N = 32, K = 4: 65 536 MACs, 4096 / c cycles with c
    arrays, reload 32 c. Segment 0 plus that switch: c = 2: 2048 + 64 =
    2112; c = 3: 1365.3 + 96 + 500 = 1961.3; c = 4: 1024 + 128 + 1000 =
    2152. Ignoring the switch, copies would pay up to c = 8 (768)."""
    hw = dataclasses.replace(CHIP, switch_c2m_cycles=500, switch_m2c_cycles=1)
    shapes = [MatmulShape(512, 32, 4), MatmulShape(1, 4, 4)]
    wl = Workload.from_ops(hw, shapes)
    plan = [(0, 0, (OpAlloc(1),), ()), (1, 1, (OpAlloc(1, 6, 0),), ())]
    base = evaluate(wl, plan, PAPER_INPUT)
    got = duplicate(wl, base, PAPER_INPUT)
    assert got.segments[0].allocs[0].compute == 3
    assert got.segments[1].switch_cycles == 500  # 3 + 6 - 8 arrays switched
    expect = (65536 / (3 * 16) + 3 * 32) + 500 + (16 / 16 + 32)  # op1: 16 MACs, 1 array
    assert got.latency_cycles == pytest.approx(expect)


# ------------------------------------------------------------------- cim-mlc
def test_cim_mlc_fills_the_chip_exactly() -> None:
    """Five operators of exactly 24 arrays each on DynaPlasia's 96 arrays
    (N = 640 rows over 320, K = 480 over 40 weights per row: 2 x 12): the
    first four fill the chip exactly and form one segment."""
    hw = Hardware.preset("dynaplasia")
    wl = Workload.from_ops(hw, [MatmulShape(64, 640, 480)] * 5)
    assert [o.min_arrays for o in wl.ops] == [24] * 5
    opts = CostOptions(model="paper", ai="roofline")
    got = schedule(wl, "cim-mlc", opts, duplicate_weights=False)
    assert [(s.start, s.end) for s in got.segments] == [(0, 3), (4, 4)]
    assert [s.compute_arrays for s in got.segments] == [96, 24]
    assert all(s.memory_arrays == 0 for s in got.segments)


# The chip of tests/filecheck/passes/cim-duplicate.mlir, where the numbers
# are derived by hand: OP_cim = 4, W = 16, relu 32 / 4 = 8 cycles.
FC_CHIP = Hardware.from_dict(
    {
        **Hardware.preset("dynaplasia").to_dict(),
        "name": "tiny", "arrays": 8, "rows": 16, "cols": 16, "cell_bits": 1,
        "weight_bits": 8, "act_bits": 8, "buffer_bytes": 64, "internal_bw_bits": 32,
        "external_bw_bytes": 16, "switch_c2m_cycles": 1, "switch_m2c_cycles": 1,
        "write_cycles_per_row": 1, "vector_elems_per_cycle": 4,
    }
)  # fmt: skip


def test_cim_mlc_duplicates_left_over_arrays() -> None:
    """fc1 (512 MACs) and fc2 (128 MACs), 2 arrays each, one segment: 112
    cycles at the minimum; a third copy of fc1: 104 (see the FileCheck
    test's comments). CIM-MLC uses its left-over arrays for copies."""
    wl = Workload.from_ops(
        FC_CHIP, [MatmulShape(8, 16, 4), MatmulShape(8, 4, 4)], vector_work=[32, 0]
    )
    opts = CostOptions(model="paper", ai="roofline")
    plain = schedule(wl, "cim-mlc", opts, duplicate_weights=False)
    assert plain.latency_cycles == pytest.approx(112)
    got = schedule(wl, "cim-mlc", opts)
    assert [a.compute for a in got.segments[0].allocs] == [3, 2]
    assert got.latency_cycles == pytest.approx(104)
