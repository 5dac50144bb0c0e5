"""A corpus of malformed and unsupported inputs for the `cmswitch` command line.

Every case is a command line plus the files it reads. Each must end with one
``cmswitch: error: ...`` line naming where the problem is (a file, a field,
a node, an option), a non-zero exit status, nothing on standard output and no
file written: never a traceback, never a partial output. The corpus is
generated here, deterministically (a fixed seed), from:

* ONNX files: truncated and bit-flipped copies of a small model, and graphs
  built with ``onnx.helper`` that are wrong in one way each (types, missing
  initializers, cycles, dynamic shapes, bad attributes, hostile external
  data locations, ...);
* ``.mlir`` text: syntax errors, verifier errors, hostile text (deep
  nesting, invalid UTF-8, NUL bytes, huge numbers), corrupt weight files;
* hardware TOML files with every field wrong in every way;
* bad command-line arguments and zoo parameters out of range.

Write the corpus out to look at it::

    python tests/error_corpus.py OUTDIR     # one directory per case + cases.json

In argv, ``{d}`` stands for the case's directory.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20260510
OPSET = 17


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    """The command line; ``{d}`` is the case directory."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Input files written into the case directory before the run."""
    fragment: str = ""
    """Text the error line must contain (its location, in most cases)."""
    may_succeed: bool = False
    """A random byte mutation that can leave a valid file (a flipped bit in
    weight data, in a doc string): it must then succeed cleanly."""

    def args(self, directory: Path) -> list[str]:
        return [a.replace("{d}", str(directory)) for a in self.argv]


# ---------------------------------------------------------------- ONNX helpers


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    inits: list[onnx.TensorProto] | None = None,
    opset: int = OPSET,
    **graph_kw: object,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits or [], **graph_kw)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _vi(
    name: str, shape: list[int | str] | None, elem: int = TensorProto.FLOAT
) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _bytes(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()


def base_model() -> onnx.ModelProto:
    """x[1,4] -> MatMul(w[4,3]) -> Add(b) -> Relu -> y[1,3]: small, so most
    of its bytes are structure rather than weight data."""
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    return _model(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
            helper.make_node("Add", ["h", "b"], ["z"], name="add"),
            helper.make_node("Relu", ["z"], ["y"], name="relu"),
        ],
        [_vi("x", [1, 4])],
        [_vi("y", [1, 3])],
        [_init("w", w), _init("b", np.ones(3, np.float32))],
    )


def _onnx_case(cid: str, model: onnx.ModelProto | bytes, fragment: str,
               extra: tuple[str, ...] = (), command: str = "analyze") -> Case:  # fmt: skip
    data = model if isinstance(model, bytes) else _bytes(model)
    argv = (command, "{d}/m.onnx", *extra)
    if command == "import":
        argv = (*argv, "-o", "{d}/out.mlir")
    return Case(cid, argv, {"m.onnx": data}, fragment)


def onnx_bytes_cases() -> Iterator[Case]:
    """Truncated and bit-flipped copies of :func:`base_model`."""
    rng = random.Random(SEED)
    data = _bytes(base_model())
    cuts = sorted(rng.sample(range(1, len(data) - 1), 24))
    for cut in [0, *cuts]:
        # A cut between two fields can leave a parseable prefix (a model
        # without its graph outputs, say); the error then names what is missing.
        yield _onnx_case(f"onnx-truncated-{cut}", data[:cut], "m.onnx")
    weight_bytes = {
        i for t in base_model().graph.initializer
        for start in [data.find(t.raw_data)] for i in range(start, start + len(t.raw_data))
    }  # fmt: skip
    positions = [i for i in range(len(data)) if i not in weight_bytes]
    for pos in sorted(rng.sample(positions, 40)):
        bit = rng.randrange(8)
        flipped = bytearray(data)
        flipped[pos] ^= 1 << bit
        case = _onnx_case(f"onnx-bitflip-{pos}.{bit}", bytes(flipped), "")
        yield Case(case.id, case.argv, case.files, "", may_succeed=True)
    yield _onnx_case("onnx-empty-file", b"", "m.onnx")
    yield _onnx_case("onnx-text-file", b"this is not an onnx model\n" * 4, "m.onnx")
    yield _onnx_case("onnx-garbage", bytes(rng.randrange(256) for _ in range(512)), "m.onnx")


def onnx_graph_cases() -> Iterator[Case]:
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    x = _vi("x", [1, 4])
    y = _vi("y", [1, 3])
    w = _init("w", np.ones((4, 3), np.float32))
    mm = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")

    def one(cid: str, model: onnx.ModelProto, fragment: str, *extra: str) -> Case:
        return _onnx_case(f"onnx-{cid}", model, fragment, extra)

    # -- types
    yield one("input-string-type", _model([helper.make_node("Relu", ["x"], ["y"], name="r")],
              [_vi("x", [2], TensorProto.STRING)], [_vi("y", [2])]), "'x'")  # fmt: skip
    yield one("input-complex-type", _model([helper.make_node("Relu", ["x"], ["y"], name="r")],
              [_vi("x", [2], TensorProto.COMPLEX64)], [_vi("y", [2])]), "'x'")  # fmt: skip
    seq_in = helper.make_tensor_sequence_value_info("x", f32, [2])
    yield one("input-sequence-type", _model([helper.make_node("Relu", ["x"], ["y"], name="r")],
              [seq_in], [_vi("y", [2])]), "'x'")  # fmt: skip
    yield one("input-no-type", _model([helper.make_node("Relu", ["x"], ["y"], name="r")],
              [helper.make_empty_tensor_value_info("x")], [_vi("y", [2])]), "'x'")  # fmt: skip
    yield one("string-initializer", _model(
        [helper.make_node("Gather", ["s", "x"], ["y"], name="g")], [_vi("x", [2], i64)],
        [_vi("y", [2])], [helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"b"])]),
        "'s'")  # fmt: skip
    # -- missing values and cycles
    yield one("missing-initializer", _model([mm], [x], [y]), "input 'w'")
    yield one("missing-input", _model([helper.make_node("Add", ["x", "q"], ["y"], name="add")],
              [_vi("x", [1, 3])], [y]), "'q'")  # fmt: skip
    yield one("cycle", _model([
        helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
        helper.make_node("Relu", ["a"], ["b"], name="n2"),
        helper.make_node("Relu", ["b"], ["y"], name="n3"),
    ], [_vi("x", [1, 3])], [y]), "'b'")  # fmt: skip
    yield one("self-loop", _model([helper.make_node("Add", ["x", "y"], ["y"], name="loop")],
              [_vi("x", [1, 3])], [y]), "'y'")  # fmt: skip
    yield one("unsorted-nodes", _model([
        helper.make_node("Relu", ["a"], ["y"], name="second"),
        helper.make_node("Relu", ["x"], ["a"], name="first"),
    ], [_vi("x", [1, 3])], [y]), "'a'")  # fmt: skip
    yield one("output-never-produced", _model([mm], [x], [y, _vi("ghost", [1])], [w]), "'ghost'")
    yield one("output-wrong-shape", _model([mm], [x], [_vi("y", [1, 5])], [w]), "'y'")
    yield one("no-nodes-no-outputs", _model([], [x], []), "m.onnx")
    yield one("node-without-outputs", _model([helper.make_node("Relu", ["x"], [], name="r")],
              [x], []), "m.onnx")  # fmt: skip
    yield one("duplicate-input", _model([mm], [x, x], [y], [w]), "'x'")
    # -- dynamic shapes
    yield one("dynamic-batch", _model([mm], [_vi("x", ["N", 4])], [_vi("y", ["N", 3])], [w]),
              "--input-shape x=Nx4")  # fmt: skip
    yield one("unknown-rank", _model([mm], [_vi("x", None)], [y], [w]), "'x'")
    yield one("zero-dim", _model([mm], [_vi("x", [0, 4])], [_vi("y", [0, 3])], [w]), "'x'")
    dyn = _model([mm], [_vi("x", ["N", 4])], [_vi("y", ["N", 3])], [w])
    for sid, spec, frag in (
        ("wrong-rank", "x=1x2x4", "x=1x2x4"),
        ("wrong-dim", "x=2x5", "x=2x5"),
        ("wrong-name", "q=1x4", "'q'"),
        ("not-a-number", "x=ax4", "x=ax4"),
        ("zero", "x=0x4", "x=0x4"),
        ("negative", "x=-1x4", "x=-1x4"),
        ("empty", "x=", "x="),
        ("no-equals", "x1x4", "x1x4"),
        ("float", "x=1.5x4", "x=1.5x4"),
        ("huge", "x=99999999999999999999999x4", "x=99999999999999999999999x4"),
    ):
        yield one(f"input-shape-{sid}", dyn, frag, "--input-shape", spec)
    yield one("input-shape-twice", dyn, "'x'", "--input-shape", "x=1x4", "--input-shape", "x=2x4")
    # -- operators, domains, opsets
    yield one("unknown-op", _model([helper.make_node("FooBar", ["x"], ["y"], name="foo")],
              [x], [y]), "'foo' (op FooBar")  # fmt: skip
    yield one("custom-domain", _model(
        [helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.example")], [x], [y]),
        "com.example")  # fmt: skip
    yield one("opset-too-new", _model([mm], [x], [y], [w], opset=99), "99")
    fn = helper.make_function("local", "F", ["a"], ["b"],
                              [helper.make_node("Relu", ["a"], ["b"])],
                              [helper.make_opsetid("", OPSET)])  # fmt: skip
    with_fn = _model([helper.make_node("F", ["x"], ["y"], name="call", domain="local")], [x], [y])
    with_fn.functions.append(fn)
    with_fn.opset_import.append(helper.make_opsetid("local", 1))
    yield one("local-function", with_fn, "'call'")
    sparse = _model([mm], [x], [y])
    sparse.graph.sparse_initializer.append(helper.make_sparse_tensor(
        helper.make_tensor("w", f32, [1], [1.0]), helper.make_tensor("i", i64, [1], [0]), [4, 3]))  # fmt: skip
    yield one("sparse-initializer", sparse, "'w'")
    # -- bad initializers
    short = _init("w", np.ones((4, 3), np.float32))
    short.raw_data = short.raw_data[:20]
    yield one("initializer-short-data", _model([mm], [x], [y], [short]), "'w'")
    neg = helper.make_tensor("w", f32, [4, 3], np.ones(12).tolist())
    neg.dims[:] = [-4, -3]
    yield one("initializer-negative-dims", _model([mm], [x], [y], [neg]), "'w'")
    bad_type = _init("w", np.ones((4, 3), np.float32))
    bad_type.data_type = 999
    yield one("initializer-unknown-dtype", _model([mm], [x], [y], [bad_type]), "'w'")
    for hid, location in (
        ("absolute", "/etc/passwd"),
        ("parent", "../../../../etc/passwd"),
    ):
        ext = _init("w", np.ones((4, 3), np.float32))
        ext.ClearField("raw_data")
        ext.data_location = TensorProto.EXTERNAL
        ext.external_data.add(key="location", value=location)
        ext.external_data.add(key="length", value="48")
        yield one(f"external-data-{hid}", _model([mm], [x], [y], [ext]), "'w'")
    # -- node-level mistakes
    conv_w = _init("cw", np.ones((8, 3, 3, 3), np.float32))
    img = _vi("img", [1, 3, 8, 8])
    out = _vi("o", None)

    def node_case(cid: str, node: onnx.NodeProto, inputs: list[onnx.ValueInfoProto],
                  inits: list[onnx.TensorProto], frag: str) -> Case:  # fmt: skip
        return one(cid, _model([node], inputs, [out], inits), frag)

    yield node_case(
        "relu-no-input", helper.make_node("Relu", [], ["o"], name="r0"), [x], [], "'r0'"
    )
    yield node_case("conv-missing-weight", helper.make_node("Conv", ["img"], ["o"], name="c0"),
                    [img], [], "'c0'")  # fmt: skip
    yield node_case("conv-channel-mismatch", helper.make_node("Conv", ["img", "cw"], ["o"], name="c1"),
                    [img], [_init("cw", np.ones((8, 5, 3, 3), np.float32))], "'c1'")  # fmt: skip
    yield node_case("conv-zero-stride", helper.make_node(
        "Conv", ["img", "cw"], ["o"], name="c3", strides=[0, 0]), [img], [conv_w], "'c3'")  # fmt: skip
    yield node_case("conv-kernel-too-big", helper.make_node("Conv", ["img", "cw"], ["o"], name="c4"),
                    [img], [_init("cw", np.ones((8, 3, 9, 9), np.float32))], "'c4'")  # fmt: skip
    yield node_case("conv-bad-pads", helper.make_node(
        "Conv", ["img", "cw"], ["o"], name="c5", pads=[1, 1]), [img], [conv_w], "'c5'")  # fmt: skip
    yield node_case("conv-groups-mismatch", helper.make_node(
        "Conv", ["img", "cw"], ["o"], name="c6", group=2), [img], [conv_w], "'c6'")  # fmt: skip
    yield node_case("conv-rank-5", helper.make_node("Conv", ["v", "vw"], ["o"], name="c7"),
                    [_vi("v", [1, 3, 4, 4, 4])],
                    [_init("vw", np.ones((2, 3, 1, 1, 1), np.float32))], "'c7'")  # fmt: skip
    yield node_case("matmul-shape-mismatch", helper.make_node("MatMul", ["x", "w"], ["o"], name="m1"),
                    [x], [_init("w", np.ones((5, 3), np.float32))], "'m1'")  # fmt: skip
    yield node_case("gemm-shape-mismatch", helper.make_node("Gemm", ["x", "w"], ["o"], name="g1"),
                    [x], [_init("w", np.ones((5, 3), np.float32))], "'g1'")  # fmt: skip
    yield node_case("add-broadcast-mismatch", helper.make_node("Add", ["x", "c"], ["o"], name="a1"),
                    [x], [_init("c", np.ones(5, np.float32))], "'a1'")  # fmt: skip
    yield node_case("softmax-axis-out-of-range", helper.make_node(
        "Softmax", ["x"], ["o"], name="s1", axis=5), [x], [], "'s1'")  # fmt: skip
    yield node_case("concat-axis-out-of-range", helper.make_node(
        "Concat", ["x", "x"], ["o"], name="cc", axis=7), [x], [], "'cc'")  # fmt: skip
    yield node_case("concat-rank-mismatch", helper.make_node(
        "Concat", ["x", "v"], ["o"], name="cc2", axis=0), [x, _vi("v", [4])], [], "'cc2'")  # fmt: skip
    yield node_case("transpose-bad-perm", helper.make_node(
        "Transpose", ["x"], ["o"], name="t1", perm=[0, 0]), [x], [], "'t1'")  # fmt: skip
    yield node_case("transpose-short-perm", helper.make_node(
        "Transpose", ["x"], ["o"], name="t2", perm=[1]), [x], [], "'t2'")  # fmt: skip
    yield node_case("reshape-bad-count", helper.make_node("Reshape", ["x", "s"], ["o"], name="rs1"),
                    [x], [_init("s", np.array([3, 3], np.int64))], "'rs1'")  # fmt: skip
    yield node_case("reshape-two-minus-one", helper.make_node("Reshape", ["x", "s"], ["o"], name="rs2"),
                    [x], [_init("s", np.array([-1, -1], np.int64))], "'rs2'")  # fmt: skip
    yield node_case("reshape-dynamic-shape", helper.make_node("Reshape", ["x", "s"], ["o"], name="rs3"),
                    [x, _vi("s", [2], i64)], [], "'rs3'")  # fmt: skip
    yield node_case("slice-zero-step", helper.make_node(
        "Slice", ["x", "st", "en", "ax", "sp"], ["o"], name="sl"), [x],
        [_init("st", np.array([0], np.int64)), _init("en", np.array([2], np.int64)),
         _init("ax", np.array([1], np.int64)), _init("sp", np.array([0], np.int64))], "'sl'")  # fmt: skip
    yield node_case("slice-axis-out-of-range", helper.make_node(
        "Slice", ["x", "st", "en", "ax"], ["o"], name="sl2"), [x],
        [_init("st", np.array([0], np.int64)), _init("en", np.array([2], np.int64)),
         _init("ax", np.array([9], np.int64))], "'sl2'")  # fmt: skip
    yield node_case("split-bad-sizes", helper.make_node("Split", ["x", "sz"], ["o", "p"], name="sp"),
                    [x], [_init("sz", np.array([3, 3], np.int64))], "'sp'")  # fmt: skip
    yield node_case("gather-index-out-of-range", helper.make_node(
        "Gather", ["x", "ix"], ["o"], name="ga", axis=1), [x],
        [_init("ix", np.array([17], np.int64))], "'ga'")  # fmt: skip
    yield node_case("pad-negative-too-much", helper.make_node("Pad", ["x", "pd"], ["o"], name="pd"),
                    [x], [_init("pd", np.array([0, -9, 0, 0], np.int64))], "'pd'")  # fmt: skip
    yield node_case("pad-wrong-length", helper.make_node("Pad", ["x", "pd"], ["o"], name="pd2"),
                    [x], [_init("pd", np.array([1, 1, 1], np.int64))], "'pd2'")  # fmt: skip
    yield node_case("maxpool-kernel-too-big", helper.make_node(
        "MaxPool", ["img"], ["o"], name="mp", kernel_shape=[20, 20]), [img], [], "'mp'")  # fmt: skip
    yield node_case("maxpool-no-kernel", helper.make_node("MaxPool", ["img"], ["o"], name="mp2"),
                    [img], [], "'mp2'")  # fmt: skip
    yield node_case("batchnorm-training", helper.make_node(
        "BatchNormalization", ["img", "s", "s", "s", "s"], ["o", "m", "v"], name="bn",
        training_mode=1), [img], [_init("s", np.ones(3, np.float32))], "'bn'")  # fmt: skip
    yield node_case("expand-bad-shape", helper.make_node("Expand", ["x", "es"], ["o"], name="ex"),
                    [x], [_init("es", np.array([3, 3], np.int64))], "'ex'")  # fmt: skip
    yield node_case("squeeze-non-unit", helper.make_node("Squeeze", ["x", "sa"], ["o"], name="sq"),
                    [x], [_init("sa", np.array([1], np.int64))], "'sq'")  # fmt: skip
    yield node_case("flatten-axis-out-of-range", helper.make_node(
        "Flatten", ["x"], ["o"], name="fl", axis=9), [x], [], "'fl'")  # fmt: skip
    yield node_case("reduce-axis-out-of-range", helper.make_node(
        "ReduceSum", ["x", "ra"], ["o"], name="rsum"), [x],
        [_init("ra", np.array([4], np.int64))], "'rsum'")  # fmt: skip
    yield node_case("layernorm-bad-scale", helper.make_node(
        "LayerNormalization", ["x", "sc"], ["o"], name="ln"), [x],
        [_init("sc", np.ones(7, np.float32))], "'ln'")  # fmt: skip
    yield node_case("where-mismatch", helper.make_node("Where", ["c", "x", "z"], ["o"], name="wh"),
                    [_vi("c", [2, 2], TensorProto.BOOL), x, _vi("z", [3])], [], "'wh'")  # fmt: skip
    yield node_case("clip-dynamic-min", helper.make_node("Clip", ["x", "lo"], ["o"], name="cl"),
                    [x, _vi("lo", [])], [], "'cl'")  # fmt: skip
    # (an inference Dropout's mask output imports: all true; training mode is random)
    yield one("dropout-training", _model(
        [helper.make_node("Dropout", ["x", "r", "tm"], ["o", "mask"], name="dr")], [x],
        [out, _vi("mask", None, TensorProto.BOOL)],
        [_init("r", np.array(0.5, np.float32)), _init("tm", np.array(True))]), "'dr'")  # fmt: skip
    yield node_case("constant-no-value", helper.make_node("Constant", [], ["o"], name="k0"),
                    [x], [], "'k0'")  # fmt: skip
    yield node_case("constant-fold-error", helper.make_node("Reshape", ["c", "s"], ["o"], name="rf"),
                    [x], [_init("c", np.ones(6, np.float32)),
                          _init("s", np.array([4, 4], np.int64))], "'rf'")  # fmt: skip


# ---------------------------------------------------------------- MLIR

_HW = (
    '#cim.hardware<"dynaplasia", arrays = 96, rows = 320, cols = 256, cell_bits = 1, '
    "weight_bits = 8, act_bits = 8, buffer_bytes = 262144, internal_bw_bits = 2048, "
    "external_bw_bytes = 64, switch_c2m_cycles = 10, switch_m2c_cycles = 10, "
    "write_cycles_per_row = 1, vector_elems_per_cycle = 64, clock_hz = 200000000.0>"
)


def _linear_module(hw: str = _HW, body: str | None = None, arg: str = "tensor<1x4xf32>") -> str:
    body = body or (
        '    %w = cim.constant "w" : tensor<4x3xf32>\n'
        "    %y = cim.linear %x, %w : tensor<1x4xf32>, tensor<4x3xf32> -> tensor<1x3xf32>\n"
        "    func.return %y : tensor<1x3xf32>\n"
    )
    return (
        f"builtin.module attributes {{cim.hardware = {hw}}} {{\n"
        f"  func.func @main(%x : {arg}) -> tensor<1x3xf32> {{\n{body}  }}\n}}\n"
    )


def mlir_cases() -> Iterator[Case]:
    def one(cid: str, text: str | bytes, frag: str, command: str = "analyze",
            extra: tuple[str, ...] = (), files: dict[str, bytes] | None = None) -> Case:  # fmt: skip
        data = text.encode() if isinstance(text, str) else text
        argv = (command, "{d}/m.mlir", *extra)
        if command == "compile":
            argv = (*argv, "-o", "{d}/out.mlir", "--report", "{d}/report.json")
        return Case(f"mlir-{cid}", argv, {"m.mlir": data, **(files or {})}, frag)

    yield one("empty", "", "m.mlir")
    yield one("garbage", "%%%% not mlir at all", "m.mlir:1")
    yield one("invalid-utf8", b"\xff\xfe\xfa module {}", "m.mlir")
    yield one("nul-bytes", "builtin.module {\x00\x00}\n", "m.mlir")
    yield one("binary", bytes(range(256)) * 4, "m.mlir")
    yield one("unterminated-string", 'builtin.module attributes {a = "abc} {}\n', "m.mlir:1")
    yield one("unknown-op", _linear_module(body="    %y = cim.nosuchop : tensor<1x3xf32>\n"),
              "m.mlir:3")  # fmt: skip
    yield one("unknown-dialect", _linear_module(body="    %y = zzz.op() : () -> tensor<1x3xf32>\n"),
              "m.mlir:3")  # fmt: skip
    yield one("undefined-value", _linear_module(body="    func.return %q : tensor<1x3xf32>\n"),
              "%q")  # fmt: skip
    yield one("type-mismatch", _linear_module(body=(
        '    %w = cim.constant "w" : tensor<4x3xf32>\n'
        "    %y = cim.linear %x, %w : tensor<1x4xf32>, tensor<4x3xf32> -> tensor<1x7xf32>\n"
        "    func.return %y : tensor<1x7xf32>\n")), "m.mlir")  # fmt: skip
    yield one("weight-shape-mismatch", _linear_module(body=(
        '    %w = cim.constant "w" : tensor<5x3xf32>\n'
        "    %y = cim.linear %x, %w : tensor<1x4xf32>, tensor<5x3xf32> -> tensor<1x3xf32>\n"
        "    func.return %y : tensor<1x3xf32>\n")), "m.mlir")  # fmt: skip
    yield one("return-type-mismatch", _linear_module(body=(
        "    func.return %x : tensor<1x4xf32>\n")), "m.mlir")  # fmt: skip
    yield one("missing-return", _linear_module(body=(
        '    %w = cim.constant "w" : tensor<4x3xf32>\n')), "m.mlir")  # fmt: skip
    yield one("dynamic-dims", _linear_module(arg="tensor<?x4xf32>", body=(
        '    %w = cim.constant "w" : tensor<4x3xf32>\n'
        "    %y = cim.linear %x, %w : tensor<?x4xf32>, tensor<4x3xf32> -> tensor<1x3xf32>\n"
        "    func.return %y : tensor<1x3xf32>\n")), "m.mlir")  # fmt: skip
    yield one("negative-dims", _linear_module(arg="tensor<-1x4xf32>"), "m.mlir:2")
    yield one("scalar-arg", _linear_module(arg="f32"), "m.mlir")

    yield one("hardware-zero-arrays", _linear_module(hw=_HW.replace("arrays = 96", "arrays = 0")),
              "arrays")  # fmt: skip
    yield one("hardware-unknown-field", _linear_module(hw=_HW.replace("rows =", "bogus = 1, rows =")),
              "bogus")  # fmt: skip
    yield one("hardware-missing-field", _linear_module(hw=_HW.replace("rows = 320, ", "")), "rows")
    yield one("hardware-string-field", _linear_module(hw=_HW.replace("rows = 320", 'rows = "x"')),
              "m.mlir:1")  # fmt: skip
    yield one("hardware-huge", _linear_module(hw=_HW.replace("arrays = 96", "arrays = 1" + "0" * 40)),
              "arrays")  # fmt: skip
    yield one("hardware-not-attr", _linear_module(hw="42"), "m.mlir")
    yield one("no-function", "builtin.module {\n}\n", "m.mlir")
    huge = "99999999999999999999999"
    yield one("huge-dim", _linear_module(arg=f"tensor<{huge}x4xf32>", body=(
        '    %w = cim.constant "w" : tensor<4x3xf32>\n'
        f"    %y = cim.linear %x, %w : tensor<{huge}x4xf32>, tensor<4x3xf32> -> tensor<{huge}x3xf32>\n"
        f"    func.return %y : tensor<{huge}x3xf32>\n")), "m.mlir")  # fmt: skip
    yield one("deep-nesting", "builtin.module attributes {a = " + "[" * 20000 + "]" * 20000 + "} {}\n",
              "m.mlir")  # fmt: skip
    yield one("deep-regions", "builtin.module {\n" * 3000 + "}\n" * 3000, "m.mlir")
    yield one("long-identifier", "builtin.module {\n  %" + "a" * 200000 + " = zzz.x\n}\n", "m.mlir")
    yield one("weights-corrupt", _linear_module(), "m.weights.npz",
              files={"m.weights.npz": b"PK\x03\x04 truncated zip"})  # fmt: skip
    yield one("weights-not-npz", _linear_module(), "m.weights.npz",
              files={"m.weights.npz": b"\x93NUMPY garbage"})  # fmt: skip
    yield one("compile-empty", "", "m.mlir", "compile")
    yield one("compile-no-cim-ops", (
        f"builtin.module attributes {{cim.hardware = {_HW}}} {{\n"
        "  func.func @main(%x : tensor<1x4xf32>) -> tensor<1x4xf32> {\n"
        "    func.return %x : tensor<1x4xf32>\n  }\n}\n"), "no CIM operator", "compile")  # fmt: skip


# ---------------------------------------------------------------- hardware

_FIELDS: dict[str, object] = {
    "name": "chip",
    "arrays": 96, "rows": 320, "cols": 256, "cell_bits": 1, "weight_bits": 8, "act_bits": 8,
    "buffer_bytes": 262144, "internal_bw_bits": 2048, "external_bw_bytes": 64,
    "switch_c2m_cycles": 10, "switch_m2c_cycles": 10, "write_cycles_per_row": 1,
    "vector_elems_per_cycle": 64, "clock_hz": 200e6,
}  # fmt: skip
_LIMITS: dict[str, tuple[float, float]] = {  # the documented ranges (docs/DESIGN.md)
    "arrays": (1, 1 << 20), "rows": (1, 1 << 16), "cols": (1, 1 << 16), "cell_bits": (1, 8),
    "weight_bits": (1, 32), "act_bits": (1, 32), "buffer_bytes": (0, 1 << 40),
    "internal_bw_bits": (0, 1 << 20), "external_bw_bytes": (1, 1 << 20),
    "switch_c2m_cycles": (0, 1 << 30), "switch_m2c_cycles": (0, 1 << 30),
    "write_cycles_per_row": (1, 1 << 30), "vector_elems_per_cycle": (1, 1 << 20),
    "clock_hz": (1e3, 1e12),
}  # fmt: skip


def _toml(values: dict[str, object]) -> str:
    def lit(v: object) -> str:
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return {float("inf"): "inf", float("-inf"): "-inf"}.get(v, "nan" if v != v else repr(v))
        if isinstance(v, list):
            return "[" + ", ".join(lit(e) for e in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {lit(e)}" for k, e in v.items()) + " }"
        return str(v)

    return "".join(f"{k} = {lit(v)}\n" for k, v in values.items())


def hardware_cases() -> Iterator[Case]:
    def one(cid: str, text: str | bytes, frag: str, command: str = "arch") -> Case:
        data = text.encode() if isinstance(text, str) else text
        argv = ("arch", "{d}/hw.toml") if command == "arch" else (
            command, "tiny-cnn", "--arch", "{d}/hw.toml")  # fmt: skip
        return Case(f"hw-{cid}", argv, {"hw.toml": data}, frag)

    wrong: dict[str, object] = {
        "string": "12", "bool": True, "array": [1, 2], "table": {"a": 1}, "nan": float("nan"),
        "inf": float("inf"), "neg-inf": float("-inf"),
    }  # fmt: skip
    for key in _FIELDS:
        values = {k: v for k, v in _FIELDS.items() if k != key}
        yield one(f"{key}-missing", _toml(values), f"'{key}'")
        if key == "name":
            for wid, value in (("int", 3), ("empty", ""), ("array", ["a"]), ("bool", False)):
                yield one(f"name-{wid}", _toml({**_FIELDS, "name": value}), "'name'")
            continue
        kinds = dict(wrong)
        low, high = _LIMITS[key]
        if isinstance(_FIELDS[key], int):
            kinds["float"] = 1.5
            kinds["below"] = int(low) - 1
            kinds["above"] = int(high) + 1
            kinds["huge"] = 1 << 70
        else:
            kinds["below"] = low / 2
            kinds["above"] = high * 2
        for wid, value in kinds.items():
            yield one(f"{key}-{wid}", _toml({**_FIELDS, key: value}), f"'{key}'")
    yield one("unknown-field", _toml({**_FIELDS, "bogus": 1}), "'bogus'")
    yield one("nested-table", _toml(_FIELDS) + "[extra]\nx = 1\n", "'extra'")
    yield one("not-toml", "arrays = = 3\n", "hw.toml")
    yield one("empty", "", "hw.toml")
    yield one("invalid-utf8", b'name = "\xff\xfe"\n', "hw.toml")
    yield one("binary", bytes(range(256)), "hw.toml")
    yield one("weight-not-multiple", _toml({**_FIELDS, "cell_bits": 3, "weight_bits": 8}),
              "'weight_bits'")  # fmt: skip
    yield one("cols-below-weight", _toml({**_FIELDS, "cell_bits": 1, "weight_bits": 8, "cols": 4}),
              "'cols'")  # fmt: skip
    yield one("fractional-bytes", _toml({**_FIELDS, "rows": 1, "cols": 1, "cell_bits": 1,
                                         "weight_bits": 1}), "bytes")  # fmt: skip
    yield one("via-analyze", _toml({**_FIELDS, "arrays": 0}), "'arrays'", command="analyze")
    yield one("via-compile", _toml({**_FIELDS, "rows": -3}), "'rows'", command="compile")
    yield Case("hw-no-such-file", ("arch", "{d}/nope.toml"), {}, "nope.toml")
    yield Case("hw-directory", ("arch", "{d}/dir.toml"), {"dir.toml/keep": b""}, "dir.toml")
    yield Case("hw-unknown-preset", ("arch", "nosuchchip"), {}, "nosuchchip")


# ---------------------------------------------------------------- operators a chip cannot hold


def chip_cases() -> Iterator[Case]:
    """Models that import but do not fit a small chip (6 arrays of 8 x 8
    cells): refused by cim-split in one line (the grouped convolution used
    to loop forever)."""
    chip = _toml({**_FIELDS, "arrays": 6, "rows": 8, "cols": 8}).encode()
    rng = np.random.default_rng(SEED)

    def conv(cid: str, x: list[int], w: list[int], group: int, policy: str, frag: str) -> Case:
        model = _model(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=w[2:],
                              group=group)],
            [_vi("x", x)], [_vi("y", None)],
            [_init("w", rng.standard_normal(w).astype(np.float32))],
        )  # fmt: skip
        return Case(f"chip-{cid}", ("compile", "{d}/m.onnx", "--arch", "{d}/hw.toml", "--policy",
                    policy, "-o", "{d}/out.mlir"), {"m.onnx": _bytes(model), "hw.toml": chip},
                    frag)  # fmt: skip

    yield conv("grouped-static", [1, 2, 6, 8], [6, 1, 3, 3], 2, "static:0.75", "'conv'")
    yield conv("grouped-depthwise", [1, 4, 6, 6], [16, 1, 3, 3], 4, "static:0.5", "'conv'")
    yield conv("rows-cim-mlc", [1, 6, 5, 5], [4, 6, 3, 3], 1, "cim-mlc", "54 input rows")
    yield conv("rows-cmswitch", [1, 6, 5, 5], [4, 6, 3, 3], 1, "cmswitch", "54 input rows")
    # weights without data are allowed (shapes suffice), but not 2**42 of them
    ext = _init("w", np.ones((4, 3), np.float32))
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    ext.external_data.add(key="location", value="w.bin")
    ext.dims[:] = [4, 1 << 40]
    huge = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [_vi("x", [1, 4])],
                  [_vi("y", None)], [ext])  # fmt: skip
    yield Case("chip-absent-huge-weight", ("compile", "{d}/m.onnx", "-o", "{d}/out.mlir"),
               {"m.onnx": _bytes(huge)}, "'mm'")  # fmt: skip
    branch = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["a"])], "b", [], [_vi("a", [1, 4])]
    )
    cond = _model([helper.make_node("If", ["c"], ["y"], name="if0", then_branch=branch,
                                    else_branch=branch)],
                  [_vi("x", [1, 4]), _vi("c", [], TensorProto.BOOL)], [_vi("y", [1, 4])])  # fmt: skip
    yield Case("chip-control-flow", ("compile", "{d}/m.onnx", "-o", "{d}/out.mlir"),
               {"m.onnx": _bytes(cond)}, "'if0' (op If")  # fmt: skip
    for policy in ("cmswitch", "puma"):
        mm = _model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                    [_vi("a", [4, 100]), _vi("b", [100, 4])], [_vi("y", [4, 4])])  # fmt: skip
        yield Case(f"chip-matmul-rows-{policy}", ("compile", "{d}/m.onnx", "--arch",
                   "{d}/hw.toml", "--policy", policy, "--report", "{d}/r.json"),
                   {"m.onnx": _bytes(mm), "hw.toml": chip}, "'mm'")  # fmt: skip


# ---------------------------------------------------------------- CLI and zoo


def cli_cases() -> Iterator[Case]:
    good = {"m.onnx": _bytes(base_model())}

    def one(cid: str, frag: str, *argv: str, files: dict[str, bytes] | None = None) -> Case:
        return Case(f"cli-{cid}", argv, files or {}, frag)

    yield one(
        "no-command",
        "command",
    )
    yield one("unknown-command", "frobnicate", "frobnicate")
    yield one("unknown-option", "--frob", "models", "--frob")
    yield one("analyze-no-model", "model", "analyze")
    yield one("import-no-model", "model", "import")
    for cmd in ("analyze", "compile", "compare"):
        yield one(f"{cmd}-batch-text", "--batch", cmd, "tiny-cnn", "--batch", "two")
        yield one(f"{cmd}-batch-zero", "--batch", cmd, "tiny-cnn", "--batch", "0")
        yield one(f"{cmd}-batch-negative", "--batch", cmd, "tiny-cnn", "--batch", "-4")
        yield one(f"{cmd}-seq-zero", "--seq", cmd, "tiny-bert", "--seq", "0")
        yield one(f"{cmd}-seq-float", "--seq", cmd, "tiny-bert", "--seq", "1.5")
        yield one(f"{cmd}-phase", "--phase", cmd, "tiny-bert", "--phase", "train")
        yield one(f"{cmd}-unknown-model", "resnet19", cmd, "resnet19")
        yield one(f"{cmd}-bad-suffix", "model.txt", cmd, "model.txt")
        yield one(f"{cmd}-missing-onnx", "nope.onnx", cmd, "{d}/nope.onnx")
        yield one(f"{cmd}-missing-mlir", "nope.mlir", cmd, "{d}/nope.mlir")
        yield one(f"{cmd}-onnx-dir", "dir.onnx", cmd, "{d}/dir.onnx",
                  files={"dir.onnx/keep": b""})  # fmt: skip
        yield one(f"{cmd}-mlir-dir", "dir.mlir", cmd, "{d}/dir.mlir",
                  files={"dir.mlir/keep": b""})  # fmt: skip
        yield one(f"{cmd}-unknown-arch", "nosuchchip", cmd, "tiny-cnn", "--arch", "nosuchchip")
        yield one(f"{cmd}-bad-ai", "--ai", cmd, "tiny-cnn", "--ai", "peak")
        yield one(f"{cmd}-input-shape-zoo", "--input-shape", cmd, "tiny-cnn", "--input-shape",
                  "x=1x3x32x32")  # fmt: skip
    for zid, model, args, frag in (
        ("cnn-decode", "tiny-cnn", ("--phase", "decode"), "decode"),
        ("encoder-decode", "tiny-bert", ("--phase", "decode"), "decode"),
        ("batch-huge", "tiny-cnn", ("--batch", str(1 << 40)), "--batch"),
        ("seq-huge", "tiny-bert", ("--seq", str(1 << 40)), "--seq"),
    ):
        yield one(f"zoo-{zid}", frag, "analyze", model, *args)
    yield one("analyze-limit-negative", "--limit", "analyze", "tiny-cnn", "--limit", "-1")
    yield one("analyze-limit-text", "--limit", "analyze", "tiny-cnn", "--limit", "all")
    yield one("analyze-output-no-dir", "nodir", "analyze", "tiny-cnn", "--json", "-o",
              "{d}/nodir/out.json")  # fmt: skip
    yield one("analyze-output-is-dir", "outdir", "analyze", "tiny-cnn", "--json", "-o",
              "{d}/outdir", files={"outdir/keep": b""})  # fmt: skip
    for cmd in ("compile", "compare"):
        yield one(f"{cmd}-cost-model", "--cost-model", cmd, "tiny-cnn", "--cost-model", "exact")
        yield one(f"{cmd}-solver", "--solver", cmd, "tiny-cnn", "--solver", "gurobi")
        yield one(
            f"{cmd}-time-limit-negative", "--time-limit", cmd, "tiny-cnn", "--time-limit", "-1"
        )
        yield one(f"{cmd}-time-limit-zero", "--time-limit", cmd, "tiny-cnn", "--time-limit", "0")
        yield one(f"{cmd}-time-limit-nan", "--time-limit", cmd, "tiny-cnn", "--time-limit", "nan")
        yield one(f"{cmd}-time-limit-text", "--time-limit", cmd, "tiny-cnn", "--time-limit", "soon")
        yield one(
            f"{cmd}-split-zero", "--split-fractions", cmd, "tiny-cnn", "--split-fractions", "0"
        )
        yield one(f"{cmd}-split-big", "--split-fractions", cmd, "tiny-cnn", "--split-fractions",
                  "1", "1.5")  # fmt: skip
        yield one(
            f"{cmd}-split-nan", "--split-fractions", cmd, "tiny-cnn", "--split-fractions", "nan"
        )
        yield one(f"{cmd}-jobs-negative", "--jobs", cmd, "tiny-cnn", "--jobs", "-2")
    for pid, spec, frag in (
        ("unknown", "fastest", "fastest"),
        ("static-big", "static:2", "static"),
        ("static-zero", "static:0", "static"),
        ("static-negative", "static:-0.5", "static"),
        ("static-text", "static:half", "half"),
        ("static-nan", "static:nan", "static"),
        ("static-empty", "static:", "static"),
        ("static-braces-key", "static{fraction=0.5}", "fraction"),
        ("static-braces-value", "static{compute-fraction=x}", "'x'"),
        ("empty", "", "policy"),
    ):
        yield one(f"compile-policy-{pid}", frag, "compile", "tiny-cnn", "--policy", spec)
        yield one(f"compare-policy-{pid}", frag, "compare", "tiny-cnn", "--policies", "cmswitch",
                  spec)  # fmt: skip
    yield one("compile-emit", "--emit", "compile", "tiny-cnn", "--emit", "llvm")
    yield one("compile-output-no-dir", "nodir", "compile", "tiny-cnn", "-o", "{d}/nodir/x.mlir")
    yield one("compile-report-no-dir", "nodir", "compile", "tiny-cnn", "-o", "{d}/x.mlir",
              "--report", "{d}/nodir/r.json")  # fmt: skip
    yield one("compile-output-is-dir", "outdir", "compile", "tiny-cnn", "-o", "{d}/outdir",
              files={"outdir/keep": b""})  # fmt: skip
    yield one("compile-both-stdout", "-o -", "compile", "tiny-cnn", "-o", "-", "--report", "-")
    yield one("compare-json-no-dir", "nodir", "compare", "tiny-cnn", "--policies", "cim-mlc",
              "--json", "{d}/nodir/c.json")  # fmt: skip
    yield one("compare-plot-format", "plot.xyz", "compare", "tiny-cnn", "--policies", "cim-mlc",
              "--plot", "{d}/plot.xyz")  # fmt: skip
    yield one("compare-plot-no-dir", "nodir", "compare", "tiny-cnn", "--policies", "cim-mlc",
              "--plot", "{d}/nodir/p.png")  # fmt: skip
    yield one("compare-json-and-plot-stdout", "--plot", "compare", "tiny-cnn", "--policies",
              "cim-mlc", "--plot", "-")  # fmt: skip
    yield one("import-not-onnx", ".mlir", "import", "{d}/m.mlir", "-o", "{d}/out.mlir",
              files={"m.mlir": b"builtin.module {}\n"})  # fmt: skip
    yield one("import-output-no-dir", "nodir", "import", "{d}/m.onnx", "-o",
              "{d}/nodir/out.mlir", files=good)  # fmt: skip
    yield one("import-output-is-dir", "outdir", "import", "{d}/m.onnx", "-o", "{d}/outdir",
              files={**good, "outdir/keep": b""})  # fmt: skip
    yield one("import-unknown-arch", "nosuchchip", "import", "{d}/m.onnx", "--arch", "nosuchchip",
              files=good)  # fmt: skip
    yield one("arch-two-names", "unrecognized", "arch", "prime", "dynaplasia")


def all_cases() -> list[Case]:
    cases = [
        *onnx_bytes_cases(), *onnx_graph_cases(), *mlir_cases(), *hardware_cases(),
        *chip_cases(), *cli_cases(),
    ]  # fmt: skip
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate case ids: {sorted(dupes)}"
    return cases


def write_case(case: Case, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/keep"):
            continue  # only the directory
        path.write_bytes(data)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    out = Path(argv[0])
    cases = all_cases()
    for case in cases:
        write_case(case, out / case.id)
    index = [{"id": c.id, "argv": c.args(out / c.id), "fragment": c.fragment} for c in cases]
    (out / "cases.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"{len(cases)} cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
