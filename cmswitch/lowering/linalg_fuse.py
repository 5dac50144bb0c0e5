"""``convert-linalg-to-cim``, part 3: re-fusing what upstream decomposed.

torch-mlir lowers a softmax to five linalg ops and a Gemm's bias to an add
after the product. Mapped one by one these cost the vector unit more than
the `cim` ops that express them directly, so after the conversion:

* ``div(exp(x - max(x)), sum(exp(x - max(x))))`` over one axis becomes
  ``cim.softmax``;
* ``linear(x, W) + c`` / ``conv2d(x, W) + c`` with `c` a constant that only
  varies along the output channels becomes the op's bias, and ``- c``,
  ``* c``, ``/ c`` fold into its bias and weight (Gemm biases, batch norms);
* ``(y * k) / k`` is `y` (AveragePool as a window sum divided by its size);
* ``(x - mean) * rsqrt(var + eps) * gamma + beta`` over the last axes is
  ``cim.layernorm``;
* broadcasts read only by point-wise ops (which broadcast) are dropped;
* activations written out op by op are one op again: ``min(relu(x), c)`` is
  clip, ``x * clip(x + 3, 0, 6) / 6`` hardswish, ``1 / (1 + exp(-x))``
  sigmoid; the wrap-around of negative gather indices (``i < 0 ? i + n :
  i``) is dropped, as ``cim.gather`` wraps them itself.

Both rewrites keep the function's semantics exactly (up to float rounding);
the ops they replace are left dead for the caller's clean-up.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from xdsl.dialects.builtin import StringAttr, TensorType, f32
from xdsl.ir import Block, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from cmswitch.dialects.cim import (
    BroadcastOp,
    ConstantOp,
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherOp,
    LayerNormOp,
    LinearOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    SoftmaxOp,
    broadcast_shapes,
    ints,
    shape_of,
)
from cmswitch.lowering.linalg_emit import array_of, dense_attr


def fuse(block: Block) -> None:
    """Applies the rewrites to the ops of `block` (in place)."""
    for op in list(block.ops):
        if isinstance(op, BroadcastOp):
            _implicit_broadcast(op)
    for op in list(block.ops):
        if not isinstance(op, ElementwiseOp):
            continue
        if op.function is ElementwiseFn.DIV and (_softmax(block, op) or _scale_back(op)):
            continue
        _fold_channel_affine(block, op)
    for op in list(block.ops):
        if isinstance(op, ElementwiseOp) and op.function is ElementwiseFn.RSQRT:
            _layernorm(block, op)
    for op in list(block.ops):
        if isinstance(op, ElementwiseOp):
            _activation(block, op)
            _gather_index(op)


def _implicit_broadcast(op: BroadcastOp) -> None:
    """A broadcast only read by point-wise ops that broadcast anyway
    (torch-mlir materialises every broadcast as a generic)."""
    for use in list(op.output.uses):
        user = use.operation
        if not isinstance(user, ElementwiseOp):
            continue
        shapes = [shape_of(op.input) if v is op.output else shape_of(v) for v in user.inputs]
        try:
            fits = broadcast_shapes(*shapes) == shape_of(user.output)
        except VerifyException:
            fits = False
        if fits:
            user.operands[use.index] = op.input


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


def _fold_channel_affine(block: Block, ew: ElementwiseOp) -> None:
    """Folds a per-output-channel constant added to, subtracted from,
    multiplied with or divided into a CIM operator's result into the
    operator's bias (and weight): Gemm biases, batch norms after a conv."""
    if len(ew.inputs) != 2:
        return
    fn = ew.function
    pairs = [tuple(ew.inputs)]
    if fn in (ElementwiseFn.ADD, ElementwiseFn.MUL):
        pairs.append(tuple(reversed(ew.inputs)))
    for y, c in pairs:
        op = y.owner
        if not isinstance(op, LinearOp | Conv2dOp) or len(list(y.uses)) != 1:
            continue
        out = shape_of(y)
        channel = len(out) - 1 if isinstance(op, LinearOp) else 1
        per_channel = _per_channel(c, out, channel)
        if per_channel is None or shape_of(ew.output) != out or ew.output.type != y.type:
            continue
        bias = np.zeros(out[channel], np.float64)
        if op.bias is not None:
            old_bias = _constant_data(op.bias)
            if old_bias is None:
                continue
            bias = old_bias.astype(np.float64)
        weight = op.weight
        if fn in (ElementwiseFn.ADD, ElementwiseFn.SUB):
            bias = bias + per_channel if fn is ElementwiseFn.ADD else bias - per_channel
        elif fn in (ElementwiseFn.MUL, ElementwiseFn.DIV):
            w = _constant_data(op.weight)
            if w is None:
                continue
            scale = per_channel if fn is ElementwiseFn.MUL else 1.0 / per_channel
            axis = 1 if isinstance(op, LinearOp) else 0
            shape = [1] * w.ndim
            shape[axis] = -1
            bias = bias * scale
            name = f"{_sym(op.weight) or 'linalg.weight'}.scaled"
            w_new = (w.astype(np.float64) * scale.reshape(shape)).astype(np.float32)
            w_op = ConstantOp(name, cast(TensorType, op.weight.type), dense_attr(w_new))
            block.insert_op_before(w_op, ew)
            weight = w_op.result
        else:
            continue
        b_op = ConstantOp(f"{_label(op) or 'linalg'}.bias", TensorType(f32, [out[channel]]),
                          dense_attr(bias.astype(np.float32)))  # fmt: skip
        block.insert_op_before(b_op, ew)
        if isinstance(op, LinearOp):
            new: Operation = LinearOp(op.input, weight, b_op.result)
        else:
            strides, pads, dilations, group = op.geometry()
            new = Conv2dOp(op.input, weight, b_op.result, strides=strides, pads=pads,
                           dilations=dilations, group=group)  # fmt: skip
        if "label" in op.attributes:
            new.attributes["label"] = op.attributes["label"]
        block.insert_op_before(new, ew)
        ew.output.replace_all_uses_with(new.results[0])
        return


def _per_channel(c: SSAValue, out: tuple[int, ...], channel: int) -> np.ndarray | None:
    """The values of constant `c` along `channel` of `out`, when `c`
    broadcast to `out` varies along that dimension only."""
    data = _constant_data(c)
    if data is None or not np.issubdtype(data.dtype, np.floating):
        return None
    try:
        full = np.broadcast_to(data, out)
    except ValueError:
        return None
    rows = np.moveaxis(full, channel, -1).reshape(-1, out[channel])
    if not np.all(rows == rows[:1]):
        return None
    return rows[0].astype(np.float64)


def _sym(v: SSAValue) -> str | None:
    return v.owner.sym.data if isinstance(v.owner, ConstantOp) else None


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


def _owner(v: SSAValue) -> Operation | None:
    return v.owner if isinstance(v.owner, Operation) else None


def _other(op: ElementwiseOp, v: SSAValue) -> SSAValue | None:
    """The other operand of a binary op that reads `v`."""
    a, b = op.inputs
    return b if a is v else a if b is v else None


def _mean_of(v: SSAValue) -> tuple[SSAValue, list[int]] | None:
    """(x, axes) when `v` is ``reduce_sum(x, axes, keepdims) / N`` with N
    the number of elements reduced."""
    div = _fn(_owner(v), ElementwiseFn.DIV)
    if div is None or len(div.inputs) != 2:
        return None
    total = _through_reshapes(div.inputs[0])
    n = _constant_data(div.inputs[1])
    if not isinstance(total, ReduceOp) or total.fn.data is not ReduceFn.SUM or n is None:
        return None
    axes = list(ints(total.axes))
    x_shape = shape_of(total.input)
    if n.size != 1 or float(n.ravel()[0]) != float(np.prod([x_shape[a] for a in axes])):
        return None
    return total.input, axes


def _single_user(v: SSAValue) -> Operation | None:
    uses = list(v.uses)
    return uses[0].operation if len(uses) == 1 else None


def _layernorm(block: Block, rsqrt: ElementwiseOp) -> None:
    add_eps = _fn(_owner(rsqrt.inputs[0]), ElementwiseFn.ADD)
    if add_eps is None or len(add_eps.inputs) != 2:
        return
    for var, eps_v in (tuple(add_eps.inputs), tuple(reversed(add_eps.inputs))):
        eps = _constant_data(eps_v)
        var_of = _mean_of(var)
        if eps is not None and eps.size == 1 and var_of is not None:
            break
    else:
        return
    sq, axes = var_of
    square = _fn(_owner(sq), ElementwiseFn.MUL)
    if square is None or len(square.inputs) != 2 or square.inputs[0] is not square.inputs[1]:
        return
    xc = square.inputs[0]
    sub = _fn(_owner(xc), ElementwiseFn.SUB)
    if sub is None or len(sub.inputs) != 2:
        return
    x, mean = sub.inputs
    mean_of = _mean_of(mean)
    rank = len(shape_of(x))
    if mean_of is None or mean_of[0] is not x or mean_of[1] != axes:
        return
    if axes != list(range(axes[0], rank)) or shape_of(sub.output) != shape_of(x):
        return
    # y = xc * r, then optionally * gamma and + beta.
    norm = None
    for use in rsqrt.output.uses:
        user = use.operation
        if _fn(user, ElementwiseFn.MUL) is not None and xc in user.operands:
            norm = cast(ElementwiseOp, user)
    if norm is None or shape_of(norm.output) != shape_of(x):
        return
    last: ElementwiseOp = norm
    inner = shape_of(x)[axes[0] :]
    gamma = np.ones(inner, np.float32)
    beta = np.zeros(inner, np.float32)
    scale = _fn(_single_user(norm.output), ElementwiseFn.MUL)
    if scale is not None and (g := _affine(scale, norm.output, shape_of(x), inner)) is not None:
        gamma, last = g, scale
        shift = _fn(_single_user(scale.output), ElementwiseFn.ADD)
        if (
            shift is not None
            and (b := _affine(shift, scale.output, shape_of(x), inner)) is not None
        ):
            beta, last = b, shift
    label = _label(last)
    syms = f"{label or 'linalg'}"
    g_op = ConstantOp(f"{syms}.scale", TensorType(f32, list(inner)), dense_attr(gamma))
    b_op = ConstantOp(f"{syms}.shift", TensorType(f32, list(inner)), dense_attr(beta))
    block.insert_op_before(g_op, last)
    block.insert_op_before(b_op, last)
    new = LayerNormOp(x, g_op.result, b_op.result, axes[0], float(eps.ravel()[0]))
    _replace(block, last, new)


def _affine(op: ElementwiseOp, v: SSAValue, full: tuple[int, ...],
            inner: tuple[int, ...]) -> np.ndarray | None:  # fmt: skip
    """The per-feature constant `op` combines `v` with, as an array of
    shape `inner` (None if it also varies along the leading dims)."""
    other = _other(op, v) if len(op.inputs) == 2 else None
    data = None if other is None else _constant_data(other)
    if data is None or not np.issubdtype(data.dtype, np.floating):
        return None
    try:
        spread = np.broadcast_to(data, full)
    except ValueError:
        return None
    rows = spread.reshape(-1, *inner)
    if not np.all(rows == rows[:1]):
        return None
    return np.ascontiguousarray(rows[0]).astype(np.float32)


def _scalar(v: SSAValue) -> float | None:
    data = _constant_data(v)
    if data is None or data.size != 1 or not np.issubdtype(data.dtype, np.number):
        return None
    return float(data.ravel()[0])


def _split(op: ElementwiseOp, value: float) -> SSAValue | None:
    """The operand of binary `op` that is not the scalar constant `value`."""
    if len(op.inputs) != 2:
        return None
    a, b = op.inputs
    if _scalar(b) == value:
        return a
    if _scalar(a) == value and op.function in (ElementwiseFn.ADD, ElementwiseFn.MUL,
                                               ElementwiseFn.MIN, ElementwiseFn.MAX):  # fmt: skip
        return b
    return None


def _activation(block: Block, op: ElementwiseOp) -> None:
    fn = op.function
    if fn is ElementwiseFn.MIN and len(op.inputs) == 2:
        for u, c in (tuple(op.inputs), tuple(reversed(op.inputs))):
            relu, hi = _fn(_owner(u), ElementwiseFn.RELU), _scalar(c)
            if relu is not None and hi is not None and hi > 0 and u.type == op.output.type:
                _replace(block, op, ElementwiseOp(ElementwiseFn.CLIP, [relu.inputs[0]],
                                                  alpha=0.0, beta=hi))  # fmt: skip
                return
    if fn is ElementwiseFn.MUL and len(op.inputs) == 2:
        for x, g in (tuple(op.inputs), tuple(reversed(op.inputs))):
            div = _fn(_owner(g), ElementwiseFn.DIV)
            clip = _fn(_owner(div.inputs[0]), ElementwiseFn.CLIP) if div is not None else None
            if div is None or clip is None or _scalar(div.inputs[1]) != 6.0:
                continue
            bounds = (clip.alpha, clip.beta)
            if any(b is None for b in bounds) or [b.value.data for b in bounds] != [0.0, 6.0]:  # type: ignore[union-attr]
                continue
            add = _fn(_owner(clip.inputs[0]), ElementwiseFn.ADD)
            if add is not None and _split(add, 3.0) is x and x.type == op.output.type:
                _replace(block, op, ElementwiseOp(ElementwiseFn.HARDSWISH, [x]))
                return
    if fn is ElementwiseFn.DIV and len(op.inputs) == 2 and _scalar(op.inputs[0]) == 1.0:
        add = _fn(_owner(op.inputs[1]), ElementwiseFn.ADD)
        e = _split(add, 1.0) if add is not None else None
        exp = _fn(_owner(e), ElementwiseFn.EXP) if e is not None else None
        neg = _fn(_owner(exp.inputs[0]), ElementwiseFn.NEG) if exp is not None else None
        if neg is not None and neg.inputs[0].type == op.output.type:
            _replace(block, op, ElementwiseOp(ElementwiseFn.SIGMOID, [neg.inputs[0]]))


def _gather_index(where: ElementwiseOp) -> None:
    """``i < 0 ? i + n : i`` read only (through reshapes) as the indices of
    gathers along a dimension of size n is `i`."""
    if where.function is not ElementwiseFn.WHERE:
        return
    cond, wrapped, i = where.inputs
    less = _fn(_owner(cond), ElementwiseFn.LESS)
    add = _fn(_owner(wrapped), ElementwiseFn.ADD)
    if less is None or add is None or less.inputs[0] is not i or _scalar(less.inputs[1]) != 0:
        return
    if i.type != where.output.type:
        return
    sizes: set[float] = set()
    stack = [where.output]
    while stack:
        for use in stack.pop().uses:
            user = use.operation
            if isinstance(user, ReshapeOp):
                stack.append(user.output)
            elif isinstance(user, GatherOp) and use.index == 1:
                sizes.add(float(shape_of(user.input)[user.axis.value.data]))
            else:
                return
    if len(sizes) == 1 and _split(add, sizes.pop()) is i:
        where.output.replace_all_uses_with(i)
