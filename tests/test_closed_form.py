"""The closed-form segment solver against independent references.

* the b-matching bounds against brute force over every integer matching;
* the closed-form allocation against the HiGHS MIP (``closed_form=False``)
  on random segments larger than brute force can reach, in every mode;
* whole tiny models: both solvers give the same schedule latency."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from cmswitch.compile import compile_model
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, AllocMode, SegmentSolver
from cmswitch.schedule.closed_form import b_matching
from cmswitch.schedule.cost import CostOptions, local_cost
from tests.test_allocate import random_workload, tiny


def brute_b_matching(budgets: list[int], edges: list[tuple[int, int, int]]) -> int:
    best = 0
    for s in itertools.product(*[range(cap + 1) for *_, cap in edges]):
        deg = [0] * len(budgets)
        for (p, c, _), x in zip(edges, s, strict=True):
            deg[p] += x
            deg[c] += x
        if all(d <= b for d, b in zip(deg, budgets, strict=True)):
            best = max(best, sum(s))
    return best


@pytest.mark.parametrize("seed", range(60))
def test_b_matching_bounds_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 5)
    pairs = [(p, c) for c in range(n) for p in range(c)]
    edges = [(p, c, rng.randint(0, 3)) for p, c in pairs if rng.random() < 0.6]
    if len(edges) > 6:
        edges = edges[:6]
    budgets = [rng.randint(0, 4) for _ in range(n)]
    exact = brute_b_matching(budgets, edges)
    got = b_matching(budgets, edges)
    assert got.lower <= exact <= got.upper
    # the integer matching returned is legal and reaches `lower`
    deg = [0] * n
    for (p, c, cap), x in zip(edges, got.share, strict=True):
        assert 0 <= x <= cap
        deg[p] += x
        deg[c] += x
    assert all(d <= b for d, b in zip(deg, budgets, strict=True))
    assert sum(got.share) == got.lower


def test_b_matching_odd_cycle_is_not_overclaimed() -> None:
    """A triangle with unit budgets: the LP says 1.5, the integer answer is 1."""
    got = b_matching([1, 1, 1], [(0, 1, 1), (1, 2, 1), (0, 2, 1)])
    assert got.lower == 1 and got.upper == 1


CASES = [(seed, n, arrays) for seed in range(12) for n, arrays in ((2, 12), (4, 16), (6, 24))]


@pytest.mark.parametrize(("seed", "n", "arrays"), CASES)
def test_closed_form_equals_mip(seed: int, n: int, arrays: int) -> None:
    rng = random.Random(7919 * seed + n)
    hw = tiny(arrays, write_row=rng.choice([1, 1, 20]))
    wl = random_workload(rng, hw, n)
    opts = CostOptions(model="paper", ai=rng.choice(["roofline", "input", "streamed"]))  # type: ignore[arg-type]
    c_static = rng.randint(max(o.min_arrays for o in wl.ops), arrays)
    fast = SegmentSolver(wl, opts)
    mip = SegmentSolver(wl, opts, closed_form=False)
    for start, end in ((0, n - 1), (0, n // 2), (n // 2, n - 1)):
        for mode in (DUAL, ALL_COMPUTE, AllocMode(True, c_static, arrays - c_static)):
            a = fast.solve(start, end, mode)
            b = mip.solve(start, end, mode)
            assert (a is None) == (b is None), (start, end, mode)
            if a is None or b is None:
                continue
            assert a.local == pytest.approx(b.local, rel=1e-6), (start, end, mode)
            assert local_cost(wl, start, end, a.allocs, opts) == pytest.approx(a.local, rel=1e-9)
            used = a.compute_arrays + a.memory_arrays
            assert used <= arrays
            # the closed form is lean: never more arrays than the MIP's lean pass
            assert used <= b.compute_arrays + b.memory_arrays
            if mode.compute_cap is not None:
                assert a.compute_arrays <= mode.compute_cap
                assert a.memory_arrays <= (mode.memory_cap or 0)
    assert fast.closed_form_solved > 0


@pytest.mark.parametrize("name", ["tiny-cnn", "tiny-bert", "tiny-llama"])
def test_solvers_agree_on_zoo(name: str) -> None:
    model = load_model(name)
    # the closed form is the paper model's (strict always uses the MIP)
    auto = compile_model(model, ScheduleOptions(cost_model="paper", solver="auto")).schedule
    mip = compile_model(model, ScheduleOptions(cost_model="paper", solver="mip")).schedule
    assert auto.latency_cycles == pytest.approx(mip.latency_cycles, rel=1e-6)
    assert mip.stats.mips_solved > 0 and mip.stats.closed_form == 0
    assert auto.stats.closed_form > 0
    assert not math.isnan(auto.latency_cycles)
