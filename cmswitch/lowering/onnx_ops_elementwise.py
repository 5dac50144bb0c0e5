"""ONNX importer handlers: point-wise operators (``cim.elementwise``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.dialects.builtin import TensorType

from cmswitch.dialects.cim import (
    ElementwiseFn,
    ElementwiseOp,
)
from cmswitch.lowering.onnx_common import (
    OnnxImportError,
    Value,
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
}

_BINARY: dict[str, ElementwiseFn] = {
    "Add": ElementwiseFn.ADD,
    "Sub": ElementwiseFn.SUB,
    "Mul": ElementwiseFn.MUL,
    "Div": ElementwiseFn.DIV,
    "Pow": ElementwiseFn.POW,
    "Mod": ElementwiseFn.MOD,
    "And": ElementwiseFn.AND,
    "Or": ElementwiseFn.OR,
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
                ElementwiseOp(ElementwiseFn.LEAKY_RELU, [x], alpha=float(a.get("alpha", 0.01))),
                node,
            )
        ]  # type: ignore[arg-type]
    if op == "Elu":
        return [
            im.add(ElementwiseOp(ElementwiseFn.ELU, [x], alpha=float(a.get("alpha", 1.0))), node)
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


@handles("Cast", "CastLike")
def _cast(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    if node.op_type == "CastLike":
        elem = cast(TensorType, im._ssa(node.input[1]).type).element_type
    else:
        elem = elem_for_onnx(int(cast(int, im.attrs(node)["to"])))
    if cast(TensorType, x.type).element_type == elem:
        return [x]
    return [im.add(ElementwiseOp(ElementwiseFn.CAST, [x], element_type=elem), node)]


@handles("Identity", "Dropout")
def _identity(im: Importer, node: onnx.NodeProto) -> list[Value]:
    if node.op_type == "Dropout" and len(node.output) > 1 and im.used(node.output[1]):
        raise OnnxImportError(f"node {node.name!r} (op Dropout): the mask output is not supported")
    return [im._get(node.input[0])]  # type: ignore[list-item]


@handles("IsNaN", "IsInf")
def _isnan(im: Importer, node: onnx.NodeProto) -> list[Value]:
    # Run-time NaN/Inf tests are exporter guards (masked softmax); finite
    # float inputs make them constant False.
    shape = im._shape(node.input[0])
    return [np.zeros(shape, dtype=np.bool_)]
