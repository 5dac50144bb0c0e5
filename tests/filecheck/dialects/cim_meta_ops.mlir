// RUN: xdsl-opt %s | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | xdsl-opt | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// A two-segment cim_meta program round-trips in custom and generic form.

builtin.module attributes {cim.hardware = #cim.hardware<"dynaplasia", arrays = 96, rows = 320, cols = 320, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 81920, internal_bw_bits = 32, external_bw_bytes = 128, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 64, clock_hz = 1000000000.0>} {
  func.func @main(%x: tensor<4x8xf32> {cim.name = "x"}) -> tensor<4x16xf32> {
    %w = cim.constant "fc.weight" : tensor<8x16xf32>
    %b = cim.constant "fc.bias" : tensor<16xf32>
    %0 = cim_meta.segment {index = 0 : i64} -> tensor<4x16xf32> {
      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode memory>}
      cim_meta.program %w, %b {label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 144 : i64} : tensor<8x16xf32>, tensor<16xf32>
      %1 = cim_meta.load %x {place = #cim_meta.place<buffer = 32>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
      %2 = cim_meta.compute %1 {label = "fc", kind = "linear", arrays = array<i64: 0>, weight_shape = array<i64: 8, 16>, place = #cim_meta.place<arrays [1] = 64>, has_bias = 1 : i64} : tensor<4x8xf32> -> tensor<4x16xf32>
      %3 = cim_meta.vector %2 {place = #cim_meta.place<arrays [1] = 40, buffer = 20, dram = 4>} : (tensor<4x16xf32>) -> tensor<4x16xf32> {
      ^bb0(%a: tensor<4x16xf32>):
        %r = cim.elementwise relu %a : tensor<4x16xf32> -> tensor<4x16xf32>
        cim_meta.yield %r : tensor<4x16xf32>
      }
      cim_meta.yield %3 : tensor<4x16xf32>
    }
    %4 = cim_meta.segment {index = 1 : i64} -> tensor<4x16xf32> {
      %5 = cim_meta.move %0 {place = #cim_meta.place<buffer = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>
      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode compute>}
      %6 = cim_meta.store %5 {place = #cim_meta.place<dram = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>
      cim_meta.yield %6 : tensor<4x16xf32>
    }
    func.return %4 : tensor<4x16xf32>
  }
}

// CHECK:      %0 = cim_meta.segment {index = 0 : i64} -> tensor<4x16xf32> {
// CHECK-NEXT:   cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode memory>}
// CHECK-NEXT:   cim_meta.program %w, %b {label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 144 : i64} : tensor<8x16xf32>, tensor<16xf32>
// CHECK-NEXT:   %1 = cim_meta.load %x {place = #cim_meta.place<buffer = 32>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT:   %2 = cim_meta.compute %1 {label = "fc", kind = "linear", arrays = array<i64: 0>, weight_shape = array<i64: 8, 16>, place = #cim_meta.place<arrays [1] = 64>, has_bias = 1 : i64} : tensor<4x8xf32> -> tensor<4x16xf32>
// CHECK-NEXT:   %3 = cim_meta.vector %2 {place = #cim_meta.place<arrays [1] = 40, buffer = 20, dram = 4>} : (tensor<4x16xf32>) -> tensor<4x16xf32> {
// CHECK-NEXT:   ^bb0(%a: tensor<4x16xf32>):
// CHECK-NEXT:     %r = cim.elementwise relu %a : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK-NEXT:     cim_meta.yield %r : tensor<4x16xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   cim_meta.yield %3 : tensor<4x16xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %4 = cim_meta.segment {index = 1 : i64} -> tensor<4x16xf32> {
// CHECK-NEXT:   %5 = cim_meta.move %0 {place = #cim_meta.place<buffer = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK-NEXT:   cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode compute>}
// CHECK-NEXT:   %6 = cim_meta.store %5 {place = #cim_meta.place<dram = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK-NEXT:   cim_meta.yield %6 : tensor<4x16xf32>
// CHECK-NEXT: }
// CHECK-NEXT: func.return %4 : tensor<4x16xf32>

// GENERIC: "cim_meta.segment"() <{index = 0 : i64}> ({
// GENERIC: "cim_meta.switch"() <{arrays = array<i64: 1>, mode = #cim<mode memory>}> : () -> ()
// GENERIC: "cim_meta.program"(%w, %b) <{label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 144 : i64}> : (tensor<8x16xf32>, tensor<16xf32>) -> ()
// GENERIC: "cim_meta.compute"(%1) <{
// GENERIC-SAME: place = #cim_meta.place<arrays [1] = 64>
// GENERIC: "cim_meta.vector"(%2) <{place = #cim_meta.place<arrays [1] = 40, buffer = 20, dram = 4>}> ({
