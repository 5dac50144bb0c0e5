// RUN: xdsl-opt %s -p cim-assign-arrays | filecheck %s

// Two segments on an 8-array chip. Segment 0: fc1 on 1 compute array
// writing into 2 memory arrays, fc2 (same weight %w, tied) on 1.
// Segment 1: fc3 on 3 compute arrays, tied fc4 on 1, 1 memory array.
//
// Segment 0 (all arrays idle and in compute mode): memory roles take the
// lowest ids, 0 and 1; compute roles the next, 2 (fc1) and 3 (fc2).
// Segment 1: the memory role keeps array 0 (memory before, no flip); fc4
// finds its tile of %w in array 2 (compute, same weight) and keeps it;
// fc3 takes array 3 (computed before) and then idle compute-mode arrays 4, 5.
// Array 1 (memory before, unused now) is not taken by compute while idle
// compute-mode arrays remain: no memory -> compute flip (cost model: C = 4
// <= N - M' = 6, none charged).

builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %w = cim.constant "w" : tensor<8x8xf32>
    %w3 = cim.constant "w3" : tensor<8x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 2 : i64} -> tensor<4x8xf32> {
      %h = cim.linear %x, %w {label = "fc1", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 2>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %h2 = cim.linear %h, %w {label = "fc2", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %h2 : tensor<4x8xf32>
    }
    %1 = cim.segment {index = 1 : i64, compute_arrays = 4 : i64, memory_arrays = 1 : i64} -> tensor<4x8xf32> {
      %g = cim.linear %0, %w3 {label = "fc3", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 1>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %y = cim.linear %g, %w {label = "fc4", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %y : tensor<4x8xf32>
    }
    func.return %1 : tensor<4x8xf32>
  }
}

// CHECK:      cim.segment {compute_ids = array<i64: 2, 3>, memory_ids = array<i64: 0, 1>, index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 2 : i64}
// CHECK-NEXT:   cim.linear %x, %w {label = "fc1", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 2>, compute_ids = array<i64: 2>, mem_in_ids = array<i64>, mem_out_ids = array<i64: 0, 1>}
// CHECK-NEXT:   cim.linear %h, %w {label = "fc2", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>, compute_ids = array<i64: 3>, mem_in_ids = array<i64>, mem_out_ids = array<i64>}
// CHECK:      cim.segment {compute_ids = array<i64: 2, 3, 4, 5>, memory_ids = array<i64: 0>, index = 1 : i64, compute_arrays = 4 : i64, memory_arrays = 1 : i64}
// CHECK-NEXT:   cim.linear %0, %w3 {label = "fc3", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 1>, compute_ids = array<i64: 3, 4, 5>, mem_in_ids = array<i64>, mem_out_ids = array<i64: 0>}
// CHECK-NEXT:   cim.linear %g, %w {label = "fc4", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>, compute_ids = array<i64: 2>, mem_in_ids = array<i64>, mem_out_ids = array<i64>}
