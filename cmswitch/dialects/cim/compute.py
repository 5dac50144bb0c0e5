"""`cim` CIM operators: `cim.linear`, `cim.conv2d`, `cim.matmul`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    TensorType,
    i64,
)
from xdsl.ir import (
    SSAValue,
)
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from cmswitch.dialects.cim.common import (
    ComputeOp,
    MatmulShape,
    _check_result,
    broadcast_shapes,
    conv_output_hw,
    i64_array,
    ints,
    numel,
    shape_of,
    tensor_type,
)
from cmswitch.dialects.cim.layout import (
    is_static_value,
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
