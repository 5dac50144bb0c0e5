"""ONNX importer handlers: data-layout operators."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ConcatOp,
    GatherOp,
    PadOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    broadcast_shapes,
    shape_of,
)
from cmswitch.lowering.onnx_common import (
    OnnxImportError,
    Value,
    handles,
)
from cmswitch.lowering.onnx_fold import reshape_target

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


# ---------------------------------------------------------------- layout


def _layout(im: Importer, node: onnx.NodeProto, fn: Callable[[np.ndarray], np.ndarray],
            make: Callable[[SSAValue], object]) -> list[Value]:  # fmt: skip
    """Applies a layout op: folded on constant data, else emitted."""
    v = im._get(node.input[0])
    if isinstance(v, np.ndarray):
        return [fn(v)]
    x = im._ssa(node.input[0])
    return [im.add(make(x), node)]


@handles("Reshape")
def _reshape(im: Importer, node: onnx.NodeProto) -> list[Value]:
    in_shape = im._shape(node.input[0])
    target = reshape_target(
        in_shape, im._ints(node, 1, "the target shape"),
        bool(int(cast(int, im.attrs(node).get("allowzero", 0)))),
    )  # fmt: skip
    if tuple(target) == in_shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@handles("Flatten")
def _flatten(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    axis = int(cast(int, im.attrs(node).get("axis", 1)))
    if not -len(shape) <= axis <= len(shape):
        raise OnnxImportError(f"node {node.name!r} (op Flatten): axis {axis} out of range")
    axis = axis % len(shape) if axis < 0 else axis
    target = (math.prod(shape[:axis]), math.prod(shape[axis:]))
    if target == shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@handles("Squeeze", "Unsqueeze")
def _squeeze(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = list(im._shape(node.input[0]))
    if len(node.input) > 1 and node.input[1]:
        axes = im._ints(node, 1, "axes")
    else:
        axes = [int(v) for v in cast(list[int], im.attrs(node).get("axes", []))]
    if node.op_type == "Squeeze":
        if not axes:
            axes = [k for k, d in enumerate(shape) if d == 1]
        drop = {im.axis(ax, len(shape), node) for ax in axes}
        if any(shape[ax] != 1 for ax in drop):
            raise OnnxImportError(
                f"node {node.name!r} (op Squeeze): axes {sorted(drop)} of shape {shape} "
                "are not all of size 1"
            )
        target = [d for k, d in enumerate(shape) if k not in drop]
    else:
        rank = len(shape) + len(axes)
        target = shape
        for ax in sorted(ax % rank for ax in axes):
            target.insert(ax, 1)
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@handles("Transpose")
def _transpose(im: Importer, node: onnx.NodeProto) -> list[Value]:
    rank = len(im._shape(node.input[0]))
    perm = [int(p) for p in cast(list[int], im.attrs(node).get("perm", list(range(rank))[::-1]))]
    if perm == list(range(rank)):
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(TransposeOp(im._ssa(node.input[0]), perm), node)]


@handles("Slice")
def _slice(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    rank = len(shape)
    if im.opset < 10:
        a = im.attrs(node)
        starts = [int(v) for v in cast(list[int], a["starts"])]
        ends = [int(v) for v in cast(list[int], a["ends"])]
        axes = [int(v) for v in cast(list[int], a.get("axes", range(len(starts))))]
        steps = [1] * len(starts)
    else:
        starts = im._ints(node, 1, "starts")
        ends = im._ints(node, 2, "ends")
        axes = (
            im._ints(node, 3, "axes")
            if len(node.input) > 3 and node.input[3]
            else list(range(len(starts)))
        )
        steps = (
            im._ints(node, 4, "steps")
            if len(node.input) > 4 and node.input[4]
            else [1] * len(starts)
        )
    s_all, e_all, st_all = [0] * rank, list(shape), [1] * rank
    for start, end, ax, step in zip(starts, ends, axes, steps, strict=True):
        ax = im.axis(ax, rank, node)
        s_all[ax], e_all[ax], st_all[ax] = normalise_slice(shape[ax], start, end, step)
    if s_all == [0] * rank and e_all == list(shape) and st_all == [1] * rank:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(SliceOp(im._ssa(node.input[0]), s_all, e_all, st_all), node)]


def normalise_slice(dim: int, start: int, end: int, step: int) -> tuple[int, int, int]:
    """ONNX Slice clamping -> cim.slice's normalised (start, end, step)."""
    if step == 0:
        raise OnnxImportError("Slice step must not be 0")
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
    else:
        start = min(max(start, 0), dim - 1) if dim else 0
        end = min(max(end, -1), dim - 1)
    return start, end, step


@handles("Split")
def _split(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", 0))), len(shape), node)
    n_out = len(node.output)
    if len(node.input) > 1 and node.input[1]:
        sizes = im._ints(node, 1, "split")
    elif "split" in a:
        sizes = [int(v) for v in cast(list[int], a["split"])]
    else:
        n = int(cast(int, a.get("num_outputs", n_out)))
        chunk = -(-shape[axis] // n)
        sizes = [min(chunk, shape[axis] - k * chunk) for k in range(n)]
    x = im._ssa(node.input[0])
    outs: list[Value] = []
    offset = 0
    for size in sizes:
        starts = [0] * len(shape)
        ends = list(shape)
        starts[axis], ends[axis] = offset, offset + size
        outs.append(im.add(SliceOp(x, starts, ends), node))
        offset += size
    return outs


@handles("Concat")
def _concat(im: Importer, node: onnx.NodeProto) -> list[Value]:
    names = [n for n in node.input if (n and math.prod(im._shape(n)) > 0) or n == node.input[0]]
    rank = len(im._shape(node.input[0]))
    axis = im.axis(int(cast(int, im.attrs(node)["axis"])), rank, node)
    vals = [im._ssa(n) for n in names if math.prod(im._shape(n)) > 0] or [im._ssa(node.input[0])]
    if len(vals) == 1:
        return [vals[0]]
    return [im.add(ConcatOp(vals, axis), node)]


@handles("Gather")
def _gather(im: Importer, node: onnx.NodeProto) -> list[Value]:
    rank = len(im._shape(node.input[0]))
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", 0))), rank, node)
    x = im._ssa(node.input[0])
    idx_v = im._get(node.input[1])
    if isinstance(idx_v, np.ndarray):
        dim = shape_of(x)[axis]
        if idx_v.size and not (-dim <= idx_v.min() and idx_v.max() < dim):
            raise OnnxImportError(
                f"node {node.name!r} (op Gather): indices out of range for a dimension of {dim}"
            )
        idx = im._constant(node.input[1], idx_v.astype(np.int64))
    else:
        idx = im._ssa(node.input[1])
    return [im.add(GatherOp(x, idx, axis), node)]


@handles("Expand")
def _expand(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    target = broadcast_shapes(shape, im._ints(node, 1, "the shape"))
    if target == shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(BroadcastOp(im._ssa(node.input[0]), target), node)]


@handles("Tile")
def _tile(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    reps = im._ints(node, 1, "repeats")
    x = im._ssa(node.input[0])
    # tile = reshape to [1, d0, 1, d1...], broadcast to [r0, d0, r1, d1...], reshape.
    inter = [v for d in shape for v in (1, d)]
    x = im.add(ReshapeOp(x, inter), node)
    x = im.add(BroadcastOp(x, [v for d, r in zip(shape, reps, strict=True) for v in (r, d)]), node)
    return [im.add(ReshapeOp(x, [d * r for d, r in zip(shape, reps, strict=True)]), node)]


@handles("Pad")
def _pad(im: Importer, node: onnx.NodeProto) -> list[Value]:
    shape = im._shape(node.input[0])
    rank = len(shape)
    a = im.attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise OnnxImportError(f"node {node.name!r} (op Pad): mode {mode!r} is not supported")
    if im.opset < 11:
        pads = [int(v) for v in cast(list[int], a["pads"])]
        value = float(cast(float, a.get("value", 0.0)))
    else:
        pads = im._ints(node, 1, "pads")
        value = 0.0
        if len(node.input) > 2 and node.input[2]:
            cv = im._const(node.input[2])
            if cv is None:
                raise OnnxImportError(
                    f"node {node.name!r} (op Pad): constant_value must be constant"
                )
            value = float(np.asarray(cv).ravel()[0]) if cv.size else 0.0
    if len(node.input) > 3 and node.input[3]:
        axes = [im.axis(ax, rank, node) for ax in im._ints(node, 3, "axes")]
        full = [0] * (2 * rank)
        for k, ax in enumerate(axes):
            full[ax], full[ax + rank] = pads[k], pads[k + len(axes)]
        pads = full
    x = im._ssa(node.input[0])
    if min(pads) < 0:  # negative pads crop
        starts = [max(0, -p) for p in pads[:rank]]
        ends = [d - max(0, -p) for d, p in zip(shape, pads[rank:], strict=True)]
        x = im.add(SliceOp(x, starts, ends), node)
        pads = [max(0, p) for p in pads]
    if not any(pads):
        return [x]
    if mode == "constant":
        return [im.add(PadOp(x, pads, value), node)]
    # reflect / edge / wrap read existing elements: a gather per padded axis.
    for ax in range(rank):
        begin, end = pads[ax], pads[ax + rank]
        if begin or end:
            n = shape_of(x)[ax]
            idx = pad_indices(n, begin, end, mode)
            x = im.add(GatherOp(x, im._constant(f"{node.output[0]}.ax{ax}", idx), ax), node)
    return [x]


def pad_indices(n: int, begin: int, end: int, mode: str) -> np.ndarray:
    """Source index of every position of a dimension of size `n` padded by
    (begin, end) in ONNX Pad's reflect / edge / wrap modes."""
    i = np.arange(-begin, n + end)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    j = np.mod(i, period)
    return np.where(j < n, j, period - j)


@handles("ConstantOfShape", "Range")
def _needs_constant(im: Importer, node: onnx.NodeProto) -> list[Value]:
    raise OnnxImportError(
        f"node {node.name!r} (op {node.op_type}, opset {im.opset}): inputs must be constants"
    )


@handles("DepthToSpace", "SpaceToDepth")
def _depth_to_space(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    if len(shape) != 4:
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): needs a 4-D NCHW input")
    n, c, h, w = shape
    a = im.attrs(node)
    b = int(cast(int, a["blocksize"]))
    if b <= 0:
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): blocksize {b}")
    mode = a.get("mode", b"DCR")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("DCR", "CRD"):
        raise OnnxImportError(f"node {node.name!r} (op {node.op_type}): mode {mode!r}")
    if node.op_type == "SpaceToDepth":
        if h % b or w % b:
            raise OnnxImportError(
                f"node {node.name!r} (op SpaceToDepth): {h}x{w} is not a multiple of {b}"
            )
        x = im.add(ReshapeOp(x, (n, c, h // b, b, w // b, b)), node)
        perm = (0, 3, 5, 1, 2, 4) if mode == "DCR" else (0, 1, 3, 5, 2, 4)
        x = im.add(TransposeOp(x, perm), node)
        return [im.add(ReshapeOp(x, (n, c * b * b, h // b, w // b)), node)]
    if c % (b * b):
        raise OnnxImportError(
            f"node {node.name!r} (op DepthToSpace): {c} channels is not a multiple of {b * b}"
        )
    if mode == "DCR":
        x = im.add(ReshapeOp(x, (n, b, b, c // (b * b), h, w)), node)
        x = im.add(TransposeOp(x, (0, 3, 4, 1, 5, 2)), node)
    else:
        x = im.add(ReshapeOp(x, (n, c // (b * b), b, b, h, w)), node)
        x = im.add(TransposeOp(x, (0, 1, 4, 2, 5, 3)), node)
    return [im.add(ReshapeOp(x, (n, c // (b * b), h * b, w * b)), node)]


@handles("CenterCropPad")
def _center_crop_pad(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """Crops (or zero-pads) each listed axis to its target size, centred."""
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    rank = len(shape)
    target = im._ints(node, 1, "the shape")
    axes = [im.axis(int(v), rank, node)
            for v in cast(list[int], im.attrs(node).get("axes", range(rank)))]  # fmt: skip
    if len(axes) != len(target):
        raise OnnxImportError(f"node {node.name!r} (op CenterCropPad): {len(target)} sizes")
    starts, ends = [0] * rank, list(shape)
    pads = [0] * (2 * rank)
    for ax, t in zip(axes, target, strict=True):
        d = shape[ax]
        if t < d:
            starts[ax] = (d - t) // 2
            ends[ax] = starts[ax] + t
        elif t > d:
            pads[ax] = (t - d) // 2
            pads[ax + rank] = t - d - pads[ax]
    if starts != [0] * rank or ends != list(shape):
        x = im.add(SliceOp(x, starts, ends), node)
    if any(pads):
        x = im.add(PadOp(x, pads), node)
    return [x]
