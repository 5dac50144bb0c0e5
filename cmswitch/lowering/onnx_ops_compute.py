"""ONNX importer handlers: CIM operators (Conv, ConvTranspose, Gemm, MatMul)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    LinearOp,
    MatmulOp,
    PadOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    shape_of,
)
from cmswitch.lowering.onnx_common import (
    OnnxImportError,
    Value,
    conv_pads,
    handles,
    is_static,
    spatial_2d,
)

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


# ---------------------------------------------------------------- CIM ops


@handles("Conv")
def _conv(im: Importer, node: onnx.NodeProto) -> list[Value]:
    x = im._ssa(node.input[0])
    if len(shape_of(x)) == 3:
        return _conv1d(im, node, x)
    spatial_2d(im, node, len(shape_of(x)))
    if not is_static(im, node.input[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op Conv): a run-time (non-constant) weight is not supported"
        )
    a = im.attrs(node)
    w_shape = im._shape(node.input[1])
    strides = [int(s) for s in cast(list[int], a.get("strides", [1, 1]))]
    dil = [int(d) for d in cast(list[int], a.get("dilations", [1, 1]))]
    pads = conv_pads(im, node, shape_of(x)[2:], w_shape[2:], strides, dil)
    group = int(cast(int, a.get("group", 1)))
    w_name = node.input[1]
    b_name = node.input[2] if len(node.input) > 2 else ""
    out_name = node.output[0]

    # Fold a following BatchNormalization into the weight and bias.
    bn = _single_consumer(im, out_name, "BatchNormalization")
    if bn is not None and all(is_static(im, n) for n in bn.input[1:5]):
        eps = float(cast(float, im.attrs(bn).get("epsilon", 1e-5)))
        parts = [im._get(n) for n in (w_name, b_name, *bn.input[1:5])]
        out_name = bn.output[0]
        im.skip.add(out_name)
        if all(isinstance(p, np.ndarray) or p is None for p in parts):
            w, b0, gamma, beta, mean, var = (cast(np.ndarray | None, p) for p in parts)
            assert w is not None and gamma is not None and beta is not None
            s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)  # type: ignore[union-attr]
            bias0 = b0.astype(np.float64) if b0 is not None else 0.0
            new_w = (w.astype(np.float64) * s.reshape(-1, 1, 1, 1)).astype(np.float32)
            new_b = ((bias0 - mean) * s + beta).astype(np.float32)  # type: ignore[operator]
            w_val = im._constant(f"{w_name}.bn", new_w)
            b_val: SSAValue | None = im._constant(f"{bn.output[0]}.bias", new_b)
        else:
            # Data absent: same shapes, no values.
            w_val = im.b.weight(f"{w_name}.bn", w_shape)
            b_val = im.b.weight(f"{bn.output[0]}.bias", (w_shape[0],))
        res = im.b.add(
            Conv2dOp(x, w_val, b_val, strides=strides, pads=pads, dilations=dil, group=group),
            label=node.name or node.output[0],
        )
        # The BN's output is this conv's; the BN node itself is skipped.
        im.env[bn.output[0]] = res
        return [res]
    w_val = im._ssa(w_name)
    b_val = _bias(im, b_name)
    return [im.add(
        Conv2dOp(x, w_val, b_val, strides=strides, pads=pads, dilations=dil, group=group), node
    )]  # fmt: skip


def _conv1d(im: Importer, node: onnx.NodeProto, x: SSAValue) -> list[Value]:
    """A 1-D convolution as a 2-D one of height 1 (NCL -> NC1L)."""
    if not is_static(im, node.input[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op Conv): a run-time (non-constant) weight is not supported"
        )
    n, c, length = shape_of(x)
    a = im.attrs(node)
    w_name = node.input[1]
    o, ci, k = im._shape(w_name)
    stride = int(cast(list[int], a.get("strides", [1]))[0])
    dil = int(cast(list[int], a.get("dilations", [1]))[0])
    pads = conv_pads(im, _as_2d(node), (1, length), (1, k), (1, stride), (1, dil))
    wv = im._get(w_name)
    if isinstance(wv, np.ndarray):
        w4 = im._constant(f"{w_name}.2d", wv.reshape(o, ci, 1, k))
    else:
        w4 = im.add(ReshapeOp(im._ssa(w_name), (o, ci, 1, k)), node)
    bias = _bias(im, node.input[2] if len(node.input) > 2 else "")
    x4 = im.add(ReshapeOp(x, (n, c, 1, length)), node)
    group = int(cast(int, a.get("group", 1)))
    y = im.add(Conv2dOp(x4, w4, bias, strides=(1, stride), pads=pads, dilations=(1, dil),
                        group=group), node)  # fmt: skip
    _, oc, _, ol = shape_of(y)
    return [im.add(ReshapeOp(y, (n, oc, ol)), node)]


def _as_2d(node: onnx.NodeProto) -> onnx.NodeProto:
    """`node` with 1-D pads lifted to 2-D (height 1, no padding)."""
    clone = onnx.NodeProto()
    clone.CopyFrom(node)
    for attr in clone.attribute:
        if attr.name == "pads" and len(attr.ints) == 2:
            begin, end = attr.ints
            del attr.ints[:]
            attr.ints.extend([0, begin, 0, end])
    return clone


def _single_consumer(im: Importer, name: str, op_type: str) -> onnx.NodeProto | None:
    users = im.consumers.get(name, [])
    if len(users) != 1 or users[0].op_type != op_type or users[0].input[0] != name:
        return None
    if any(o.name == name for o in im.graph.output):
        return None
    bn = users[0]
    if op_type == "BatchNormalization" and any(im.used(o) for o in bn.output[1:]):
        return None
    return bn


def _bias(im: Importer, name: str) -> SSAValue | None:
    if not name:
        return None
    return im._ssa(name)


@handles("Gemm")
def _gemm(im: Importer, node: onnx.NodeProto) -> list[Value]:
    a = im.attrs(node)
    alpha = float(cast(float, a.get("alpha", 1.0)))
    beta = float(cast(float, a.get("beta", 1.0)))
    trans_a, trans_b = int(cast(int, a.get("transA", 0))), int(cast(int, a.get("transB", 0)))
    x = im._ssa(node.input[0])
    if trans_a:
        x = im.add(TransposeOp(x, (1, 0)), node)
    b_name = node.input[1]
    label = node.name or node.output[0]
    scale_after = 1.0
    if is_static(im, b_name):
        bv = im._get(b_name)
        if isinstance(bv, np.ndarray):
            w = (bv.T if trans_b else bv).astype(np.float32) * np.float32(alpha)
            name = b_name if (not trans_b and alpha == 1.0) else f"{b_name}.gemm"
            w_val = im._constant(name, w) if name != b_name else im._ssa(b_name)
        else:
            w_val = im._ssa(b_name)
            if trans_b:
                w_val = im.add(TransposeOp(w_val, (1, 0)), node)
            scale_after = alpha
        bias: SSAValue | None = None
        add_c: SSAValue | None = None
        k = shape_of(w_val)[1]
        if len(node.input) > 2 and node.input[2] and beta != 0.0:
            cv = im._get(node.input[2])
            c_shape = im._shape(node.input[2])
            if (
                math.prod(c_shape) == k
                and (len(c_shape) == 1 or c_shape[-1] == k)
                and (isinstance(cv, np.ndarray) and scale_after == 1.0)
            ):
                bias = im._constant(f"{node.input[2]}.gemm", (cv.reshape(k) * beta).astype(np.float32)) \
                    if beta != 1.0 or cv.ndim != 1 else im._ssa(node.input[2])  # fmt: skip
            else:
                add_c = im._ssa(node.input[2])
                if beta != 1.0:
                    bc = im._constant(f"{node.output[0]}.beta", np.array(beta, np.float32))
                    add_c = im.add(ElementwiseOp(ElementwiseFn.MUL, [add_c, bc]), node)
        y = im.b.add(LinearOp(x, w_val, bias), label=label)
        if scale_after != 1.0:
            sc = im._constant(f"{node.output[0]}.alpha", np.array(scale_after, np.float32))
            y = im.add(ElementwiseOp(ElementwiseFn.MUL, [y, sc]), node)
        if add_c is not None:
            y = im.add(ElementwiseOp(ElementwiseFn.ADD, [y, add_c]), node)
        return [y]
    rhs = im._ssa(b_name)
    if trans_b:
        rhs = im.add(TransposeOp(rhs, (1, 0)), node)
    y = im.b.add(MatmulOp(x, rhs), label=label)
    if alpha != 1.0:
        sc = im._constant(f"{node.output[0]}.alpha", np.array(alpha, np.float32))
        y = im.add(ElementwiseOp(ElementwiseFn.MUL, [y, sc]), node)
    if len(node.input) > 2 and node.input[2] and beta != 0.0:
        c = im._ssa(node.input[2])
        if beta != 1.0:
            bc = im._constant(f"{node.output[0]}.beta", np.array(beta, np.float32))
            c = im.add(ElementwiseOp(ElementwiseFn.MUL, [c, bc]), node)
        y = im.add(ElementwiseOp(ElementwiseFn.ADD, [y, c]), node)
    return [y]


@handles("MatMul")
def _matmul(im: Importer, node: onnx.NodeProto) -> list[Value]:
    a_shape, b_shape = im._shape(node.input[0]), im._shape(node.input[1])
    x = im._ssa(node.input[0])
    if len(b_shape) == 2 and len(a_shape) >= 1 and is_static(im, node.input[1]):
        w = im._ssa(node.input[1])
        if len(a_shape) == 1:
            x = im.add(ReshapeOp(x, (1, a_shape[0])), node)
            y = im.add(LinearOp(x, w), node)
            return [im.add(ReshapeOp(y, (b_shape[1],)), node)]
        return [im.add(LinearOp(x, w), node)]
    rhs = im._ssa(node.input[1])
    if len(a_shape) == 1:
        x = im.add(ReshapeOp(x, (1, a_shape[0])), node)
    if len(b_shape) == 1:
        rhs = im.add(ReshapeOp(rhs, (b_shape[0], 1)), node)
    y = im.add(MatmulOp(x, rhs), node)
    out = list(shape_of(y))
    if len(b_shape) == 1:
        out.pop(-1)
    if len(a_shape) == 1:
        out.pop(-2 if len(b_shape) != 1 else -1)
    if tuple(out) != shape_of(y):
        y = im.add(ReshapeOp(y, out), node)
    return [y]


@handles("ConvTranspose")
def _conv_transpose(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """A transposed convolution. Ungrouped: one ``cim.linear`` of every
    input pixel by the weight as a [C_in, kh*kw*C_out] matrix (exactly the
    transposed convolution's MACs), then col2im on the vector unit: each
    kernel tap's [N, C_out, H, W] slice is spread to the stride and shifted
    into the output canvas, and the taps are summed. Grouped: a
    ``cim.conv2d`` over the input with stride - 1 zeros stuffed between its
    pixels and the weight flipped, whose MACs include the stuffed zeros (up
    to stride_h * stride_w times the useful ones)."""
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    if rank == 3:  # 1-D: NCL -> NC1L
        n, c, length = shape_of(x)
        x = im.add(ReshapeOp(x, (n, c, 1, length)), node)
    elif rank != 4:
        spatial_2d(im, node, rank)
    if not is_static(im, node.input[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op ConvTranspose): a run-time (non-constant) weight is not "
            "supported"
        )
    a = im.attrs(node)
    lift = (lambda v, fill: [fill, *v]) if rank == 3 else (lambda v, fill: list(v))

    def ints(key: str, default: list[int]) -> list[int]:
        return [int(v) for v in cast(list[int], a.get(key, default))]

    w_shape = im._shape(node.input[1])
    k = list(w_shape[2:]) if rank == 4 else [1, w_shape[2]]
    nd = rank - 2
    strides = lift(ints("strides", [1] * nd), 1)
    dil = lift(ints("dilations", [1] * nd), 1)
    out_pad = lift(ints("output_padding", [0] * nd), 0)
    group = int(cast(int, a.get("group", 1)))
    hw = shape_of(x)[2:]
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    span = [(k[i] - 1) * dil[i] + 1 for i in range(2)]
    full = [strides[i] * (hw[i] - 1) + out_pad[i] + span[i] for i in range(2)]
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        want = lift(ints("output_shape", [hw[i] * strides[i] for i in range(2)][-nd:]), 1)
        want = want[-2:]
        total = [full[i] - want[i] for i in range(2)]
        small = [t // 2 for t in total]
        big = [t - t // 2 for t in total]
        begin, end = (small, big) if auto == "SAME_UPPER" else (big, small)
    else:
        pads = ints("pads", [0] * (2 * nd))
        begin, end = lift(pads[:nd], 0), lift(pads[nd:], 0)
    if group == 1:
        y = _col2im(im, node, x, strides, dil, k, begin, end, full)
        if rank == 3:
            _, oc, _, ol = shape_of(y)
            y = im.add(ReshapeOp(y, (shape_of(y)[0], oc, ol)), node)
        return [y]
    # Zero-stuff: [N,C,H,W] -> [N,C,H,1,W,1] -> pad to [N,C,H,sh,W,sw] -> [N,C,H*sh,W*sw].
    n, c, h, w = shape_of(x)
    sh, sw = strides
    if sh > 1 or sw > 1:
        x = im.add(ReshapeOp(x, (n, c, h, 1, w, 1)), node)
        x = im.add(PadOp(x, [0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1]), node)
        x = im.add(ReshapeOp(x, (n, c, h * sh, w * sw)), node)
    # The conv's padding: span - 1 - pad on each side, plus output_padding
    # at the end; the stuffed tail (stride - 1 zeros) counts as end padding.
    conv_pad = [
        span[0] - 1 - begin[0], span[1] - 1 - begin[1],
        span[0] - 1 - end[0] + out_pad[0] - (sh - 1), span[1] - 1 - end[1] + out_pad[1] - (sw - 1),
    ]  # fmt: skip
    if min(conv_pad) < 0:
        hh, ww = shape_of(x)[2:]
        starts = [0, 0, max(0, -conv_pad[0]), max(0, -conv_pad[1])]
        ends = [n, c, hh - max(0, -conv_pad[2]), ww - max(0, -conv_pad[3])]
        x = im.add(SliceOp(x, starts, ends), node)
        conv_pad = [max(0, p) for p in conv_pad]
    ci, co_g = w_shape[0], w_shape[1]
    wv = im._get(node.input[1])
    w_conv_shape = (co_g * group, ci // group, *k)
    if isinstance(wv, np.ndarray):
        w5 = wv.reshape(group, ci // group, co_g, *k)
        wc = np.flip(w5.transpose(0, 2, 1, 3, 4), (3, 4)).reshape(w_conv_shape)
        w_val = im._constant(f"{node.input[1]}.convT", np.ascontiguousarray(wc))
    else:
        w_val = im.b.weight(f"{node.input[1]}.convT", w_conv_shape)
    bias = _bias(im, node.input[2] if len(node.input) > 2 else "")
    y = im.add(
        Conv2dOp(x, w_val, bias, strides=(1, 1), pads=conv_pad, dilations=dil, group=group), node
    )
    if rank == 3:
        _, oc, _, ol = shape_of(y)
        y = im.add(ReshapeOp(y, (n, oc, ol)), node)
    return [y]


def _stuff(im: Importer, node: onnx.NodeProto, x: SSAValue, sh: int, sw: int) -> SSAValue:
    """[N, C, H, W] -> [N, C, H*sh, W*sw]: stride - 1 zeros after each pixel."""
    if sh == 1 and sw == 1:
        return x
    n, c, h, w = shape_of(x)
    x = im.add(ReshapeOp(x, (n, c, h, 1, w, 1)), node)
    x = im.add(PadOp(x, [0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1]), node)
    return im.add(ReshapeOp(x, (n, c, h * sh, w * sw)), node)


def _col2im(
    im: Importer,
    node: onnx.NodeProto,
    x: SSAValue,
    strides: list[int],
    dil: list[int],
    k: list[int],
    begin: list[int],
    end: list[int],
    full: list[int],
) -> SSAValue:
    """Ungrouped ConvTranspose: cim.linear then col2im (see the handler)."""
    n, ci, h, w = shape_of(x)
    kh, kw = k
    w_name = node.input[1]
    co = im._shape(w_name)[1]
    taps = kh * kw
    wv = im._get(w_name)
    if isinstance(wv, np.ndarray):
        # columns ordered (tap, c_out): w2[ci, (i*kw + j)*C_out + co] = w[ci, co, i, j]
        w2 = wv.reshape(ci, co, taps).transpose(0, 2, 1).reshape(ci, taps * co)
        w_val = im._constant(f"{w_name}.col", np.ascontiguousarray(w2))
    else:
        w_val = im.b.weight(f"{w_name}.col", (ci, taps * co))
    rows = im.add(TransposeOp(x, (0, 2, 3, 1)), node)  # [N, H, W, C_in]
    cols = im.add(LinearOp(rows, w_val), node)  # [N, H, W, taps*C_out]
    cols = im.add(TransposeOp(cols, (0, 3, 1, 2)), node)  # [N, taps*C_out, H, W]
    cols = _stuff(im, node, cols, strides[0], strides[1])
    sh_len, sw_len = (h - 1) * strides[0] + 1, (w - 1) * strides[1] + 1
    acc: SSAValue | None = None
    for t in range(taps):
        i, j = divmod(t, kw)
        tap = im.add(SliceOp(cols, [0, t * co, 0, 0], [n, (t + 1) * co, sh_len, sw_len]), node)
        top, left = i * dil[0], j * dil[1]
        pads = [0, 0, top, left, 0, 0, full[0] - top - sh_len, full[1] - left - sw_len]
        if any(pads):
            tap = im.add(PadOp(tap, pads), node)
        acc = tap if acc is None else im.add(ElementwiseOp(ElementwiseFn.ADD, [acc, tap]), node)
    assert acc is not None
    if any(begin) or any(end):
        if min(*begin, *end) < 0:
            acc = im.add(PadOp(acc, [0, 0, max(0, -begin[0]), max(0, -begin[1]),
                                     0, 0, max(0, -end[0]), max(0, -end[1])]), node)  # fmt: skip
            full = [full[0] + max(0, -begin[0]) + max(0, -end[0]),
                    full[1] + max(0, -begin[1]) + max(0, -end[1])]  # fmt: skip
            begin, end = [max(0, b) for b in begin], [max(0, e) for e in end]
        acc = im.add(
            SliceOp(acc, [0, 0, begin[0], begin[1]], [n, co, full[0] - end[0], full[1] - end[1]]),
            node,
        )
    bias = _bias(im, node.input[2] if len(node.input) > 2 else "")
    if bias is not None:
        b4 = im.add(ReshapeOp(bias, (co, 1, 1)), node)
        acc = im.add(ElementwiseOp(ElementwiseFn.ADD, [acc, b4]), node)
    return acc
