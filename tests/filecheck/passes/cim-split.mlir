// RUN: xdsl-opt %s -p cim-split | filecheck %s

// A chip of 8 arrays of 16 x 16 one-bit cells: 2 eight-bit weights per row.
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {

  // 64 x 10 needs 4 row blocks x 5 column blocks = 20 arrays: split K into
  // chunks of 4 columns (4 x 2 = 8 arrays each).
  // CHECK-LABEL: func.func @split_k
  // CHECK:      %[[W0:.*]] = cim.slice %w {starts = array<i64: 0, 0>, ends = array<i64: 64, 4>, steps = array<i64: 1, 1>}
  // CHECK-NEXT: %[[B0:.*]] = cim.slice %b {starts = array<i64: 0>, ends = array<i64: 4>, steps = array<i64: 1>}
  // CHECK-NEXT: %[[Y0:.*]] = cim.linear %x, %[[W0]], %[[B0]] {label = "fc.k0", origin = "fc"} : tensor<3x64xf32>, tensor<64x4xf32>, tensor<4xf32> -> tensor<3x4xf32>
  // CHECK:      %[[Y1:.*]] = cim.linear %x, %{{.*}}, %{{.*}} {label = "fc.k1", origin = "fc"} : tensor<3x64xf32>, tensor<64x4xf32>, tensor<4xf32> -> tensor<3x4xf32>
  // CHECK:      %[[Y2:.*]] = cim.linear %x, %{{.*}}, %{{.*}} {label = "fc.k2", origin = "fc"} : tensor<3x64xf32>, tensor<64x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  // CHECK-NEXT: %{{.*}} = cim.concat %[[Y0]], %[[Y1]], %[[Y2]] {axis = 1 : i64} : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x2xf32> -> tensor<3x10xf32>
  func.func @split_k(%x: tensor<3x64xf32>) -> tensor<3x10xf32> {
    %w = cim.constant "fc.w" : tensor<64x10xf32>
    %b = cim.constant "fc.b" : tensor<10xf32>
    %y = cim.linear %x, %w, %b {label = "fc"} : tensor<3x64xf32>, tensor<64x10xf32>, tensor<10xf32> -> tensor<3x10xf32>
    func.return %y : tensor<3x10xf32>
  }

  // 160 rows need 10 row blocks > 8 arrays: split N, sum the partial products.
  // CHECK-LABEL: func.func @split_n
  // CHECK:      %[[A:.*]] = cim.linear %{{.*}}, %{{.*}}, %b {label = "big.n0", origin = "big"} : tensor<2x80xf32>, tensor<80x2xf32>, tensor<2xf32> -> tensor<2x2xf32>
  // CHECK:      %[[B:.*]] = cim.linear %{{.*}}, %{{.*}} {label = "big.n1", origin = "big"} : tensor<2x80xf32>, tensor<80x2xf32> -> tensor<2x2xf32>
  // CHECK-NEXT: %{{.*}} = cim.elementwise add %[[A]], %[[B]]
  func.func @split_n(%x: tensor<2x160xf32>) -> tensor<2x2xf32> {
    %w = cim.constant "big.w" : tensor<160x2xf32>
    %b = cim.constant "big.b" : tensor<2xf32>
    %y = cim.linear %x, %w, %b {label = "big"} : tensor<2x160xf32>, tensor<160x2xf32>, tensor<2xf32> -> tensor<2x2xf32>
    func.return %y : tensor<2x2xf32>
  }

  // 16 heads of a 16 x 4 operand (2 arrays each) = 32 arrays: halve the batch
  // until each part needs at most 8.
  // CHECK-LABEL: func.func @split_batch
  // CHECK-COUNT-4: cim.matmul {{.*}} : tensor<1x4x8x16xf32>, tensor<1x4x16x4xf32> -> tensor<1x4x8x4xf32>
  // CHECK-NOT: cim.matmul
  func.func @split_batch(%q: tensor<4x4x8x16xf32>, %k: tensor<4x4x16x4xf32>) -> tensor<4x4x8x4xf32> {
    %s = cim.matmul %q, %k {label = "qk"} : tensor<4x4x8x16xf32>, tensor<4x4x16x4xf32> -> tensor<4x4x8x4xf32>
    func.return %s : tensor<4x4x8x4xf32>
  }

  // A depthwise convolution whose packed groups need more than the chip.
  // CHECK-LABEL: func.func @split_groups
  // (one 3x3 kernel per array on this chip: 32 groups -> 4 parts of 8)
  // CHECK-COUNT-4: cim.conv2d {{.*}}group = 8 : i64} : tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32> -> tensor<1x8x4x4xf32>
  // CHECK: cim.concat {{.*}} {axis = 1 : i64}
  func.func @split_groups(%x: tensor<1x32x4x4xf32>) -> tensor<1x32x4x4xf32> {
    %w = cim.constant "dw.w" : tensor<32x1x3x3xf32>
    %y = cim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 32 : i64, label = "dw"} : tensor<1x32x4x4xf32>, tensor<32x1x3x3xf32> -> tensor<1x32x4x4xf32>
    func.return %y : tensor<1x32x4x4xf32>
  }

  // Operators that fit are left alone.
  // CHECK-LABEL: func.func @fits
  // CHECK-NEXT: %w = cim.constant
  // CHECK-NEXT: %y = cim.linear %x, %w :
  func.func @fits(%x: tensor<3x16xf32>) -> tensor<3x2xf32> {
    %w = cim.constant "w" : tensor<16x2xf32>
    %y = cim.linear %x, %w : tensor<3x16xf32>, tensor<16x2xf32> -> tensor<3x2xf32>
    func.return %y : tensor<3x2xf32>
  }
}
