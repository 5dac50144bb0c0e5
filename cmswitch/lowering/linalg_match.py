"""Recognising what a ``linalg.generic`` computes from its indexing maps and
its body (used by :mod:`cmswitch.lowering.linalg_to_cim`).

Upstream pipelines hand us named ops generalised into ``linalg.generic``
(xDSL 0.74 cannot parse ``batch_matmul`` or the depthwise convolutions), so
contractions, convolutions and pooling windows are found structurally:

* a **contraction** has a multiply-accumulate body (``out + a * b``) and
  projected-permutation maps; its loops split into batch, M, N and K dims by
  which operands use them;
* a **convolution** has the same body, but the input's spatial results are
  ``p * stride + r * dilation`` of an output (parallel) loop and a filter
  (reduction) loop;
* a **pooling window** has one real input indexed the same way and a
  ``max``/``add`` accumulation body.

Everything here reads IR and returns plain data; nothing builds ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)


class NotLinear(ValueError):
    """An indexing expression that is not a linear combination of loops."""


def linear_terms(expr: AffineExpr) -> tuple[dict[int, int], int]:
    """``expr`` as ({loop: coefficient}, constant); raises NotLinear for
    mod / floordiv / ceildiv / symbols / products of loops."""
    if isinstance(expr, AffineDimExpr):
        return {expr.position: 1}, 0
    if isinstance(expr, AffineConstantExpr):
        return {}, expr.value
    if isinstance(expr, AffineBinaryOpExpr):
        lhs, lc = linear_terms(expr.lhs)
        rhs, rc = linear_terms(expr.rhs)
        if expr.kind is AffineBinaryOpKind.Add:
            out = dict(lhs)
            for d, c in rhs.items():
                out[d] = out.get(d, 0) + c
            return {d: c for d, c in out.items() if c}, lc + rc
        if expr.kind is AffineBinaryOpKind.Mul:
            if not lhs:
                return {d: c * lc for d, c in rhs.items() if c * lc}, lc * rc
            if not rhs:
                return {d: c * rc for d, c in lhs.items() if c * rc}, lc * rc
    raise NotLinear(str(expr))


def maps_of(op: Operation) -> list[AffineMap]:
    """The indexing maps of a generic or of a named structured op."""
    getter = getattr(op, "get_indexing_maps", None)
    attr = getter() if getter is not None else op.properties.get("indexing_maps")
    assert isinstance(attr, ArrayAttr)
    return [m.data for m in attr.data if isinstance(m, AffineMapAttr)]


def iterators_of(op: Operation) -> list[str]:
    """``parallel`` / ``reduction`` per loop; a named op's reduction loops
    are those its output does not index."""
    attr = op.properties.get("iterator_types")
    if isinstance(attr, ArrayAttr):
        return [str(getattr(it, "data", it)) for it in attr.data]
    out = maps_of(op)[-1]
    used = out.used_dims()
    return ["parallel" if d in used else "reduction" for d in range(out.num_dims)]


def simple_dims(amap: AffineMap) -> list[int | None] | None:
    """The loops a projected-permutation map reads, one per result (``None``
    for a constant-0 result); ``None`` if the map is anything else (a
    constant other than 0, a compound expression, a repeated loop)."""
    dims: list[int | None] = []
    for expr in amap.results:
        if isinstance(expr, AffineDimExpr):
            if expr.position in dims:
                return None
            dims.append(expr.position)
        elif isinstance(expr, AffineConstantExpr) and expr.value == 0:
            dims.append(None)
        else:
            return None
    return dims


def loop_sizes(maps: Sequence[AffineMap], shapes: Sequence[Sequence[int]]) -> list[int]:
    """Each loop's trip count, read from the operands that index by it
    directly (every loop of a well-formed generic has one)."""
    n = maps[0].num_dims
    sizes: list[int | None] = [None] * n
    for amap, shape in zip(maps, shapes, strict=True):
        for expr, size in zip(amap.results, shape, strict=True):
            if isinstance(expr, AffineDimExpr) and sizes[expr.position] is None:
                sizes[expr.position] = size
    if any(s is None for s in sizes):
        raise NotLinear("a loop is not indexed directly by any operand")
    return [int(s) for s in sizes if s is not None]


# --------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------


def yielded(block: Block) -> list[SSAValue]:
    last = block.last_op
    assert last is not None
    return list(last.operands)


def _arg_index(value: SSAValue, block: Block) -> int | None:
    if isinstance(value, BlockArgument) and value.block is block:
        return value.index
    return None


def accumulation(block: Block, result: int, n_inputs: int) -> tuple[str, SSAValue] | None:
    """For output `result`, ``(combiner op name, accumulated value)`` when the
    body yields ``combine(x, out)`` (or ``combine(out, x)``) with `x` not
    reading any output; combiners are arith add / mul / max / min ops."""
    value = yielded(block)[result]
    op = value.owner
    if not isinstance(op, Operation) or len(op.operands) != 2:
        return None
    if op.name not in _COMBINERS:
        return None
    out_arg = block.args[n_inputs + result]
    a, b = op.operands
    if b is out_arg and not _reads_outputs(a, block, n_inputs):
        return op.name, a
    if a is out_arg and not _reads_outputs(b, block, n_inputs):
        return op.name, b
    return None


_COMBINERS = frozenset(
    {
        "arith.addf", "arith.addi", "arith.mulf", "arith.muli",
        "arith.maximumf", "arith.maxnumf", "arith.minimumf", "arith.minnumf",
        "arith.maxsi", "arith.minsi",
    }
)  # fmt: skip


def _reads_outputs(value: SSAValue, block: Block, n_inputs: int) -> bool:
    seen: set[int] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        idx = _arg_index(v, block)
        if idx is not None:
            if idx >= n_inputs:
                return True
            continue
        owner = v.owner
        if isinstance(owner, Operation) and owner.parent_block() is block:
            stack.extend(owner.operands)
    return False


def product_of_inputs(value: SSAValue, block: Block) -> tuple[int, int] | None:
    """``(i, j)`` when `value` is ``in_i * in_j`` (float or int multiply)."""
    op = value.owner
    if not isinstance(op, Operation) or op.name not in ("arith.mulf", "arith.muli"):
        return None
    i, j = (_arg_index(v, block) for v in op.operands)
    if i is None or j is None or i == j:
        return None
    return i, j


# --------------------------------------------------------------------------
# Contractions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Contraction:
    """``out[batch, m, n] += a[batch, m, k] * b[batch, k, n]`` up to the
    order of each operand's dims; each role holds loop indices."""

    a: int
    """Which input is the left operand (it uses the M loops)."""
    b: int
    batch: tuple[int, ...]
    m: tuple[int, ...]
    n: tuple[int, ...]
    k: tuple[int, ...]


def match_contraction(op: Operation, n_inputs: int) -> Contraction | None:
    if n_inputs != 2 or len(op.results) != 1:
        return None
    block = op.regions[0].block
    acc = accumulation(block, 0, n_inputs)
    if acc is None or acc[0] not in ("arith.addf", "arith.addi"):
        return None
    pair = product_of_inputs(acc[1], block)
    if pair is None:
        return None
    maps = maps_of(op)
    dims = [simple_dims(m) for m in maps]
    if any(d is None or None in d for d in dims):
        return None
    a_d, b_d, o_d = (set(d) for d in dims if d is not None)
    iters = iterators_of(op)
    roles: dict[str, list[int]] = {"batch": [], "m": [], "n": [], "k": []}
    for loop in range(len(iters)):
        where = (loop in a_d, loop in b_d, loop in o_d)
        role = {
            (True, True, True): "batch",
            (True, False, True): "m",
            (False, True, True): "n",
            (True, True, False): "k",
        }.get(where)
        if role is None or (role == "k") != (iters[loop] == "reduction"):
            return None
        roles[role].append(loop)
    if not roles["k"]:
        return None
    a, b = pair
    if not roles["m"] and roles["n"] and a == 1:
        a, b = b, a
    # `a` is the operand holding the m loops (the direct importer's lhs).
    if roles["m"] and not set(roles["m"]) <= (a_d if a == 0 else b_d):
        a, b = b, a
    return Contraction(a, b, *(tuple(roles[r]) for r in ("batch", "m", "n", "k")))


# --------------------------------------------------------------------------
# Convolutions and pooling windows
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The spatial results ``p * stride + r * dilation`` of an input map
    (one for 1-D, two for 2-D windows), in map order."""

    spatial_pos: tuple[int, ...]
    """Positions of the spatial results in the input map."""
    out_loops: tuple[int, ...]
    win_loops: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]


def match_window(amap: AffineMap, iters: Sequence[str]) -> Window | None:
    """The sliding window of an input map: one or two compound results,
    each one parallel loop times a stride plus one reduction loop times a
    dilation, no offsets, at the end of the map."""
    found: list[tuple[int, int, int, int, int]] = []
    for pos, expr in enumerate(amap.results):
        if isinstance(expr, AffineDimExpr | AffineConstantExpr):
            continue
        try:
            terms, const = linear_terms(expr)
        except NotLinear:
            return None
        par = [(d, c) for d, c in terms.items() if iters[d] == "parallel"]
        red = [(d, c) for d, c in terms.items() if iters[d] == "reduction"]
        if const or len(par) != 1 or len(red) != 1 or par[0][1] < 1 or red[0][1] < 1:
            return None
        found.append((pos, par[0][0], red[0][0], par[0][1], red[0][1]))
    rank = len(amap.results)
    if len(found) not in (1, 2) or [f[0] for f in found] != list(range(rank - len(found), rank)):
        return None
    return Window(*(tuple(f[k] for f in found) for k in range(5)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Convolution:
    """A 2-D NCHW convolution, grouped or not.

    Loop roles: `n` batch, `g` group (present for grouped and depthwise
    convolutions), `f` output channels per group, `c` input channels per
    group; the window gives the spatial loops.
    """

    input: int
    filter: int
    window: Window
    n: int
    g: int | None
    f: int | None
    c: int | None


def match_convolution(op: Operation, n_inputs: int) -> Convolution | None:
    if n_inputs != 2 or len(op.results) != 1:
        return None
    block = op.regions[0].block
    acc = accumulation(block, 0, n_inputs)
    if acc is None or acc[0] != "arith.addf" or product_of_inputs(acc[1], block) is None:
        return None
    maps = maps_of(op)
    iters = iterators_of(op)
    for x, w in ((0, 1), (1, 0)):
        win = match_window(maps[x], iters)
        if win is None:
            continue
        conv = _conv_roles(maps[x], maps[w], maps[2], win, x, w)
        if conv is not None:
            return conv
    return None


def _conv_roles(
    x_map: AffineMap, w_map: AffineMap, o_map: AffineMap, win: Window, x: int, w: int
) -> Convolution | None:
    w_all, o_all = simple_dims(w_map), simple_dims(o_map)
    if w_all is None or o_all is None or None in w_all or None in o_all:
        return None
    ns = len(win.spatial_pos)
    if o_all[-ns:] != list(win.out_loops) or w_all[-ns:] != list(win.win_loops):
        return None
    x_lead = [e for p, e in enumerate(x_map.results) if p not in win.spatial_pos]
    if not all(isinstance(e, AffineDimExpr) for e in x_lead):
        return None
    # The channel-like loops, spatial ones dropped.
    x_dims = [e.position for e in x_lead if isinstance(e, AffineDimExpr)]
    w_dims, o_dims = cast(list[int], w_all[:-ns]), cast(list[int], o_all[:-ns])
    xs, ws, os_ = set(x_dims), set(w_dims), set(o_dims)
    n = [d for d in x_dims if d in os_ and d not in ws]
    g = [d for d in x_dims if d in os_ and d in ws]
    f = [d for d in w_dims if d in os_ and d not in xs]
    c = [d for d in x_dims if d in ws and d not in os_]
    if len(n) != 1 or len(g) > 1 or len(f) > 1 or len(c) > 1:
        return None
    # Channel layouts: input [n, g?, c?], filter [g?, f?, c?], output [n, g?, f?].
    if x_dims != n + g + c or w_dims != g + f + c or o_dims != n + g + f:
        return None
    if not g and not c:
        return None
    return Convolution(
        x, w, win, n[0], g[0] if g else None, f[0] if f else None, c[0] if c else None
    )


@dataclass(frozen=True)
class Pooling:
    """A 2-D NCHW pooling window: ``max`` or ``sum``."""

    input: int
    window: Window
    kind: str
    """``max`` or ``sum``."""


def match_pooling(op: Operation, n_inputs: int) -> Pooling | None:
    if len(op.results) != 1:
        return None
    block = op.regions[0].block
    acc = accumulation(block, 0, n_inputs)
    if acc is None:
        return None
    kind = {"arith.maximumf": "max", "arith.maxnumf": "max", "arith.addf": "sum"}.get(acc[0])
    src = _arg_index(acc[1], block)
    if kind is None or src is None or src >= n_inputs:
        return None
    maps = maps_of(op)
    iters = iterators_of(op)
    win = match_window(maps[src], iters)
    if win is None or list(win.dilations) != [1, 1] or len(win.spatial_pos) != 2:
        return None
    lead = [e for p, e in enumerate(maps[src].results) if p not in win.spatial_pos]
    o_dims = simple_dims(maps[-1])
    if o_dims is None or len(lead) != 2 or o_dims[-2:] != list(win.out_loops):
        return None
    if [e.position for e in lead if isinstance(e, AffineDimExpr)] != o_dims[:2]:
        return None
    return Pooling(src, win, kind)
