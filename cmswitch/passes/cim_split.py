"""`cim-split`: split CIM operators too large for the chip into sub-operators
that fit (spec section 3).

An operator whose minimum compute arrays exceed the chip's `arrays` cannot be
mapped in any segment. It is split greedily, in this order:

* along K (output columns): the weight is sliced by columns (``cim.slice``
  of the constant, still static) and the partial outputs are concatenated;
* along N (input rows, ``cim.linear`` only): input and weight are sliced by
  rows and the partial products summed (``cim.elementwise add``), the bias
  added once;
* along the batch of a dynamic ``cim.matmul``: both operands are sliced along
  the outermost batch axis larger than one and the results concatenated.

Chunks are as equal as possible and aligned to whole arrays. The
sub-operators replace the original in program order, carrying its label with
a ``.kN`` / ``.nN`` / ``.bN`` suffix. Patterns apply recursively, so an
operator too large along several dimensions is split along each in turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from cmswitch.builder import module_hardware
from cmswitch.dialects.cim import (
    ComputeOp,
    ConcatOp,
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    LinearOp,
    MatmulOp,
    SliceOp,
    shape_of,
)
from cmswitch.hardware import Hardware


class SplitError(ValueError):
    """An operator cannot be split to fit (user-facing)."""


def _label(op: Operation) -> str:
    label = op.attributes.get("label")
    return label.data if isinstance(label, StringAttr) else op.name.removeprefix("cim.")


MAX_PIECES = 1 << 16
"""Most sub-operators one operator may become: beyond, the model is not one
the chip can run in any useful way (and the IR would not fit in memory)."""


def _check_pieces(op: Operation, n: int, k: int, groups: int, hw: Hardware) -> None:
    pieces = math.ceil(hw.min_arrays(n, k, groups) / hw.arrays)
    if pieces > MAX_PIECES:
        raise SplitError(
            f"cim-split: {_label(op)!r} needs {hw.min_arrays(n, k, groups)} arrays, "
            f"{pieces} times the {hw.arrays} available (at most {MAX_PIECES} pieces)"
        )


def _chunks(total: int, count: int, align: int) -> list[tuple[int, int]]:
    """`count` contiguous [start, end) ranges covering `total`, each a
    multiple of `align` except the last."""
    size = math.ceil(math.ceil(total / count) / align) * align
    return [(s, min(s + size, total)) for s in range(0, total, size)]


def _slice(value: SSAValue, axis: int, start: int, end: int) -> SliceOp:
    shape = shape_of(value)
    starts = [0] * len(shape)
    ends = list(shape)
    starts[axis], ends[axis] = start, end
    return SliceOp(value, starts, ends)


ORIGIN_ATTR = "origin"
"""Label of the operator a sub-operator was split from: the sub-operators of
one layer share it (the cost model programs a layer's arrays one after
another however the layer is split, spec Eq. 2)."""


def _labelled(op: Operation, label: str, original: Operation) -> Operation:
    op.attributes["label"] = StringAttr(label)
    origin = original.attributes.get(ORIGIN_ATTR)
    op.attributes[ORIGIN_ATTR] = (
        origin if isinstance(origin, StringAttr) else StringAttr(_label(original))
    )
    return op


def _name_layers(module: builtin.ModuleOp, hw: Hardware) -> None:
    """Gives every operator about to be split a module-unique ``origin``
    (its label, or its kind, with ``#k`` appended if already taken), which
    its parts inherit: two layers never share one, even unlabelled ones."""
    ops = [op for op in module.walk() if isinstance(op, ComputeOp)]
    used = {o.data for op in ops if isinstance(o := op.attributes.get(ORIGIN_ATTR), StringAttr)}
    for op in ops:
        if ORIGIN_ATTR in op.attributes:
            continue
        s = op.matmul_shape()
        if hw.min_arrays(s.n, s.k, s.groups) <= hw.arrays:
            continue
        name, k = _label(op), 1
        while name in used:
            name, k = f"{_label(op)}#{k}", k + 1
        used.add(name)
        op.attributes[ORIGIN_ATTR] = StringAttr(name)


@dataclass
class SplitLinear(RewritePattern):
    hw: Hardware

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LinearOp, rewriter: PatternRewriter) -> None:
        s = op.matmul_shape()
        if self.hw.min_arrays(s.n, s.k) <= self.hw.arrays:
            return
        _check_pieces(op, s.n, s.k, 1, self.hw)
        label = _label(op)
        row_blocks = math.ceil(s.n / self.hw.rows)
        new_ops: list[Operation] = []
        if row_blocks <= self.hw.arrays:
            # Along K: each chunk needs row_blocks x col_blocks arrays.
            col_blocks = math.ceil(s.k / self.hw.weights_per_row)
            max_col_blocks = self.hw.arrays // row_blocks
            count = math.ceil(col_blocks / max_col_blocks)
            parts: list[SSAValue] = []
            for i, (a, b) in enumerate(_chunks(s.k, count, self.hw.weights_per_row)):
                w = _slice(op.weight, 1, a, b)
                bias = _slice(op.bias, 0, a, b) if op.bias is not None else None
                sub = _labelled(
                    LinearOp(op.input, w.results[0], bias.results[0] if bias else None),
                    f"{label}.k{i}",
                    op,
                )
                new_ops += [w, *([bias] if bias else []), sub]
                parts.append(sub.results[0])
            cat = ConcatOp(parts, len(shape_of(op.output)) - 1)
            new_ops.append(cat)
        else:
            # Along N: partial sums over row chunks (bias added by the first).
            count = math.ceil(row_blocks / self.hw.arrays)
            acc: SSAValue | None = None
            x_rank = len(shape_of(op.input))
            for i, (a, b) in enumerate(_chunks(s.n, count, self.hw.rows)):
                x = _slice(op.input, x_rank - 1, a, b)
                w = _slice(op.weight, 0, a, b)
                sub = _labelled(
                    LinearOp(x.results[0], w.results[0], op.bias if i == 0 else None),
                    f"{label}.n{i}",
                    op,
                )
                new_ops += [x, w, sub]
                if acc is None:
                    acc = sub.results[0]
                else:
                    add = ElementwiseOp(ElementwiseFn.ADD, [acc, sub.results[0]])
                    new_ops.append(add)
                    acc = add.results[0]
        rewriter.replace(op, new_ops)


@dataclass
class SplitConv(RewritePattern):
    hw: Hardware

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: Conv2dOp, rewriter: PatternRewriter) -> None:
        s = op.matmul_shape()
        if self.hw.min_arrays(s.n, s.k, s.groups) <= self.hw.arrays:
            return
        _check_pieces(op, s.n, s.k, s.groups, self.hw)
        strides, pads, dilations, group = op.geometry()
        label = _label(op)
        out_ch = shape_of(op.weight)[0]
        if group == 1:
            row_blocks = math.ceil(s.n / self.hw.rows)
            if row_blocks > self.hw.arrays:
                raise SplitError(
                    f"cim-split: convolution {label!r} has N = {s.n} input rows, more than "
                    f"the whole chip's {self.hw.arrays * self.hw.rows}; it cannot be mapped"
                )
            col_blocks = math.ceil(s.k / self.hw.weights_per_row)
            count = math.ceil(col_blocks / (self.hw.arrays // row_blocks))
            ranges = _chunks(out_ch, count, self.hw.weights_per_row)
            inputs = [(op.input, a, b) for a, b in ranges]
        else:
            # Grouped: split whole groups (input channels follow the groups).
            per_group_out = out_ch // group
            in_per_group = shape_of(op.weight)[1]
            if self.hw.min_arrays(s.n, s.k, 1) > self.hw.arrays:
                # whole groups only: one that does not fit cannot be split further
                raise SplitError(
                    f"cim-split: convolution {label!r} has groups of {s.n} x {s.k} weights, "
                    f"one of which needs more than {self.hw.arrays} arrays; it cannot be mapped"
                )
            count = 2
            while self.hw.min_arrays(s.n, s.k, math.ceil(group / count)) > self.hw.arrays:
                count += 1
            group_ranges = _chunks(group, count, 1)
            ranges = [(a * per_group_out, b * per_group_out) for a, b in group_ranges]
            inputs = []
            for ga, gb in group_ranges:
                inputs.append((op.input, ga * in_per_group, gb * in_per_group))
        new_ops: list[Operation] = []
        parts: list[SSAValue] = []
        for i, ((a, b), (x, xa, xb)) in enumerate(zip(ranges, inputs, strict=True)):
            if group > 1:
                xs = _slice(x, 1, xa, xb)
                new_ops.append(xs)
                x = xs.results[0]
            w = _slice(op.weight, 0, a, b)
            bias = _slice(op.bias, 0, a, b) if op.bias is not None else None
            sub_group = group if group == 1 else (b - a) // (out_ch // group)
            sub = _labelled(
                Conv2dOp(
                    x, w.results[0], bias.results[0] if bias else None,
                    strides=strides, pads=pads, dilations=dilations, group=sub_group,
                ),
                f"{label}.k{i}", op,
            )  # fmt: skip
            new_ops += [w, *([bias] if bias else []), sub]
            parts.append(sub.results[0])
        new_ops.append(ConcatOp(parts, 1))
        rewriter.replace(op, new_ops)


@dataclass
class SplitMatmul(RewritePattern):
    hw: Hardware

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MatmulOp, rewriter: PatternRewriter) -> None:
        s = op.matmul_shape()
        if self.hw.min_arrays(s.n, s.k, s.groups) <= self.hw.arrays:
            return
        _check_pieces(op, s.n, s.k, s.groups, self.hw)
        label = _label(op)
        out = shape_of(op.output)
        a_shape, b_shape = shape_of(op.lhs), shape_of(op.rhs)
        batch_rank = len(out) - 2
        new_ops: list[Operation] = []
        parts: list[SSAValue] = []
        axis = next((i for i in range(batch_rank) if out[i] > 1), None)
        if axis is None:
            # One matrix too large: split its columns (K), as for a weight.
            col_blocks = math.ceil(s.k / self.hw.weights_per_row)
            row_blocks = math.ceil(s.n / self.hw.rows)
            if row_blocks > self.hw.arrays:
                raise SplitError(
                    f"cim-split: matmul {label!r} has N = {s.n}, more rows than the chip"
                )
            count = math.ceil(col_blocks / (self.hw.arrays // row_blocks))
            for i, (a, b) in enumerate(_chunks(s.k, count, self.hw.weights_per_row)):
                rs = _slice(op.rhs, len(b_shape) - 1, a, b)
                sub = _labelled(MatmulOp(op.lhs, rs.results[0]), f"{label}.k{i}", op)
                new_ops += [rs, sub]
                parts.append(sub.results[0])
            new_ops.append(ConcatOp(parts, len(out) - 1))
            rewriter.replace(op, new_ops)
            return
        count = 2 if out[axis] > 1 else 1
        for i, (a, b) in enumerate(_chunks(out[axis], count, 1)):
            operands: list[SSAValue] = []
            for value, shape in ((op.lhs, a_shape), (op.rhs, b_shape)):
                ax = axis - (len(out) - len(shape))
                if ax >= 0 and shape[ax] > 1:
                    sl = _slice(value, ax, a, b)
                    new_ops.append(sl)
                    operands.append(sl.results[0])
                else:
                    operands.append(value)
            sub = _labelled(MatmulOp(operands[0], operands[1]), f"{label}.b{i}", op)
            new_ops.append(sub)
            parts.append(sub.results[0])
        new_ops.append(ConcatOp(parts, axis))
        rewriter.replace(op, new_ops)


@dataclass(frozen=True)
class CimSplitPass(ModulePass):
    """Split CIM operators whose weights do not fit the chip into sub-operators
    that do. The chip is the module's ``cim.hardware`` unless `arch` names a
    preset or TOML file; `max-arrays` lowers the budget an operator must fit."""

    name = "cim-split"

    arch: str = ""
    max_arrays: int = 0
    """Split to fit this many arrays instead of the whole chip (0: the chip);
    the static-ratio baseline splits to fit its compute share."""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        hw = (
            Hardware.load(self.arch)
            if self.arch
            else module_hardware(op, Hardware.preset("dynaplasia"))
        )
        if self.max_arrays < 0:
            raise SplitError("cim-split: max-arrays must be >= 0")
        if self.max_arrays:  # a budget, never more than the chip
            hw = replace(hw, arrays=min(self.max_arrays, hw.arrays))
        _name_layers(op, hw)
        PatternRewriteWalker(
            GreedyRewritePatternApplier([SplitLinear(hw), SplitConv(hw), SplitMatmul(hw)]),
            apply_recursively=True,
        ).rewrite_module(op)
