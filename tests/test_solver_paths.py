"""Every path of the segment solver runs in a test, each checked against a
reference that does not depend on it:

* a MIP stopped by its work limit with an incumbent (real HiGHS, node limit
  1, on a segment whose root node does not close): the gap is strictly
  between 0 and 1, the allocation is legal, costs what it claims and is no
  better than the exact optimum;
* the matching bounds undecided: any valid bounds (here the weakest lower
  bound, 0) must still give the exact optimum, now through the MIP;
* HiGHS returning NaN in an "optimal" solution (seen with presolve in
  HiGHS 1.x): the model is solved again without presolve;
* the defaults: a node limit, no wall-clock limit, and runs whose results
  are identical."""

from __future__ import annotations

import math
import random
from typing import Any

import highspy
import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.schedule import CostOptions, allocate, closed_form, schedule
from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, NODE_LIMIT, AllocMode, SegmentSolver
from cmswitch.schedule.cost import local_cost
from cmswitch.workload import Workload
from tests.test_allocate import brute_force, random_workload, tiny

STRICT = CostOptions(model="strict")  # streamed, its only intensity
PAPER = CostOptions(model="paper", ai="roofline")


def hard_segment(seed: int) -> Workload:
    """10 operators on 60 arrays: with one branch-and-bound node HiGHS stops
    some of this segment's MIPs with an incumbent and an open gap."""
    return random_workload(random.Random(seed), tiny(60), 10)


def check_legal(wl: Workload, allocs: Any, shared: Any, opts: CostOptions) -> None:
    hw = wl.hardware
    assert all(a.compute >= o.min_arrays for a, o in zip(allocs, wl.ops, strict=True))
    memory = sum(a.memory for a in allocs) - sum(k for *_, k in shared)
    assert sum(a.compute for a in allocs) + memory <= hw.arrays


# seeds whose full-segment MIP stops at one node with an incumbent and an
# open gap (paper model on the MIP solver: strict has no MIP since revision 5)
MIP = PAPER


@pytest.mark.parametrize("seed", [6, 14, 29])
def test_node_limit_keeps_the_incumbent_and_its_gap(seed: int) -> None:
    wl = hard_segment(seed)
    n = len(wl)
    limited = SegmentSolver(wl, MIP, node_limit=1, closed_form=False)
    got = limited.solve(0, n - 1)
    assert limited.time_limited > 0  # the path under test ran
    assert 0.0 < limited.worst_gap < 1.0
    assert got is not None
    check_legal(wl, got.allocs, got.shared, MIP)
    assert got.local == pytest.approx(local_cost(wl, 0, n - 1, got.allocs, MIP), rel=1e-12)
    exact = SegmentSolver(wl, MIP, closed_form=False).solve(0, n - 1)
    assert exact is not None
    assert got.local >= exact.local * (1 - 1e-9)


def test_schedule_reports_the_stopped_mip_and_its_gap() -> None:
    sched = schedule(
        hard_segment(14), "cmswitch", MIP, compute_fraction=0.5, node_limit=1, solver="mip"
    )
    assert sched.stats.time_limited > 0 and 0.0 < sched.stats.worst_gap < 1.0


def test_node_limit_zero_nodes_falls_back_to_fewest_arrays() -> None:
    """Zero nodes: no incumbent at all, the fewest-arrays fallback (gap 1)."""
    wl = hard_segment(14)
    solver = SegmentSolver(wl, MIP, node_limit=0, closed_form=False)
    got = solver.solve(0, len(wl) - 1)
    assert got is not None and got.gap == 1.0
    assert [a.compute for a in got.allocs] == [o.min_arrays for o in wl.ops]
    check_legal(wl, got.allocs, got.shared, MIP)


def test_default_limits_are_work_not_time() -> None:
    solver = SegmentSolver(hard_segment(14), STRICT)
    assert solver.time_limit is None and solver.node_limit == NODE_LIMIT
    h = allocate._new_highs(None, NODE_LIMIT)
    assert h.getOptionValue("mip_max_nodes")[1] == NODE_LIMIT
    assert math.isinf(h.getOptionValue("time_limit")[1])


def test_repeated_runs_are_identical() -> None:
    """Same schedule twice (fresh solvers, paper model, every MIP): with a
    work limit nothing depends on timing."""
    wl = random_workload(random.Random(18), tiny(24), 6)
    a = schedule(wl, "cmswitch", MIP, compute_fraction=0.5, node_limit=50, solver="mip")
    b = schedule(wl, "cmswitch", MIP, compute_fraction=0.5, node_limit=50, solver="mip")
    assert a.segments == b.segments and a.latency_cycles == b.latency_cycles


# ------------------------------------------------------- undecided matching
def test_undecided_matching_uses_the_mip_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    real = closed_form.b_matching

    def weakest(budgets, edges):  # type: ignore[no-untyped-def]
        m = real(budgets, edges)
        return closed_form.Matching(0, m.upper, (0,) * len(edges))

    monkeypatch.setattr(closed_form, "b_matching", weakest)
    undecided = 0
    for seed in range(30):
        rng = random.Random(500 + seed)
        n, arrays = rng.choice([(2, 8), (3, 6), (3, 7)])
        hw = tiny(arrays, write_row=rng.choice([1, 20]))
        wl = random_workload(rng, hw, n)
        opts = CostOptions(model="paper", ai=rng.choice(["roofline", "input"]))  # type: ignore[arg-type]
        c_static = rng.randint(max(o.min_arrays for o in wl.ops), arrays)
        solver = SegmentSolver(wl, opts)
        for mode in (DUAL, ALL_COMPUTE, AllocMode(True, c_static, arrays - c_static)):
            before = solver.mips_solved
            got = solver.solve(0, n - 1, mode)
            expect = brute_force(wl, mode, opts)
            if math.isinf(expect):
                assert got is None, (seed, mode)
                continue
            assert got is not None, (seed, mode)
            assert got.local == pytest.approx(expect, rel=1e-6), (seed, mode)
            check_legal(wl, got.allocs, got.shared, opts)
            undecided += solver.mips_solved > before
            # and as lean as the MIP's own leanest allocation at that cost
            lean = SegmentSolver(wl, opts, closed_form=False).solve(0, n - 1, mode)
            assert lean is not None
            used = got.compute_arrays + got.memory_arrays
            assert used <= lean.compute_arrays + lean.memory_arrays, (seed, mode)
    assert undecided >= 5  # the MIP branch of the paper model really ran


# ------------------------------------------------------------ NaN and retry
class _NanOnce:
    """A Highs whose first solution read has a NaN column (the HiGHS 1.x
    presolve bug); records the presolve settings of each run."""

    def __init__(self, h: highspy.Highs, log: list[str]) -> None:
        self._h, self._log, self._poisoned = h, log, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._h, name)

    def run(self) -> Any:
        self._log.append(str(self._h.getOptionValue("presolve")[1]))
        return self._h.run()

    def getSolution(self) -> Any:
        sol = self._h.getSolution()
        if not self._poisoned:
            self._poisoned = True
            values = list(sol.col_value)
            values[0] = math.nan

            class _Sol:
                col_value = values

            return _Sol()
        return sol


def test_nan_solution_is_solved_again_without_presolve(monkeypatch: pytest.MonkeyPatch) -> None:
    wl = random_workload(random.Random(3), tiny(8), 3)
    clean = SegmentSolver(wl, MIP, closed_form=False).solve(0, 2)
    log: list[str] = []
    real = allocate._new_highs
    monkeypatch.setattr(allocate, "_new_highs", lambda t, n: _NanOnce(real(t, n), log))
    got = SegmentSolver(wl, MIP, closed_form=False).solve(0, 2)
    assert log[:2] == ["choose", "off"]  # the retry ran without presolve
    assert "choose" in log[2:] or len(log) == 2  # and presolve is back on afterwards
    assert got is not None and clean is not None
    assert got.local == pytest.approx(clean.local, rel=1e-12)


class _NanAlways(_NanOnce):
    """A Highs whose every solution has a NaN column."""

    def getSolution(self) -> Any:
        self._poisoned = False
        return super().getSolution()


def test_nan_solution_is_retried_once_not_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model whose solution stays NaN without presolve too is given up
    after one retry (no endless recursion): each model runs twice, with
    presolve and without, and the segment still gets a legal plan or none."""
    wl = random_workload(random.Random(3), tiny(8), 3)
    logs: list[list[str]] = []
    real = allocate._new_highs

    def poisoned(t: Any, n: Any) -> _NanAlways:
        logs.append([])
        return _NanAlways(real(t, n), logs[-1])

    monkeypatch.setattr(allocate, "_new_highs", poisoned)
    got = SegmentSolver(wl, MIP, closed_form=False).solve(0, 2)
    assert logs and all(log == ["choose", "off"] for log in logs)
    if got is not None:
        assert got.compute_arrays + got.memory_arrays <= 8


def test_fallback_at_the_exact_compute_cap() -> None:
    """No incumbent (node limit 0): the fallback's fewest arrays fill the
    static compute cap exactly and are still a legal plan (caps are
    inclusive)."""
    hw = tiny(8)
    wl = Workload.from_ops(hw, [MatmulShape(100, 33, 6), MatmulShape(100, 20, 3)])
    assert [o.min_arrays for o in wl.ops] == [4, 1]
    solver = SegmentSolver(wl, MIP, node_limit=0, closed_form=False)
    got = solver.solve(0, 1, AllocMode(True, 5, 3))
    assert solver.time_limited > 0  # no incumbent: this is the fallback
    assert got is not None and got.gap == 1.0
    assert [a.compute for a in got.allocs] == [4, 1]
    assert solver.solve(0, 1, AllocMode(True, 4, 4)) is None  # 5 compute arrays > 4


def test_unfinished_reload_search_reports_gap_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paper model, MIP solver (the reload branch and bound):
    the first MIP is solved, every later sub-problem of the reload search
    stops without an incumbent: the segment keeps the first solution and
    reports gap 1 (its optimality is not proven)."""
    wl = hard_segment(18)
    n = len(wl)
    real = allocate._Model.run
    runs = {"n": 0}

    def run(self):  # type: ignore[no-untyped-def]
        runs["n"] += 1
        if runs["n"] == 1:
            return real(self)
        self.timed_out = True
        return None

    monkeypatch.setattr(allocate._Model, "run", run)
    solver = SegmentSolver(wl, PAPER, closed_form=False)
    got = solver.solve(0, n - 1)
    assert runs["n"] > 1, "the reload search did not run"
    assert got is not None and got.gap == 1.0 and solver.worst_gap == 1.0
    check_legal(wl, got.allocs, got.shared, PAPER)
