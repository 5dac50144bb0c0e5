"""The result of scheduling: segments, per-operator array counts, costs.

A :class:`Schedule` is plain data: which contiguous run of CIM operators forms
each segment, how many arrays each operator gets in compute mode (``compute``)
and in memory mode as input / output buffer (``mem_in`` / ``mem_out``), which
output arrays are reused in place as a consumer's input arrays (``shared``), and
the latency breakdown of every segment under the one cost model of
:mod:`cmswitch.schedule.cost`. Physical array ids are assigned later, by the IR
pass; the cost model has no placement term (spec section 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmswitch.workload import Workload


@dataclass(frozen=True)
class OpAlloc:
    """Arrays given to one operator within its segment."""

    compute: int
    mem_in: int = 0
    mem_out: int = 0

    @property
    def memory(self) -> int:
        """Mem_i of Eq. 10: every memory array the operator streams through."""
        return self.mem_in + self.mem_out


def compute_arrays(allocs: tuple[OpAlloc, ...]) -> int:
    return sum(a.compute for a in allocs)


def memory_arrays(allocs: tuple[OpAlloc, ...], shared: tuple[tuple[int, int, int], ...]) -> int:
    """Distinct memory-mode arrays: buffers minus the in-place reused ones."""
    return sum(a.memory for a in allocs) - sum(s for _, _, s in shared)


@dataclass(frozen=True)
class SegmentPlan:
    """One segment O_start..O_end (inclusive) and its costs in cycles.

    ``switch_cycles`` and ``writeback_cycles`` are the inter-segment costs paid
    when entering this segment from the previous one; ``reload_cycles`` is the
    weight (and run-time operand) programming of this segment.
    """

    start: int
    end: int
    allocs: tuple[OpAlloc, ...]
    shared: tuple[tuple[int, int, int], ...]
    """(producer, consumer, arrays): producer's output arrays reused as the
    consumer's input arrays (workload indices)."""
    intra_cycles: float
    switch_cycles: float
    reload_cycles: float
    writeback_cycles: float
    vector_cycles: float
    gap: float = 0.0
    """Relative MIP gap of the allocation (0 if proven optimal or no MIP)."""

    @property
    def compute_arrays(self) -> int:
        return compute_arrays(self.allocs)

    @property
    def memory_arrays(self) -> int:
        return memory_arrays(self.allocs, self.shared)

    @property
    def total_cycles(self) -> float:
        return (
            self.intra_cycles
            + self.switch_cycles
            + self.reload_cycles
            + self.writeback_cycles
            + self.vector_cycles
        )


@dataclass(frozen=True)
class SolverStats:
    mips_solved: int = 0
    cache_hits: int = 0
    closed_form: int = 0
    """Segments solved exactly without a MIP (paper model, see allocate)."""
    worst_gap: float = 0.0
    time_limited: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Schedule:
    policy: str
    segments: tuple[SegmentPlan, ...]
    latency_cycles: float
    stats: SolverStats
    workload: Workload | None = field(default=None, compare=False, repr=False)
    """The workload scheduled (for operator names in :meth:`to_json`)."""

    def breakdown(self) -> dict[str, float]:
        """Cycles by part: ``intra, vector, reload, switch, writeback`` (the
        shared report schema). The parts sum to the latency."""
        keys = ("intra", "vector", "reload", "switch", "writeback")
        out: dict[str, float] = {
            k: float(sum(getattr(s, f"{k}_cycles") for s in self.segments)) for k in keys
        }
        return out

    def to_json(self) -> dict[str, Any]:
        ops = self.workload.ops if self.workload is not None else None
        segs: list[dict[str, Any]] = []
        for s in self.segments:
            names = (
                [ops[i].name for i in range(s.start, s.end + 1)]
                if ops is not None
                else [f"op{i}" for i in range(s.start, s.end + 1)]
            )
            segs.append(
                {
                    "ops": names,
                    "start": s.start,
                    "end": s.end,
                    "compute_arrays": s.compute_arrays,
                    "memory_arrays": s.memory_arrays,
                    "intra_cycles": s.intra_cycles,
                    "switch_cycles": s.switch_cycles,
                    "reload_cycles": s.reload_cycles,
                    "writeback_cycles": s.writeback_cycles,
                    "vector_cycles": s.vector_cycles,
                    "gap": s.gap,
                    "allocs": [
                        {"op": n, "compute": a.compute, "mem_in": a.mem_in, "mem_out": a.mem_out}
                        for n, a in zip(names, s.allocs, strict=True)
                    ],
                    "shared": [list(t) for t in s.shared],
                }
            )
        st = self.stats
        return {
            "policy": self.policy,
            "segments": segs,
            "latency_cycles": self.latency_cycles,
            "breakdown": self.breakdown(),
            "stats": {
                "mips_solved": st.mips_solved,
                "closed_form": st.closed_form,
                "cache_hits": st.cache_hits,
                "worst_gap": st.worst_gap,
                "time_limited": st.time_limited,
                "seconds": st.seconds,
            },
        }
