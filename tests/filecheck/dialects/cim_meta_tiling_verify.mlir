// RUN: xdsl-opt %s --verify-diagnostics --split-input-file | filecheck %s

// A #cim_meta.tiling that does not fit its program is a verification error.

func.func @f(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0, 1>, tiles = #cim_meta.tiling<n = 8, k = 16, rows = 32, cols = 16>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: cim_meta.program 'fc': the tiling has 1 tiles for 2 arrays

// -----

func.func @f(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = #cim_meta.tiling<n = 8, k = 16, rows = 0, cols = 16>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: #cim_meta.tiling: rows must be >= 1, got 0
