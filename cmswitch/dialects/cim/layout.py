"""`cim` data-layout operators (reshape, transpose, slice, concat, gather,
broadcast, pad), the index ops (scatter_nd, cumsum, topk), and
`is_static_value`, which sees through layout ops to a `cim.constant`."""

from __future__ import annotations

from collections.abc import Sequence
from enum import auto
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from cmswitch.dialects.cim.common import (
    LayoutOp,
    VectorOp,
    _check_result,
    broadcast_shapes,
    i64_array,
    i64_attr,
    ints,
    numel,
    shape_of,
    tensor_type,
)
from cmswitch.dialects.cim.structure import (
    ConstantOp,
)
from cmswitch.dialects.cim.vector import (
    _check_axis,
)

# --------------------------------------------------------------------------
# Data layout
# --------------------------------------------------------------------------


@irdl_op_definition
class ReshapeOp(LayoutOp):
    """A view with a new static shape (same element count). Free: it moves
    no data (row-major layout is kept)."""

    name = "cim.reshape"

    input = operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, shape: Sequence[int]):
        elem = cast(TensorType, input.type).element_type
        super().__init__(operands=[input], result_types=[tensor_type(elem, list(shape))])

    def verify_(self) -> None:
        a, b = shape_of(self.input), shape_of(self.output)
        if numel(a) != numel(b):
            raise VerifyException(
                f"cim.reshape: {list(a)} ({numel(a)} elements) cannot become "
                f"{list(b)} ({numel(b)} elements)"
            )

    def vector_work(self) -> int:
        return 0


@irdl_op_definition
class TransposeOp(LayoutOp):
    """Permutes dimensions: ``output.shape[i] = input.shape[perm[i]]``."""

    name = "cim.transpose"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    perm = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, perm: Sequence[int]):
        out = self.infer_shape(shape_of(input), perm)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input], result_types=[tensor_type(elem, out)],
            properties={"perm": i64_array(perm)},
        )  # fmt: skip

    @staticmethod
    def infer_shape(x: Sequence[int], perm: Sequence[int]) -> tuple[int, ...]:
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(
                f"cim.transpose: perm {list(perm)} is not a permutation of rank {len(x)}"
            )
        return tuple(x[p] for p in perm)

    def verify_(self) -> None:
        _check_result(self, self.infer_shape(shape_of(self.input), ints(self.perm)))


def slice_length(dim: int, start: int, end: int, step: int) -> int:
    """Elements of ``range(start, end, step)`` clamped to [0, dim); `end` = -1
    with a negative step means "through index 0"."""
    return len(range(dim)[slice(start, None if end < 0 else end, step)])


@irdl_op_definition
class SliceOp(LayoutOp):
    """Strided slice with one (start, end, step) per dimension, normalised:
    0 <= start <= dim, step != 0, end in [-1, dim] where -1 (with a negative
    step) means through index 0. NumPy ``x[start:end:step]`` otherwise."""

    name = "cim.slice"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    starts = prop_def(DenseArrayBase.constr(i64))
    ends = prop_def(DenseArrayBase.constr(i64))
    steps = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self,
        input: SSAValue,
        starts: Sequence[int],
        ends: Sequence[int],
        steps: Sequence[int] | None = None,
    ):
        x = shape_of(input)
        steps = steps if steps is not None else [1] * len(x)
        out = self.infer_shape(x, starts, ends, steps)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input],
            result_types=[tensor_type(elem, out)],
            properties={
                "starts": i64_array(starts),
                "ends": i64_array(ends),
                "steps": i64_array(steps),
            },
        )

    @staticmethod
    def infer_shape(
        x: Sequence[int], starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
    ) -> tuple[int, ...]:
        if not len(x) == len(starts) == len(ends) == len(steps):
            raise VerifyException("cim.slice: starts, ends and steps need one value per dim")
        out = []
        for dim, start, end, step in zip(x, starts, ends, steps, strict=True):
            if step == 0 or not 0 <= start <= dim or not -1 <= end <= dim:
                raise VerifyException(
                    f"cim.slice: ({start}, {end}, {step}) is not a normalised slice of "
                    f"a dimension of size {dim}"
                )
            out.append(slice_length(dim, start, end, step))
        return tuple(out)

    def verify_(self) -> None:
        _check_result(
            self,
            self.infer_shape(
                shape_of(self.input), ints(self.starts), ints(self.ends), ints(self.steps)
            ),
        )


@irdl_op_definition
class ConcatOp(LayoutOp):
    """Concatenation along `axis`."""

    name = "cim.concat"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` type($inputs) `->` type($output)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        out = self.infer_shape([shape_of(v) for v in inputs], axis)
        elem = cast(TensorType, inputs[0].type).element_type
        super().__init__(
            operands=[inputs], result_types=[tensor_type(elem, out)],
            properties={"axis": IntegerAttr(axis, i64)},
        )  # fmt: skip

    @staticmethod
    def infer_shape(shapes: Sequence[Sequence[int]], axis: int) -> tuple[int, ...]:
        if not shapes:
            raise VerifyException("cim.concat: needs at least one input")
        first = list(shapes[0])
        _check_axis("cim.concat", axis, len(first))
        total = 0
        for s in shapes:
            if len(s) != len(first) or any(
                a != b for i, (a, b) in enumerate(zip(s, first, strict=True)) if i != axis
            ):
                raise VerifyException(
                    f"cim.concat: shapes {[list(s) for s in shapes]} differ off axis {axis}"
                )
            total += s[axis]
        first[axis] = total
        return tuple(first)

    def verify_(self) -> None:
        _check_result(
            self, self.infer_shape([shape_of(v) for v in self.inputs], self.axis.value.data)
        )


@irdl_op_definition
class GatherOp(LayoutOp):
    """ONNX Gather: picks slices of `input` along `axis` by integer
    `indices` (negative indices count from the end). Output shape is
    input[:axis] + indices + input[axis+1:]."""

    name = "cim.gather"

    input = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $indices attr-dict `:` type($input) `,` type($indices) `->` type($output)"
    )

    def __init__(self, input: SSAValue, indices: SSAValue, axis: int):
        out = self.infer_shape(shape_of(input), shape_of(indices), axis)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input, indices], result_types=[tensor_type(elem, out)],
            properties={"axis": IntegerAttr(axis, i64)},
        )  # fmt: skip

    @staticmethod
    def infer_shape(x: Sequence[int], idx: Sequence[int], axis: int) -> tuple[int, ...]:
        _check_axis("cim.gather", axis, len(x))
        return (*x[:axis], *idx, *x[axis + 1 :])

    def verify_(self) -> None:
        _check_result(
            self,
            self.infer_shape(shape_of(self.input), shape_of(self.indices), self.axis.value.data),
        )


@irdl_op_definition
class GatherElementsOp(LayoutOp):
    """ONNX GatherElements: ``out[i][j][k] = input[idx[i][j][k]][j][k]`` for
    axis 0 (likewise for other axes); negative indices count from the end.
    The output has the shape of `indices`."""

    name = "cim.gather_elements"

    input = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $indices attr-dict `:` type($input) `,` type($indices) `->` type($output)"
    )

    def __init__(self, input: SSAValue, indices: SSAValue, axis: int):
        self.infer_shape(shape_of(input), shape_of(indices), axis)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input, indices], result_types=[tensor_type(elem, shape_of(indices))],
            properties={"axis": i64_attr(axis)},
        )  # fmt: skip

    @staticmethod
    def infer_shape(x: Sequence[int], idx: Sequence[int], axis: int) -> tuple[int, ...]:
        _check_axis("cim.gather_elements", axis, len(x))
        if len(idx) != len(x) or any(
            i > d for k, (i, d) in enumerate(zip(idx, x, strict=True)) if k != axis
        ):
            raise VerifyException(
                f"cim.gather_elements: indices {list(idx)} do not fit input {list(x)} "
                f"off axis {axis}"
            )
        return tuple(idx)

    def verify_(self) -> None:
        _check_result(
            self,
            self.infer_shape(shape_of(self.input), shape_of(self.indices), self.axis.value.data),
        )


class ScatterReduction(StrEnum):
    NONE = auto()
    ADD = auto()
    MUL = auto()
    MAX = auto()
    MIN = auto()


@irdl_attr_definition
class ScatterReductionAttr(EnumAttribute[ScatterReduction], SpacedOpaqueSyntaxAttribute):
    name = "cim.scatter_reduction"


@irdl_op_definition
class ScatterNDOp(VectorOp):
    """ONNX ScatterND: a copy of `data` with the slices addressed by the last
    axis of `indices` replaced by (or combined with, per `reduction`)
    `updates`. Costed as a copy of `data` plus one pass over `updates`."""

    name = "cim.scatter_nd"

    reduction = prop_def(ScatterReductionAttr)
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$reduction $data `,` $indices `,` $updates attr-dict `:` type($data) `,` "
        "type($indices) `,` type($updates) `->` type($output)"
    )

    def __init__(
        self,
        data: SSAValue,
        indices: SSAValue,
        updates: SSAValue,
        reduction: ScatterReduction = ScatterReduction.NONE,
    ):
        self.check_shapes(shape_of(data), shape_of(indices), shape_of(updates))
        super().__init__(
            operands=[data, indices, updates],
            result_types=[data.type],
            properties={"reduction": ScatterReductionAttr(reduction)},
        )

    @staticmethod
    def check_shapes(x: Sequence[int], idx: Sequence[int], upd: Sequence[int]) -> None:
        if not idx or not 1 <= idx[-1] <= len(x):
            raise VerifyException(
                f"cim.scatter_nd: the last indices dimension must be in [1, {len(x)}], "
                f"got {list(idx)}"
            )
        want = (*idx[:-1], *x[idx[-1] :])
        if tuple(upd) != want:
            raise VerifyException(f"cim.scatter_nd: updates shape {list(upd)} must be {list(want)}")

    def verify_(self) -> None:
        self.check_shapes(shape_of(self.data), shape_of(self.indices), shape_of(self.updates))
        _check_result(self, shape_of(self.data))

    def vector_work(self) -> int:
        return numel(shape_of(self.data)) + numel(shape_of(self.updates))


@irdl_op_definition
class CumSumOp(VectorOp):
    """ONNX CumSum along `axis` (non-negative); `exclusive` leaves out the
    element itself, `reverse` sums from the end."""

    name = "cim.cumsum"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    exclusive = prop_def(IntegerAttr)
    reverse = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, axis: int, exclusive: bool = False, reverse: bool = False):
        _check_axis("cim.cumsum", axis, len(shape_of(input)))
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={
                "axis": i64_attr(axis),
                "exclusive": i64_attr(int(exclusive)),
                "reverse": i64_attr(int(reverse)),
            },
        )

    def verify_(self) -> None:
        _check_axis("cim.cumsum", self.axis.value.data, len(shape_of(self.input)))
        _check_result(self, shape_of(self.input))

    def vector_work(self) -> int:
        return numel(shape_of(self.input))


@irdl_op_definition
class TopKOp(VectorOp):
    """ONNX TopK along `axis` (non-negative): the `k` largest (or, with
    `largest = 0`, smallest) elements, sorted, and their i64 indices; ties go
    to the lower index. ArgMax / ArgMin are its indices with k = 1. Costed
    as k passes over the input."""

    name = "cim.topk"

    input = operand_def(TensorType)
    values = result_def(TensorType)
    indices = result_def(TensorType)
    k = prop_def(IntegerAttr)
    axis = prop_def(IntegerAttr)
    largest = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($values) `,` type($indices)"

    def __init__(self, input: SSAValue, k: int, axis: int, largest: bool = True):
        out = self.infer_shape(shape_of(input), k, axis)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input],
            result_types=[tensor_type(elem, out), tensor_type(i64, out)],
            properties={
                "k": i64_attr(k),
                "axis": i64_attr(axis),
                "largest": i64_attr(int(largest)),
            },
        )

    @staticmethod
    def infer_shape(x: Sequence[int], k: int, axis: int) -> tuple[int, ...]:
        _check_axis("cim.topk", axis, len(x))
        if not 0 <= k <= x[axis]:
            raise VerifyException(f"cim.topk: k = {k} out of range for a dimension of {x[axis]}")
        return (*x[:axis], k, *x[axis + 1 :])

    def verify_(self) -> None:
        out = self.infer_shape(shape_of(self.input), self.k.value.data, self.axis.value.data)
        for r in (self.values, self.indices):
            if shape_of(r) != out:
                raise VerifyException(f"cim.topk: result shape {list(shape_of(r))} != {list(out)}")
        if cast(TensorType, self.indices.type).element_type != i64:
            raise VerifyException("cim.topk: indices must be i64")

    def vector_work(self) -> int:
        return numel(shape_of(self.input)) * max(1, self.k.value.data)


@irdl_op_definition
class BroadcastOp(LayoutOp):
    """Broadcasts `input` to the result shape (ONNX Expand, NumPy rules)."""

    name = "cim.broadcast"

    input = operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, shape: Sequence[int]):
        elem = cast(TensorType, input.type).element_type
        super().__init__(operands=[input], result_types=[tensor_type(elem, list(shape))])

    def verify_(self) -> None:
        x, out = shape_of(self.input), shape_of(self.output)
        if broadcast_shapes(x, out) != out:
            raise VerifyException(f"cim.broadcast: {list(x)} does not broadcast to {list(out)}")


@irdl_op_definition
class PadOp(LayoutOp):
    """Constant padding: `pads` holds all begin pads, then all end pads (ONNX
    order), each >= 0."""

    name = "cim.pad"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    pads = prop_def(DenseArrayBase.constr(i64))
    value = prop_def(FloatAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, pads: Sequence[int], value: float = 0.0):
        out = self.infer_shape(shape_of(input), pads)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input],
            result_types=[tensor_type(elem, out)],
            properties={"pads": i64_array(pads), "value": FloatAttr(value, f64)},
        )

    @staticmethod
    def infer_shape(x: Sequence[int], pads: Sequence[int]) -> tuple[int, ...]:
        if len(pads) != 2 * len(x) or min(pads, default=0) < 0:
            raise VerifyException(
                f"cim.pad: needs {2 * len(x)} non-negative pads, got {list(pads)}"
            )
        rank = len(x)
        return tuple(d + pads[i] + pads[i + rank] for i, d in enumerate(x))

    def verify_(self) -> None:
        _check_result(self, self.infer_shape(shape_of(self.input), ints(self.pads)))


def is_static_value(value: SSAValue) -> bool:
    """True if `value` is known at compile time: a ``cim.constant``, possibly
    seen through data-layout ops (slices of a weight made by operator
    splitting, a transposed weight, ...)."""
    op = value.owner
    while isinstance(op, LayoutOp) and not isinstance(op, ConcatOp | GatherOp | GatherElementsOp):
        op = op.operands[0].owner
    return isinstance(op, ConstantOp)
