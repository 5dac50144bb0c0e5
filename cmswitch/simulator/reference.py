"""Functional reference executor for `cim` IR.

Runs a ``func.func`` of ``cim`` ops on NumPy arrays through the xDSL
interpreter framework: one ``@impl`` per ``cim`` op, each a plain NumPy
implementation of the semantics documented in :mod:`cmswitch.dialects.cim`.
Interpreter values are ``numpy.ndarray`` (the framework accepts any Python
value; no ``ShapedArray`` round trips). Float tensors are float32 (computed
in float64 where it matters, then cast), i64 tensors int64, i1 tensors bool.

It checks the importer against ONNX Runtime and is the golden model for the
passes: a transformed module must compute the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    IntegerType,
    ModuleOp,
    TensorType,
)
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    TerminatorValue,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions

from cmswitch.builder import io_names
from cmswitch.dialects import cim
from cmswitch.dialects.cim import ElementwiseFn, PoolKind, ReduceFn, ScatterReduction, ints
from cmswitch.weights import WeightStore


class ReferenceError(Exception):
    """The module cannot be run functionally (e.g. weights are absent)."""


def np_dtype(typ: Any) -> np.dtype:
    """The NumPy dtype of a tensor type's element type."""
    elem = typ.element_type if isinstance(typ, TensorType) else typ
    if isinstance(elem, Float32Type) or not isinstance(elem, IntegerType):
        return np.dtype(np.float32)
    if elem.width.data == 1:
        return np.dtype(np.bool_)
    return np.dtype(np.int64)


def _c(value: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn 0-d arrays into 1-d ones.
    out = np.asarray(value)
    return out if out.flags.c_contiguous else out.copy()


def _as(value: np.ndarray, typ: Any) -> np.ndarray:
    return _c(np.asarray(value).astype(np_dtype(typ), copy=False))


_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """Exact (libm) erf, elementwise."""
    return cast(np.ndarray, _erf(np.asarray(x, dtype=np.float64))).astype(np.float64)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b)  # ONNX integer division truncates
    return a / b


def _mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Remainder with the sign of the divisor (ONNX Mod, fmod=0)."""
    return np.mod(a, b)


def _fmod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Remainder with the sign of the dividend (C fmod; ONNX Mod, fmod=1)."""
    return np.fmod(a, b)


def round_to_format(x: np.ndarray, dtype: Any) -> np.ndarray:
    """`x` rounded to the float format `dtype` (an ``ml_dtypes`` type or
    float16), returned as float32: round to nearest even, overflow to inf
    (NaN for the formats without inf)."""
    return np.asarray(x, dtype=np.float32).astype(dtype).astype(np.float32)


def _narrow(name: str) -> Callable[[np.ndarray, float | None, float | None], np.ndarray]:
    def run(x: np.ndarray, a: float | None, b: float | None) -> np.ndarray:
        import ml_dtypes

        dtype = np.float16 if name == "float16" else getattr(ml_dtypes, name)
        return round_to_format(x, dtype)

    return run


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


_UNARY: dict[ElementwiseFn, Callable[[np.ndarray, float | None, float | None], np.ndarray]] = {
    ElementwiseFn.IDENTITY: lambda x, a, b: x,
    ElementwiseFn.CAST: lambda x, a, b: x,
    ElementwiseFn.RELU: lambda x, a, b: np.maximum(x, 0),
    ElementwiseFn.LEAKY_RELU: lambda x, a, b: np.where(
        x >= 0, x, (0.01 if a is None else a) * _f(x)
    ),
    ElementwiseFn.ELU: lambda x, a, b: np.where(
        x > 0, x, (1.0 if a is None else a) * np.expm1(_f(x))
    ),
    ElementwiseFn.CLIP: lambda x, a, b: np.clip(
        x, -np.inf if a is None else a, np.inf if b is None else b
    ),
    ElementwiseFn.SIGMOID: lambda x, a, b: 1.0 / (1.0 + np.exp(-_f(x))),
    ElementwiseFn.HARDSIGMOID: lambda x, a, b: np.clip(
        (0.2 if a is None else a) * _f(x) + (0.5 if b is None else b), 0.0, 1.0
    ),
    ElementwiseFn.HARDSWISH: lambda x, a, b: _f(x) * np.clip(_f(x) / 6.0 + 0.5, 0.0, 1.0),
    ElementwiseFn.TANH: lambda x, a, b: np.tanh(_f(x)),
    ElementwiseFn.GELU: lambda x, a, b: 0.5 * _f(x) * (1.0 + erf(_f(x) / math.sqrt(2.0))),
    ElementwiseFn.GELU_TANH: lambda x, a, b: (
        0.5 * _f(x) * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (_f(x) + 0.044715 * _f(x) ** 3)))
    ),
    ElementwiseFn.SILU: lambda x, a, b: _f(x) / (1.0 + np.exp(-_f(x))),
    ElementwiseFn.SOFTPLUS: lambda x, a, b: np.logaddexp(0.0, _f(x)),
    ElementwiseFn.EXP: lambda x, a, b: np.exp(_f(x)),
    ElementwiseFn.LOG: lambda x, a, b: np.log(_f(x)),
    ElementwiseFn.SQRT: lambda x, a, b: np.sqrt(_f(x)),
    ElementwiseFn.RSQRT: lambda x, a, b: 1.0 / np.sqrt(_f(x)),
    ElementwiseFn.RECIPROCAL: lambda x, a, b: 1.0 / _f(x),
    ElementwiseFn.NEG: lambda x, a, b: -x,
    ElementwiseFn.ABS: lambda x, a, b: np.abs(x),
    ElementwiseFn.ERF: lambda x, a, b: erf(x),
    ElementwiseFn.FLOOR: lambda x, a, b: np.floor(x),
    ElementwiseFn.CEIL: lambda x, a, b: np.ceil(x),
    ElementwiseFn.SIN: lambda x, a, b: np.sin(_f(x)),
    ElementwiseFn.COS: lambda x, a, b: np.cos(_f(x)),
    ElementwiseFn.NOT: lambda x, a, b: np.logical_not(x),
    ElementwiseFn.TAN: lambda x, a, b: np.tan(_f(x)),
    ElementwiseFn.ASIN: lambda x, a, b: np.arcsin(_f(x)),
    ElementwiseFn.ACOS: lambda x, a, b: np.arccos(_f(x)),
    ElementwiseFn.ATAN: lambda x, a, b: np.arctan(_f(x)),
    ElementwiseFn.SINH: lambda x, a, b: np.sinh(_f(x)),
    ElementwiseFn.COSH: lambda x, a, b: np.cosh(_f(x)),
    ElementwiseFn.ASINH: lambda x, a, b: np.arcsinh(_f(x)),
    ElementwiseFn.ACOSH: lambda x, a, b: np.arccosh(_f(x)),
    ElementwiseFn.ATANH: lambda x, a, b: np.arctanh(_f(x)),
    ElementwiseFn.ROUND: lambda x, a, b: np.round(x),
    ElementwiseFn.SIGN: lambda x, a, b: np.sign(x),
    ElementwiseFn.ISNAN: lambda x, a, b: np.isnan(x),
    ElementwiseFn.ISINF: lambda x, a, b: np.isinf(x),
    ElementwiseFn.TO_F16: _narrow("float16"),
    ElementwiseFn.TO_BF16: _narrow("bfloat16"),
    ElementwiseFn.TO_F8E4M3FN: _narrow("float8_e4m3fn"),
    ElementwiseFn.TO_F8E4M3FNUZ: _narrow("float8_e4m3fnuz"),
    ElementwiseFn.TO_F8E5M2: _narrow("float8_e5m2"),
    ElementwiseFn.TO_F8E5M2FNUZ: _narrow("float8_e5m2fnuz"),
}

_BINARY: dict[ElementwiseFn, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ElementwiseFn.ADD: np.add,
    ElementwiseFn.SUB: np.subtract,
    ElementwiseFn.MUL: np.multiply,
    ElementwiseFn.DIV: _div,
    ElementwiseFn.POW: lambda a, b: np.power(_f(a), _f(b)),
    ElementwiseFn.MAX: np.maximum,
    ElementwiseFn.MIN: np.minimum,
    ElementwiseFn.MOD: _mod,
    ElementwiseFn.FMOD: _fmod,
    ElementwiseFn.EQUAL: np.equal,
    ElementwiseFn.LESS: np.less,
    ElementwiseFn.LESS_EQUAL: np.less_equal,
    ElementwiseFn.GREATER: np.greater,
    ElementwiseFn.GREATER_EQUAL: np.greater_equal,
    ElementwiseFn.AND: np.logical_and,
    ElementwiseFn.OR: np.logical_or,
    ElementwiseFn.XOR: np.logical_xor,
}


def _float(attr: Any) -> float | None:
    return None if attr is None else float(attr.value.data)


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    group: int,
) -> np.ndarray:
    """NCHW x OIHW grouped convolution (im2col + einsum, float64 accumulation)."""
    n, c, _, _ = x.shape
    o, ci, kh, kw = w.shape
    xp = np.pad(_f(x), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    sh, sw = strides
    dh, dw = dilations
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    # patches[n, c, i, j, oh, ow] = xp[n, c, i*dh + oh*sh, j*dw + ow*sw]
    idx_h = (np.arange(kh) * dh)[:, None] + (np.arange(oh) * sh)[None, :]
    idx_w = (np.arange(kw) * dw)[:, None] + (np.arange(ow) * sw)[None, :]
    patches = xp[:, :, idx_h[:, None, :, None], idx_w[None, :, None, :]]
    patches = patches.reshape(n, group, c // group, kh, kw, oh, ow)
    wg = _f(w).reshape(group, o // group, ci, kh, kw)
    out = np.einsum("ngcijhw,gocij->ngohw", patches, wg, optimize=True)
    out = out.reshape(n, o, oh, ow)
    if b is not None:
        out = out + _f(b).reshape(1, o, 1, 1)
    return out


def pool2d(
    x: np.ndarray,
    kind: PoolKind,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    count_include_pad: bool,
) -> np.ndarray:
    """2-D max / average pooling over NCHW with (top, left, bottom, right) pads."""
    kh, kw = kernel
    sh, sw = strides
    width = ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3]))
    fill = -np.inf if kind is PoolKind.MAX else 0.0
    xp = np.pad(_f(x), width, constant_values=fill)
    ones = np.pad(np.ones(x.shape[2:]), width[2:])
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    idx_h = np.arange(kh)[:, None] + (np.arange(oh) * sh)[None, :]
    idx_w = np.arange(kw)[:, None] + (np.arange(ow) * sw)[None, :]
    win = xp[:, :, idx_h[:, None, :, None], idx_w[None, :, None, :]]  # n c kh kw oh ow
    if kind is PoolKind.MAX:
        return win.max(axis=(2, 3))
    total = win.sum(axis=(2, 3))
    if count_include_pad:
        return total / (kh * kw)
    count = ones[idx_h[:, None, :, None], idx_w[None, :, None, :]].sum(axis=(0, 1))
    return total / count


def _lowest(dtype: np.dtype) -> Any:
    if dtype == np.bool_:
        return False
    return np.iinfo(dtype).min if np.issubdtype(dtype, np.integer) else -np.inf


def _highest(dtype: np.dtype) -> Any:
    if dtype == np.bool_:
        return True
    return np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else np.inf


def reduce(x: np.ndarray, fn: ReduceFn, axes: Sequence[int], keepdims: bool) -> np.ndarray:
    ax = tuple(axes)
    xf = _f(x) if np.issubdtype(x.dtype, np.floating) else x
    match fn:
        case ReduceFn.SUM:
            return np.sum(xf, axis=ax, keepdims=keepdims)
        case ReduceFn.MEAN:
            return np.mean(xf, axis=ax, keepdims=keepdims)
        case ReduceFn.MAX:
            # Reducing an empty set gives the identity: -inf (ONNX).
            return np.max(xf, axis=ax, keepdims=keepdims, initial=_lowest(xf.dtype))
        case ReduceFn.MIN:
            return np.min(xf, axis=ax, keepdims=keepdims, initial=_highest(xf.dtype))
        case ReduceFn.PROD:
            return np.prod(xf, axis=ax, keepdims=keepdims)
        case ReduceFn.SUM_SQUARE:
            return np.sum(xf * xf, axis=ax, keepdims=keepdims)
        case ReduceFn.L2:
            return np.sqrt(np.sum(xf * xf, axis=ax, keepdims=keepdims))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    xf = _f(x)
    e = np.exp(xf - xf.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray, axis: int, eps: float
) -> np.ndarray:
    xf = _f(x)
    ax = tuple(range(axis, x.ndim))
    mean = xf.mean(axis=ax, keepdims=True)
    var = ((xf - mean) ** 2).mean(axis=ax, keepdims=True)
    return (xf - mean) / np.sqrt(var + eps) * _f(scale) + _f(bias)


def rmsnorm(x: np.ndarray, scale: np.ndarray, eps: float) -> np.ndarray:
    xf = _f(x)
    return xf / np.sqrt((xf * xf).mean(axis=-1, keepdims=True) + eps) * _f(scale)


def slice_nd(
    x: np.ndarray, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> np.ndarray:
    """cim.slice: end = -1 (with a negative step) means through index 0."""
    index = tuple(
        slice(s, None if e < 0 else e, st) for s, e, st in zip(starts, ends, steps, strict=True)
    )
    return x[index]


def gather_elements(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    """ONNX GatherElements (negative indices count from the end)."""
    idx = np.asarray(idx).astype(np.int64)
    n = x.shape[axis]
    if np.any(idx >= n) or np.any(idx < -n):
        raise ReferenceError(f"gather_elements: index out of range for axis {axis} of size {n}")
    return np.take_along_axis(x, np.where(idx < 0, idx + n, idx), axis=axis)


def scatter_nd(
    data: np.ndarray, idx: np.ndarray, updates: np.ndarray, reduction: ScatterReduction
) -> np.ndarray:
    """ONNX ScatterND, updates applied in index order."""
    out = np.array(data, copy=True)
    idx = np.asarray(idx).astype(np.int64)
    depth = idx.shape[-1]
    flat_idx = idx.reshape(-1, depth)
    flat_upd = np.asarray(updates).reshape(flat_idx.shape[0], *data.shape[depth:])
    for where, upd in zip(flat_idx, flat_upd, strict=True):
        dims = data.shape[:depth]
        if any(not -d <= i < d for i, d in zip(where, dims, strict=True)):
            raise ReferenceError(f"scatter_nd: index {list(where)} out of range for {list(dims)}")
        key = tuple(int(i) for i in where)
        match reduction:
            case ScatterReduction.NONE:
                out[key] = upd
            case ScatterReduction.ADD:
                out[key] = out[key] + upd
            case ScatterReduction.MUL:
                out[key] = out[key] * upd
            case ScatterReduction.MAX:
                out[key] = np.maximum(out[key], upd)
            case ScatterReduction.MIN:
                out[key] = np.minimum(out[key], upd)
    return out


def cumsum(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
    """ONNX CumSum."""
    xf = _f(x) if np.issubdtype(x.dtype, np.floating) else x
    if reverse:
        xf = np.flip(xf, axis)
    out = np.cumsum(xf, axis=axis)
    if exclusive:
        out = out - xf
    return np.flip(out, axis) if reverse else out


def topk(x: np.ndarray, k: int, axis: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    """ONNX TopK: sorted values and indices; equal values keep index order."""
    key = -x if largest and x.dtype != np.bool_ else x
    if largest and x.dtype == np.bool_:
        key = ~x
    order = np.argsort(key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


@register_impls
class CimReference(InterpreterFunctions):
    """NumPy implementations of every `cim` op."""

    def __init__(self, store: WeightStore | None = None):
        self.store = store if store is not None else WeightStore()

    @impl(cim.ConstantOp)
    def run_constant(
        self, interp: Interpreter, op: cim.ConstantOp, args: PythonValues
    ) -> PythonValues:
        typ = op.result.type
        shape = tuple(cast(TensorType, typ).get_shape())
        sym = op.sym.data
        if isinstance(op.value, DenseIntOrFPElementsAttr):
            data = np.array(op.value.get_values(), dtype=np_dtype(typ)).reshape(shape)
            return (data,)
        if sym in self.store:
            data = np.asarray(self.store[sym])
            if tuple(data.shape) != shape:
                raise ReferenceError(
                    f"weight {sym!r}: stored shape {list(data.shape)} does not match {list(shape)}"
                )
            return (_as(data, typ),)
        raise ReferenceError(
            f"weight {sym!r} has no data: functional simulation needs the model's weights"
        )

    @impl(cim.LinearOp)
    def run_linear(self, interp: Interpreter, op: cim.LinearOp, args: PythonValues) -> PythonValues:
        x, w = args[0], args[1]
        y = _f(x) @ _f(w)
        if len(args) > 2:
            y = y + _f(args[2])
        return (_as(y, op.output.type),)

    @impl(cim.Conv2dOp)
    def run_conv(self, interp: Interpreter, op: cim.Conv2dOp, args: PythonValues) -> PythonValues:
        strides, pads, dilations, group = op.geometry()
        x, w, *rest = args
        y = conv2d(x, w, rest[0] if rest else None, strides, pads, dilations, group)
        return (_as(y, op.output.type),)

    @impl(cim.MatmulOp)
    def run_matmul(self, interp: Interpreter, op: cim.MatmulOp, args: PythonValues) -> PythonValues:
        return (_as(np.matmul(_f(args[0]), _f(args[1])), op.output.type),)

    @impl(cim.ElementwiseOp)
    def run_elementwise(
        self, interp: Interpreter, op: cim.ElementwiseOp, args: PythonValues
    ) -> PythonValues:
        fn = op.function
        if fn is ElementwiseFn.WHERE:
            y = np.where(np.asarray(args[0]).astype(bool), args[1], args[2])
        elif fn in _BINARY:
            y = _BINARY[fn](np.asarray(args[0]), np.asarray(args[1]))
        else:
            y = _UNARY[fn](np.asarray(args[0]), _float(op.alpha), _float(op.beta))
        y = np.broadcast_to(y, tuple(cast(TensorType, op.output.type).get_shape()))
        return (_as(y, op.output.type),)

    @impl(cim.SoftmaxOp)
    def run_softmax(
        self, interp: Interpreter, op: cim.SoftmaxOp, args: PythonValues
    ) -> PythonValues:
        return (_as(softmax(args[0], op.axis.value.data), op.output.type),)

    @impl(cim.LayerNormOp)
    def run_layernorm(
        self, interp: Interpreter, op: cim.LayerNormOp, args: PythonValues
    ) -> PythonValues:
        y = layernorm(args[0], args[1], args[2], op.axis.value.data, op.epsilon.value.data)
        return (_as(y, op.output.type),)

    @impl(cim.RMSNormOp)
    def run_rmsnorm(
        self, interp: Interpreter, op: cim.RMSNormOp, args: PythonValues
    ) -> PythonValues:
        return (_as(rmsnorm(args[0], args[1], op.epsilon.value.data), op.output.type),)

    @impl(cim.PoolOp)
    def run_pool(self, interp: Interpreter, op: cim.PoolOp, args: PythonValues) -> PythonValues:
        y = pool2d(
            args[0], op.kind.data, ints(op.kernel), ints(op.strides), ints(op.pads),
            bool(op.count_include_pad.value.data),
        )  # fmt: skip
        return (_as(y, op.output.type),)

    @impl(cim.ReduceOp)
    def run_reduce(self, interp: Interpreter, op: cim.ReduceOp, args: PythonValues) -> PythonValues:
        y = reduce(args[0], op.fn.data, ints(op.axes), bool(op.keepdims.value.data))
        return (_as(y, op.output.type),)

    @impl(cim.ReshapeOp)
    def run_reshape(
        self, interp: Interpreter, op: cim.ReshapeOp, args: PythonValues
    ) -> PythonValues:
        shape = tuple(cast(TensorType, op.output.type).get_shape())
        return (np.reshape(args[0], shape),)

    @impl(cim.TransposeOp)
    def run_transpose(
        self, interp: Interpreter, op: cim.TransposeOp, args: PythonValues
    ) -> PythonValues:
        return (_c(np.transpose(args[0], ints(op.perm))),)

    @impl(cim.SliceOp)
    def run_slice(self, interp: Interpreter, op: cim.SliceOp, args: PythonValues) -> PythonValues:
        y = slice_nd(args[0], ints(op.starts), ints(op.ends), ints(op.steps))
        return (_c(y),)

    @impl(cim.ConcatOp)
    def run_concat(self, interp: Interpreter, op: cim.ConcatOp, args: PythonValues) -> PythonValues:
        y = np.concatenate([np.asarray(a) for a in args], axis=op.axis.value.data)
        return (_as(y, op.output.type),)

    @impl(cim.GatherOp)
    def run_gather(self, interp: Interpreter, op: cim.GatherOp, args: PythonValues) -> PythonValues:
        x, idx = np.asarray(args[0]), np.asarray(args[1]).astype(np.int64)
        axis = op.axis.value.data
        if np.any(idx >= x.shape[axis]) or np.any(idx < -x.shape[axis]):
            raise ReferenceError(
                f"cim.gather: index out of range for axis {axis} of size {x.shape[axis]}"
            )
        return (np.take(x, idx, axis=axis),)

    @impl(cim.GatherElementsOp)
    def run_gather_elements(
        self, interp: Interpreter, op: cim.GatherElementsOp, args: PythonValues
    ) -> PythonValues:
        y = gather_elements(np.asarray(args[0]), np.asarray(args[1]), op.axis.value.data)
        return (_as(y, op.output.type),)

    @impl(cim.ScatterNDOp)
    def run_scatter_nd(
        self, interp: Interpreter, op: cim.ScatterNDOp, args: PythonValues
    ) -> PythonValues:
        y = scatter_nd(np.asarray(args[0]), np.asarray(args[1]), np.asarray(args[2]),
                       op.reduction.data)  # fmt: skip
        return (_as(y, op.output.type),)

    @impl(cim.CumSumOp)
    def run_cumsum(self, interp: Interpreter, op: cim.CumSumOp, args: PythonValues) -> PythonValues:
        y = cumsum(np.asarray(args[0]), op.axis.value.data, bool(op.exclusive.value.data),
                   bool(op.reverse.value.data))  # fmt: skip
        return (_as(y, op.output.type),)

    @impl(cim.TopKOp)
    def run_topk(self, interp: Interpreter, op: cim.TopKOp, args: PythonValues) -> PythonValues:
        v, i = topk(np.asarray(args[0]), op.k.value.data, op.axis.value.data,
                    bool(op.largest.value.data))  # fmt: skip
        return (_as(v, op.values.type), i)

    @impl(cim.BroadcastOp)
    def run_broadcast(
        self, interp: Interpreter, op: cim.BroadcastOp, args: PythonValues
    ) -> PythonValues:
        shape = tuple(cast(TensorType, op.output.type).get_shape())
        return (_c(np.broadcast_to(args[0], shape)),)

    @impl(cim.PadOp)
    def run_pad(self, interp: Interpreter, op: cim.PadOp, args: PythonValues) -> PythonValues:
        x = np.asarray(args[0])
        pads = ints(op.pads)
        r = x.ndim
        width = [(pads[i], pads[i + r]) for i in range(r)]
        y = np.pad(x, width, constant_values=op.value.value.data)
        return (_as(y, op.output.type),)

    @impl(cim.SegmentOp)
    def run_segment(
        self, interp: Interpreter, op: cim.SegmentOp, args: PythonValues
    ) -> PythonValues:
        return interp.run_ssacfg_region(op.body, (), f"segment{op.index.value.data}")

    @impl_terminator(cim.YieldOp)
    def run_yield(
        self, interp: Interpreter, op: cim.YieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()


def _sanitise(name: str) -> str:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return clean if clean and not clean[0].isdigit() else "v" + clean


def run_reference(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    store: WeightStore,
    function: str = "main",
) -> list[np.ndarray]:
    """Runs `function` of `module` on `inputs` (positional, or by input name)
    and returns its results as NumPy arrays."""
    from xdsl.dialects.func import FuncOp

    fn = next(
        (op for op in module.ops if isinstance(op, FuncOp) and op.sym_name.data == function),
        None,
    )
    if fn is None:
        raise ReferenceError(f"module has no function @{function}")
    block_args = fn.body.block.args
    if isinstance(inputs, Mapping):
        names, _ = io_names(fn)
        legacy = {_sanitise(k): k for k in inputs}
        ordered = []
        for _arg, name in zip(block_args, names, strict=True):
            # Exact model-level names first; the sanitised SSA spelling is
            # accepted for modules written before names were recorded.
            key = name if name in inputs else legacy.get(_sanitise(name))
            if key is None:
                raise ReferenceError(
                    f"no input given for argument {name!r} of @{function} (given: {sorted(inputs)})"
                )
            ordered.append(inputs[key])
        values: Sequence[np.ndarray] = ordered
    else:
        values = list(inputs)
    if len(values) != len(block_args):
        raise ReferenceError(f"@{function} takes {len(block_args)} input(s), {len(values)} given")
    args = []
    for k, (arg, value) in enumerate(zip(block_args, values, strict=True)):
        want = tuple(cast(TensorType, arg.type).get_shape())
        value = np.asarray(value)
        if tuple(value.shape) != want:
            raise ReferenceError(
                f"input {k} of @{function}: shape {list(value.shape)} != expected {list(want)}"
            )
        args.append(_as(value, arg.type))
    interp = Interpreter(module)
    interp.register_implementations(FuncFunctions())
    interp.register_implementations(CimReference(store))
    results = interp.call_op(function, tuple(args))
    return [np.asarray(r) for r in results]
