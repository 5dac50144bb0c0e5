"""The `cim` dialect: DNN operators on a dual-mode computing-in-memory chip.

This is the compiler's main level. A model is a ``func.func`` over tensors whose
body holds ``cim`` operators in topological order:

* **CIM operators** run on arrays as matrix-matrix multiplies (MMM):
  ``cim.linear`` (FC / Gemm / MatMul with a stationary weight),
  ``cim.conv2d`` (a convolution, described as its im2col MMM with the
  convolution geometry kept) and ``cim.matmul`` (a product of two dynamic
  tensors, e.g. attention's Q K^T and S V; its right operand is written into
  arrays at run time). Each exposes :meth:`ComputeOp.matmul_shape`, the
  M x N x K (x groups) problem the cost model and the lowering consume.
* **Vector operators** run on the digital periphery: ``cim.elementwise``,
  ``cim.softmax``, ``cim.layernorm``, ``cim.rmsnorm``, ``cim.pool``,
  ``cim.reduce`` and the data-layout ops (``cim.reshape``, ``cim.transpose``,
  ``cim.slice``, ``cim.concat``, ``cim.gather``, ``cim.gather_elements``,
  ``cim.broadcast``, ``cim.pad``), ``cim.scatter_nd``, ``cim.cumsum`` and
  ``cim.topk``. Each exposes :meth:`VectorOp.vector_work`, the elements the
  vector unit processes, so none is free by accident (``cim.reshape`` is a
  view and declares zero work on purpose).
* **Weights** are ``cim.constant`` ops named after the model's parameter. The
  data is either inline (``value``), in the weight store next to the module
  (see :mod:`cmswitch.weights`), or absent (zoo models, ONNX files without
  their external data): weights matter only for functional simulation.
* **Mapping**: ``cim.segment`` groups the operators mapped onto the chip at
  once (a pipeline); ``#cim.alloc<...>`` records an operator's compute and
  memory arrays; ``#cim<mode ...>`` names an array mode; the chip itself is a
  ``#cim.hardware<...>`` attribute on the module (``cim.hardware``), so a
  ``.mlir`` file is self-contained.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import auto
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    DictionaryAttr,
    FloatAttr,
    FloatData,
    IntAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from cmswitch.hardware import Hardware, HardwareError

# --------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------


class Mode(StrEnum):
    """What a dual-mode array does within a segment."""

    COMPUTE = auto()
    MEMORY = auto()


@irdl_attr_definition
class ModeAttr(EnumAttribute[Mode], SpacedOpaqueSyntaxAttribute):
    """An array mode: ``#cim<mode compute>`` or ``#cim<mode memory>``."""

    name = "cim.mode"


@irdl_attr_definition
class AllocationAttr(ParametrizedAttribute):
    """Arrays given to one CIM operator inside a segment.

    ``#cim.alloc<compute = 4, mem_in = 1, mem_out = 2>``: `compute` arrays hold
    the operator's weights (more than the minimum is weight duplication),
    `mem_in` / `mem_out` memory-mode arrays buffer its input and output.
    """

    name = "cim.alloc"

    compute: IntAttr
    mem_in: IntAttr
    mem_out: IntAttr

    def __init__(self, compute: int, mem_in: int = 0, mem_out: int = 0):
        super().__init__(IntAttr(compute), IntAttr(mem_in), IntAttr(mem_out))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: dict[str, int] = {}
        with parser.in_angle_brackets():
            for i, key in enumerate(("compute", "mem_in", "mem_out")):
                if i:
                    parser.parse_punctuation(",")
                parser.parse_keyword(key)
                parser.parse_punctuation("=")
                values[key] = parser.parse_integer(allow_negative=False)
        return (IntAttr(values["compute"]), IntAttr(values["mem_in"]), IntAttr(values["mem_out"]))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f"<compute = {self.compute.data}, mem_in = {self.mem_in.data}, "
            f"mem_out = {self.mem_out.data}>"
        )

    def verify(self) -> None:
        for key in ("compute", "mem_in", "mem_out"):
            if getattr(self, key).data < 0:
                raise VerifyException(f"#cim.alloc: {key} must be >= 0")

    @property
    def memory(self) -> int:
        return self.mem_in.data + self.mem_out.data


@irdl_attr_definition
class HardwareAttr(ParametrizedAttribute):
    """The chip, carried in the IR so a `.mlir` file is self-contained.

    ``#cim.hardware<"dynaplasia", arrays = 96, rows = 320, ...>`` lists every
    field of :class:`cmswitch.hardware.Hardware`; it verifies exactly like a
    hardware file does. Convert with :meth:`from_hardware` / :meth:`hardware`.
    """

    name = "cim.hardware"

    chip: StringAttr
    fields: DictionaryAttr

    @staticmethod
    def from_hardware(hw: Hardware) -> HardwareAttr:
        values: dict[str, Attribute] = {}
        for key in Hardware.field_names():
            value = getattr(hw, key)
            values[key] = FloatData(value) if isinstance(value, float) else IntAttr(value)
        return HardwareAttr(StringAttr(hw.name), DictionaryAttr(values))

    def hardware(self) -> Hardware:
        data: dict[str, object] = {"name": self.chip.data}
        for key, value in self.fields.data.items():
            data[key] = cast(IntAttr | FloatData, value).data
        return Hardware.from_dict(data, f"#cim.hardware<{self.chip.data!r}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: dict[str, Attribute] = {}
        start = parser.pos
        with parser.in_angle_brackets():
            chip = parser.parse_str_literal("hardware name")
            while parser.parse_optional_punctuation(",") is not None:
                key = parser.parse_identifier("hardware field name")
                parser.parse_punctuation("=")
                number = parser.parse_number()
                values[key] = FloatData(number) if isinstance(number, float) else IntAttr(number)
        attr = (StringAttr(chip), DictionaryAttr(values))
        try:
            HardwareAttr(*attr).hardware()
        except (HardwareError, VerifyException) as err:
            # A located parse error instead of a traceback from verify().
            parser.raise_error(str(err), start, parser.pos)
        return attr

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f'<"{self.chip.data}"')
        for key, value in self.fields.data.items():
            number = cast(IntAttr | FloatData, value).data
            printer.print_string(f", {key} = {number!r}")
        printer.print_string(">")

    def verify(self) -> None:
        for key, value in self.fields.data.items():
            if not isinstance(value, IntAttr | FloatData):
                raise VerifyException(f"#cim.hardware: field {key!r} must be a number")
        try:
            self.hardware()
        except HardwareError as err:
            raise VerifyException(str(err)) from None


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
    return cast(tuple[int, ...], attr.get_values())


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


def is_static_value(value: SSAValue) -> bool:
    """True if `value` is known at compile time: a ``cim.constant``, possibly
    seen through data-layout ops (slices of a weight made by operator
    splitting, a transposed weight, ...)."""
    op = value.owner
    while isinstance(op, LayoutOp) and not isinstance(op, ConcatOp | GatherOp | GatherElementsOp):
        op = op.operands[0].owner
    return isinstance(op, ConstantOp)


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


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A compile-time tensor: a model weight or a folded constant.

    ``%w = cim.constant "fc1.weight" : tensor<512x10xf32>``. Without `value` the
    data lives in the module's weight store under `sym`, or is absent.
    """

    name = "cim.constant"

    sym = prop_def(StringAttr)
    """The parameter's name (unique in the function; the weight-store key)."""
    value = opt_prop_def(DenseIntOrFPElementsAttr | DenseResourceAttr)
    """Inline data, for small constants and self-contained tests."""
    result = result_def(TensorType)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$sym attr-dict `:` type($result)"

    def __init__(
        self,
        sym: str,
        result_type: TensorType,
        value: DenseIntOrFPElementsAttr | DenseResourceAttr | None = None,
    ):
        props: dict[str, Attribute] = {"sym": StringAttr(sym)}
        if value is not None:
            props["value"] = value
        super().__init__(result_types=[result_type], properties=props)

    def verify_(self) -> None:
        shape_of(self.result)
        if self.value is not None and self.value.type != self.result.type:
            raise VerifyException(
                f"cim.constant {self.sym.data!r}: value type {self.value.type} does not "
                f"match result type {self.result.type}"
            )


# --------------------------------------------------------------------------
# CIM operators
# --------------------------------------------------------------------------


def _check_bias(op: str, bias: SSAValue | None, k: int) -> None:
    if bias is not None and shape_of(bias) != (k,):
        raise VerifyException(f"{op}: bias must have shape [{k}], got {list(shape_of(bias))}")


@irdl_op_definition
class LinearOp(ComputeOp):
    """``y = x @ W (+ b)`` with W stationary in compute arrays.

    x: [..., N], W: [N, K], b: [K], y: [..., K]. M is the product of x's
    leading dimensions.
    """

    name = "cim.linear"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` "
        "type($input) `,` type($weight) (`,` type($bias)^)? `->` type($output)"
    )

    def __init__(self, input: SSAValue, weight: SSAValue, bias: SSAValue | None = None):
        out = self.infer_shape(shape_of(input), shape_of(weight))
        elem = cast(TensorType, input.type).element_type
        super().__init__(operands=[input, weight, bias], result_types=[tensor_type(elem, out)])

    @staticmethod
    def infer_shape(x: Sequence[int], w: Sequence[int]) -> tuple[int, ...]:
        if len(w) != 2:
            raise VerifyException(f"cim.linear: weight must be 2-D [N, K], got {list(w)}")
        if not x or x[-1] != w[0]:
            raise VerifyException(
                f"cim.linear: input's last dimension {list(x)[-1:]} must equal the weight's "
                f"N = {w[0]}"
            )
        return (*x[:-1], w[1])

    def verify_(self) -> None:
        _check_result(self, self.infer_shape(shape_of(self.input), shape_of(self.weight)))
        _check_bias(self.name, self.bias, shape_of(self.weight)[1])
        if not is_static_value(self.weight):
            raise VerifyException(
                "cim.linear: the weight must be a compile-time constant (cim.constant, "
                "possibly through layout ops); use cim.matmul for a run-time operand"
            )

    def matmul_shape(self) -> MatmulShape:
        x = shape_of(self.input)
        n, k = shape_of(self.weight)
        return MatmulShape(m=numel(x[:-1]), n=n, k=k)


@irdl_op_definition
class Conv2dOp(ComputeOp):
    """A 2-D convolution (NCHW input, OIHW weight), run as its im2col MMM.

    M = batch * out_h * out_w, N = in_ch / groups * kh * kw,
    K = out_ch / groups, with `groups` independent products (grouped and
    depthwise convolutions).
    """

    name = "cim.conv2d"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    strides = prop_def(DenseArrayBase.constr(i64))
    """(stride_h, stride_w)"""
    pads = prop_def(DenseArrayBase.constr(i64))
    """(top, left, bottom, right) zero padding"""
    dilations = prop_def(DenseArrayBase.constr(i64))
    """(dilation_h, dilation_w)"""
    group = prop_def(IntegerAttr)
    """number of groups (in_ch for depthwise)"""

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` "
        "type($input) `,` type($weight) (`,` type($bias)^)? `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue,
        weight: SSAValue,
        bias: SSAValue | None = None,
        *,
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
        group: int = 1,
    ):
        out = self.infer_shape(shape_of(input), shape_of(weight), strides, pads, dilations, group)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input, weight, bias],
            result_types=[tensor_type(elem, out)],
            properties={
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "dilations": i64_array(dilations),
                "group": IntegerAttr(group, i64),
            },
        )

    @staticmethod
    def infer_shape(
        x: Sequence[int],
        w: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        group: int,
    ) -> tuple[int, ...]:
        if len(x) != 4 or len(w) != 4:
            raise VerifyException(
                f"cim.conv2d: input and weight must be 4-D (NCHW, OIHW), got {list(x)}, {list(w)}"
            )
        if len(strides) != 2 or len(dilations) != 2 or len(pads) != 4:
            raise VerifyException("cim.conv2d: strides/dilations need 2 values, pads 4")
        if min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
            raise VerifyException("cim.conv2d: strides and dilations must be >= 1, pads >= 0")
        if group < 1 or x[1] % group or w[0] % group:
            raise VerifyException(
                f"cim.conv2d: group {group} must divide in_ch {x[1]} and out_ch {w[0]}"
            )
        if w[1] != x[1] // group:
            raise VerifyException(
                f"cim.conv2d: weight in_ch {w[1]} must equal input channels / group "
                f"= {x[1] // group}"
            )
        oh, ow = conv_output_hw(x[2:], w[2:], strides, pads, dilations)
        return (x[0], w[0], oh, ow)

    def geometry(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        return ints(self.strides), ints(self.pads), ints(self.dilations), self.group.value.data

    def verify_(self) -> None:
        strides, pads, dilations, group = self.geometry()
        w = shape_of(self.weight)
        _check_result(
            self, self.infer_shape(shape_of(self.input), w, strides, pads, dilations, group)
        )
        _check_bias(self.name, self.bias, w[0])
        if not is_static_value(self.weight):
            raise VerifyException(
                "cim.conv2d: the weight must be a compile-time constant (cim.constant)"
            )

    def matmul_shape(self) -> MatmulShape:
        x = shape_of(self.input)
        o, ci, kh, kw = shape_of(self.weight)
        out = shape_of(self.output)
        group = self.group.value.data
        return MatmulShape(m=x[0] * out[2] * out[3], n=ci * kh * kw, k=o // group, groups=group)


@irdl_op_definition
class MatmulOp(ComputeOp):
    """A (batched) product of two run-time tensors, NumPy `matmul` semantics
    for ranks >= 2: lhs [..., M, N] @ rhs [..., N, K].

    The right operand is written into arrays at run time (the paper keeps
    attention's K in memory-mode arrays where it is produced, then switches
    them to compute). Each distinct rhs matrix is one group.
    """

    name = "cim.matmul"

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        out = self.infer_shape(shape_of(lhs), shape_of(rhs))
        elem = cast(TensorType, lhs.type).element_type
        super().__init__(operands=[lhs, rhs], result_types=[tensor_type(elem, out)])

    @staticmethod
    def infer_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
        if len(a) < 2 or len(b) < 2:
            raise VerifyException(
                f"cim.matmul: operands must have rank >= 2, got {list(a)} and {list(b)}"
            )
        if a[-1] != b[-2]:
            raise VerifyException(
                f"cim.matmul: contraction mismatch: lhs {list(a)} vs rhs {list(b)}"
            )
        try:
            batch = broadcast_shapes(a[:-2], b[:-2])
        except VerifyException as err:
            raise VerifyException(f"cim.matmul: batch dimensions: {err}") from None
        return (*batch, a[-2], b[-1])

    def verify_(self) -> None:
        _check_result(self, self.infer_shape(shape_of(self.lhs), shape_of(self.rhs)))

    def matmul_shape(self) -> MatmulShape:
        a, b = shape_of(self.lhs), shape_of(self.rhs)
        out = shape_of(self.output)
        batch = numel(out[:-2])
        groups = numel(b[:-2])
        return MatmulShape(
            m=a[-2] * (batch // groups),
            n=a[-1],
            k=b[-1],
            groups=groups,
            stationary=is_static_value(self.rhs),
        )


# --------------------------------------------------------------------------
# Vector operators
# --------------------------------------------------------------------------


class ElementwiseFn(StrEnum):
    """Point-wise functions of ``cim.elementwise`` (NumPy broadcasting)."""

    # unary
    IDENTITY = auto()
    CAST = auto()
    RELU = auto()
    LEAKY_RELU = auto()  # alpha
    ELU = auto()  # alpha
    CLIP = auto()  # alpha = min, beta = max
    SIGMOID = auto()
    HARDSIGMOID = auto()  # alpha, beta
    HARDSWISH = auto()
    TANH = auto()
    GELU = auto()  # exact (erf)
    GELU_TANH = auto()
    SILU = auto()
    SOFTPLUS = auto()
    EXP = auto()
    LOG = auto()
    SQRT = auto()
    RSQRT = auto()
    RECIPROCAL = auto()
    NEG = auto()
    ABS = auto()
    ERF = auto()
    FLOOR = auto()
    CEIL = auto()
    SIN = auto()
    COS = auto()
    NOT = auto()
    TAN = auto()
    ASIN = auto()
    ACOS = auto()
    ATAN = auto()
    SINH = auto()
    COSH = auto()
    ASINH = auto()
    ACOSH = auto()
    ATANH = auto()
    ROUND = auto()  # half to even
    SIGN = auto()
    ISNAN = auto()  # -> i1
    ISINF = auto()  # -> i1 (either sign)
    # Rounding of f32 values to a narrower float format (the value stays f32):
    # ONNX Cast to float16 / bfloat16 / float8 (non-saturating; the importer
    # clips first for saturating casts).
    TO_F16 = auto()
    TO_BF16 = auto()
    TO_F8E4M3FN = auto()
    TO_F8E4M3FNUZ = auto()
    TO_F8E5M2 = auto()
    TO_F8E5M2FNUZ = auto()
    # binary
    ADD = auto()
    SUB = auto()
    MUL = auto()
    DIV = auto()
    POW = auto()
    MAX = auto()
    MIN = auto()
    MOD = auto()  # remainder with the sign of the divisor (Python %, ONNX fmod=0)
    FMOD = auto()  # remainder with the sign of the dividend (C fmod, ONNX fmod=1)
    EQUAL = auto()
    LESS = auto()
    LESS_EQUAL = auto()
    GREATER = auto()
    GREATER_EQUAL = auto()
    AND = auto()
    OR = auto()
    XOR = auto()
    # ternary
    WHERE = auto()  # cond, x, y


_BINARY = {
    ElementwiseFn.ADD, ElementwiseFn.SUB, ElementwiseFn.MUL, ElementwiseFn.DIV,
    ElementwiseFn.POW, ElementwiseFn.MAX, ElementwiseFn.MIN, ElementwiseFn.MOD, ElementwiseFn.FMOD,
    ElementwiseFn.EQUAL, ElementwiseFn.LESS, ElementwiseFn.LESS_EQUAL,
    ElementwiseFn.GREATER, ElementwiseFn.GREATER_EQUAL, ElementwiseFn.AND,
    ElementwiseFn.OR, ElementwiseFn.XOR,
}  # fmt: skip


def elementwise_arity(fn: ElementwiseFn) -> int:
    if fn is ElementwiseFn.WHERE:
        return 3
    return 2 if fn in _BINARY else 1


@irdl_attr_definition
class ElementwiseFnAttr(EnumAttribute[ElementwiseFn], SpacedOpaqueSyntaxAttribute):
    name = "cim.fn"


@irdl_op_definition
class ElementwiseOp(VectorOp):
    """A point-wise function of one to three broadcast tensors.

    ``%y = cim.elementwise add %a, %b : ...``. `alpha` / `beta` parametrise
    leaky_relu, elu, clip (min, max) and hardsigmoid.
    """

    name = "cim.elementwise"

    fn = prop_def(ElementwiseFnAttr)
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    alpha = opt_prop_def(FloatAttr)
    beta = opt_prop_def(FloatAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$fn $inputs attr-dict `:` type($inputs) `->` type($output)"

    def __init__(
        self,
        fn: ElementwiseFn,
        inputs: Sequence[SSAValue],
        *,
        alpha: float | None = None,
        beta: float | None = None,
        element_type: Attribute | None = None,
    ):
        out = broadcast_shapes(*(shape_of(v) for v in inputs))
        if element_type is None:
            source = inputs[1] if fn is ElementwiseFn.WHERE else inputs[0]
            element_type = cast(TensorType, source.type).element_type
        props: dict[str, Attribute] = {"fn": ElementwiseFnAttr(fn)}
        if alpha is not None:
            props["alpha"] = FloatAttr(alpha, f64)
        if beta is not None:
            props["beta"] = FloatAttr(beta, f64)
        super().__init__(
            operands=[inputs], result_types=[tensor_type(element_type, out)], properties=props
        )

    @property
    def function(self) -> ElementwiseFn:
        return self.fn.data

    def verify_(self) -> None:
        arity = elementwise_arity(self.function)
        if len(self.inputs) != arity:
            raise VerifyException(
                f"cim.elementwise {self.function.value} takes {arity} operand(s), "
                f"got {len(self.inputs)}"
            )
        _check_result(self, broadcast_shapes(*(shape_of(v) for v in self.inputs)))

    def vector_work(self) -> int:
        return numel(shape_of(self.output))


def _check_axis(op: str, axis: int, rank: int) -> None:
    if not 0 <= axis < rank:
        raise VerifyException(f"{op}: axis {axis} out of range for rank {rank} (normalise it)")


@irdl_op_definition
class SoftmaxOp(VectorOp):
    """Softmax along `axis` (non-negative). Costed as three passes
    (max, exp-and-sum, scale)."""

    name = "cim.softmax"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, axis: int):
        super().__init__(
            operands=[input], result_types=[input.type],
            properties={"axis": IntegerAttr(axis, i64)},
        )  # fmt: skip

    def verify_(self) -> None:
        _check_axis(self.name, self.axis.value.data, len(shape_of(self.input)))
        _check_result(self, shape_of(self.input))

    def vector_work(self) -> int:
        return 3 * numel(shape_of(self.input))


@irdl_op_definition
class LayerNormOp(VectorOp):
    """Layer normalisation over the dimensions from `axis` on, then
    ``* scale + bias`` (both shaped like those dimensions). Costed as four
    passes (mean, variance, normalise, affine)."""

    name = "cim.layernorm"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale `,` $bias attr-dict `:` type($input) `,` type($scale) `,` "
        "type($bias) `->` type($output)"
    )

    def __init__(self, input: SSAValue, scale: SSAValue, bias: SSAValue, axis: int, epsilon: float):
        super().__init__(
            operands=[input, scale, bias],
            result_types=[input.type],
            properties={"axis": IntegerAttr(axis, i64), "epsilon": FloatAttr(epsilon, f64)},
        )

    def verify_(self) -> None:
        x = shape_of(self.input)
        axis = self.axis.value.data
        _check_axis(self.name, axis, len(x))
        for name, v in (("scale", self.scale), ("bias", self.bias)):
            if shape_of(v) != x[axis:]:
                raise VerifyException(
                    f"cim.layernorm: {name} shape {list(shape_of(v))} must be {list(x[axis:])}"
                )
        _check_result(self, x)

    def vector_work(self) -> int:
        return 4 * numel(shape_of(self.input))


@irdl_op_definition
class RMSNormOp(VectorOp):
    """RMS normalisation over the last dimension, then ``* scale`` (LLaMA).
    Costed as three passes (square-sum, normalise, scale)."""

    name = "cim.rmsnorm"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    output = result_def(TensorType)
    epsilon = prop_def(FloatAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale attr-dict `:` type($input) `,` type($scale) `->` type($output)"
    )

    def __init__(self, input: SSAValue, scale: SSAValue, epsilon: float):
        super().__init__(
            operands=[input, scale],
            result_types=[input.type],
            properties={"epsilon": FloatAttr(epsilon, f64)},
        )

    def verify_(self) -> None:
        x = shape_of(self.input)
        if shape_of(self.scale) != x[-1:]:
            raise VerifyException(
                f"cim.rmsnorm: scale shape {list(shape_of(self.scale))} must be {list(x[-1:])}"
            )
        _check_result(self, x)

    def vector_work(self) -> int:
        return 3 * numel(shape_of(self.input))


class PoolKind(StrEnum):
    MAX = auto()
    AVG = auto()


@irdl_attr_definition
class PoolKindAttr(EnumAttribute[PoolKind], SpacedOpaqueSyntaxAttribute):
    name = "cim.pool_kind"


@irdl_op_definition
class PoolOp(VectorOp):
    """2-D max or average pooling over NCHW (global pooling is a kernel as
    large as the input). Average pooling with `count_include_pad = 0` divides
    by the number of non-padding elements (ONNX default)."""

    name = "cim.pool"

    kind = prop_def(PoolKindAttr)
    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    pads = prop_def(DenseArrayBase.constr(i64))
    """(top, left, bottom, right)"""
    count_include_pad = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$kind $input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self,
        kind: PoolKind,
        input: SSAValue,
        kernel: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int] = (0, 0, 0, 0),
        count_include_pad: bool = False,
    ):
        x = shape_of(input)
        out = self.infer_shape(x, kernel, strides, pads)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input],
            result_types=[tensor_type(elem, out)],
            properties={
                "kind": PoolKindAttr(kind),
                "kernel": i64_array(kernel),
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "count_include_pad": IntegerAttr(int(count_include_pad), i64),
            },
        )

    @staticmethod
    def infer_shape(
        x: Sequence[int], kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
    ) -> tuple[int, ...]:
        if len(x) != 4 or len(kernel) != 2 or len(strides) != 2 or len(pads) != 4:
            raise VerifyException(
                "cim.pool: needs a 4-D NCHW input, 2 kernel sizes, 2 strides, 4 pads"
            )
        oh, ow = conv_output_hw(x[2:], kernel, strides, pads, (1, 1))
        return (x[0], x[1], oh, ow)

    def verify_(self) -> None:
        _check_result(
            self,
            self.infer_shape(
                shape_of(self.input), ints(self.kernel), ints(self.strides), ints(self.pads)
            ),
        )

    def vector_work(self) -> int:
        return numel(shape_of(self.output)) * numel(ints(self.kernel))


class ReduceFn(StrEnum):
    SUM = auto()
    MEAN = auto()
    MAX = auto()
    MIN = auto()
    PROD = auto()
    SUM_SQUARE = auto()
    L2 = auto()


@irdl_attr_definition
class ReduceFnAttr(EnumAttribute[ReduceFn], SpacedOpaqueSyntaxAttribute):
    name = "cim.reduce_fn"


@irdl_op_definition
class ReduceOp(VectorOp):
    """A reduction over `axes` (sorted, non-negative), keeping them as size-1
    dimensions when `keepdims` is 1."""

    name = "cim.reduce"

    fn = prop_def(ReduceFnAttr)
    input = operand_def(TensorType)
    output = result_def(TensorType)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdims = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$fn $input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, fn: ReduceFn, input: SSAValue, axes: Sequence[int], keepdims: bool):
        x = shape_of(input)
        out = self.infer_shape(x, axes, keepdims)
        elem = cast(TensorType, input.type).element_type
        super().__init__(
            operands=[input],
            result_types=[tensor_type(elem, out)],
            properties={
                "fn": ReduceFnAttr(fn),
                "axes": i64_array(axes),
                "keepdims": IntegerAttr(int(keepdims), i64),
            },
        )

    @staticmethod
    def infer_shape(x: Sequence[int], axes: Sequence[int], keepdims: bool) -> tuple[int, ...]:
        if list(axes) != sorted(set(axes)) or any(not 0 <= a < len(x) for a in axes):
            raise VerifyException(
                f"cim.reduce: axes {list(axes)} must be sorted, unique and in [0, {len(x)})"
            )
        if keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(x))
        return tuple(d for i, d in enumerate(x) if i not in axes)

    def verify_(self) -> None:
        _check_result(
            self,
            self.infer_shape(shape_of(self.input), ints(self.axes), bool(self.keepdims.value.data)),
        )

    def vector_work(self) -> int:
        return numel(shape_of(self.input))


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


# --------------------------------------------------------------------------
# Mapping structure
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 14)
def _cost_dict(items: tuple[tuple[str, float], ...]) -> DictionaryAttr:
    return DictionaryAttr({k: f64_attr(v) for k, v in items})


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """Operators mapped onto the chip at once, run as a pipeline.

    Segments run one after another. `compute_arrays` / `memory_arrays` are
    the arrays in each mode during the segment; `cost` holds the cost
    breakdown in cycles (intra, switch, reload, writeback). `shared` lists
    (producer, consumer, arrays) triples, flattened, of output buffers reused
    in place as a consumer's input buffer; producer and consumer are
    positions among the segment's CIM operators. The region reads values
    defined before the segment and yields those used after it.
    """

    name = "cim.segment"

    index = prop_def(IntegerAttr)
    compute_arrays = prop_def(IntegerAttr)
    memory_arrays = prop_def(IntegerAttr)
    cost = opt_prop_def(DictionaryAttr)
    shared = opt_prop_def(DenseArrayBase.constr(i64))
    outs = var_result_def()
    body = region_def("single_block")

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict (`->` type($outs)^)? $body"

    def __init__(
        self,
        index: int,
        compute_arrays: int,
        memory_arrays: int,
        body: Region,
        result_types: Sequence[Attribute],
        cost: dict[str, float] | None = None,
        shared: Sequence[tuple[int, int, int]] = (),
    ):
        props: dict[str, Attribute] = {
            "index": i64_attr(index),
            "compute_arrays": i64_attr(compute_arrays),
            "memory_arrays": i64_attr(memory_arrays),
        }
        if cost is not None:
            props["cost"] = _cost_dict(tuple((k, float(v)) for k, v in cost.items()))
        if shared:
            props["shared"] = i64_array([x for triple in shared for x in triple])
        super().__init__(result_types=[result_types], properties=props, regions=[body])

    def verify_(self) -> None:
        block = self.body.block
        if not isinstance(block.last_op, YieldOp):
            raise VerifyException("cim.segment: the body must end with cim.yield")
        got = [v.type for v in block.last_op.values]
        if got != [r.type for r in self.outs]:
            raise VerifyException(
                "cim.segment: cim.yield operand types must match the segment's results"
            )
        for key in ("compute_arrays", "memory_arrays", "index"):
            if cast(IntegerAttr, getattr(self, key)).value.data < 0:
                raise VerifyException(f"cim.segment: {key} must be >= 0")
        flat = ints(self.shared)
        if len(flat) % 3 or any(x < 0 for x in flat):
            raise VerifyException(
                "cim.segment: shared must hold non-negative (producer, consumer, arrays) triples"
            )
        n_cim = sum(isinstance(op, ComputeOp) for op in block.ops)
        for p, c, _ in self.shared_triples():
            if p >= c:
                raise VerifyException(
                    f"cim.segment: shared buffer ({p}, {c}) must go from an earlier operator "
                    "to a later one"
                )
            if c >= n_cim:
                raise VerifyException(
                    f"cim.segment: shared buffer ({p}, {c}) names an operator the segment does "
                    f"not have ({n_cim} CIM operators)"
                )

    def shared_triples(self) -> list[tuple[int, int, int]]:
        """`shared` as (producer, consumer, arrays) triples."""
        flat = ints(self.shared)
        return [(flat[k], flat[k + 1], flat[k + 2]) for k in range(0, len(flat) - 2, 3)]


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a ``cim.segment``, returning the values used after it."""

    name = "cim.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(SegmentOp), Pure())
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])


CIM_OPS: tuple[type[IRDLOperation], ...] = (
    ConstantOp,
    LinearOp,
    Conv2dOp,
    MatmulOp,
    ElementwiseOp,
    SoftmaxOp,
    LayerNormOp,
    RMSNormOp,
    PoolOp,
    ReduceOp,
    ReshapeOp,
    TransposeOp,
    SliceOp,
    ConcatOp,
    GatherOp,
    GatherElementsOp,
    ScatterNDOp,
    CumSumOp,
    TopKOp,
    BroadcastOp,
    PadOp,
    SegmentOp,
    YieldOp,
)

CIM_ATTRS: tuple[type[Attribute], ...] = (
    ModeAttr,
    AllocationAttr,
    HardwareAttr,
    ElementwiseFnAttr,
    PoolKindAttr,
    ReduceFnAttr,
    ScatterReductionAttr,
)

CIM = Dialect("cim", list(CIM_OPS), list(CIM_ATTRS))
