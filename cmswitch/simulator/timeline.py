"""The result of a timing simulation, independent of how it was produced.

:class:`Timeline` holds the tasks the program became, when each ran, the
link and pool histories, the breakdown and the per-segment windows; the
trace writer (:mod:`cmswitch.simulator.trace`), the PNG timeline
(:mod:`cmswitch.simulator.plot`), the invariant checks
(:mod:`cmswitch.simulator.checks`) and the report read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmswitch.hardware import Hardware
from cmswitch.simulator.engine import Run, Task


@dataclass(frozen=True)
class OpRecord:
    """One program op, as messages and traces name it."""

    label: str
    """``cim_meta.compute "layer3.conv" (segment 4)``: how errors name the op."""
    name: str
    """The op's short name (its `cim` origin or its kind)."""
    segment: int
    """Segment index (ops before the first segment count to it, ops after the
    last to the last)."""


@dataclass(frozen=True)
class SegmentTime:
    index: int
    start: float
    end: float
    breakdown: dict[str, float]

    @property
    def cycles(self) -> float:
        return self.end - self.start

    @property
    def compute(self) -> float:
        """Time the segment's window had arrays or the vector unit working."""
        return self.breakdown["intra"] + self.breakdown["vector"]

    @property
    def waiting(self) -> float:
        return self.cycles - self.compute


@dataclass
class Timeline:
    hardware: Hardware
    ops: list[OpRecord]
    tasks: list[Task]
    run: Run
    link_names: tuple[str, ...]
    pool_names: tuple[str, ...]
    breakdown: dict[str, float]
    segments: list[SegmentTime]
    modes: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    """Per array: (time, mode) at every mode change (``compute``/``memory``)."""
    expected_external_bytes: float = 0.0
    """The program's loads, stores and programming, summed from its ops."""

    @property
    def total_cycles(self) -> float:
        return self.run.makespan

    def summary(self) -> dict[str, Any]:
        return {
            "simulated_cycles": self.total_cycles,
            "breakdown": dict(self.breakdown),
            "external_bytes": self.run.link_bytes[0] if self.run.link_bytes else 0.0,
            "segments": [
                {
                    "index": s.index,
                    "simulated_cycles": s.cycles,
                    "compute_cycles": s.compute,
                    "waiting_cycles": s.waiting,
                    "breakdown": dict(s.breakdown),
                }
                for s in self.segments
            ],
        }
