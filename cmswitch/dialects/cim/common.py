"""Helpers shared by `cim` ops (shape rules, cached attribute builders) and the
op interfaces (`MatmulShape`, `ComputeOp`, `VectorOp`, `LayoutOp`)."""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import (
    Attribute,
    Operation,
    SSAValue,
)
from xdsl.irdl import (
    IRDLOperation,
)
from xdsl.utils.exceptions import VerifyException

from cmswitch.dialects.cim.attrs import (
    AllocationAttr,
)

# --------------------------------------------------------------------------
# Helpers shared by ops (shape rules live here, once: builders and verifiers
# both call them).
# --------------------------------------------------------------------------


def shape_of(value: SSAValue | Attribute) -> tuple[int, ...]:
    """The static shape of a ranked tensor value or type."""
    typ = value.type if isinstance(value, SSAValue) else value
    if not isinstance(typ, TensorType):
        raise VerifyException(f"expected a ranked tensor, got {typ}")
    shape = tuple(typ.get_shape())
    if any(d < 0 for d in shape):
        raise VerifyException(f"dynamic dimensions are not supported: {typ}")
    return shape


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def ints(attr: DenseArrayBase | None) -> tuple[int, ...]:
    if attr is None:
        return ()
    return cast("DenseArrayBase[IntegerType]", attr).get_values()


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    return _i64_array(tuple(values))


# Attributes are immutable values: building one runs its verifier, so the
# ones rebuilt thousands of times (a split llama has ~6k slices and segments)
# are shared. The caches are bounded.
@functools.lru_cache(maxsize=1 << 14)
def _i64_array(values: tuple[int, ...]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


@functools.lru_cache(maxsize=1 << 14)
def _tensor_type(elem: Attribute, shape: tuple[int, ...]) -> TensorType:
    return TensorType(elem, shape)


def tensor_type(elem: Attribute, shape: Sequence[int]) -> TensorType:
    """``TensorType(elem, shape)``, shared."""
    return _tensor_type(elem, tuple(shape))


@functools.lru_cache(maxsize=1 << 14)
def i64_attr(value: int) -> IntegerAttr:
    """``IntegerAttr(value, i64)``, shared."""
    return IntegerAttr(value, i64)


@functools.lru_cache(maxsize=1 << 16)
def f64_attr(value: float) -> FloatAttr:
    """``FloatAttr(value, f64)``, shared."""
    return FloatAttr(value, f64)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """NumPy / ONNX multidirectional broadcasting; raises VerifyException."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            raise VerifyException(
                f"shapes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def conv_output_hw(
    hw_in: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> tuple[int, int]:
    """Output height and width; pads are (top, left, bottom, right)."""
    out = []
    for axis in range(2):
        span = dilations[axis] * (kernel[axis] - 1) + 1
        padded = hw_in[axis] + pads[axis] + pads[axis + 2]
        if padded < span:
            raise VerifyException(
                f"kernel extent {span} exceeds padded input {padded} along axis {axis + 2}"
            )
        out.append((padded - span) // strides[axis] + 1)
    return out[0], out[1]


def _check_result(op: Operation, expected: Sequence[int]) -> None:
    got = shape_of(op.results[0])
    if got != tuple(expected):
        raise VerifyException(
            f"{op.name}: result shape {list(got)} does not match the inferred {list(expected)}"
        )


# --------------------------------------------------------------------------
# Op interfaces
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MatmulShape:
    """The MMM a CIM operator performs: `groups` independent products of an
    M x N input by an N x K matrix held in arrays.

    `stationary` is True when the N x K matrices are compile-time weights, and
    False when they are produced at run time (written into arrays by the
    program, e.g. attention's K and V).
    """

    m: int
    n: int
    k: int
    groups: int = 1
    stationary: bool = True

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.groups

    @property
    def matrix_elems(self) -> int:
        """Elements of the N x K operand(s) held in arrays."""
        return self.n * self.k * self.groups

    @property
    def input_elems(self) -> int:
        return self.m * self.n * self.groups

    @property
    def output_elems(self) -> int:
        return self.m * self.k * self.groups


class ComputeOp(IRDLOperation, ABC):
    """An operator that runs on compute-mode arrays."""

    @abstractmethod
    def matmul_shape(self) -> MatmulShape: ...

    @property
    def alloc(self) -> AllocationAttr | None:
        attr = self.attributes.get("alloc")
        return attr if isinstance(attr, AllocationAttr) else None


class VectorOp(IRDLOperation, ABC):
    """An operator that runs on the vector unit (digital periphery)."""

    @abstractmethod
    def vector_work(self) -> int:
        """Elements the vector unit processes (its cost is this over the
        hardware's `vector_elems_per_cycle`)."""


class LayoutOp(VectorOp, ABC):
    """A data-layout operator: moves elements, computes nothing. Its first
    operand is the tensor it rearranges."""

    def vector_work(self) -> int:
        return numel(shape_of(self.results[0]))
