"""The MLIR frontend: ONNX -> torch-mlir -> linalg -> convert-linalg-to-cim
gives the workload the direct ONNX importer gives, and both compute what
ONNX Runtime computes; `cim` output travels into upstream MLIR and back.

Tests that need the upstream bindings skip without the ``mlir`` extra; the
conversion itself is pure xDSL and is tested on committed linalg files
either way. torch-mlir conversions are cached for the session.
"""

from __future__ import annotations

import math
import sys
from dataclasses import astuple
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from cmswitch.dialects.cim import ComputeOp, Conv2dOp, LinearOp, MatmulOp
from cmswitch.frontend import (
    MLIR_EXTRA,
    FrontendError,
    MlirUnavailableError,
    fix_hex_splats,
    have_mlir,
    linalg_file_to_cim,
    require_mlir,
)
from cmswitch.hardware import Hardware
from cmswitch.lowering.onnx_to_cim import import_onnx
from cmswitch.workload import Workload

DATA = Path(__file__).parent / "data"
ONNX = DATA / "onnx"
SHAPES: dict[str, dict[str, tuple[int, ...]]] = {"tiny_cnn_dynbatch": {"x": (2, 3, 16, 16)}}
MODELS = (
    "tiny_cnn", "tiny_cnn_dynamo", "tiny_cnn_bn", "tiny_cnn_dynamo_raw", "tiny_cnn_dynbatch",
    "tiny_ops", "tiny_ops_opset20", "grouped_cnn",
    "bert_tiny", "bert_tiny_dynamo", "gpt2_tiny", "llama_tiny", "opt_tiny",
)  # fmt: skip
ABSENT_DATA = ("resnet18", "mobilenet_v2")  # shipped without their weights

needs_mlir = pytest.mark.skipif(
    not have_mlir(), reason=f"needs the upstream MLIR bindings: {MLIR_EXTRA}"
)
HW = Hardware.preset("dynaplasia")


@pytest.fixture(scope="session")
def via_mlir() -> dict[str, Any]:
    """Each test model through torch-mlir, once per session."""
    from cmswitch.frontend import from_onnx

    return {m: from_onnx(ONNX / f"{m}.onnx", input_shapes=SHAPES.get(m)) for m in MODELS}


@pytest.fixture(scope="session")
def direct() -> dict[str, Any]:
    return {m: import_onnx(ONNX / f"{m}.onnx", input_shapes=SHAPES.get(m)) for m in MODELS}


def signature(module: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The CIM operators in program order: conv or matrix product, and the
    M x N x K x groups problem with its stationarity (what the scheduler
    sees). A matrix product with a constant right operand is the same
    workload as cim.linear or cim.matmul."""
    work = Workload.from_module(module, HW)
    return [("conv" if o.kind == "conv2d" else "mmm", astuple(o.shape)) for o in work.ops]


def feeds_for(name: str, sess: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    feeds = {}
    for inp in sess.get_inputs():
        shape = SHAPES.get(name, {}).get(inp.name) or tuple(inp.shape)
        if "int64" in inp.type:
            feeds[inp.name] = rng.integers(0, 64, shape).astype(np.int64)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


# ----------------------------------------------------------------- workload


@needs_mlir
@pytest.mark.parametrize("name", MODELS)
def test_same_workload_as_the_direct_importer(name: str, via_mlir: dict, direct: dict) -> None:
    mine, theirs = via_mlir[name].module, direct[name].module
    mine.verify()
    assert signature(mine) == signature(theirs)
    assert Workload.from_module(mine, HW).macs == Workload.from_module(theirs, HW).macs > 0


@needs_mlir
@pytest.mark.parametrize("name", MODELS)
def test_both_frontends_match_onnxruntime(name: str, via_mlir: dict, direct: dict) -> None:
    ort = pytest.importorskip("onnxruntime")
    from cmswitch.simulator.reference import run_reference

    sess = ort.InferenceSession(str(ONNX / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    feeds = feeds_for(name, sess)
    want = sess.run(None, feeds)
    for result in (via_mlir[name], direct[name]):
        got = run_reference(result.module, list(feeds.values()), result.store)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def _conv_macs(path: Path) -> int:
    """MACs of the Conv / Gemm / MatMul nodes from ONNX shape inference
    (independent of both frontends)."""
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)), data_prop=True)
    shapes = {vi.name: tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
              for vi in (*model.graph.input, *model.graph.value_info, *model.graph.output)}  # fmt: skip
    shapes.update({t.name: tuple(t.dims) for t in model.graph.initializer})
    total = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            total += math.prod(shapes[node.output[0]]) * math.prod(shapes[node.input[1]][1:])
        elif node.op_type in ("Gemm", "MatMul"):
            total += math.prod(shapes[node.output[0]]) * shapes[node.input[0]][-1]
    return total


@needs_mlir
@pytest.mark.parametrize("name", ["grouped_cnn", "gpt2_tiny"])
def test_new_exports_keep_every_mac(name: str, via_mlir: dict) -> None:
    module = via_mlir[name].module
    macs = sum(op.matmul_shape().macs for op in module.walk() if isinstance(op, ComputeOp))
    assert macs == _conv_macs(ONNX / f"{name}.onnx") > 0


@needs_mlir
def test_grouped_and_depthwise_convolutions_keep_their_groups(via_mlir: dict) -> None:
    convs = [op for op in via_mlir["grouped_cnn"].module.walk() if isinstance(op, Conv2dOp)]
    assert [c.group.value.data for c in convs] == [1, 4, 16, 2]
    assert [c.geometry()[2] for c in convs] == [(1, 1), (1, 1), (2, 2), (1, 1)]  # dilations
    assert all(c.bias is not None for c in convs)  # accumulators start from the bias
    tiny = [op for op in via_mlir["tiny_cnn"].module.walk() if isinstance(op, Conv2dOp)]
    assert [c.group.value.data for c in tiny] == [1, 8, 1]  # depthwise_conv_2d_nchw_chw


@needs_mlir
@pytest.mark.parametrize(("name", "linears", "matmuls"),
                         [("bert_tiny", 12, 4), ("gpt2_tiny", 9, 4), ("llama_tiny", 15, 4)])  # fmt: skip
def test_transformer_weights_are_stationary(name: str, linears: int, matmuls: int,
                                            via_mlir: dict) -> None:  # fmt: skip
    """Linear layers arrive as batch_matmul with the weight broadcast over the
    batch (or matmul for GPT-2's Conv1D): cim.linear; attention's two
    products have run-time operands on both sides: cim.matmul."""
    ops = list(via_mlir[name].module.walk())
    assert len([op for op in ops if isinstance(op, LinearOp)]) == linears
    mms = [op for op in ops if isinstance(op, MatmulOp)]
    assert len(mms) == matmuls
    assert not any(op.matmul_shape().stationary for op in mms)


@needs_mlir
@pytest.mark.parametrize("name", ["tiny_cnn", "bert_tiny", "gpt2_tiny", "opt_tiny"])
def test_decomposed_softmax_and_layernorm_are_fused_back(name: str, via_mlir: dict,
                                                         direct: dict) -> None:  # fmt: skip
    """torch-mlir decomposes them into reductions and point-wise ops; the
    conversion re-forms the cim ops the direct importer emits."""

    def count(module: Any, kind: str) -> int:
        return sum(op.name == kind for op in module.walk())

    for kind in ("cim.softmax", "cim.layernorm"):
        assert count(via_mlir[name].module, kind) == count(direct[name].module, kind)
    assert count(via_mlir[name].module, "cim.softmax") > 0


@needs_mlir
def test_weights_go_to_the_store_under_their_names(via_mlir: dict) -> None:
    result = via_mlir["bert_tiny"]
    from cmswitch.dialects.cim import ConstantOp

    consts = [op for op in result.module.walk() if isinstance(op, ConstantOp)]
    stored = [c for c in consts if c.value is None]
    assert stored and all(c.sym.data in result.store for c in stored)
    assert len({c.sym.data for c in consts}) == len(consts)
    assert any(c.sym.data.startswith("/inner/encoder/layer.0/attention/self/query") for c in consts)


@needs_mlir
def test_arguments_carry_the_model_names(via_mlir: dict) -> None:
    from xdsl.dialects.func import FuncOp

    fn = next(op for op in via_mlir["bert_tiny"].module.ops if isinstance(op, FuncOp))
    assert fn.sym_name.data == "main"
    assert fn.arg_attrs is not None
    assert fn.arg_attrs.data[0].data["cim.name"].data == "input_ids"  # type: ignore[attr-defined]
    assert fn.body.block.args[0].name_hint == "input_ids"


# ------------------------------------------------------------------- errors


@needs_mlir
@pytest.mark.parametrize("name", ABSENT_DATA)
def test_absent_weights_are_refused_with_a_location(name: str) -> None:
    from cmswitch.frontend import from_onnx

    with pytest.raises(FrontendError, match=rf"{name}\.onnx: initializer '.*' keeps its data in "
                                            rf"{name}\.onnx\.data, which is absent"):  # fmt: skip
        from_onnx(ONNX / f"{name}.onnx")


@needs_mlir
def test_unmappable_op_names_the_onnx_node(tmp_path: Path) -> None:
    """A cumulative sum over run-time data (tm_tensor.scan) has no cim op."""
    graph = helper.make_graph(
        [helper.make_node("CumSum", ["x", "axis"], ["y"], name="running_total")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[helper.make_tensor("axis", TensorProto.INT64, [], [1])],
    )  # fmt: skip
    path = tmp_path / "cumsum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    from cmswitch.frontend import from_onnx

    with pytest.raises(FrontendError) as err:
        from_onnx(path)
    assert str(err.value) == (
        f"{path}: running_total: tm_tensor.scan (a cumulative sum) over run-time data is not "
        "supported"
    )


@needs_mlir
def test_op_torch_mlir_cannot_lower_names_the_onnx_node(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("DFT", ["x"], ["y"], name="my_dft")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 2])],
    )  # fmt: skip
    path = tmp_path / "dft.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    from cmswitch.frontend import from_onnx

    with pytest.raises(FrontendError) as err:
        from_onnx(path)
    assert str(err.value).startswith(f"{path}: my_dft: failed to legalize operation")
    assert "onnx.DFT" in str(err.value) and "\n" not in str(err.value)


def test_hand_written_linalg_errors_point_into_the_file(tmp_path: Path) -> None:
    src = tmp_path / "bad.mlir"
    src.write_text(
        "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %e = tensor.empty() : tensor<4xf32>\n"
        "  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, "
        "affine_map<(d0) -> (d0)>], iterator_types = [\"parallel\"]} "
        "ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {\n"
        "  ^bb0(%in: f32, %out: f32):\n"
        "    %s = math.atan %in : f32\n"
        "    linalg.yield %s : f32\n"
        "  } -> tensor<4xf32>\n"
        "  func.return %y : tensor<4xf32>\n"
        "}\n"
    )  # fmt: skip
    with pytest.raises(FrontendError) as err:
        linalg_file_to_cim(src)
    assert (
        str(err.value) == f"{src}:3:3: linalg.generic math.atan in a linalg body is not supported"
    )


def test_without_the_extra_the_message_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "torch_mlir", None)  # import fails as if absent
    monkeypatch.setitem(sys.modules, "torch_mlir.ir", None)
    assert not have_mlir()
    with pytest.raises(MlirUnavailableError, match=r"pip install 'cmswitch\[mlir\]'"):
        require_mlir()
    from cmswitch.cli import main

    assert main(["import", str(ONNX / "tiny_cnn.onnx"), "--via", "mlir"]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [
        "cmswitch: error: `--via mlir` needs the upstream MLIR bindings (torch-mlir): "
        "pip install 'cmswitch[mlir]'"
    ]


def test_hex_splats_keep_their_bit_pattern() -> None:
    """MLIR prints a -inf splat as its bit pattern; xDSL 0.74 would read the
    integer 4286578688."""
    from xdsl.parser import Parser

    from cmswitch.ir import make_context
    from cmswitch.lowering.linalg_emit import array_of

    text = fix_hex_splats("dense<0xFF800000> : tensor<2x3xf32>")
    attr = Parser(make_context(), text).parse_attribute()
    assert np.array_equal(array_of(attr), np.full((2, 3), -np.inf, np.float32))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the CLI


def test_cli_imports_linalg_mlir_and_compiles_it(tmp_path: Path) -> None:
    """Committed torch-mlir output: works without the extra."""
    from cmswitch.cli import main
    from cmswitch.models import load_model

    out = tmp_path / "cnn.mlir"
    assert main(["import", str(DATA / "mlir" / "tiny_cnn.linalg.mlir"), "-o", str(out)]) == 0
    text = out.read_text()
    assert "cim.conv2d" in text and "linalg." not in text
    assert (tmp_path / "cnn.weights.npz").exists()
    model = load_model(str(out))
    assert signature(model.module) == signature(import_onnx(ONNX / "tiny_cnn.onnx").module)
    assert main(["compile", str(out), "-o", str(tmp_path / "compiled.mlir")]) == 0


@needs_mlir
def test_cli_via_mlir_then_simulate_against_onnxruntime(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    from cmswitch.cli import main
    from cmswitch.models import load_model
    from cmswitch.simulator.reference import run_reference

    out = tmp_path / "gpt2.mlir"
    src = ONNX / "gpt2_tiny.onnx"
    assert main(["import", str(src), "--via", "mlir", "-o", str(out)]) == 0
    model = load_model(str(out))
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    feeds = feeds_for("gpt2_tiny", sess)
    (want,) = sess.run(None, feeds)
    (got,) = run_reference(model.module, list(feeds.values()), model.store)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ back out


def _upstream_roundtrip(generic: str) -> str:
    from torch_mlir import ir  # pyright: ignore[reportMissingImports]

    ctx = ir.Context()
    ctx.allow_unregistered_dialects = True
    return ir.Module.parse(generic, ctx).operation.get_asm(print_generic_op_form=True)


@needs_mlir
@pytest.mark.parametrize("compiled", [False, True])
def test_cim_output_travels_through_upstream_mlir(compiled: bool, tmp_path: Path) -> None:
    """xDSL's generic cim text parses in upstream MLIR (unregistered dialects
    allowed); what MLIR prints parses in xDSL as the same IR, and printing
    that again through MLIR gives the same text."""
    from cmswitch.ir import parse_module, print_module
    from cmswitch.models import load_model

    model = load_model(str(ONNX / "tiny_cnn.onnx"))
    module = model.module
    if compiled:
        from cmswitch.compile import compile_model
        from cmswitch.passes.cim_schedule import ScheduleOptions

        module = compile_model(model, ScheduleOptions(policy="cim-mlc")).module
        assert "cim.segment" in print_module(module)
    generic = print_module(module, generic=True)
    upstream = _upstream_roundtrip(generic)
    back = parse_module(upstream)
    assert back.is_structurally_equivalent(parse_module(generic))
    assert _upstream_roundtrip(print_module(back, generic=True)) == upstream


@needs_mlir
@pytest.mark.parametrize("model_name", ["tiny-cnn", "tiny-bert"])
def test_cim_meta_program_travels_through_upstream_mlir(model_name: str) -> None:
    """The same for a `cim_meta` program (places, switches, programming)."""
    from cmswitch.compile import compile_model
    from cmswitch.ir import parse_module, print_module
    from cmswitch.models import load_model
    from cmswitch.passes.cim_schedule import ScheduleOptions
    from cmswitch.simulate import meta_of

    compiled = compile_model(load_model(model_name), ScheduleOptions(policy="cmswitch"))
    program = meta_of(compiled)
    text = print_module(program, generic=True)
    assert '"cim_meta.program"' in text and '"cim_meta.segment"' in text
    upstream = _upstream_roundtrip(text)
    back = parse_module(upstream)
    assert back.is_structurally_equivalent(parse_module(text))
    assert _upstream_roundtrip(print_module(back, generic=True)) == upstream


# ------------------------------------------------------------------ PyTorch


@needs_mlir
def test_from_torch_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="from_torch needs torch (CPU)")
    from cmswitch.frontend import from_torch
    from cmswitch.simulator.reference import run_reference

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, groups=3), nn.ReLU(), nn.Conv2d(6, 4, 1),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 10), nn.Tanh(), nn.Linear(10, 3),
    ).eval()  # fmt: skip
    x = torch.randn(2, 3, 6, 6)
    result = from_torch(model, (x,))
    kinds = [op.name for op in result.module.walk() if isinstance(op, ComputeOp)]
    assert kinds == ["cim.conv2d", "cim.conv2d", "cim.linear", "cim.linear"]
    with torch.no_grad():
        want = model(x).numpy()
    (got,) = run_reference(result.module, [x.numpy()], result.store)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ------------------------------------------- hand-written linalg vs NumPy

HAND_WRITTEN = Path(__file__).parent / "filecheck" / "passes" / "convert-linalg-to-cim.mlir"


def _depthwise(x: np.ndarray) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((1, 2, 3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            out[:, :, i, j] = 0.5 * xp[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].sum(axis=(2, 3))
    return out


_TABLE = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], np.float32)
_W2 = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
_TABLE6 = np.arange(12, dtype=np.float32).reshape(6, 2)
_W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]], np.float32)
CASES: dict[str, tuple[list[np.ndarray], Any]] = {
    "fc": ([np.arange(6, dtype=np.float32).reshape(3, 2)],
           lambda x: x @ np.array([[1.0, 2.0], [3.0, 4.0]]).T + np.array([0.5, -0.5])),
    "bmm_weight": ([np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)], lambda x: x @ _W),
    "bmm_dynamic": ([np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4),
                     np.linspace(0, 2, 40, dtype=np.float32).reshape(2, 4, 5)], np.matmul),
    "relu_rowmax": ([np.linspace(-2, 1, 24, dtype=np.float32).reshape(2, 3, 4)],
                    lambda x: np.maximum(x, 0).max(axis=2, keepdims=True)),
    "depthwise": ([np.linspace(-1, 2, 50, dtype=np.float32).reshape(1, 2, 5, 5)], _depthwise),
    "embedding": ([np.array([3, 0, 2], np.int64)], lambda i: _TABLE[i]),
    "causal_mask": ([np.ones((2, 2), np.float32)],
                    lambda s: s + np.array([[0.0, -1e9], [0.0, 0.0]], np.float32)),
    "accumulate": ([np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 2, 3),
                    np.linspace(0, 1, 6, dtype=np.float32).reshape(1, 3, 2),
                    np.full((1, 2, 2), 10.0, np.float32)], lambda a, b, c: a @ b + c),
    "fc_affine": ([np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)],
                  lambda x: (x @ np.array([[1.0, 2.0], [3.0, 4.0]]) - [1.0, -1.0]) / [2.0, 4.0]),
    "two_layers": ([np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)],
                   lambda x: ((x @ _W2 + [0.5, -0.5]) @ _W2) + [1.5, 2.5]),
    "relu6": ([np.linspace(-10, 10, 8, dtype=np.float32)], lambda x: np.clip(x, 0, 6)),
    "wrap_table": ([np.array([-1, 0, -6], np.int64)], lambda i: _TABLE6[i]),
    "wrap_other": ([np.array([-1, 2, -3], np.int64)], lambda i: _TABLE6[np.where(i < 0, i + 4, i)]),
    "gather_columns": ([np.arange(8, dtype=np.float32).reshape(2, 4), np.array([3, 1, 1], np.int64)],
                       lambda t, i: t[:, i].T),
}  # fmt: skip


@pytest.fixture(scope="module")
def hand_written() -> Any:
    return linalg_file_to_cim(HAND_WRITTEN)


@pytest.mark.parametrize("function", list(CASES))
def test_hand_written_linalg_computes_what_numpy_does(function: str, hand_written: Any) -> None:
    from cmswitch.simulator.reference import run_reference

    inputs, reference = CASES[function]
    (got,) = run_reference(hand_written.module, inputs, hand_written.store, function=function)
    np.testing.assert_allclose(got, reference(*inputs), rtol=1e-6, atol=1e-6)


def test_constant_symbols_are_unique_per_function(hand_written: Any) -> None:
    """They key the weight store: two constants under one name would share
    data once stored."""
    from xdsl.dialects.func import FuncOp

    from cmswitch.dialects.cim import ConstantOp

    for fn in (op for op in hand_written.module.ops if isinstance(op, FuncOp)):
        syms = [op.sym.data for op in fn.walk() if isinstance(op, ConstantOp)]
        assert len(syms) == len(set(syms)), fn.sym_name.data


def test_imported_cim_file_reloads_as_cim(tmp_path: Path) -> None:
    """A cim file whose symbols mention linalg (``"linalg.weight"``) is cim,
    loaded with its weight store, not converted again."""
    from cmswitch.cli import main
    from cmswitch.frontend import holds_linalg
    from cmswitch.models import load_model
    from cmswitch.simulator.reference import run_reference

    out = tmp_path / "hand.mlir"
    assert main(["import", str(HAND_WRITTEN), "-o", str(out)]) == 0
    assert holds_linalg(HAND_WRITTEN) and not holds_linalg(out)
    assert '"linalg.weight"' in out.read_text()
    model = load_model(str(out))
    inputs, reference = CASES["bmm_weight"]
    (got,) = run_reference(model.module, inputs, model.store, function="bmm_weight")
    np.testing.assert_allclose(got, reference(*inputs), rtol=1e-6)


# Every other committed export: the MLIR path gives the direct importer's
# workload, or refuses with one located line (never a traceback).
OTHER_EXPORTS = sorted(
    p.relative_to(ONNX).as_posix()
    for p in (*ONNX.glob("*.onnx"), *ONNX.glob("sim/*.onnx"))
    if p.stem not in MODELS and p.stem not in ABSENT_DATA and p.stem != "tiny_cnn_dynbatch"
)


@needs_mlir
@pytest.mark.parametrize("rel", OTHER_EXPORTS)
def test_every_export_same_workload_or_located_refusal(rel: str) -> None:
    from cmswitch.frontend import FrontendError, from_onnx

    path = ONNX / rel
    direct_result = import_onnx(path)
    try:
        mine = from_onnx(path)
    except FrontendError as err:
        message = str(err)
        assert "\n" not in message.strip() and message.startswith(str(path)), message
        return
    assert signature(mine.module) == signature(direct_result.module)
