"""The one cost model every scheduling policy is measured with (spec 2-5).

All values are cycles. ``hw`` is the only source of hardware constants. Two
models share this module:

* ``strict`` (the default, the model the compiler trusts) predicts the chip
  execution model of ``docs/DESIGN.md``;
* ``paper`` is the paper's equations as printed (errata fixed), kept to
  reproduce the paper.

Operator latency (paper Eq. 10)::

    L_i = OP_i / min(c_i * OP_cim, (Mem_i * D_cim + d_i) * AI_i)

with ``d_i = D_main`` (every operator sees the full main-memory
bandwidth; ``paper`` only). ``AI_i`` is the arithmetic intensity
(:meth:`cmswitch.workload.CimOpInfo.ai`): ``roofline`` (the paper's
default), ``input`` or ``streamed``. ``strict`` replaces the bandwidth
side of Eq. 10 by where the data is ("Where data is" below): a segment's
period is ``max(max_i compute_i, channel, ports)``.

Decisions where the spec is loose (documented here once):

* **Pipeline.** A segment's operators run concurrently as a pipeline whose
  period is the slowest operator, ``T = max_i L_i``. The pipeline unit is one
  row of an operator's M dimension (a token, an output pixel); a stage running
  at the common period spends at most ``T / M_i`` on one row, so the fill is
  ``T * F`` where ``F`` is the largest sum of ``1 / M_i`` over a dependency
  path inside the segment, excluding the path's last operator (a single
  operator has no fill). ``T_intra = T * (1 + F)``: the fill scales with the
  period, so minimising ``T`` minimises ``T_intra`` and the MIP stays linear.
* **Compute (strict).** Bit-serial arrays in whole copies
  (:func:`compute_macs`): a copy of ``min_arrays`` arrays spends
  ``act_bits`` cycles per row of M however little its weights fill them;
  an operator on ``c`` arrays has ``floor(c / min_arrays)`` copies (the
  lowering leaves the rest idle).
* **Whole-tensor readers (strict).** An edge in ``Workload.whole_edges``
  (the reader waits for the producer's whole tensor) adds 1 to ``F``
  instead of ``1 / M``.
* **Vector unit.** Non-CIM work after each CIM operator costs
  ``V = vector_work / vector_elems_per_cycle``. ``paper``: *added* to its
  segment (one shared unit, conservatively serial). ``strict``: the vector
  unit is a concurrent pipeline stage (execution model), so a segment takes
  ``max(T_intra, V)`` and only ``max(0, V - T_intra)`` is reported as
  ``vector_cycles`` (vector time not hidden behind the arrays). Vector work
  before the first CIM operator is added in both models.
* **Weight reload (Eq. 2).** ``W * max_l Com_l`` over the layers ``l`` of
  the segment (arrays of one layer are programmed one after another,
  different layers in parallel), ``W`` = cycles to program one array.
  ``Com_l`` sums the compute arrays of the layer's operators in the segment:
  the sub-operators ``cim-split`` makes of one layer stay one layer, so the
  reload does not depend on how finely a layer is split. Operators with a
  run-time operand (``stationary=False``: attention's K, V) program that
  operand into their ``c_i`` arrays the same way once per run, so they enter
  the same max: their write is costed, never free. This is the ``paper``
  model's reload.
* **Weight programming (strict).** As the execution model has it: every
  array programs through its own write port at once (``W`` for a full
  array) and all programming crosses the one external channel, so the
  reload is ``max(W, programmed bytes / external_bw_bytes)`` where the
  programmed bytes count every copy (an operator on ``c`` arrays holds
  ``floor(c / min_arrays)`` copies of its weights). Run-time operands are written
  from on chip through the write ports (bounded by ``W``). The reload
  depends neither on how a layer is split nor on which layer the arrays
  belong to. *Simplification against the execution model* (the simulator
  judges it): programming is not overlapped with the previous segment.
* **Mode switch (Eq. 1).** Only arrays *used* in one mode by the previous
  segment and needed in the other mode by this one switch at the boundary;
  arrays idle in the previous segment are switched in its shadow. With
  ``C, M`` the compute / memory arrays used::

      switch = L_m2c * max(0, C - (N - M')) + L_c2m * max(0, M - (N - C'))

* **Write-back (Eq. 4).** When this segment has fewer memory arrays than the
  previous one, the previous segment's results still needed later (edges
  leaving it forward) are written to main memory, at most as many bytes as
  the memory arrays given up held: ``min(live, (M' - M) * array_bytes) / ext_bw``.
* **Where data is (strict).** Per tensor, not per operator
  (:mod:`cmswitch.schedule.held`, revisions 5-6): a tensor made in the
  segment is held on its producer's output arrays and its readers' input
  arrays; the held fraction of every access (its write, its vector ops'
  reads and writes, every reader's streamed input) is served by those
  arrays' ports, the rest crosses the external channel and the buffer's
  bus (``D_main``) together with what the segment reads from earlier
  segments and the function's arguments (``X``, :func:`external_bytes`,
  main memory only). The period is ``max(compute, channel, ports)``; data
  that does not fit is the unheld part, not a separate spill term (a
  segment is never infeasible for capacity). *Simplifications*: an output
  kept in memory arrays across a boundary is read back from main memory
  all the same (``strict`` overestimates such reads); an input from an
  earlier segment staged in the reader's input arrays is charged as its
  im2col rows, not its feature map. ``paper`` has no capacity term and
  gives every operator the whole ``D_main`` (Eq. 10).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cmswitch.hardware import Hardware
from cmswitch.schedule import held
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import AiModel, CimOpInfo, Workload

CostModel = Literal["paper", "strict"]
COST_MODELS: tuple[str, ...] = ("strict", "paper")
AI_MODELS: tuple[str, ...] = ("roofline", "input", "streamed")
DEFAULT_AI: dict[str, AiModel] = {"strict": "streamed", "paper": "roofline"}
REVISION: dict[str, int] = {"strict": 6, "paper": 1}
"""Bumped whenever a model's numbers change, so caches of results keyed by
it (``benchmarks/schedule_quality.py``) never mix revisions. strict 2:
bit-serial compute in whole copies, memory arrays serving only tensors they
hold whole, whole-tensor readers in the fill; 3: revision 2 without the
holding rule (its MIP binaries made compile time 2.7x); 4: what a segment
reads from earlier segments or the function's arguments crosses the
external channel whatever its memory arrays (:func:`external_bytes`); 5:
per-tensor held fractions instead of per-operator bandwidth shares
(:mod:`cmswitch.schedule.held`), vector accesses on the channel, no
separate spill term; 6: a tensor's vector accesses are the bytes its
hosted ops read and write (operands whole, as the simulator moves them)
and its size is the chain's working set (not 2 bytes per element of work
on the host's output alone), the ops before the first CIM operator cross
the channel."""


@dataclass(frozen=True)
class CostOptions:
    """The cost model and its arithmetic intensity. ``ai=None`` takes the
    model's own (strict: streamed, the only one it accepts; paper:
    roofline)."""

    model: CostModel = "strict"
    ai: AiModel | None = None

    def __post_init__(self) -> None:
        if self.model not in COST_MODELS:
            raise ValueError(f"unknown cost model {self.model!r}; choose strict or paper")
        if self.ai is None:
            object.__setattr__(self, "ai", DEFAULT_AI[self.model])
        if self.ai not in AI_MODELS:
            raise ValueError(
                f"unknown arithmetic intensity {self.ai!r}; choose {', '.join(AI_MODELS)}"
            )
        if self.model == "strict" and self.ai != "streamed":
            raise ValueError(
                f"the strict cost model uses the streamed intensity only, not {self.ai!r}"
            )

    @property
    def intensity(self) -> AiModel:
        assert self.ai is not None  # set by __post_init__
        return self.ai


DEFAULT_OPTIONS = CostOptions()
"""The default options (a frozen singleton, safe as an argument default)."""


def compute_macs(op: CimOpInfo, hw: Hardware, opts: CostOptions = DEFAULT_OPTIONS) -> float:
    """The work the arrays do, in MACs at full-array throughput: ``OP_i /
    (c OP_cim)`` cycles on ``c`` arrays. ``paper``: the operator's MACs.
    ``strict`` (execution model, bit-serial arrays): every array of a copy
    spends ``act_bits`` cycles per row of M however little of it the
    weights fill, so ``M * act_bits * min_arrays * OP_cim`` (the MACs of
    ``min_arrays`` full arrays; 1 to 40x the MACs on the zoo)."""
    if opts.model == "strict":
        return float(op.shape.m * hw.act_bits * op.min_arrays) * hw.op_cim
    return float(op.macs)


def streamed_bytes(op: CimOpInfo, opts: CostOptions = DEFAULT_OPTIONS) -> float:
    """Bytes the operator moves during compute under the model's intensity
    (``OP_i / AI_i``)."""
    return op.macs / op.ai(opts.intensity)


def copy_step(op: CimOpInfo, opts: CostOptions = DEFAULT_OPTIONS) -> int:
    """Compute arrays come in steps of this: ``strict`` in whole copies of
    the operator's ``min_arrays`` (the lowering leaves extra arrays idle),
    ``paper`` one array at a time (Eq. 10 is linear in ``c``)."""
    return op.min_arrays if opts.model == "strict" else 1


def usable_compute(op: CimOpInfo, compute: int, opts: CostOptions = DEFAULT_OPTIONS) -> int:
    """The compute arrays that work: whole copies in ``strict``."""
    step = copy_step(op, opts)
    return compute // step * step


def compute_time(
    op: CimOpInfo, compute: int, hw: Hardware, opts: CostOptions = DEFAULT_OPTIONS
) -> float:
    """Cycles the operator's arrays need (bandwidth aside)."""
    c = usable_compute(op, compute, opts)
    return compute_macs(op, hw, opts) / (c * hw.op_cim) if c > 0 else math.inf


def op_latency(
    op: CimOpInfo,
    compute: int,
    memory: int,
    hw: Hardware,
    opts: CostOptions = DEFAULT_OPTIONS,
    d_main_share: float | None = None,
) -> float:
    """Eq. 10. ``d_main_share`` defaults to the full D_main (paper model)."""
    d = hw.d_main if d_main_share is None else d_main_share
    supply = memory * hw.d_cim + d
    feed = streamed_bytes(op, opts) / supply if supply > 0 else math.inf
    return max(compute_time(op, compute, hw, opts), feed)


def fill_factor(workload: Workload, start: int, end: int, opts: CostOptions | None = None) -> float:
    """F of the module docstring: max over paths inside the segment of the
    sum of 1/M_i, the path's last operator excluded. ``strict``: an edge
    whose reader waits for the producer's whole tensor
    (:attr:`Workload.whole_edges`) adds 1 instead of 1/M (the reader starts
    when the producer is done)."""
    strict = opts is not None and opts.model == "strict"
    memo = _index(workload).fill
    got = memo.get((start, end, strict))
    if got is None:
        got = memo[(start, end, strict)] = _fill_factor(workload, start, end, strict)
    return got


def _fill_factor(workload: Workload, start: int, end: int, strict: bool) -> float:
    whole = workload.whole_edges if strict else frozenset()
    w: dict[int, float] = {}
    best = 0.0
    for j in range(start, end + 1):
        acc = 0.0
        for p in workload.ops[j].preds:
            if start <= p < j:
                step = 1.0 if (p, j) in whole else 1.0 / workload.ops[p].shape.m
                acc = max(acc, w[p] + step)
        w[j] = acc
        best = max(best, acc)
    return best


def segment_period(
    workload: Workload,
    start: int,
    end: int,
    allocs: Sequence[OpAlloc],
    opts: CostOptions,
    shared: Sequence[tuple[int, int, int]] = (),
) -> float:
    """T = max_i L_i (paper). Strict: the slowest of the operators' compute
    and the memory arrays' ports, and the channel's time spread over the
    whole pipeline, fill included (``channel / (1 + F)``: the channel's
    bytes cross once however the stages overlap, so ``T (1 + F) =
    max(pipeline (1 + F), channel)``). ``shared``: arrays shared in place,
    (producer, reader, arrays) by segment position."""
    hw = workload.hardware
    ops = workload.ops[start : end + 1]
    if opts.model == "paper":
        return max(
            op_latency(o, a.compute, a.memory, hw, opts) for o, a in zip(ops, allocs, strict=False)
        )
    t_c = max(compute_time(o, a.compute, hw, opts) for o, a in zip(ops, allocs, strict=False))
    data = segment_data(workload, start, end)
    channel, ports = held.data_period(data, held.held_arrays(data, allocs, shared), hw)
    return max(t_c, ports, channel / (1.0 + fill_factor(workload, start, end, opts)))


def segment_data(workload: Workload, start: int, end: int) -> held.SegmentData:
    """:func:`held.segment_data`, memoised per workload."""
    memo = _index(workload).data
    got = memo.get((start, end))
    if got is None:
        got = memo[(start, end)] = held.segment_data(workload, start, end)
    return got


def external_bytes(workload: Workload, start: int, i: int) -> float:
    """Strict: bytes operator ``i`` moves over the external channel in a
    segment starting at ``start``, whatever its memory arrays (the execution
    model's memory arrays serve only data placed in them): its streamed
    input when a segment before made it or it is a function argument (it is
    in main memory), and what its vector ops read from earlier segments
    (:attr:`Workload.vector_edges`)."""
    return sum(_external_parts(workload, start, i))


def _external_parts(workload: Workload, start: int, i: int) -> tuple[float, float]:
    """(streamed input, vector reads) of :func:`external_bytes`."""
    o = workload.ops[i]
    vector_edges = workload.vector_edges
    vec = sum(workload.edges[(p, i)] for p in o.preds if p < start and (p, i) in vector_edges)
    if i == 0:  # the vector ops before the first CIM operator, in main memory
        vec += workload.leading_vector_bytes
    return (o.input_bytes if o.source < start else 0.0), vec


def intra_latency(
    workload: Workload,
    start: int,
    end: int,
    allocs: Sequence[OpAlloc],
    opts: CostOptions,
    shared: Sequence[tuple[int, int, int]] = (),
) -> float:
    """Pipeline fill + period: T * (1 + F)."""
    return segment_period(workload, start, end, allocs, opts, shared) * (
        1.0 + fill_factor(workload, start, end, opts)
    )


def stationary_weight_bytes(workload: Workload, start: int, end: int) -> float:
    prefix = _index(workload).stationary
    return prefix[end + 1] - prefix[start]


def reload_arrays(workload: Workload, start: int, allocs: Sequence[OpAlloc]) -> int:
    """max over layers of the compute arrays the layer has in the segment
    starting at `start` (Eq. 2's max_l Com_l)."""
    per_layer: dict[int, int] = {}
    for o, a in zip(workload.ops[start : start + len(allocs)], allocs, strict=True):
        per_layer[o.layer] = per_layer.get(o.layer, 0) + a.compute
    return max(per_layer.values())


def programmed_bytes(workload: Workload, start: int, allocs: Sequence[OpAlloc]) -> float:
    """Strict: weight bytes programmed over the external channel, every copy
    counted: an operator on ``c`` arrays holds ``floor(c / min_arrays)`` copies of
    its weights (run-time operands are written from on chip, not counted)."""
    return sum(
        o.weight_bytes * (a.compute // o.min_arrays)
        for o, a in zip(workload.ops[start : start + len(allocs)], allocs, strict=True)
        if o.stationary
    )


def reload_cost(
    workload: Workload, start: int, end: int, allocs: Sequence[OpAlloc], opts: CostOptions
) -> float:
    """paper: Eq. 2, max over layers of Com_l * write latency. strict (the
    execution model): every array programs through its own write port at
    once (``write_cycles_per_array`` for a full one), all of them through
    the one external channel: ``max(W, programmed bytes / external_bw)``."""
    hw = workload.hardware
    if opts.model == "strict":
        return max(
            float(hw.write_cycles_per_array),
            programmed_bytes(workload, start, allocs) / hw.external_bw_bytes,
        )
    return float(reload_arrays(workload, start, allocs) * hw.write_cycles_per_array)


def switch_cost(
    hw: Hardware, prev_compute: int, prev_memory: int, compute: int, memory: int
) -> float:
    """Eq. 1 with idle arrays switched in the previous segment's shadow."""
    n = hw.arrays
    m2c = max(0, compute - (n - prev_memory))
    c2m = max(0, memory - (n - prev_compute))
    return float(hw.switch_m2c_cycles * m2c + hw.switch_c2m_cycles * c2m)


def live_bytes(workload: Workload, start: int, end: int) -> float:
    """Bytes produced in O_start..O_end and consumed after O_end."""
    index = _index(workload)
    got = index.live.get((start, end))
    if got is not None:
        return got
    succ = index.succ
    total = 0.0
    for p in range(start, end + 1):
        total += max((b for c, b in succ[p] if c > end), default=0.0)
    index.live[(start, end)] = total
    return total


def writeback_cost(
    workload: Workload,
    prev_start: int,
    prev_end: int,
    prev_memory: int,
    memory: int,
    live: float | None = None,
) -> float:
    """Eq. 4: only when this segment has fewer memory arrays than the last.
    ``live`` is ``live_bytes`` of the previous segment, if already known."""
    if memory >= prev_memory:
        return 0.0
    hw = workload.hardware
    held = (prev_memory - memory) * hw.array_bytes
    if live is None:
        live = live_bytes(workload, prev_start, prev_end)
    return min(live, held) / hw.external_bw_bytes


def vector_cycles(work: float, hw: Hardware) -> float:
    return work / hw.vector_elems_per_cycle


def segment_vector_work(workload: Workload, start: int, end: int) -> int:
    prefix = _index(workload).vector
    return prefix[end + 1] - prefix[start]


class _Index:
    """Per-workload tables the DP asks for thousands of times: successor /
    predecessor lists with bytes, prefix sums, and memoised segment values."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        n = len(workload.ops)
        self.succ: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        self.pred: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for (p, c), b in workload.edges.items():
            self.succ[p].append((c, b))
            self.pred[c].append((p, b))
        self.vector = list(itertools.accumulate((o.vector_work for o in workload.ops), initial=0))
        self.stationary = list(
            itertools.accumulate(
                (o.weight_bytes if o.stationary else 0.0 for o in workload.ops), initial=0.0
            )
        )
        self.live: dict[tuple[int, int], float] = {}
        self.fill: dict[tuple[int, int, bool], float] = {}
        self.data: dict[tuple[int, int], held.SegmentData] = {}


_INDEX: dict[int, _Index] = {}


def _index(workload: Workload) -> _Index:
    """The tables of `workload`, built once (keyed by identity; a few kept)."""
    hit = _INDEX.get(id(workload))
    if hit is not None and hit.workload is workload:
        return hit
    if len(_INDEX) > 8:
        _INDEX.clear()
    index = _INDEX[id(workload)] = _Index(workload)
    return index


def pipeline_time(intra: float, vector: float, opts: CostOptions) -> float:
    """Arrays and vector unit together: in series (paper) or as concurrent
    pipeline stages (strict)."""
    return max(intra, vector) if opts.model == "strict" else intra + vector


def exposed_vector(intra: float, vector: float, opts: CostOptions) -> float:
    """The vector time not hidden behind the arrays (all of it in paper)."""
    return max(0.0, vector - intra) if opts.model == "strict" else vector


@dataclass(frozen=True)
class LocalCost:
    """What a segment costs on its own, by part (their sum is the total)."""

    intra: float
    reload: float
    vector: float
    """Vector time not hidden behind the arrays."""

    @property
    def total(self) -> float:
        return self.intra + self.reload + self.vector


def local_parts(
    workload: Workload,
    start: int,
    end: int,
    allocs: Sequence[OpAlloc],
    opts: CostOptions,
    shared: Sequence[tuple[int, int, int]] = (),
) -> LocalCost:
    """The segment's own cost. ``shared``: arrays shared in place,
    (producer, reader, arrays) by segment position (strict counts them once
    in the tensor they hold)."""
    intra = intra_latency(workload, start, end, allocs, opts, shared)
    vec = vector_cycles(segment_vector_work(workload, start, end), workload.hardware)
    return LocalCost(
        intra, reload_cost(workload, start, end, allocs, opts), exposed_vector(intra, vec, opts)
    )


def local_cost(
    workload: Workload,
    start: int,
    end: int,
    allocs: Sequence[OpAlloc],
    opts: CostOptions,
    shared: Sequence[tuple[int, int, int]] = (),
) -> float:
    """What a segment costs on its own: intra + reload + vector."""
    return local_parts(workload, start, end, allocs, opts, shared).total
