// RUN: xdsl-opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A bad place part is a located parse error.

func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim_meta.load %x {place = #cim_meta.place<sram = 32>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: #cim_meta.place: expected arrays, buffer or dram once each, got 'sram'
