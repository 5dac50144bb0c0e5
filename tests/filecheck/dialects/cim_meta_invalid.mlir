// RUN: xdsl-opt %s --verify-diagnostics --split-input-file | filecheck %s

// Invalid cim_meta programs are rejected with a message a user can act on.

func.func @tiles(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0, 1>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: cim_meta.program 'fc': tiles must hold 6 integers (g0, g1, n0, n1, k0, k1) per array: 2 arrays, 6 integers

// -----

func.func @repeat() {
  cim_meta.switch {arrays = array<i64: 3, 3>, mode = #cim<mode memory>}
  func.return
}
// CHECK: cim_meta.switch: array ids [3, 3] repeat

// -----

func.func @empty_tile(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 4, 4, 0, 16>, bytes = 128 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: cim_meta.program 'fc': empty or negative tile [0, 1, 4, 4, 0, 16]

// -----

func.func @in_place_bytes(%w: tensor<8x16xf32>) {
  cim_meta.program %w {label = "qk", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 128 : i64, in_place = 1 : i64} : tensor<8x16xf32>
  func.return
}
// CHECK: cim_meta.program 'qk': an in-place program moves no bytes

// -----

func.func @shape(%x: tensor<4x8xf32>) -> tensor<4x15xf32> {
  %y = cim_meta.compute %x {label = "fc", kind = "linear", arrays = array<i64: 0>, weight_shape = array<i64: 8, 16>, place = #cim_meta.place<buffer = 60>} : tensor<4x8xf32> -> tensor<4x15xf32>
  func.return %y : tensor<4x15xf32>
}
// CHECK: cim_meta.compute 'fc': result shape [4, 15] does not match the inferred [4, 16]

// -----

func.func @kind(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %y = cim_meta.compute %x {label = "fc", kind = "gemm", arrays = array<i64: 0>, weight_shape = array<i64: 8, 16>, place = #cim_meta.place<buffer = 64>} : tensor<4x8xf32> -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim_meta.compute 'fc': kind must be linear, conv2d or matmul, not 'gemm'

// -----

func.func @conv_props(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %y = cim_meta.compute %x {label = "fc", kind = "linear", arrays = array<i64: 0>, weight_shape = array<i64: 8, 16>, place = #cim_meta.place<buffer = 64>, strides = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}
// CHECK: cim_meta.compute 'fc': strides, pads, dilations and group are given exactly for conv2d

// -----

func.func @load_to_dram(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim_meta.load %x {place = #cim_meta.place<buffer = 16, dram = 16>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: cim_meta.load: the destination must be on chip (no dram part)

// -----

func.func @store_on_chip(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim_meta.store %x {place = #cim_meta.place<buffer = 32>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: cim_meta.store: the destination must be main memory (dram)

// -----

func.func @place_repeat(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim_meta.move %x {place = #cim_meta.place<arrays [2, 2] = 32>, bytes = 32 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}
// CHECK: #cim_meta.place: array ids [2, 2] repeat

// -----

func.func @vector_two_ops(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = cim_meta.vector %x {place = #cim_meta.place<buffer = 32>} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = cim.elementwise relu %a : tensor<4x8xf32> -> tensor<4x8xf32>
    %s = cim.elementwise relu %r : tensor<4x8xf32> -> tensor<4x8xf32>
    cim_meta.yield %s : tensor<4x8xf32>
  }
  func.return %y : tensor<4x8xf32>
}
// CHECK: cim_meta.vector: the body must hold exactly one cim vector op and cim_meta.yield

// -----

func.func @segment_yield(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = cim_meta.segment {index = 0 : i64} -> tensor<4x8xf32> {
    cim_meta.yield
  }
  func.return %0 : tensor<4x8xf32>
}
// CHECK: cim_meta.segment: cim_meta.yield operand types must match the segment's results

// -----

builtin.module attributes {cim.hardware = #cim.hardware<"dynaplasia", arrays = 96, rows = 320, cols = 320, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 81920, internal_bw_bits = 32, external_bw_bytes = 128, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 64, clock_hz = 1000000000.0>} {
  func.func @place_bytes(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %y = cim_meta.load %x {place = #cim_meta.place<buffer = 31>, bytes = 31 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
    func.return %y : tensor<4x8xf32>
  }
}
// CHECK: cim_meta.load: place holds 31 bytes, the tensor [4, 8] has 32 (act_bits = 8)

// -----

builtin.module attributes {cim.hardware = #cim.hardware<"dynaplasia", arrays = 96, rows = 320, cols = 320, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 81920, internal_bw_bits = 32, external_bw_bytes = 128, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 64, clock_hz = 1000000000.0>} {
  func.func @tile_too_big(%w: tensor<400x16xf32>) {
    cim_meta.program %w {label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 400, 0, 16>, bytes = 6400 : i64} : tensor<400x16xf32>
    func.return
  }
}
// CHECK: cim_meta.program 'fc': the tile for array 0 needs 400 rows x 16 weights, an array has 320 x 40
