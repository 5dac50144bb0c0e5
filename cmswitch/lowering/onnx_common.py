"""Shared pieces of the ONNX importer: errors, import-time values, the
handler registry and helpers used by several operator families.

The importer proper is :mod:`cmswitch.lowering.onnx_to_cim`; the handlers,
one module per operator family, are the ``onnx_ops_*`` modules. A handler
takes the importer and one ``NodeProto`` and returns one value per node
output: a NumPy array (folded at import time), an :class:`Absent`
initializer or an ``SSAValue`` of the ``cim`` function being built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import IntegerType, TensorType, f32, i64
from xdsl.ir import Attribute, SSAValue

from cmswitch.dialects.cim import BroadcastOp, ReshapeOp, is_static_value, shape_of

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer

i1 = IntegerType(1)


class OnnxImportError(Exception):
    """A model the importer cannot take; the message is one user-facing line."""


# --------------------------------------------------------------------------
# Values during import
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Absent:
    """An initializer whose data is not available (shape and dtype known)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


Value = np.ndarray | Absent | SSAValue


def is_float_dtype(dtype: np.dtype) -> bool:
    """NumPy floats and the ``ml_dtypes`` ones (bfloat16, float8...), whose
    kind is 'V' rather than 'f'."""
    if np.issubdtype(dtype, np.floating):
        return True
    try:
        import ml_dtypes

        ml_dtypes.finfo(dtype)
    except (TypeError, ValueError, ImportError):
        return False
    return True


def check_numeric(dtype: np.dtype, what: str) -> None:
    """Refuses tensors the `cim` dialect cannot hold (strings, complex...)."""
    if dtype == np.bool_ or np.issubdtype(dtype, np.integer) or is_float_dtype(dtype):
        return
    raise OnnxImportError(f"{what} has element type {dtype}, which is not supported")


def elem_for_dtype(dtype: np.dtype) -> Attribute:
    if dtype == np.bool_:
        return i1
    if is_float_dtype(dtype):
        return f32
    return i64


def dtype_for_elem(elem: Attribute) -> np.dtype:
    if elem == f32:
        return np.dtype(np.float32)
    return np.dtype(np.bool_) if elem == i1 else np.dtype(np.int64)


def elem_for_onnx(elem_type: int) -> Attribute:
    if elem_type == onnx.TensorProto.BOOL:
        return i1
    if elem_type == onnx.TensorProto.UNDEFINED:
        return f32
    return elem_for_dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def is_float(value: SSAValue) -> bool:
    return cast(TensorType, value.type).element_type == f32


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


# --------------------------------------------------------------------------
# Handlers: (importer, node) -> results (one per node output)
# --------------------------------------------------------------------------

Handler = Callable[["Importer", onnx.NodeProto], list[Value]]
HANDLERS: dict[str, Handler] = {}


def handles(*ops: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for op in ops:
            HANDLERS[op] = fn
        return fn

    return deco


# --------------------------------------------------------------------------
# Helpers shared by operator families
# --------------------------------------------------------------------------


def conv_pads(im: Importer, node: onnx.NodeProto, x_hw: Sequence[int], k: Sequence[int],
               strides: Sequence[int], dil: Sequence[int]) -> list[int]:  # fmt: skip
    a = im.attrs(node)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for ax in range(2):
            out = math.ceil(x_hw[ax] / strides[ax])
            total = max(0, (out - 1) * strides[ax] + dil[ax] * (k[ax] - 1) + 1 - x_hw[ax])
            small, big = total // 2, total - total // 2
            pads[ax], pads[ax + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        return pads
    if auto == "VALID":
        return [0, 0, 0, 0]
    pads = [int(p) for p in cast(list[int], a.get("pads", [0, 0, 0, 0]))]
    return pads


def spatial_2d(im: Importer, node: onnx.NodeProto, rank: int) -> None:
    if rank != 4:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}, opset {im.opset}): only 2-D (NCHW) "
            f"inputs are supported, got rank {rank}"
        )


def is_static(im: Importer, name: str) -> bool:
    v = im._get(name)
    return isinstance(v, np.ndarray | Absent) or (isinstance(v, SSAValue) and is_static_value(v))


def fit(
    im: Importer, node: onnx.NodeProto, name: str, shape: tuple[int, ...], fill: float
) -> SSAValue:
    """A scale/bias operand of exactly `shape` (broadcasting constants)."""
    if not name:
        return im._constant(f"{node.output[0]}.{'bias' if fill == 0 else 'scale'}",
                            np.full(shape, fill, np.float32))  # fmt: skip
    v = im._get(name)
    if im._shape(name) == shape:
        return im._ssa(name)
    if isinstance(v, np.ndarray):
        return im._constant(f"{name}.bcast", np.broadcast_to(v, shape).astype(np.float32))
    val = im._ssa(name)
    s = shape_of(val)
    while len(s) > len(shape) and s[0] == 1:
        s = s[1:]
    if len(s) < len(shape):
        val = im.add(ReshapeOp(val, (1,) * (len(shape) - len(s)) + s), node)
    elif s != shape_of(val):
        val = im.add(ReshapeOp(val, s), node)
    return im.add(BroadcastOp(val, shape), node)
