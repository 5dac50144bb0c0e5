"""Timing of hand-written `cim_meta` programs, cycle counts derived by hand.

Every program runs on a small chip written out in its header (`hw(...)`).
Unless a test says otherwise: arrays of 4 rows x 4 one-byte cells
(`weights_per_row` = 4 eight-bit weights, `d_cim` = 4 B/cycle, `array_bytes`
= 16), 8-bit activations (a row of M costs 8 cycles per array),
`write_cycles_per_row` = 2, so a 4-row weight tile takes 8 cycles and an
array's write port moves 4 / 2 = 2 B/cycle; an 8 B/cycle internal bus. Tiles are one
row of M (`tile_rows=1`) so every step can be followed by hand.
"""

from __future__ import annotations

import pytest

from cmswitch.ir import parse_module
from cmswitch.simulator.errors import SimulationError
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timeline import Timeline
from cmswitch.simulator.timing import simulate_timing

BASE = dict(
    arrays=8, rows=4, cols=4, cell_bits=8, weight_bits=8, act_bits=8, buffer_bytes=1024,
    internal_bw_bits=64, external_bw_bytes=4, switch_c2m_cycles=10, switch_m2c_cycles=20,
    write_cycles_per_row=2, vector_elems_per_cycle=4,
)  # fmt: skip


def hw(**over: int) -> str:
    fields = {**BASE, **over}
    body = ", ".join(f"{k} = {v}" for k, v in fields.items())
    return f'#cim.hardware<"test", {body}, clock_hz = 1000000000.0>'


def program(body: str, args: str, results: str = "", **over: int) -> str:
    ret = f" -> ({results})" if results else ""
    return (
        f"builtin.module attributes {{cim.hardware = {hw(**over)}}} {{\n"
        f"  func.func @main({args}){ret} {{\n{body}\n  }}\n}}\n"
    )


def run(text: str, tile_rows: int | None = 1) -> Timeline:
    return simulate_timing(parse_module(text), TileOptions(tile_rows=tile_rows))


def linear(x: str, w: str, arrays: str, place: str, n: int, k: int, m: int, label: str,
           out: str) -> str:  # fmt: skip
    return (
        f'{out} = cim_meta.compute {x} {{label = "{label}", kind = "linear", '
        f"arrays = array<i64: {arrays}>, weight_shape = array<i64: {n}, {k}>, "
        f"place = #cim_meta.place<{place}>}} : tensor<{m}x{n}xf32> -> tensor<{m}x{k}xf32>"
    )


def prog(
    w: str, label: str, arrays: str, tiles: str, nbytes: int, typ: str, extra: str = ""
) -> str:
    return (
        f'cim_meta.program {w} {{label = "{label}", arrays = array<i64: {arrays}>, '
        f"tiles = array<i64: {tiles}>, bytes = {nbytes} : i64{extra}}} : {typ}"
    )


def segment(index: int, body: list[str], yields: str = "", types: str = "") -> str:
    count = len(yields.split(","))
    head = (f"%s{index}:{count} = " if count > 1 else f"%s{index} = ") if yields else ""
    res = f" -> {types}" if yields else ""
    inner = "\n      ".join(body)
    tail = f"cim_meta.yield {yields} : {types}" if yields else "cim_meta.yield"
    return f"    {head}cim_meta.segment {{index = {index} : i64}}{res} {{\n      {inner}\n      {tail}\n    }}"


def one_linear(external_bw: int, n: int = 4, arrays: str = "0", tiles: str = "0, 1, 0, 4, 0, 4",
               wbytes: int = 16) -> Timeline:  # fmt: skip
    body = segment(0, [
        prog("%w", "fc", arrays, tiles, wbytes, f"tensor<{n}x4xf32>"),
        linear("%x", "%w", arrays, "buffer = 32", n, 4, 8, "fc", "%y"),
    ], "%y", "tensor<8x4xf32>")  # fmt: skip
    text = program(
        f'    %w = cim.constant "w" : tensor<{n}x4xf32>\n{body}\n    func.return %s0 : tensor<8x4xf32>',
        f"%x: tensor<8x{n}xf32>", "tensor<8x4xf32>", external_bw_bytes=external_bw,
    )  # fmt: skip
    return run(text)


def test_compute_bound() -> None:
    # program: 16 B over a 4 B/cycle channel, capped by the 2 B/cycle write
    # port: 8 cycles, as 4 rows x 2 cycles: 8. Then 8 rows of M at 8 cycles each; a row's input
    # (4 B from dram, 1 cycle) and output (4 B to the buffer over the 8
    # B/cycle bus, 0.5 cycle) hide behind the 8 cycles: 8 + 64 = 72.
    tl = one_linear(external_bw=4)
    assert tl.total_cycles == pytest.approx(72.0)
    assert tl.breakdown["reload"] == pytest.approx(8.0)
    assert tl.breakdown["intra"] == pytest.approx(64.0)
    assert tl.run.link_bytes[0] == pytest.approx(16 + 32)


def test_bandwidth_bound() -> None:
    # N = 32: 8 row blocks -> 8 arrays, each a 4 x 4 tile of 16 B. All 8
    # programs share the 2 B/cycle channel (0.25 B/cycle each): 128 B / 2 =
    # 64 cycles. Each row of M then reads 32 B from dram at 2 B/cycle = 16
    # cycles > 8 cycles of compute: 8 x 16 = 128. Total 192.
    tiles = ", ".join(f"0, 1, {4 * i}, {4 * i + 4}, 0, 4" for i in range(8))
    tl = one_linear(external_bw=2, n=32, arrays="0, 1, 2, 3, 4, 5, 6, 7", tiles=tiles, wbytes=128)
    assert tl.total_cycles == pytest.approx(192.0)
    assert tl.breakdown["reload"] == pytest.approx(64.0)
    # the arrays "compute" while they wait for their input: intra is the span
    assert tl.breakdown["intra"] == pytest.approx(128.0)


def test_two_operators_share_the_channel() -> None:
    # two independent linears (N = 8: 2 arrays each) on a 1 B/cycle channel.
    # Programming: 4 arrays x 16 B = 64 B at 1 B/cycle, all together: 64.
    # Then each row of each op reads 8 B from dram; both ops read at once, so
    # each gets 0.5 B/cycle: 16 cycles per row (alone: 8, = compute):
    # 4 rows x 16 = 64. Total 128.
    t1 = "0, 1, 0, 4, 0, 4, 0, 1, 4, 8, 0, 4"
    body = segment(0, [
        prog("%w1", "a", "0, 1", t1, 32, "tensor<8x4xf32>"),
        prog("%w2", "b", "2, 3", t1, 32, "tensor<8x4xf32>"),
        linear("%x1", "%w1", "0, 1", "buffer = 16", 8, 4, 4, "a", "%y1"),
        linear("%x2", "%w2", "2, 3", "buffer = 16", 8, 4, 4, "b", "%y2"),
    ], "%y1, %y2", "tensor<4x4xf32>, tensor<4x4xf32>")  # fmt: skip
    text = program(
        '    %w1 = cim.constant "w1" : tensor<8x4xf32>\n    %w2 = cim.constant "w2" : '
        f"tensor<8x4xf32>\n{body}\n    func.return %s0#0, %s0#1 : tensor<4x4xf32>, tensor<4x4xf32>",
        "%x1: tensor<4x8xf32>, %x2: tensor<4x8xf32>", "tensor<4x4xf32>, tensor<4x4xf32>",
        external_bw_bytes=1,
    )  # fmt: skip
    tl = run(text)
    assert tl.total_cycles == pytest.approx(128.0)
    assert tl.run.link_peak[0] == pytest.approx(1.0)


def chain(segments: bool, second_array: int = 1) -> Timeline:
    # A (array 0) -> buffer -> B (array `second_array`), 8 rows of M, 64 B/cycle channel
    a = [prog("%wa", "a", "0", "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
         linear("%x", "%wa", "0", "buffer = 32", 4, 4, 8, "a", "%ya")]  # fmt: skip
    b = [prog("%wb", "b", str(second_array), "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
         linear("%ya", "%wb", str(second_array), "buffer = 32", 4, 4, 8, "b", "%yb")]  # fmt: skip
    consts = '    %wa = cim.constant "wa" : tensor<4x4xf32>\n    %wb = cim.constant "wb" : tensor<4x4xf32>\n'
    if segments:
        b[1] = b[1].replace("%ya", "%s0", 1)
        body = (
            segment(0, a, "%ya", "tensor<8x4xf32>") + "\n" + segment(1, b, "%yb", "tensor<8x4xf32>")
        )
        ret = "%s1"
    else:
        body = segment(0, a + b, "%yb", "tensor<8x4xf32>")
        ret = "%s0"
    text = program(f"{consts}{body}\n    func.return {ret} : tensor<8x4xf32>",
                   "%x: tensor<8x4xf32>", "tensor<8x4xf32>", external_bw_bytes=64)  # fmt: skip
    return run(text)


def test_pipeline_fill() -> None:
    # both programs at once: 8 cycles (16 B through a 2 B/cycle write port). Then a two-stage
    # pipeline of 8 tiles of 8 cycles: sum + (K - 1) x max = 16 + 7 x 8 = 72
    # after the programs: 80 (not 8 + 2 x 64 = 136).
    tl = chain(segments=False)
    assert tl.total_cycles == pytest.approx(80.0)


def test_programming_overlaps_the_previous_segment() -> None:
    # the same chain as two segments: segments are not barriers; B's
    # programming on free array 1 runs during A's, so the time is the same: 80
    tl = chain(segments=True)
    assert tl.total_cycles == pytest.approx(80.0)
    assert [s.cycles for s in tl.segments] == pytest.approx([72.0, 8.0])
    # on A's own array, B is programmed only after A's last tile (72): 72 + 8
    # = 80, then B's 8 tiles: 144 (B's tiles all have their inputs by then)
    tl = chain(segments=True, second_array=0)
    assert tl.total_cycles == pytest.approx(144.0)
    assert tl.breakdown["reload"] == pytest.approx(16.0)


def test_weight_programming_alone() -> None:
    # three arrays programmed from a 4 B/cycle channel: tiles of 4, 4 and 2
    # rows (16, 16, 8 B). Fair share 4/3 B/cycle each (under the 2 B/cycle
    # write ports): the 8 B tile is done
    # at 6 (its 2 x 2 = 4 write cycles are shorter); the other two then get
    # 2 B/cycle (channel and port) for their last 8 B: done at 10 (> 8 write cycles). Total 10
    # = 40 B / 4 B/cycle: channel bound.
    body = segment(0, [prog("%w", "fc", "0, 1, 2",
                            "0, 1, 0, 4, 0, 4, 0, 1, 4, 8, 0, 4, 0, 1, 8, 10, 0, 4", 40,
                            "tensor<10x4xf32>")])  # fmt: skip
    text = program(f'    %w = cim.constant "w" : tensor<10x4xf32>\n{body}\n    func.return', "")
    tl = run(text)
    assert tl.total_cycles == pytest.approx(10.0)
    # per array: when the task programming it finished (arrays 0 and 1 are
    # alike, so the simulator may program them as one task)
    done = {a: tl.run.finish[i] for i, t in enumerate(tl.tasks) for a in t.arrays}
    assert sorted(done.values()) == pytest.approx([6.0, 10.0, 10.0])
    assert sorted(done) == [0, 1, 2]
    assert tl.breakdown["reload"] == pytest.approx(10.0)


def conv_program(halo_pad: int) -> str:
    # relu on the vector unit (1 element/cycle) makes the 8 input rows of a
    # [1, 4, 8, 4] feature map, one every 16 cycles; a 3x3 convolution (N =
    # 36, K = 4, one 64-row array) with 2-bit activations takes 4 output
    # columns x 2 = 8 cycles per output row.
    pad = halo_pad
    relu = (
        "%r = cim_meta.vector %x {place = #cim_meta.place<buffer = 32>} : "
        "(tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32> {\n      ^bb0(%a: tensor<1x4x8x4xf32>):\n"
        "        %o = cim.elementwise relu %a : tensor<1x4x8x4xf32> -> tensor<1x4x8x4xf32>\n"
        "        cim_meta.yield %o : tensor<1x4x8x4xf32>\n      }"
    )
    kh = 2 * pad + 1
    out_h = 8
    conv = (
        f'%y = cim_meta.compute %r {{label = "conv", kind = "conv2d", arrays = array<i64: 0>, '
        f"weight_shape = array<i64: 4, 4, {kh}, 1>, place = #cim_meta.place<buffer = 32>, "
        f"strides = array<i64: 1, 1>, pads = array<i64: {pad}, 0, {pad}, 0>, "
        f"dilations = array<i64: 1, 1>, group = 1 : i64}} : tensor<1x4x8x4xf32> -> "
        f"tensor<1x4x{out_h}x4xf32>"
    )
    n = 4 * kh
    body = segment(0, [
        prog("%w", "conv", "0", f"0, 1, 0, {n}, 0, 4", 4 * n, f"tensor<4x4x{kh}x1xf32>"),
        relu, conv,
    ], "%y", "tensor<1x4x8x4xf32>")  # fmt: skip
    return program(
        f'    %w = cim.constant "w" : tensor<4x4x{kh}x1xf32>\n{body}\n'
        "    func.return %s0 : tensor<1x4x8x4xf32>",
        "%x: tensor<1x4x8x4xf32>", "tensor<1x4x8x4xf32>",
        rows=64, act_bits=2, write_cycles_per_row=1, vector_elems_per_cycle=1,
        external_bw_bytes=64, internal_bw_bits=8192,
    )  # fmt: skip


def test_convolution_halo() -> None:
    # relu row r is done at 16 (r + 1). A 3-row kernel (pad 1): output row
    # oh needs input rows oh - 1 .. oh + 1, so it starts at 16 (oh + 2) (oh <
    # 7; programming, 36 rows x 1 cycle and 144 B through a 4 B/cycle port,
    # is done at 36 < 48, and output row 0 (ready at 32) waits for it: 36..44),
    # row 7 needs row 7
    # (128) and starts when row 6 ends (136): 144.
    # With a 1-row kernel (no halo) output row oh starts at 16 (oh + 1):
    # row 7 runs 128..136 (its 4-row program takes 4 cycles).
    assert run(conv_program(1)).total_cycles == pytest.approx(144.0, abs=0.01)
    assert run(conv_program(0)).total_cycles == pytest.approx(136.0, abs=0.01)


def test_spill_crosses_the_channel_twice() -> None:
    # linear N = 4, K = 16 (4 arrays), 1 B/cycle channel. Programming 64 B:
    # 64 cycles. A row reads 4 B from dram and writes 16 B, half of the
    # result spilled to dram (place buffer = 64, dram = 64): both flows on
    # the channel, the write using it at half its rate. Max-min: x + y / 2
    # <= 1 with x = y = 2/3; the read ends at 6 (4 B), the write has 12 B
    # left and runs at 2 B/cycle: 6 more cycles. 12 cycles per row, 8 rows:
    # 64 + 96 = 160. The same program without the spill: reads 4 cycles,
    # writes 2, compute 8: 64 + 64 = 128.
    tiles = ", ".join(f"0, 1, 0, 4, {4 * i}, {4 * i + 4}" for i in range(4))

    def text(place: str) -> str:
        body = segment(0, [
            prog("%w", "fc", "0, 1, 2, 3", tiles, 64, "tensor<4x16xf32>"),
            linear("%x", "%w", "0, 1, 2, 3", place, 4, 16, 8, "fc", "%y"),
        ], "%y", "tensor<8x16xf32>")  # fmt: skip
        return program(f'    %w = cim.constant "w" : tensor<4x16xf32>\n{body}\n'
                       "    func.return %s0 : tensor<8x16xf32>", "%x: tensor<8x4xf32>",
                       "tensor<8x16xf32>", external_bw_bytes=1)  # fmt: skip

    spilled = run(text("buffer = 64, dram = 64"))
    assert spilled.total_cycles == pytest.approx(160.0)
    assert spilled.run.link_bytes[0] == pytest.approx(64 + 32 + 64)
    assert run(text("buffer = 128")).total_cycles == pytest.approx(128.0)


def test_mode_switch_and_write_back() -> None:
    # array 0 computes (programmed 0..8) into memory arrays 1, 2 (switched
    # to memory 0..10): rows start at 10, 8 rows x 8 = 74. Each row's 4 B are
    # stored to dram at once, read from the two arrays' 4 B/cycle ports at
    # half the rate each (8 B/cycle): 0.5 cycle; the switch back to compute
    # (20 cycles) waits for the last store: 74 + 0.5 + 20.
    body = segment(0, [
        "cim_meta.switch {arrays = array<i64: 1, 2>, mode = #cim<mode memory>}",
        prog("%w", "fc", "0", "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
        linear("%x", "%w", "0", "arrays [1, 2] = 32", 4, 4, 8, "fc", "%y"),
        "%z = cim_meta.store %y {place = #cim_meta.place<dram = 32>, bytes = 32 : i64} : "
        "tensor<8x4xf32> -> tensor<8x4xf32>",
        "cim_meta.switch {arrays = array<i64: 1, 2>, mode = #cim<mode compute>}",
    ], "%z", "tensor<8x4xf32>")  # fmt: skip
    text = program(f'    %w = cim.constant "w" : tensor<4x4xf32>\n{body}\n'
                   "    func.return %s0 : tensor<8x4xf32>", "%x: tensor<8x4xf32>",
                   "tensor<8x4xf32>", external_bw_bytes=64)  # fmt: skip
    tl = run(text)
    assert tl.total_cycles == pytest.approx(74 + 0.5 + 20)
    assert tl.breakdown["switch"] == pytest.approx(10 - 8 + 20)
    assert tl.modes[1] == [(0.0, "compute"), (10.0, "memory"), (pytest.approx(94.5), "compute")]


def test_attention_k_in_place() -> None:
    # K = x Wk is written into memory array 1 (switched 0..10; Wk programmed
    # 0..8): 4 rows at 8 cycles from 10: 42. Array 1 is switched to compute
    # (20 cycles, after K's last write): 62. The in-place "program" moves
    # nothing and takes no time; Q K runs on array 1 once all of K is there:
    # 4 rows x 8 = 32: 94. No byte of K crosses the channel.
    body = segment(0, [
        "cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode memory>}",
        prog("%wk", "k", "0", "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
        linear("%x", "%wk", "0", "arrays [1] = 16", 4, 4, 4, "k", "%k"),
        "cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode compute>}",
        prog("%k", "qk", "1", "0, 1, 0, 4, 0, 4", 0, "tensor<4x4xf32>", ", in_place = 1 : i64"),
        '%s = cim_meta.compute %q {label = "qk", kind = "matmul", arrays = array<i64: 1>, '
        "weight_shape = array<i64: 4, 4>, place = #cim_meta.place<buffer = 16>} : "
        "tensor<4x4xf32> -> tensor<4x4xf32>",
    ], "%s", "tensor<4x4xf32>")  # fmt: skip
    text = program(f'    %wk = cim.constant "wk" : tensor<4x4xf32>\n{body}\n'
                   "    func.return %s0 : tensor<4x4xf32>", "%x: tensor<4x4xf32>, %q: tensor<4x4xf32>",
                   "tensor<4x4xf32>", external_bw_bytes=64)  # fmt: skip
    tl = run(text)
    assert tl.total_cycles == pytest.approx(94.0)
    # the channel carries Wk (16 B), x (16 B) and q (16 B), nothing of K
    assert tl.run.link_bytes[0] == pytest.approx(48.0)


def test_the_walk_records_every_op_and_rejects_unknown_ones() -> None:
    # the interpreter walk: every cim_meta op of the segments is recorded
    # once, in program order, with its segment
    tl = chain(segments=True)
    assert [(r.segment, r.name) for r in tl.ops] == [(0, "a"), (0, "a"), (1, "b"), (1, "b")]
    assert [r.label.split(" ")[0] for r in tl.ops] == [
        "cim_meta.program", "cim_meta.compute", "cim_meta.program", "cim_meta.compute"
    ]  # fmt: skip
    # an op the timing model does not know, inside a segment: a located error
    body = segment(0, ["%r = cim.elementwise relu %x : tensor<4x4xf32> -> tensor<4x4xf32>"])
    text = program(body + "\n    func.return", "%x: tensor<4x4xf32>")
    with pytest.raises(SimulationError, match="the timing simulator has no model for this op"):
        run(text)
