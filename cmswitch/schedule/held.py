"""Strict cost model: where a segment's data is and what crosses the channel.

The per-tensor rule of ``docs/DESIGN.md`` ("Where data is"), the part of
``strict`` (revision 5, sizes and vector accesses revision 6) that replaced
per-operator bandwidth shares:

* every CIM operator ``q`` of a segment makes one tensor (its output) that
  the non-CIM ops it hosts work on in place; ``S_q`` bytes is the larger of
  the output and the chain's working set, the most bytes of its values
  alive at once (:attr:`~cmswitch.workload.CimOpInfo.vector_peak`: a
  softmax over the concatenated parts of a split product, results kept
  for later segments). Per inference it is accessed ``A_q`` bytes: its
  write, the bytes its hosted ops read and write as the execution model
  moves them (each op reads its operands whole and writes its result:
  :attr:`~cmswitch.workload.CimOpInfo.vector_bytes`), what ops hosted by
  later operators of the segment read of it (a residual add), and the
  streamed input of every CIM operator of the segment reading it (a
  convolution's im2col rows);
* it is held on ``H_q`` memory arrays: ``q``'s output arrays and the input
  arrays of its readers in the segment, arrays shared in place counted
  once (:func:`held_arrays`). The fraction
  ``f_q = min(1, H_q * array_bytes / S_q)`` of every access is served by
  those arrays' ports, ``D_cim`` each: ``f_q A_q / (H_q D_cim) <= T``;
* the rest, ``(1 - f_q) A_q``, and what the segment reads from earlier
  segments and the function's arguments (``X``, :func:`cost.external_bytes`)
  cross the external channel and the fixed buffer's bus, which the lowering
  fills in proportion to their bandwidths: ``(X + U) / D_main <= T`` with
  ``U = sum_q (1 - f_q) A_q``, and ``X / external_bw_bytes <= T`` (reads
  of earlier data come from main memory only).

So a tensor partly held is read at the channel's pace for its unheld part
(the execution model's reads touch every place in proportion), and a
segment's data beyond its memory arrays is not a separate spill: it is the
unheld part. The period of a plan is the largest of its compute time, the
channel time and the port times (:func:`data_period`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cmswitch.hardware import Hardware
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import Workload


@dataclass(frozen=True)
class HeldTensor:
    """The tensor one operator of a segment makes."""

    producer: int
    """Position of the producing operator in the segment."""
    size: float
    """``S``: bytes."""
    accesses: float
    """``A``: bytes read and written per inference."""
    readers: tuple[int, ...]
    """Positions of the segment's CIM operators streaming it as input."""


@dataclass(frozen=True)
class SegmentData:
    """What a segment's operators read and write (allocation aside)."""

    tensors: tuple[HeldTensor, ...]
    external: float
    """``X``: bytes read from earlier segments and function arguments."""
    external_parts: tuple[float, ...]
    """``X`` per operator (streamed input and vector reads)."""

    @property
    def accesses(self) -> float:
        return sum(t.accesses for t in self.tensors)


def segment_data(workload: Workload, start: int, end: int) -> SegmentData:
    """The tensors of operators ``start..end`` and the bytes they read from
    outside. Readers are CIM operators whose streamed input (``source``) is
    the tensor; its own vector ops' reads and writes and those of ops
    hosted later in the segment (:attr:`Workload.vector_edges`) count in its
    accesses."""
    from cmswitch.schedule.cost import external_bytes  # cost imports this module

    readers: dict[int, list[int]] = {}
    later_reads: dict[int, float] = {}
    for j in range(start, end + 1):
        o = workload.ops[j]
        if o.source >= start:
            readers.setdefault(o.source, []).append(j - start)
        for p in o.preds:
            if p >= start and (p, j) in workload.vector_edges:
                later_reads[p] = later_reads.get(p, 0.0) + workload.edges[(p, j)]
    tensors = []
    for q in range(start, end + 1):
        o = workload.ops[q]
        if o.output_bytes <= 0:
            continue
        mine = tuple(readers.get(q, ()))
        accesses = (
            o.output_bytes
            + o.vector_bytes
            + later_reads.get(q, 0.0)
            + sum(workload.ops[start + j].input_bytes for j in mine)
        )
        size = float(max(o.output_bytes, o.vector_peak))
        tensors.append(HeldTensor(q - start, size, accesses, mine))
    parts = tuple(external_bytes(workload, start, i) for i in range(start, end + 1))
    return SegmentData(tuple(tensors), sum(parts), parts)


def held_arrays(
    data: SegmentData, allocs: Sequence[OpAlloc], shared: Sequence[tuple[int, int, int]] = ()
) -> list[int]:
    """``H`` per tensor of ``data``: its producer's output arrays and its
    readers' input arrays. An array shared in place (``shared``: (producer,
    reader, arrays), segment positions) is one array: it counts as the
    producer's output array only (never twice, whichever tensor the reader
    streams)."""
    into: dict[int, int] = {}
    for _, c, k in shared:
        into[c] = into.get(c, 0) + k
    return [
        allocs[t.producer].mem_out + sum(allocs[j].mem_in - into.get(j, 0) for j in t.readers)
        for t in data.tensors
    ]


def unheld_bytes(data: SegmentData, held: Sequence[int], hw: Hardware) -> float:
    """``U``: accesses to the parts of the tensors not on their arrays."""
    return sum(
        t.accesses * max(0.0, 1.0 - h * hw.array_bytes / t.size)
        for t, h in zip(data.tensors, held, strict=True)
    )


def channel_cycles(data: SegmentData, unheld: float, hw: Hardware) -> float:
    """The period the channel and the buffer's bus allow."""
    return max(data.external / hw.external_bw_bytes, (data.external + unheld) / hw.d_main)


def port_cycles(data: SegmentData, held: Sequence[int], hw: Hardware) -> float:
    """The period the memory arrays' ports allow: the slowest tensor's
    held accesses over its arrays."""
    worst = 0.0
    for t, h in zip(data.tensors, held, strict=True):
        if h > 0:
            on_chip = min(1.0, h * hw.array_bytes / t.size) * t.accesses
            worst = max(worst, on_chip / (h * hw.d_cim))
    return worst


def data_period(data: SegmentData, held: Sequence[int], hw: Hardware) -> tuple[float, float]:
    """(channel, port) cycles of a plan holding ``held`` arrays per tensor."""
    return channel_cycles(data, unheld_bytes(data, held, hw), hw), port_cycles(data, held, hw)
