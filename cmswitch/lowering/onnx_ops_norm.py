"""ONNX importer handlers: normalisation, pooling and reductions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ElementwiseFn,
    ElementwiseOp,
    LayerNormOp,
    PoolKind,
    PoolOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    RMSNormOp,
    SoftmaxOp,
    shape_of,
)
from cmswitch.lowering.onnx_common import (
    Absent,
    OnnxImportError,
    Value,
    conv_pads,
    fit,
    handles,
    i1,
    spatial_2d,
)

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


# ---------------------------------------------------------------- normalisation


@handles("Softmax", "LogSoftmax")
def _softmax(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    default = -1 if im.opset >= 13 else 1
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", default))), rank, node)
    if im.opset < 13 and axis != rank - 1:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}, opset {im.opset}): the pre-13 "
            "flattening softmax is supported on the last axis only"
        )
    y = im.add(SoftmaxOp(x, axis), node)
    if node.op_type == "LogSoftmax":
        y = im.add(ElementwiseOp(ElementwiseFn.LOG, [y]), node)
    return [y]


def _moments(
    im: Importer, node: onnx.NodeProto, x: SSAValue, axis: int, eps: float
) -> tuple[SSAValue, SSAValue]:
    """Mean and 1 / sqrt(variance + eps) over axes axis.. (kept as size 1)."""
    axes = list(range(axis, len(shape_of(x))))
    mean = im.add(ReduceOp(ReduceFn.MEAN, x, axes, True), node)
    d = im.add(ElementwiseOp(ElementwiseFn.SUB, [x, mean]), node)
    var = im.add(ReduceOp(ReduceFn.MEAN, im.add(ElementwiseOp(ElementwiseFn.MUL, [d, d]), node),
                          axes, True), node)  # fmt: skip
    e = im._constant(f"{node.output[0]}.eps", np.array(eps, np.float32))
    inv = im.add(
        ElementwiseOp(
            ElementwiseFn.RSQRT, [im.add(ElementwiseOp(ElementwiseFn.ADD, [var, e]), node)]
        ),
        node,
    )
    return mean, inv


@handles("LayerNormalization")
def _layernorm(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", -1))), len(shape), node)
    eps = float(cast(float, a.get("epsilon", 1e-5)))
    norm_shape = shape[axis:]
    scale = fit(im, node, node.input[1], norm_shape, 1.0)
    bias = fit(im, node, node.input[2] if len(node.input) > 2 else "", norm_shape, 0.0)
    y = im.add(LayerNormOp(x, scale, bias, axis, eps), node)
    if not any(im.used(o) for o in node.output[1:]):
        return [y]
    # The training-mode statistics outputs.
    return [y, *_moments(im, node, x, axis, eps)]


@handles("RMSNormalization")
def _rmsnorm(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", -1))), len(shape), node)
    eps = float(cast(float, a.get("epsilon", 1e-5)))
    if axis == len(shape) - 1:
        scale = fit(im, node, node.input[1], shape[-1:], 1.0)
        return [im.add(RMSNormOp(x, scale, eps), node)]
    # Over several trailing axes: x / sqrt(mean(x^2) + eps) * scale.
    scale = fit(im, node, node.input[1], shape[axis:], 1.0)
    sq = im.add(ElementwiseOp(ElementwiseFn.MUL, [x, x]), node)
    ms = im.add(ReduceOp(ReduceFn.MEAN, sq, list(range(axis, len(shape))), True), node)
    e = im._constant(f"{node.output[0]}.eps", np.array(eps, np.float32))
    inv = im.add(
        ElementwiseOp(
            ElementwiseFn.RSQRT, [im.add(ElementwiseOp(ElementwiseFn.ADD, [ms, e]), node)]
        ),
        node,
    )
    y = im.add(ElementwiseOp(ElementwiseFn.MUL, [x, inv]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [y, scale]), node)]


@handles("LpNormalization", "MeanVarianceNormalization")
def _lp_mvn(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    a = im.attrs(node)
    if node.op_type == "MeanVarianceNormalization":
        axes = sorted(
            im.axis(int(v), rank, node) for v in cast(list[int], a.get("axes", [0, 2, 3]))
        )
        mean = im.add(ReduceOp(ReduceFn.MEAN, x, axes, True), node)
        d = im.add(ElementwiseOp(ElementwiseFn.SUB, [x, mean]), node)
        var = im.add(
            ReduceOp(
                ReduceFn.MEAN, im.add(ElementwiseOp(ElementwiseFn.MUL, [d, d]), node), axes, True
            ),
            node,
        )
        e = im._constant(f"{node.output[0]}.eps", np.array(1e-9, np.float32))
        std = im.add(ElementwiseOp(ElementwiseFn.SQRT, [var]), node)
        std = im.add(ElementwiseOp(ElementwiseFn.ADD, [std, e]), node)
        return [im.add(ElementwiseOp(ElementwiseFn.DIV, [d, std]), node)]
    axis = im.axis(int(cast(int, a.get("axis", -1))), rank, node)
    p = int(cast(int, a.get("p", 2)))
    if p not in (1, 2):
        raise OnnxImportError(f"node {node.name!r} (op LpNormalization): p = {p}")
    if p == 1:
        absx = im.add(ElementwiseOp(ElementwiseFn.ABS, [x]), node)
        norm = im.add(ReduceOp(ReduceFn.SUM, absx, [axis], True), node)
    else:
        norm = im.add(ReduceOp(ReduceFn.L2, x, [axis], True), node)
    # A zero norm gives 0, not 0 / 0 (ONNX).
    zero = im._constant(f"{node.output[0]}.zero", np.array(0.0, np.float32))
    is_zero = im.add(ElementwiseOp(ElementwiseFn.EQUAL, [norm, zero], element_type=i1), node)
    y = im.add(ElementwiseOp(ElementwiseFn.DIV, [x, norm]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.WHERE, [is_zero, zero, y]), node)]


@handles("BatchNormalization")
def _batchnorm(im: Importer, node: onnx.NodeProto) -> list[Value]:
    if any(im.used(o) for o in node.output[1:]) or im.attrs(node).get("training_mode", 0):
        raise OnnxImportError(f"node {node.name!r} (op BatchNormalization): training mode")
    x = im._ssa(node.input[0])
    c = shape_of(x)[1]
    rank = len(shape_of(x))
    eps = float(cast(float, im.attrs(node).get("epsilon", 1e-5)))
    parts = [im._get(n) for n in node.input[1:5]]
    bshape = (c,) + (1,) * (rank - 2)
    if all(isinstance(p, np.ndarray) for p in parts):
        gamma, beta, mean, var = (cast(np.ndarray, p).astype(np.float64) for p in parts)
        s = gamma / np.sqrt(var + eps)
        sc = im._constant(f"{node.output[0]}.scale", s.reshape(bshape).astype(np.float32))
        sh = im._constant(
            f"{node.output[0]}.shift", (beta - mean * s).reshape(bshape).astype(np.float32)
        )
    elif all(isinstance(p, np.ndarray | Absent) for p in parts):
        sc = im.b.weight(f"{node.output[0]}.scale", bshape)
        sh = im.b.weight(f"{node.output[0]}.shift", bshape)
    else:
        raise OnnxImportError(
            f"node {node.name!r} (op BatchNormalization): statistics must be constants"
        )
    y = im.add(ElementwiseOp(ElementwiseFn.MUL, [x, sc]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.ADD, [y, sh]), node)]


# ---------------------------------------------------------------- pooling


@handles("MaxPool", "AveragePool")
def _pool(im: Importer, node: onnx.NodeProto) -> list[Value]:
    if len(node.output) > 1 and im.used(node.output[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op MaxPool): the Indices output is not supported"
        )
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    if len(shape) == 3:  # 1-D pooling: NCL as NC1L
        n, c, length = shape
        y = _pool_2d(im, _lift_1d(node), im.add(ReshapeOp(x, (n, c, 1, length)), node))
        return [im.add(ReshapeOp(y, (n, c, shape_of(y)[3])), node)]
    return [_pool_2d(im, node, x)]


def _lift_1d(node: onnx.NodeProto) -> onnx.NodeProto:
    """A 1-D pooling node's attributes for a height-1 2-D input."""
    clone = onnx.NodeProto()
    clone.CopyFrom(node)
    for attr in clone.attribute:
        if attr.name in ("kernel_shape", "strides", "dilations") and len(attr.ints) == 1:
            attr.ints.insert(0, 1)
        elif attr.name == "pads" and len(attr.ints) == 2:
            begin, end = attr.ints
            del attr.ints[:]
            attr.ints.extend([0, begin, 0, end])
    return clone


def _pool_2d(im: Importer, node: onnx.NodeProto, x: SSAValue) -> SSAValue:
    shape = shape_of(x)
    spatial_2d(im, node, len(shape))
    a = im.attrs(node)
    k = [int(v) for v in cast(list[int], a["kernel_shape"])]
    strides = [int(v) for v in cast(list[int], a.get("strides", [1, 1]))]
    dil = [int(v) for v in cast(list[int], a.get("dilations", [1, 1]))]
    if dil != [1, 1]:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): dilated pooling is not supported"
        )
    pads = conv_pads(im, node, shape[2:], k, strides, dil)
    if int(cast(int, a.get("ceil_mode", 0))):
        for ax in range(2):
            padded = shape[2 + ax] + pads[ax] + pads[ax + 2]
            out = math.ceil((padded - k[ax]) / strides[ax]) + 1
            # The last window must start inside the input or left padding.
            if (out - 1) * strides[ax] >= shape[2 + ax] + pads[ax]:
                out -= 1
            pads[ax + 2] += max(0, (out - 1) * strides[ax] + k[ax] - padded)
    kind = PoolKind.MAX if node.op_type == "MaxPool" else PoolKind.AVG
    include = bool(int(cast(int, a.get("count_include_pad", 0))))
    return im.add(PoolOp(kind, x, k, strides, pads, include), node)


@handles("LpPool")
def _lp_pool(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """(sum over the window of |x|^p)^(1/p): an average pool counting the
    zero padding, times the window size."""
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    p = float(cast(int, a.get("p", 2)))
    pc = im._constant(f"{node.output[0]}.p", np.array(p, np.float32))
    px = im.add(
        ElementwiseOp(ElementwiseFn.POW, [im.add(ElementwiseOp(ElementwiseFn.ABS, [x]), node), pc]),
        node,
    )
    clone = onnx.NodeProto()
    clone.CopyFrom(node)
    clone.op_type = "AveragePool"
    del clone.attribute[:]
    clone.attribute.extend(t for t in node.attribute if t.name not in ("p", "count_include_pad"))
    clone.attribute.append(onnx.helper.make_attribute("count_include_pad", 1))
    shape = shape_of(px)
    try:
        if len(shape) == 3:
            n, c, length = shape
            y = _pool_2d(im, _lift_1d(clone), im.add(ReshapeOp(px, (n, c, 1, length)), node))
            y = im.add(ReshapeOp(y, (n, c, shape_of(y)[3])), node)
        else:
            y = _pool_2d(im, clone, px)
    except OnnxImportError as err:
        raise OnnxImportError(str(err).replace("op AveragePool", "op LpPool")) from None
    k = im._constant(
        f"{node.output[0]}.k", np.array(math.prod(cast(list[int], a["kernel_shape"])), np.float32)
    )
    inv = im._constant(f"{node.output[0]}.inv_p", np.array(1.0 / p, np.float32))
    y = im.add(ElementwiseOp(ElementwiseFn.MUL, [y, k]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.POW, [y, inv]), node)]


@handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    spatial_2d(im, node, len(shape))
    kind = PoolKind.MAX if node.op_type == "GlobalMaxPool" else PoolKind.AVG
    return [im.add(PoolOp(kind, x, shape[2:], (1, 1)), node)]


_REDUCE = {
    "ReduceMean": ReduceFn.MEAN,
    "ReduceSum": ReduceFn.SUM,
    "ReduceMax": ReduceFn.MAX,
    "ReduceMin": ReduceFn.MIN,
    "ReduceProd": ReduceFn.PROD,
    "ReduceSumSquare": ReduceFn.SUM_SQUARE,
    "ReduceL2": ReduceFn.L2,
}


_NOOP_FN = {
    "ReduceSumSquare": ElementwiseFn.MUL,  # x * x
    "ReduceL2": ElementwiseFn.ABS,
    "ReduceL1": ElementwiseFn.ABS,
    "ReduceLogSum": ElementwiseFn.LOG,
}
"""What a reduction over no axes (noop_with_empty_axes) leaves: its
elementwise part (identity for the others)."""


@handles(*_REDUCE, "ReduceL1", "ReduceLogSum", "ReduceLogSumExp")
def _reduce(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    a = im.attrs(node)
    op = node.op_type
    keep = bool(int(cast(int, a.get("keepdims", 1))))
    if len(node.input) > 1 and node.input[1]:
        axes = im._ints(node, 1, "axes")
    else:
        axes = [int(v) for v in cast(list[int], a.get("axes", []))]

    def ew(fn: ElementwiseFn, *xs: SSAValue) -> SSAValue:
        return im.add(ElementwiseOp(fn, list(xs)), node)

    if not axes:
        if int(cast(int, a.get("noop_with_empty_axes", 0))):
            fn = _NOOP_FN.get(op)
            if fn is None:
                return [x]
            return [ew(fn, x, x) if fn is ElementwiseFn.MUL else ew(fn, x)]
        axes = list(range(rank))
    axes = sorted({im.axis(ax, rank, node) for ax in axes})
    if op in _REDUCE:
        return [im.add(ReduceOp(_REDUCE[op], x, axes, keep), node)]
    if op == "ReduceL1":
        return [im.add(ReduceOp(ReduceFn.SUM, ew(ElementwiseFn.ABS, x), axes, keep), node)]
    if op == "ReduceLogSum":
        return [ew(ElementwiseFn.LOG, im.add(ReduceOp(ReduceFn.SUM, x, axes, keep), node))]
    # ReduceLogSumExp, stable: m + log(sum(exp(x - m))), m the (finite) max.
    m = im.add(ReduceOp(ReduceFn.MAX, x, axes, True), node)
    finite = im.add(ElementwiseOp(ElementwiseFn.ISINF, [m], element_type=i1), node)
    zero = im._constant(f"{node.output[0]}.zero", np.array(0.0, np.float32))
    m = im.add(ElementwiseOp(ElementwiseFn.WHERE, [finite, zero, m]), node)
    e = ew(ElementwiseFn.EXP, ew(ElementwiseFn.SUB, x, m))
    y = ew(
        ElementwiseFn.ADD,
        ew(ElementwiseFn.LOG, im.add(ReduceOp(ReduceFn.SUM, e, axes, True), node)),
        m,
    )
    if not keep:
        y = im.add(ReshapeOp(y, [d for k, d in enumerate(shape_of(x)) if k not in axes]), node)
    return [y]


@handles("GroupNormalization", "InstanceNormalization")
def _groupnorm(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """Normalises each (sample, group) over its channels and positions:
    ``cim.layernorm`` over the last axis of [N, G, C/G * spatial], then the
    per-channel affine transform."""
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    if len(shape) < 2:
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): needs rank >= 2")
    n, c = shape[0], shape[1]
    a = im.attrs(node)
    groups = c if node.op_type == "InstanceNormalization" else int(cast(int, a["num_groups"]))
    if groups <= 0 or c % groups:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): {c} channels in {groups} groups"
        )
    eps = float(cast(float, a.get("epsilon", 1e-5)))
    rest = math.prod(shape) // (n * groups)
    y = im.add(ReshapeOp(x, (n, groups, rest)), node)
    one = im._constant(f"{node.output[0]}.one", np.ones((rest,), np.float32))
    zero = im._constant(f"{node.output[0]}.zero", np.zeros((rest,), np.float32))
    y = im.add(LayerNormOp(y, one, zero, 2, eps), node)
    y = im.add(ReshapeOp(y, shape), node)
    bshape = (c,) + (1,) * (len(shape) - 2)
    for pos, fn in ((1, ElementwiseFn.MUL), (2, ElementwiseFn.ADD)):
        p = _per_channel(im, node, node.input[pos], groups, c)
        p = im.add(ReshapeOp(p, bshape), node)
        y = im.add(ElementwiseOp(fn, [y, p]), node)
    return [y]


def _per_channel(im: Importer, node: onnx.NodeProto, name: str, groups: int, c: int) -> SSAValue:
    """A [C] scale/bias; opset-18 GroupNormalization gives one per group."""
    size = math.prod(im._shape(name))
    if size == c:
        v = im._ssa(name)
        return v if shape_of(v) == (c,) else im.add(ReshapeOp(v, (c,)), node)
    if size != groups:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): scale/bias {name!r} needs {c} or "
            f"{groups} values"
        )
    v = im.add(ReshapeOp(im._ssa(name), (groups, 1)), node)
    v = im.add(BroadcastOp(v, (groups, c // groups)), node)
    return im.add(ReshapeOp(v, (c,)), node)
