"""The segmentation DP against brute force over every segmentation.

Two oracles: an arbitrary random one (local costs per segment and candidate,
inter costs per pair of consecutive segment plans), checking the DP itself;
and the real segment solver + cost model on small workloads, checking the
policies that are pure DP (all-compute-dp, static) end to end."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Iterator

import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule import CostOptions, evaluate, schedule
from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, AllocMode, SegmentSolver
from cmswitch.schedule.segment import Key, segment_dp
from cmswitch.workload import Workload


def segmentations(n: int) -> Iterator[list[tuple[int, int]]]:
    for cuts in itertools.product([False, True], repeat=n - 1):
        segs, start = [], 0
        for i, cut in enumerate(cuts):
            if cut:
                segs.append((start, i))
                start = i + 1
        segs.append((start, n - 1))
        yield segs


@pytest.mark.parametrize("seed", range(60))
def test_dp_equals_brute_force_random_oracle(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 7)
    max_len = rng.randint(1, n)
    table: dict[tuple[int, int], list[float]] = {}
    for i in range(n):
        for j in range(i, n):
            k = rng.choice([0, 1, 2, 3]) if j > i else rng.choice([1, 2])  # singletons feasible
            table[(i, j)] = [rng.uniform(0, 100) for _ in range(k)]
    inter_tab: dict[tuple[Key | None, Key], float] = {}

    def inter(prev: Key | None, key: Key) -> float:
        return inter_tab.setdefault((prev, key), rng.uniform(0, 30))

    got = segment_dp(n, lambda i, j: table[(i, j)], inter, lambda i: max_len)
    # the pruned DP (valid lower bounds on local costs, inter costs <= 30)
    lows = {k: min(v, default=0.0) * rng.uniform(0.3, 1.0) for k, v in table.items()}
    pruned = segment_dp(
        n,
        lambda i, j: table[(i, j)],
        inter,
        lambda i: max_len,
        lambda i, j: lows[(i, j)],
        lambda key: 30.0,
    )
    assert pruned.cost == pytest.approx(got.cost, rel=1e-12)
    best = math.inf
    for segs in segmentations(n):
        if any(j - i + 1 > max_len or not table[(i, j)] for i, j in segs):
            continue
        for choice in itertools.product(*[range(len(table[s])) for s in segs]):
            keys = [(i, j, a) for (i, j), a in zip(segs, choice, strict=False)]
            cost = sum(table[(k[0], k[1])][k[2]] for k in keys)
            cost += sum(inter(p, k) for p, k in zip([None, *keys[:-1]], keys, strict=False))
            best = min(best, cost)
    assert got.cost == pytest.approx(best, rel=1e-12)
    # the returned path is a segmentation with that cost
    path = list(got.path)
    assert path[0][0] == 0 and path[-1][1] == n - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(path))
    cost = sum(table[(k[0], k[1])][k[2]] for k in path)
    cost += sum(inter(p, k) for p, k in zip([None, *path[:-1]], path, strict=False))
    assert cost == pytest.approx(got.cost, rel=1e-12)


def test_dp_infeasible_raises() -> None:
    with pytest.raises(ValueError, match="no feasible"):
        segment_dp(2, lambda i, j: [] if j == 1 else [1.0], lambda p, k: 0.0)


HW = dataclasses.replace(
    Hardware.preset("dynaplasia"),
    arrays=12,
    rows=32,
    cols=32,
    buffer_bytes=256,
    internal_bw_bits=8,
    external_bw_bytes=4,
)


def small_workload(rng: random.Random, n: int) -> Workload:
    shapes = [
        MatmulShape(rng.randint(1, 64), rng.randint(1, 64), rng.randint(1, 12)) for _ in range(n)
    ]
    edges = {
        (p, c): shapes[p].output_elems * HW.act_bytes
        for c in range(1, n)
        for p in range(c)
        if p == c - 1 or rng.random() < 0.25
    }
    return Workload.from_ops(HW, shapes, edges, [rng.choice([0, 500]) for _ in range(n)])


def brute_force_policy(wl: Workload, modes: list[AllocMode], opts: CostOptions) -> float:
    solver = SegmentSolver(wl, opts)
    best = math.inf
    for segs in segmentations(len(wl)):
        options = []
        for i, j in segs:
            sols = [s for m in modes if (s := solver.solve(i, j, m)) is not None]
            options.append(
                [(i, j, s.allocs, tuple((p + i, c + i, k) for p, c, k in s.shared)) for s in sols]
            )
        if any(not o for o in options):
            continue
        for plan in itertools.product(*options):
            best = min(best, evaluate(wl, list(plan), opts).latency_cycles)
    return best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(
    ("model", "ai"),
    [("paper", "roofline"), ("paper", "input"), ("paper", "streamed"), ("strict", "streamed")],
)
def test_policies_equal_brute_force_over_segmentations(seed: int, model: str, ai: str) -> None:
    """Under every cost model: the DP policies equal brute force over all
    segmentations, and cmswitch is never slower than that brute force over
    every segmentation and candidate kind (so than any baseline)."""
    rng = random.Random(seed)
    wl = small_workload(rng, rng.randint(2, 5))
    opts = CostOptions(model=model, ai=ai)  # type: ignore[arg-type]
    got = schedule(wl, "all-compute-dp", opts).latency_cycles
    assert got == pytest.approx(brute_force_policy(wl, [ALL_COMPUTE], opts), rel=1e-6)
    c = math.floor(0.5 * HW.arrays)
    static = AllocMode(True, c, HW.arrays - c)
    if all(o.min_arrays <= c for o in wl.ops):
        got = schedule(wl, "static", opts).latency_cycles
        assert got == pytest.approx(brute_force_policy(wl, [static], opts), rel=1e-6)
    # cmswitch = DP over the three candidate kinds, then duplication (only helps)
    got = schedule(wl, "cmswitch", opts).latency_cycles
    assert got <= brute_force_policy(wl, [DUAL, ALL_COMPUTE, static], opts) * (1 + 1e-6)


def test_pruning_and_early_stop_save_work_without_changing_the_answer() -> None:
    """Long segments cost quadratically more here, so once a short segment
    ending at j is solved, longer ones ending at j are dominated and must
    not be solved at all (their lower bound plus the best prefix exceeds
    the short one's cost plus its exit bound); and previous plans are tried
    cheapest first, stopping once the previous plan's own cost loses."""
    n = 12

    def table(i: int, j: int) -> list[float]:
        length = j - i + 1
        return [10.0 * length**2 + 5.0, 10.0 * length**2 + 9.0]

    def inter(prev: Key | None, key: Key) -> float:
        return 0.0 if prev is None else (1.0 if prev[2] == key[2] else 3.0)

    calls: dict[str, int] = {"candidates": 0, "inter": 0}

    def counted(i: int, j: int) -> list[float]:
        calls["candidates"] += 1
        return table(i, j)

    def counted_inter(prev: Key | None, key: Key) -> float:
        calls["inter"] += 1
        return inter(prev, key)

    full = segment_dp(n, table, inter)
    got = segment_dp(
        n, counted, counted_inter, None, lambda i, j: min(table(i, j)), lambda key: 3.0
    )
    assert got.cost == pytest.approx(full.cost, rel=1e-12)
    assert got.path == full.path
    # Only the single-operator segments are solved: a segment of L >= 2
    # operators costs at least 10 L^2 + 5, more than L singletons (at most
    # 5 + 3 each) plus the exit bound 3. (Without pruning: 78 segments.)
    assert calls["candidates"] == n
    # one transition per plan: the cheapest previous plan first, then the
    # next one's own cost (4 more) already exceeds it plus inter (<= 3)
    assert calls["inter"] == 2 * n


def test_without_max_len_any_length_is_considered() -> None:
    """Only the whole range is feasible: the DP must find it."""
    got = segment_dp(4, lambda i, j: [7.0] if (i, j) == (0, 3) else [], lambda p, k: 0.0)
    assert got.path == ((0, 3, 0),) and got.cost == 7.0
