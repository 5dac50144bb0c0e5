"""ONNX importer handler: Einsum, in its matmul-shaped forms.

Two operands: every subscript letter is a batch letter (both operands and the
output), a contracted one (both operands, not the output), a free one of
either operand (that operand and the output), or summed out (one operand
only, reduced first). The operands are transposed to ``[batch, M, K]`` and
``[batch, K, N]`` and multiplied as one CIM operator (``cim.linear`` when the
right operand is a constant without batch letters, else ``cim.matmul``), and
the product is reshaped and transposed into the output's order. One operand:
a transpose and/or a reduction. Repeated letters within one operand
(diagonals, traces) and more than two operands are refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import onnx
from xdsl.ir import SSAValue

from cmswitch.dialects.cim import (
    LinearOp,
    MatmulOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    TransposeOp,
    is_static_value,
    shape_of,
)
from cmswitch.lowering.onnx_common import OnnxImportError, Value, handles

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import Importer


def _refuse(node: onnx.NodeProto, why: str) -> OnnxImportError:
    return OnnxImportError(f"node {node.name!r} (op Einsum): {why}")


def parse_equation(equation: str, ranks: list[int], node: onnx.NodeProto) -> tuple[list[str], str]:
    """Operand subscripts and output subscript, with ``...`` expanded into
    upper-case letters and an implicit output made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise _refuse(node, f"equation {equation!r} has {len(terms)} operands, got {len(ranks)}")
    ell_rank = 0
    for t, r in zip(terms, ranks, strict=True):
        if "..." in t:
            ell_rank = max(ell_rank, r - (len(t) - 3))
    ell = "".join(chr(ord("A") + i) for i in range(ell_rank))
    expanded = []
    for t, r in zip(terms, ranks, strict=True):
        if "..." in t:
            t = t.replace("...", ell[ell_rank - (r - (len(t) - 3)) :])
        if len(t) != r or not (t.isalpha() or not t):
            raise _refuse(node, f"subscripts {t!r} do not match an operand of rank {r}")
        if len(set(t)) != len(t):
            raise _refuse(node, f"repeated subscripts in {t!r} (diagonals) are not supported")
        expanded.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:  # implicit: ellipsis letters, then letters seen once, alphabetically
        counts: dict[str, int] = {}
        for t in terms:
            for ch in t.replace("...", ""):
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, n in counts.items() if n == 1))
    if len(set(out)) != len(out) or any(ch not in "".join(expanded) for ch in out):
        raise _refuse(node, f"bad output subscripts in {equation!r}")
    return expanded, out


def _permute(im: Importer, node: onnx.NodeProto, x: SSAValue, have: str, want: str) -> SSAValue:
    if have == want:
        return x
    return im.add(TransposeOp(x, [have.index(ch) for ch in want]), node)


def _sum_out(
    im: Importer, node: onnx.NodeProto, x: SSAValue, sub: str, keep: set[str]
) -> tuple[SSAValue, str]:
    axes = [k for k, ch in enumerate(sub) if ch not in keep]
    if not axes:
        return x, sub
    y = im.add(ReduceOp(ReduceFn.SUM, x, axes, False), node)
    return y, "".join(ch for ch in sub if ch in keep)


@handles("Einsum")
def _einsum(im: Importer, node: onnx.NodeProto) -> list[Value]:
    eq = im.attrs(node)["equation"]
    eq = eq.decode() if isinstance(eq, bytes) else str(eq)
    xs = [im._ssa(n) for n in node.input]
    subs, out = parse_equation(eq, [len(shape_of(x)) for x in xs], node)
    if len(xs) == 1:
        x, sub = _sum_out(im, node, xs[0], subs[0], set(out))
        return [_permute(im, node, x, sub, out)]
    if len(xs) != 2:
        raise _refuse(node, f"{len(xs)} operands (at most 2 are supported)")
    a, b = xs
    sa, sb = subs
    a, sa = _sum_out(im, node, a, sa, set(sb) | set(out))
    b, sb = _sum_out(im, node, b, sb, set(sa) | set(out))
    dims = {ch: d for x, s in ((a, sa), (b, sb)) for ch, d in zip(s, shape_of(x), strict=True)}
    for x, s in ((a, sa), (b, sb)):
        for ch, d in zip(s, shape_of(x), strict=True):
            if dims[ch] != d:
                raise _refuse(node, f"subscript {ch!r} has sizes {dims[ch]} and {d}")
    batch = "".join(ch for ch in sa if ch in sb and ch in out)
    contract = "".join(ch for ch in sa if ch in sb and ch not in out)
    free_a = "".join(ch for ch in sa if ch not in sb)
    free_b = "".join(ch for ch in sb if ch not in sa)
    size = lambda s: math.prod(dims[ch] for ch in s)  # noqa: E731
    bshape = [dims[ch] for ch in batch]
    a = _permute(im, node, a, sa, batch + free_a + contract)
    a = im.add(ReshapeOp(a, (*bshape, size(free_a), size(contract))), node)
    b = _permute(im, node, b, sb, batch + contract + free_b)
    b = im.add(ReshapeOp(b, (*bshape, size(contract), size(free_b))), node)
    if not batch and is_static_value(b):
        y = im.add(LinearOp(a, b), node)
    else:
        y = im.add(MatmulOp(a, b), node)
    have = batch + free_a + free_b
    y = im.add(ReshapeOp(y, [dims[ch] for ch in have]), node)
    return [_permute(im, node, cast(SSAValue, y), have, out)]
