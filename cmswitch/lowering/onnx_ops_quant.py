"""ONNX importer handlers: QuantizeLinear / DequantizeLinear (the QDQ format
of quantised exports) as elementwise arithmetic on the vector unit.

Integer codes are held as i64 (their values, not their storage), float8
codes as f32 rounded to the format. ``y = (x - zero_point) * scale`` and
``q = saturate(round_half_even(x / scale) + zero_point)``, the scale and zero
point per tensor, per axis or per block (constant blocks are expanded here).
4-bit, 2-bit, float4 and float6 codes, and a ``precision`` other than
float32, are refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from onnx import TensorProto, helper
from xdsl.dialects.builtin import TensorType, f32, i64
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import ElementwiseFn, ElementwiseOp, ReshapeOp, shape_of
from cmswitch.lowering.onnx_common import OnnxImportError, Value, handles

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer

_INT_RANGES: dict[int, tuple[int, int]] = {
    TensorProto.UINT8: (0, 255),
    TensorProto.INT8: (-128, 127),
    TensorProto.UINT16: (0, 65535),
    TensorProto.INT16: (-32768, 32767),
    TensorProto.INT32: (-(2**31), 2**31 - 1),
}

_FLOAT8: dict[int, ElementwiseFn] = {
    TensorProto.FLOAT8E4M3FN: ElementwiseFn.TO_F8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ: ElementwiseFn.TO_F8E4M3FNUZ,
    TensorProto.FLOAT8E5M2: ElementwiseFn.TO_F8E5M2,
    TensorProto.FLOAT8E5M2FNUZ: ElementwiseFn.TO_F8E5M2FNUZ,
}


def _refuse(node: onnx.NodeProto, why: str) -> OnnxImportError:
    return OnnxImportError(f"node {node.name!r} (op {node.op_type}): {why}")


def _param(
    im: Importer, node: onnx.NodeProto, name: str, x_shape: tuple[int, ...], axis: int,
    block: int, as_float: bool,
) -> SSAValue:  # fmt: skip
    """A scale or zero point shaped to broadcast against x: scalar, per
    `axis` ([C]) or per block of `block` along `axis`."""
    value = im._get(name)
    shape = im._shape(name)
    rank = len(x_shape)
    if math.prod(shape) > 1 or block > 0:
        axis = im.axis(axis, rank, node)
    if isinstance(value, np.ndarray):
        v = value.astype(np.float32) if as_float else value.astype(np.int64)
        if v.ndim == 0 or (v.size == 1 and block == 0):
            out = v.reshape(())
        elif block > 0:
            out = np.repeat(v, block, axis=axis)
            out = np.take(out, np.arange(x_shape[axis]), axis=axis)
        else:
            bshape = [1] * rank
            bshape[axis] = v.size
            out = v.reshape(bshape)
        return im._constant(f"{name}.q", out)
    v_ssa = im._ssa(name)
    if len(shape) == 0 or (len(shape) == 1 and shape[0] == 1 and block == 0):
        return v_ssa
    if block > 0 or len(shape) != 1:
        raise _refuse(node, "a run-time blocked scale / zero point is not supported")
    bshape = [1] * rank
    bshape[axis] = shape[0]
    return im.add(ReshapeOp(v_ssa, bshape), node)


def _common(im: Importer, node: onnx.NodeProto) -> tuple[SSAValue, int, int]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    rank = len(shape_of(x))
    axis = int(cast(int, a.get("axis", 1)))
    # The axis matters only for per-axis or blocked parameters (checked there).
    axis = axis % rank if rank and -rank <= axis < rank else axis
    block = int(cast(int, a.get("block_size", 0)))
    if int(cast(int, a.get("precision", 0))) not in (0, TensorProto.FLOAT):
        raise _refuse(node, "a precision other than float32 is not supported")
    return x, axis, block


@handles("DequantizeLinear")
def _dequantize(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x, axis, block = _common(im, node)
    code = im.onnx_type(node.input[0])
    if code not in _INT_RANGES and code not in _FLOAT8:
        raise _refuse(node, f"{TensorProto.DataType.Name(code)} codes are not supported")  # pyright: ignore[reportArgumentType]
    shape = shape_of(x)
    y = x
    if len(node.input) > 2 and node.input[2]:
        zp = _param(im, node, node.input[2], shape, axis, block, code in _FLOAT8)
        y = im.add(ElementwiseOp(ElementwiseFn.SUB, [y, zp]), node)
    if cast(TensorType, y.type).element_type != f32:
        y = im.add(ElementwiseOp(ElementwiseFn.CAST, [y], element_type=f32), node)
    scale = _param(im, node, node.input[1], shape, axis, block, True)
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [y, scale]), node)]


@handles("QuantizeLinear")
def _quantize(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x, axis, block = _common(im, node)
    a = im.attrs(node)
    zp_name = node.input[2] if len(node.input) > 2 else ""
    if zp_name:
        code = im.onnx_type(zp_name)
    else:
        code = int(cast(int, a.get("output_dtype", 0))) or TensorProto.UINT8
    shape = shape_of(x)
    im.types[node.output[0]] = code  # the codes' type, for a DequantizeLinear
    if cast(TensorType, x.type).element_type != f32:
        x = im.add(ElementwiseOp(ElementwiseFn.CAST, [x], element_type=f32), node)
    scale = _param(im, node, node.input[1], shape, axis, block, True)
    y = im.add(ElementwiseOp(ElementwiseFn.DIV, [x, scale]), node)
    if code in _FLOAT8:
        if int(cast(int, a.get("saturate", 1))):
            import ml_dtypes

            top = float(ml_dtypes.finfo(helper.tensor_dtype_to_np_dtype(code)).max)  # pyright: ignore[reportArgumentType]
            y = im.add(ElementwiseOp(ElementwiseFn.CLIP, [y], alpha=-top, beta=top), node)
        return [im.add(ElementwiseOp(_FLOAT8[code], [y]), node)]
    if code not in _INT_RANGES or code == TensorProto.INT32:
        raise _refuse(node, f"{TensorProto.DataType.Name(code)} codes are not supported")
    y = im.add(ElementwiseOp(ElementwiseFn.ROUND, [y]), node)
    if zp_name:
        zp = _param(im, node, zp_name, shape, axis, block, True)
        y = im.add(ElementwiseOp(ElementwiseFn.ADD, [y, zp]), node)
    lo, hi = _INT_RANGES[code]
    y = im.add(ElementwiseOp(ElementwiseFn.CLIP, [y], alpha=float(lo), beta=float(hi)), node)
    return [im.add(ElementwiseOp(ElementwiseFn.CAST, [y], element_type=i64), node)]
