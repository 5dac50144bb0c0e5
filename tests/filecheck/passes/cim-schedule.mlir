// RUN: xdsl-opt %s -p 'cim-schedule{policy=cmswitch cost-model=paper ai=roofline compute-fraction=0.5}' | filecheck %s
// RUN: xdsl-opt %s -p 'cim-schedule{policy=puma cost-model=paper ai=roofline}' | filecheck %s --check-prefix=PUMA

// A chip of 8 arrays; two chained layers (2 and 2 arrays at least). Derived
// by hand: 16 x 16 one-bit cells hold 2 eight-bit weights per row, so
// OP_cim = 16 * 2 / 8 = 4 MAC/cycle per array; W = 16 cycles to program an
// array; D_main = 16 + 32 / 8 = 20 B/cycle; the vector unit does 4 elements
// per cycle, so the relu (8 x 4) costs 8 cycles, in fc1's segment.
//   fc1: M = 8, N = 16, K = 4: 512 MACs, 2 arrays; 224 bytes moved, AI 2.29,
//   fc2: M = 8, N = 4, K = 4: 128 MACs, 2 arrays; 80 bytes, AI 1.6:
//   both compute bound on this chip (20 B/cycle * AI >= 4 * 8 arrays), so
//   memory arrays never help.
// One segment (fill 1 / M = 1/8, reload W * the larger layer):
//   c = (2, 2): period 512 / 8 = 64, intra 72, reload 32, + 8 = 112;
//   c = (3, 2): period 42.67, intra 48, reload 48, + 8 = 104 (best);
//   c = (4, 2): period 32, intra 36, reload 64, + 8 = 108.
// Two segments (PUMA's plan): fc1 alone, 128 / c + 16 c: c = 3 gives
// 42.67 + 48 (c = 2, 4: 96); + 8; fc2 alone, 32 / c + 16 c: c = 2 gives
// 16 + 32 = 48. Total 146.67 > 104, so cmswitch keeps one segment.
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @mlp(%x: tensor<8x16xf32>) -> tensor<8x4xf32> {
    %w1 = cim.constant "w1" : tensor<16x4xf32>
    %w2 = cim.constant "w2" : tensor<4x4xf32>
    %h = cim.linear %x, %w1 {label = "fc1"} : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
    %r = cim.elementwise relu %h : tensor<8x4xf32> -> tensor<8x4xf32>
    %y = cim.linear %r, %w2 {label = "fc2"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
    func.return %y : tensor<8x4xf32>
  }
}

// CHECK:      builtin.module attributes {{{.*}}cim.schedule = {policy = "cmswitch", latency_cycles = 1.040000e+02 : f64, segments = 1.000000e+00 : f64}}
// CHECK-LABEL: func.func @mlp
// CHECK:      %w1 = cim.constant "w1"
// CHECK-NEXT: %w2 = cim.constant "w2"
// CHECK-NEXT: %{{.*}} = cim.segment {index = 0 : i64, compute_arrays = 5 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 4.800000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 4.800000e+01 : f64, writeback_cycles = 0.000000e+00 : f64, vector_cycles = 8.000000e+00 : f64}} -> tensor<8x4xf32> {
// CHECK-NEXT:   %h = cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 0>}
// CHECK-NEXT:   %r = cim.elementwise relu %h
// CHECK-NEXT:   %y = cim.linear %r, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}
// CHECK-NEXT:   cim.yield %y : tensor<8x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: func.return

// PUMA has no cross-operator pipelining: one segment per operator, all compute.
// PUMA:      cim.schedule = {policy = "puma", latency_cycles = 146.66666{{[0-9]*}} : f64, segments = 2.000000e+00 : f64}
// PUMA:      cim.segment {index = 0 : i64, compute_arrays = 3 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 42.66666{{[0-9]*}} : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 4.800000e+01 : f64, writeback_cycles = 0.000000e+00 : f64, vector_cycles = 8.000000e+00 : f64}}
// PUMA-NEXT:   cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 0>}
// PUMA:        cim.elementwise relu
// PUMA:        cim.yield
// PUMA:      cim.segment {index = 1 : i64, compute_arrays = 2 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 1.600000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 3.200000e+01 : f64, writeback_cycles = 0.000000e+00 : f64, vector_cycles = 0.000000e+00 : f64}}
// PUMA-NEXT:   cim.linear %{{.*}}, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}
// PUMA:        cim.yield
