"""ONNX importer handlers: point-wise operators (``cim.elementwise``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Attribute, SSAValue

from cmswitch.dialects.cim import ElementwiseFn, ElementwiseOp, shape_of
from cmswitch.lowering.onnx_common import (
    OnnxImportError,
    Value,
    dtype_for_elem,
    elem_for_onnx,
    handles,
    i1,
)

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


# ---------------------------------------------------------------- elementwise

_UNARY: dict[str, ElementwiseFn] = {
    "Relu": ElementwiseFn.RELU,
    "Sigmoid": ElementwiseFn.SIGMOID,
    "Tanh": ElementwiseFn.TANH,
    "HardSwish": ElementwiseFn.HARDSWISH,
    "Softplus": ElementwiseFn.SOFTPLUS,
    "Exp": ElementwiseFn.EXP,
    "Log": ElementwiseFn.LOG,
    "Sqrt": ElementwiseFn.SQRT,
    "Reciprocal": ElementwiseFn.RECIPROCAL,
    "Neg": ElementwiseFn.NEG,
    "Abs": ElementwiseFn.ABS,
    "Erf": ElementwiseFn.ERF,
    "Floor": ElementwiseFn.FLOOR,
    "Ceil": ElementwiseFn.CEIL,
    "Sin": ElementwiseFn.SIN,
    "Cos": ElementwiseFn.COS,
    "Not": ElementwiseFn.NOT,
    "Tan": ElementwiseFn.TAN,
    "Asin": ElementwiseFn.ASIN,
    "Acos": ElementwiseFn.ACOS,
    "Atan": ElementwiseFn.ATAN,
    "Sinh": ElementwiseFn.SINH,
    "Cosh": ElementwiseFn.COSH,
    "Asinh": ElementwiseFn.ASINH,
    "Acosh": ElementwiseFn.ACOSH,
    "Atanh": ElementwiseFn.ATANH,
    "Round": ElementwiseFn.ROUND,
    "Sign": ElementwiseFn.SIGN,
}

_BINARY: dict[str, ElementwiseFn] = {
    "Add": ElementwiseFn.ADD,
    "Sub": ElementwiseFn.SUB,
    "Mul": ElementwiseFn.MUL,
    "Div": ElementwiseFn.DIV,
    "Pow": ElementwiseFn.POW,
    "And": ElementwiseFn.AND,
    "Or": ElementwiseFn.OR,
    "Xor": ElementwiseFn.XOR,
}

_COMPARE: dict[str, ElementwiseFn] = {
    "Equal": ElementwiseFn.EQUAL,
    "Less": ElementwiseFn.LESS,
    "LessOrEqual": ElementwiseFn.LESS_EQUAL,
    "Greater": ElementwiseFn.GREATER,
    "GreaterOrEqual": ElementwiseFn.GREATER_EQUAL,
}


@handles(*_UNARY)
def _unary(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    return [im.add(ElementwiseOp(_UNARY[node.op_type], [x]), node)]


@handles("LeakyRelu", "Elu", "HardSigmoid", "Gelu", "Selu")
def _param_unary(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    op = node.op_type
    if op == "LeakyRelu":
        return [
            im.add(
                ElementwiseOp(
                    ElementwiseFn.LEAKY_RELU, [x], alpha=float(cast(float, a.get("alpha", 0.01)))
                ),
                node,
            )
        ]  # type: ignore[arg-type]
    if op == "Elu":
        return [
            im.add(
                ElementwiseOp(
                    ElementwiseFn.ELU, [x], alpha=float(cast(float, a.get("alpha", 1.0)))
                ),
                node,
            )
        ]  # type: ignore[arg-type]
    if op == "HardSigmoid":
        return [im.add(ElementwiseOp(ElementwiseFn.HARDSIGMOID, [x], alpha=float(a.get("alpha", 0.2)),  # type: ignore[arg-type]
                                     beta=float(a.get("beta", 0.5))), node)]  # type: ignore[arg-type]  # fmt: skip
    if op == "Gelu":
        approx = a.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        fn = ElementwiseFn.GELU_TANH if approx == "tanh" else ElementwiseFn.GELU
        return [im.add(ElementwiseOp(fn, [x]), node)]
    # Selu = gamma * elu(x, alpha)
    alpha = float(cast(float, a.get("alpha", 1.67326319217681884765625)))
    gamma = float(cast(float, a.get("gamma", 1.05070102214813232421875)))
    y = im.add(ElementwiseOp(ElementwiseFn.ELU, [x], alpha=alpha), node)
    g = im._constant(f"{node.output[0]}.gamma", np.array(gamma, np.float32))
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [y, g]), node)]


@handles("PRelu")
def _prelu(im: Importer, node: onnx.NodeProto) -> list[Value]:
    # prelu(x) = relu(x) + slope * min(x, 0)
    x, slope = im._ssa(node.input[0]), im._ssa(node.input[1])
    zero = im._constant(f"{node.output[0]}.zero", np.array(0.0, np.float32))
    pos = im.add(ElementwiseOp(ElementwiseFn.RELU, [x]), node)
    neg = im.add(ElementwiseOp(ElementwiseFn.MIN, [x, zero]), node)
    neg = im.add(ElementwiseOp(ElementwiseFn.MUL, [neg, slope]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.ADD, [pos, neg]), node)]


@handles("Mish")
def _mish(im: Importer, node: onnx.NodeProto) -> list[Value]:
    # mish(x) = x * tanh(softplus(x))
    x = im._ssa(node.input[0])
    t = im.add(ElementwiseOp(ElementwiseFn.SOFTPLUS, [x]), node)
    t = im.add(ElementwiseOp(ElementwiseFn.TANH, [t]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [x, t]), node)]


@handles(*_BINARY, *_COMPARE)
def _binary(im: Importer, node: onnx.NodeProto) -> list[Value]:
    a, b = im._ssa(node.input[0]), im._ssa(node.input[1])
    if node.op_type in _COMPARE:
        return [im.add(ElementwiseOp(_COMPARE[node.op_type], [a, b], element_type=i1), node)]
    return [im.add(ElementwiseOp(_BINARY[node.op_type], [a, b]), node)]


@handles("Max", "Min", "Sum", "Mean")
def _variadic(im: Importer, node: onnx.NodeProto) -> list[Value]:
    fn = {"Max": ElementwiseFn.MAX, "Min": ElementwiseFn.MIN}.get(node.op_type, ElementwiseFn.ADD)
    acc = im._ssa(node.input[0])
    for name in node.input[1:]:
        acc = im.add(ElementwiseOp(fn, [acc, im._ssa(name)]), node)
    if node.op_type == "Mean" and len(node.input) > 1:
        n = im._constant(f"{node.output[0]}.count", np.array(len(node.input), np.float32))
        acc = im.add(ElementwiseOp(ElementwiseFn.DIV, [acc, n]), node)
    return [acc]


@handles("Where")
def _where(im: Importer, node: onnx.NodeProto) -> list[Value]:
    c, x, y = (im._ssa(n) for n in node.input)
    return [im.add(ElementwiseOp(ElementwiseFn.WHERE, [c, x, y]), node)]


@handles("Clip")
def _clip(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    lo: float | None = cast(float, a["min"]) if "min" in a else None
    hi: float | None = cast(float, a["max"]) if "max" in a else None
    for pos in (1, 2):
        if len(node.input) > pos and node.input[pos]:
            c = im._const(node.input[pos])
            if c is None:
                raise OnnxImportError(f"node {node.name!r} (op Clip): min/max must be constants")
            if pos == 1:
                lo = float(np.asarray(c).ravel()[0])
            else:
                hi = float(np.asarray(c).ravel()[0])
    if lo is not None and hi is not None:
        return [im.add(ElementwiseOp(ElementwiseFn.CLIP, [x], alpha=lo, beta=hi), node)]
    if lo is None and hi is None:
        return [x]
    fn, bound = (ElementwiseFn.MAX, lo) if lo is not None else (ElementwiseFn.MIN, hi)
    c = im._constant(f"{node.output[0]}.bound", np.array(bound, np.float32))
    return [im.add(ElementwiseOp(fn, [x, c]), node)]


_NARROW_FLOATS: dict[int, ElementwiseFn] = {
    onnx.TensorProto.FLOAT16: ElementwiseFn.TO_F16,
    onnx.TensorProto.BFLOAT16: ElementwiseFn.TO_BF16,
    onnx.TensorProto.FLOAT8E4M3FN: ElementwiseFn.TO_F8E4M3FN,
    onnx.TensorProto.FLOAT8E4M3FNUZ: ElementwiseFn.TO_F8E4M3FNUZ,
    onnx.TensorProto.FLOAT8E5M2: ElementwiseFn.TO_F8E5M2,
    onnx.TensorProto.FLOAT8E5M2FNUZ: ElementwiseFn.TO_F8E5M2FNUZ,
}
"""Float formats narrower than f32: a cast to one rounds the f32 value."""

_CASTABLE = frozenset(
    (
        *_NARROW_FLOATS,
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.BOOL,
        onnx.TensorProto.INT64,
        onnx.TensorProto.INT32,
        onnx.TensorProto.INT16,
        onnx.TensorProto.INT8,
        onnx.TensorProto.UINT8,
        onnx.TensorProto.UINT16,
        onnx.TensorProto.UINT32,
    )
)
"""Cast targets the importer computes exactly (values stay f32, i64 or i1)."""


@handles("Mod")
def _mod(im: Importer, node: onnx.NodeProto) -> list[Value]:
    a, b = im._ssa(node.input[0]), im._ssa(node.input[1])
    fmod = int(cast(int, im.attrs(node).get("fmod", 0)))
    fn = ElementwiseFn.FMOD if fmod else ElementwiseFn.MOD
    return [im.add(ElementwiseOp(fn, [a, b]), node)]


@handles("Cast", "CastLike")
def _cast(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    if node.op_type == "CastLike":
        to = im.onnx_type(node.input[1])
    else:
        to = int(cast(int, im.attrs(node)["to"]))
    if to not in _CASTABLE:
        name = (
            onnx.TensorProto.DataType.Name(to) if to in onnx.TensorProto.DataType.values() else to
        )
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): a cast to {name} is not supported"
        )
    im.types[node.output[0]] = to  # what the value is, for CastLike / quantisers
    elem = elem_for_onnx(to)
    src = cast(TensorType, x.type).element_type
    if to in _NARROW_FLOATS:
        if src != f32:
            x = im.add(ElementwiseOp(ElementwiseFn.CAST, [x], element_type=f32), node)
        saturate = int(cast(int, im.attrs(node).get("saturate", 1)))
        if saturate and to not in (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16):
            import ml_dtypes

            top = float(ml_dtypes.finfo(helper.tensor_dtype_to_np_dtype(to)).max)
            x = im.add(ElementwiseOp(ElementwiseFn.CLIP, [x], alpha=-top, beta=top), node)
        return [im.add(ElementwiseOp(_NARROW_FLOATS[to], [x]), node)]
    if src != elem:
        x = im.add(ElementwiseOp(ElementwiseFn.CAST, [x], element_type=elem), node)
    if to in _NARROW_INTS:
        # i64 holds the value; wrap it into the target's range (two's
        # complement), as integer casts do.
        bits, signed = _NARROW_INTS[to]
        span = im._constant(f"{node.output[0]}.span", np.array(1 << bits, np.int64))
        if not signed:
            return [im.add(ElementwiseOp(ElementwiseFn.MOD, [x, span]), node)]
        half = im._constant(f"{node.output[0]}.half", np.array(1 << (bits - 1), np.int64))
        x = im.add(ElementwiseOp(ElementwiseFn.ADD, [x, half]), node)
        x = im.add(ElementwiseOp(ElementwiseFn.MOD, [x, span]), node)
        x = im.add(ElementwiseOp(ElementwiseFn.SUB, [x, half]), node)
    return [x]


_NARROW_INTS: dict[int, tuple[int, bool]] = {
    onnx.TensorProto.INT32: (32, True),
    onnx.TensorProto.INT16: (16, True),
    onnx.TensorProto.INT8: (8, True),
    onnx.TensorProto.UINT8: (8, False),
    onnx.TensorProto.UINT16: (16, False),
    onnx.TensorProto.UINT32: (32, False),
}
"""Integer targets narrower than i64: (bits, signed)."""


@handles("Identity", "Dropout")
def _identity(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._get(node.input[0])
    if node.op_type == "Identity":
        return [x]  # type: ignore[list-item]
    # Dropout: inference (training_mode false, or a zero ratio) is the identity
    # with an all-true mask; training mode is random and is refused.
    training = False
    if len(node.input) > 2 and node.input[2]:
        mode = im._const(node.input[2])
        if mode is None:
            raise OnnxImportError(
                f"node {node.name!r} (op Dropout): training_mode must be a constant"
            )
        training = bool(np.asarray(mode).ravel()[0])
    ratio = float(cast(float, im.attrs(node).get("ratio", 0.5)))
    if len(node.input) > 1 and node.input[1]:
        r = im._const(node.input[1])
        if r is None:
            raise OnnxImportError(f"node {node.name!r} (op Dropout): ratio must be a constant")
        ratio = float(np.asarray(r).ravel()[0])
    if training and ratio != 0.0:
        raise OnnxImportError(
            f"node {node.name!r} (op Dropout): training mode (random dropout) is not supported"
        )
    return [x, np.ones(im._shape(node.input[0]), dtype=np.bool_)]  # type: ignore[list-item]


@handles("IsNaN", "IsInf")
def _isnan(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    if node.op_type == "IsNaN":
        return [im.add(ElementwiseOp(ElementwiseFn.ISNAN, [x], element_type=i1), node)]
    y = im.add(ElementwiseOp(ElementwiseFn.ISINF, [x], element_type=i1), node)
    a = im.attrs(node)
    pos, neg = (
        int(cast(int, a.get("detect_positive", 1))),
        int(cast(int, a.get("detect_negative", 1))),
    )
    if pos and neg:
        return [y]
    if not pos and not neg:
        return [np.zeros(shape_of(x), dtype=np.bool_)]
    zero = im._constant(f"{node.output[0]}.zero", np.array(0, dtype_for_elem(_elem(x))))
    fn = ElementwiseFn.GREATER if pos else ElementwiseFn.LESS
    side = im.add(ElementwiseOp(fn, [x, zero], element_type=i1), node)
    return [im.add(ElementwiseOp(ElementwiseFn.AND, [y, side], element_type=i1), node)]


def _elem(x: SSAValue) -> Attribute:
    return cast(TensorType, x.type).element_type


@handles("Softsign", "Swish", "Celu", "ThresholdedRelu", "Shrink")
def _composite_unary(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """Point-wise activations built from the elementwise functions."""
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    op = node.op_type

    def ew(fn: ElementwiseFn, *xs: SSAValue, **kw: object) -> SSAValue:
        return im.add(ElementwiseOp(fn, list(xs), **kw), node)  # type: ignore[arg-type]

    def const(tag: str, v: float) -> SSAValue:
        return im._constant(f"{node.output[0]}.{tag}", np.array(v, np.float32))

    if op == "Softsign":  # x / (1 + |x|)
        return [ew(ElementwiseFn.DIV, x, ew(ElementwiseFn.ADD, ew(ElementwiseFn.ABS, x),
                                             const("one", 1.0)))]  # fmt: skip
    if op == "Swish":  # x * sigmoid(alpha x)
        ax = ew(ElementwiseFn.MUL, x, const("alpha", float(cast(float, a.get("alpha", 1.0)))))
        return [ew(ElementwiseFn.MUL, x, ew(ElementwiseFn.SIGMOID, ax))]
    if op == "Celu":  # max(0, x) + min(0, alpha (exp(x / alpha) - 1)) = elu(x / alpha) * alpha
        alpha = float(cast(float, a.get("alpha", 1.0)))
        y = ew(ElementwiseFn.ELU, ew(ElementwiseFn.DIV, x, const("alpha", alpha)), alpha=1.0)
        return [ew(ElementwiseFn.MUL, y, const("alpha", alpha))]
    if op == "ThresholdedRelu":  # x if x > alpha else 0
        alpha = const("alpha", float(cast(float, a.get("alpha", 1.0))))
        keep = ew(ElementwiseFn.GREATER, x, alpha, element_type=i1)
        return [ew(ElementwiseFn.WHERE, keep, x, const("zero", 0.0))]
    # Shrink: x + bias if x < -lambd, x - bias if x > lambd, else 0
    lambd = float(cast(float, a.get("lambd", 0.5)))
    bias = float(cast(float, a.get("bias", 0.0)))
    zero = im._constant(f"{node.output[0]}.zero", np.array(0, dtype_for_elem(_elem(x))))
    lo = ew(ElementwiseFn.LESS, x, const("neg_lambd", -lambd), element_type=i1)
    hi = ew(ElementwiseFn.GREATER, x, const("lambd", lambd), element_type=i1)
    up = ew(ElementwiseFn.ADD, x, const("bias", bias))
    down = ew(ElementwiseFn.SUB, x, const("bias", bias))
    if _elem(x) != f32:
        up = ew(ElementwiseFn.CAST, up, element_type=_elem(x))
        down = ew(ElementwiseFn.CAST, down, element_type=_elem(x))
    return [ew(ElementwiseFn.WHERE, lo, up, ew(ElementwiseFn.WHERE, hi, down, zero))]


@handles("SwiGLU")
def _swiglu(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """a * sigmoid(alpha * a) * b (A and B of one shape)."""
    a, b = im._ssa(node.input[0]), im._ssa(node.input[1])
    if shape_of(a) != shape_of(b):
        raise OnnxImportError(f"node {node.name!r} (op SwiGLU): A and B differ in shape")
    alpha = float(cast(float, im.attrs(node).get("alpha", 1.0)))
    c = im._constant(f"{node.output[0]}.alpha", np.array(alpha, np.float32))
    gate = im.add(
        ElementwiseOp(
            ElementwiseFn.SIGMOID, [im.add(ElementwiseOp(ElementwiseFn.MUL, [a, c]), node)]
        ),
        node,
    )
    swish = im.add(ElementwiseOp(ElementwiseFn.MUL, [a, gate]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [swish, b]), node)]
