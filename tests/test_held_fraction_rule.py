"""The rule `benchmarks/held_fraction_rule.py` evaluates (planned for the
next `strict` revision), checked against hand-derived bytes so that the
evidence it produces, and the port into `cost.py` later, rest on a rule
that does what `docs/DESIGN.md` says.

DynaPlasia: 12,800 B per array, 81,920 B of buffer, 1 B activations. Two
320 x 320 linear operators in a chain, M = 1,000 rows: every tensor is
320,000 B; op0 reads the function's argument (it crosses the channel
whole), op1 reads op0's output inside the segment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule.plan import OpAlloc, SegmentPlan
from cmswitch.workload import Workload

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
try:
    from held_fraction_rule import channel_bytes
finally:
    sys.path.pop(0)

HW = Hardware.preset("dynaplasia")
S = 320_000.0


def _plan(allocs: tuple[OpAlloc, ...], shared: tuple[tuple[int, int, int], ...]) -> SegmentPlan:
    return SegmentPlan(0, 1, allocs, shared, 0.0, 0.0, 0.0, 0.0, 0.0)


def _workload(vector_work: list[int] | None = None) -> Workload:
    shape = MatmulShape(1000, 320, 320)
    return Workload.from_ops(HW, [shape, shape], vector_work=vector_work)


def test_hand_derived_partly_held_tensor() -> None:
    """op0's output on 5 + 5 arrays and the whole buffer (the only tensor
    read in the segment): 64,000 + 64,000 + 81,920 = 209,920 B held, so
    110,080 B of it off chip, crossed once when written and once when op1
    reads it; op1's output has no reader here and no arrays: written whole.
    320,000 + 2 * 110,080 + 320,000 = 860,160 B."""
    wl = _workload()
    plan = _plan((OpAlloc(8, 0, 5), OpAlloc(8, 5, 0)), ())
    assert channel_bytes(wl, plan) == pytest.approx(860_160.0)


def test_arrays_shared_in_place_are_counted_once() -> None:
    """Two of op0's output arrays are op1's input arrays: 8 distinct arrays,
    102,400 + 81,920 = 184,320 B held: 320,000 + 2 * 135,680 + 320,000."""
    wl = _workload()
    plan = _plan((OpAlloc(8, 0, 5), OpAlloc(8, 5, 0)), ((0, 1, 2),))
    assert channel_bytes(wl, plan) == pytest.approx(911_360.0)


def test_vector_accesses_and_whole_holding() -> None:
    """Vector work of 320,000 elements after op0 reads and writes its tensor
    (2 B per element); with 25 arrays (320,000 B) the tensor is held whole
    and none of it crosses: only the argument and op1's output do."""
    wl = _workload([320_000, 0])
    held = _plan((OpAlloc(8, 0, 13), OpAlloc(8, 12, 0)), ())
    assert channel_bytes(wl, held) == pytest.approx(2 * S)
    # 10 arrays and the buffer: 110,080 B off chip, 4 accesses of it now
    part = _plan((OpAlloc(8, 0, 5), OpAlloc(8, 5, 0)), ())
    assert channel_bytes(wl, part) == pytest.approx(2 * S + (1 - 209_920 / S) * 4 * S)
