// RUN: xdsl-opt %s | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | xdsl-opt | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// The compact form of a program's regular weight tiling round-trips;
// groups and copies are printed only when not 1, in a fixed key order.

func.func @tilings(%w: tensor<700x40xf32>, %d: tensor<16x1x3x3xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0, 1, 2, 3, 4, 5>, tiles = #cim_meta.tiling<n = 700, k = 40, rows = 320, cols = 40, copies = 2>, bytes = 70000 : i64} : tensor<700x40xf32>
  cim_meta.program %d {label = "dw", arrays = array<i64: 6>, tiles = #cim_meta.tiling<copies = 1, groups = 16, n = 9, k = 1, cols = 40, rows = 320>, bytes = 144 : i64} : tensor<16x1x3x3xf32>
  func.return
}

// CHECK:      cim_meta.program %w {label = "fc", arrays = array<i64: 0, 1, 2, 3, 4, 5>, tiles = #cim_meta.tiling<n = 700, k = 40, rows = 320, cols = 40, copies = 2>, bytes = 70000 : i64} : tensor<700x40xf32>
// CHECK-NEXT: cim_meta.program %d {label = "dw", arrays = array<i64: 6>, tiles = #cim_meta.tiling<n = 9, k = 1, groups = 16, rows = 320, cols = 40>, bytes = 144 : i64} : tensor<16x1x3x3xf32>

// GENERIC: "cim_meta.program"(%w) <{label = "fc", arrays = array<i64: 0, 1, 2, 3, 4, 5>, tiles = #cim_meta.tiling<n = 700, k = 40, rows = 320, cols = 40, copies = 2>, bytes = 70000 : i64}>
