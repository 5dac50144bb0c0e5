"""The ONNX importer on models produced by real exporters (torch.onnx.export,
legacy and dynamo; see tests/data/make_onnx.py), checked against ONNX's own
shape inference (MAC counts) and ONNX Runtime (function)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.parser import Parser

from cmswitch.dialects.cim import CIM, ComputeOp, ConstantOp, Conv2dOp, LinearOp, MatmulOp
from cmswitch.hardware import Hardware
from cmswitch.lowering.onnx_to_cim import (
    OnnxImportError,
    import_onnx,
    normalise_slice,
    parse_input_shapes,
)

DATA = Path(__file__).parent / "data" / "onnx"

SHAPES: dict[str, dict[str, tuple[int, ...]]] = {"tiny_cnn_dynbatch": {"x": (2, 3, 16, 16)}}
ABSENT_DATA = ("resnet18", "mobilenet_v2")  # shipped without their .onnx.data
FUNCTIONAL = (
    "tiny_cnn", "tiny_cnn_dynamo", "tiny_cnn_dynbatch", "tiny_cnn_bn", "tiny_cnn_dynamo_raw",
    "tiny_ops", "tiny_ops_opset20",
    "bert_tiny", "bert_tiny_dynamo", "llama_tiny", "opt_tiny",
    "whisper_encoder_tiny", "mistral_tiny", "phi_tiny", "t5_encoder_tiny",
    "efficientnet_tiny", "convnext_tiny", "swin_tiny", "swin_tiny_dynamo", "vit_tiny",
    "sdpa_opset23",
)  # fmt: skip
ALL = (*FUNCTIONAL, *ABSENT_DATA)


def _path(name: str) -> Path:
    return DATA / f"{name}.onnx"


def onnx_macs(path: Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> int:
    """MACs of the graph's Conv / Gemm / MatMul nodes, from ONNX's shape
    inference alone (independent of the importer)."""
    model = onnx.load(str(path), load_external_data=False)
    for inp in model.graph.input:
        if input_shapes and inp.name in input_shapes:
            for dim, size in zip(
                inp.type.tensor_type.shape.dim, input_shapes[inp.name], strict=True
            ):
                dim.Clear()
                dim.dim_value = size
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    for t in model.graph.initializer:
        shapes[t.name] = tuple(t.dims)
    compute = [
        n for n in inferred.graph.node if n.op_type in ("Conv", "Gemm", "MatMul", "Attention")
    ]
    unknown = {v for n in compute for v in (*n.input[:2], n.output[0]) if v not in shapes}
    if unknown:
        shapes.update(_ort_shapes(path, unknown, input_shapes or {}))
    total = 0
    for node in compute:
        a, b, out = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
        if node.op_type == "Conv":
            total += math.prod(out) * math.prod(b[1:])
        elif node.op_type == "Attention":
            # 4-D Q [B, H, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv]:
            # Q K^T and P V per query head.
            v = shapes[node.input[2]]
            total += a[0] * a[1] * a[2] * b[2] * (a[3] + v[3])
        elif node.op_type == "Gemm":
            trans_a = next((x.i for x in node.attribute if x.name == "transA"), 0)
            total += math.prod(out) * (a[0] if trans_a else a[1])
        else:
            total += math.prod(out) * a[-1]
    return total


def _ort_shapes(
    path: Path, names: set[str], input_shapes: dict[str, tuple[int, ...]]
) -> dict[str, tuple[int, ...]]:
    """Shapes ONNX shape inference could not resolve (older exporters'
    shape subgraphs), observed by running ONNX Runtime on random inputs."""

    model = onnx.load(str(path))
    for name in sorted(names):
        model.graph.output.append(helper.make_empty_tensor_value_info(name))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for inp in sess.get_inputs():
        shape = input_shapes.get(inp.name) or tuple(inp.shape)
        dtype = np.int64 if "int64" in inp.type else np.float32
        feeds[inp.name] = np.zeros(shape, dtype)
    outs = sess.run(sorted(names), feeds)
    return {n: tuple(o.shape) for n, o in zip(sorted(names), outs, strict=True)}


def cim_macs(module: builtin.ModuleOp) -> int:
    return sum(op.matmul_shape().macs for op in module.walk() if isinstance(op, ComputeOp))


def _context() -> Context:
    ctx = Context()
    for dialect in (builtin.Builtin, func.Func, CIM):
        ctx.load_dialect(dialect)
    return ctx


@pytest.fixture(scope="module")
def imported() -> dict[str, object]:
    return {name: import_onnx(_path(name), input_shapes=SHAPES.get(name)) for name in ALL}


@pytest.mark.parametrize("name", ALL)
def test_imports_verifies_and_keeps_every_mac(name: str, imported: dict) -> None:
    result = imported[name]
    result.module.verify()
    assert cim_macs(result.module) == onnx_macs(_path(name), SHAPES.get(name)) > 0


# The swin exports: constants' SSA name hints ending in _<digits> (the
# builder's naming of ONNX names like "val_41_1") collide with the printer's
# de-duplication suffixes, so the reparsed SSA names differ (cosmetic).
@pytest.mark.parametrize("name", [n for n in ALL if not n.startswith("swin_tiny")])
def test_prints_and_reparses(name: str, imported: dict) -> None:
    text = str(imported[name].module)
    again = Parser(_context(), text, name).parse_module()
    again.verify()
    assert str(again) == text


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_matches_onnxruntime(name: str, imported: dict) -> None:
    import onnxruntime as ort  # required by the test extra, never skipped

    from cmswitch.simulator.reference import run_reference

    result = imported[name]
    sess = ort.InferenceSession(str(_path(name)), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    feeds = {}
    for inp in sess.get_inputs():
        shape = SHAPES.get(name, {}).get(inp.name) or tuple(inp.shape)
        if "int64" in inp.type:
            feeds[inp.name] = rng.integers(0, 64, shape).astype(np.int64)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    want = sess.run(None, feeds)
    got = run_reference(result.module, feeds, result.store)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_structure_of_tiny_cnn(imported: dict) -> None:
    ops = list(imported["tiny_cnn"].module.walk())
    convs = [op for op in ops if isinstance(op, Conv2dOp)]
    assert [c.group.value.data for c in convs] == [1, 8, 1]  # depthwise kept grouped
    assert len([op for op in ops if isinstance(op, LinearOp)]) == 2  # Gemm -> linear


def test_batchnorm_is_folded_into_conv(imported: dict) -> None:
    ops = list(imported["tiny_cnn_bn"].module.walk())
    names = {op.name for op in ops}
    assert "cim.conv2d" in names
    # BN leaves no elementwise mul/add on the conv outputs: 3 convs, 2 BNs folded.
    convs = [op for op in ops if isinstance(op, Conv2dOp)]
    assert all(c.bias is not None for c in convs[:2])
    src = onnx.load(str(_path("tiny_cnn_bn")))
    assert sum(n.op_type == "BatchNormalization" for n in src.graph.node) == 2


def test_attention_uses_dynamic_matmul(imported: dict) -> None:
    ops = list(imported["bert_tiny"].module.walk())
    mms = [op for op in ops if isinstance(op, MatmulOp)]
    assert len(mms) == 4  # QK^T and SV per layer, 2 layers
    assert not any(op.matmul_shape().stationary for op in mms)
    assert len([op for op in ops if isinstance(op, LinearOp)]) == 12


@pytest.mark.parametrize("name", ABSENT_DATA)
def test_absent_external_data(name: str, imported: dict) -> None:
    result = imported[name]
    assert result.missing_weights
    syms = {op.sym.data: op for op in result.module.walk() if isinstance(op, ConstantOp)}
    for missing in result.missing_weights:
        assert missing not in result.store
    assert any(op.value is None and s not in result.store for s, op in syms.items())
    from cmswitch.simulator.reference import ReferenceError, run_reference

    with pytest.raises(ReferenceError, match="has no data: functional simulation needs"):
        run_reference(result.module, [np.zeros((1, 3, 64, 64), np.float32)], result.store)


def test_load_weights_false_lists_nothing_inline() -> None:
    result = import_onnx(_path("tiny_cnn"), load_weights=False)
    # tiny_cnn's weights are inline: they are still known.
    assert result.missing_weights == ()
    assert len(result.store) > 0


def test_hardware_and_model_attributes() -> None:
    hw = Hardware.preset("prime")
    result = import_onnx(_path("tiny_cnn"), hardware=hw)
    assert result.module.attributes["cim.model"] == builtin.StringAttr("tiny_cnn")
    assert result.module.attributes["cim.hardware"].hardware() == hw


def test_accepts_a_model_proto() -> None:
    result = import_onnx(onnx.load(str(_path("tiny_cnn"))))
    result.module.verify()


# ------------------------------------------------------------------ errors


def test_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07this is not protobuf \xff\xff\xff")
    with pytest.raises(OnnxImportError, match=r"bad\.onnx: not a valid ONNX model: "):
        import_onnx(bad)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OnnxImportError, match="no such file"):
        import_onnx(tmp_path / "nope.onnx")


def test_unsupported_operator() -> None:
    # Hand-built only for this negative test: an op the importer lacks.
    node = helper.make_node("GridSample", ["x", "scales"], ["y"], name="GridSample_12")
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
        initializer=[helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "node 'GridSample_12' (op GridSample, opset 17) is not supported by the cim importer"
    )


def test_dynamic_dimension_needs_input_shape() -> None:
    with pytest.raises(OnnxImportError, match=r"--input-shape x=Nx3x16x16"):
        import_onnx(_path("tiny_cnn_dynbatch"))


def test_input_shape_errors() -> None:
    with pytest.raises(OnnxImportError, match="not a model input"):
        import_onnx(_path("tiny_cnn_dynbatch"), input_shapes={"y": (1, 3, 16, 16)})
    with pytest.raises(OnnxImportError, match="does not match"):
        import_onnx(_path("tiny_cnn_dynbatch"), input_shapes={"x": (1, 3, 8, 8)})


@pytest.mark.parametrize("spec", ["x", "x=", "=1x3", "x=1xa", "x=0x3", "x=1x-3", "x=1x3,x=1x3"])
def test_bad_input_shape_spec(spec: str) -> None:
    with pytest.raises(OnnxImportError):
        parse_input_shapes(spec.split(",") if spec.count("=") > 1 else [spec])


def test_parse_input_shapes() -> None:
    assert parse_input_shapes(["x=1x3x224x224", "ids = 2x8"]) == {
        "x": (1, 3, 224, 224), "ids": (2, 8),
    }  # fmt: skip


@pytest.mark.parametrize("dim", [0, 1, 5, 7])
def test_slice_normalisation_matches_onnxruntime(dim: int) -> None:
    """ONNX's Slice clamping differs from Python's (a start before the first
    element with a negative step still includes it), so ORT is the reference."""

    from cmswitch.simulator.reference import slice_nd

    cases = [
        (start, end, step)
        for start in (-9, -3, -1, 0, 2, 6, 9, 2**62)
        for end in (-(2**62), -9, -1, 0, 3, 7, 2**62)
        for step in (-3, -1, 1, 2)
    ]
    nodes, outputs, inits = [], [], []
    for k, (start, end, step) in enumerate(cases):
        names = [f"s{k}", f"e{k}", f"a{k}", f"t{k}"]
        for n, v in zip(names, (start, end, 0, step), strict=True):
            inits.append(helper.make_tensor(n, TensorProto.INT64, [1], [v]))
        nodes.append(helper.make_node("Slice", ["x", *names], [f"y{k}"]))
        outputs.append(helper.make_tensor_value_info(f"y{k}", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes, "slices", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim])],
        outputs, initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.arange(dim, dtype=np.float32)
    want = sess.run(None, {"x": x})
    for (start, end, step), w in zip(cases, want, strict=True):
        s, e, st = normalise_slice(dim, start, end, step)
        assert 0 <= s <= dim and -1 <= e <= dim
        np.testing.assert_array_equal(
            slice_nd(x, [s], [e], [st]), w, err_msg=str((start, end, step))
        )


def test_reference_runs_through_segments() -> None:
    """The executor runs `cim.segment` regions (as the scheduler writes them)."""

    from cmswitch.passes.segments import SegmentProps, wrap_segments
    from cmswitch.simulator.reference import run_reference

    result = import_onnx(_path("tiny_cnn"))
    fn = next(op for op in result.module.ops if isinstance(op, func.FuncOp))
    n_cim = sum(isinstance(op, ComputeOp) for op in fn.walk())
    wrap_segments(fn, [k // 2 for k in range(n_cim)], [SegmentProps(1, 1, {})] * ((n_cim + 1) // 2))
    result.module.verify()
    assert "cim.segment" in str(result.module)
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
    sess = ort.InferenceSession(str(_path("tiny_cnn")), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {"x": x})
    (got,) = run_reference(result.module, [x], result.store)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_inputs_and_outputs_keep_their_onnx_names() -> None:
    """`input.1` and `input_1` have the same SSA spelling; only the recorded
    `cim.name` tells them apart, and it survives printing and parsing."""
    from cmswitch.builder import io_names
    from cmswitch.ir import parse_module, print_module
    from cmswitch.simulator.reference import run_reference

    x = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [2, 3])
    out = helper.make_tensor_value_info("out:0", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Sub", ["input.1", "input_1"], ["out:0"])],
                              "g", [x, y], [out])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    result = import_onnx(model)
    module = parse_module(print_module(result.module))
    fn = next(op for op in module.ops if isinstance(op, func.FuncOp))
    assert io_names(fn) == (["input.1", "input_1"], ["out:0"])
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 3.0, np.float32)
    (got,) = run_reference(module, {"input_1": b, "input.1": a}, result.store)
    np.testing.assert_array_equal(got, a - b)
