// RUN: xdsl-opt %s -p 'cim-duplicate{cost-model=paper ai=roofline}' | filecheck %s

// A hand-written plan with a segment holding no CIM operator (only the
// relu) between fc1's and fc2's: cim-duplicate reads the plan past it and
// duplicates as usual. Same chip as cim-duplicate.mlir (OP_cim = 4 MAC/cycle
// per array, W = 16, relu 8 cycles): fc1 alone costs 512 / (4 c) + 16 c:
// c = 2: 96, c = 3: 90.7, c = 4: 96, so fc1 gets a third copy; fc2 alone,
// 128 / (4 c) + 16 c: c = 2: 48, c = 3: 58.7, stays at 2.
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @mlp(%x: tensor<8x16xf32>) -> tensor<8x4xf32> {
    %w1 = cim.constant "w1" : tensor<16x4xf32>
    %w2 = cim.constant "w2" : tensor<4x4xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 0 : i64} -> tensor<8x4xf32> {
      %h = cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>} : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
      cim.yield %h : tensor<8x4xf32>
    }
    %1 = cim.segment {index = 1 : i64, compute_arrays = 0 : i64, memory_arrays = 0 : i64} -> tensor<8x4xf32> {
      %r = cim.elementwise relu %0 : tensor<8x4xf32> -> tensor<8x4xf32>
      cim.yield %r : tensor<8x4xf32>
    }
    %2 = cim.segment {index = 2 : i64, compute_arrays = 2 : i64, memory_arrays = 0 : i64} -> tensor<8x4xf32> {
      %y = cim.linear %1, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
      cim.yield %y : tensor<8x4xf32>
    }
    func.return %2 : tensor<8x4xf32>
  }
}

// CHECK:      cim.segment {index = 0 : i64, compute_arrays = 3 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 42.66666{{[0-9]*}} : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 4.800000e+01 : f64
// CHECK-NEXT:   cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 0>}
// CHECK:      cim.segment {index = 1 : i64, compute_arrays = 2 : i64, memory_arrays = 0 : i64, cost = {intra_cycles = 1.600000e+01 : f64, switch_cycles = 0.000000e+00 : f64, reload_cycles = 3.200000e+01 : f64
// CHECK-NEXT:   cim.linear %{{.*}}, %w2 {label = "fc2", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>}
// CHECK-NOT:  cim.segment
