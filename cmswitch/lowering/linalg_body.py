"""Evaluating a ``linalg.generic`` body over its whole iteration space.

Every value of the body is represented as one tensor over the iteration
space: rank = number of loops, size 1 on the loops it does not depend on
(so NumPy-style broadcasting lines the operands up). Block arguments are the
operands re-indexed by their indexing maps (:func:`iteration_value`); each
scalar op of the body becomes one point-wise `cim` op (or a NumPy
computation when its operands are constants, see
:class:`~cmswitch.lowering.linalg_emit.Emitter`); the yielded value is
re-indexed by the output's map (:func:`output_value`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, TensorType, f32, i64
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.ir.affine import AffineMap

from cmswitch.dialects.cim import ElementwiseFn, GatherOp
from cmswitch.lowering import linalg_match as lm
from cmswitch.lowering.linalg_emit import Emitter, Value, elem, i1, shape

ErrorFactory = Callable[[str], Exception]

_UNARY: dict[str, ElementwiseFn] = {
    "arith.negf": ElementwiseFn.NEG,
    "math.exp": ElementwiseFn.EXP,
    "math.log": ElementwiseFn.LOG,
    "math.sqrt": ElementwiseFn.SQRT,
    "math.rsqrt": ElementwiseFn.RSQRT,
    "math.tanh": ElementwiseFn.TANH,
    "math.erf": ElementwiseFn.ERF,
    "math.absf": ElementwiseFn.ABS,
    "math.absi": ElementwiseFn.ABS,
    "math.floor": ElementwiseFn.FLOOR,
    "math.ceil": ElementwiseFn.CEIL,
    "math.sin": ElementwiseFn.SIN,
    "math.cos": ElementwiseFn.COS,
}

_BINARY: dict[str, ElementwiseFn] = {
    "arith.addf": ElementwiseFn.ADD,
    "arith.addi": ElementwiseFn.ADD,
    "arith.subf": ElementwiseFn.SUB,
    "arith.subi": ElementwiseFn.SUB,
    "arith.mulf": ElementwiseFn.MUL,
    "arith.muli": ElementwiseFn.MUL,
    "arith.divf": ElementwiseFn.DIV,
    "arith.divsi": ElementwiseFn.DIV,
    "arith.remf": ElementwiseFn.MOD,
    "arith.maximumf": ElementwiseFn.MAX,
    "arith.maxnumf": ElementwiseFn.MAX,
    "arith.maxsi": ElementwiseFn.MAX,
    "arith.minimumf": ElementwiseFn.MIN,
    "arith.minnumf": ElementwiseFn.MIN,
    "arith.minsi": ElementwiseFn.MIN,
    "arith.andi": ElementwiseFn.AND,
    "arith.ori": ElementwiseFn.OR,
    "math.powf": ElementwiseFn.POW,
}

_CASTS = frozenset(
    {
        "arith.index_cast", "arith.index_castui", "arith.sitofp", "arith.uitofp",
        "arith.fptosi", "arith.fptoui", "arith.extsi", "arith.extui", "arith.trunci",
        "arith.extf", "arith.truncf",
    }
)  # fmt: skip

# Predicates by their index in arith's enum (NaN ordering is not modelled).
_CMPF = ("false", "eq", "gt", "ge", "lt", "le", "ne", "ord",
         "eq", "gt", "ge", "lt", "le", "ne", "uno", "true")  # fmt: skip
_CMPI = ("eq", "ne", "lt", "le", "gt", "ge", "ult", "ule", "ugt", "uge")
_COMPARE = {
    "eq": ElementwiseFn.EQUAL, "gt": ElementwiseFn.GREATER, "ge": ElementwiseFn.GREATER_EQUAL,
    "lt": ElementwiseFn.LESS, "le": ElementwiseFn.LESS_EQUAL,
}  # fmt: skip


def scalar_elem(typ: Attribute) -> Attribute:
    """cim's element type for a scalar MLIR type."""
    if isinstance(typ, IntegerType):
        return i1 if typ.width.data == 1 else i64
    if isinstance(typ, IndexType):
        return i64
    return f32


class Body:
    """Values of one generic body over its iteration space (`loops`)."""

    def __init__(
        self,
        em: Emitter,
        block: Block | None,
        args: Sequence[Value],
        loops: Sequence[int],
        outer: Callable[[SSAValue], Value],
        error: ErrorFactory,
    ):
        """`block` is the generic's body (None: evaluate ops outside any
        generic, on compile-time scalars); `args` its arguments' values;
        `outer` gives values defined outside the body."""
        self.em = em
        self.block = block
        self.loops = list(loops)
        self.memo: dict[SSAValue, Value] = {}
        if block is not None:
            self.memo.update(zip(block.args, args, strict=True))
        self.outer = outer
        self.error = error

    def value(self, v: SSAValue) -> Value:
        if v in self.memo:
            return self.memo[v]
        owner = v.owner
        if not isinstance(owner, Operation) or self.block is None \
                or owner.parent_block() is not self.block:  # fmt: skip
            value = self.outer(v)
            if not isinstance(v.type, TensorType):  # a scalar from outside
                value = self.em.reshape(value, [1] * len(self.loops))
        else:
            value = self.op_value(owner)
        self.memo[v] = value
        return value

    def _ones(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape([1] * len(self.loops))

    def op_value(self, op: Operation) -> Value:
        """The (first) result of `op` over the iteration space."""
        em, name = self.em, op.name
        ins = lambda: [self.value(v) for v in op.operands]  # noqa: E731
        if name == "arith.constant":
            from cmswitch.lowering.linalg_emit import scalar_attr_value

            value = scalar_attr_value(op.properties["value"])
            if value is None:
                raise self.error(f"{name} of {op.properties['value']} in a body")
            return self._ones(value)
        if name in _UNARY:
            return em.ew(_UNARY[name], ins())
        if name in _BINARY:
            fn = _BINARY[name]
            a, b = ins()
            if fn in (ElementwiseFn.AND, ElementwiseFn.OR) and elem(a) != i1:
                raise self.error(f"{name} on integers wider than i1 is not supported")
            return em.ew(fn, [a, b])
        if name in _CASTS:
            return em.cast(ins()[0], scalar_elem(op.results[0].type))
        if name == "math.fpowi":
            x, p = ins()
            return em.ew(ElementwiseFn.POW, [x, em.cast(p, f32)])
        if name == "math.log1p":
            (x,) = ins()
            return em.ew(
                ElementwiseFn.LOG,
                [em.ew(ElementwiseFn.ADD, [x, self._ones(np.array(1, np.float32))])],
            )
        if name == "arith.xori":
            a, b = ins()
            for x, y in ((a, b), (b, a)):
                if isinstance(y, np.ndarray) and y.dtype == np.bool_ and np.all(y):
                    return em.ew(ElementwiseFn.NOT, [x])
            raise self.error("arith.xori other than logical not is not supported")
        if name in ("arith.cmpf", "arith.cmpi"):
            return self._compare(op, *ins())
        if name == "arith.select":
            return self._select(op)
        if name == "linalg.index":
            d = cast(IntegerAttr, op.properties["dim"]).value.data
            shape_ = [1] * len(self.loops)
            shape_[d] = self.loops[d]
            return np.arange(self.loops[d], dtype=np.int64).reshape(shape_)
        if name == "tensor.extract":
            return self._extract(op)
        raise self.error(f"{name} in a linalg body is not supported")

    def _predicate(self, op: Operation) -> str:
        index = cast(IntegerAttr, op.properties["predicate"]).value.data
        table = _CMPF if op.name == "arith.cmpf" else _CMPI
        pred = table[index]
        if pred.startswith("u") and op.name == "arith.cmpi":
            raise self.error(f"unsigned comparison {pred} is not supported")
        return pred

    def _compare(self, op: Operation, a: Value, b: Value) -> Value:
        pred = self._predicate(op)
        if pred in ("true", "false"):
            return self._ones(np.array(pred == "true"))
        if pred == "ne":
            return self.em.ew(ElementwiseFn.NOT, [self.em.ew(ElementwiseFn.EQUAL, [a, b])])
        if pred not in _COMPARE:
            raise self.error(f"comparison {pred} is not supported")
        return self.em.ew(_COMPARE[pred], [a, b])

    def _select(self, op: Operation) -> Value:
        cond_v, t_v, f_v = op.operands
        cmp = cond_v.owner
        # select(a > b, a, b) is max(a, b), select(a < b, a, b) is min(a, b);
        # max(x, 0) is relu. (NaN propagation is not modelled.)
        if isinstance(cmp, Operation) and cmp.name in ("arith.cmpf", "arith.cmpi") \
                and self._predicate(cmp) in ("gt", "ge", "lt", "le"):  # fmt: skip
            x, y = cmp.operands
            greater = self._predicate(cmp) in ("gt", "ge")
            if (t_v, f_v) in ((x, y), (y, x)):
                pick_max = greater == ((t_v, f_v) == (x, y))
                a, b = self.value(t_v), self.value(f_v)
                for u, w in ((a, b), (b, a)):
                    if pick_max and isinstance(w, np.ndarray) and w.size == 1 \
                            and not np.any(w) and not isinstance(u, np.ndarray):  # fmt: skip
                        return self.em.ew(ElementwiseFn.RELU, [u])
                return self.em.ew(ElementwiseFn.MAX if pick_max else ElementwiseFn.MIN, [a, b])
        cond, t, f = (self.value(v) for v in op.operands)
        return self.em.ew(ElementwiseFn.WHERE, [cond, t, f])

    # ------------------------------------------------------------- gathers
    def _extract(self, op: Operation) -> Value:
        table = self.outer(op.operands[0])
        index_vs = list(op.operands[1:])
        idx = [self.value(v) for v in index_vs]
        if isinstance(table, np.ndarray) and all(isinstance(i, np.ndarray) for i in idx):
            arrays = np.broadcast_arrays(*(np.asarray(i).astype(np.int64) for i in idx))
            return self._ones_like(table[tuple(arrays)])
        t_shape = shape(table)
        data = [k for k, v in enumerate(index_vs) if self._loop_of(v) is None]
        if len(data) != 1:
            raise self.error(
                "tensor.extract in a body needs exactly one data-dependent index (a gather)"
            )
        axis = data[0]
        loops_of = {k: self._loop_of(v) for k, v in enumerate(index_vs) if k != axis}
        em = self.em
        for k, d in loops_of.items():
            if d is None or self.loops[d] != t_shape[k]:
                raise self.error("tensor.extract indexes a dimension only partly (not a gather)")
        i_val = idx[axis]
        i_dims = [d for d, s in enumerate(shape(i_val)) if s != 1]
        if set(i_dims) & {d for d in loops_of.values() if d is not None}:
            raise self.error("tensor.extract: the gather index shares a loop with the table")
        i_sq = em.reshape(em.cast(i_val, i64), [self.loops[d] for d in i_dims])
        out = em.add(GatherOp(em.ssa(table), em.ssa(i_sq), axis))
        order = [cast(int, loops_of[k]) for k in range(axis)] + i_dims + \
            [cast(int, loops_of[k]) for k in range(axis + 1, len(t_shape))]  # fmt: skip
        perm = sorted(range(len(order)), key=lambda p: order[p])
        out = em.transpose(out, perm)
        full = [self.loops[d] if d in order else 1 for d in range(len(self.loops))]
        return em.reshape(out, full)

    def _ones_like(self, a: np.ndarray) -> np.ndarray:
        return a if a.ndim == len(self.loops) else a.reshape([1] * len(self.loops))

    def _loop_of(self, v: SSAValue) -> int | None:
        """The loop `v` is (``linalg.index d``, possibly cast), else None."""
        owner = v.owner
        while isinstance(owner, Operation) and owner.name in _CASTS:
            owner = owner.operands[0].owner
        if isinstance(owner, Operation) and owner.name == "linalg.index":
            return cast(IntegerAttr, owner.properties["dim"]).value.data
        return None


def iteration_value(
    em: Emitter, v: Value, amap: AffineMap, loops: Sequence[int], error: ErrorFactory
) -> Value:
    """Operand `v` read through `amap`, as a tensor over the iteration space
    (size 1 on loops it does not use)."""
    n = len(loops)
    if not amap.results:
        return em.reshape(v, [1] * n)
    dims = lm.simple_dims(amap)
    if dims is None:
        raise error(f"reads an operand through {amap}, which is not a projected permutation")
    s = shape(v)
    starts, ends = [0] * len(s), list(s)
    for p, d in enumerate(dims):
        if d is None and s[p] != 1:
            ends[p] = 1
        elif d is not None and s[p] != loops[d]:
            raise error(f"operand dimension {p} has size {s[p]}, its loop runs {loops[d]}")
    v = em.slice(v, starts, ends)
    kept = [d for d in dims if d is not None]
    v = em.reshape(v, [loops[d] for d in kept])
    perm = sorted(range(len(kept)), key=lambda p: kept[p])
    v = em.transpose(v, perm)
    return em.reshape(v, [loops[d] if d in kept else 1 for d in range(n)])


def output_value(
    em: Emitter,
    v: Value,
    amap: AffineMap,
    loops: Sequence[int],
    out_shape: Sequence[int],
    error: ErrorFactory,
) -> Value:
    """A value over the iteration space written through the output map."""
    dims = lm.simple_dims(amap)
    if dims is None:
        raise error(f"writes its result through {amap}, which is not a projected permutation")
    used = [d for d in dims if d is not None]
    s = shape(v)
    if len(s) != len(loops):
        v = em.reshape(v, [1] * len(loops)) if math.prod(s) == 1 else v
        s = shape(v)
    for d, size in enumerate(s):
        if d not in used and size != 1:
            raise error(f"result drops loop {d}, which it does not reduce")
    v = em.broadcast(v, [loops[d] if d in used else 1 for d in range(len(loops))])
    ordered = sorted(used)
    v = em.reshape(v, [loops[d] for d in ordered])
    v = em.transpose(v, [ordered.index(d) for d in used])
    return em.reshape(v, out_shape)
