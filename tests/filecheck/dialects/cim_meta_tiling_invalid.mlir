// RUN: xdsl-opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A bad #cim_meta.tiling is a located parse error.

func.func @f(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = #cim_meta.tiling<n = 8, k = 16, rows = 32, cols = 16, blocks = 2>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: #cim_meta.tiling: expected n, k, groups, rows, cols, copies once each, got 'blocks'

// -----

func.func @f(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = #cim_meta.tiling<n = 8, k = 16, n = 8, rows = 32, cols = 16>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: #cim_meta.tiling: expected n, k, groups, rows, cols, copies once each, got 'n'

// -----

func.func @f(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = #cim_meta.tiling<n = 8, k = 16, rows = 32>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: #cim_meta.tiling: missing cols
