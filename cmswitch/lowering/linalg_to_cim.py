"""``convert-linalg-to-cim``: linalg-on-tensors (as upstream MLIR pipelines
such as torch-mlir emit it) -> the `cim` dialect.

Each ``func.func`` made of ``arith`` / ``math`` / ``tensor`` / ``linalg``
ops is rebuilt as a function of ``cim`` ops in the same order:

* contractions (``linalg.generic`` with a multiply-accumulate body, see
  :mod:`cmswitch.lowering.linalg_match`) become ``cim.linear`` when the
  right operand is a compile-time constant, also when it is a constant
  broadcast over the batch loops (transformer linear layers arrive as
  ``batch_matmul`` that way), and ``cim.matmul`` when both are run-time
  values; an accumulator initialised with a broadcast constant becomes the
  bias;
* convolutions (plain, grouped, depthwise) become ``cim.conv2d`` with
  `group`, absorbing the zero ``tensor.pad`` in front as padding; pooling
  windows become ``cim.pool``;
* every other generic is evaluated op by op over its iteration space:
  point-wise bodies give ``cim.elementwise`` ops (``cmp`` + ``select`` as
  max / min / relu), reductions give ``cim.reduce``, ``tensor.extract``
  with a data-dependent index gives ``cim.gather``; operands are aligned
  with ``cim.reshape`` / ``cim.transpose`` / ``cim.broadcast``;
* ``tensor`` reshapes, slices, concatenations and pads map to the layout
  ops;
* whatever only depends on constants (weight transposes, masks built from
  ``linalg.index``, shape arithmetic) is folded with NumPy; constants
  become ``cim.constant`` with inline data (``cmswitch.frontend`` moves
  large ones to the weight store).

What cannot be mapped raises :class:`LinalgToCimError` naming the op and
its location (the ONNX node for torch-mlir output); nothing is dropped
silently. Run-time assertions (``cf.assert``) are not computation and are
dropped.

The ops around the structured ones are handled in
:mod:`cmswitch.lowering.linalg_ops`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from xdsl.context import Context
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects import builtin
from xdsl.dialects.builtin import (
    ArrayAttr,
    FileLineColLoc,
    FusedLoc,
    NameLoc,
    StringAttr,
    TensorType,
    UnregisteredOp,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.passes import ModulePass
from xdsl.traits import Pure
from xdsl.utils.exceptions import PassFailedException, VerifyException

from cmswitch.dialects.cim import (
    ConstantOp,
    Conv2dOp,
    ElementwiseFn,
    LinearOp,
    MatmulOp,
    PadOp,
    PoolKind,
    PoolOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    ints,
)
from cmswitch.lowering import linalg_match as lm
from cmswitch.lowering.linalg_body import Body, iteration_value, output_value
from cmswitch.lowering.linalg_emit import (
    Emitter,
    Value,
    shape,
)
from cmswitch.lowering.linalg_fuse import fuse
from cmswitch.lowering.linalg_ops import HANDLERS


class LinalgToCimError(PassFailedException):
    """An op the conversion cannot map; the message names it and its location."""


def location_text(op: Operation) -> str | None:
    """A short source location: the ONNX node name torch-mlir records, or
    file:line:col."""
    return _loc_text(op.location)


def label_text(op: Operation) -> str | None:
    """A label for the ops converted from `op`: the source name (an ONNX
    node) when the location carries one; file positions are not labels."""
    loc = op.location
    if isinstance(loc, FusedLoc):
        names = [x for x in cast(ArrayAttr, loc.locations).data if isinstance(x, NameLoc)]
        loc = names[0] if names else loc
    return loc.desc.data if isinstance(loc, NameLoc) else None


def _loc_text(loc: Attribute) -> str | None:
    if isinstance(loc, NameLoc):
        return loc.desc.data
    if isinstance(loc, FileLineColLoc):
        return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    if isinstance(loc, FusedLoc):
        for inner in cast(ArrayAttr, loc.locations).data:
            text = _loc_text(inner)
            if text is not None:
                return text
    return None


def op_name(op: Operation) -> str:
    """The op's name, also for ops of dialects xDSL does not know."""
    if isinstance(op, UnregisteredOp):
        return op.op_name.data
    return op.name


ResourceLookup = Callable[[str], str | None]


@dataclass
class _Converter:
    func: FuncOp
    resources: ResourceLookup | None

    def __post_init__(self) -> None:
        old = self.func.body.block
        self.block = Block(arg_types=[a.type for a in old.args])
        for new, arg in zip(self.block.args, old.args, strict=True):
            new.name_hint = arg.name_hint
        self.em = Emitter(self.block)
        self.env: dict[SSAValue, Value] = dict(zip(old.args, self.block.args, strict=True))
        self.outputs: list[SSAValue] = []
        self._index = 0

    # ---------------------------------------------------------------- driver
    def run(self) -> FuncOp:
        for k, op in enumerate(list(self.func.body.block.ops)):
            self._index = k
            self.em.label = label_text(op)
            try:
                self.convert(op)
            except LinalgToCimError:
                raise
            except (VerifyException, ValueError, IndexError, KeyError, lm.NotLinear) as err:
                raise self.error(op, f"cannot be converted: {err}") from None
        fuse(self.block)
        _erase_dead(self.block)
        _unique_syms(self.block)
        fn = FuncOp(
            self.func.sym_name.data,
            ([a.type for a in self.block.args], [v.type for v in self.outputs]),
            Region(self.block),
            arg_attrs=self.func.arg_attrs,
            res_attrs=self.func.res_attrs,
        )
        fn.attributes.update(self.func.attributes)
        return fn

    def error(self, op: Operation, reason: str) -> LinalgToCimError:
        where = location_text(op) or f"@{self.func.sym_name.data}, op {self._index}"
        return LinalgToCimError(f"{where}: {op_name(op)} {reason}")

    def get(self, v: SSAValue, op: Operation) -> Value:
        if v not in self.env:
            raise self.error(op, "uses a value produced by an op that was not converted")
        return self.env[v]

    def const(self, v: SSAValue, op: Operation, what: str) -> np.ndarray:
        value = self.get(v, op)
        if not isinstance(value, np.ndarray):
            raise self.error(op, f"needs a compile-time {what}")
        return value

    def convert(self, op: Operation) -> None:
        handler = HANDLERS.get(op_name(op))
        if handler is not None:
            results = handler(self, op)
        elif op.name.startswith("linalg.") and op.regions and hasattr(op, "get_indexing_maps"):
            results = self.structured(op)
        elif op.name.split(".")[0] in ("arith", "math") and op.results:
            results = [self.scalar(op)]
        else:
            raise self.error(op, "is not supported by convert-linalg-to-cim")
        for r, v in zip(op.results, results, strict=True):
            if v is not None:
                self.env[r] = v

    # ------------------------------------------------------------- scalars
    def scalar(self, op: Operation) -> Value:
        """arith / math outside a generic: shape and index arithmetic on
        compile-time scalars."""
        body = Body(self.em, None, [], [], lambda v: self.get(v, op), lambda r: self.error(op, r))
        value = body.op_value(op)
        if not isinstance(value, np.ndarray):
            raise self.error(op, "on run-time scalars is not supported")
        return value

    # -------------------------------------------------------- structured ops
    def structured(self, op: Operation) -> list[Value | None]:
        n_in = len(op.operands) - len(op.results)
        iters = lm.iterators_of(op)
        maps = lm.maps_of(op)
        operands = [self.get(v, op) for v in op.operands]
        shapes = [
            shape(v) if _is_tensor(o) else () for v, o in zip(operands, op.operands, strict=True)
        ]
        try:
            loops = lm.loop_sizes(maps, shapes)
        except lm.NotLinear as err:
            raise self.error(op, f"has loops no operand indexes directly ({err})") from None
        if "reduction" in iters:
            for match in (self._contraction, self._convolution, self._pooling):
                done = match(op, n_in, operands, maps, loops)
                if done is not None:
                    return done
        return self._evaluate(op, n_in, operands, maps, loops, iters)

    def _evaluate(self, op: Operation, n_in: int, operands: list[Value],
                  maps: list[AffineMap], loops: list[int], iters: list[str]) -> list[Value | None]:  # fmt: skip
        block = op.regions[0].block
        args: list[Value] = []
        for v, amap in zip(operands, maps, strict=True):
            args.append(iteration_value(self.em, v, amap, loops, lambda r: self.error(op, r)))
        body = Body(self.em, block, args, loops, lambda v: self.get(v, op),
                    lambda r: self.error(op, r))  # fmt: skip
        red = [d for d, it in enumerate(iters) if it == "reduction"]
        results: list[Value | None] = []
        for k, res in enumerate(op.results):
            if not res.uses:
                results.append(None)
                continue
            out_map = maps[n_in + k]
            if not red:
                value = body.value(lm.yielded(block)[k])
            else:
                value = self._reduction(op, body, block, k, n_in, args[n_in + k], red, loops)
            value = self.em.cast(value, cast(TensorType, res.type).element_type)
            results.append(output_value(self.em, value, out_map, loops,
                                        shape(operands[n_in + k]), lambda r: self.error(op, r)))  # fmt: skip
        return results

    def _reduction(self, op: Operation, body: Body, block: Block, k: int, n_in: int,
                   init: Value, red: list[int], loops: list[int]) -> Value:  # fmt: skip
        acc = lm.accumulation(block, k, n_in)
        if acc is None:
            raise self.error(op, f"result {k} is a reduction that is not an accumulation "
                                 "(add / mul / max / min of the output)")  # fmt: skip
        comb, x = acc
        fn, ident = _REDUCTIONS[comb]
        value = body.value(x)
        full = [loops[d] if d in red else s for d, s in enumerate(shape(value))]
        value = self.em.broadcast(value, full)
        if isinstance(value, np.ndarray):
            reduced = _NP_REDUCE[fn](value, axis=tuple(red), keepdims=True)
        else:
            reduced = self.em.add(ReduceOp(fn, value, red, True))
        if isinstance(init, np.ndarray) and np.all(init == ident):
            return reduced
        combine = {ReduceFn.SUM: ElementwiseFn.ADD, ReduceFn.PROD: ElementwiseFn.MUL,
                   ReduceFn.MAX: ElementwiseFn.MAX, ReduceFn.MIN: ElementwiseFn.MIN}[fn]  # fmt: skip
        return self.em.ew(combine, [init, reduced])

    # ------------------------------------------------------- contractions
    def _contraction(self, op: Operation, n_in: int, operands: list[Value],
                     maps: list[AffineMap], loops: list[int]) -> list[Value | None] | None:  # fmt: skip
        c = lm.match_contraction(op, n_in)
        if c is None:
            return None
        em = self.em
        a, b, init = operands[c.a], operands[c.b], operands[2]
        a_dims = cast(list[int], lm.simple_dims(maps[c.a]))
        b_dims = cast(list[int], lm.simple_dims(maps[c.b]))
        o_dims = cast(list[int], lm.simple_dims(maps[2]))
        size = lambda ds: [loops[d] for d in ds]  # noqa: E731
        kk = math.prod(size(c.k))
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and isinstance(init, np.ndarray):
            product = np.einsum(a, a_dims, b, b_dims, o_dims, dtype=np.float64)
            return [(product + init).astype(init.dtype)]
        if isinstance(b, np.ndarray) and not isinstance(a, np.ndarray):
            # Stationary weight, possibly broadcast over the batch loops.
            bt = em.transpose(b, [b_dims.index(d) for d in (*c.batch, *c.k, *c.n)])
            bt = cast(np.ndarray, bt).reshape(math.prod(size(c.batch)), kk, -1)
            if np.all(bt == bt[:1]):
                w = np.ascontiguousarray(bt[0])
                rows = (*c.batch, *c.m)
                x = em.transpose(a, [a_dims.index(d) for d in (*rows, *c.k)])
                x = em.reshape(x, [*size(rows), kk])
                bias = self._bias(init, o_dims, c.n, loops)
                y = em.add(LinearOp(em.ssa(x), em.constant(w, self._sym(op, "weight")),
                                    None if bias is None else em.constant(bias, self._sym(op, "bias"))))  # fmt: skip
                y = em.reshape(y, size((*rows, *c.n)))
                return [self._finish(y, (*rows, *c.n), o_dims, init, bias is not None)]
        # Run-time right operand (or a weight that differs across the batch).
        lhs = em.transpose(a, [a_dims.index(d) for d in (*c.batch, *c.m, *c.k)])
        lhs = em.reshape(lhs, [*size(c.batch), math.prod(size(c.m)), kk])
        rhs = em.transpose(b, [b_dims.index(d) for d in (*c.batch, *c.k, *c.n)])
        rhs = em.reshape(rhs, [*size(c.batch), kk, math.prod(size(c.n))])
        y = em.add(MatmulOp(em.ssa(lhs), em.ssa(rhs)))
        y = em.reshape(y, size((*c.batch, *c.m, *c.n)))
        return [self._finish(y, (*c.batch, *c.m, *c.n), o_dims, init, False)]

    def _bias(self, init: Value, o_dims: list[int], chan: tuple[int, ...],
              loops: list[int]) -> np.ndarray | None:  # fmt: skip
        """The bias a constant accumulator init adds along `chan` loops
        (None when it is not such a broadcast, or is zero)."""
        if not isinstance(init, np.ndarray) or not np.issubdtype(init.dtype, np.floating):
            return None
        order = [o_dims.index(d) for d in chan]
        rest = [p for p in range(init.ndim) if p not in order]
        moved = np.transpose(init, [*rest, *order]).reshape(-1, math.prod(loops[d] for d in chan))
        if not np.all(moved == moved[:1]) or not np.any(moved[0]):
            return None
        return np.ascontiguousarray(moved[0])

    def _finish(self, y: Value, y_dims: tuple[int, ...], o_dims: list[int], init: Value,
                bias_used: bool) -> Value:  # fmt: skip
        """`y` (loops in `y_dims` order) in the output's order, plus the
        accumulator init unless it was zero or became the bias."""
        y = self.em.transpose(y, [y_dims.index(d) for d in o_dims])
        if bias_used or (isinstance(init, np.ndarray) and not np.any(init)):
            return y
        return self.em.ew(ElementwiseFn.ADD, [y, init])

    def _sym(self, op: Operation, what: str) -> str:
        return f"{label_text(op) or 'linalg'}.{what}"

    # ------------------------------------------------------- convolutions
    def _convolution(self, op: Operation, n_in: int, operands: list[Value],
                     maps: list[AffineMap], loops: list[int]) -> list[Value | None] | None:  # fmt: skip
        conv = lm.match_convolution(op, n_in)
        if conv is None:
            return None
        em = self.em
        x, w, init = operands[conv.input], operands[conv.filter], operands[2]
        if not isinstance(w, np.ndarray):
            raise self.error(op, "is a convolution whose filter is not a compile-time constant")
        if isinstance(x, np.ndarray):
            return None  # folded by evaluation
        size = lambda d: 1 if d is None else loops[d]  # noqa: E731
        g, f, c = size(conv.g), size(conv.f), size(conv.c)
        ns = len(conv.window.spatial_pos)  # 1-D convolutions run as 2-D of height 1
        x, pads = _absorb_pad(em, x, 0.0, ns)
        xs = shape(x)
        h, wd = (1, xs[-1]) if ns == 1 else xs[-2:]
        kernel = [loops[d] for d in conv.window.win_loops]
        kh, kw = (1, kernel[0]) if ns == 1 else kernel
        weight = w.reshape(g * f, c, kh, kw)
        x4 = em.reshape(x, (xs[0], g * c, h, wd))
        strides, dilations = conv.window.strides, conv.window.dilations
        if ns == 1:
            strides, dilations = (1, *strides), (1, *dilations)
        out_hw = (1, shape(init)[-1]) if ns == 1 else shape(init)[-2:]
        x4, pads = self._fit_window(x4, pads, out_hw, (kh, kw), strides, dilations)
        o_dims = cast(list[int], lm.simple_dims(maps[2]))
        chan = tuple(d for d in (conv.g, conv.f) if d is not None)
        bias = self._bias(init, o_dims, chan, loops)
        y = em.add(Conv2dOp(
            em.ssa(x4), em.constant(weight, self._sym(op, "weight")),
            None if bias is None else em.constant(bias, self._sym(op, "bias")),
            strides=strides, pads=pads, dilations=dilations, group=g,
        ))  # fmt: skip
        y = em.reshape(y, shape(init))
        return [self._finish(y, tuple(o_dims), o_dims, init, bias is not None)]

    def _fit_window(self, x: Value, pads: list[int], out_hw: tuple[int, ...],
                    kernel: tuple[int, ...] | list[int], strides: tuple[int, ...],
                    dilations: tuple[int, ...]) -> tuple[Value, list[int]]:  # fmt: skip
        """linalg sizes a window op by its output; cim by its input. Rows and
        columns past the last window are dropped: bottom / right padding
        first, then input."""
        pads = list(pads)
        s = list(shape(x))
        for ax in range(2):
            need = (out_hw[ax] - 1) * strides[ax] + (kernel[ax] - 1) * dilations[ax] + 1
            excess = s[2 + ax] + pads[ax] + pads[ax + 2] - need
            cut = min(excess, pads[ax + 2])
            pads[ax + 2] -= max(cut, 0)
            excess -= max(cut, 0)
            if excess > 0:
                ends = list(s)
                ends[2 + ax] -= excess
                x = self.em.slice(x, [0] * len(s), ends)
                s = list(shape(x))
        return x, pads

    def _pooling(self, op: Operation, n_in: int, operands: list[Value],
                 maps: list[AffineMap], loops: list[int]) -> list[Value | None] | None:  # fmt: skip
        pool = lm.match_pooling(op, n_in)
        if pool is None:
            return None
        x, init = operands[pool.input], operands[-1]
        em = self.em
        kernel = [loops[d] for d in pool.window.win_loops]
        ident = -np.inf if pool.kind == "max" else 0.0
        if isinstance(x, np.ndarray):  # e.g. the element counts of an average
            sh, sw = pool.window.strides
            win = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
            win = win[:, :, ::sh, ::sw]
            folded = win.max(axis=(4, 5)) if pool.kind == "max" else win.sum(axis=(4, 5))
            if not (isinstance(init, np.ndarray) and np.all(init == ident)):
                combine = ElementwiseFn.MAX if pool.kind == "max" else ElementwiseFn.ADD
                return [em.ew(combine, [folded.astype(np.float32), init])]
            return [folded.astype(np.float32)]
        x, pads = _absorb_pad(em, x, ident, 2)
        x, pads = self._fit_window(x, pads, shape(init)[2:], kernel, pool.window.strides, (1, 1))
        kind = PoolKind.MAX if pool.kind == "max" else PoolKind.AVG
        y: Value = em.add(PoolOp(kind, em.ssa(x), kernel, pool.window.strides, pads, True))
        if kind is PoolKind.AVG:  # a window sum: the average (pads counted) times its size
            y = em.ew(ElementwiseFn.MUL, [y, np.array(float(math.prod(kernel)), np.float32)])
        if not (isinstance(init, np.ndarray) and np.all(init == ident)):
            combine = ElementwiseFn.MAX if kind is PoolKind.MAX else ElementwiseFn.ADD
            y = em.ew(combine, [y, init])
        return [y]


def _is_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType)


def _absorb_pad(em: Emitter, x: Value, fill: float, spatial: int) -> tuple[Value, list[int]]:
    """A ``cim.pad`` of `fill` on the last `spatial` (1 or 2) dims only
    becomes the consumer's padding: returns (unpadded input, [top, left,
    bottom, right]). Seen through a reshape of the leading dims (grouped
    convolutions split the channels after padding)."""
    none = (x, [0, 0, 0, 0])
    owner = x.owner if isinstance(x, SSAValue) else None
    reshaped: ReshapeOp | None = None
    if isinstance(owner, ReshapeOp) and isinstance(owner.input.owner, PadOp):
        reshaped, owner = owner, owner.input.owner
    if not isinstance(owner, PadOp) or owner.value.value.data != fill:
        return none
    p = ints(owner.pads)
    rank = len(p) // 2
    if any([*p[: rank - spatial], *p[rank : 2 * rank - spatial]]):
        return none
    pads = [0, p[rank - 1], 0, p[2 * rank - 1]] if spatial == 1 else \
        [p[rank - 2], p[rank - 1], p[2 * rank - 2], p[2 * rank - 1]]  # fmt: skip
    if reshaped is None:
        return owner.input, pads
    if shape(reshaped.output)[-spatial:] != shape(owner.output)[-spatial:]:
        return none
    lead = shape(reshaped.output)[:-spatial]
    return em.reshape(owner.input, (*lead, *shape(owner.input)[-spatial:])), pads


_REDUCTIONS: dict[str, tuple[ReduceFn, float]] = {
    "arith.addf": (ReduceFn.SUM, 0.0),
    "arith.addi": (ReduceFn.SUM, 0.0),
    "arith.mulf": (ReduceFn.PROD, 1.0),
    "arith.muli": (ReduceFn.PROD, 1.0),
    "arith.maximumf": (ReduceFn.MAX, -np.inf),
    "arith.maxnumf": (ReduceFn.MAX, -np.inf),
    "arith.maxsi": (ReduceFn.MAX, -np.inf),
    "arith.minimumf": (ReduceFn.MIN, np.inf),
    "arith.minnumf": (ReduceFn.MIN, np.inf),
    "arith.minsi": (ReduceFn.MIN, np.inf),
}

_NP_REDUCE: dict[ReduceFn, Callable[..., np.ndarray]] = {
    ReduceFn.SUM: np.sum, ReduceFn.PROD: np.prod, ReduceFn.MAX: np.max, ReduceFn.MIN: np.min,
}  # fmt: skip


def _unique_syms(block: Block) -> None:
    """``cim.constant`` symbols are weight-store keys: one per constant."""
    seen: set[str] = set()
    for op in block.ops:
        if isinstance(op, ConstantOp):
            sym, k = op.sym.data, 1
            while sym in seen:
                sym, k = f"{op.sym.data}_{k}", k + 1
            seen.add(sym)
            if sym != op.sym.data:
                op.sym = StringAttr(sym)


def _erase_dead(block: Block) -> None:
    for op in reversed(list(block.ops)):
        if op.has_trait(Pure) and all(not r.uses for r in op.results):
            block.erase_op(op)


# --------------------------------------------------------------------------
# The pass
# --------------------------------------------------------------------------


def convert_module(module: builtin.ModuleOp, ctx: Context | None = None) -> None:
    """Converts every function of `module` that holds linalg-level ops."""
    lookup: ResourceLookup | None = None
    if ctx is not None:
        try:
            blobs = ctx.get_dialect("builtin").get_interface(OpAsmDialectInterface)
        except Exception:
            blobs = None
        if blobs is not None:
            lookup = blobs.lookup
    for fn in [op for op in module.ops if isinstance(op, FuncOp)]:
        if not any(op.name.split(".")[0] in _SOURCE_DIALECTS for op in fn.walk()):
            continue
        new = _Converter(fn, lookup).run()
        module.body.block.insert_op_before(new, fn)
        module.body.block.erase_op(fn)


_SOURCE_DIALECTS = frozenset({"linalg", "tensor", "arith", "math", "cf"})


@dataclass(frozen=True)
class ConvertLinalgToCimPass(ModulePass):
    """Converts linalg-on-tensors (upstream MLIR, e.g. torch-mlir output with
    named ops generalised) into `cim` operators."""

    name = "convert-linalg-to-cim"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        convert_module(op, ctx)
