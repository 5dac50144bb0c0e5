"""ONNX importer handlers: indexing, selection and scans (GatherElements,
ScatterND, CumSum, TopK, ArgMax/ArgMin, Trilu)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    CumSumOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherElementsOp,
    ReshapeOp,
    ScatterNDOp,
    ScatterReduction,
    SliceOp,
    TopKOp,
    shape_of,
)
from cmswitch.lowering.onnx_common import OnnxImportError, Value, dtype_for_elem, handles

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
    grids = list(np.indices(idx.shape))
    grids[axis] = np.where(idx < 0, idx + n, idx)
    full = np.stack(grids, axis=-1).reshape(-1, len(shape))
    updates = im._ssa(node.input[2])
    flat = im.add(ReshapeOp(updates, (full.shape[0],)), node)
    where = im._constant(f"{node.output[0]}.indices", full)
    return [im.add(ScatterNDOp(data, where, flat, _REDUCTIONS[red]), node)]
