"""The workload a `cim` function puts on the chip, as plain Python data.

Solvers, cost models and reports work on a :class:`Workload`, not on IR: it
lists the CIM operators in topological (program) order with their MMM
shapes, byte counts, arithmetic intensities and minimum arrays on a given
chip, the data edges between CIM operators (traced through vector ops), and
the vector-unit work that follows each CIM operator.

Arithmetic intensity (spec section 3) comes in three flavours:

* ``roofline``: MACs over the bytes of inputs, weights and outputs,
  ``M*N*K / (M*N + N*K + M*K)`` per group at the hardware's precisions;
  the paper's motivation numbers (ResNet-50 ~66 FLOP/B, LLaMA-2 decode ~2)
  are this (in FLOPs, i.e. twice the MACs).
* ``input``: MACs per input element, i.e. K (the paper's Fig. 12 example).
* ``streamed``: MACs over the bytes that cross during compute, inputs and
  outputs only, ``M*N*K / (M*N + M*K)`` per group. In a weight-stationary
  array the weights cross the external channel once, when programmed, and
  the reload term charges that; counting them here as well would credit
  memory-mode arrays with supplying weight bandwidth never used while
  computing. The ``strict`` cost model uses only this one. A convolution's
  input is counted as its im2col rows (``M x N``, ``N = kh*kw*cin``), as
  the chip execution model of ``docs/DESIGN.md`` streams it: each input row
  crosses its source once per copy, ``N * act_bytes`` per row of ``M``
  (there is no line buffer that would reuse the overlap of neighbouring
  windows, so a k x k convolution streams about k^2 times its feature map).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Operation, SSAValue

from cmswitch.dialects.cim import (
    BroadcastOp,
    ComputeOp,
    ConcatOp,
    ConstantOp,
    Conv2dOp,
    ElementwiseOp,
    GatherOp,
    LayerNormOp,
    LayoutOp,
    LinearOp,
    MatmulOp,
    MatmulShape,
    ReshapeOp,
    RMSNormOp,
    SegmentOp,
    SliceOp,
    SoftmaxOp,
    VectorOp,
    YieldOp,
    is_static_value,
    numel,
    shape_of,
    through_segments,
)
from cmswitch.hardware import Hardware

AiModel = Literal["roofline", "input", "streamed"]

FORMAT = 3
"""Bumped when the fields of :class:`Workload` or :class:`CimOpInfo` change,
so pickled workloads (``benchmarks/schedule_quality.py``'s cache) of an
older format are never read back with defaults in the new fields. 2:
``CimOpInfo.source`` and ``Workload.vector_edges``; 3:
``CimOpInfo.vector_bytes``, ``CimOpInfo.vector_peak`` and
``Workload.leading_vector_bytes``."""

SYNTHETIC_VECTOR_ACCESSES = 2.0
""":meth:`Workload.from_ops` has no vector ops, only their work: it takes
each element of work as one unary op's read and write (``vector_bytes =
2 x work x act_bytes``)."""


@dataclass(frozen=True)
class CimOpInfo:
    """One CIM operator of the workload."""

    index: int
    """Position among the CIM operators (topological order)."""
    name: str
    kind: str
    """``linear``, ``conv2d`` or ``matmul``."""
    shape: MatmulShape
    min_arrays: int
    """Fewest compute arrays that hold its N x K matrices on the chip."""
    weight_bytes: float
    input_bytes: float
    output_bytes: float
    preds: tuple[int, ...]
    """CIM operators whose results it consumes (through vector ops)."""
    vector_work: int
    """Vector-unit elements of the non-CIM ops between it and the next CIM op."""
    live_out: bool
    """Its result (or something derived from it) is a function output."""
    layer: int = -1
    """Index of the first operator of its layer: sub-operators made by
    ``cim-split`` from one operator share it (their ``origin`` attribute);
    -1 (the default) means the operator is a layer of its own."""
    source: int = -1
    """The CIM operator producing its streamed operand (a linear's or
    convolution's input, a matmul's left operand); -1 when that operand is
    a function argument."""
    vector_bytes: float = 0.0
    """Bytes the non-CIM ops it hosts read and write, as the execution
    model moves them: each op reads every run-time operand this host's
    chain made, whole, and writes its result (a reshape is a view: none).
    Operands made by other hosts are edges (:attr:`Workload.edges`)."""
    vector_peak: float = 0.0
    """The most bytes of its chain's values (its output and those ops'
    results) alive at once, from each value's write to its last reader
    anywhere: the chain's working set (a softmax over the concatenated
    parts of a split product, results kept for later segments)."""

    def __post_init__(self) -> None:
        if self.layer < 0:
            object.__setattr__(self, "layer", self.index)

    @property
    def macs(self) -> int:
        return self.shape.macs

    @property
    def stationary(self) -> bool:
        return self.shape.stationary

    def ai(self, model: AiModel = "roofline") -> float:
        """Arithmetic intensity in MACs per byte (roofline: inputs, weights
        and outputs; streamed: inputs and outputs) or per input element
        (input)."""
        if model == "input":
            return float(self.shape.k)
        if model == "streamed":
            return self.macs / (self.input_bytes + self.output_bytes)
        if model != "roofline":
            raise ValueError(f"unknown arithmetic intensity {model!r}")
        return self.macs / (self.input_bytes + self.weight_bytes + self.output_bytes)


@dataclass(frozen=True)
class Workload:
    """The CIM operators of one function on one chip."""

    hardware: Hardware
    ops: tuple[CimOpInfo, ...]
    edges: dict[tuple[int, int], float] = field(default_factory=dict)
    """(producer, consumer) -> bytes passed."""
    leading_vector_work: int = 0
    """Vector work before the first CIM operator."""
    name: str = "model"
    whole_edges: frozenset[tuple[int, int]] = frozenset()
    """Edges whose reader waits for the producer's whole tensor, not row by
    row (execution model, *Tiles*: a pooling, transpose or reduction on
    the way, a change of row count, attention's operands and results)."""
    vector_edges: frozenset[tuple[int, int]] = frozenset()
    """Edges only vector ops hosted at the reader read (a residual add's
    other operand): their bytes are read by the vector unit, not streamed
    into the arrays."""
    leading_vector_bytes: float = 0.0
    """Bytes the vector ops before the first CIM operator read and write
    (no memory arrays hold them: they cross the channel)."""

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[CimOpInfo]:
        return iter(self.ops)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def weight_bytes(self) -> float:
        return sum(op.weight_bytes for op in self.ops if op.stationary)

    @property
    def vector_work(self) -> int:
        return self.leading_vector_work + sum(op.vector_work for op in self.ops)

    @functools.cached_property
    def layers_contiguous(self) -> bool:
        """Every layer's operators are consecutive (what cim-split makes)."""
        return all(
            o.layer == o.index or (o.index > 0 and self.ops[o.index - 1].layer == o.layer)
            for o in self.ops
        )

    def successors(self, i: int) -> list[int]:
        return [j for (p, j) in self.edges if p == i]

    @staticmethod
    def from_module(
        module: ModuleOp | FuncOp, hardware: Hardware, function: str | None = None
    ) -> Workload:
        func = module if isinstance(module, FuncOp) else _find_function(module, function)
        return _extract(func, hardware)

    @staticmethod
    def from_ops(
        hardware: Hardware,
        shapes: Sequence[MatmulShape],
        edges: dict[tuple[int, int], float] | None = None,
        vector_work: Sequence[int] | None = None,
        name: str = "synthetic",
        layers: Sequence[int] | None = None,
    ) -> Workload:
        """A synthetic workload (tests, brute-force checks). Without `edges`
        the operators form a chain; `layers[i]` is the first operator of
        operator i's layer (default: every operator its own layer)."""
        ab, wb = hardware.act_bytes, hardware.weight_bytes
        if edges is None:
            edges = {(i - 1, i): shapes[i - 1].output_elems * ab for i in range(1, len(shapes))}
        ops = []
        for i, s in enumerate(shapes):
            preds = tuple(sorted(p for (p, c) in edges if c == i))
            ops.append(
                CimOpInfo(
                    index=i,
                    name=f"op{i}",
                    kind="linear" if s.stationary else "matmul",
                    shape=s,
                    min_arrays=hardware.min_arrays(s.n, s.k, s.groups),
                    weight_bytes=s.matrix_elems * wb,
                    input_bytes=s.input_elems * ab,
                    output_bytes=s.output_elems * ab,
                    preds=preds,
                    vector_work=vector_work[i] if vector_work else 0,
                    vector_bytes=(vector_work[i] if vector_work else 0)
                    * SYNTHETIC_VECTOR_ACCESSES
                    * ab,
                    live_out=i == len(shapes) - 1,
                    layer=layers[i] if layers is not None else i,
                    source=preds[-1] if preds else -1,
                )
            )
        return Workload(hardware, tuple(ops), dict(edges), 0, name)


def _find_function(module: ModuleOp, name: str | None) -> FuncOp:
    funcs = [op for op in module.ops if isinstance(op, FuncOp)]
    if name is not None:
        funcs = [f for f in funcs if f.sym_name.data == name]
    if not funcs:
        raise ValueError(f"no function {name!r} in module" if name else "module has no function")
    return funcs[0]


def op_label(op: Operation, fallback: str) -> str:
    label = op.attributes.get("label")
    return label.data if isinstance(label, StringAttr) else fallback


def compute_ops(func: FuncOp) -> list[ComputeOp]:
    """The CIM operators of `func`, in program order (inside segments too)."""
    return [op for op in func.walk() if isinstance(op, ComputeOp)]


def _dynamic_operands(op: ComputeOp) -> list[SSAValue]:
    if isinstance(op, LinearOp | Conv2dOp):
        return [op.input]
    if isinstance(op, MatmulOp):
        return [op.lhs, op.rhs]
    return list(op.operands)


class _OpFields(TypedDict):
    """A `CimOpInfo` under construction: all but `preds` and `live_out`."""

    index: int
    name: str
    kind: str
    shape: MatmulShape
    min_arrays: int
    weight_bytes: float
    input_bytes: float
    output_bytes: float
    vector_work: int
    vector_bytes: float
    vector_peak: float
    layer: int


def _extract(func: FuncOp, hw: Hardware) -> Workload:
    """Walks `func` in program order.

    Vector ops are attached to their *host*, the last CIM operator before
    them (their work is charged there and their results live in its
    segment). So a value is "produced" by one CIM operator: its own, or the
    host of the vector op that made it. Every operand read by a CIM operator
    or by a vector op hosted elsewhere is an edge producer -> reader carrying
    the operand's bytes; a residual stream thus shows as an edge from one
    block's host to the next, not as edges from every earlier layer.
    """
    producer: dict[SSAValue, int] = {}
    ops: list[_OpFields] = []
    layer_of: dict[str, int] = {}  # origin label -> first operator of the layer
    edges: dict[tuple[int, int], float] = {}
    leading = 0
    leading_bytes = 0.0
    returned: set[int] = set()
    pending: dict[int, SegmentOp] = {}
    ab, wb = hw.act_bytes, hw.weight_bytes

    whole: set[SSAValue] = set()  # values that exist only once the producer is done
    whole_edges: set[tuple[int, int]] = set()
    cim_edges: set[tuple[int, int]] = set()  # read by the CIM operator itself
    source: dict[int, int] = {}

    def read(v: SSAValue, reader: int, barrier: bool | None = None) -> None:
        """`barrier` None: a vector op hosted at `reader` reads `v` (the
        CIM operator itself does not wait for it)."""
        p = producer.get(v)
        if p is None or p == reader:
            return
        edges[(p, reader)] = max(edges.get((p, reader), 0.0), numel(shape_of(v)) * ab)
        if barrier is not None:
            cim_edges.add((p, reader))
            if barrier or v in whole:
                whole_edges.add((p, reader))

    last_use = _last_uses(func)
    chain: dict[SSAValue, float] = {}  # the current host's values still to be read

    for k, op in enumerate(func.walk()):
        if isinstance(op, ComputeOp):
            i = len(ops)
            shape = op.matmul_shape()
            origin = op.attributes.get("origin")
            layer = layer_of.setdefault(origin.data, i) if isinstance(origin, StringAttr) else i
            matmul = isinstance(op, MatmulOp)
            streamed = producer.get(op.lhs if isinstance(op, MatmulOp) else op.operands[0])
            if streamed is not None:
                source[i] = streamed
            for v in _dynamic_operands(op):
                # attention's product waits for its whole operands; a linear
                # operator reading another row count waits for the whole
                # tensor (a convolution reads its receptive field)
                read(v, i, matmul or (isinstance(op, LinearOp)
                                      and _rows(shape_of(v)) != _rows(shape_of(op.results[0]))))  # fmt: skip
            ops.append(
                {
                    "index": i,
                    "name": op_label(op, f"{op.name.removeprefix('cim.')}_{i}"),
                    "kind": op.name.removeprefix("cim."),
                    "shape": shape,
                    "min_arrays": hw.min_arrays(shape.n, shape.k, shape.groups),
                    "weight_bytes": shape.matrix_elems * wb,
                    "input_bytes": shape.input_elems * ab,
                    "output_bytes": numel(shape_of(op.results[0])) * ab,
                    "vector_work": 0,
                    "vector_bytes": 0.0,
                    "vector_peak": 0.0,
                    "layer": layer,
                }
            )
            producer[op.results[0]] = i
            chain = {op.results[0]: float(numel(shape_of(op.results[0])) * ab)}
            if matmul:  # its readers take the whole result
                whole.add(op.results[0])
        elif isinstance(op, ConstantOp) or (
            isinstance(op, LayoutOp) and op.results and all(is_static_value(r) for r in op.results)
        ):
            # compile-time values (weights, and slices of them made by
            # cim-split) are not run-time work, wherever they sit in the IR
            continue
        elif isinstance(op, ReturnOp):
            returned |= {producer[v] for v in op.operands if v in producer}
        elif isinstance(op, SegmentOp):
            # The walk visits a segment before its body: its results carry
            # what its yield carries, resolved when the yield is reached.
            pending[id(op.body.block.last_op)] = op
        elif isinstance(op, YieldOp) and id(op) in pending:
            seg = pending.pop(id(op))
            for r, v in zip(seg.outs, op.values, strict=True):
                if v in producer:
                    producer[r] = producer[v]
        else:
            host = len(ops) - 1 if ops else None
            moved = _moved_bytes(op, producer, host, ab)
            if host is None:
                if isinstance(op, VectorOp):
                    leading += op.vector_work()
                    leading_bytes += moved
                continue
            for v in op.operands:
                read(v, host)
            if any(v in producer for v in op.operands):
                # its result exists only once the host is done if it mixes
                # rows, or reads such a value of the host's
                mixes = not _row_wise(op) or any(
                    v in whole and producer.get(v) == host for v in op.operands
                )
                for r in op.results:
                    producer[r] = host
                    if mixes:
                        whole.add(r)
            if isinstance(op, VectorOp):
                ops[host]["vector_work"] += op.vector_work()
                ops[host]["vector_bytes"] += moved
                peak = _chain_step(chain, op, producer, host, last_use.get, k, ab)
                ops[host]["vector_peak"] = max(ops[host]["vector_peak"], peak)
    preds: dict[int, set[int]] = {}
    for p, c in edges:
        preds.setdefault(c, set()).add(p)
    infos = tuple(
        CimOpInfo(
            **d,
            preds=tuple(sorted(preds.get(d["index"], ()))),
            live_out=d["index"] in returned,
            source=source.get(d["index"], -1),
        )
        for d in ops
    )
    return Workload(hw, infos, edges, leading, func.sym_name.data, frozenset(whole_edges),
                    frozenset(e for e in edges if e not in cim_edges), leading_bytes)  # fmt: skip


def _moved_bytes(
    op: Operation, producer: dict[SSAValue, int], host: int | None, ab: float
) -> float:
    """Bytes a non-CIM op hosted at ``host`` reads and writes as the
    execution model moves them: every run-time operand the host's chain
    made (before any CIM operator: every run-time operand), whole, and its
    result; nothing for a reshape (a view)."""
    if isinstance(op, ReshapeOp) or not isinstance(op, VectorOp) or not op.results:
        return 0.0
    moved = float(numel(shape_of(op.results[0])) * ab)
    seen: set[SSAValue] = set()
    for v in op.operands:
        if v in seen or is_static_value(v):
            continue
        seen.add(v)
        if producer.get(v) == host:
            moved += numel(shape_of(v)) * ab
    return moved


def _chain_step(
    chain: dict[SSAValue, float],
    op: Operation,
    producer: dict[SSAValue, int],
    host: int,
    last_use: Callable[[SSAValue, int], int],
    k: int,
    ab: float,
) -> float:
    """Advances ``chain`` (the host's values still to be read, with their
    bytes) past ``op`` at walk position ``k``; returns the bytes alive
    while ``op`` writes its result (operands it reads last are given back
    first, as the lowering does). A reshape's result is its operand's
    storage."""
    result = op.results[0] if op.results else None
    if isinstance(op, ReshapeOp):
        if result is not None and op.operands[0] in chain:
            chain[result] = chain.pop(op.operands[0])
        return 0.0
    for v in [v for v in chain if last_use(v, -1) <= k]:
        del chain[v]
    if result is None or producer.get(result) != host:
        return 0.0
    chain[result] = float(numel(shape_of(result)) * ab)
    return sum(chain.values())


def _last_uses(func: FuncOp) -> dict[SSAValue, int]:
    """Walk position of every value's last reader; a value a segment
    yields is read wherever the segment's result is."""
    last: dict[SSAValue, int] = {}
    for k, op in enumerate(func.walk()):
        for v in op.operands:
            last[v] = last[through_segments(v)] = k
    return last


_ROW_WISE = (ElementwiseOp, SoftmaxOp, LayerNormOp, RMSNormOp, SliceOp, ConcatOp, BroadcastOp,
             GatherOp)  # fmt: skip


def _rows(shape: Sequence[int]) -> int:
    """Rows of a tensor as the pipeline sees them (a feature map: B * H)."""
    if len(shape) == 4:
        return shape[0] * shape[2]
    if len(shape) <= 1:
        return 1
    return max(1, numel(shape) // max(1, shape[-1]))


def _row_wise(op: Operation) -> bool:
    """The op makes each row of its result from the same rows of its
    operands (a reshape only when it keeps the rows)."""
    if isinstance(op, ReshapeOp):
        return _rows(shape_of(op.operands[0])) == _rows(shape_of(op.results[0]))
    return isinstance(op, _ROW_WISE)
