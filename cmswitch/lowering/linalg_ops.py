"""``convert-linalg-to-cim``, part 2: the ops around the structured ones
(constants, ``tensor`` reshapes / slices / concatenations / pads, fills,
named transposes and broadcasts, torch-mlir's scan, assertions, the
return). Each handler returns the values of the op's results: NumPy arrays
when known at compile time, else `cim` SSA values."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from xdsl.dialects import builtin
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    IntegerAttr,
    TensorType,
)
from xdsl.dialects.func import ReturnOp
from xdsl.ir import BlockArgument, Operation

from cmswitch.dialects.cim import ConcatOp, PadOp, ints
from cmswitch.lowering.linalg_emit import Value, array_of, dtype_of, scalar_attr_value, shape

if TYPE_CHECKING:
    from cmswitch.lowering.linalg_to_cim import _Converter

_Handler = Callable[["_Converter", Operation], list[Value | None]]
HANDLERS: dict[str, _Handler] = {}
"""Op name -> handler."""


def _handles(*names: str) -> Callable[[_Handler], _Handler]:
    def deco(fn: _Handler) -> _Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return deco


@_handles("arith.constant")
def _constant(cv: _Converter, op: Operation) -> list[Value | None]:
    attr = op.properties.get("value")
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return [array_of(attr)]
    if isinstance(attr, DenseResourceAttr):
        return [_resource_array(cv, op, attr)]
    if attr is not None and (value := scalar_attr_value(attr)) is not None:
        return [value]
    raise cv.error(op, f"has an unsupported value {attr}")


def _resource_array(cv: _Converter, op: Operation, attr: DenseResourceAttr) -> np.ndarray:
    key = attr.resource_handle.data
    text = cv.resources(key) if cv.resources is not None else None
    if text is None:
        raise cv.error(op, f"refers to the resource {key!r}, which the module does not hold")
    raw = bytes.fromhex(text.removeprefix("0x"))[4:]  # drop the alignment header
    typ = cast(TensorType, attr.type)
    dense = DenseIntOrFPElementsAttr(cast(Any, typ), builtin.BytesAttr(raw))
    return array_of(dense)


@_handles("tensor.empty")
def _empty(cv: _Converter, op: Operation) -> list[Value | None]:
    typ = cast(TensorType, op.results[0].type)
    if op.operands:
        raise cv.error(op, "with dynamic sizes is not supported (give static shapes)")
    return [np.broadcast_to(np.zeros((), dtype_of(typ.element_type)), typ.get_shape())]


@_handles("linalg.fill")
def _fill(cv: _Converter, op: Operation) -> list[Value | None]:
    value = cv.const(op.operands[0], op, "fill value")
    typ = cast(TensorType, op.results[0].type)
    return [np.broadcast_to(value.astype(dtype_of(typ.element_type)), typ.get_shape())]


@_handles("linalg.transpose")
def _transpose(cv: _Converter, op: Operation) -> list[Value | None]:
    perm = ints(cast(DenseArrayBase, op.properties["permutation"]))
    return [cv.em.transpose(cv.get(op.operands[0], op), perm)]


@_handles("linalg.broadcast")
def _broadcast(cv: _Converter, op: Operation) -> list[Value | None]:
    dims = ints(cast(DenseArrayBase, op.properties["dimensions"]))
    out = cast(TensorType, op.results[0].type).get_shape()
    x = cv.get(op.operands[0], op)
    with_ones = [1 if d in dims else s for d, s in enumerate(out)]
    return [cv.em.broadcast(cv.em.reshape(x, with_ones), out)]


@_handles("tensor.collapse_shape", "tensor.expand_shape", "tensor.reshape", "tensor.cast")
def _reshape(cv: _Converter, op: Operation) -> list[Value | None]:
    out = cast(TensorType, op.results[0].type).get_shape()
    if any(d < 0 for d in out):
        raise cv.error(op, "with a dynamic result shape is not supported")
    return [cv.em.reshape(cv.get(op.operands[0], op), out)]


def _static(op: Operation, key: str) -> list[int]:
    return list(ints(cast(DenseArrayBase, op.properties[key])))


@_handles("tensor.extract_slice")
def _extract_slice(cv: _Converter, op: Operation) -> list[Value | None]:
    if len(op.operands) > 1:
        raise cv.error(op, "with dynamic offsets, sizes or strides is not supported")
    x = cv.get(op.operands[0], op)
    offsets, sizes, strides = (_static(op, k) for k in
                               ("static_offsets", "static_sizes", "static_strides"))  # fmt: skip
    ends = [o + (s - 1) * st + 1 for o, s, st in zip(offsets, sizes, strides, strict=True)]
    y = cv.em.slice(x, offsets, ends, strides)
    return [cv.em.reshape(y, cast(TensorType, op.results[0].type).get_shape())]


@_handles("tensor.concat")
def _concat(cv: _Converter, op: Operation) -> list[Value | None]:
    axis = cast(IntegerAttr, op.properties["dim"]).value.data
    values = [cv.get(v, op) for v in op.operands]
    if all(isinstance(v, np.ndarray) for v in values):
        return [np.concatenate(cast(list[np.ndarray], values), axis=axis)]
    return [cv.em.add(ConcatOp([cv.em.ssa(v) for v in values], axis))]


@_handles("tensor.pad")
def _pad(cv: _Converter, op: Operation) -> list[Value | None]:
    if len(op.operands) > 1:
        raise cv.error(op, "with dynamic padding is not supported")
    low, high = _static(op, "static_low"), _static(op, "static_high")
    (fill,) = op.regions[0].block.last_op.operands  # type: ignore[union-attr]
    if (
        fill.owner is not None
        and isinstance(fill.owner, Operation)
        and fill.owner.parent_op() is op
    ):
        raise cv.error(op, "with a computed padding value is not supported")
    if isinstance(fill, BlockArgument) and fill.block is op.regions[0].block:
        raise cv.error(op, "with an index-dependent padding value is not supported")
    value = cv.const(fill, op, "padding value")
    x = cv.get(op.operands[0], op)
    if min(low + high) < 0:
        raise cv.error(op, "with negative padding is not supported")
    if isinstance(x, np.ndarray):
        return [np.pad(x, list(zip(low, high, strict=True)), constant_values=value)]
    return [cv.em.add(PadOp(x, low + high, float(value)))]


@_handles("tensor.dim")
def _dim(cv: _Converter, op: Operation) -> list[Value | None]:
    index = int(cv.const(op.operands[1], op, "dimension"))
    return [np.array(shape(cv.get(op.operands[0], op))[index], np.int64)]


@_handles("tensor.extract")
def _extract(cv: _Converter, op: Operation) -> list[Value | None]:
    x = cv.const(op.operands[0], op, "tensor")
    idx = tuple(int(cv.const(v, op, "index")) for v in op.operands[1:])
    return [np.asarray(x[idx])]


@_handles("tm_tensor.scan")
def _scan(cv: _Converter, op: Operation) -> list[Value | None]:
    """torch-mlir's cumulative scan (ONNX CumSum), folded when its input is
    a compile-time constant (OPT's position ids); cim has no scan op."""
    if len(op.operands) != 3 or len(op.results) != 2:
        raise cv.error(op, "with other than one input and two outputs is not supported")
    x = cv.get(op.operands[0], op)
    init = cv.get(op.operands[2], op)
    if not isinstance(x, np.ndarray) or not isinstance(init, np.ndarray):
        raise cv.error(op, "(a cumulative sum) over run-time data is not supported")
    body = op.regions[0].block
    combine = body.last_op.operands[0].owner if body.last_op is not None else None
    if not isinstance(combine, Operation) or combine.name not in ("arith.addf", "arith.addi"):
        raise cv.error(op, "other than a cumulative sum is not supported")
    dim = _int_attr(op, "dimension")
    inclusive = op.attributes.get("inclusive", op.properties.get("inclusive"))
    total = np.cumsum(x, axis=dim, dtype=x.dtype)
    if not (isinstance(inclusive, IntegerAttr) and inclusive.value.data):
        total = np.concatenate([np.zeros_like(np.take(total, [0], axis=dim)),
                                np.take(total, range(x.shape[dim] - 1), axis=dim)], axis=dim)  # fmt: skip
    total = total + np.expand_dims(init, dim)
    last = np.take(total, x.shape[dim] - 1, axis=dim) if x.shape[dim] else init
    return [total, np.asarray(last)]


def _int_attr(op: Operation, key: str) -> int:
    attr = op.properties.get(key, op.attributes.get(key))
    if not isinstance(attr, IntegerAttr):
        raise ValueError(f"missing integer attribute {key!r}")
    return attr.value.data


@_handles("cf.assert")
def _assert(cv: _Converter, op: Operation) -> list[Value | None]:
    cond = cv.get(op.operands[0], op)
    if isinstance(cond, np.ndarray) and not np.all(cond):
        raise cv.error(op, "fails at compile time")
    return []


@_handles("func.return")
def _return(cv: _Converter, op: Operation) -> list[Value | None]:
    for v, want in zip(op.operands, cv.func.function_type.outputs.data, strict=True):
        value = cv.em.ssa(cv.get(v, op))
        if value.type != want:
            raise cv.error(op, f"returns {value.type}, the function declares {want}")
        cv.outputs.append(value)
    cv.em.label = None
    cv.block.add_op(ReturnOp(*cv.outputs))
    return []
