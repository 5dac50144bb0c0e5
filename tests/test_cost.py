"""The cost model against hand-computed values of the spec's equations on the
DynaPlasia preset (op_cim 1600 MAC/cycle, d_cim 40 B/cycle, D_main 132 B/cycle,
320 cycles to program an array, 96 arrays, 12800-byte arrays)."""

from __future__ import annotations

import dataclasses

import pytest

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.schedule.cost import (
    CostOptions,
    fill_factor,
    intra_latency,
    live_bytes,
    op_latency,
    reload_cost,
    segment_period,
    switch_cost,
    vector_cycles,
    writeback_cost,
)
from cmswitch.schedule.plan import OpAlloc
from cmswitch.workload import Workload

HW = Hardware.preset("dynaplasia")
PAPER = CostOptions(model="paper")
STRICT = CostOptions(model="strict")
# M=64, N=640, K=400: 16 384 000 MACs; bytes in 40 960 + weights 256 000 +
# out 25 600 = 322 560; min arrays ceil(640/320) * ceil(400/40) = 20.
SHAPE = MatmulShape(64, 640, 400)
MACS, BYTES = 64 * 640 * 400, 40960 + 256000 + 25600
STREAMED = 40960 + 25600  # what crosses during compute: inputs and outputs


def chain(n: int = 3, hw: Hardware = HW) -> Workload:
    return Workload.from_ops(hw, [SHAPE] * n, vector_work=[6400] + [0] * (n - 1))


def test_preset_derived_values_used_by_the_model() -> None:
    assert (HW.op_cim, HW.d_cim, HW.d_main, HW.write_cycles_per_array) == (1600, 40, 132, 320)
    assert chain().ops[0].min_arrays == 20


def test_eq10_bandwidth_bound_roofline() -> None:
    op = chain().ops[0]
    # roofline AI = MACS / BYTES, so a bandwidth-bound op takes BYTES / bandwidth
    assert op_latency(op, 20, 0, HW, PAPER) == pytest.approx(BYTES / 132)
    assert op_latency(op, 20, 10, HW, PAPER) == pytest.approx(BYTES / (10 * 40 + 132))
    # with 20 memory arrays bandwidth (932 B/cycle * AI) exceeds 20 * 1600 MAC/cycle
    assert op_latency(op, 20, 20, HW, PAPER) == pytest.approx(MACS / (20 * 1600))
    assert op_latency(op, 40, 100, HW, PAPER) == pytest.approx(MACS / (40 * 1600))


def test_eq10_input_ai_is_k() -> None:
    op = chain().ops[0]
    opts = CostOptions(model="paper", ai="input")
    # AI = K = 400: bandwidth 132 * 400 = 52 800 > 32 000 MAC/cycle of 20 arrays
    assert op_latency(op, 20, 0, HW, opts) == pytest.approx(MACS / 32000)
    assert op_latency(op, 40, 0, HW, opts) == pytest.approx(MACS / 52800)


def test_strict_compute_is_bit_serial_in_whole_copies() -> None:
    # A depthwise-like operator: 64 groups of 9 x 1, M = 49 rows. An array
    # packs min(320 // 9, 40 // 1) = 35 groups, so one copy is
    # ceil(64 / 35) = 2 arrays, filled 576 of 2 * 12 800 weights.
    wl = Workload.from_ops(HW, [MatmulShape(49, 9, 1, groups=64)])
    op = wl.ops[0]
    assert op.min_arrays == 2
    big = CostOptions(model="strict")
    # paper: 49 * 9 * 64 = 28 224 MACs at 1600 MAC/cycle/array on 2 arrays
    assert op_latency(op, 2, 96, HW, PAPER) == pytest.approx(28224 / 3200)
    # strict: every array of a copy spends act_bits = 8 cycles per row of M,
    # however empty: 49 * 8 = 392 cycles (ample memory bandwidth: 96 arrays)
    assert op_latency(op, 2, 96, HW, big) == pytest.approx(392)
    # 3 arrays are still one copy (the third stays idle); 4 arrays are two
    # copies, each taking half the rows: 196 cycles
    assert op_latency(op, 3, 96, HW, big) == pytest.approx(392)
    assert op_latency(op, 4, 96, HW, big) == pytest.approx(196)
    # a full operator (SHAPE fills its 20 arrays) is the same in both models
    full = chain().ops[0]
    assert op_latency(full, 20, 96, HW, big) == pytest.approx(MACS / (20 * 1600))
    assert op_latency(full, 20, 96, HW, big) == pytest.approx(64 * 8)


def test_pipeline_fill_and_period() -> None:
    wl = chain(3)
    allocs = [OpAlloc(20, 0, 0), OpAlloc(20, 0, 20), OpAlloc(40, 20, 0)]
    # L = BYTES/132, MACS/32000, MACS/64000 -> period is the first
    period = BYTES / 132
    assert segment_period(wl, 0, 2, allocs, PAPER) == pytest.approx(period)
    # fill: path 0 -> 1 -> 2, last op excluded: 1/64 + 1/64
    assert fill_factor(wl, 0, 2) == pytest.approx(2 / 64)
    assert fill_factor(wl, 1, 1) == 0.0
    assert intra_latency(wl, 0, 2, allocs, PAPER) == pytest.approx(period * (1 + 2 / 64))


def test_strict_shares_main_bandwidth() -> None:
    # two independent identical ops, both bandwidth bound without memory:
    # paper (roofline): each gets 132 B/cycle; paper with the streamed
    # intensity: each still gets all of it; strict: one channel for both,
    # their inputs (arguments, 40 960 each) and outputs (25 600 each, no
    # reader: the write is its only access) cross it:
    # T = 2 * 66 560 / 132 = 1008.5 > 512 (compute: 64 rows x 8 bits)
    wl = Workload.from_ops(HW, [SHAPE, SHAPE], edges={})
    allocs = [OpAlloc(20), OpAlloc(20)]
    assert segment_period(wl, 0, 1, allocs, PAPER) == pytest.approx(BYTES / 132)
    paper_streamed = CostOptions(model="paper", ai="streamed")
    assert segment_period(wl, 0, 1, allocs, paper_streamed) == pytest.approx(
        max(STREAMED / 132, MACS / 32000)
    )
    assert segment_period(wl, 0, 1, allocs, STRICT) == pytest.approx(2 * STREAMED / 132, rel=1e-9)
    # input arrays hold nothing for an operator reading an argument (main
    # memory): op 0's 20 of them change nothing
    allocs = [OpAlloc(20, 20, 0), OpAlloc(20)]
    assert segment_period(wl, 0, 1, allocs, STRICT) == pytest.approx(2 * STREAMED / 132, rel=1e-9)
    # 2 output arrays (2 x 12 800 bytes) hold op 0's output whole: its write
    # leaves the channel, (81 920 + 25 600) / 132 = 814.5; their ports need
    # 25 600 / (2 x 40) = 320 < 512. One array holds half:
    # (81 920 + 12 800 + 25 600) / 132 = 911.5, its port 12 800 / 40 = 320
    got = segment_period(wl, 0, 1, [OpAlloc(20, 0, 2), OpAlloc(20)], STRICT)
    assert got == pytest.approx((81920 + 25600) / 132, rel=1e-9)
    got = segment_period(wl, 0, 1, [OpAlloc(20, 0, 1), OpAlloc(20)], STRICT)
    assert got == pytest.approx((81920 + 12800 + 25600) / 132, rel=1e-9)


def test_strict_memory_arrays_hold_what_the_segment_makes() -> None:
    """Hand-derived, strict (held fractions). chain(2): op 0 (input an
    argument, 40 960 B) makes 25 600 B, its vector work (6 400 elements)
    reads and writes it (12 800 B), op 1 streams it as 40 960 B of input:
    A0 = 79 360; op 1 makes 25 600 B (A1 = 25 600). F = 1/64; compute 512."""
    wl = chain(2)
    fill = 1 + 1 / 64
    t = segment_period(wl, 0, 1, [OpAlloc(20), OpAlloc(20)], STRICT)
    assert t == pytest.approx((40960 + 79360 + 25600) / 132 / fill, rel=1e-9)
    # op 0's tensor whole on 2 arrays: its accesses leave the channel
    # ((40 960 + 25 600) / 132 / fill = 496.5) but 2 ports need 79 360 / 80
    # = 992; on 4 arrays 496: compute (512) binds
    t = segment_period(wl, 0, 1, [OpAlloc(20, 0, 2), OpAlloc(20)], STRICT)
    assert t == pytest.approx(992.0, rel=1e-9)
    t = segment_period(wl, 0, 1, [OpAlloc(20, 0, 4), OpAlloc(20)], STRICT)
    assert t == pytest.approx(512.0, rel=1e-9)
    # half of it on 1 array: its port serves half the accesses at 40 B/cycle
    # (992), the other half crosses: (40 960 + 39 680 + 25 600) / 132 / fill
    t = segment_period(wl, 0, 1, [OpAlloc(20, 0, 1), OpAlloc(20)], STRICT)
    assert t == pytest.approx(992.0, rel=1e-9)
    # the reader's input arrays hold it as well as the producer's output arrays
    t = segment_period(wl, 0, 1, [OpAlloc(20), OpAlloc(20, 4, 0)], STRICT)
    assert t == pytest.approx(512.0, rel=1e-9)
    # 2 output arrays shared in place as op 1's 2 input arrays are 2 arrays
    t = segment_period(wl, 0, 1, [OpAlloc(20, 0, 2), OpAlloc(20, 2, 0)], STRICT, ((0, 1, 2),))
    assert t == pytest.approx(992.0, rel=1e-9)
    # op 1 alone: its input (from the segment before) is in main memory
    # whatever its input arrays; on 2 copies (compute 256) the channel binds:
    # (40 960 + 25 600) / 132 = 504.2; its output held on 2 arrays leaves
    # 40 960 B, over the external channel only: 40 960 / 128 = 320
    for memory in (0, 20, 60):
        got = segment_period(wl, 1, 1, [OpAlloc(40, memory, 0)], STRICT)
        assert got == pytest.approx(STREAMED / 132, rel=1e-9)
    got = segment_period(wl, 1, 1, [OpAlloc(40, 0, 2)], STRICT)
    assert got == pytest.approx(40960 / 128, rel=1e-9)


def test_streamed_intensity_leaves_weights_out() -> None:
    op = chain().ops[0]
    assert op.ai("streamed") == pytest.approx(MACS / STREAMED)
    assert op.ai("roofline") == pytest.approx(MACS / BYTES)
    assert op.ai("input") == 400
    assert CostOptions().model == "strict" and CostOptions().ai == "streamed"
    assert CostOptions(model="paper").ai == "roofline"
    with pytest.raises(ValueError, match="streamed intensity only"):
        CostOptions(model="strict", ai="roofline")


def test_conv_streams_im2col_rows() -> None:
    """A 3x3 convolution streams its im2col rows (M x kh*kw*cin), not the
    feature map: 9x the input feature map here (execution model)."""
    from cmswitch.builder import GraphBuilder
    from cmswitch.dialects.cim import Conv2dOp

    b = GraphBuilder("conv")
    x = b.input("x", (1, 16, 8, 8))
    w = b.weight("w", (32, 16, 3, 3))
    bias = b.weight("b", (32,))
    y = b.add(Conv2dOp(x, w, bias, strides=(1, 1), pads=(1, 1, 1, 1), group=1))
    b.output(y)
    wl = Workload.from_module(b.module(HW), HW)
    op = wl.ops[0]
    m, n, k = 8 * 8, 3 * 3 * 16, 32
    assert (op.shape.m, op.shape.n, op.shape.k) == (m, n, k)
    assert op.input_bytes == m * n == 9 * (16 * 8 * 8)
    assert op.ai("streamed") == pytest.approx(m * n * k / (m * n + m * k))


def test_strict_vector_unit_overlaps() -> None:
    from cmswitch.schedule.cost import local_parts

    # vector work 6400 elements = 100 cycles after op 0
    wl = chain(2)
    allocs = [OpAlloc(20, 0, 0), OpAlloc(20, 0, 0)]
    paper = local_parts(wl, 0, 1, allocs, PAPER)
    strict = local_parts(wl, 0, 1, allocs, STRICT)
    assert paper.vector == 100  # added
    assert strict.vector == 0.0  # hidden behind the arrays (intra >> 100)
    assert strict.intra > 100
    assert strict.total == pytest.approx(strict.intra + strict.reload)


def test_reload_eq2_and_bandwidth_bound() -> None:
    wl = chain(2)
    allocs = [OpAlloc(20), OpAlloc(35)]
    assert reload_cost(wl, 0, 1, allocs, PAPER) == 35 * 320
    slow = dataclasses.replace(HW, external_bw_bytes=8)
    wl_slow = chain(2, slow)
    # strict: every array programs at once through its own port (320 cycles
    # for a full one), all through the channel, every whole copy counted:
    # op 1 on 35 arrays holds floor(35 / 20) = 1 copy of its 256 000 bytes
    # (the other 15 arrays stay idle, unprogrammed), so
    # (256 000 + 256 000) / 8 B/cycle = 64 000 cycles
    assert reload_cost(wl_slow, 0, 1, allocs, STRICT) == pytest.approx(64000)
    assert reload_cost(wl_slow, 0, 1, allocs, PAPER) == 35 * 320
    # on 40 arrays, 2 copies: (256 000 + 2 * 256 000) / 8 = 96 000
    two = [OpAlloc(20), OpAlloc(40)]
    assert reload_cost(wl_slow, 0, 1, two, STRICT) == pytest.approx(96000)
    # at 128 B/cycle: 512 000 / 128 = 4000 (paper: 35 * 320 = 11 200)
    assert reload_cost(wl, 0, 1, allocs, STRICT) == pytest.approx(4000)
    # one small layer: the write port binds (320 cycles), not the channel
    tiny = Workload.from_ops(HW, [MatmulShape(64, 320, 40)])
    assert reload_cost(tiny, 0, 0, [OpAlloc(1)], STRICT) == 320


def test_switch_eq1_idle_arrays_free() -> None:
    # previous: 60 compute, 30 memory (6 idle); next: 80 compute, 10 memory.
    # 80 - (96 - 30) = 14 memory arrays must become compute; none the other way.
    assert switch_cost(HW, 60, 30, 80, 10) == 14
    assert switch_cost(HW, 80, 10, 60, 30) == 30 - (96 - 80)
    assert switch_cost(HW, 0, 0, 96, 0) == 0
    prime = Hardware.preset("prime")  # 10 cycles per switch each way
    assert switch_cost(prime, 0, 256, 10, 246) == 100


def test_writeback_eq4() -> None:
    wl = chain(3)
    # op0's 25 600-byte output is consumed by op1, after segment [0, 0]
    assert live_bytes(wl, 0, 0) == 25600
    assert live_bytes(wl, 0, 2) == 0
    assert writeback_cost(wl, 0, 0, 5, 2) == pytest.approx(25600 / 128)
    # giving up one array only spills what it held
    assert writeback_cost(wl, 0, 0, 5, 4) == pytest.approx(12800 / 128)
    assert writeback_cost(wl, 0, 0, 5, 5) == 0.0


def test_vector_cycles() -> None:
    assert vector_cycles(6400, HW) == 100


def test_options_validated() -> None:
    with pytest.raises(ValueError, match="cost model"):
        CostOptions(model="fancy")  # type: ignore[arg-type]


def test_dynamic_operand_write_is_costed() -> None:
    # Q K^T-like op: the run-time operand is programmed into its arrays like a
    # weight (Eq. 2 max), so it is never free; strict adds no DRAM bound for it
    qk = MatmulShape(64, 128, 64, groups=4, stationary=False)
    wl = Workload.from_ops(HW, [SHAPE, qk])
    assert wl.ops[1].min_arrays == 8  # 2 arrays per head (64 columns > 40)
    allocs = [OpAlloc(20), OpAlloc(40)]
    assert reload_cost(wl, 0, 1, allocs, PAPER) == 40 * 320
    slow = dataclasses.replace(HW, external_bw_bytes=1)
    wl_slow = Workload.from_ops(slow, [SHAPE, qk])
    assert reload_cost(wl_slow, 0, 1, allocs, STRICT) == pytest.approx(256000 / 1)


def test_reload_counts_a_split_layer_as_one_layer() -> None:
    """Eq. 2's Com_l sums the arrays of one layer however it is split: two
    parts of layer 0 (5 + 7 arrays) and a layer of its own (9 arrays)."""
    wl = Workload.from_ops(HW, [SHAPE] * 3, layers=[0, 0, 2])
    allocs = [OpAlloc(5), OpAlloc(7), OpAlloc(9)]
    w = HW.write_cycles_per_array
    assert reload_cost(wl, 0, 2, allocs, PAPER) == (5 + 7) * w
    assert reload_cost(wl, 1, 2, allocs[1:], PAPER) == 9 * w  # only part 1 of layer 0
    separate = Workload.from_ops(HW, [SHAPE] * 3)
    assert reload_cost(separate, 0, 2, allocs, PAPER) == 9 * w


# Fan-out: op0 is read by op1, op2 and op3, op1 by op2, op2 by op3 (bytes
# chosen per edge so that sums and maxima differ).
FAN_EDGES = {(0, 1): 1024.0, (0, 2): 1024.0, (0, 3): 1024.0, (1, 2): 512.0, (2, 3): 256.0}
# 32 x 32 one-bit arrays: 128 bytes each; 256-byte buffer; 1 B/cycle from DRAM
FAN_HW = dataclasses.replace(
    HW, arrays=24, rows=32, cols=32, buffer_bytes=256, internal_bw_bits=8, external_bw_bytes=1
)


def fan_out() -> Workload:
    return Workload.from_ops(FAN_HW, [MatmulShape(64, 32, 4)] * 4, FAN_EDGES)


def test_live_bytes_fan_out_by_hand() -> None:
    """A producer's result needed after the segment counts once (its
    largest use), whatever number of later readers."""
    from cmswitch.schedule.cost import live_bytes

    wl = fan_out()
    assert live_bytes(wl, 0, 0) == 1024  # op0, read by 1, 2, 3
    assert live_bytes(wl, 0, 1) == 1024 + 512  # op0 (by 2, 3), op1 (by 2)
    assert live_bytes(wl, 0, 2) == 1024 + 256  # op0 (by 3), op2 (by 3)
    assert live_bytes(wl, 1, 2) == 256  # op1's reader is inside; op0 is not in it
    assert live_bytes(wl, 0, 3) == 0
    # the write-back leaving [0, 1] with 10 memory arrays for a segment with 3:
    # 7 arrays (896 bytes) given up, less than the 1536 live bytes
    assert writeback_cost(wl, 0, 1, 10, 3) == 896
    assert writeback_cost(wl, 0, 1, 20, 0) == 1536  # all live bytes, 1 B/cycle


def test_strict_fill_waits_for_whole_tensors() -> None:
    # chain 0 -> 1 -> 2 of M = 64 rows; op 1 waits for op 0's whole tensor
    # (say a pooling between them): F = 1 + 1/64 in strict, 2/64 in paper
    wl = dataclasses.replace(chain(3), whole_edges=frozenset({(0, 1)}))
    assert fill_factor(wl, 0, 2, STRICT) == pytest.approx(1 + 1 / 64)
    assert fill_factor(wl, 0, 2, PAPER) == pytest.approx(2 / 64)
    assert fill_factor(wl, 1, 2, STRICT) == pytest.approx(1 / 64)
    allocs = [OpAlloc(20, 0, 0)] * 3
    t = segment_period(wl, 0, 2, allocs, STRICT)
    assert intra_latency(wl, 0, 2, allocs, STRICT) == pytest.approx(t * (2 + 1 / 64))


def test_whole_tensor_edges_from_the_graph() -> None:
    """A max pooling between two convolutions makes the second wait for the
    whole first (the pooling mixes rows); a ReLU does not. Attention's
    product waits for its operands."""
    from cmswitch.builder import GraphBuilder
    from cmswitch.dialects.cim import Conv2dOp, ElementwiseFn, ElementwiseOp, PoolKind, PoolOp

    b = GraphBuilder("net")
    x = b.input("x", (1, 8, 8, 8))

    def conv(v, name):  # type: ignore[no-untyped-def]
        w = b.weight(name, (8, 8, 3, 3))
        return b.add(Conv2dOp(v, w, None, strides=(1, 1), pads=(1, 1, 1, 1), group=1))

    c0 = conv(x, "w0")
    r0 = b.add(ElementwiseOp(ElementwiseFn.RELU, [c0]))
    c1 = conv(r0, "w1")
    p1 = b.add(PoolOp(PoolKind.MAX, c1, (2, 2), (2, 2)))
    c2 = conv(p1, "w2")
    b.output(c2)
    wl = Workload.from_module(b.module(HW), HW)
    assert set(wl.edges) == {(0, 1), (1, 2)}
    assert wl.whole_edges == frozenset({(1, 2)})


def test_workload_knows_streamed_sources_and_vector_reads() -> None:
    # a residual block: b reads a (its streamed input), c reads b; the add
    # after c (hosted at c) reads a again: that edge is read by the vector
    # unit only. In a segment of c alone, c's input (made by b) and the
    # add's operand (made by a) both come through main memory; with b in
    # the segment only the add's operand does.
    from cmswitch.builder import module_hardware
    from cmswitch.ir import parse_module
    from cmswitch.schedule.cost import external_bytes

    text = """
    builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 8, external_bw_bytes = 1, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
      func.func @f(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
        %w = cim.constant "w" : tensor<4x4xf32>
        %a = cim.linear %x, %w {label = "a"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
        %b = cim.linear %a, %w {label = "b"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
        %c = cim.linear %b, %w {label = "c"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
        %y = cim.elementwise add %c, %a : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8x4xf32>
        func.return %y : tensor<8x4xf32>
      }
    }
    """
    module = parse_module(text)
    wl = Workload.from_module(module, module_hardware(module))
    assert [o.source for o in wl.ops] == [-1, 0, 1]
    assert wl.vector_edges == frozenset({(0, 2)})
    tensor = 8 * 4  # bytes of one 8 x 4 tensor at 8-bit activations
    assert external_bytes(wl, 0, 0) == tensor  # a function argument
    assert external_bytes(wl, 2, 2) == 2 * tensor  # c's input and the add's
    assert external_bytes(wl, 1, 2) == tensor  # b made c's input: the add's
    assert external_bytes(wl, 0, 2) == 0.0
    # strict revision 6, all three in one segment: a is written, streamed by
    # b and read by the add hosted at c (96 B); b is written and streamed by
    # c (64 B); c is written, and the add reads it and writes its result
    # (96 B)
    from cmswitch.schedule.cost import segment_data

    got = [t.accesses for t in segment_data(wl, 0, 2).tensors]
    assert got == [3 * tensor, 2 * tensor, 3 * tensor]


VECTOR_CHAIN = """
builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 8, external_bw_bytes = 1, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @f(%x: tensor<8x4xf32>) -> (tensor<8x8xf32>, tensor<4x8xf32>) {
    %w = cim.constant "w" : tensor<4x4xf32>
    %x2 = cim.elementwise relu %x : tensor<8x4xf32> -> tensor<8x4xf32>
    %a = cim.linear %x2, %w {label = "a"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
    %s = cim.softmax %a {axis = 1 : i64} : tensor<8x4xf32> -> tensor<8x4xf32>
    %b = cim.linear %s, %w {label = "b"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
    %t = cim.concat %b, %s {axis = 0 : i64} : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<16x4xf32>
    %r = cim.reshape %t : tensor<16x4xf32> -> tensor<8x8xf32>
    %u = cim.elementwise relu %r : tensor<8x8xf32> -> tensor<8x8xf32>
    %v = cim.slice %u {starts = array<i64: 0, 0>, ends = array<i64: 4, 8>, steps = array<i64: 1, 1>} : tensor<8x8xf32> -> tensor<4x8xf32>
    func.return %u, %v : tensor<8x8xf32>, tensor<4x8xf32>
  }
}
"""


def test_vector_bytes_and_working_set_by_hand() -> None:
    """Strict revision 6, hand-derived at one byte per element (8 x 4 = 32 B).
    The relu before any CIM operator reads the argument and writes 32 B: 64
    B cross the channel in the first segment. a's softmax reads a and writes
    32 B (64). b's chain: the concat reads b (32; s is a's, not b's chain)
    and writes 64 (96); the reshape is a view (0); the relu reads and writes
    64 (128); the slice reads 64 and writes 32 (96): 320 B. Alive at once:
    t (b dies into it) 64, then r = t, then u 64 (r dies), then u (read
    again by the return) and v: 96 B, b's working set."""
    from cmswitch.builder import module_hardware
    from cmswitch.ir import parse_module
    from cmswitch.schedule import held
    from cmswitch.schedule.cost import external_bytes, segment_data

    module = parse_module(VECTOR_CHAIN)
    hw = module_hardware(module)
    wl = Workload.from_module(module, hw)
    assert wl.leading_vector_bytes == 64
    assert [o.vector_bytes for o in wl.ops] == [64, 320]
    assert [o.vector_peak for o in wl.ops] == [32, 96]
    assert external_bytes(wl, 0, 0) == 32 + 64  # a's input and the relu
    assert external_bytes(wl, 1, 1) == 32  # b's input, made by a
    data = segment_data(wl, 0, 1)
    # a: size 32, accesses 32 (write) + 64 + 32 (b streams s); b: size 96,
    # accesses 32 + 320
    assert [(t.size, t.accesses) for t in data.tensors] == [(32, 128), (96, 352)]
    # b's working set on one 32-byte array: a third held, two thirds cross
    assert hw.array_bytes == 32
    unheld = held.unheld_bytes(data, [1, 1], hw)
    assert unheld == pytest.approx(352 * 2 / 3)


def test_vector_chains_read_the_same_through_segments() -> None:
    """A scheduled function (its operators inside `cim.segment`s, values
    leaving a segment read through its results) gives every operator the
    same vector bytes and working set as the same function before
    scheduling: a value a segment yields is alive until the segment's
    result is last read, not until the yield."""
    from cmswitch.compile import _split_copy, compile_model, parse_policy
    from cmswitch.ir import make_context
    from cmswitch.models import load_model
    from cmswitch.passes.cim_schedule import ScheduleOptions

    model = load_model("tiny-bert", seq=16)
    result = compile_model(model, parse_policy("puma", ScheduleOptions(jobs=1)))  # a segment per op
    before = Workload.from_module(
        _split_copy(model, result.split_budget, make_context()), result.hardware
    )
    after = Workload.from_module(result.module, result.hardware)
    assert len(after.ops) == len(before.ops) > 4
    assert len(result.schedule.segments) > 1
    got = [(o.vector_bytes, o.vector_peak) for o in after.ops]
    assert got == [(o.vector_bytes, o.vector_peak) for o in before.ops]
    # the test means something: some chain outlives its segment
    assert any(o.vector_peak > o.output_bytes for o in before.ops)
    assert after.leading_vector_bytes == before.leading_vector_bytes > 0
