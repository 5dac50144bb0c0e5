"""`cim` vector operators: elementwise, softmax, norms, pooling, reductions."""

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
    Attribute,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from cmswitch.dialects.cim.common import (
    VectorOp,
    _check_result,
    broadcast_shapes,
    conv_output_hw,
    i64_array,
    ints,
    numel,
    shape_of,
    tensor_type,
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
