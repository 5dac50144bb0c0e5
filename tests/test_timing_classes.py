"""One program task per class of alike arrays is exact: on real programs
(the tiny transformers under cmswitch and puma, with in-place attention)
the simulation equals the one with one task per array, to rounding."""

from __future__ import annotations

import pytest

from cmswitch.compile import compile_model, parse_policy
from cmswitch.dialects import cim_meta as meta
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulate import meta_of
from cmswitch.simulator import timing
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timeline import Timeline


class _PerArray(timing._Builder):  # pyright: ignore[reportPrivateUsage]
    """The builder with every array in a class of its own."""

    def program(self, op: meta.ProgramOp, k: int) -> None:
        for a in op.array_ids:
            if a < len(self.touched):
                self.touched[a] = [-1 - a]  # a marker only the class key sees
        super().program(op, k)


def _simulate(program: object, builder_type: type[timing._Builder]) -> Timeline:  # pyright: ignore[reportPrivateUsage]
    hw = timing.module_hardware(program)  # type: ignore[arg-type]
    builder = builder_type(hw, TileOptions())
    builder.build(timing.main_function(program))  # type: ignore[arg-type]
    return timing.run_tasks(builder)


def _program_done(tl: Timeline) -> dict[tuple[int, int], float]:
    """(op, array) -> when the program task holding the array finished."""
    return {
        (t.op, a): tl.run.finish[i]
        for i, t in enumerate(tl.tasks) if t.kind == "program" for a in t.arrays
    }  # fmt: skip


@pytest.mark.parametrize(
    ("model", "policy"), [("tiny-bert", "cmswitch"), ("tiny-llama", "puma"), ("tiny-opt", "puma")]
)
def test_classes_equal_one_task_per_array(model: str, policy: str) -> None:
    result = compile_model(load_model(model, seq=64), parse_policy(policy, ScheduleOptions()))
    program = meta_of(result)
    grouped = _simulate(program, timing._Builder)  # pyright: ignore[reportPrivateUsage]
    single = _simulate(program, _PerArray)
    programs = sum(t.kind == "program" for t in single.tasks)
    assert sum(t.kind == "program" for t in grouped.tasks) < programs  # classes formed
    assert grouped.total_cycles == pytest.approx(single.total_cycles, rel=1e-9)
    want = _program_done(single)
    got = _program_done(grouped)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert grouped.run.link_bytes[0] == pytest.approx(single.run.link_bytes[0])
