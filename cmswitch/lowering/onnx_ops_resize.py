"""ONNX importer handler: Resize / Upsample, nearest and (bi)linear.

Resizing is separable: along each resized axis every output position reads
one input position (nearest) or blends two neighbours (linear). The source
positions and weights depend on shapes and attributes only, so they are
computed here with NumPy and the resize becomes ``cim.gather`` with constant
indices (and, for linear, a multiply-add with constant weights) per axis.
Cubic interpolation, antialiasing and ``tf_crop_and_resize`` are refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import ElementwiseFn, ElementwiseOp, GatherOp, shape_of
from cmswitch.lowering.onnx_common import OnnxImportError, Value, handles

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


def _text(value: object, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def source_coords(out_size: int, in_size: int, scale: float, mode: str) -> np.ndarray:
    """ONNX Resize's coordinate transformation: the input coordinate of each
    output position."""
    x = np.arange(out_size, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else np.zeros(out_size)
    if mode == "align_corners":
        # ONNX divides by the unrounded output length, in_size * scale.
        length = in_size * scale
        return x * (in_size - 1) / (length - 1) if length != 1 else np.zeros(out_size)
    if mode == "asymmetric":
        return x / scale
    if mode == "half_pixel_symmetric":
        adj = out_size / (scale * in_size)
        offset = in_size / 2 * (1 - adj)
        return offset + (x + 0.5) / scale - 0.5
    raise ValueError(mode)


def nearest_index(coord: np.ndarray, in_size: int, mode: str) -> np.ndarray:
    """ONNX Resize's nearest_mode rounding, clamped into the input."""
    if mode == "floor":
        idx = np.floor(coord)
    elif mode == "ceil":
        idx = np.ceil(coord)
    else:
        frac = coord - np.floor(coord)
        half = np.isclose(frac, 0.5)
        if mode == "round_prefer_floor":
            idx = np.where(half, np.floor(coord), np.round(coord))
        elif mode == "round_prefer_ceil":
            idx = np.where(half, np.ceil(coord), np.round(coord))
        else:
            raise ValueError(mode)
    return np.clip(idx, 0, in_size - 1).astype(np.int64)


def _refuse(node: onnx.NodeProto, why: str) -> OnnxImportError:
    return OnnxImportError(f"node {node.name!r} (op {node.op_type}): {why}")


def _sizes(
    im: Importer, node: onnx.NodeProto, shape: tuple[int, ...]
) -> tuple[list[int], list[float]]:
    """Output sizes and scales per axis."""
    a = im.attrs(node)
    rank = len(shape)
    axes = [im.axis(int(ax), rank, node) for ax in cast(list[int], a.get("axes", range(rank)))]

    def given(pos: int) -> list[float] | None:
        if len(node.input) <= pos or not node.input[pos]:
            return None
        v = im._const(node.input[pos])
        if v is None:
            raise _refuse(node, "scales and sizes must be constants (computed at import time)")
        return [float(t) for t in np.asarray(v).ravel()] or None

    if node.op_type == "Upsample" or im.opset < 11:
        scales_in = given(1) if node.op_type == "Upsample" or len(node.input) > 1 else None
        if scales_in is None:
            scales_in = [float(s) for s in cast(list[float], a["scales"])]
        sizes_in = None
    else:
        scales_in, sizes_in = given(2), given(3)
    scales = [1.0] * rank
    sizes = list(shape)
    if sizes_in is not None:
        if len(sizes_in) != len(axes):
            raise _refuse(node, f"{len(sizes_in)} sizes for {len(axes)} axes")
        policy = _text(a.get("keep_aspect_ratio_policy"), "stretch")
        ratios = [sizes_in[k] / shape[ax] for k, ax in enumerate(axes)]
        if policy == "stretch":
            for k, ax in enumerate(axes):
                sizes[ax], scales[ax] = round(sizes_in[k]), ratios[k]
        elif policy in ("not_larger", "not_smaller"):
            r = min(ratios) if policy == "not_larger" else max(ratios)
            for ax in axes:
                sizes[ax], scales[ax] = math.floor(shape[ax] * r + 0.5), r
        else:
            raise _refuse(node, f"keep_aspect_ratio_policy {policy!r}")
    elif scales_in is not None:
        if len(scales_in) != len(axes):
            raise _refuse(node, f"{len(scales_in)} scales for {len(axes)} axes")
        for k, ax in enumerate(axes):
            scales[ax] = scales_in[k]
            sizes[ax] = math.floor(shape[ax] * scales_in[k])
    else:
        raise _refuse(node, "needs scales or sizes")
    return sizes, scales


@handles("Resize", "Upsample")
def _resize(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    mode = _text(a.get("mode"), "nearest")
    coord_mode = _text(a.get("coordinate_transformation_mode"), "half_pixel")
    nearest = _text(a.get("nearest_mode"), "round_prefer_floor")
    if node.op_type == "Upsample" or im.opset < 11:
        coord_mode, nearest = "asymmetric", "floor"
    if mode not in ("nearest", "linear", "bilinear"):
        raise _refuse(node, f"mode {mode!r} is not supported (nearest and linear are)")
    if coord_mode == "tf_crop_and_resize":
        raise _refuse(node, "coordinate_transformation_mode 'tf_crop_and_resize'")
    sizes, scales = _sizes(im, node, shape)
    if int(cast(int, a.get("antialias", 0))) and mode != "nearest" and min(scales) < 1:
        raise _refuse(node, "antialiased downsampling is not supported")
    if coord_mode not in (
        "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
        "half_pixel_symmetric",
    ):  # fmt: skip
        raise _refuse(node, f"coordinate_transformation_mode {coord_mode!r}")
    if nearest not in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        raise _refuse(node, f"nearest_mode {nearest!r}")
    y: SSAValue = x
    for ax, (n_in, n_out) in enumerate(zip(shape, sizes, strict=True)):
        if n_out == n_in and scales[ax] == 1.0:
            continue
        if n_out <= 0:
            raise _refuse(node, f"output size {n_out} along axis {ax}")
        coord = source_coords(n_out, n_in, scales[ax], coord_mode)
        tag = f"{node.output[0]}.ax{ax}"
        if mode == "nearest":
            idx = im._constant(f"{tag}.idx", nearest_index(coord, n_in, nearest))
            y = im.add(GatherOp(y, idx, ax), node)
            continue
        c = np.clip(coord, 0, n_in - 1)
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        w_hi = (c - lo).astype(np.float32)
        bshape = [1] * len(shape)
        bshape[ax] = n_out
        g_lo = im.add(GatherOp(y, im._constant(f"{tag}.lo", lo), ax), node)
        g_hi = im.add(GatherOp(y, im._constant(f"{tag}.hi", hi), ax), node)
        wl = im._constant(f"{tag}.wlo", (1.0 - w_hi).reshape(bshape))
        wh = im._constant(f"{tag}.whi", w_hi.reshape(bshape))
        g_lo = im.add(ElementwiseOp(ElementwiseFn.MUL, [g_lo, wl]), node)
        g_hi = im.add(ElementwiseOp(ElementwiseFn.MUL, [g_hi, wh]), node)
        y = im.add(ElementwiseOp(ElementwiseFn.ADD, [g_lo, g_hi]), node)
    return [y]
