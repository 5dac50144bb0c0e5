// RUN: xdsl-opt %s -p 'cim-schedule{policy=cim-mlc cost-model=paper ai=roofline duplicate=false}' | filecheck %s --check-prefix=BEFORE
// RUN: xdsl-opt %s -p 'cim-schedule{policy=cim-mlc cost-model=paper ai=roofline duplicate=false},cim-duplicate{cost-model=paper ai=roofline}' | filecheck %s
// RUN: xdsl-opt %s -p 'cim-schedule{policy=cim-mlc}' | filecheck %s --check-prefix=STRICT

// Hand-computed on this chip: 16 x 16 arrays, 8-bit weights on 1-bit cells
// (2 weights per row), so OP_cim = 16 * 2 / 8 = 4 MAC/cycle/array; an array
// is programmed in W = 16 cycles; D_main = 16 + 32/8 = 20 B/cycle, the
// vector unit does 4 elements per cycle.
//   fc1: 8 x 16 x 4 = 512 MACs, at least 2 arrays; fc2: 128 MACs, 2 arrays.
//   Both compute-bound (AI = 512 / 224 B, 20 B/cycle >> 8 MAC/cycle).
//   cim-mlc: one segment, minimum arrays: period 512 / (2 * 4) = 64,
//   fill 1 / M = 1/8: intra 72; reload 2 * 16 = 32; relu 32 / 4 = 8: 112.
//   A third copy of fc1's weights: period 512 / 12, intra 48, reload 48: 104.
//   A fourth: intra 36, reload 64: 108, so duplication stops at 3.
// Strict (the default): streamed bytes fc1 128 + 32, fc2 32 + 32 need at
// most (160 + 64) / 32 = 7 <= 20 B/cycle at the periods below, so compute
// binds; the relu (8 cycles) hides behind the arrays (vector 0); fc1 -> fc2
// carries 32 bytes, within the 64-byte buffer (no spill). Compute is
// bit-serial in whole copies: every array of a copy spends act_bits = 8
// cycles per row of M = 8, so a copy takes 64 cycles however full it is.
// fc1 (16 x 4, 2 arrays, full) and fc2 (4 x 4: still 2 arrays, a quarter
// full; paper would count 128 MACs / 8 = 16 cycles) both take 64 / k
// with k copies; the 8 arrays hold k1 + k2 <= 4 copies. Programming: every
// port at once (16 cycles), the channel carries 64 B per fc1 copy and 16 B
// per fc2 copy: (128 + 32) / 16 = 10 < 16 at k1 = k2 = 2. Fill 1/8 (fc1's M).
// k1 = k2 = 2: period 32, intra 36, reload 16: 52 (k1 = 3, k2 = 1 or the
// reverse: period 64, 72 + 16 = 88), so duplication gives each 2 copies.
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

// BEFORE:      cim.schedule = {policy = "cim-mlc", latency_cycles = 1.120000e+02 : f64
// BEFORE:      cim.segment {index = 0 : i64, compute_arrays = 4 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 7.200000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 3.200000e+01 : f64
// BEFORE-NEXT:   cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}
// BEFORE:        cim.linear %r, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}

// CHECK:      cim.schedule = {policy = "cim-mlc", latency_cycles = 1.040000e+02 : f64
// CHECK:      cim.segment {index = 0 : i64, compute_arrays = 5 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 4.800000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 4.800000e+01 : f64, writeback_cycles = 0.000000e+00 : f64, vector_cycles = 8.000000e+00 : f64}}
// CHECK-NEXT:   cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 0>}
// CHECK:        cim.linear %r, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}

// STRICT:      cim.schedule = {policy = "cim-mlc", latency_cycles = 5.200000e+01 : f64
// STRICT:      cim.segment {index = 0 : i64, compute_arrays = 8 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 3.600000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 1.600000e+01 : f64, writeback_cycles = 0.000000e+00 : f64, vector_cycles = 0.000000e+00 : f64}}
// STRICT-NEXT:   cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 4, mem_in = 0, mem_out = 0>}
// STRICT:        cim.linear %r, %w2 {label = "fc2", alloc = #cim.alloc<compute = 4, mem_in = 0, mem_out = 0>}
