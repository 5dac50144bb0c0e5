"""The `cim_meta` program as `cmswitch compile --emit meta` and `xdsl-opt`
produce it: the same bytes both ways, every policy lowers, the program
moves exactly the model's weights, switches no more used arrays than the
cost model charged, and a compiled ONNX model can be run later from the
files `compile -o` writes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr
from xdsl.dialects.func import FuncOp

from cmswitch.compile import DEFAULT_POLICIES, compile_model, parse_policy
from cmswitch.dialects import cim
from cmswitch.dialects import cim_meta as meta
from cmswitch.dialects.cim import Mode
from cmswitch.ir import parse_file, print_module
from cmswitch.lowering.cim_to_meta import meta_program
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.passes.segments import cost_dict, read_segments
from cmswitch.simulator.functional import run_functional
from cmswitch.weights import WeightStore

BIN = Path(sys.executable).parent
DATA = Path(__file__).parent / "data" / "onnx"


@pytest.mark.parametrize(
    ("model", "policy", "schedule"),
    [
        ("tiny-bert", "cmswitch", "cim-schedule"),
        ("tiny-cnn", "cim-mlc", "cim-schedule{policy=cim-mlc}"),
        ("tiny-llama", "static:0.25", "cim-schedule{policy=static compute-fraction=0.25}"),
    ],
)
def test_emit_meta_equals_xdsl_opt_byte_for_byte(
    tmp_path: Path, model: str, policy: str, schedule: str
) -> None:
    source = tmp_path / "in.mlir"
    source.write_text(print_module(load_model(model, seq=16).module))
    out, report = tmp_path / "out.mlir", tmp_path / "r.json"
    subprocess.run(
        [str(BIN / "cmswitch"), "compile", model, "--seq", "16", "--policy", policy,
         "--emit", "meta", "-o", str(out), "--report", str(report)],
        check=True, capture_output=True,
    )  # fmt: skip
    budget = json.loads(report.read_text())["split_budget"]
    spec = f"cim-split{{max-arrays={budget}}},{schedule},cim-assign-arrays,cim-to-meta"
    opt = subprocess.run(
        [str(BIN / "xdsl-opt"), str(source), "-p", spec], check=True, capture_output=True
    )
    assert out.read_bytes() == opt.stdout
    assert b"cim_meta.segment" in opt.stdout


def _program_checks(result) -> None:  # type: ignore[no-untyped-def]
    """Weights moved and switches made, against the cim module."""
    hw = result.hardware
    program = meta_program(result.module)
    program.verify()
    func = next(op for op in result.module.ops if isinstance(op, FuncOp))
    # bytes every operator's copies need, from the hardware's min_arrays
    # (independent of the tiling): d = compute // min_arrays copies of N x K
    # x groups weights (+ K x groups bias at act_bits)
    meta_func = next(op for op in program.ops if isinstance(op, FuncOp))
    # a run-time operand programmed in place moves no bytes: it is already in
    # the product's arrays (only attention's products, one copy)
    in_place = {op.label.data for _, op in meta.meta_ops(meta_func)
                if isinstance(op, meta.ProgramOp) and op.is_in_place}  # fmt: skip
    want = 0
    for _, ops in read_segments(func):
        for op in ops:
            label = op.attributes.get("label")
            if isinstance(label, StringAttr) and label.data in in_place:
                assert isinstance(op, cim.MatmulOp) and not op.matmul_shape().stationary
                continue
            s = op.matmul_shape()
            alloc = op.attributes["alloc"]
            assert isinstance(alloc, cim.AllocationAttr)
            copies = alloc.compute.data // hw.min_arrays(s.n, s.k, s.groups)
            has_bias = isinstance(op, cim.LinearOp | cim.Conv2dOp) and op.bias is not None
            per_copy = s.n * s.k * s.groups * hw.weight_bits / 8
            per_copy += s.k * s.groups * hw.act_bits / 8 if has_bias else 0
            want += copies * per_copy
    got = sum(op.nbytes for _, op in meta.meta_ops(meta_func) if isinstance(op, meta.ProgramOp))
    reused = any(
        isinstance(op, meta.ComputeOp) and op.weights is not None
        for _, op in meta.meta_ops(meta_func)
    )
    assert got == want or (reused and got < want), (got, want)
    # switches of arrays the previous segment used in the other mode, at most
    # what the cost model charged at that boundary
    segs = [seg for seg, _ in read_segments(func)]
    mode = [Mode.COMPUTE] * hw.arrays
    used_prev: dict[int, Mode] = {}
    for k, seg_meta in enumerate(op for op in meta_func.body.block.ops
                                 if isinstance(op, meta.SegmentOp)):  # fmt: skip
        cycles = 0.0
        used_now: dict[int, Mode] = {}
        for op in seg_meta.body.block.ops:
            if isinstance(op, meta.SwitchOp):
                for a in op.array_ids:
                    assert mode[a] is not op.target
                    mode[a] = op.target
                    if a in used_prev and used_prev[a] is not op.target:
                        latency = (hw.switch_m2c_cycles if op.target is Mode.COMPUTE
                                   else hw.switch_c2m_cycles)  # fmt: skip
                        cycles += latency
            if isinstance(op, meta.ComputeOp):
                for a in op.array_ids:
                    used_now[a] = Mode.COMPUTE
            for place in [op.properties.get("place")]:
                if isinstance(place, meta.PlaceAttr):
                    for a in place.array_ids:
                        used_now[a] = Mode.MEMORY
        assert cycles <= cost_dict(segs[k]).get("switch_cycles", 0.0) + 1e-9
        used_prev = used_now


@pytest.mark.parametrize("policy", DEFAULT_POLICIES)
@pytest.mark.parametrize("name", ["resnet18", "tiny-llama"])
def test_every_policy_lowers(name: str, policy: str) -> None:
    model = load_model(name, seq=16)
    result = compile_model(model, parse_policy(policy, ScheduleOptions(jobs=1)))
    _program_checks(result)


def test_compiled_onnx_model_runs_later_from_its_files(tmp_path: Path) -> None:
    """`compile -o X.mlir` writes X.weights.npz; the program then runs."""
    import onnxruntime as ort

    onnx_path = DATA / "tiny_cnn.onnx"
    out = tmp_path / "cnn.meta.mlir"
    subprocess.run(
        [str(BIN / "cmswitch"), "compile", str(onnx_path), "--emit", "meta", "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    weights = WeightStore.path_for(out)
    assert weights.exists()
    store = WeightStore.load(weights)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal([d if isinstance(d, int) else 1
                                                  for d in inp.shape]).astype(np.float32)  # fmt: skip
    want = session.run(None, {inp.name: x})[0]
    got = run_functional(parse_file(out), {inp.name: x}, store)[0]
    assert float(np.abs(got - want).max() / np.abs(want).max()) < 1e-4


def test_compact_tiling_lists_the_tiles_by_hand() -> None:
    # 700 x 100 on 320-row arrays with 40 weights per row: row blocks
    # [0, 320), [320, 640), [640, 700), column blocks [0, 40), [40, 80),
    # [80, 100); row-block-major, then column block; two copies
    one = [
        (0, 1, n0, n1, k0, k1)
        for n0, n1 in ((0, 320), (320, 640), (640, 700))
        for k0, k1 in ((0, 40), (40, 80), (80, 100))
    ]
    attr = meta.WeightTilingAttr(700, 100, 1, 320, 40, copies=2)
    assert [t.flat() for t in attr.tiles()] == one + one
    # 6 groups of a 3 x 3 (depthwise) weight: min(320 // 9, 40 // 3) = 13
    # groups fit one array, so one tile holds all six, block-diagonally
    packed = meta.WeightTilingAttr(9, 3, 6, 320, 40)
    assert [t.flat() for t in packed.tiles()] == [(0, 6, 0, 9, 0, 3)]
    # 30 groups, 13 per array: [0, 13), [13, 26), [26, 30)
    packed = meta.WeightTilingAttr(9, 3, 30, 320, 40)
    assert [t.flat() for t in packed.tiles()] == [
        (0, 13, 0, 9, 0, 3), (13, 26, 0, 9, 0, 3), (26, 30, 0, 9, 0, 3)
    ]  # fmt: skip


def test_lowering_writes_the_compact_tiling_of_each_compute() -> None:
    result = compile_model(load_model("tiny-cnn"), parse_policy("cmswitch", ScheduleOptions()))
    func = next(op for op in meta_program(result.module).ops if isinstance(op, FuncOp))
    ops = [op for _, op in meta.meta_ops(func)]
    computes = {op.label.data: op for op in ops if isinstance(op, meta.ComputeOp)}
    hw = result.hardware
    programs = [op for op in ops if isinstance(op, meta.ProgramOp)]
    assert programs
    for prog in programs:
        assert isinstance(prog.tiles, meta.WeightTilingAttr)
        compute = computes[prog.label.data]
        shape = compute.matmul_shape()
        per_copy = math.ceil(shape.n / hw.rows) * math.ceil(shape.k / hw.weights_per_row)
        if per_copy == 1:  # packed groups: one array holds as many groups as fit
            fit = min(hw.rows // shape.n, hw.weights_per_row // shape.k)
            per_copy = math.ceil(shape.groups / fit)
        else:
            per_copy *= shape.groups
        tiles = prog.weight_tiles()
        assert len(tiles) == len(prog.array_ids) == len(compute.array_ids)
        assert len(tiles) % per_copy == 0
        # every copy covers the whole weight, each element once
        elems = sum(t.elems for t in tiles[:per_copy])
        assert elems == shape.n * shape.k * shape.groups
