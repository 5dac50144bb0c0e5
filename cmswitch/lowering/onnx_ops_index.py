"""ONNX importer handlers: indexing, selection and scans (GatherElements,
ScatterND, CumSum, TopK, ArgMax/ArgMin, Trilu)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Attribute, SSAValue

from cmswitch.dialects.cim import (
    CumSumOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherElementsOp,
    GatherOp,
    ReshapeOp,
    ScatterNDOp,
    ScatterReduction,
    SliceOp,
    TopKOp,
    shape_of,
)
from cmswitch.lowering.onnx_common import OnnxImportError, Value, dtype_for_elem, handles, i1

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


def _index_operand(im: Importer, name: str) -> SSAValue:
    """An index tensor as i64: constants are materialised as such."""
    v = im._get(name)
    if isinstance(v, np.ndarray):
        return im._constant(name, v.astype(np.int64))
    return im._ssa(name)


def _zero_like(im: Importer, node: onnx.NodeProto, x: SSAValue) -> SSAValue:
    dtype = dtype_for_elem(cast(TensorType, x.type).element_type)
    return im._constant(f"{node.output[0]}.zero", np.zeros((), dtype))


@handles("GatherElements")
def _gather_elements(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", 0))), len(shape_of(x)), node)
    return [im.add(GatherElementsOp(x, _index_operand(im, node.input[1]), axis), node)]


_REDUCTIONS = {
    "none": ScatterReduction.NONE,
    "add": ScatterReduction.ADD,
    "mul": ScatterReduction.MUL,
    "max": ScatterReduction.MAX,
    "min": ScatterReduction.MIN,
}


@handles("ScatterND")
def _scatter_nd(im: Importer, node: onnx.NodeProto) -> list[Value]:
    red = im.attrs(node).get("reduction", b"none")
    red = red.decode() if isinstance(red, bytes) else str(red)
    if red not in _REDUCTIONS:
        raise OnnxImportError(f"node {node.name!r} (op ScatterND): reduction {red!r}")
    data = im._ssa(node.input[0])
    updates = im._ssa(node.input[2])
    op = ScatterNDOp(data, _index_operand(im, node.input[1]), updates, _REDUCTIONS[red])
    return [im.add(op, node)]


@handles("CumSum")
def _cumsum(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    axis = im.axis(im._ints(node, 1, "axis")[0], len(shape_of(x)), node)
    a = im.attrs(node)
    exclusive = bool(int(cast(int, a.get("exclusive", 0))))
    reverse = bool(int(cast(int, a.get("reverse", 0))))
    return [im.add(CumSumOp(x, axis, exclusive, reverse), node)]


@handles("TopK")
def _topk(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    k = int(cast(int, a["k"])) if im.opset < 10 else im._ints(node, 1, "K")[0]
    axis = im.axis(int(cast(int, a.get("axis", -1))), len(shape_of(x)), node)
    largest = bool(int(cast(int, a.get("largest", 1))))
    op = TopKOp(x, k, axis, largest)
    im.add(op, node)
    return [op.values, op.indices]


@handles("ArgMax", "ArgMin")
def _argmax(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", 0))), len(shape), node)
    keep = bool(int(cast(int, a.get("keepdims", 1))))
    last = bool(int(cast(int, a.get("select_last_index", 0))))
    if last:
        # The last extreme is the first one of the reversed axis.
        starts, ends, steps = [0] * len(shape), list(shape), [1] * len(shape)
        starts[axis], ends[axis], steps[axis] = shape[axis] - 1, -1, -1
        x = im.add(SliceOp(x, starts, ends, steps), node)
    op = TopKOp(x, 1, axis, node.op_type == "ArgMax")
    im.add(op, node)
    idx: SSAValue = op.indices
    if last:
        top = im._constant(f"{node.output[0]}.last", np.array(shape[axis] - 1, np.int64))
        idx = im.add(ElementwiseOp(ElementwiseFn.SUB, [top, idx]), node)
    if not keep:
        idx = im.add(ReshapeOp(idx, shape[:axis] + shape[axis + 1 :]), node)
    return [idx]


@handles("Trilu")
def _trilu(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    if len(shape) < 2:
        raise OnnxImportError(f"node {node.name!r} (op Trilu): the input needs rank >= 2")
    k = im._ints(node, 1, "k")[0] if len(node.input) > 1 and node.input[1] else 0
    upper = bool(int(cast(int, im.attrs(node).get("upper", 1))))
    ones = np.ones(shape[-2:], dtype=np.bool_)
    mask = np.triu(ones, k) if upper else np.tril(ones, k)
    keep = im._constant(f"{node.output[0]}.mask", mask)
    return [im.add(ElementwiseOp(ElementwiseFn.WHERE, [keep, x, _zero_like(im, node, x)]), node)]


@handles("ScatterElements", "Scatter")
def _scatter_elements(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """ScatterElements with constant indices: each index names one element,
    so it is a ``cim.scatter_nd`` whose index tuples are computed here."""
    data = im._ssa(node.input[0])
    shape = shape_of(data)
    idx = im._const(node.input[1])
    if idx is None:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): indices must be a constant "
            "(computed at import time)"
        )
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", 0))), len(shape), node)
    red = a.get("reduction", b"none")
    red = red.decode() if isinstance(red, bytes) else str(red)
    if red not in _REDUCTIONS:
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): reduction {red!r}")
    idx = np.asarray(idx).astype(np.int64)
    n = shape[axis]
    if np.any(idx >= n) or np.any(idx < -n):
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): index out of range")
    grids = [np.asarray(g) for g in np.indices(idx.shape)]
    grids[axis] = np.where(idx < 0, idx + n, idx)
    full = np.stack(grids, axis=-1).reshape(-1, len(shape))
    updates = im._ssa(node.input[2])
    flat = im.add(ReshapeOp(updates, (full.shape[0],)), node)
    where = im._constant(f"{node.output[0]}.indices", full)
    return [im.add(ScatterNDOp(data, where, flat, _REDUCTIONS[red]), node)]


def _iota(im: Importer, node: onnx.NodeProto, n: int, axis: int, rank: int) -> SSAValue:
    """0..n-1 along `axis` of a rank-`rank` constant (size 1 elsewhere)."""
    shape = [1] * rank
    shape[axis] = n
    return im._constant(f"{node.output[0]}.iota", np.arange(n, dtype=np.int64).reshape(shape))


@handles("Hardmax")
def _hardmax(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """1 at the first maximum along `axis`, 0 elsewhere."""
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    default = -1 if im.opset >= 13 else 1
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", default))), len(shape), node)
    if im.opset < 13 and axis != len(shape) - 1:
        raise OnnxImportError(
            f"node {node.name!r} (op Hardmax, opset {im.opset}): the pre-13 flattening form "
            "is supported on the last axis only"
        )
    op = TopKOp(x, 1, axis, True)
    im.add(op, node)
    hit = im.add(ElementwiseOp(ElementwiseFn.EQUAL, [_iota(im, node, shape[axis], axis,
                 len(shape)), op.indices], element_type=i1), node)  # fmt: skip
    return [im.add(ElementwiseOp(ElementwiseFn.CAST, [hit], element_type=_elem(x)), node)]


@handles("OneHot")
def _one_hot(im: Importer, node: onnx.NodeProto) -> list[Value]:
    idx = im._ssa(node.input[0])
    depth_v = im._const(node.input[1])
    if depth_v is None:
        raise OnnxImportError(f"node {node.name!r} (op OneHot): depth must be a constant")
    depth = int(np.asarray(depth_v).ravel()[0])
    shape = shape_of(idx)
    rank = len(shape) + 1
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", -1))), rank, node)
    if _elem(idx) != i64:  # float indices are truncated
        idx = im.add(ElementwiseOp(ElementwiseFn.CAST, [idx], element_type=i64), node)
    zero = im._constant(f"{node.output[0]}.zero", np.array(0, np.int64))
    d = im._constant(f"{node.output[0]}.depth", np.array(depth, np.int64))
    neg = im.add(ElementwiseOp(ElementwiseFn.LESS, [idx, zero], element_type=i1), node)
    wrapped = im.add(ElementwiseOp(ElementwiseFn.ADD, [idx, d]), node)
    idx = im.add(ElementwiseOp(ElementwiseFn.WHERE, [neg, wrapped, idx]), node)
    idx = im.add(ReshapeOp(idx, (*shape[:axis], 1, *shape[axis:])), node)
    hit = im.add(ElementwiseOp(ElementwiseFn.EQUAL, [idx, _iota(im, node, depth, axis, rank)],
                               element_type=i1), node)  # fmt: skip
    values = im._ssa(node.input[2])
    if math.prod(shape_of(values)) != 2:
        raise OnnxImportError(f"node {node.name!r} (op OneHot): values must hold [off, on]")
    flat = im.add(ReshapeOp(values, (2,)), node) if shape_of(values) != (2,) else values
    off = im.add(SliceOp(flat, [0], [1]), node)
    on = im.add(SliceOp(flat, [1], [2]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.WHERE, [hit, on, off]), node)]


@handles("EyeLike")
def _eye_like(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """Only the input's (static) shape matters: a constant."""
    shape = im._shape(node.input[0])
    if len(shape) != 2:
        raise OnnxImportError(f"node {node.name!r} (op EyeLike): needs a 2-D input")
    a = im.attrs(node)
    to = int(cast(int, a["dtype"])) if "dtype" in a else im.onnx_type(node.input[0])
    eye = np.eye(shape[0], shape[1], int(cast(int, a.get("k", 0))))
    return [eye.astype(helper.tensor_dtype_to_np_dtype(to))]


def _elem(x: SSAValue) -> Attribute:
    return cast(TensorType, x.type).element_type


@handles("GatherND")
def _gather_nd(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """GatherND (batch_dims 0): the indexed leading dimensions are
    flattened and the index tuples become flat indices (i0 * d1 + i1 ...,
    negative ones wrapped), so it is one ``cim.gather``."""
    if int(cast(int, im.attrs(node).get("batch_dims", 0))):
        raise OnnxImportError(f"node {node.name!r} (op GatherND): batch_dims is not supported")
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    idx_shape = im._shape(node.input[1])
    depth = idx_shape[-1]
    if not 1 <= depth <= len(shape):
        raise OnnxImportError(f"node {node.name!r} (op GatherND): index depth {depth}")
    dims = shape[:depth]
    strides = [math.prod(dims[k + 1 :]) for k in range(depth)]
    idx_v = im._get(node.input[1])
    if isinstance(idx_v, np.ndarray):
        idx = idx_v.astype(np.int64)
        if np.any(idx >= np.array(dims)) or np.any(idx < -np.array(dims)):
            raise OnnxImportError(f"node {node.name!r} (op GatherND): index out of range")
        flat_v = (np.where(idx < 0, idx + np.array(dims), idx) * np.array(strides)).sum(-1)
        flat = im._constant(f"{node.output[0]}.flat", flat_v)
    else:
        ind = im._ssa(node.input[1])
        flat = None
        for k in range(depth):
            starts = [0] * len(idx_shape)
            ends = list(idx_shape)
            starts[-1], ends[-1] = k, k + 1
            part = im.add(ReshapeOp(im.add(SliceOp(ind, starts, ends), node), idx_shape[:-1]), node)
            d = im._constant(f"{node.output[0]}.dim{k}", np.array(dims[k], np.int64))
            zero = im._constant(f"{node.output[0]}.zero", np.array(0, np.int64))
            neg = im.add(ElementwiseOp(ElementwiseFn.LESS, [part, zero], element_type=i1), node)
            part = im.add(ElementwiseOp(ElementwiseFn.WHERE, [neg, im.add(
                ElementwiseOp(ElementwiseFn.ADD, [part, d]), node), part]), node)  # fmt: skip
            if strides[k] != 1:
                st = im._constant(f"{node.output[0]}.stride{k}", np.array(strides[k], np.int64))
                part = im.add(ElementwiseOp(ElementwiseFn.MUL, [part, st]), node)
            flat = (
                part
                if flat is None
                else im.add(ElementwiseOp(ElementwiseFn.ADD, [flat, part]), node)
            )
        assert flat is not None
    table = im.add(ReshapeOp(x, (math.prod(dims), *shape[depth:])), node) if depth > 1 else x
    return [im.add(GatherOp(table, flat, 0), node)]


@handles("Compress")
def _compress(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """Compress with a constant condition: a constant-index gather."""
    cond = im._const(node.input[1])
    if cond is None:
        raise OnnxImportError(
            f"node {node.name!r} (op Compress): the condition must be a constant (it sets the "
            "output shape)"
        )
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    if "axis" in a:
        axis = im.axis(int(cast(int, a["axis"])), len(shape_of(x)), node)
    else:
        x = im.add(ReshapeOp(x, (math.prod(shape_of(x)),)), node)
        axis = 0
    keep = np.nonzero(np.asarray(cond).ravel()[: shape_of(x)[axis]])[0].astype(np.int64)
    return [im.add(GatherOp(x, im._constant(f"{node.output[0]}.keep", keep), axis), node)]
