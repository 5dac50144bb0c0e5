"""Single ONNX operators (the ones added or fixed for issue 10) imported and
run by the reference executor, checked against ONNX Runtime on hand-built
graphs with adversarial inputs (NaN, inf, mixed signs, ties, long axes), and
the committed real exports that use them."""

from __future__ import annotations

import math
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from cmswitch.dialects.cim import Conv2dOp, ElementwiseOp, LinearOp, MatmulOp
from cmswitch.lowering.onnx_fold import fold_node
from cmswitch.lowering.onnx_to_cim import OnnxImportError, import_onnx
from cmswitch.simulator.reference import run_reference

DATA = Path(__file__).parent / "data" / "onnx"
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, np.ndarray],
    outputs: list[tuple[str, int]],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 21,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in inputs.items()
        ],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
        [numpy_helper.from_array(v, n) for n, v in (inits or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _both(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> tuple[list, list]:
    res = import_onnx(model)
    ours = run_reference(res.module, feeds, res.store)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return ours, sess.run(None, feeds)


def _assert_same(ours: list, theirs: list, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        b = np.asarray(b)
        assert a.shape == b.shape
        if b.dtype == np.bool_ or np.issubdtype(b.dtype, np.integer):
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(
                a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True
            )


SPECIALS = np.array([[1.5, -2.0, np.nan, np.inf], [-np.inf, 0.0, -0.5, 3e38]], np.float32)


@pytest.mark.parametrize(
    "op,attrs",
    [("IsNaN", {}), ("IsInf", {}), ("IsInf", {"detect_negative": 0}),
     ("IsInf", {"detect_positive": 0})],
)  # fmt: skip
def test_isnan_isinf(op: str, attrs: dict) -> None:
    m = _model([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": SPECIALS}, [("y", B)])
    ours, theirs = _both(m, {"x": SPECIALS})
    assert ours[0].any()  # the old importer answered all-false
    _assert_same(ours, theirs)


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_mod_sign_semantics(fmod: int, dtype: type) -> None:
    if dtype is np.float32 and fmod == 0:
        # ONNX requires fmod=1 for floats (ORT refuses); the node tests
        # check fmod=0 on floats against Python's %.
        a = np.array([5.5, -5.5, 5.5, -5.5], np.float32)
        b = np.array([2.0, 2.0, -2.0, -2.0], np.float32)
        m = _model([helper.make_node("Mod", ["a", "b"], ["y"], fmod=0)],
                   {"a": a, "b": b}, [("y", F)])  # fmt: skip
        res = import_onnx(m)
        got = run_reference(res.module, {"a": a, "b": b}, res.store)[0]
        np.testing.assert_array_equal(got, np.array([1.5, 0.5, -0.5, -1.5], np.float32))
        return
    a = np.array([7, -7, 7, -7, 6], dtype)
    b = np.array([3, 3, -3, -3, 4], dtype)
    m = _model([helper.make_node("Mod", ["a", "b"], ["y"], fmod=fmod)], {"a": a, "b": b},
               [("y", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))])  # fmt: skip
    _assert_same(*_both(m, {"a": a, "b": b}))


CAST_VALUES = np.array(
    [0.1, -1.0 / 3, 65519.0, 70000.0, 1e-8, 300.0, -500.0, 1e6, np.nan, -np.inf, 3.14159265],
    np.float32,
)


@pytest.mark.parametrize(
    "to,dtype",
    [
        (TensorProto.FLOAT16, np.float16),
        (TensorProto.BFLOAT16, ml_dtypes.bfloat16),
        (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
        (TensorProto.FLOAT8E5M2, ml_dtypes.float8_e5m2),
    ],
)
@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_rounds_to_narrow_floats(to: int, dtype: type, saturate: int) -> None:
    """Cast f32 -> narrow -> f32 equals ml_dtypes' rounding (and ONNX
    Runtime's) instead of passing f32 values through."""
    attrs = {"saturate": saturate} if to not in (TensorProto.FLOAT16, TensorProto.BFLOAT16) else {}
    m = _model(
        [helper.make_node("Cast", ["x"], ["n"], to=to, **attrs),
         helper.make_node("Cast", ["n"], ["y"], to=F)],
        {"x": CAST_VALUES}, [("y", F)],
    )  # fmt: skip
    res = import_onnx(m)
    got = run_reference(res.module, {"x": CAST_VALUES}, res.store)[0]
    x = CAST_VALUES
    if saturate and to not in (TensorProto.FLOAT16, TensorProto.BFLOAT16):
        top = float(ml_dtypes.finfo(dtype).max)
        x = np.clip(x, -top, top)
    want = x.astype(dtype).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, CAST_VALUES, equal_nan=True)
    if to in (TensorProto.FLOAT16, TensorProto.BFLOAT16) or saturate:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        np.testing.assert_array_equal(got, sess.run(None, {"x": CAST_VALUES})[0])


def test_cast_to_unsupported_type_is_refused() -> None:
    m = _model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT4E2M1)],
               {"x": CAST_VALUES}, [("y", TensorProto.FLOAT4E2M1)])  # fmt: skip
    with pytest.raises(OnnxImportError, match="cast to FLOAT4E2M1 is not supported"):
        import_onnx(m)


def test_training_dropout_is_refused_inference_dropout_is_identity() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    train = np.array(True)
    nodes = [helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])]
    m = _model(nodes, {"x": x}, [("y", F), ("mask", B)],
               inits={"r": np.array(0.5, np.float32), "t": train})  # fmt: skip
    with pytest.raises(OnnxImportError, match="training mode"):
        import_onnx(m)
    m = _model(nodes, {"x": x}, [("y", F), ("mask", B)],
               inits={"r": np.array(0.5, np.float32), "t": np.array(False)})  # fmt: skip
    _assert_same(*_both(m, {"x": x}))


def test_string_equal_is_refused_cleanly() -> None:
    x = np.array(["a", "b"], dtype=object)
    graph = helper.make_graph(
        [helper.make_node("Equal", ["x", "y"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.STRING, [2]),
         helper.make_tensor_value_info("y", TensorProto.STRING, [2])],
        [helper.make_tensor_value_info("z", B, [2])],
    )  # fmt: skip
    del x
    with pytest.raises(OnnxImportError, match="STRING is not supported"):
        import_onnx(helper.make_model(graph))


def test_gather_elements_folds_long_axes_like_onnxruntime() -> None:
    """BERT's token-type-ids buffer: GatherElements over constants on an axis
    longer than 64 (where onnx.reference breaks) is folded natively."""
    rng = np.random.default_rng(0)
    table = rng.integers(0, 5, (1, 512)).astype(np.int64)
    idx = rng.integers(-512, 512, (1, 200)).astype(np.int64)
    x = rng.standard_normal((1, 200)).astype(np.float32)
    nodes = [
        helper.make_node("GatherElements", ["table", "idx"], ["g"], axis=1),
        helper.make_node("Cast", ["g"], ["gf"], to=F),
        helper.make_node("Add", ["x", "gf"], ["y"]),
    ]
    m = _model(nodes, {"x": x}, [("y", F)], inits={"table": table, "idx": idx})
    _assert_same(*_both(m, {"x": x}))
    node = helper.make_node("GatherElements", ["a", "b"], ["c"], axis=1)
    sess = ort.InferenceSession(
        _model([node], {"a": table, "b": idx}, [("c", I64)]).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    np.testing.assert_array_equal(
        fold_node(node, [table, idx], 21)[0], sess.run(None, {"a": table, "b": idx})[0]
    )


def test_gather_elements_and_scatter_nd_dynamic() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 70)).astype(np.float32)
    idx = rng.integers(-70, 70, (4, 5)).astype(np.int64)
    upd = rng.standard_normal((2, 70)).astype(np.float32)
    where = np.array([[3], [1]], np.int64)
    nodes = [
        helper.make_node("GatherElements", ["x", "i"], ["g"], axis=1),
        helper.make_node("ScatterND", ["x", "w", "u"], ["s"], reduction="add"),
    ]
    m = _model(nodes, {"x": x, "i": idx, "u": upd}, [("g", F), ("s", F)], inits={"w": where})
    _assert_same(*_both(m, {"x": x, "i": idx, "u": upd}))


@pytest.mark.parametrize(
    "equation,shapes,cim_op",
    [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], MatmulOp),
        ("bhid,bhjd->bhij", [(1, 2, 3, 4), (1, 2, 5, 4)], MatmulOp),
        ("ij,kj->ik", [(3, 4), (5, 4)], LinearOp),
        ("...ij,jk", [(2, 3, 4), (4, 5)], LinearOp),
        ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)], MatmulOp),
        ("ij->ji", [(3, 4)], None),
        ("bij->b", [(2, 3, 4)], None),
    ],
)
def test_einsum_matmul_forms(equation: str, shapes: list, cim_op: type | None) -> None:
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    names = ["a", "b"][: len(arrays)]
    inputs = {"a": arrays[0]}
    inits = {"b": arrays[1]} if cim_op is LinearOp else {}
    if len(arrays) > 1 and cim_op is not LinearOp:
        inputs["b"] = arrays[1]
    m = _model([helper.make_node("Einsum", names, ["y"], equation=equation)], inputs, [("y", F)],
               inits=inits)  # fmt: skip
    _assert_same(*_both(m, inputs), rtol=1e-5, atol=1e-5)
    if cim_op is not None:
        ops = list(import_onnx(m).module.walk())
        assert any(isinstance(op, cim_op) for op in ops)


@pytest.mark.parametrize(
    "attrs,x_shape,w_shape",
    [
        ({"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]}, (1, 3, 5, 5), (3, 4, 3, 3)),
        ({"strides": [3, 2], "group": 2, "dilations": [2, 1]}, (1, 4, 4, 3), (4, 3, 2, 3)),
        ({"strides": [2, 2], "auto_pad": "SAME_UPPER"}, (1, 2, 4, 4), (2, 2, 3, 3)),
        ({"strides": [2, 2], "output_shape": [9, 10]}, (1, 2, 4, 4), (2, 2, 3, 3)),
        ({"strides": [2], "pads": [2, 0]}, (1, 2, 6), (2, 3, 4)),
    ],
)  # fmt: skip
def test_conv_transpose_is_a_cim_operator(attrs: dict, x_shape: tuple, w_shape: tuple) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * attrs.get("group", 1)).astype(np.float32)
    m = _model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)], {"x": x},
               [("y", F)], inits={"w": w, "b": b})  # fmt: skip
    _assert_same(*_both(m, {"x": x}), rtol=1e-4, atol=1e-4)
    ops = [op for op in import_onnx(m).module.walk() if isinstance(op, LinearOp | Conv2dOp)]
    assert len(ops) == 1
    if attrs.get("group", 1) == 1:
        # Ungrouped: exactly the transposed convolution's MACs, one per
        # (input pixel, input channel, output channel, kernel tap).
        assert isinstance(ops[0], LinearOp)
        assert ops[0].matmul_shape().macs == math.prod(x_shape) * math.prod(w_shape[1:])
    else:
        assert isinstance(ops[0], Conv2dOp)


@pytest.mark.parametrize(
    "attrs,scales,sizes",
    [
        ({"mode": "nearest"}, [1, 1, 2, 3], None),
        ({"mode": "nearest", "nearest_mode": "ceil",
          "coordinate_transformation_mode": "asymmetric"}, [1, 1, 0.6, 1.7], None),
        ({"mode": "linear"}, [1, 1, 2, 2], None),
        ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, None, [1, 2, 7, 3]),
        ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, None,
         [1, 2, 1, 9]),
        ({"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, [1, 1, 0.5, 1.5],
         None),
    ],
)  # fmt: skip
def test_resize(attrs: dict, scales: list | None, sizes: list | None) -> None:
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 4)).astype(np.float32)
    inits = {"roi": np.zeros(0, np.float32)}
    ins = ["x", "roi"]
    if scales is not None:
        inits["scales"] = np.array(scales, np.float32)
        ins.append("scales")
    else:
        inits["sizes"] = np.array(sizes, np.int64)
        ins += ["", "sizes"]
    m = _model([helper.make_node("Resize", ins, ["y"], **attrs)], {"x": x}, [("y", F)], inits=inits)
    _assert_same(*_both(m, {"x": x}), rtol=1e-5, atol=1e-5)


def test_topk_argmax_ties_and_last_index() -> None:
    x = np.array([[3, 1, 3, 2, 1], [0, 5, 5, 5, -1]], np.float32)
    nodes = [
        helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1),
        helper.make_node("TopK", ["x", "k"], ["sv", "si"], axis=1, largest=0),
        helper.make_node("ArgMax", ["x"], ["a"], axis=1, keepdims=0),
        helper.make_node("ArgMax", ["x"], ["al"], axis=1, select_last_index=1),
        helper.make_node("ArgMin", ["x"], ["bl"], axis=0, select_last_index=1),
        helper.make_node("CumSum", ["x", "ax"], ["c"], exclusive=1, reverse=1),
        helper.make_node("Trilu", ["x", "kk"], ["t"], upper=0),
        helper.make_node("Round", ["h"], ["r"]),
        helper.make_node("Sign", ["h"], ["s"]),
    ]
    h = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.0, 3.7], np.float32)
    m = _model(
        nodes, {"x": x, "h": h},
        [("v", F), ("i", I64), ("sv", F), ("si", I64), ("a", I64), ("al", I64), ("bl", I64),
         ("c", F), ("t", F), ("r", F), ("s", F)],
        inits={"k": np.array([3], np.int64), "ax": np.array(1, np.int64),
               "kk": np.array(1, np.int64)},
    )  # fmt: skip
    _assert_same(*_both(m, {"x": x, "h": h}))


@pytest.mark.parametrize("op", ["GroupNormalization", "InstanceNormalization"])
def test_group_and_instance_norm(op: str) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 3, 4)).astype(np.float32) * 3 + 1
    scale = rng.standard_normal(6).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    attrs = {"num_groups": 3, "epsilon": 1e-3} if op == "GroupNormalization" else {}
    m = _model([helper.make_node(op, ["x", "s", "b"], ["y"], **attrs)], {"x": x}, [("y", F)],
               inits={"s": scale, "b": bias})  # fmt: skip
    _assert_same(*_both(m, {"x": x}), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_space(mode: str) -> None:
    x = np.random.default_rng(6).standard_normal((1, 8, 2, 3)).astype(np.float32)
    nodes = [helper.make_node("DepthToSpace", ["x"], ["d"], blocksize=2, mode=mode),
             helper.make_node("SpaceToDepth", ["d"], ["s"], blocksize=2)]  # fmt: skip
    m = _model(nodes, {"x": x}, [("d", F), ("s", F)])
    _assert_same(*_both(m, {"x": x}))


REAL = ("new_ops", "new_ops_dynamo")


@pytest.mark.parametrize("name", REAL)
def test_real_export_of_new_ops_matches_onnxruntime(name: str) -> None:
    path = DATA / f"{name}.onnx"
    x = np.random.default_rng(7).standard_normal((1, 4, 4, 4)).astype(np.float32)
    res = import_onnx(path)
    ours = run_reference(res.module, {"x": x}, res.store)
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    _assert_same(ours, theirs, rtol=1e-4, atol=1e-4)
    ops = list(res.module.walk())
    assert sum(isinstance(op, ElementwiseOp) for op in ops) > 5


@pytest.mark.parametrize("name", ["new_ops_dynamo", "mistral_tiny"])
def test_new_ops_survive_split_and_schedule(name: str) -> None:
    """The new ops inside segments of a split, scheduled module (a chip so
    small that the operators must be split) still compute ONNX Runtime's
    answer."""
    from cmswitch.compile import LoadedModel, ScheduleOptions, compile_model
    from cmswitch.hardware import Hardware
    from cmswitch.workload import Workload

    small = Hardware.from_dict(
        {**Hardware.preset("dynaplasia").to_dict(), "name": "small", "arrays": 12, "rows": 16,
         "cols": 16}
    )  # fmt: skip
    path = DATA / f"{name}.onnx"
    imported = import_onnx(path, hardware=small)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(8)
    feeds = {
        i.name: rng.integers(0, 64, i.shape).astype(np.int64)
        if "int64" in i.type
        else rng.standard_normal(i.shape).astype(np.float32)
        for i in sess.get_inputs()
    }
    result = compile_model(
        LoadedModel(name, imported.module, imported.store, small),
        ScheduleOptions(policy="cmswitch"),
    )
    result.module.verify()
    assert all(op.min_arrays <= small.arrays for op in Workload.from_module(result.module, small))
    got = run_reference(result.module, feeds, imported.store)
    _assert_same(got, sess.run(None, feeds), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "case",
    ["4d_causal_gqa", "3d_bool_mask_softcap", "4d_past_causal_float_mask", "fully_masked_row"],
)
def test_attention_opset23(case: str) -> None:
    rng = np.random.default_rng(9)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    inits: dict[str, np.ndarray] = {}
    outs = [("y", F)]
    if case == "4d_causal_gqa":
        feeds = {"q": f32(2, 4, 5, 8), "k": f32(2, 2, 5, 8), "v": f32(2, 2, 5, 6)}
        node = helper.make_node("Attention", ["q", "k", "v"], ["y"], is_causal=1)
    elif case == "3d_bool_mask_softcap":
        feeds = {"q": f32(1, 4, 12), "k": f32(1, 6, 12), "v": f32(1, 6, 12)}
        inits["m"] = rng.random((4, 6)) > 0.3
        node = helper.make_node("Attention", ["q", "k", "v", "m"], ["y"], q_num_heads=3,
                                kv_num_heads=3, softcap=2.0, scale=0.5)  # fmt: skip
    elif case == "4d_past_causal_float_mask":
        feeds = {"q": f32(1, 2, 3, 4), "k": f32(1, 2, 3, 4), "v": f32(1, 2, 3, 4),
                 "pk": f32(1, 2, 2, 4), "pv": f32(1, 2, 2, 4), "m": f32(1, 1, 3, 5)}  # fmt: skip
        node = helper.make_node("Attention", ["q", "k", "v", "m", "pk", "pv"],
                                ["y", "present_k", "present_v"], is_causal=1)  # fmt: skip
        outs += [("present_k", F), ("present_v", F)]
    else:
        feeds = {"q": f32(1, 1, 3, 4), "k": f32(1, 1, 3, 4), "v": f32(1, 1, 3, 4)}
        inits["m"] = np.array([[True, True, False], [False, False, False], [True, False, True]])
        node = helper.make_node("Attention", ["q", "k", "v", "m"], ["y"])
    m = _model([node], feeds, outs, inits=inits, opset=23)
    ours, theirs = _both(m, feeds)
    _assert_same(ours, theirs, rtol=1e-4, atol=1e-5)
    ops = list(import_onnx(m).module.walk())
    assert sum(isinstance(op, MatmulOp) for op in ops) == 2


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rank", [3, 4])
def test_rotary_embedding_opset23(interleaved: int, rank: int) -> None:
    rng = np.random.default_rng(10)
    b, s, h, d, rot = 2, 5, 2, 8, 6
    x = rng.standard_normal((b, s, h * d) if rank == 3 else (b, h, s, d)).astype(np.float32)
    angles = rng.standard_normal((16, rot // 2))
    inits = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32),
             "pos": rng.integers(0, 16, (b, s)).astype(np.int64)}  # fmt: skip
    attrs = {"interleaved": interleaved, "rotary_embedding_dim": rot}
    if rank == 3:
        attrs["num_heads"] = h
    node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], **attrs)
    m = _model([node], {"x": x}, [("y", F)], inits=inits, opset=23)
    _assert_same(*_both(m, {"x": x}), rtol=1e-5, atol=1e-5)


def test_real_export_of_fused_attention_matches_onnxruntime() -> None:
    """torch's dynamo exporter at opset 23 emits the fused Attention op for
    scaled_dot_product_attention (causal, and with a boolean mask)."""
    path = DATA / "sdpa_opset23.onnx"
    assert sum(n.op_type == "Attention" for n in onnx.load(str(path)).graph.node) == 2
    x = np.random.default_rng(11).standard_normal((1, 6, 32)).astype(np.float32)
    res = import_onnx(path)
    ours = run_reference(res.module, {"x": x}, res.store)
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    _assert_same(ours, theirs, rtol=1e-4, atol=1e-5)


_R = np.random.default_rng(12)
FOLD_CASES = [
    ("Unsqueeze", [_R.standard_normal((2, 3)).astype(np.float32), np.array([0, -1])], {}),
    ("Squeeze", [_R.standard_normal((1, 3, 1)).astype(np.float32), np.array([-1])], {}),
    ("Reshape", [_R.standard_normal((2, 3, 4)).astype(np.float32), np.array([0, -1])], {}),
    ("Shape", [np.zeros((2, 3, 4, 5), np.float32)], {"start": 1, "end": -1}),
    ("Gather", [_R.standard_normal((5, 3)).astype(np.float32), np.array([[-1, 0], [4, 2]])],
     {"axis": 0}),
    ("GatherElements", [_R.standard_normal((3, 100)).astype(np.float32),
                        _R.integers(-100, 100, (3, 70))], {"axis": 1}),
    ("Concat", [np.array([1, 2]), np.array([3])], {"axis": 0}),
    ("ConstantOfShape", [np.array([2, 3])],
     {"value": numpy_helper.from_array(np.array([1.5], np.float32))}),
    ("Cast", [np.array([1.7, -1.7, 2.5], np.float32)], {"to": TensorProto.INT32}),
    ("Cast", [np.array([0.1, 70000.0], np.float32)], {"to": TensorProto.FLOAT16}),
    ("Add", [np.array([1, 2], np.int32), np.array([3, 4], np.int32)], {}),
    ("Div", [np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])], {}),
    ("Mul", [np.array([[2.0]], np.float32), np.array([3.0, 4.0], np.float32)], {}),
    ("Equal", [np.array([1, 2, 3]), np.array([1, 0, 3])], {}),
    ("Transpose", [_R.standard_normal((2, 3, 4)).astype(np.float32)], {"perm": [2, 0, 1]}),
    ("Range", [np.array(1), np.array(10), np.array(3)], {}),  # onnx.reference fallback
    ("Trilu", [_R.standard_normal((3, 4)).astype(np.float32), np.array(-1)], {"upper": 0}),
]  # fmt: skip


@pytest.mark.parametrize("op,inputs,attrs", FOLD_CASES, ids=[c[0] for c in FOLD_CASES])
def test_import_time_folding_matches_onnxruntime(op: str, inputs: list, attrs: dict) -> None:
    """Every value the importer computes at import time (its native folds
    and the onnx.reference fallback) equals ONNX Runtime's."""
    inputs = [np.asarray(x) for x in inputs]
    names = [f"i{k}" for k in range(len(inputs))]
    node = helper.make_node(op, names, ["y"], **attrs)
    ours = fold_node(node, inputs, 21)[0]
    model = _model([node], dict(zip(names, inputs, strict=True)), [("y", TensorProto.UNDEFINED)])
    model.graph.output[0].type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(ours.dtype)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, dict(zip(names, inputs, strict=True)))[0]
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_more_compositions_match_onnxruntime() -> None:
    """Pad reflect/edge/wrap, 1-D pooling, LayerNormalization statistics,
    ReduceLogSumExp / L1, OneHot, Hardmax, LpNormalization (zero rows)."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    z = np.zeros((2, 3, 7), np.float32)
    ids = np.array([[0, -1, 5, 9]], np.int64)
    nodes = [
        helper.make_node("Pad", ["x", "p"], ["pr"], mode="reflect"),
        helper.make_node("Pad", ["x", "p"], ["pe"], mode="edge"),
        helper.make_node("Pad", ["x", "p"], ["pw"], mode="wrap"),
        helper.make_node("MaxPool", ["x"], ["mp"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        helper.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[2], ceil_mode=1, strides=[2]),
        helper.make_node("LayerNormalization", ["x", "s"], ["ln", "mean", "inv"], axis=1),
        helper.make_node("ReduceLogSumExp", ["x", "ax"], ["lse"], keepdims=0),
        helper.make_node("ReduceL1", ["x", "ax"], ["l1"]),
        helper.make_node("OneHot", ["ids", "depth", "vals"], ["oh"], axis=1),
        helper.make_node("Hardmax", ["x"], ["hm"], axis=1),
        helper.make_node("Concat", ["x", "z"], ["xz"], axis=0),
        helper.make_node("LpNormalization", ["xz"], ["lp"], axis=2, p=2),
    ]
    inits = {
        "p": np.array([0, 0, 2, 0, 0, 3], np.int64), "s": rng.standard_normal((3, 7)).astype(np.float32),
        "ax": np.array([2], np.int64), "depth": np.array(6, np.int64),
        "vals": np.array([-1.0, 2.0], np.float32), "z": z,
    }  # fmt: skip
    outs = ["pr", "pe", "pw", "mp", "ap", "ln", "mean", "inv", "lse", "l1", "oh", "hm", "lp"]
    m = _model(nodes, {"x": x, "ids": ids}, [(o, F) for o in outs], inits=inits)
    _assert_same(*_both(m, {"x": x, "ids": ids}), rtol=1e-5, atol=1e-5)


def test_integer_casts_wrap_and_internal_float16_is_rounded() -> None:
    """Casts to narrow integers wrap (two's complement) like ONNX Runtime;
    a float16 value made inside the graph (not declared anywhere) is still
    rounded after each op that computes it."""
    x = np.array([300, -129, 127, 65535, -1, 2**31 + 5], np.int64)
    outs = [("u8", TensorProto.UINT8), ("i8", TensorProto.INT8), ("i16", TensorProto.INT16),
            ("u32", TensorProto.UINT32), ("i32", TensorProto.INT32)]  # fmt: skip
    nodes = [helper.make_node("Cast", ["x"], [n], to=t) for n, t in outs]
    m = _model(nodes, {"x": x}, outs)
    _assert_same(*_both(m, {"x": x}))
    f = np.array([1.0, 1000.0, 3.0], np.float32)
    nodes = [
        helper.make_node("Cast", ["f"], ["h"], to=TensorProto.FLOAT16),
        helper.make_node("Add", ["h", "h"], ["s"]),
        helper.make_node("Mul", ["s", "s"], ["p"]),  # 4e6 overflows float16
        helper.make_node("Cast", ["three"], ["t16"], to=TensorProto.FLOAT16),
        helper.make_node("Div", ["h", "t16"], ["d"]),
        helper.make_node("Cast", ["p"], ["pf"], to=F),
        helper.make_node("Cast", ["d"], ["df"], to=F),
    ]
    m = _model(nodes, {"f": f}, [("pf", F), ("df", F)],
               inits={"three": np.array(3.0, np.float32)})  # fmt: skip
    res = import_onnx(m)
    ours = run_reference(res.module, {"f": f}, res.store)
    # NumPy's float16 arithmetic as the reference (ONNX Runtime's optimiser
    # removes the Cast pair and computes in float32).
    h = f.astype(np.float16)
    s = h + h
    np.testing.assert_array_equal(ours[0], (s * s).astype(np.float32))
    np.testing.assert_array_equal(ours[1], (h / np.float16(3)).astype(np.float32))
    assert np.isinf(ours[0][1])


@pytest.mark.parametrize(
    "zp_dtype,axis,block",
    [(np.uint8, 1, 0), (np.int8, 1, 0), (np.int8, 2, 2), (np.uint16, 1, 0), (None, 1, 0)],
)
def test_qdq_round_trip_matches_onnxruntime(zp_dtype: type | None, axis: int, block: int) -> None:
    """QuantizeLinear -> DequantizeLinear with per-tensor, per-axis and
    blocked parameters (ties at .5 round to even, values saturate)."""
    rng = np.random.default_rng(14)
    x = (rng.standard_normal((2, 4, 6)) * 40).astype(np.float32)
    x[0, 0, :3] = [0.5, 1.5, -2.5]  # halves: round to even
    if block:
        scale = rng.uniform(0.1, 1.0, (2, 4, 3)).astype(np.float32)
    else:
        scale = rng.uniform(0.1, 1.0, (4,)).astype(np.float32)
        if zp_dtype is None:
            scale = np.array(0.5, np.float32)
    attrs = {"axis": axis, **({"block_size": block} if block else {})}
    inits = {"s": scale}
    ins = ["x", "s"]
    if zp_dtype is not None:
        zp = rng.integers(0, 10, scale.shape).astype(zp_dtype)
        inits["z"] = zp
        ins.append("z")
    q_type = helper.np_dtype_to_tensor_dtype(np.dtype(zp_dtype or np.uint8))
    nodes = [helper.make_node("QuantizeLinear", ins, ["q"], **attrs),
             helper.make_node("DequantizeLinear", ["q", *ins[1:]], ["y"], **attrs)]  # fmt: skip
    m = _model(nodes, {"x": x}, [("q", q_type), ("y", F)], inits=inits)
    _assert_same(*_both(m, {"x": x}))


def test_float8_quantize_matches_onnxruntime() -> None:
    x = (np.random.default_rng(15).standard_normal((3, 5)) * 500).astype(np.float32)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]  # fmt: skip
    zp = numpy_helper.from_array(np.zeros(1, ml_dtypes.float8_e4m3fn), "z")
    m = _model(nodes, {"x": x}, [("y", F)], inits={"s": np.array(0.25, np.float32)})
    m.graph.initializer.append(zp)
    m.graph.initializer[-1].dims[:] = []
    _assert_same(*_both(m, {"x": x}))
