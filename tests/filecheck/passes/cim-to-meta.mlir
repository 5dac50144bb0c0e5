// RUN: xdsl-opt %s -p cim-assign-arrays,cim-to-meta | filecheck %s
// RUN: xdsl-opt %s -p cim-assign-arrays,cim-to-meta | xdsl-opt --print-op-generic | xdsl-opt | filecheck %s

// The program of a two-segment schedule on an 8-array chip (8-bit
// activations: a 4 x 8 tensor is 32 bytes; arrays hold 512 bytes, the
// buffer 128). Array ids as in cim-assign-arrays.mlir: segment 0 memory
// {0, 1}, fc1 on 2, fc2 on 3; segment 1 memory {0}, fc3 on 3, 4, 5, fc4 on 2.
//
// Segment 0: arrays 0 and 1 switch to memory (every array starts in compute
// mode); fc1's and fc2's weights are programmed (8 x 8 at 8 bits: 64 bytes
// each); fc1 writes h into its output arrays {0, 1}: the best stripe is one
// array (32 bytes fit array 0 alone); relu is h's last reader, so it writes
// over h's storage (array 0); fc2's output has no memory role: it is split
// between the buffer and dram in proportion to their bandwidths, bus 32 / 8
// = 4 : 16 B/cycle, so floor(32 * 4 / 20) = 6 bytes in the buffer, 26 in
// dram.
// Segment 1: nothing computes on array 0 or 1, so nothing is written back
// and no array switches (array 1 stays memory, idle). fc3's three copies
// are programmed (3 x 64 bytes); fc4 multiplies with the tiles fc1's
// program left in array 2 (same weight %w): no program, `weights = "fc1"`.
// fc4's output is placed like fc2's (6 + 26 bytes); the function returns
// it, so its on-chip 6 bytes are stored to dram.

builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %w = cim.constant "w" : tensor<8x8xf32>
    %w3 = cim.constant "w3" : tensor<8x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 2 : i64} -> tensor<4x8xf32> {
      %h = cim.linear %x, %w {label = "fc1", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 2>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %r = cim.elementwise relu %h : tensor<4x8xf32> -> tensor<4x8xf32>
      %h2 = cim.linear %r, %w {label = "fc2", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
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

// CHECK:      %{{[a-z0-9_]+}} = cim_meta.segment {index = 0 : i64} -> tensor<4x8xf32> {
// CHECK-NEXT:   cim_meta.switch {arrays = array<i64: 0, 1>, mode = #cim<mode memory>}
// CHECK-NEXT:   cim_meta.program %w {label = "fc1", arrays = array<i64: 2>, tiles = #cim_meta.tiling<n = 8, k = 8, rows = 32, cols = 16>, bytes = 64 : i64} : tensor<8x8xf32>
// CHECK-NEXT:   cim_meta.program %w {label = "fc2", arrays = array<i64: 3>, tiles = #cim_meta.tiling<n = 8, k = 8, rows = 32, cols = 16>, bytes = 64 : i64} : tensor<8x8xf32>
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.compute %x {label = "fc1", kind = "linear", arrays = array<i64: 2>, weight_shape = array<i64: 8, 8>, place = #cim_meta.place<arrays [0] = 32>} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.vector %{{[a-z0-9_]+}} {place = #cim_meta.place<arrays [0] = 32>} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT:   ^bb0(%{{[a-z0-9_]+}}: tensor<4x8xf32>):
// CHECK-NEXT:     %{{[a-z0-9_]+}} = cim.elementwise relu %{{[a-z0-9_]+}} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:     cim_meta.yield %{{[a-z0-9_]+}} : tensor<4x8xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.compute %{{[a-z0-9_]+}} {label = "fc2", kind = "linear", arrays = array<i64: 3>, weight_shape = array<i64: 8, 8>, place = #cim_meta.place<buffer = 6, dram = 26>} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   cim_meta.yield %{{[a-z0-9_]+}} : tensor<4x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %{{[a-z0-9_]+}} = cim_meta.segment {index = 1 : i64} -> tensor<4x8xf32> {
// CHECK-NEXT:   cim_meta.program %w3 {label = "fc3", arrays = array<i64: 3, 4, 5>, tiles = #cim_meta.tiling<n = 8, k = 8, rows = 32, cols = 16, copies = 3>, bytes = 192 : i64} : tensor<8x8xf32>
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.compute %{{[a-z0-9_]+}} {label = "fc3", kind = "linear", arrays = array<i64: 3, 4, 5>, weight_shape = array<i64: 8, 8>, place = #cim_meta.place<arrays [0] = 32>} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.compute %{{[a-z0-9_]+}} {label = "fc4", kind = "linear", arrays = array<i64: 2>, weight_shape = array<i64: 8, 8>, place = #cim_meta.place<buffer = 6, dram = 26>, weights = "fc1"} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   %{{[a-z0-9_]+}} = cim_meta.store %{{[a-z0-9_]+}} {place = #cim_meta.place<dram = 32>, bytes = 6 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   cim_meta.yield %{{[a-z0-9_]+}} : tensor<4x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: func.return %{{[a-z0-9_]+}} : tensor<4x8xf32>
