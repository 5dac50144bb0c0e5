// RUN: xdsl-opt %s --verify-diagnostics --split-input-file | filecheck %s

// Invalid cim IR is rejected with a message a user can act on.

func.func @contraction(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = cim.constant "w" : tensor<9x16xf32>
  %y = cim.linear %x, %w : tensor<4x8xf32>, tensor<9x16xf32> -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim.linear: input's last dimension [8] must equal the weight's N = 9

// -----

func.func @dynamic_weight(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %y = cim.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim.linear: the weight must be a compile-time constant (cim.constant, possibly through layout ops); use cim.matmul for a run-time operand

// -----

func.func @bad_result(%x: tensor<4x8xf32>) -> tensor<4x15xf32> {
  %w = cim.constant "w" : tensor<8x16xf32>
  %y = cim.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x15xf32>
  func.return %y : tensor<4x15xf32>
}
// CHECK: cim.linear: result shape [4, 15] does not match the inferred [4, 16]

// -----

func.func @groups(%x: tensor<1x6x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = cim.constant "w" : tensor<4x2x3x3xf32>
  %y = cim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64} : tensor<1x6x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}
// CHECK: cim.conv2d: group 4 must divide in_ch 6 and out_ch 4

// -----

func.func @matmul(%a: tensor<2x4x8xf32>, %b: tensor<3x8x5xf32>) -> tensor<2x4x5xf32> {
  %y = cim.matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x5xf32> -> tensor<2x4x5xf32>
  func.return %y : tensor<2x4x5xf32>
}
// CHECK: cim.matmul: batch dimensions: shapes (2,), (3,) do not broadcast

// -----

func.func @arity(%a: tensor<4xf32>) -> tensor<4xf32> {
  %y = cim.elementwise add %a : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}
// CHECK: cim.elementwise add takes 2 operand(s), got 1

// -----

func.func @reshape(%a: tensor<4x6xf32>) -> tensor<5x5xf32> {
  %y = cim.reshape %a : tensor<4x6xf32> -> tensor<5x5xf32>
  func.return %y : tensor<5x5xf32>
}
// CHECK: cim.reshape: [4, 6] (24 elements) cannot become [5, 5] (25 elements)

// -----

func.func @perm(%a: tensor<4x6xf32>) -> tensor<6x4xf32> {
  %y = cim.transpose %a {perm = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<6x4xf32>
  func.return %y : tensor<6x4xf32>
}
// CHECK: cim.transpose: perm [1, 1] is not a permutation of rank 2

// -----

func.func @softmax(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = cim.softmax %a {axis = 2 : i64} : tensor<4x6xf32> -> tensor<4x6xf32>
  func.return %y : tensor<4x6xf32>
}
// CHECK: cim.softmax: axis 2 out of range for rank 2 (normalise it)

// -----

func.func @layernorm(%a: tensor<4x6xf32>, %g: tensor<4xf32>) -> tensor<4x6xf32> {
  %y = cim.layernorm %a, %g, %g {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<4x6xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4x6xf32>
  func.return %y : tensor<4x6xf32>
}
// CHECK: cim.layernorm: scale shape [4] must be [6]

// -----

func.func @slice(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = cim.slice %a {starts = array<i64: 0, 9>, ends = array<i64: 4, 6>, steps = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<4x6xf32>
  func.return %y : tensor<4x6xf32>
}
// CHECK: cim.slice: (9, 6, 1) is not a normalised slice of a dimension of size 6

// -----

func.func @segment(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 1 : i64} -> tensor<4x16xf32> {
    cim.yield %x : tensor<4x16xf32>
  }
  %z = cim.segment {index = 1 : i64, compute_arrays = -2 : i64, memory_arrays = 1 : i64} -> tensor<4x16xf32> {
    cim.yield %y : tensor<4x16xf32>
  }
  func.return %z : tensor<4x16xf32>
}
// CHECK: cim.segment: compute_arrays must be >= 0

// -----

func.func @segment_shared(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 1 : i64, shared = array<i64: 1, 0, 1>} -> tensor<4x16xf32> {
    cim.yield %x : tensor<4x16xf32>
  }
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim.segment: shared buffer (1, 0) must go from an earlier operator to a later one

// -----

func.func @segment_shared_triples(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 1 : i64, shared = array<i64: 0, 1>} -> tensor<4x16xf32> {
    cim.yield %x : tensor<4x16xf32>
  }
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim.segment: shared must hold non-negative (producer, consumer, arrays) triples

// -----

func.func @gather_elements_indices(%x: tensor<4x8xf32>, %i: tensor<5x2xi64>) -> tensor<5x2xf32> {
  %y = cim.gather_elements %x, %i {axis = 1 : i64} : tensor<4x8xf32>, tensor<5x2xi64> -> tensor<5x2xf32>
  func.return %y : tensor<5x2xf32>
}
// CHECK: cim.gather_elements: indices [5, 2] do not fit input [4, 8] off axis 1

// -----

func.func @scatter_nd_updates(%x: tensor<4x8xf32>, %i: tensor<2x1xi64>, %u: tensor<2x7xf32>) -> tensor<4x8xf32> {
  %y = cim.scatter_nd none %x, %i, %u : tensor<4x8xf32>, tensor<2x1xi64>, tensor<2x7xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: cim.scatter_nd: updates shape [2, 7] must be [2, 8]

// -----

func.func @topk_k(%x: tensor<4x8xf32>) -> (tensor<4x9xf32>, tensor<4x9xi64>) {
  %v, %i = cim.topk %x {k = 9 : i64, axis = 1 : i64, largest = 1 : i64} : tensor<4x8xf32> -> tensor<4x9xf32>, tensor<4x9xi64>
  func.return %v, %i : tensor<4x9xf32>, tensor<4x9xi64>
}
// CHECK: cim.topk: k = 9 out of range for a dimension of 8

// -----

func.func @cumsum_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim.cumsum %x {axis = 2 : i64, exclusive = 0 : i64, reverse = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: cim.cumsum: axis 2 out of range for rank 2 (normalise it)
