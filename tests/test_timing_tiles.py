"""Results do not depend on the simulation granularity: halving the tile
size changes the simulated cycles of the tiny zoo models by under 2 %
(docs/DESIGN.md, "Tiles"). Also: a finer tiling never loses work (the
external bytes are the same)."""

from __future__ import annotations

import pytest

from cmswitch.compile import compile_model, parse_policy
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulate import meta_of
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timing import simulate_timing


@pytest.mark.parametrize("model", ["tiny-cnn", "tiny-bert", "tiny-llama"])
@pytest.mark.parametrize("policy", ["cmswitch", "cim-mlc"])
def test_halving_the_tile_size(model: str, policy: str) -> None:
    result = compile_model(load_model(model, seq=16), parse_policy(policy, ScheduleOptions()))
    program = meta_of(result)
    coarse = simulate_timing(program, TileOptions(tiles=8))
    fine = simulate_timing(program, TileOptions(tiles=16))
    assert len(fine.tasks) > len(coarse.tasks)  # the granularity really changed
    assert abs(fine.total_cycles / coarse.total_cycles - 1) < 0.02
    assert fine.run.link_bytes[0] == pytest.approx(coarse.run.link_bytes[0])
