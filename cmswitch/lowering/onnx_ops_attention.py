"""ONNX importer handlers: the opset-23 fused transformer operators
(Attention, RotaryEmbedding), decomposed into `cim` operators.

Attention becomes two ``cim.matmul`` (Q K^T and P V, run-time right
operands, as the exporters' unfused graphs give), a ``cim.softmax`` and the
vector ops around them: 3-D inputs split into heads, the KV cache
concatenated (the present_key / present_value outputs), grouped-query heads
repeated, the scale, softcap, boolean or additive mask and causal mask
applied as in ONNX's reference, and rows whose every key is masked zeroed.
The ``qk_matmul_output`` output follows its mode (0-3). The per-batch
``nonpad_kv_seqlen`` form, sliding windows and a ``softmax_precision`` other
than float32 are refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import onnx
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ConcatOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherOp,
    MatmulOp,
    PadOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    SliceOp,
    SoftmaxOp,
    TransposeOp,
    shape_of,
)
from cmswitch.lowering.onnx_common import OnnxImportError, Value, handles, i1

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


def _refuse(node: onnx.NodeProto, why: str) -> OnnxImportError:
    return OnnxImportError(f"node {node.name!r} (op {node.op_type}): {why}")


def _opt(node: onnx.NodeProto, pos: int) -> str:
    return node.input[pos] if len(node.input) > pos else ""


def _scalar(im: Importer, node: onnx.NodeProto, value: float, tag: str) -> SSAValue:
    return im._constant(f"{node.output[0]}.{tag}", np.array(value, np.float32))


def _ew(
    im: Importer, node: onnx.NodeProto, fn: ElementwiseFn, *xs: SSAValue, **kw: object
) -> SSAValue:
    return im.add(ElementwiseOp(fn, list(xs), **kw), node)  # type: ignore[arg-type]


def _heads(im: Importer, node: onnx.NodeProto, x: SSAValue, heads: int | None) -> SSAValue:
    """[B, S, H*D] -> [B, H, S, D] (4-D inputs pass through)."""
    shape = shape_of(x)
    if len(shape) == 4:
        return x
    if len(shape) != 3 or not heads or shape[2] % heads:
        raise _refuse(node, f"input of shape {list(shape)} with {heads} heads")
    b, s, hidden = shape
    x = im.add(ReshapeOp(x, (b, s, heads, hidden // heads)), node)
    return im.add(TransposeOp(x, (0, 2, 1, 3)), node)


def _repeat_heads(im: Importer, node: onnx.NodeProto, x: SSAValue, reps: int) -> SSAValue:
    """[B, Hkv, S, D] -> [B, Hkv*reps, S, D], each head repeated in place."""
    if reps == 1:
        return x
    b, h, s, d = shape_of(x)
    x = im.add(ReshapeOp(x, (b, h, 1, s, d)), node)
    x = im.add(BroadcastOp(x, (b, h, reps, s, d)), node)
    return im.add(ReshapeOp(x, (b, h * reps, s, d)), node)


@handles("Attention")
def _attention(im: Importer, node: onnx.NodeProto) -> list[Value]:
    a = im.attrs(node)
    if _opt(node, 6):
        raise _refuse(node, "nonpad_kv_seqlen (external KV cache) is not supported")
    if (
        int(cast(int, a.get("left_window_size", -1))) >= 0
        or int(cast(int, a.get("right_window_size", -1))) >= 0
    ):
        raise _refuse(node, "sliding-window attention is not supported")
    prec = int(cast(int, a.get("softmax_precision", onnx.TensorProto.FLOAT)))
    if prec not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE):
        raise _refuse(node, "softmax_precision other than float32 is not supported")
    mode = int(cast(int, a.get("qk_matmul_output_mode", 0)))
    if mode not in (0, 1, 2, 3):
        raise _refuse(node, f"qk_matmul_output_mode {mode}")
    q_in = im._ssa(node.input[0])
    rank = len(shape_of(q_in))
    qh = cast(int | None, a.get("q_num_heads"))
    kvh = cast(int | None, a.get("kv_num_heads"))
    q = _heads(im, node, q_in, qh)
    k = _heads(im, node, im._ssa(node.input[1]), kvh)
    v = _heads(im, node, im._ssa(node.input[2]), kvh)
    past_k, past_v = _opt(node, 4), _opt(node, 5)
    if bool(past_k) != bool(past_v):
        raise _refuse(node, "past_key and past_value must be given together")
    past = im._shape(past_k)[2] if past_k else 0
    if past_k:
        k = im.add(ConcatOp([im._ssa(past_k), k], 2), node)
        v = im.add(ConcatOp([im._ssa(past_v), v], 2), node)
    present_k, present_v = k, v
    b, hq, sq, d = shape_of(q)
    hk, skv = shape_of(k)[1], shape_of(k)[2]
    if hq % hk or shape_of(v)[1] != hk:
        raise _refuse(node, f"{hq} query heads over {hk} key/value heads")
    k = _repeat_heads(im, node, k, hq // hk)
    v = _repeat_heads(im, node, v, hq // hk)

    scale = cast(float | None, a.get("scale"))
    root = np.float32(math.sqrt(1.0 / math.sqrt(d) if scale is None else float(scale)))
    sc = _scalar(im, node, float(root), "scale")
    kt = im.add(TransposeOp(_ew(im, node, ElementwiseFn.MUL, k, sc), (0, 1, 3, 2)), node)
    scores = im.add(MatmulOp(_ew(im, node, ElementwiseFn.MUL, q, sc), kt), node)
    softcap = float(cast(float, a.get("softcap", 0.0)))
    if softcap > 0:
        cap = _scalar(im, node, softcap, "softcap")
        t = _ew(im, node, ElementwiseFn.TANH, _ew(im, node, ElementwiseFn.DIV, scores, cap))
        scores = _ew(im, node, ElementwiseFn.MUL, t, cap)

    bias = _bias(im, node, sq, skv, past)
    qk = scores  # qk_matmul_output, modes 0 and 1: the (softcapped) product
    if bias is not None:
        scores = _ew(im, node, ElementwiseFn.ADD, scores, bias)
        if mode == 2:
            qk = scores
    p = im.add(SoftmaxOp(scores, len(shape_of(scores)) - 1), node)
    if bias is not None:
        # Rows whose every key is masked attend to nothing (ONNX: zeros).
        top = im.add(ReduceOp(ReduceFn.MAX, bias, [len(shape_of(bias)) - 1], True), node)
        inf = _ew(im, node, ElementwiseFn.ISINF, top, element_type=i1)
        dead = _ew(im, node, ElementwiseFn.AND, inf, _ew(
            im, node, ElementwiseFn.LESS, top, _scalar(im, node, 0.0, "zero"), element_type=i1
        ), element_type=i1)  # fmt: skip
        p = _ew(im, node, ElementwiseFn.WHERE, dead, _scalar(im, node, 0.0, "zero"), p)
    if mode == 3:
        qk = p
    y = im.add(MatmulOp(p, v), node)
    if rank == 3:
        y = im.add(TransposeOp(y, (0, 2, 1, 3)), node)
        y = im.add(ReshapeOp(y, (b, sq, hq * shape_of(v)[3])), node)
    return [y, present_k, present_v, qk]


def _bias(im: Importer, node: onnx.NodeProto, sq: int, skv: int, offset: int) -> SSAValue | None:
    """The additive attention bias ([..., sq, skv], 0 or -inf / the float
    mask), from attn_mask and is_causal, or None."""
    causal = bool(int(cast(int, im.attrs(node).get("is_causal", 0))))
    bias: SSAValue | None = None
    mask_name = _opt(node, 3)
    if mask_name:
        mask = im._ssa(mask_name)
        mshape = shape_of(mask)
        is_bool = cast(TensorType, mask.type).element_type == i1
        if mshape[-1] < skv:  # pad the key axis: masked
            pads = [0] * (2 * len(mshape))
            pads[2 * len(mshape) - 1] = skv - mshape[-1]
            mask = im.add(PadOp(mask, pads, 0.0 if is_bool else -math.inf), node)
        if is_bool:
            zero = _scalar(im, node, 0.0, "zero")
            ninf = _scalar(im, node, -math.inf, "ninf")
            mask = _ew(im, node, ElementwiseFn.WHERE, mask, zero, ninf)
        bias = mask
    if causal:
        allowed = np.arange(skv)[None, :] <= np.arange(sq)[:, None] + offset
        c = im._constant(
            f"{node.output[0]}.causal", np.where(allowed, 0.0, -np.inf).astype(np.float32)
        )
        bias = c if bias is None else _ew(im, node, ElementwiseFn.ADD, bias, c)
    return bias


@handles("RotaryEmbedding")
def _rotary(im: Importer, node: onnx.NodeProto) -> list[Value]:
    """out = [x1 cos - x2 sin, x1 sin + x2 cos, x_pass] on the first
    rotary_embedding_dim channels of each head, halves or interleaved."""
    x_in = im._ssa(node.input[0])
    shape = shape_of(x_in)
    a = im.attrs(node)
    heads = int(cast(int, a.get("num_heads", 0)))
    interleaved = bool(int(cast(int, a.get("interleaved", 0))))
    if len(shape) == 4:
        x = im.add(TransposeOp(x_in, (0, 2, 1, 3)), node)  # [B, S, H, D]
    elif len(shape) == 3 and heads and shape[2] % heads == 0:
        x = im.add(ReshapeOp(x_in, (shape[0], shape[1], heads, shape[2] // heads)), node)
    else:
        raise _refuse(node, f"input of shape {list(shape)} with num_heads = {heads}")
    b, s, h, d = shape_of(x)
    rot = int(cast(int, a.get("rotary_embedding_dim", 0))) or d
    half = rot // 2
    cos, sin = im._ssa(node.input[1]), im._ssa(node.input[2])
    pos = _opt(node, 3)
    if pos:
        idx = im._get(pos)
        ids = (
            im._constant(pos, idx.astype(np.int64)) if isinstance(idx, np.ndarray) else im._ssa(pos)
        )
        cos = im.add(GatherOp(cos, ids, 0), node)
        sin = im.add(GatherOp(sin, ids, 0), node)
    if shape_of(cos)[-1] != half:
        raise _refuse(node, f"cos_cache's last dimension must be {half}")
    cshape = shape_of(cos)
    cos = im.add(ReshapeOp(cos, (*cshape[:-1], 1, half)), node)
    sin = im.add(ReshapeOp(sin, (*cshape[:-1], 1, half)), node)

    def part(start: int, end: int, step: int) -> SSAValue:
        return im.add(SliceOp(x, [0, 0, 0, start], [b, s, h, end], [1, 1, 1, step]), node)

    if interleaved:
        x1, x2 = part(0, rot, 2), part(1, rot, 2)
    else:
        x1, x2 = part(0, half, 1), part(half, rot, 1)
    mul, sub, add = ElementwiseFn.MUL, ElementwiseFn.SUB, ElementwiseFn.ADD
    real = _ew(im, node, sub, _ew(im, node, mul, cos, x1), _ew(im, node, mul, sin, x2))
    imag = _ew(im, node, add, _ew(im, node, mul, sin, x1), _ew(im, node, mul, cos, x2))
    if interleaved:
        real = im.add(ReshapeOp(real, (b, s, h, half, 1)), node)
        imag = im.add(ReshapeOp(imag, (b, s, h, half, 1)), node)
        out = im.add(ReshapeOp(im.add(ConcatOp([real, imag], 4), node), (b, s, h, rot)), node)
    else:
        out = im.add(ConcatOp([real, imag], 3), node)
    if rot < d:
        out = im.add(ConcatOp([out, part(rot, d, 1)], 3), node)
    if len(shape) == 4:
        return [im.add(TransposeOp(out, (0, 2, 1, 3)), node)]
    return [im.add(ReshapeOp(out, shape), node)]
