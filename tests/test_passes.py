"""The IR passes end to end: split and schedule real exported models, then
check the result still computes what ONNX Runtime computes, and that the
allocation written into the IR respects the chip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from xdsl.dialects.builtin import StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.passes import PassPipeline

from cmswitch.builder import HARDWARE_ATTR
from cmswitch.compile import CompileResult, compile_model
from cmswitch.dialects.cim import AllocationAttr, ComputeOp, HardwareAttr, SegmentOp
from cmswitch.hardware import Hardware
from cmswitch.ir import make_context, parse_module, print_module
from cmswitch.lowering.onnx_to_cim import import_onnx
from cmswitch.models import LoadedModel
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.passes.cim_split import CimSplitPass
from cmswitch.passes.registry import PASSES
from cmswitch.simulator.reference import run_reference
from cmswitch.workload import Workload

DATA = Path(__file__).parent / "data" / "onnx"

# A small chip, so that the exported models' operators must be split:
# 16 x 16 one-bit cells hold 16 x 2 eight-bit weights per array.
SMALL = Hardware.from_dict(
    {
        **Hardware.preset("dynaplasia").to_dict(),
        "name": "small", "arrays": 12, "rows": 16, "cols": 16,
    }
)  # fmt: skip


def _ort(path: Path, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in sess.run(None, inputs)]


def _inputs(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    out = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        if "int" in i.type:
            out[i.name] = rng.integers(0, 50, size=shape).astype(np.int64)
        else:
            out[i.name] = rng.standard_normal(shape).astype(np.float32)
    return out


@pytest.mark.parametrize("name", ["tiny_cnn", "bert_tiny", "llama_tiny"])
def test_split_and_schedule_preserve_function(name: str) -> None:
    path = DATA / f"{name}.onnx"
    imported = import_onnx(path, hardware=SMALL)
    inputs = _inputs(path)
    expected = _ort(path, inputs)
    module = imported.module
    before = Workload.from_module(module, SMALL)
    assert max(op.min_arrays for op in before) > SMALL.arrays, "test needs oversized ops"

    result = compile_model(
        LoadedModel(name, module, imported.store, SMALL), ScheduleOptions(policy="cmswitch")
    )
    compiled = result.module
    compiled.verify()
    after = Workload.from_module(compiled, SMALL)
    assert after.macs == before.macs  # splitting drops no compute
    assert all(op.min_arrays <= SMALL.arrays for op in after)

    got = run_reference(compiled, [inputs[k] for k in inputs], imported.store)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)

    # the allocation in the IR respects the chip
    funcs = [op for op in compiled.ops if isinstance(op, FuncOp)]
    segments = [op for op in funcs[0].body.block.ops if isinstance(op, SegmentOp)]
    assert len(segments) == len(result.schedule.segments)
    for seg in segments:
        ops = [o for o in seg.walk() if isinstance(o, ComputeOp)]
        allocs = [o.attributes["alloc"] for o in ops]
        assert all(isinstance(a, AllocationAttr) for a in allocs)
        used = sum(a.compute.data + a.memory for a in allocs)  # type: ignore[union-attr]
        assert used <= SMALL.arrays + sum(s[2] for s in _shared(result, seg))
        for op, a in zip(ops, allocs, strict=True):
            s = op.matmul_shape()
            assert a.compute.data >= SMALL.min_arrays(s.n, s.k, s.groups)  # type: ignore[union-attr]


def _shared(result, seg: SegmentOp):  # type: ignore[no-untyped-def]
    return result.schedule.segments[seg.index.value.data].shared


def test_pass_pipeline_matches_python_api() -> None:
    """`xdsl-opt -p cim-split{max-arrays=B},cim-schedule{...}` and
    compile_model agree, B the granularity compile_model chose."""
    imported = import_onnx(DATA / "tiny_cnn.onnx", hardware=SMALL)
    reference = compile_model(
        LoadedModel("tiny_cnn", imported.module, imported.store, SMALL),
        ScheduleOptions(policy="cim-mlc"),
    )
    budget = reference.split_budget or SMALL.arrays
    text = print_module(imported.module)
    ctx = make_context()
    module = parse_module(text, "tiny_cnn.mlir", ctx)
    available = {name: factory for name, factory in PASSES.items()}
    spec = f"cim-split{{max-arrays={budget}}},cim-schedule{{policy=cim-mlc}}"
    PassPipeline.parse_spec(available, spec).apply(ctx, module)
    module.verify()
    assert print_module(module) == print_module(reference.module)
    attr = module.attributes["cim.schedule"]
    assert "cim-mlc" in str(attr)
    assert isinstance(module.attributes[HARDWARE_ATTR], HardwareAttr)


def test_rescheduling_replaces_segments() -> None:
    imported = import_onnx(DATA / "tiny_cnn.onnx", hardware=SMALL)
    model = LoadedModel("tiny_cnn", imported.module, imported.store, SMALL)
    first = compile_model(model, ScheduleOptions(policy="puma"))
    again = compile_model(
        LoadedModel("tiny_cnn", first.module, imported.store, SMALL),
        ScheduleOptions(policy="cmswitch"),
    )
    nested = [op for op in again.module.walk() if isinstance(op, SegmentOp)]
    assert len(nested) == len(again.schedule.segments)
    assert all(not isinstance(p, SegmentOp) for s in nested for p in [s.parent_op()])


def test_split_pass_alone_keeps_numerics() -> None:
    path = DATA / "opt_tiny.onnx"
    imported = import_onnx(path, hardware=SMALL)
    inputs = _inputs(path, seed=3)
    expected = _ort(path, inputs)
    module = imported.module.clone()
    CimSplitPass().apply(make_context(), module)
    module.verify()
    got = run_reference(module, [inputs[k] for k in inputs], imported.store)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


def _scheduled(name: str, options: ScheduleOptions) -> CompileResult:
    from cmswitch.models import load_model

    return compile_model(load_model(name), options)


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-cnn"])
@pytest.mark.parametrize("cost_model", ["strict", "paper"])
def test_segments_record_the_plan(name: str, cost_model: str) -> None:
    """The IR alone (allocs + segment `shared`) re-costs to the schedule's latency:
    nothing the cost needs is lost in the IR, printed and parsed back."""
    from cmswitch.passes.cim_duplicate import read_plan
    from cmswitch.schedule.policies import evaluate

    options = ScheduleOptions(cost_model=cost_model)  # type: ignore[arg-type]
    result = _scheduled(name, options)
    module = parse_module(print_module(result.module), ctx=make_context())
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    wl = Workload.from_module(func, result.hardware)
    again = evaluate(wl, read_plan(func), options.cost)
    assert again.latency_cycles == pytest.approx(result.schedule.latency_cycles, rel=1e-9)
    shared = [s for seg in again.segments for s in seg.shared]
    if name == "tiny-bert" and cost_model == "paper":
        assert shared, "expected in-place buffer sharing on tiny-bert"


def test_duplicate_pass_matches_the_policy_and_is_idle_on_cmswitch() -> None:
    from cmswitch.passes.cim_duplicate import CimDuplicatePass

    split_off = _scheduled("tiny-cnn", ScheduleOptions(policy="cim-mlc", duplicate=False))
    inline = _scheduled("tiny-cnn", ScheduleOptions(policy="cim-mlc"))
    module = split_off.module
    CimDuplicatePass().apply(make_context(), module)
    attr = module.attributes["cim.schedule"].data
    assert attr["latency_cycles"].value.data == pytest.approx(
        inline.schedule.latency_cycles, rel=1e-9
    )
    assert attr["policy"].data == "cim-mlc"
    cms = _scheduled("tiny-cnn", ScheduleOptions())
    before = print_module(cms.module)
    CimDuplicatePass().apply(make_context(), cms.module)
    assert print_module(cms.module) == before


def test_duplicate_pass_needs_a_schedule() -> None:
    from cmswitch.models import load_model
    from cmswitch.passes.cim_duplicate import CimDuplicatePass
    from cmswitch.schedule.policies import ScheduleError

    module = load_model("tiny-cnn").module.clone()
    with pytest.raises(ScheduleError, match="run cim-schedule first"):
        CimDuplicatePass().apply(make_context(), module)


@pytest.mark.parametrize("name", ["tiny-bert", "resnet18"])
def test_fast_printer_prints_what_xdsl_prints(name: str) -> None:
    """print_module's faster printer must produce xDSL's text exactly."""
    import io

    from xdsl.printer import Printer

    module = _scheduled(name, ScheduleOptions()).module
    for generic in (False, True):
        out = io.StringIO()
        Printer(stream=out, print_generic_format=generic).print_op(module)
        assert print_module(module, generic=generic) == out.getvalue() + "\n"


NARROW = (
    '#cim.hardware<"narrow", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, '
    "act_bits = 8, buffer_bytes = 64, internal_bw_bits = 8, external_bw_bytes = 1, "
    "switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, "
    "vector_elems_per_cycle = 4, clock_hz = 1.0e9>"
)


def linear_chain(m: int, dims: list[int]) -> str:
    """A chain of bias-free linear layers, as IR text."""
    lines = [
        f"builtin.module attributes {{cim.hardware = {NARROW}}} {{",
        f"  func.func @chain(%x0: tensor<{m}x{dims[0]}xf32>) -> tensor<{m}x{dims[-1]}xf32> {{",
    ]
    for i in range(len(dims) - 1):
        a, b = dims[i], dims[i + 1]
        lines += [
            f'    %w{i} = cim.constant "w{i}" : tensor<{a}x{b}xf32>',
            f'    %x{i + 1} = cim.linear %x{i}, %w{i} {{label = "l{i}"}} : '
            f"tensor<{m}x{a}xf32>, tensor<{a}x{b}xf32> -> tensor<{m}x{b}xf32>",
        ]
    lines += [f"    func.return %x{len(dims) - 1} : tensor<{m}x{dims[-1]}xf32>", "  }", "}"]
    return "\n".join(lines)


def test_plan_round_trips_through_the_ir_with_shared_arrays() -> None:
    """A bandwidth-bound chain on a narrow chip: two segments, each with an
    output buffer reused in place by the next layer. What cim-schedule writes
    (allocations, segment arrays, shared triples relative to the segment)
    reads back as the same plan, and costs the same."""
    from cmswitch.builder import module_hardware
    from cmswitch.passes.cim_duplicate import read_plan
    from cmswitch.passes.cim_schedule import schedule_module
    from cmswitch.schedule import CostOptions, evaluate

    module = parse_module(linear_chain(32, [8, 8, 4, 4, 2]))
    opts = ScheduleOptions(policy="cmswitch", cost_model="paper", ai="roofline")
    plan = schedule_module(module, opts)["chain"]
    assert [(s.start, s.end) for s in plan.segments] == [(0, 1), (2, 3)]
    assert plan.segments[1].shared, "the test needs sharing in a later segment"
    module.verify()
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    items = read_plan(func)
    assert items == [(s.start, s.end, list(s.allocs), list(s.shared)) for s in plan.segments]
    segs = [op for op in func.walk() if isinstance(op, SegmentOp)]
    for seg, s in zip(segs, plan.segments, strict=True):
        assert list(seg.shared_triples()) == [(p - s.start, c - s.start, k) for p, c, k in s.shared]
    wl = Workload.from_module(func, module_hardware(module))
    again = evaluate(wl, items, CostOptions(model="paper", ai="roofline"))
    assert again.latency_cycles == pytest.approx(plan.latency_cycles, rel=1e-12)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: PASSES["cim-schedule"]()(cost_model="fast"), "cost-model must be paper or strict"),
        (lambda: PASSES["cim-schedule"]()(solver="cplex"), "solver must be auto or mip"),
        (lambda: PASSES["cim-schedule"]()(ai="peak"), "unknown arithmetic intensity .peak."),
        (
            lambda: PASSES["cim-duplicate"]()(cost_model="fast"),
            "cost-model must be paper or strict",
        ),
        (lambda: PASSES["cim-duplicate"]()(ai="peak"), "unknown arithmetic intensity .peak."),
        (lambda: PASSES["cim-split"]()(max_arrays=-1), "max-arrays must be >= 0"),
    ],
)
def test_pass_options_are_validated(make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    module = parse_module(linear_chain(8, [8, 4]))
    with pytest.raises(ValueError, match=fragment):
        make().apply(make_context(), module)


def test_operators_larger_than_the_chip_by_rows_are_refused() -> None:
    """A matmul whose N exceeds every row of the chip (NARROW: 8 arrays x 16
    rows = 128) cannot be split into parts that fit."""
    from cmswitch.passes.cim_split import SplitError

    rows = 8 * 16  # arrays x rows
    big = parse_module(
        f"builtin.module attributes {{cim.hardware = {NARROW}}} {{\n"
        f"  func.func @f(%a: tensor<2x{rows + 1}xf32>, %b: tensor<{rows + 1}x2xf32>) -> tensor<2x2xf32> {{\n"
        f'    %y = cim.matmul %a, %b {{label = "mm"}} : tensor<2x{rows + 1}xf32>, tensor<{rows + 1}x2xf32> -> tensor<2x2xf32>\n'
        "    func.return %y : tensor<2x2xf32>\n  }\n}"
    )
    with pytest.raises(SplitError, match="matmul 'mm' has N = 129"):
        CimSplitPass().apply(make_context(), big)


def test_schedule_function_writes_what_it_returns() -> None:
    from cmswitch.builder import module_hardware
    from cmswitch.passes.cim_duplicate import read_plan
    from cmswitch.passes.cim_schedule import schedule_function

    module = parse_module(linear_chain(32, [8, 8, 4, 4, 2]))
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    opts = ScheduleOptions(policy="all-compute-dp", cost_model="paper", ai="roofline")
    result = schedule_function(func, module_hardware(module), opts)
    assert read_plan(func) == [
        (s.start, s.end, list(s.allocs), list(s.shared)) for s in result.segments
    ]
    assert all(s.memory_arrays == 0 for s in result.segments)


SPLIT_CHIP = NARROW.replace(
    '"narrow", arrays = 8, rows = 16, cols = 16', '"split", arrays = 12, rows = 64, cols = 64'
)


SMALL_FIT = Hardware.from_dict(
    {**Hardware.preset("dynaplasia").to_dict(), "name": "split", "arrays": 12, "rows": 64,
     "cols": 64}
)  # fmt: skip


def _split_linear(n: int, k: int) -> list[tuple[str, int, int, int]]:
    """cim-split on one linear x[4 x n] . w[n x k] on a 12-array chip of
    64 x 64 one-bit cells (8 weights per row): (label, N, K, min arrays)."""
    text = (
        f"builtin.module attributes {{cim.hardware = {SPLIT_CHIP}}} {{\n"
        f"  func.func @f(%x: tensor<4x{n}xf32>) -> tensor<4x{k}xf32> {{\n"
        f'    %w = cim.constant "w" : tensor<{n}x{k}xf32>\n'
        f'    %y = cim.linear %x, %w {{label = "fc"}} : tensor<4x{n}xf32>, tensor<{n}x{k}xf32> -> tensor<4x{k}xf32>\n'
        f"    func.return %y : tensor<4x{k}xf32>\n  }}\n}}"
    )
    module = parse_module(text)
    CimSplitPass().apply(make_context(), module)
    module.verify()
    out = []
    for op in module.walk():
        if isinstance(op, ComputeOp):
            s = op.matmul_shape()
            label = op.attributes["label"]
            assert isinstance(label, StringAttr)
            out.append((label.data, s.n, s.k, SMALL_FIT.min_arrays(s.n, s.k)))
    return out


def test_split_along_k_by_hand() -> None:
    """N = 100: 2 row blocks; K = 100: 13 column blocks of 8 = 26 arrays.
    A part may have 12 // 2 = 6 column blocks: ceil(13 / 6) = 3 parts of
    ceil(ceil(100 / 3) / 8) * 8 = 40 columns (the last 20)."""
    assert _split_linear(100, 100) == [
        ("fc.k0", 100, 40, 10), ("fc.k1", 100, 40, 10), ("fc.k2", 100, 20, 6),
    ]  # fmt: skip


def test_split_along_n_by_hand() -> None:
    """N = 1000: 16 row blocks of 64 > 12 arrays: ceil(16 / 12) = 2 parts
    of ceil(ceil(1000 / 2) / 64) * 64 = 512 rows (the last 488)."""
    assert _split_linear(1000, 4) == [("fc.n0", 512, 4, 8), ("fc.n1", 488, 4, 8)]


def test_fitting_operator_is_not_split() -> None:
    assert _split_linear(64, 96) == [("fc", 64, 96, 12)]  # exactly the chip
