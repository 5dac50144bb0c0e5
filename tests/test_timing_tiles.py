"""Results do not depend on the simulation granularity: halving the tile
size changes the simulated cycles of the tiny zoo models by under 2 %
(docs/DESIGN.md, "Tiles"). Also: a finer tiling never loses work (the
external bytes are the same)."""

from __future__ import annotations

import pytest

from cmswitch.compile import compile_model, parse_policy
from cmswitch.ir import parse_module
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulate import meta_of
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timing import simulate_timing


@pytest.mark.parametrize("model", ["tiny-cnn", "tiny-bert", "tiny-llama"])
@pytest.mark.parametrize("policy", ["cmswitch", "cim-mlc", "static:0.5"])
def test_halving_the_tile_size(model: str, policy: str) -> None:
    # at the default granularity, which every number the project reports
    # uses. tiny-cnn's feature maps have 8-32 rows and conv1 runs on 11+
    # copies: while a tile went whole to one copy, cim-mlc moved by 16.6 %
    result = compile_model(load_model(model, seq=16), parse_policy(policy, ScheduleOptions()))
    program = meta_of(result)
    default = TileOptions()
    coarse = simulate_timing(program, default)
    fine = simulate_timing(program, TileOptions(tiles=2 * default.tiles))
    assert len(fine.tasks) >= len(coarse.tasks)
    assert abs(fine.total_cycles / coarse.total_cycles - 1) < 0.02
    assert fine.run.link_bytes[0] == pytest.approx(coarse.run.link_bytes[0])


def test_copies_share_the_rows_evenly_whatever_the_tile_count() -> None:
    # One 4 x 4 linear duplicated on arrays 0, 1, 2 (three copies), M = 12
    # rows, the chip of tests/test_timing.py. Programming: 3 x 16 B over the
    # 4 B/cycle channel, each array's port (2 B/cycle) not binding: 48 / 4 =
    # 12 cycles. Each copy then takes 4 of the 12 rows at 8 cycles per row
    # (its input, 16 B at 4/3 B/cycle = 12 cycles, and its output, 16 B at
    # 8/3 B/cycle over the bus = 6 cycles, hide behind the 32): 12 + 32 = 44.
    # With 2 or 4 tiles and no rounding to the copies, one copy would take 6
    # rows (12 + 48 = 60): the result would move with the tile size.
    from tests.test_timing import linear, prog, program, segment

    body = segment(0, [
        prog("%w", "fc", "0, 1, 2", ", ".join(["0, 1, 0, 4, 0, 4"] * 3), 48,
             "tensor<4x4xf32>"),
        linear("%x", "%w", "0, 1, 2", "buffer = 48", 4, 4, 12, "fc", "%y"),
    ], "%y", "tensor<12x4xf32>")  # fmt: skip
    text = program(
        f'    %w = cim.constant "w" : tensor<4x4xf32>\n{body}\n    func.return %s0 : tensor<12x4xf32>',
        "%x: tensor<12x4xf32>", "tensor<12x4xf32>",
    )  # fmt: skip
    for tiles in (2, 3, 4, 6, 12):
        tl = simulate_timing(parse_module(text), TileOptions(tiles=tiles))
        assert tl.total_cycles == pytest.approx(44.0), tiles


def test_a_tile_is_done_when_its_rows_are_whatever_the_copies() -> None:
    # The 3-copy 4 x 4 linear above (arrays 0, 1, 2; M = 12 rows) feeds a
    # 4 x 4 linear on array 3 through the buffer. Programming: 64 B over the
    # 4 B/cycle channel, fairly shared (3 B/cycle to the three copies, 1 to
    # array 3; the 2 B/cycle ports do not bind): 16 cycles. Row r of the
    # producer runs on copy r % 3, so rows 3t .. 3t+2 are ready at 16 + 8(t+1)
    # and the consumer, one row per 8 cycles from row 0 at 24, never waits:
    # 24 + 12 x 8 = 120 at any tiling whose tiles are at most 3 rows, since
    # 3 copies make 3 rows in one row's time. With 6-row tiles (2 tiles), the
    # first tile is ready at 16 + 16 = 32 (2 rows per copy) and the consumer
    # runs 32 + 96 = 128: pipeline fill, honest. (When a tile went whole to
    # one copy, 2 tiles gave 144: the consumer waited for the whole producer.)
    # With 4-row tiles (3 tiles) the copies' shares are uneven: tile 0 (rows
    # 0-3) puts rows 0 and 3 on copy 0 (16 cycles), one row on copies 1 and 2:
    # ready at 32; tile 1 (rows 4-7): copy 1 takes rows 4 and 7 from 24 to 40,
    # copy 2 row 5 from 24, copy 0 row 6 from 32: ready at 40; tile 2: copy 2
    # rows 8 and 11 from 32 to 48, the others one row each by 48. The
    # consumer's 4-row tiles run from 32, 64 and 96: 128.
    from tests.test_timing import linear, prog, program, segment

    body = segment(0, [
        prog("%w", "fc", "0, 1, 2", ", ".join(["0, 1, 0, 4, 0, 4"] * 3), 48,
             "tensor<4x4xf32>"),
        prog("%v", "fc2", "3", "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
        linear("%x", "%w", "0, 1, 2", "buffer = 48", 4, 4, 12, "fc", "%y"),
        linear("%y", "%v", "3", "buffer = 48", 4, 4, 12, "fc2", "%z"),
    ], "%z", "tensor<12x4xf32>")  # fmt: skip
    text = program(
        f'    %w = cim.constant "w" : tensor<4x4xf32>\n    %v = cim.constant "v" : '
        f"tensor<4x4xf32>\n{body}\n    func.return %s0 : tensor<12x4xf32>",
        "%x: tensor<12x4xf32>", "tensor<12x4xf32>",
    )  # fmt: skip
    for tiles in (4, 6, 12):
        tl = simulate_timing(parse_module(text), TileOptions(tiles=tiles))
        assert tl.total_cycles == pytest.approx(120.0), tiles
    rows = simulate_timing(parse_module(text), TileOptions(tile_rows=1))
    assert rows.total_cycles == pytest.approx(120.0)
    halves = simulate_timing(parse_module(text), TileOptions(tiles=2))
    assert halves.total_cycles == pytest.approx(128.0)
    thirds = simulate_timing(parse_module(text), TileOptions(tiles=3))
    assert thirds.total_cycles == pytest.approx(128.0)
    assert thirds.run.link_bytes[0] == pytest.approx(rows.run.link_bytes[0])
