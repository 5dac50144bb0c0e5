"""Tests written for mutants of ``cmswitch/schedule/`` that survived the
suite (``benchmarks/mutation.py``; docs/TESTING.md "Mutation testing").
Each names the mutant it kills; each was checked to fail on it."""

from __future__ import annotations

import os

import pytest

from cmswitch.schedule.allocate import quiet_fd1


def test_quiet_fd1_restores_stdout_and_leaves_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """HiGHS's banner goes to /dev/null, and afterwards fd 1 is stdout again
    and fd 2 still stderr (mutant ``allocate.py:152`` ``dup2(saved, 2)``)."""
    with quiet_fd1():
        os.write(1, b"banner\n")
    os.write(1, b"out\n")
    os.write(2, b"err\n")
    got = capfd.readouterr()
    assert got.out == "out\n"
    assert got.err == "err\n"


def test_workload_index_cache_is_bounded() -> None:
    """The per-workload tables of the cost model are memoised for a few
    workloads at a time: at most 9 are held, however many are costed
    (mutant ``cost.py:359`` ``len(_INDEX) > 9``: 10 held)."""
    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import cost
    from cmswitch.workload import Workload
    from tests.test_allocate import tiny

    hw = tiny(8)
    workloads = [Workload.from_ops(hw, [MatmulShape(8, 32, 4)] * (k + 1)) for k in range(12)]
    sizes = []
    for k, wl in enumerate(workloads):
        assert cost.segment_vector_work(wl, 0, k) == sum(o.vector_work for o in wl.ops)
        sizes.append(len(cost._INDEX))
    assert max(sizes) == 9
    assert cost._index(workloads[-1]) is cost._index(workloads[-1])  # the latest is kept


@pytest.mark.parametrize("seed", [6, 7])
def test_paper_mip_fallback_reports_the_mip_gap(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paper model, matching bounds undecided (the weakest lower bound, 0):
    the leanest allocation comes from a MIP, here stopped by a one-node
    limit with an open gap. The segment must report that gap (the worst
    any of its MIPs had, counted by the MIP runner), not 0 (mutant
    ``allocate.py:354`` ``gap = min(gap, raw.gap)``)."""
    import random

    from cmswitch.schedule import CostOptions, closed_form
    from cmswitch.schedule.allocate import DUAL, SegmentSolver
    from tests.test_allocate import random_workload, tiny

    real = closed_form.b_matching

    def weakest(budgets, edges):  # type: ignore[no-untyped-def]
        m = real(budgets, edges)
        return closed_form.Matching(0, m.upper, (0,) * len(edges))

    monkeypatch.setattr(closed_form, "b_matching", weakest)
    wl = random_workload(random.Random(seed), tiny(60), 10)
    solver = SegmentSolver(wl, CostOptions(model="paper", ai="roofline"), node_limit=1)
    got = solver.solve(0, len(wl) - 1, DUAL)
    assert got is not None
    assert solver.mips_solved == 2  # the decided T*, then the lean MIP
    assert 0.0 < solver.worst_gap < 1.0
    assert got.gap == solver.worst_gap


def test_strict_lower_bound_counts_the_data_when_no_array_is_free() -> None:
    """Strict model, two chained operators whose minimum arrays fill the chip
    (2 + 6 of 8, 32 x 32 arrays): no array is left to hold data, so every
    access crosses the 2 B/cycle channel + bus (1 B/cycle external + 8
    bits): op 0's input 64 x 8 = 512 (an argument), its output 512 written
    and read by op 1 as 2 x 32 = 64, op 1's output 2 x 24 = 48: (512 + 512 +
    64 + 48) / 2 = 568 cycles over the whole pipeline, above 64 rows x 8
    bits x (1 + 1/64) = 520 of compute; the 8 x 8 + 32 x 24 = 832 weight
    bytes programmed at 1 B/cycle: 568 + 832, and the DP's lower bound must
    be exactly that (mutant ``policies.py`` ``max(1, others)``: a memory
    array's port that is not there, a bound of 520 + 832)."""
    import dataclasses

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import CostOptions, policies
    from cmswitch.schedule.allocate import SegmentSolver
    from cmswitch.workload import Workload
    from tests.test_dp_inter import BASE

    hw = dataclasses.replace(
        BASE, arrays=8, rows=32, cols=32, buffer_bytes=16, internal_bw_bits=8,
        external_bw_bytes=1,
    )  # fmt: skip
    wl = Workload.from_ops(hw, [MatmulShape(64, 8, 8), MatmulShape(2, 32, 24)])
    assert [o.min_arrays for o in wl.ops] == [2, 6]
    opts = CostOptions(model="strict")
    seg = SegmentSolver(wl, opts).solve(0, 1)
    expect = (512 + 512 + 64 + 48) / 2 + 832
    assert seg is not None and [a.compute for a in seg.allocs] == [2, 6]
    assert seg.local == pytest.approx(expect, rel=1e-12)
    assert policies._lower_bound(wl, opts)(0, 1) == pytest.approx(expect, rel=1e-7)


def test_duplicate_adds_no_copy_that_gains_nothing() -> None:
    """Two identical operators of different layers set the period together
    (M = 512, N = 32, K = 4: 65 536 MACs, 1 array, 4096 cycles) beside a
    small one needing 2 arrays (N = 32, K = 8), on 5 arrays: one array is
    free, too few for the joint move. A copy of either alone leaves the
    period at 4096 and the reload at 32 x 2 (the small operator's layer):
    4096 + 64 = 4160 either way, so no copy is made (mutant
    ``policies.py:269`` ``c < base (1 + 1e-12)``: a tie accepted, [2, 1, 2])."""
    import dataclasses

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import OpAlloc, duplicate, evaluate
    from cmswitch.workload import Workload
    from tests.test_duplicate import CHIP, PAPER_INPUT

    hw = dataclasses.replace(CHIP, arrays=5)
    shape = MatmulShape(512, 32, 4)
    wl = Workload.from_ops(hw, [shape, shape, MatmulShape(1, 32, 8)], edges={})
    assert [o.min_arrays for o in wl.ops] == [1, 1, 2]
    base = evaluate(wl, [(0, 2, (OpAlloc(1), OpAlloc(1), OpAlloc(2)), ())], PAPER_INPUT)
    assert base.latency_cycles == pytest.approx(4096 + 64, rel=1e-12)
    got = duplicate(wl, base, PAPER_INPUT)
    assert [a.compute for a in got.segments[0].allocs] == [1, 1, 2]
    assert got.latency_cycles == pytest.approx(4096 + 64, rel=1e-12)


def test_b_matching_decides_a_triangle_by_hand() -> None:
    """Budgets 1, 1, 3 on a triangle (caps 2, 3, 3): operators 0 and 1 can
    each share their one array with operator 2, and no more (5 arrays in
    all: at most 2 pairs), so the maximum is 2. The rounded flow must find
    it, lower = upper = 2, deciding T* without a MIP (mutant
    ``closed_form.py:84`` ``flow(a) - flow(b)``: lower 1, undecided)."""
    from cmswitch.schedule import closed_form

    m = closed_form.b_matching([1, 1, 3], ((0, 1, 2), (1, 2, 3), (0, 2, 3)))
    assert (m.lower, m.upper) == (2, 2)
    assert sum(m.share) == 2 and m.share[0] == 0  # 0-1 would block 2


def test_op_latency_without_compute_or_bandwidth_is_infinite() -> None:
    """Eq. 10 with a rate of 0 (no compute array, or no bandwidth share and
    no memory array) never finishes: infinite, not a division error
    (mutant ``cost.py:145`` ``rate >= 0``)."""
    import math

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import CostOptions
    from cmswitch.schedule.cost import op_latency
    from cmswitch.workload import Workload
    from tests.test_allocate import tiny

    hw = tiny(8)
    op = Workload.from_ops(hw, [MatmulShape(8, 32, 4)]).ops[0]
    opts = CostOptions(model="paper", ai="roofline")
    assert op_latency(op, 0, 0, hw, opts) == math.inf
    assert op_latency(op, 1, 0, hw, opts, d_main_share=0.0) == math.inf
    assert op_latency(op, 1, 0, hw, opts) == pytest.approx(
        op.macs / min(hw.op_cim, hw.d_main * op.ai("roofline")), rel=1e-12
    )


def test_strict_lower_bound_counts_the_shared_channel() -> None:
    """Strict model, a forced allocation (1 + 7 of 8 arrays) behind a 2
    B/cycle main-memory channel (1 B/cycle external + 8 bits internal): the
    operators read and write 64 x 16 + 64 x 4 + 2 x 32 + 2 x 28 = 1400
    bytes through it (700 cycles), but op 0's input, 1024 bytes of a
    function argument, comes over the 1 B/cycle external channel alone:
    1024 cycles over the whole pipeline, above 64 rows x 8 bits x (1 +
    1/64) = 520 of compute. With the 16 x 4 + 32 x 28 = 960 weight bytes
    programmed at 1 B/cycle the segment costs 1024 + 960, and the DP's
    lower bound must be exactly that (mutant: the external term dropped, a
    bound of 700 + 960)."""
    import dataclasses

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import CostOptions, policies
    from cmswitch.schedule.allocate import ALL_COMPUTE, SegmentSolver
    from cmswitch.workload import Workload
    from tests.test_dp_inter import BASE

    hw = dataclasses.replace(
        BASE, arrays=8, rows=32, cols=32, buffer_bytes=4096, internal_bw_bits=8,
        external_bw_bytes=1,
    )  # fmt: skip
    assert hw.d_main == 2
    wl = Workload.from_ops(hw, [MatmulShape(64, 16, 4), MatmulShape(2, 32, 28)])
    opts = CostOptions(model="strict")
    seg = SegmentSolver(wl, opts).solve(0, 1, ALL_COMPUTE)
    expect = 1024 + 960
    assert seg is not None and [a.compute for a in seg.allocs] == [1, 7]
    assert seg.local == pytest.approx(expect, rel=1e-12)
    assert policies._lower_bound(wl, opts)(0, 1) == pytest.approx(expect, rel=1e-7)


def test_schedule_json_without_a_workload_names_operators_by_index() -> None:
    """A schedule without its workload names its operators op<i> in the
    JSON, one name per allocation (mutant ``plan.py:127`` ``s.end + 2``: one
    name too many, the strict zip fails)."""
    import dataclasses

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import OpAlloc, evaluate
    from cmswitch.workload import Workload
    from tests.test_duplicate import CHIP, PAPER_INPUT

    wl = Workload.from_ops(CHIP, [MatmulShape(8, 32, 4)] * 3)
    plan = [(0, 1, (OpAlloc(1), OpAlloc(1)), ()), (2, 2, (OpAlloc(2),), ())]
    got = dataclasses.replace(evaluate(wl, plan, PAPER_INPUT), workload=None).to_json()
    assert [s["ops"] for s in got["segments"]] == [["op0", "op1"], ["op2"]]
    assert [[a["op"] for a in s["allocs"]] for s in got["segments"]] == [["op0", "op1"], ["op2"]]


def test_leading_vector_work_is_charged_to_the_first_segment() -> None:
    """Vector work before the first CIM operator (400 elements here) costs
    400 / vector_elems_per_cycle cycles, added to the first segment only
    (paper model: in series with the arrays) (mutant ``policies.py:193``
    ``vec -= ...``: subtracted)."""
    import dataclasses

    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import OpAlloc, evaluate
    from cmswitch.workload import Workload
    from tests.test_duplicate import CHIP, PAPER_INPUT

    wl = Workload.from_ops(CHIP, [MatmulShape(8, 32, 4)] * 2)
    plan = [(0, 0, (OpAlloc(1),), ()), (1, 1, (OpAlloc(1),), ())]
    base = evaluate(wl, plan, PAPER_INPUT)
    got = evaluate(dataclasses.replace(wl, leading_vector_work=400), plan, PAPER_INPUT)
    extra = 400 / CHIP.vector_elems_per_cycle
    assert got.segments[0].vector_cycles == pytest.approx(base.segments[0].vector_cycles + extra)
    assert got.segments[1].vector_cycles == base.segments[1].vector_cycles
    assert got.latency_cycles == pytest.approx(base.latency_cycles + extra, rel=1e-12)


@pytest.mark.parametrize("seed", [6, 7])
def test_shared_edges_list_only_arrays_actually_shared(seed: int) -> None:
    """A plan's ``shared`` lists the edges whose producer and consumer share
    arrays, each with a positive count: edges the MIP gave nothing are not
    listed (mutant ``allocate.py:770`` ``>= 0``: every edge, most with 0).
    Checked for the MIP of both cost models on 4 operators, 12 arrays."""
    import random

    from cmswitch.schedule import CostOptions
    from cmswitch.schedule.allocate import DUAL, SegmentSolver
    from tests.test_allocate import random_workload, tiny

    wl = random_workload(random.Random(seed), tiny(12), 4)
    for opts, closed in ((CostOptions(model="paper", ai="input"), False),
                         (CostOptions(model="strict"), True)):  # fmt: skip
        sol = SegmentSolver(wl, opts, closed_form=closed).solve(0, 3, DUAL)
        assert sol is not None
        assert all(k > 0 for *_, k in sol.shared), sol.shared
        assert all((p, c) in wl.edges for p, c, _ in sol.shared)


def test_stationary_weight_bytes_skip_run_time_operands() -> None:
    """Only stationary weights are programmed from main memory: a 32 x 4
    weight (128 bytes at 8 bits) counts, a matmul between run-time tensors
    (Q K^T) adds nothing (mutant ``cost.py:343`` ``else 1.0``: one byte)."""
    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule.cost import stationary_weight_bytes
    from cmswitch.workload import Workload
    from tests.test_allocate import tiny

    hw = tiny(8)
    assert hw.weight_bytes == 1
    shapes = [MatmulShape(8, 32, 4), MatmulShape(8, 32, 4, stationary=False)] * 2
    wl = Workload.from_ops(hw, shapes)
    assert stationary_weight_bytes(wl, 0, 3) == 2 * 32 * 4
    assert stationary_weight_bytes(wl, 1, 1) == 0
    assert stationary_weight_bytes(wl, 1, 2) == 32 * 4


def test_mip_cap_below_an_operators_minimum_is_infeasible() -> None:
    """The segment MIP's compute cap below an operator's minimum arrays (2
    for a 32 x 8 weight of 4 per row) has no solution, whatever the cap
    before it (mutant ``allocate.py:709``: the flag not set, the previous
    bounds kept and a plan with 2 arrays returned under a cap of 1)."""
    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import CostOptions
    from cmswitch.schedule.allocate import ALL_COMPUTE, SegmentSolver
    from cmswitch.workload import Workload
    from tests.test_allocate import tiny

    wl = Workload.from_ops(tiny(8), [MatmulShape(8, 32, 8)])
    assert wl.ops[0].min_arrays == 2
    solver = SegmentSolver(wl, CostOptions(model="paper", ai="roofline"), closed_form=False)
    model = solver._mip(0, 0, ALL_COMPUTE, 8, None)
    model.set_cap(3)
    got = model.run()
    assert got is not None and got.allocs[0].compute <= 3
    model.set_cap(1)
    assert model.run() is None
    model.set_cap(2)
    got = model.run()
    assert got is not None and got.allocs[0].compute == 2


def test_dp_considers_longer_reach_from_further_back() -> None:
    """``max_len`` bounds each start separately and need not be monotone:
    here O_1 may only stand alone, but a segment from O_0 may span all
    three. The one-segment plan (cost 1) beats three singletons (10 each)
    and must be found although the start just before (O_1) cannot reach O_2
    (mutant ``segment.py:86`` ``break``: the scan stops at O_1)."""
    from cmswitch.schedule.segment import segment_dp

    lens = {0: 3, 1: 1, 2: 1}

    def candidates(i: int, j: int) -> list[float]:
        if (i, j) == (0, 2):
            return [1.0]
        return [10.0] if i == j else []

    got = segment_dp(3, candidates, lambda prev, key: 0.0, lambda i: lens[i])
    assert got.path == ((0, 2, 0),) and got.cost == 1.0


def test_all_compute_reuses_a_dual_optimum_without_memory() -> None:
    """A compute-bound operator (AI = K >= 4 on this chip): its dual-mode
    optimum holds no memory array, so it is also the all-compute optimum and
    asking for that mode solves nothing more (mutant ``allocate.py:287``
    ``m >= 0``: every dual optimum refused, the segment solved again)."""
    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, SegmentSolver
    from cmswitch.workload import Workload
    from tests.test_duplicate import CHIP, PAPER_INPUT

    wl = Workload.from_ops(CHIP, [MatmulShape(512, 32, 4)])
    solver = SegmentSolver(wl, PAPER_INPUT)
    dual = solver.solve(0, 0, DUAL)
    assert dual is not None and dual.memory_arrays == 0 and dual.gap == 0.0
    work = (solver.mips_solved, solver.closed_form_solved)
    assert solver.solve(0, 0, ALL_COMPUTE) == dual
    assert (solver.mips_solved, solver.closed_form_solved) == work
