"""Emitting `cim` ops while converting from linalg, folding what is known.

A value during the conversion is either a NumPy array (known at compile
time: a weight, a mask built from indices, an empty tensor) or an SSA value
of the `cim` function being built. Every helper here takes either: on
arrays it computes with NumPy, otherwise it appends the `cim` op (arrays
become ``cim.constant``). So constant subgraphs fold away and the `cim`
function only holds run-time work, as the direct ONNX importer's does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ConstantOp,
    ElementwiseFn,
    ElementwiseOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    broadcast_shapes,
    shape_of,
)

Value = np.ndarray | SSAValue

i1 = IntegerType(1)


def elem_of(dtype: np.dtype) -> Attribute:
    if dtype == np.bool_:
        return i1
    return f32 if np.issubdtype(dtype, np.floating) else i64


def dtype_of(elem: Attribute) -> np.dtype:
    if isinstance(elem, IntegerType):
        return np.dtype(np.bool_) if elem.width.data == 1 else np.dtype(np.int64)
    return np.dtype(np.float32)


def normalise_array(a: np.ndarray) -> np.ndarray:
    """cim's element types: f32, i64, i1."""
    a = np.asarray(a)
    want = dtype_of(elem_of(a.dtype))
    return a if a.dtype == want else a.astype(want)


def dense_attr(a: np.ndarray) -> DenseIntOrFPElementsAttr:
    a = normalise_array(a)
    a = a if a.flags.c_contiguous else a.copy()  # (ascontiguousarray makes 0-d 1-d)
    typ = TensorType(elem_of(a.dtype), list(a.shape))
    data = a.astype(np.int8).tobytes() if a.dtype == np.bool_ else a.tobytes()
    return DenseIntOrFPElementsAttr(cast(Any, typ), BytesAttr(data))


def array_of(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    typ = cast(TensorType, attr.type)
    elem = typ.element_type
    shape = tuple(typ.get_shape())
    raw = attr.data.data
    if isinstance(elem, IntegerType):
        width = elem.width.data
        if width == 1:
            return (np.frombuffer(raw, np.int8) != 0).reshape(shape)
        np_t = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}.get(width)
        if np_t is None:
            raise ValueError(f"unsupported integer width {width}")
        arr = np.frombuffer(raw, np_t)
    else:
        width = getattr(elem, "bitwidth", 32)
        np_t = {16: np.float16, 32: np.float32, 64: np.float64}.get(width)
        if np_t is None:
            raise ValueError(f"unsupported float type {elem}")
        arr = np.frombuffer(raw, np_t)
    if arr.size == 1 and math.prod(shape) != 1:  # a splat
        return np.broadcast_to(normalise_array(arr.reshape(())), shape)
    return normalise_array(arr.reshape(shape))


# NumPy twins of the cim point-wise functions (the reference executor's
# semantics, float32 results).
def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


_NUMPY: dict[ElementwiseFn, Callable[..., np.ndarray]] = {
    ElementwiseFn.IDENTITY: lambda x: x,
    ElementwiseFn.RELU: lambda x: np.maximum(x, 0),
    ElementwiseFn.SIGMOID: lambda x: 1.0 / (1.0 + np.exp(-x.astype(np.float64))),
    ElementwiseFn.TANH: np.tanh,
    ElementwiseFn.EXP: np.exp,
    ElementwiseFn.LOG: np.log,
    ElementwiseFn.SQRT: np.sqrt,
    ElementwiseFn.RSQRT: lambda x: 1.0 / np.sqrt(x.astype(np.float64)),
    ElementwiseFn.RECIPROCAL: lambda x: 1.0 / x.astype(np.float64),
    ElementwiseFn.NEG: np.negative,
    ElementwiseFn.ABS: np.abs,
    ElementwiseFn.ERF: _erf,
    ElementwiseFn.FLOOR: np.floor,
    ElementwiseFn.CEIL: np.ceil,
    ElementwiseFn.SIN: np.sin,
    ElementwiseFn.COS: np.cos,
    ElementwiseFn.NOT: np.logical_not,
    ElementwiseFn.ADD: np.add,
    ElementwiseFn.SUB: np.subtract,
    ElementwiseFn.MUL: np.multiply,
    ElementwiseFn.DIV: lambda a, b: np.trunc(a / b).astype(a.dtype)
    if np.issubdtype(a.dtype, np.integer)
    else a / b,
    ElementwiseFn.POW: lambda a, b: np.power(a.astype(np.float64), b.astype(np.float64)),
    ElementwiseFn.MAX: np.maximum,
    ElementwiseFn.MIN: np.minimum,
    ElementwiseFn.MOD: lambda a, b: np.mod(a, b) if np.issubdtype(a.dtype, np.integer) else np.fmod(a, b),
    ElementwiseFn.EQUAL: np.equal,
    ElementwiseFn.LESS: np.less,
    ElementwiseFn.LESS_EQUAL: np.less_equal,
    ElementwiseFn.GREATER: np.greater,
    ElementwiseFn.GREATER_EQUAL: np.greater_equal,
    ElementwiseFn.AND: np.logical_and,
    ElementwiseFn.OR: np.logical_or,
    ElementwiseFn.WHERE: np.where,
}  # fmt: skip

_BOOL_RESULT = frozenset(
    {
        ElementwiseFn.EQUAL, ElementwiseFn.LESS, ElementwiseFn.LESS_EQUAL,
        ElementwiseFn.GREATER, ElementwiseFn.GREATER_EQUAL, ElementwiseFn.AND,
        ElementwiseFn.OR, ElementwiseFn.NOT,
    }
)  # fmt: skip


def shape(v: Value) -> tuple[int, ...]:
    return tuple(v.shape) if isinstance(v, np.ndarray) else shape_of(v)


def elem(v: Value) -> Attribute:
    if isinstance(v, np.ndarray):
        return elem_of(v.dtype)
    return cast(TensorType, v.type).element_type


class Emitter:
    """Appends `cim` ops to `block`; folds on arrays."""

    def __init__(self, block: Block):
        self.block = block
        self.label: str | None = None
        """Label given to the ops appended next (the source op's location)."""
        self._syms: set[str] = set()
        self._const_cache: dict[tuple[object, ...], SSAValue] = {}
        self._keep: list[np.ndarray] = []  # arrays cached by id() stay alive

    # -------------------------------------------------------------- plumbing
    def add(self, op: Operation) -> SSAValue:
        if self.label is not None:
            op.attributes["label"] = StringAttr(self.label)
        self.block.add_op(op)
        return op.results[0]

    def unique(self, name: str) -> str:
        sym, k = name, 1
        while sym in self._syms:
            sym, k = f"{name}_{k}", k + 1
        self._syms.add(sym)
        return sym

    def constant(self, a: np.ndarray, name: str | None = None) -> SSAValue:
        """A ``cim.constant`` holding `a` inline (moved to the weight store
        afterwards when large); stride-0 (broadcast) axes are emitted as a
        ``cim.broadcast`` of the compact data."""
        a = normalise_array(a)
        compact = np.asarray(a[tuple(slice(0, 1) if st == 0 and d > 1 else slice(None)
                          for st, d in zip(a.strides, a.shape, strict=True))])  # fmt: skip
        if compact.shape != a.shape:
            return cast(SSAValue, self.broadcast(self.constant(compact, name), a.shape))
        small = a.size <= 64
        key: tuple[object, ...] = (a.dtype.str, a.shape, a.tobytes()) if small else ("id", id(a))
        if key in self._const_cache:
            return self._const_cache[key]
        sym = self.unique(name or self.label or "cst")
        typ = TensorType(elem_of(a.dtype), list(a.shape))
        op = ConstantOp(sym, typ, dense_attr(a))
        self.block.add_op(op)
        self._const_cache[key] = op.result
        if not small:
            self._keep.append(a)
        return op.result

    def ssa(self, v: Value) -> SSAValue:
        return self.constant(v) if isinstance(v, np.ndarray) else v

    # ----------------------------------------------------------------- layout
    def reshape(self, v: Value, new: Sequence[int]) -> Value:
        new = tuple(int(d) for d in new)
        if shape(v) == new:
            return v
        if isinstance(v, np.ndarray):
            return v.reshape(new)
        owner = v.owner
        if isinstance(owner, ReshapeOp):  # reshape of a reshape: one view
            return self.reshape(owner.input, new)
        return self.add(ReshapeOp(v, new))

    def transpose(self, v: Value, perm: Sequence[int]) -> Value:
        perm = tuple(perm)
        if perm == tuple(range(len(perm))):
            return v
        if isinstance(v, np.ndarray):
            return np.transpose(v, perm)
        # Moving only size-1 dims is a reshape.
        s = shape(v)
        if [d for d in perm if s[d] != 1] == sorted(d for d in perm if s[d] != 1):
            return self.reshape(v, [s[d] for d in perm])
        return self.add(TransposeOp(v, perm))

    def broadcast(self, v: Value, new: Sequence[int]) -> Value:
        new = tuple(int(d) for d in new)
        if shape(v) == new:
            return v
        if isinstance(v, np.ndarray):
            return np.broadcast_to(v, new)
        return self.add(BroadcastOp(v, new))

    def slice(self, v: Value, starts: Sequence[int], ends: Sequence[int],
              steps: Sequence[int] | None = None) -> Value:  # fmt: skip
        s = shape(v)
        steps = list(steps) if steps is not None else [1] * len(s)
        if list(starts) == [0] * len(s) and list(ends) == list(s) and steps == [1] * len(s):
            return v
        if isinstance(v, np.ndarray):
            return v[tuple(slice(a, None if b < 0 else b, c)
                           for a, b, c in zip(starts, ends, steps, strict=True))]  # fmt: skip
        return self.add(SliceOp(v, starts, ends, steps))

    # ------------------------------------------------------------ point-wise
    def ew(
        self,
        fn: ElementwiseFn,
        args: Sequence[Value],
        *,
        result_elem: Attribute | None = None,
    ) -> Value:
        """``fn`` of `args` (NumPy broadcasting); `result_elem` for casts."""
        if fn in _BOOL_RESULT:
            result_elem = i1
        if all(isinstance(a, np.ndarray) for a in args):
            with np.errstate(all="ignore"):
                out = np.asarray(_NUMPY[fn](*args))
            want = dtype_of(result_elem) if result_elem is not None else None
            if want is None:
                src = args[1] if fn is ElementwiseFn.WHERE else args[0]
                want = dtype_of(elem_of(cast(np.ndarray, src).dtype))
            return out.astype(want)
        if fn is ElementwiseFn.CAST:
            (x,) = args
            if result_elem is None or elem(x) == result_elem:
                return x
            return self.add(ElementwiseOp(fn, [self.ssa(x)], element_type=result_elem))
        ssa = [self.ssa(a) for a in args]
        broadcast_shapes(*(shape_of(a) for a in ssa))
        return self.add(ElementwiseOp(fn, ssa, element_type=result_elem))

    def cast(self, v: Value, to: Attribute) -> Value:
        if elem(v) == to:
            return v
        if isinstance(v, np.ndarray):
            return v.astype(dtype_of(to))
        return self.ew(ElementwiseFn.CAST, [v], result_elem=to)


def scalar_attr_value(attr: Attribute) -> np.ndarray | None:
    """An ``arith.constant`` scalar as a 0-d array."""
    if isinstance(attr, FloatAttr):
        return np.array(attr.value.data, np.float32)
    if isinstance(attr, IntegerAttr):
        typ = attr.type
        if isinstance(typ, IntegerType) and typ.width.data == 1:
            return np.array(bool(attr.value.data))
        return np.array(attr.value.data, np.int64)
    return None
