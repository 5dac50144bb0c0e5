"""Random ONNX graphs of the operators the importer supports, with random
shapes, for differential testing against ONNX Runtime.

A graph is drawn step by step through a :class:`Draw` (hypothesis in the
test suite, a seeded :class:`random.Random` in ``benchmarks/random_graphs.py``)
from ``onnx.helper`` nodes: elementwise ops (with broadcasting constants),
``MatMul`` against constant weights and between run-time tensors, ``Gemm``
(also after ``Flatten``, with a bias and a long reduction),
``Conv`` (grouped and depthwise, strided, padded) with ``BatchNormalization``,
pools, ``Softmax``, ``LayerNormalization``, reductions and the layout ops
(``Reshape``, ``Flatten``, ``Transpose``, ``Slice``, ``Concat``,
``Unsqueeze``/``Squeeze``). Every graph has at least one CIM operator, so
there is something to schedule; weights are scaled so values stay of order
one. :func:`check_graph` imports it for a small chip (so that operators must
be split), compiles it under one policy, runs the compiled IR with the
reference executor and compares with ONNX Runtime.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T = TypeVar("T")
OPSET = 18
MAX_ELEMS = 4096
ROW_LIMIT = 24
"""Most rows (reduction length) of a run-time MatMul or a convolution kernel:
cim-split cuts those operators along their outputs only, and the smallest
budget here (``static:0.5`` of :func:`small_chip`) is 3 arrays of 8 rows."""
GROUP_ARRAYS = 3
"""Most arrays one group of a grouped convolution may need (cim-split keeps
groups whole): the ``static:0.5`` budget."""
POLICIES = ("cmswitch", "cim-mlc", "all-compute-dp", "puma", "static:0.5", "static:0.75")


class Draw(Protocol):
    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        ...

    def choice(self, items: Sequence[T]) -> T: ...


class RandomDraw:
    """A :class:`Draw` from a seeded `random.Random` (the benchmark's)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]


@dataclass
class _State:
    draw: Draw
    rng: np.random.Generator
    tensors: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    cim_ops: int = 0
    count: int = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, array: np.ndarray, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.array(values, dtype=np.int64), "k")

    def weight(self, *shape: int, fan_in: int = 1) -> str:
        w = self.rng.standard_normal(shape).astype(np.float32) / math.sqrt(max(1, fan_in))
        return self.const(w, "w")

    def node(self, op: str, inputs: list[str], shape: tuple[int, ...], **attrs: object) -> str:
        out = self.name("t")
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op.lower()}{self.count}",
                                           **attrs))  # fmt: skip
        self.ops.append(op)
        if all(d >= 1 for d in shape) and math.prod(shape) <= MAX_ELEMS:
            self.tensors.append((out, shape))
        return out

    def pick(
        self, rank: int | None = None, min_rank: int = 1
    ) -> tuple[str, tuple[int, ...]] | None:
        fits = [
            t for t in self.tensors
            if (rank is None or len(t[1]) == rank) and len(t[1]) >= min_rank
        ]  # fmt: skip
        return self.draw.choice(fits) if fits else None


# ------------------------------------------------------------------ operators


def _unary(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    op = s.draw.choice(["Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Erf", "Softplus", "HardSwish",
                        "Sin", "Cos", "LeakyRelu", "Elu", "HardSigmoid"])  # fmt: skip
    attrs: dict[str, object] = {}
    if op == "LeakyRelu":
        attrs["alpha"] = s.draw.choice([0.01, 0.2])
    elif op == "Elu":
        attrs["alpha"] = s.draw.choice([1.0, 0.5])
    s.node(op, [x], shape, **attrs)
    return True


def _broadcast_shape(s: _State, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to `shape`: a suffix, some dims set to 1."""
    keep = s.draw.int(1, len(shape))
    return tuple(d if s.draw.int(0, 2) else 1 for d in shape[len(shape) - keep :])


def _binary(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    op = s.draw.choice(["Add", "Sub", "Mul", "Div"])
    same = [t for t, sh in s.tensors if sh == shape]
    if op != "Div" and s.draw.int(0, 1) and len(same) > 1:
        other = s.draw.choice(same)
    else:
        cshape = _broadcast_shape(s, shape)
        value = s.rng.uniform(0.5, 2.0, cshape) * s.rng.choice([-1.0, 1.0], cshape)
        other = s.const(value.astype(np.float32))
    inputs = [x, other] if s.draw.int(0, 1) or op == "Div" else [other, x]
    s.node(op, inputs, shape)
    return True


def _matmul_const(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    k, n = shape[-1], s.draw.int(1, 12)
    s.node("MatMul", [x, s.weight(k, n, fan_in=k)], (*shape[:-1], n))
    s.cim_ops += 1
    return True


def _matmul_runtime(s: _State) -> bool:
    picked = s.pick(min_rank=2)
    if picked is None:
        return False
    x, shape = picked
    if max(shape[-2:]) > ROW_LIMIT:  # cim-split refuses a run-time K beyond the chip's rows
        return False
    rank = len(shape)
    perm = [*range(rank - 2), rank - 1, rank - 2]
    xt = s.node("Transpose", [x], tuple(shape[p] for p in perm), perm=perm)
    first, second = (x, xt) if s.draw.int(0, 1) else (xt, x)
    m = shape[-2] if first == x else shape[-1]
    s.node("MatMul", [first, second], (*shape[:-2], m, m))
    s.cim_ops += 1
    return True


def _gemm(s: _State) -> bool:
    picked = s.pick(rank=2)
    if picked is None:
        return False
    x, (m, k) = picked
    n = s.draw.int(1, 12)
    trans_b = s.draw.int(0, 1)
    w = s.weight(*((n, k) if trans_b else (k, n)), fan_in=k)
    inputs = [x, w] + ([s.weight(n)] if s.draw.int(0, 1) else [])
    alpha = s.draw.choice([1.0, 0.5])
    s.node("Gemm", inputs, (m, n), transB=trans_b, alpha=alpha, beta=s.draw.choice([1.0, 2.0]))
    s.cim_ops += 1
    return True


def _dense(s: _State) -> bool:
    """A classifier head as exporters write it: Flatten, then Gemm with a
    bias (a long K: the split cuts it into partial sums)."""
    x, shape = s.draw.choice(s.tensors)
    m, k = math.prod(shape[:1]), math.prod(shape[1:])
    if len(shape) != 2:
        x = s.node("Flatten", [x], (m, k), axis=1)
    n = s.draw.int(1, 12)
    s.node("Gemm", [x, s.weight(n, k, fan_in=k), s.weight(n)], (m, n), transB=1)
    s.cim_ops += 1
    return True


def _conv(s: _State) -> bool:
    picked = s.pick(rank=4)
    if picked is None:
        return False
    x, (b, c, h, w) = picked
    k = s.draw.int(1, 3)
    stride, pad = s.draw.int(1, 2), s.draw.int(0, 1)
    if h + 2 * pad < k or w + 2 * pad < k:
        return False
    group = c if c > 1 and s.draw.int(0, 2) == 0 else 1
    out_c = group * s.draw.int(1, max(1, 8 // group)) if group > 1 else s.draw.int(1, 8)
    if c // group * k * k > ROW_LIMIT:  # cim-split does not split a kernel's rows
        return False
    if group > 1 and math.ceil(c // group * k * k / 8) * (out_c // group) > GROUP_ARRAYS:
        return False  # nor one group's weights
    weight = s.weight(out_c, c // group, k, k, fan_in=c // group * k * k)
    inputs = [x, weight] + ([s.weight(out_c)] if s.draw.int(0, 1) else [])
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    y = s.node("Conv", inputs, (b, out_c, oh, ow), kernel_shape=[k, k], strides=[stride] * 2,
               pads=[pad] * 4, group=group)  # fmt: skip
    s.cim_ops += 1
    if s.draw.int(0, 1):
        params = [s.weight(out_c), s.weight(out_c), s.weight(out_c),
                  s.const(s.rng.uniform(0.5, 2.0, out_c).astype(np.float32))]  # fmt: skip
        s.node("BatchNormalization", [y, *params], (b, out_c, oh, ow))
    return True


def _pool(s: _State) -> bool:
    picked = s.pick(rank=4)
    if picked is None:
        return False
    x, (b, c, h, w) = picked
    op = s.draw.choice(["MaxPool", "AveragePool", "GlobalAveragePool"])
    if op == "GlobalAveragePool":
        s.node(op, [x], (b, c, 1, 1))
        return True
    if h < 2 or w < 2:
        return False
    stride = s.draw.int(1, 2)
    s.node(op, [x], (b, c, (h - 2) // stride + 1, (w - 2) // stride + 1), kernel_shape=[2, 2],
           strides=[stride, stride])  # fmt: skip
    return True


def _softmax(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    s.node("Softmax", [x], shape, axis=s.draw.int(-len(shape), len(shape) - 1))
    return True


def _layernorm(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    d = shape[-1]
    scale = s.const((1 + 0.1 * s.rng.standard_normal(d)).astype(np.float32))
    s.node("LayerNormalization", [x, scale, s.weight(d)], shape, axis=-1)
    return True


def _reduce(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    op = s.draw.choice(["ReduceMean", "ReduceSum", "ReduceMax"])
    axes = sorted({s.draw.int(0, len(shape) - 1) for _ in range(s.draw.int(1, len(shape)))})
    keep = 1 if len(axes) == len(shape) else s.draw.int(0, 1)
    out = tuple(1 if a in axes else d for a, d in enumerate(shape) if keep or a not in axes)
    s.node(op, [x, s.ints(axes)], out, keepdims=keep)
    return True


def _reshape(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    total = math.prod(shape)
    divisors = [d for d in range(1, total + 1) if total % d == 0]
    first = s.draw.choice(divisors)
    target = [first, -1] if s.draw.int(0, 1) else [first, total // first]
    s.node("Reshape", [x, s.ints(target)], (first, total // first))
    return True


def _flatten(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    axis = s.draw.int(0, len(shape))
    s.node("Flatten", [x], (math.prod(shape[:axis]), math.prod(shape[axis:])), axis=axis)
    return True


def _transpose(s: _State) -> bool:
    picked = s.pick(min_rank=2)
    if picked is None:
        return False
    x, shape = picked
    perm = list(range(len(shape)))
    for i in range(len(perm) - 1, 0, -1):  # a drawn Fisher-Yates shuffle
        j = s.draw.int(0, i)
        perm[i], perm[j] = perm[j], perm[i]
    s.node("Transpose", [x], tuple(shape[p] for p in perm), perm=perm)
    return True


def _slice(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    axis = s.draw.int(0, len(shape) - 1)
    dim = shape[axis]
    start = s.draw.int(0, dim - 1)
    end = s.draw.int(start + 1, dim)
    step = s.draw.int(1, 2)
    out = list(shape)
    out[axis] = len(range(start, end, step))
    inputs = [x, s.ints([start]), s.ints([end]), s.ints([axis]), s.ints([step])]
    s.node("Slice", inputs, tuple(out))
    return True


def _concat(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    axis = s.draw.int(0, len(shape) - 1)
    same = [t for t, sh in s.tensors if len(sh) == len(shape)
            and all(a == b for k, (a, b) in enumerate(zip(sh, shape, strict=True)) if k != axis)]  # fmt: skip
    other = s.draw.choice(same)
    other_shape = dict(s.tensors)[other]
    out = list(shape)
    out[axis] += other_shape[axis]
    s.node("Concat", [x, other], tuple(out), axis=axis)
    return True


def _unsqueeze(s: _State) -> bool:
    x, shape = s.draw.choice(s.tensors)
    if len(shape) >= 4:
        ones = [k for k, d in enumerate(shape) if d == 1]
        if not ones:
            return False
        axis = s.draw.choice(ones)
        s.node("Squeeze", [x, s.ints([axis])], tuple(d for k, d in enumerate(shape) if k != axis))
        return True
    axis = s.draw.int(0, len(shape))
    s.node("Unsqueeze", [x, s.ints([axis])], (*shape[:axis], 1, *shape[axis:]))
    return True


_OPS: tuple[Callable[[_State], bool], ...] = (
    _unary, _binary, _matmul_const, _matmul_runtime, _gemm, _dense, _conv, _conv, _pool, _softmax,
    _layernorm, _reduce, _reshape, _flatten, _transpose, _slice, _concat, _unsqueeze,
)  # fmt: skip


# ------------------------------------------------------------------ graphs

_CIM = frozenset(("MatMul", "Gemm", "Conv"))


def _feeds_on_cim(s: _State, name: str) -> bool:
    """Whether a CIM operator is among `name`'s producers."""
    producer = {o: n for n in s.nodes for o in n.output}
    todo, seen = [name], set()
    while todo:
        node = producer.get(todo.pop())
        if node is None or node.name in seen:
            continue
        if node.op_type in _CIM:
            return True
        seen.add(node.name)
        todo += list(node.input)
    return False


@dataclass(frozen=True)
class RandomGraph:
    model: onnx.ModelProto
    feeds: dict[str, np.ndarray]
    ops: tuple[str, ...]
    policy: str

    def describe(self) -> str:
        inputs = {k: list(v.shape) for k, v in self.feeds.items()}
        return f"policy {self.policy}, inputs {inputs}, ops {' '.join(self.ops)}"


def random_graph(draw: Draw, policy: str | None = None) -> RandomGraph:
    """A random graph (1-2 inputs, 1-10 steps, 1-2 outputs) and its feeds."""
    s = _State(draw, np.random.default_rng(draw.int(0, 2**31)))
    inputs = []
    for k in range(draw.int(1, 2)):
        rank = draw.int(2, 4)
        if rank == 4:
            shape = (draw.int(1, 2), draw.int(1, 6), draw.int(2, 8), draw.int(2, 8))
        else:
            shape = tuple(draw.int(1, 8) for _ in range(rank))
        name = draw.choice(["x", "input.1", "data_0"]) + f"_{k}" if k else draw.choice(
            ["x", "input.1", "data_0"])  # fmt: skip
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        s.tensors.append((name, shape))
    for _ in range(draw.int(1, 10)):
        for _attempt in range(4):
            if draw.choice(_OPS)(s):
                break
    produced = [t for t in s.tensors if t[0] not in {i.name for i in inputs}]
    if not produced or not _feeds_on_cim(s, produced[-1][0]):
        # the output must depend on a CIM operator (dead ones are dropped)
        x, shape = produced[-1] if produced else s.tensors[-1]
        out = s.node("MatMul", [x, s.weight(shape[-1], 1, fan_in=shape[-1])], (*shape[:-1], 1))
        produced.append((out, (*shape[:-1], 1)))
    outs = [produced[-1]]
    if len(produced) > 1 and draw.int(0, 1):
        outs.append(draw.choice(produced[:-1]))
    graph = helper.make_graph(
        s.nodes, "random", inputs,
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(sh)) for o, sh in outs], s.inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    feeds = {
        i.name: s.rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in inputs
    }
    return RandomGraph(model, feeds, tuple(s.ops), policy or draw.choice(POLICIES))


# ------------------------------------------------------------------ checking


def small_chip() -> object:
    """6 arrays of 8 x 8 one-bit cells (8 x 1 eight-bit weights each): many
    random CIM operators need splitting, and few fit on the chip together."""
    from cmswitch.hardware import Hardware

    return Hardware.from_dict(
        {**Hardware.preset("dynaplasia").to_dict(), "name": "small", "arrays": 6, "rows": 8,
         "cols": 8}
    )  # fmt: skip


def onnxruntime_outputs(graph: RandomGraph) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        graph.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(o) for o in sess.run(None, graph.feeds)]


def check_graph(graph: RandomGraph, hw: object | None = None) -> None:
    """Import, split, schedule under the graph's policy, run the compiled IR
    and compare it with ONNX Runtime; AssertionError on any difference."""
    from cmswitch.compile import compile_model, parse_policy
    from cmswitch.hardware import Hardware
    from cmswitch.lowering.onnx_to_cim import import_onnx
    from cmswitch.models import LoadedModel
    from cmswitch.passes.cim_schedule import ScheduleOptions
    from cmswitch.simulator.reference import run_reference

    chip = hw if isinstance(hw, Hardware) else small_chip()
    assert isinstance(chip, Hardware)
    want = onnxruntime_outputs(graph)
    imported = import_onnx(graph.model, hardware=chip)
    options = parse_policy(graph.policy, ScheduleOptions(jobs=1))
    model = LoadedModel("random", imported.module, imported.store, chip)
    result = compile_model(model, options)
    result.module.verify()
    assert result.schedule.latency_cycles > 0
    got = run_reference(result.module, graph.feeds, imported.store)
    assert len(got) == len(want), (len(got), len(want))
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.shape == w.shape, f"output {k}: shape {g.shape} != ONNX Runtime's {w.shape}"
        scale = max(1.0, float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0)))
        np.testing.assert_allclose(
            g, w, rtol=1e-3, atol=1e-4 * scale, err_msg=f"output {k} ({graph.describe()})"
        )
