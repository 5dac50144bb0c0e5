"""``convert-linalg-to-cim``, part 3: re-fusing what upstream decomposed.

torch-mlir lowers a softmax to five linalg ops and a Gemm's bias to an add
after the product. Mapped one by one these cost the vector unit more than
the `cim` ops that express them directly, so after the conversion:

* ``div(exp(x - max(x)), sum(exp(x - max(x))))`` over one axis becomes
  ``cim.softmax``;
* ``add(linear(x, W), c)`` / ``add(conv2d(x, W), c)`` with `c` a constant
  that only varies along the output channels becomes the op's bias;
* ``(y * k) / k`` is `y` (AveragePool as a window sum divided by its size).

Both rewrites keep the function's semantics exactly (up to float rounding);
the ops they replace are left dead for the caller's clean-up.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Block, Operation, SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ConstantOp,
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    LinearOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    SoftmaxOp,
    ints,
    shape_of,
)
from cmswitch.lowering.linalg_emit import array_of, dense_attr, elem_of


def fuse(block: Block) -> None:
    """Applies the rewrites to the ops of `block` (in place)."""
    for op in list(block.ops):
        if isinstance(op, ElementwiseOp) and op.function is ElementwiseFn.DIV:
            if not _softmax(block, op):
                _scale_back(op)
        elif isinstance(op, ElementwiseOp) and op.function is ElementwiseFn.ADD:
            _bias(block, op)


def _scale_back(div: ElementwiseOp) -> bool:
    """``(y * k) / k`` is `y`: an average pool of a window sum divided by
    the window size again (how torch-mlir writes AveragePool)."""
    if len(div.inputs) != 2:
        return False
    mul = _fn(div.inputs[0].owner if isinstance(div.inputs[0].owner, Operation) else None,
              ElementwiseFn.MUL)  # fmt: skip
    k = _constant_data(div.inputs[1])
    if mul is None or k is None or k.size != 1 or len(mul.inputs) != 2:
        return False
    y, k2 = mul.inputs
    k2_data = _constant_data(k2)
    if k2_data is None or k2_data.size != 1 or float(k2_data.ravel()[0]) != float(k.ravel()[0]):
        return False
    if shape_of(y) != shape_of(div.output) or y.type != div.output.type:
        return False
    div.output.replace_all_uses_with(y)
    return True


def _through_reshapes(v: SSAValue) -> Operation | None:
    owner = v.owner
    while isinstance(owner, ReshapeOp):
        owner = owner.input.owner
    return owner if isinstance(owner, Operation) else None


def _fn(op: Operation | None, fn: ElementwiseFn) -> ElementwiseOp | None:
    return op if isinstance(op, ElementwiseOp) and op.function is fn else None


def _reduce(op: Operation | None, fn: ReduceFn) -> ReduceOp | None:
    if isinstance(op, ReduceOp) and op.fn.data is fn and op.keepdims.value.data:
        return op if len(ints(op.axes)) == 1 else None
    return None


def _softmax(block: Block, div: ElementwiseOp) -> bool:
    if len(div.inputs) != 2:
        return False
    num, den = div.inputs
    exp = _fn(num.owner if isinstance(num.owner, Operation) else None, ElementwiseFn.EXP)
    total = _reduce(_through_reshapes(den), ReduceFn.SUM)
    if exp is None or total is None or total.input is not num:
        return False
    sub = _fn(exp.inputs[0].owner if isinstance(exp.inputs[0].owner, Operation) else None,
              ElementwiseFn.SUB)  # fmt: skip
    if sub is None or len(sub.inputs) != 2:
        return False
    x, mx = sub.inputs
    peak = _reduce(_through_reshapes(mx), ReduceFn.MAX)
    if peak is None or peak.input is not x or ints(peak.axes) != ints(total.axes):
        return False
    if shape_of(x) != shape_of(div.output) or cast(TensorType, x.type) != div.output.type:
        return False
    _replace(block, div, SoftmaxOp(x, ints(total.axes)[0]))
    return True


def _bias(block: Block, add: ElementwiseOp) -> None:
    if len(add.inputs) != 2:
        return
    for y, c in (tuple(add.inputs), tuple(reversed(add.inputs))):
        op = y.owner
        if not isinstance(op, LinearOp | Conv2dOp) or op.bias is not None:
            continue
        if len(list(y.uses)) != 1 or shape_of(add.output) != shape_of(y):
            continue
        data = _constant_data(c)
        if data is None or not np.issubdtype(data.dtype, np.floating):
            continue
        out = shape_of(y)
        try:
            full = np.broadcast_to(data, out)
        except ValueError:
            continue
        channel = len(out) - 1 if isinstance(op, LinearOp) else 1
        rows = np.moveaxis(full, channel, -1).reshape(-1, out[channel])
        if not np.all(rows == rows[:1]):
            continue
        sym = f"{_label(op) or 'linalg'}.bias"
        bias = ConstantOp(sym, TensorType(elem_of(data.dtype), [out[channel]]),
                          dense_attr(np.ascontiguousarray(rows[0])))  # fmt: skip
        block.insert_op_before(bias, op)
        if isinstance(op, LinearOp):
            new: Operation = LinearOp(op.input, op.weight, bias.result)
        else:
            strides, pads, dilations, group = op.geometry()
            new = Conv2dOp(op.input, op.weight, bias.result, strides=strides, pads=pads,
                           dilations=dilations, group=group)  # fmt: skip
        if "label" in op.attributes:
            new.attributes["label"] = op.attributes["label"]
        block.insert_op_before(new, add)
        add.output.replace_all_uses_with(new.results[0])
        return


def _constant_data(v: SSAValue) -> np.ndarray | None:
    """The value of `v` when it is an inline ``cim.constant``, possibly
    reshaped or broadcast."""
    owner = v.owner
    if isinstance(owner, ReshapeOp):
        inner = _constant_data(owner.input)
        return None if inner is None else inner.reshape(shape_of(owner.output))
    if isinstance(owner, BroadcastOp):
        inner = _constant_data(owner.input)
        return None if inner is None else np.broadcast_to(inner, shape_of(owner.output))
    if isinstance(owner, ConstantOp) and owner.value is not None:
        return array_of(owner.value)  # type: ignore[arg-type]
    return None


def _label(op: Operation) -> str | None:
    label = op.attributes.get("label")
    return label.data if isinstance(label, StringAttr) else None


def _replace(block: Block, old: Operation, new: Operation) -> None:
    if "label" in old.attributes:
        new.attributes["label"] = old.attributes["label"]
    block.insert_op_before(new, old)
    old.results[0].replace_all_uses_with(new.results[0])
