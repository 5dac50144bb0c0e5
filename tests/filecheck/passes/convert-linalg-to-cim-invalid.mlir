// RUN: xdsl-opt %s -p convert-linalg-to-cim --verify-diagnostics --split-input-file | filecheck %s

// What cim cannot express is an error naming the op and where it is, never
// a silent drop.

// CHECK: atan: linalg.generic math.atan in a linalg body is not supported
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = math.atan %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32> loc("atan")
  func.return %y : tensor<4xf32>
}

// -----

// A convolution with a run-time filter has no CIM mapping (cim.conv2d keeps
// its weight in the arrays).
// CHECK: conv: linalg.generic is a convolution whose filter is not a compile-time constant
func.func @g(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<1x1x3x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%o : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>) outs(%z : tensor<1x1x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x1x3x3xf32> loc("conv")
  func.return %y : tensor<1x1x3x3xf32>
}

// -----

// An op of a dialect the conversion does not handle.
// CHECK: sort: scf.for is not supported by convert-linalg-to-cim
func.func @h(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %y = scf.for %i = %c0 to %c1 step %c1 iter_args(%t = %x) -> (tensor<4xf32>) {
    scf.yield %t : tensor<4xf32>
  } loc("sort")
  func.return %y : tensor<4xf32>
}
