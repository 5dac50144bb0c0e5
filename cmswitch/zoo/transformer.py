"""Transformer models of the zoo: BERT (encoder), OPT and LLaMA-2 (decoders).

Shapes follow the public Hugging Face configurations. Activations flow as
``[batch * tokens, d]`` through the projections (one ``cim.linear`` each, so
M = batch * tokens) and as ``[batch, heads, tokens, head_dim]`` through
attention, where Q K^T and P V are ``cim.matmul`` ops with one group per
(batch, head).

Two phases:

* ``prefill``: the whole prompt of `seq` tokens; decoders add a causal mask.
* ``decode``: one new token per sequence attending to a KV cache of `seq`
  earlier tokens (so seq + 1 keys). The cache is a function input per layer
  (``past.<i>.key`` / ``past.<i>.value``, ``[batch, heads, seq, head_dim]``);
  the new key and value are concatenated onto it and returned after the
  logits, two outputs per layer.

Model weights are declared without data. Constants that are functions of the
shapes alone (the attention scale, the causal mask, the rotary cos/sin tables)
are given their data, so a functional simulation with real weights is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from cmswitch.builder import GraphBuilder
from cmswitch.dialects.cim import (
    ConcatOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherOp,
    LayerNormOp,
    LinearOp,
    MatmulOp,
    ReshapeOp,
    RMSNormOp,
    SliceOp,
    SoftmaxOp,
    TransposeOp,
    shape_of,
)

Arch = Literal["bert", "opt", "llama"]


@dataclass(frozen=True)
class TransformerConfig:
    """The shape of one transformer model."""

    arch: Arch
    layers: int
    d: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    """Learned position-table rows (BERT, OPT); grown if the sequence needs more."""
    norm_eps: float

    @property
    def head_dim(self) -> int:
        return self.d // self.heads

    @property
    def causal(self) -> bool:
        return self.arch != "bert"


CONFIGS: dict[str, TransformerConfig] = {
    "bert-large": TransformerConfig("bert", 24, 1024, 16, 4096, 30522, 512, 1e-12),
    "opt-6.7b": TransformerConfig("opt", 32, 4096, 32, 16384, 50272, 2050, 1e-5),
    "opt-13b": TransformerConfig("opt", 40, 5120, 40, 20480, 50272, 2050, 1e-5),
    "llama2-7b": TransformerConfig("llama", 32, 4096, 32, 11008, 32000, 4096, 1e-5),
    "tiny-bert": TransformerConfig("bert", 2, 64, 4, 256, 100, 512, 1e-12),
    "tiny-opt": TransformerConfig("opt", 2, 64, 4, 256, 100, 2050, 1e-5),
    "tiny-llama": TransformerConfig("llama", 2, 64, 4, 172, 100, 4096, 1e-5),
}

_OPT_POSITION_OFFSET = 2
"""OPT's learned positions start at row 2 (Hugging Face OPTLearnedPositionalEmbedding)."""


class _Transformer:
    def __init__(self, b: GraphBuilder, cfg: TransformerConfig, batch: int, seq: int, decode: bool):
        self.b, self.cfg, self.batch = b, cfg, batch
        self.decode = decode
        self.tokens = 1 if decode else seq  # new tokens this step
        self.past = seq if decode else 0  # cached tokens
        self.rows = batch * self.tokens

    # ------------------------------------------------------------ helpers
    def linear(self, x: SSAValue, name: str, out: int, bias: bool) -> SSAValue:
        w = self.b.weight(f"{name}.weight", (shape_of(x)[-1], out))
        bv = self.b.weight(f"{name}.bias", (out,)) if bias else None
        return self.b.add(LinearOp(x, w, bv), label=name)

    def ew(self, fn: ElementwiseFn, *xs: SSAValue) -> SSAValue:
        return self.b.add(ElementwiseOp(fn, list(xs)))

    def norm(self, x: SSAValue, name: str) -> SSAValue:
        d = self.cfg.d
        if self.cfg.arch == "llama":
            scale = self.b.weight(f"{name}.weight", (d,))
            return self.b.add(RMSNormOp(x, scale, self.cfg.norm_eps))
        scale = self.b.weight(f"{name}.weight", (d,))
        bias = self.b.weight(f"{name}.bias", (d,))
        axis = len(shape_of(x)) - 1
        return self.b.add(LayerNormOp(x, scale, bias, axis, self.cfg.norm_eps))

    def rows_of(self, table: SSAValue, start: int, count: int) -> SSAValue:
        _, d = shape_of(table)
        return self.b.add(SliceOp(table, (start, 0), (start + count, d), (1, 1)))

    def split_heads(self, x: SSAValue) -> SSAValue:
        c = self.cfg
        x = self.b.add(ReshapeOp(x, (self.batch, self.tokens, c.heads, c.head_dim)))
        return self.b.add(TransposeOp(x, (0, 2, 1, 3)))

    # --------------------------------------------------------- embeddings
    def embeddings(self) -> SSAValue:
        c, b = self.cfg, self.b
        ids = b.input("input_ids", (self.batch, self.tokens), elem=i64)
        table = b.weight("embed_tokens.weight", (c.vocab, c.d))
        x = b.add(GatherOp(table, ids, 0))  # [batch, tokens, d]
        if c.arch in ("bert", "opt"):
            offset = _OPT_POSITION_OFFSET if c.arch == "opt" else 0
            first = self.past + offset
            rows = max(c.max_positions, first + self.tokens)
            pos = b.weight("embed_positions.weight", (rows, c.d))
            x = self.ew(ElementwiseFn.ADD, x, self.rows_of(pos, first, self.tokens))
        if c.arch == "bert":
            # All token-type ids are 0: add row 0 of the token-type table.
            types = b.weight("token_type_embeddings.weight", (2, c.d))
            x = self.ew(ElementwiseFn.ADD, x, self.rows_of(types, 0, 1))
        x = b.add(ReshapeOp(x, (self.rows, c.d)))
        if c.arch == "bert":
            x = self.norm(x, "embeddings.layernorm")
        return x

    def shared_constants(self) -> dict[str, SSAValue]:
        """Shape-derived constants used by every layer, defined once."""
        c, b = self.cfg, self.b
        out = {
            "scale": b.constant(
                "attn.scale", np.array([1.0 / math.sqrt(c.head_dim)], dtype=np.float32)
            )
        }
        if c.causal and self.tokens > 1:
            # Query t sees keys 0..past+t; later keys get -inf (a large negative).
            q = np.arange(self.tokens)[:, None] + self.past
            k = np.arange(self.past + self.tokens)[None, :]
            mask = np.where(k <= q, 0.0, -1e9).astype(np.float32)
            out["mask"] = b.constant("attn.causal_mask", mask[None, None])
        if c.arch == "llama":
            half = c.head_dim // 2
            inv_freq = 1.0 / (10000.0 ** (np.arange(half, dtype=np.float64) * 2 / c.head_dim))
            pos = np.arange(self.past, self.past + self.tokens, dtype=np.float64)
            angles = np.outer(pos, inv_freq)
            angles = np.concatenate([angles, angles], axis=1)  # [tokens, head_dim]
            out["cos"] = b.constant("rope.cos", np.cos(angles).astype(np.float32))
            out["sin"] = b.constant("rope.sin", np.sin(angles).astype(np.float32))
        return out

    # ---------------------------------------------------------- attention
    def rotary(self, x: SSAValue, consts: dict[str, SSAValue]) -> SSAValue:
        bsz, h, t, dh = shape_of(x)
        half = dh // 2
        x1 = self.b.add(SliceOp(x, (0, 0, 0, 0), (bsz, h, t, half), (1, 1, 1, 1)))
        x2 = self.b.add(SliceOp(x, (0, 0, 0, half), (bsz, h, t, dh), (1, 1, 1, 1)))
        rotated = self.b.add(ConcatOp([self.ew(ElementwiseFn.NEG, x2), x1], 3))
        return self.ew(
            ElementwiseFn.ADD,
            self.ew(ElementwiseFn.MUL, x, consts["cos"]),
            self.ew(ElementwiseFn.MUL, rotated, consts["sin"]),
        )

    def attention(
        self, x: SSAValue, i: int, consts: dict[str, SSAValue], new_kv: list[SSAValue]
    ) -> SSAValue:
        c, b = self.cfg, self.b
        name = f"h.{i}.attn"
        bias = c.arch != "llama"
        q = self.split_heads(self.linear(x, f"{name}.q_proj", c.d, bias))
        k = self.split_heads(self.linear(x, f"{name}.k_proj", c.d, bias))
        v = self.split_heads(self.linear(x, f"{name}.v_proj", c.d, bias))
        if c.arch == "llama":
            q, k = self.rotary(q, consts), self.rotary(k, consts)
        if self.decode:
            cache = (self.batch, c.heads, self.past, c.head_dim)
            new_kv += [k, v]
            k = b.add(ConcatOp([b.input(f"past.{i}.key", cache), k], 2))
            v = b.add(ConcatOp([b.input(f"past.{i}.value", cache), v], 2))
        kt = b.add(TransposeOp(k, (0, 1, 3, 2)))  # [batch, heads, head_dim, keys]
        s = b.add(MatmulOp(q, kt), label=f"{name}.scores")
        s = self.ew(ElementwiseFn.MUL, s, consts["scale"])
        if "mask" in consts:
            s = self.ew(ElementwiseFn.ADD, s, consts["mask"])
        p = b.add(SoftmaxOp(s, 3))
        o = b.add(MatmulOp(p, v), label=f"{name}.context")  # [batch, heads, tokens, hd]
        o = b.add(TransposeOp(o, (0, 2, 1, 3)))
        o = b.add(ReshapeOp(o, (self.rows, c.d)))
        return self.linear(o, f"{name}.o_proj", c.d, bias)

    def mlp(self, x: SSAValue, i: int) -> SSAValue:
        c = self.cfg
        name = f"h.{i}.mlp"
        if c.arch == "llama":
            gate = self.linear(x, f"{name}.gate_proj", c.ffn, bias=False)
            up = self.linear(x, f"{name}.up_proj", c.ffn, bias=False)
            y = self.ew(ElementwiseFn.MUL, self.ew(ElementwiseFn.SILU, gate), up)
            return self.linear(y, f"{name}.down_proj", c.d, bias=False)
        act = ElementwiseFn.GELU if c.arch == "bert" else ElementwiseFn.RELU
        y = self.ew(act, self.linear(x, f"{name}.fc1", c.ffn, bias=True))
        return self.linear(y, f"{name}.fc2", c.d, bias=True)

    # -------------------------------------------------------------- model
    def build(self) -> None:
        c, b = self.cfg, self.b
        x = self.embeddings()
        consts = self.shared_constants()
        new_kv: list[SSAValue] = []
        add = ElementwiseFn.ADD
        for i in range(c.layers):
            if c.arch == "bert":  # post-norm
                x = self.norm(
                    self.ew(add, x, self.attention(x, i, consts, new_kv)), f"h.{i}.attn_norm"
                )
                x = self.norm(self.ew(add, x, self.mlp(x, i)), f"h.{i}.mlp_norm")
            else:  # pre-norm
                a = self.attention(self.norm(x, f"h.{i}.attn_norm"), i, consts, new_kv)
                x = self.ew(add, x, a)
                x = self.ew(add, x, self.mlp(self.norm(x, f"h.{i}.mlp_norm"), i))
        if c.arch == "bert":
            # BertForMaskedLM head: dense + GELU + LayerNorm, then the decoder.
            x = self.ew(ElementwiseFn.GELU, self.linear(x, "cls.transform", c.d, bias=True))
            x = self.norm(x, "cls.transform.layernorm")
        else:
            x = self.norm(x, "final_norm")
        logits = self.linear(x, "lm_head", c.vocab, bias=c.arch == "bert")
        kv_names = [
            f"present.{i // 2}.{'key' if i % 2 == 0 else 'value'}" for i in range(len(new_kv))
        ]
        b.output(logits, *new_kv, names=["logits", *kv_names])


def build_transformer(
    b: GraphBuilder, cfg: TransformerConfig, batch: int, seq: int, decode: bool
) -> None:
    _Transformer(b, cfg, batch, seq, decode).build()
