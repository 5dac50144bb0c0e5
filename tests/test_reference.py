"""The NumPy reference executor, op by op, against independent formulas
(brute-force loops for conv and pooling, closed forms elsewhere)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from xdsl.dialects.builtin import IntegerType, i64
from xdsl.ir import SSAValue

from cmswitch.builder import GraphBuilder
from cmswitch.dialects.cim import (
    BroadcastOp,
    ConcatOp,
    Conv2dOp,
    CumSumOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherElementsOp,
    GatherOp,
    LayerNormOp,
    LinearOp,
    MatmulOp,
    PadOp,
    PoolKind,
    PoolOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    RMSNormOp,
    ScatterNDOp,
    ScatterReduction,
    SliceOp,
    SoftmaxOp,
    TopKOp,
    TransposeOp,
)
from cmswitch.simulator.reference import ReferenceError, run_reference
from cmswitch.weights import WeightStore

RNG = np.random.default_rng(3)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def run(
    inputs: Sequence[np.ndarray],
    body: Callable[[GraphBuilder, list[SSAValue]], SSAValue | Sequence[SSAValue]],
) -> list[np.ndarray]:
    b = GraphBuilder()
    args = [
        b.input(f"in{k}", x.shape, i64 if x.dtype == np.int64 else None)  # type: ignore[arg-type]
        if x.dtype == np.int64 else b.input(f"in{k}", x.shape)
        for k, x in enumerate(inputs)
    ]  # fmt: skip
    out = body(b, args)
    b.output(*(out if isinstance(out, Sequence) else [out]))
    module = b.module()
    module.verify()
    return run_reference(module, list(inputs), b.store)


def close(got: np.ndarray, want: np.ndarray, tol: float = 1e-5) -> None:
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ------------------------------------------------------------------ compute


def test_linear_with_bias() -> None:
    x, w, bias = rand(2, 3, 5), rand(5, 4), rand(4)
    (y,) = run(
        [x],
        lambda b, a: b.add(
            LinearOp(a[0], b.weight("w", w.shape, w), b.weight("b", bias.shape, bias))
        ),
    )
    close(y, x @ w + bias)


def test_matmul_batched_broadcast() -> None:
    x, z = rand(2, 1, 3, 4), rand(5, 4, 6)
    (y,) = run([x, z], lambda b, a: b.add(MatmulOp(a[0], a[1])))
    close(y, np.matmul(x, z))


def conv_loops(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Sequence[int],
               pads: Sequence[int], dil: Sequence[int], group: int) -> np.ndarray:  # fmt: skip
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    xp = np.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]))
    xp[:, :, pads[0] : pads[0] + h, pads[1] : pads[1] + wd] = x
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    per = o // group
    for b in range(n):
        for oc in range(o):
            g = oc // per
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for cc in range(ci):
                        for p in range(kh):
                            for q in range(kw):
                                acc += (
                                    w[oc, cc, p, q]
                                    * xp[
                                        b,
                                        g * ci + cc,
                                        i * stride[0] + p * dil[0],
                                        j * stride[1] + q * dil[1],
                                    ]
                                )
                    out[b, oc, i, j] = acc + (bias[oc] if bias is not None else 0.0)
    return out


@pytest.mark.parametrize(
    ("cin", "cout", "group", "stride", "pads", "dil"),
    [
        (3, 4, 1, (1, 1), (1, 1, 1, 1), (1, 1)),
        (4, 4, 4, (2, 2), (1, 0, 2, 1), (1, 1)),  # depthwise, asymmetric pads
        (4, 6, 2, (1, 2), (0, 0, 0, 0), (2, 1)),  # grouped, dilated
    ],
)
def test_conv2d_against_loops(cin: int, cout: int, group: int, stride: tuple[int, int],
                              pads: tuple[int, ...], dil: tuple[int, int]) -> None:  # fmt: skip
    x, w, bias = rand(2, cin, 7, 6), rand(cout, cin // group, 3, 2), rand(cout)
    (y,) = run([x], lambda b, a: b.add(Conv2dOp(
        a[0], b.weight("w", w.shape, w), b.weight("b", bias.shape, bias),
        strides=stride, pads=pads, dilations=dil, group=group)))  # fmt: skip
    close(y, conv_loops(x, w, bias, stride, pads, dil, group).astype(np.float32), 1e-4)


# ------------------------------------------------------------------ vector


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf)(x.astype(np.float64))


UNARY: list[tuple[ElementwiseFn, dict[str, float], Callable[[np.ndarray], np.ndarray]]] = [
    (ElementwiseFn.RELU, {}, lambda x: np.maximum(x, 0)),
    (ElementwiseFn.LEAKY_RELU, {"alpha": 0.1}, lambda x: np.where(x > 0, x, 0.1 * x)),
    (ElementwiseFn.ELU, {"alpha": 0.7}, lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    (
        ElementwiseFn.CLIP,
        {"alpha": -0.5, "beta": 0.25},
        lambda x: np.minimum(np.maximum(x, -0.5), 0.25),
    ),
    (ElementwiseFn.SIGMOID, {}, lambda x: 1 / (1 + np.exp(-x))),
    (
        ElementwiseFn.HARDSIGMOID,
        {"alpha": 0.3, "beta": 0.4},
        lambda x: np.clip(0.3 * x + 0.4, 0, 1),
    ),
    (ElementwiseFn.HARDSWISH, {}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    (ElementwiseFn.TANH, {}, np.tanh),
    (ElementwiseFn.GELU, {}, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    (
        ElementwiseFn.GELU_TANH,
        {},
        lambda x: 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))),
    ),
    (ElementwiseFn.SILU, {}, lambda x: x / (1 + np.exp(-x))),
    (ElementwiseFn.SOFTPLUS, {}, lambda x: np.log1p(np.exp(x))),
    (ElementwiseFn.EXP, {}, np.exp),
    (ElementwiseFn.LOG, {}, lambda x: np.log(np.abs(x) + 1)),
    (ElementwiseFn.SQRT, {}, lambda x: np.sqrt(np.abs(x) + 1)),
    (ElementwiseFn.RSQRT, {}, lambda x: 1 / np.sqrt(np.abs(x) + 1)),
    (ElementwiseFn.RECIPROCAL, {}, lambda x: 1 / (np.abs(x) + 1)),
    (ElementwiseFn.NEG, {}, lambda x: -x),
    (ElementwiseFn.ABS, {}, np.abs),
    (ElementwiseFn.ERF, {}, _erf),
    (ElementwiseFn.FLOOR, {}, np.floor),
    (ElementwiseFn.CEIL, {}, np.ceil),
    (ElementwiseFn.SIN, {}, np.sin),
    (ElementwiseFn.COS, {}, np.cos),
]


@pytest.mark.parametrize(("fn", "params", "formula"), UNARY, ids=[u[0].value for u in UNARY])
def test_unary(
    fn: ElementwiseFn, params: dict[str, float], formula: Callable[[np.ndarray], np.ndarray]
) -> None:
    x = rand(3, 7) * 3
    positive = fn in (
        ElementwiseFn.LOG,
        ElementwiseFn.SQRT,
        ElementwiseFn.RSQRT,
        ElementwiseFn.RECIPROCAL,
    )
    arg = np.abs(x) + 1 if positive else x
    (y,) = run([arg.astype(np.float32)], lambda b, a: b.add(ElementwiseOp(fn, [a[0]], **params)))
    close(y, formula(x).astype(np.float32), 1e-5)


BINARY = [
    (ElementwiseFn.ADD, np.add), (ElementwiseFn.SUB, np.subtract), (ElementwiseFn.MUL, np.multiply),
    (ElementwiseFn.DIV, np.divide), (ElementwiseFn.MAX, np.maximum), (ElementwiseFn.MIN, np.minimum),
    (ElementwiseFn.POW, lambda a, b: np.abs(a) ** b),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "formula"), BINARY, ids=[b[0].value for b in BINARY])
def test_binary_broadcasts(fn: ElementwiseFn, formula: Callable[..., np.ndarray]) -> None:
    x, z = rand(2, 1, 4), rand(3, 1)
    if fn is ElementwiseFn.POW:
        x = np.abs(x)
    (y,) = run([x, z], lambda b, a: b.add(ElementwiseOp(fn, [a[0], a[1]])))
    close(y, formula(x, z).astype(np.float32))


def test_compare_where_cast_and_integer_ops() -> None:
    x, z = rand(3, 4), rand(4)
    i1 = IntegerType(1)

    def body(b: GraphBuilder, a: list[SSAValue]) -> list[SSAValue]:
        less = b.add(ElementwiseOp(ElementwiseFn.LESS, [a[0], a[1]], element_type=i1))
        sel = b.add(ElementwiseOp(ElementwiseFn.WHERE, [less, a[0], a[1]]))
        as_int = b.add(ElementwiseOp(ElementwiseFn.CAST, [a[0]], element_type=i64))
        seven = b.weight("seven", (), np.array(7, np.int64))
        neg_three = b.weight("m3", (), np.array(-3, np.int64))
        div = b.add(
            ElementwiseOp(
                ElementwiseFn.DIV, [neg_three, b.weight("two", (), np.array(2, np.int64))]
            )
        )
        mod = b.add(ElementwiseOp(ElementwiseFn.MOD, [neg_three, seven]))
        return [less, sel, as_int, div, mod]

    less, sel, as_int, div, mod = run([x * 3, z], body)
    assert less.dtype == np.bool_ and (less == (x * 3 < z)).all()
    close(sel, np.where(x * 3 < z, x * 3, z))
    assert as_int.dtype == np.int64 and (as_int == np.trunc(x * 3).astype(np.int64)).all()
    assert int(div) == -1  # truncating integer division (ONNX)
    assert int(mod) == 4  # ONNX Mod (fmod=0) takes the divisor's sign


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_softmax(axis: int) -> None:
    x = rand(2, 3, 4) * 5
    (y,) = run([x], lambda b, a: b.add(SoftmaxOp(a[0], axis)))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    close(y, e / e.sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [1, 2])
def test_layernorm_axis(axis: int) -> None:
    x = rand(2, 3, 4)
    scale, bias = rand(*x.shape[axis:]), rand(*x.shape[axis:])

    def body(b: GraphBuilder, a: list[SSAValue]) -> SSAValue:
        return b.add(
            LayerNormOp(
                a[0], b.weight("s", scale.shape, scale), b.weight("b", bias.shape, bias), axis, 1e-3
            )
        )

    (y,) = run([x], body)
    flat = x.reshape(*x.shape[:axis], -1).astype(np.float64)
    mu = flat.mean(-1, keepdims=True)
    sd = np.sqrt(flat.var(-1, keepdims=True) + 1e-3)
    close(y, (((flat - mu) / sd).reshape(x.shape) * scale + bias).astype(np.float32))


def test_rmsnorm() -> None:
    x, scale = rand(2, 5, 8), rand(8)
    (y,) = run([x], lambda b, a: b.add(RMSNormOp(a[0], b.weight("s", scale.shape, scale), 1e-6)))
    close(y, x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-6) * scale)


def pool_loops(x: np.ndarray, kind: PoolKind, k: Sequence[int], s: Sequence[int],
               pads: Sequence[int], include: bool) -> np.ndarray:  # fmt: skip
    n, c, h, w = x.shape
    oh = (h + pads[0] + pads[2] - k[0]) // s[0] + 1
    ow = (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            vals, count = [], 0
            for p in range(k[0]):
                for q in range(k[1]):
                    r, t = i * s[0] + p - pads[0], j * s[1] + q - pads[1]
                    count += 1
                    if 0 <= r < h and 0 <= t < w:
                        vals.append(x[:, :, r, t])
            stack = np.stack(vals)
            if kind is PoolKind.MAX:
                out[:, :, i, j] = stack.max(0)
            else:
                out[:, :, i, j] = stack.sum(0) / (count if include else len(vals))
    return out


@pytest.mark.parametrize("kind", [PoolKind.MAX, PoolKind.AVG])
@pytest.mark.parametrize("include", [False, True])
@pytest.mark.parametrize(
    ("k", "s", "pads"), [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 2), (2, 1), (1, 0, 1, 1))]
)
def test_pool_against_loops(kind: PoolKind, include: bool, k: tuple[int, int], s: tuple[int, int],
                            pads: tuple[int, ...]) -> None:  # fmt: skip
    x = rand(2, 3, 6, 5)
    (y,) = run([x], lambda b, a: b.add(PoolOp(kind, a[0], k, s, pads, include)))
    close(y, pool_loops(x, kind, k, s, pads, include).astype(np.float32))


REDUCE = [
    (ReduceFn.SUM, lambda x, ax, kd: x.sum(ax, keepdims=kd)),
    (ReduceFn.MEAN, lambda x, ax, kd: x.mean(ax, keepdims=kd)),
    (ReduceFn.MAX, lambda x, ax, kd: x.max(ax, keepdims=kd)),
    (ReduceFn.MIN, lambda x, ax, kd: x.min(ax, keepdims=kd)),
    (ReduceFn.PROD, lambda x, ax, kd: x.prod(ax, keepdims=kd)),
    (ReduceFn.SUM_SQUARE, lambda x, ax, kd: (x * x).sum(ax, keepdims=kd)),
    (ReduceFn.L2, lambda x, ax, kd: np.sqrt((x * x).sum(ax, keepdims=kd))),
]


@pytest.mark.parametrize(("fn", "formula"), REDUCE, ids=[r[0].value for r in REDUCE])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(fn: ReduceFn, formula: Callable[..., np.ndarray], keepdims: bool) -> None:
    x = rand(2, 3, 4)
    (y,) = run([x], lambda b, a: b.add(ReduceOp(fn, a[0], (0, 2), keepdims)))
    close(y, formula(x.astype(np.float64), (0, 2), keepdims).astype(np.float32))


# ------------------------------------------------------------------ layout


def test_layout_ops() -> None:
    x = rand(2, 3, 4)
    idx = np.array([[2, -1], [0, 1]], dtype=np.int64)

    def body(b: GraphBuilder, a: list[SSAValue]) -> list[SSAValue]:
        return [
            b.add(ReshapeOp(a[0], (6, 4))),
            b.add(TransposeOp(a[0], (2, 0, 1))),
            b.add(SliceOp(a[0], (0, 2, 3), (2, -1, 0), (1, -1, -2))),  # end -1: through 0
            b.add(ConcatOp([a[0], a[0]], 1)),
            b.add(GatherOp(a[0], b.weight("idx", idx.shape, idx), 1)),  # negative index
            b.add(BroadcastOp(b.add(ReshapeOp(a[0], (2, 1, 3, 4))), (2, 5, 3, 4))),
            b.add(PadOp(a[0], (0, 1, 2, 1, 0, 1), 0.5)),
        ]

    got = run([x], body)
    want = [
        x.reshape(6, 4), x.transpose(2, 0, 1), x[0:2, 2::-1, 3::-2],
        np.concatenate([x, x], 1), np.take(x, idx, axis=1),
        np.broadcast_to(x[:, None], (2, 5, 3, 4)),
        np.pad(x, ((0, 1), (1, 0), (2, 1)), constant_values=0.5),
    ]  # fmt: skip
    for g, w in zip(got, want, strict=True):
        close(g, w.astype(np.float32))


def test_gather_on_integer_ids_input() -> None:
    table, ids = rand(10, 4), np.array([[3, 9, 0]], dtype=np.int64)
    (y,) = run([ids], lambda b, a: b.add(GatherOp(b.weight("emb", table.shape, table), a[0], 0)))
    close(y, table[ids])


# ------------------------------------------------------------------ API


def test_missing_weight_is_a_clear_error() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    b.output(b.add(LinearOp(x, b.weight("fc.weight", (4, 2)))))
    with pytest.raises(
        ReferenceError, match=r"weight 'fc\.weight' has no data: functional simulation"
    ):
        run_reference(b.module(), [np.zeros((1, 4), np.float32)], b.store)


def test_inputs_by_name_and_errors() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 2))
    z = b.input("z", (2, 2))
    b.output(b.add(ElementwiseOp(ElementwiseFn.SUB, [x, z])))
    module = b.module()
    a, c = rand(2, 2), rand(2, 2)
    (y,) = run_reference(module, {"z": c, "x": a}, WeightStore())
    close(y, a - c)
    with pytest.raises(ReferenceError, match="no input given"):
        run_reference(module, {"x": a}, WeightStore())
    with pytest.raises(ReferenceError, match="shape"):
        run_reference(module, [a, rand(3, 2)], WeightStore())
    with pytest.raises(ReferenceError, match="takes 2 input"):
        run_reference(module, [a], WeightStore())


# ------------------------------------------------------------------ issue 10 ops


def test_mod_and_fmod_signs_on_floats() -> None:
    a = np.array([5.5, -5.5, 5.5, -5.5], np.float32)
    d = np.array([2.0, 2.0, -2.0, -2.0], np.float32)

    def body(b: GraphBuilder, x: list[SSAValue]) -> list[SSAValue]:
        return [
            b.add(ElementwiseOp(ElementwiseFn.MOD, x)),
            b.add(ElementwiseOp(ElementwiseFn.FMOD, x)),
        ]

    mod, fmod = run([a, d], body)
    # Hand-derived: Python's % takes the divisor's sign, C fmod the dividend's.
    np.testing.assert_array_equal(mod, [1.5, 0.5, -0.5, -1.5])
    np.testing.assert_array_equal(fmod, [1.5, -1.5, 1.5, -1.5])


def test_isnan_isinf_round_sign() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 2.5, -0.5, 0.0, 1.5], np.float32)
    i1 = IntegerType(1)

    def body(b: GraphBuilder, a: list[SSAValue]) -> list[SSAValue]:
        return [
            b.add(ElementwiseOp(ElementwiseFn.ISNAN, a, element_type=i1)),
            b.add(ElementwiseOp(ElementwiseFn.ISINF, a, element_type=i1)),
            b.add(ElementwiseOp(ElementwiseFn.ROUND, a)),
            b.add(ElementwiseOp(ElementwiseFn.SIGN, a)),
        ]

    nan, inf, rnd, sign = run([x], body)
    assert nan.tolist() == [True, False, False, False, False, False, False]
    assert inf.tolist() == [False, True, True, False, False, False, False]
    np.testing.assert_array_equal(rnd[3:], [2.0, -0.0, 0.0, 2.0])  # half to even
    np.testing.assert_array_equal(sign[1:], [1.0, -1.0, 1.0, -1.0, 0.0, 1.0])


def test_narrow_float_rounding_by_hand() -> None:
    # 1 + 2^-8 lies halfway between two bfloat16 neighbours (1 and 1 + 2^-7):
    # round to even gives 1; 1 + 3 * 2^-9 rounds up. float16 keeps both.
    x = np.array([1 + 2**-8, 1 + 3 * 2**-9, 70000.0], np.float32)

    def body(b: GraphBuilder, a: list[SSAValue]) -> list[SSAValue]:
        return [b.add(ElementwiseOp(ElementwiseFn.TO_BF16, a)),
                b.add(ElementwiseOp(ElementwiseFn.TO_F16, a))]  # fmt: skip

    bf, hf = run([x], body)
    np.testing.assert_array_equal(bf[:2], [1.0, 1 + 2**-7])
    assert bf[2] == 70144.0  # bf16 keeps the f32 range
    np.testing.assert_array_equal(hf[:2], x[:2])
    assert np.isinf(hf[2])  # beyond float16's 65504


def test_gather_elements_against_loops() -> None:
    x = rand(3, 5, 4)
    idx = RNG.integers(-5, 5, (3, 2, 4)).astype(np.int64)
    (got,) = run([x, idx], lambda b, a: b.add(GatherElementsOp(a[0], a[1], 1)))
    want = np.empty(idx.shape, np.float32)
    for i, j, k in np.ndindex(*idx.shape):
        want[i, j, k] = x[i, idx[i, j, k] % 5, k]
    close(got, want)


def test_scatter_nd_against_loops() -> None:
    x = rand(4, 3, 2)
    where = np.array([[1, 2], [3, 0], [1, 2]], np.int64)  # a repeated index
    upd = rand(3, 2)
    for red in ScatterReduction:
        (got,) = run([x, where, upd], lambda b, a, r=red: b.add(ScatterNDOp(a[0], a[1], a[2], r)))
        want = x.copy()
        for (i, j), u in zip(where, upd, strict=True):
            old = want[i, j]
            want[i, j] = {
                ScatterReduction.NONE: u, ScatterReduction.ADD: old + u,
                ScatterReduction.MUL: old * u, ScatterReduction.MAX: np.maximum(old, u),
                ScatterReduction.MIN: np.minimum(old, u),
            }[red]  # fmt: skip
        close(got, want)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_against_loops(exclusive: bool, reverse: bool) -> None:
    x = rand(3, 6)
    (got,) = run([x], lambda b, a: b.add(CumSumOp(a[0], 1, exclusive, reverse)))
    want = np.zeros_like(x)
    for i in range(3):
        for j in range(6):
            span = range(j + 1, 6) if reverse else range(j)
            if not exclusive:
                span = range(j, 6) if reverse else range(j + 1)
            want[i, j] = sum(x[i, t] for t in span)
    close(got, want)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_ties_keep_index_order(largest: bool) -> None:
    x = np.array([[2.0, 7.0, 2.0, 7.0, 1.0]], np.float32)

    def body(b: GraphBuilder, a: list[SSAValue]) -> list[SSAValue]:
        op = TopKOp(a[0], 3, 1, largest)
        b.add(op)
        return [op.values, op.indices]

    v, i = run([x], body)
    if largest:
        assert v.tolist() == [[7.0, 7.0, 2.0]] and i.tolist() == [[1, 3, 0]]
    else:
        assert v.tolist() == [[1.0, 2.0, 2.0]] and i.tolist() == [[4, 0, 2]]
    assert i.dtype == np.int64


def test_empty_max_min_reduce_is_the_identity() -> None:
    x = np.zeros((2, 0), np.float32)
    (mx,) = run([x], lambda b, a: b.add(ReduceOp(ReduceFn.MAX, a[0], [1], False)))
    (mn,) = run([x], lambda b, a: b.add(ReduceOp(ReduceFn.MIN, a[0], [1], False)))
    assert mx.tolist() == [-np.inf, -np.inf] and mn.tolist() == [np.inf, np.inf]
