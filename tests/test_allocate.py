"""Segment solvers against brute force over every count vector on tiny chips.

The brute force enumerates every (c_i, mi_i, mo_i, s_ij) satisfying the
constraints of spec section 5 directly (no MIP, no bounds), costs each distinct
(compute, memory) vector with the cost model and keeps the minimum of
intra + reload + vector: the quantity the solver claims to minimise."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Iterator

import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule import cost, held
from cmswitch.schedule.allocate import ALL_COMPUTE, DUAL, AllocMode, SegmentSolver
from cmswitch.schedule.cost import CostOptions, local_cost
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import Workload

BASE = Hardware.preset("dynaplasia")


def tiny(arrays: int, write_row: int = 1) -> Hardware:
    # 32 x 32 arrays: 128 bytes, 4 weights per row, 16 MAC/cycle, 4 B/cycle;
    # D_main = 4 + 8/8 = 5 B/cycle; programming an array takes 32 * write_row.
    return dataclasses.replace(
        BASE,
        arrays=arrays,
        rows=32,
        cols=32,
        buffer_bytes=256,
        internal_bw_bits=8,
        external_bw_bytes=4,
        write_cycles_per_row=write_row,
    )


def random_workload(rng: random.Random, hw: Hardware, n: int) -> Workload:
    while True:
        shapes = [
            MatmulShape(
                rng.randint(1, 40),
                rng.randint(1, 64),
                rng.randint(1, 8),
                stationary=rng.random() < 0.8,
            )
            for _ in range(n)
        ]
        if sum(hw.min_arrays(s.n, s.k) for s in shapes) <= hw.arrays:
            break
    edges: dict[tuple[int, int], float] = {}
    for c in range(1, n):
        for p in range(c):
            if p == c - 1 or rng.random() < 0.3:
                edges[(p, c)] = shapes[p].output_elems * hw.act_bytes
    vec = [rng.choice([0, 0, 64, 1000]) for _ in range(n)]
    # some consecutive operators are parts of one split layer (shared reload)
    layers = [0]
    for i in range(1, n):
        layers.append(layers[-1] if rng.random() < 0.3 else i)
    return Workload.from_ops(hw, shapes, edges, vec, layers=layers)


def _bounded(ranges: list[range], limit: int, acc: int = 0) -> Iterator[tuple[int, ...]]:
    """Tuples from `ranges` whose sum stays <= limit."""
    if not ranges:
        yield ()
        return
    for v in ranges[0]:
        if acc + v > limit:
            break
        for rest in _bounded(ranges[1:], limit, acc + v):
            yield (v, *rest)


def brute_force(wl: Workload, mode: AllocMode, opts: CostOptions) -> float:
    """The cheapest plan of `mode`: every (c, mi, mo, s) costed by the cost
    model (strict: with the arrays shared in place, which it counts once
    in the tensor they hold)."""
    hw, n, big = wl.hardware, len(wl), wl.hardware.arrays
    edges = [(p, c, math.ceil(b / hw.array_bytes)) for (p, c), b in wl.edges.items()]
    max_share = sum(e for *_, e in edges) if mode.memory else 0
    ccap = big if mode.compute_cap is None else mode.compute_cap
    mcap = big if mode.memory_cap is None else mode.memory_cap
    ranges: list[range] = []
    for o in wl.ops:
        ranges.append(range(o.min_arrays, big + 1))
        ranges += [range(big + 1), range(big + 1)] if mode.memory else [range(1), range(1)]
    seen: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
    best = math.inf
    for v in _bounded(ranges, big + max_share):
        c, mi, mo = v[0::3], v[1::3], v[2::3]
        if sum(c) > ccap:
            continue
        for s in itertools.product(*[range(min(e, mo[p], mi[q]) + 1) for p, q, e in edges]):
            if any(
                sum(x for (p, _, _), x in zip(edges, s, strict=False) if p == i) > mo[i]
                for i in range(n)
            ):
                continue
            if any(
                sum(x for (_, q, _), x in zip(edges, s, strict=False) if q == i) > mi[i]
                for i in range(n)
            ):
                continue
            memory = sum(mi) + sum(mo) - sum(s)
            if sum(c) + memory > big or memory > mcap:
                continue
            allocs = [OpAlloc(*x) for x in zip(c, mi, mo, strict=True)]
            shared = [(p, q, x) for (p, q, _), x in zip(edges, s, strict=True) if x]
            # the cost depends on the per-operator buffers (paper) or the
            # arrays holding each tensor (strict)
            if opts.model == "paper":
                key: tuple[object, ...] = (c, tuple(a + b for a, b in zip(mi, mo, strict=True)))
            else:
                data = cost.segment_data(wl, 0, n - 1)
                key = (c, tuple(held.held_arrays(data, allocs, shared)))
            if key not in seen:
                seen[key] = local_cost(wl, 0, n - 1, allocs, opts, shared)
            best = min(best, seen[key])
    return best


CASES = [(seed, n, arrays) for seed in range(10) for n, arrays in ((1, 10), (2, 8), (3, 6), (3, 7))]


@pytest.mark.parametrize(("seed", "n", "arrays"), CASES)
@pytest.mark.parametrize("model", ["paper", "paper-mip", "strict"])
def test_mip_equals_brute_force(seed: int, n: int, arrays: int, model: str) -> None:
    """``paper-mip``: the paper model through its MIP (``--solver mip``), the
    path the closed form leaves only to instances it cannot match."""
    rng = random.Random(1000 * seed + 10 * n + (model == "strict"))
    hw = tiny(arrays, write_row=rng.choice([1, 1, 20]))
    wl = random_workload(rng, hw, n)
    cost_model = model.removesuffix("-mip")
    ai = "streamed" if model == "strict" else rng.choice(["roofline", "input", "streamed"])
    opts = CostOptions(model=cost_model, ai=ai)  # type: ignore[arg-type]
    c_static = rng.randint(max(o.min_arrays for o in wl.ops), arrays)
    modes = [DUAL, ALL_COMPUTE, AllocMode(True, c_static, arrays - c_static)]
    solver = SegmentSolver(wl, opts, closed_form=model != "paper-mip")
    for mode in modes:
        expect = brute_force(wl, mode, opts)
        got = solver.solve(0, n - 1, mode)
        if math.isinf(expect):
            assert got is None, mode
            continue
        assert got is not None, mode
        assert got.local == pytest.approx(expect, rel=1e-6), mode
        # the returned allocation really costs what it claims and is legal
        assert local_cost(wl, 0, n - 1, got.allocs, opts, got.shared) == pytest.approx(
            got.local, rel=1e-9
        )
        assert got.compute_arrays + got.memory_arrays <= arrays
        assert all(a.compute >= o.min_arrays for a, o in zip(got.allocs, wl.ops, strict=False))
        if not mode.memory:
            assert got.memory_arrays == 0


@pytest.mark.parametrize("preset", ["dynaplasia", "prime"])
@pytest.mark.parametrize(
    "shape", [MatmulShape(64, 640, 400), MatmulShape(1, 4096, 120), MatmulShape(3136, 576, 64)]
)
@pytest.mark.parametrize("model", ["paper", "strict"])
def test_single_op_full_chip_reload_tradeoff(preset: str, shape: MatmulShape, model: str) -> None:
    """A single operator on a real preset: brute force over (c, Mem) on the
    whole chip. On PRIME weight writes are so slow that, with the paper's
    serial programming (Eq. 2), duplication never pays; the MIP must find
    that, not maximise throughput."""
    hw = Hardware.preset(preset)
    wl = Workload.from_ops(hw, [shape])
    opts = CostOptions(model=model)  # type: ignore[arg-type]
    m0 = wl.ops[0].min_arrays
    expect = min(
        local_cost(wl, 0, 0, [alloc], opts)
        for c in range(m0, hw.arrays + 1)
        for mem in range(hw.arrays - c + 1)
        for alloc in (OpAlloc(c, mem, 0), OpAlloc(c, 0, mem))
    )
    got = SegmentSolver(wl, opts).solve(0, 0)
    assert got is not None
    assert got.local == pytest.approx(expect, rel=1e-6)
    if preset == "prime" and model == "paper":
        assert got.allocs[0].compute == m0


def test_infeasible_segment_is_none() -> None:
    hw = tiny(6)
    wl = Workload.from_ops(hw, [MatmulShape(4, 64, 8), MatmulShape(4, 8, 8)])  # 4 + 2 arrays
    solver = SegmentSolver(wl, CostOptions())
    assert solver.solve(0, 1, AllocMode(True, 5, 1)) is None
    assert solver.solve(0, 1) is not None


def test_memo_by_signature() -> None:
    hw = tiny(8)
    shape = MatmulShape(8, 32, 4)
    wl = Workload.from_ops(hw, [shape] * 6)
    solver = SegmentSolver(wl, CostOptions())
    first = solver.solve(1, 2)
    mips = solver.mips_solved
    assert solver.solve(3, 4) == first
    assert solver.mips_solved == mips and solver.cache_hits == 1


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-llama", "tiny-opt", "tiny-cnn"])
def test_signature_keeps_exactly_the_segments_whole_edges(model: str) -> None:
    # the whole-tensor edges inside a segment, by their definition (every
    # edge of the model with both ends in the segment), for every segment:
    # a segment signature that dropped one would share cached solutions
    # between segments whose strict fill differs
    from xdsl.dialects.func import FuncOp

    from cmswitch.models import load_model
    from cmswitch.schedule.allocate import signature
    from cmswitch.workload import compute_ops

    loaded = load_model(model, seq=16)
    funcs = [f for f in loaded.module.ops if isinstance(f, FuncOp) and compute_ops(f)]
    checked = 0
    for func in funcs:
        wl = Workload.from_module(func, loaded.hardware)
        assert wl.whole_edges
        for start in range(len(wl)):
            for end in range(start, len(wl)):
                want = tuple(sorted(
                    (p - start, c - start) for p, c in wl.whole_edges if start <= p and c <= end
                ))  # fmt: skip
                assert signature(wl, start, end)[3] == want, (start, end)
                checked += bool(want)
    assert checked


def test_layer_groups_contiguous_and_not() -> None:
    from cmswitch.schedule.allocate import layer_groups

    hw = tiny(8)
    shape = MatmulShape(8, 32, 4)
    wl = Workload.from_ops(hw, [shape] * 5, layers=[0, 0, 2, 2, 2])
    assert wl.layers_contiguous
    assert layer_groups(wl, 1, 4) == (0, 1, 1, 1)
    scattered = Workload.from_ops(hw, [shape] * 4, layers=[0, 1, 0, 3])
    assert not scattered.layers_contiguous
    assert layer_groups(scattered, 0, 3) == (0, 1, 0, 3)
    assert layer_groups(scattered, 1, 3) == (0, 1, 2)


@pytest.mark.parametrize("ai", ["roofline", "input"])
def test_single_mac_operators_against_brute_force(ai: str) -> None:
    """Degenerate operators (1 x 1 x 1: one MAC, bandwidth bound in the
    roofline model) still set the period: memory arrays shorten it."""
    hw = tiny(6)
    opts = CostOptions(model="paper", ai=ai)  # type: ignore[arg-type]
    for shapes in ([MatmulShape(1, 1, 1)], [MatmulShape(1, 1, 1), MatmulShape(1, 1, 1)]):
        wl = Workload.from_ops(hw, shapes)
        for mode in (DUAL, ALL_COMPUTE):
            got = SegmentSolver(wl, opts).solve(0, len(wl) - 1, mode)
            assert got is not None
            assert got.local == pytest.approx(brute_force(wl, mode, opts), rel=1e-9), mode


@pytest.mark.parametrize("model", ["paper", "strict"])
def test_exact_fit_is_feasible(model: str) -> None:
    """Minimum arrays (4 + 2) filling the chip, or the static compute cap,
    exactly: every cap is inclusive, in the closed form and the MIP."""
    wl = Workload.from_ops(tiny(6), [MatmulShape(4, 64, 8), MatmulShape(4, 8, 8)])
    assert [o.min_arrays for o in wl.ops] == [4, 2]
    ai = "roofline" if model == "paper" else "streamed"  # strict takes streamed only
    opts = CostOptions(model=model, ai=ai)  # type: ignore[arg-type]
    for mode in (DUAL, ALL_COMPUTE, AllocMode(True, 6, 0)):
        got = SegmentSolver(wl, opts).solve(0, 1, mode)
        assert got is not None, mode
        assert [a.compute for a in got.allocs] == [4, 2] and got.memory_arrays == 0
        assert got.local == pytest.approx(brute_force(wl, mode, opts), rel=1e-9)
    wide = Workload.from_ops(tiny(8), [MatmulShape(4, 64, 8), MatmulShape(4, 8, 8)])
    got = SegmentSolver(wide, opts).solve(0, 1, AllocMode(True, 6, 2))
    assert got is not None and got.compute_arrays == 6
    assert got.local == pytest.approx(brute_force(wide, AllocMode(True, 6, 2), opts), rel=1e-9)
