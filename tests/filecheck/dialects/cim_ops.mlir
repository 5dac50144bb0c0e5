// RUN: xdsl-opt %s | filecheck %s
// RUN: xdsl-opt %s | xdsl-opt | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | xdsl-opt | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// Every cim op and attribute round-trips through the custom and the generic printer.

// CHECK: builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1000000000.0>}
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1000000000.0>} {
  // CHECK-LABEL: func.func @cnn
  func.func @cnn(%x: tensor<1x3x8x8xf32>) -> tensor<1x10xf32> {
    // CHECK:      %w = cim.constant "conv.w" : tensor<4x3x3x3xf32>
    // CHECK-NEXT: %b = cim.constant "conv.b" {value = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>} : tensor<4xf32>
    // CHECK-NEXT: %c = cim.conv2d %x, %w, %b {label = "conv0", strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
    // CHECK-NEXT: %dw = cim.constant "dw.w" : tensor<4x1x3x3xf32>
    // CHECK-NEXT: %d = cim.conv2d %c, %dw {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64} : tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32> -> tensor<1x4x4x4xf32>
    // CHECK-NEXT: %r = cim.elementwise clip %d {alpha = 0.000000e+00 : f64, beta = 6.000000e+00 : f64} : tensor<1x4x4x4xf32> -> tensor<1x4x4x4xf32>
    // CHECK-NEXT: %p = cim.pool avg %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = 0 : i64} : tensor<1x4x4x4xf32> -> tensor<1x4x2x2xf32>
    // CHECK-NEXT: %f = cim.reshape %p : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
    // CHECK-NEXT: %fw = cim.constant "fc.w" : tensor<16x10xf32>
    // CHECK-NEXT: %y = cim.linear %f, %fw {alloc = #cim.alloc<compute = 2, mem_in = 1, mem_out = 0>} : tensor<1x16xf32>, tensor<16x10xf32> -> tensor<1x10xf32>
    // CHECK-NEXT: func.return %y : tensor<1x10xf32>
    %w = cim.constant "conv.w" : tensor<4x3x3x3xf32>
    %b = cim.constant "conv.b" {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : tensor<4xf32>
    %c = cim.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, label = "conv0"} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
    %dw = cim.constant "dw.w" : tensor<4x1x3x3xf32>
    %d = cim.conv2d %c, %dw {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64} : tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32> -> tensor<1x4x4x4xf32>
    %r = cim.elementwise clip %d {alpha = 0.0 : f64, beta = 6.0 : f64} : tensor<1x4x4x4xf32> -> tensor<1x4x4x4xf32>
    %p = cim.pool avg %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = 0 : i64} : tensor<1x4x4x4xf32> -> tensor<1x4x2x2xf32>
    %f = cim.reshape %p : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
    %fw = cim.constant "fc.w" : tensor<16x10xf32>
    %y = cim.linear %f, %fw {alloc = #cim.alloc<compute = 2, mem_in = 1, mem_out = 0>} : tensor<1x16xf32>, tensor<16x10xf32> -> tensor<1x10xf32>
    func.return %y : tensor<1x10xf32>
  }

  // CHECK-LABEL: func.func @attention
  func.func @attention(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %ids: tensor<2x8xi64>, %table: tensor<100x16xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x8x16xf32>) {
    // CHECK:      %kt = cim.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
    // CHECK-NEXT: %s = cim.matmul %q, %kt : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
    // CHECK-NEXT: %scale = cim.constant "scale" {value = dense<2.500000e-01> : tensor<1xf32>} : tensor<1xf32>
    // CHECK-NEXT: %ss = cim.elementwise mul %s, %scale : tensor<2x4x8x8xf32>, tensor<1xf32> -> tensor<2x4x8x8xf32>
    // CHECK-NEXT: %sm = cim.softmax %ss {axis = 3 : i64} : tensor<2x4x8x8xf32> -> tensor<2x4x8x8xf32>
    // CHECK-NEXT: %o = cim.matmul %sm, %v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
    // CHECK-NEXT: %e = cim.gather %table, %ids {axis = 0 : i64} : tensor<100x16xf32>, tensor<2x8xi64> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %g = cim.constant "ln.g" : tensor<16xf32>
    // CHECK-NEXT: %n = cim.layernorm %e, %g, %g {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %rn = cim.rmsnorm %n, %g {epsilon = 1.000000e-06 : f64} : tensor<2x8x16xf32>, tensor<16xf32> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %red = cim.reduce sum %rn {axes = array<i64: 1>, keepdims = 1 : i64} : tensor<2x8x16xf32> -> tensor<2x1x16xf32>
    // CHECK-NEXT: %bc = cim.broadcast %red : tensor<2x1x16xf32> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %sl = cim.slice %bc {starts = array<i64: 0, 7, 0>, ends = array<i64: 2, -1, 16>, steps = array<i64: 1, -1, 1>} : tensor<2x8x16xf32> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %cat = cim.concat %sl, %bc {axis = 1 : i64} : tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x16x16xf32>
    // CHECK-NEXT: %pd = cim.pad %cat {pads = array<i64: 0, 0, 0, 0, 0, 0>, value = 0.000000e+00 : f64} : tensor<2x16x16xf32> -> tensor<2x16x16xf32>
    // CHECK-NEXT: %h = cim.slice %pd {starts = array<i64: 0, 0, 0>, ends = array<i64: 2, 8, 16>, steps = array<i64: 1, 1, 1>} : tensor<2x16x16xf32> -> tensor<2x8x16xf32>
    // CHECK-NEXT: %cond = cim.elementwise greater %h, %rn : tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x8x16xi1>
    // CHECK-NEXT: %sel = cim.elementwise where %cond, %h, %rn : tensor<2x8x16xi1>, tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x8x16xf32>
    %kt = cim.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
    %s = cim.matmul %q, %kt : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
    %scale = cim.constant "scale" {value = dense<0.25> : tensor<1xf32>} : tensor<1xf32>
    %ss = cim.elementwise mul %s, %scale : tensor<2x4x8x8xf32>, tensor<1xf32> -> tensor<2x4x8x8xf32>
    %sm = cim.softmax %ss {axis = 3 : i64} : tensor<2x4x8x8xf32> -> tensor<2x4x8x8xf32>
    %o = cim.matmul %sm, %v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
    %e = cim.gather %table, %ids {axis = 0 : i64} : tensor<100x16xf32>, tensor<2x8xi64> -> tensor<2x8x16xf32>
    %g = cim.constant "ln.g" : tensor<16xf32>
    %n = cim.layernorm %e, %g, %g {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<2x8x16xf32>
    %rn = cim.rmsnorm %n, %g {epsilon = 1.0e-06 : f64} : tensor<2x8x16xf32>, tensor<16xf32> -> tensor<2x8x16xf32>
    %red = cim.reduce sum %rn {axes = array<i64: 1>, keepdims = 1 : i64} : tensor<2x8x16xf32> -> tensor<2x1x16xf32>
    %bc = cim.broadcast %red : tensor<2x1x16xf32> -> tensor<2x8x16xf32>
    %sl = cim.slice %bc {starts = array<i64: 0, 7, 0>, ends = array<i64: 2, -1, 16>, steps = array<i64: 1, -1, 1>} : tensor<2x8x16xf32> -> tensor<2x8x16xf32>
    %cat = cim.concat %sl, %bc {axis = 1 : i64} : tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x16x16xf32>
    %pd = cim.pad %cat {pads = array<i64: 0, 0, 0, 0, 0, 0>, value = 0.0 : f64} : tensor<2x16x16xf32> -> tensor<2x16x16xf32>
    %h = cim.slice %pd {starts = array<i64: 0, 0, 0>, ends = array<i64: 2, 8, 16>, steps = array<i64: 1, 1, 1>} : tensor<2x16x16xf32> -> tensor<2x8x16xf32>
    %cond = cim.elementwise greater %h, %rn : tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x8x16xi1>
    %sel = cim.elementwise where %cond, %h, %rn : tensor<2x8x16xi1>, tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x8x16xf32>
    func.return %o, %sel : tensor<2x4x8x16xf32>, tensor<2x8x16xf32>
  }

  // CHECK-LABEL: func.func @indexing
  func.func @indexing(%x: tensor<4x70xf32>, %i: tensor<4x5xi64>, %u: tensor<2x70xf32>, %w: tensor<2x1xi64>) -> (tensor<4x5xf32>, tensor<4x70xf32>, tensor<4x70xf32>, tensor<4x3xf32>, tensor<4x3xi64>, tensor<4x70xi1>, tensor<4x70xf32>) {
    // CHECK:      %g = cim.gather_elements %x, %i {axis = 1 : i64} : tensor<4x70xf32>, tensor<4x5xi64> -> tensor<4x5xf32>
    // CHECK-NEXT: %s = cim.scatter_nd add %x, %w, %u : tensor<4x70xf32>, tensor<2x1xi64>, tensor<2x70xf32> -> tensor<4x70xf32>
    // CHECK-NEXT: %c = cim.cumsum %x {axis = 1 : i64, exclusive = 1 : i64, reverse = 0 : i64} : tensor<4x70xf32> -> tensor<4x70xf32>
    // CHECK-NEXT: %v, %k = cim.topk %x {k = 3 : i64, axis = 1 : i64, largest = 1 : i64} : tensor<4x70xf32> -> tensor<4x3xf32>, tensor<4x3xi64>
    // CHECK-NEXT: %n = cim.elementwise isnan %x : tensor<4x70xf32> -> tensor<4x70xi1>
    // CHECK-NEXT: %b = cim.elementwise to_bf16 %x : tensor<4x70xf32> -> tensor<4x70xf32>
    // CHECK-NEXT: %m = cim.elementwise fmod %b, %x : tensor<4x70xf32>, tensor<4x70xf32> -> tensor<4x70xf32>
    // CHECK-NEXT: func.return %g, %s, %c, %v, %k, %n, %m : tensor<4x5xf32>, tensor<4x70xf32>, tensor<4x70xf32>, tensor<4x3xf32>, tensor<4x3xi64>, tensor<4x70xi1>, tensor<4x70xf32>
    %g = cim.gather_elements %x, %i {axis = 1 : i64} : tensor<4x70xf32>, tensor<4x5xi64> -> tensor<4x5xf32>
    %s = cim.scatter_nd add %x, %w, %u : tensor<4x70xf32>, tensor<2x1xi64>, tensor<2x70xf32> -> tensor<4x70xf32>
    %c = cim.cumsum %x {axis = 1 : i64, exclusive = 1 : i64, reverse = 0 : i64} : tensor<4x70xf32> -> tensor<4x70xf32>
    %v, %k = cim.topk %x {k = 3 : i64, axis = 1 : i64, largest = 1 : i64} : tensor<4x70xf32> -> tensor<4x3xf32>, tensor<4x3xi64>
    %n = cim.elementwise isnan %x : tensor<4x70xf32> -> tensor<4x70xi1>
    %b = cim.elementwise to_bf16 %x : tensor<4x70xf32> -> tensor<4x70xf32>
    %m = cim.elementwise fmod %b, %x : tensor<4x70xf32>, tensor<4x70xf32> -> tensor<4x70xf32>
    func.return %g, %s, %c, %v, %k, %n, %m : tensor<4x5xf32>, tensor<4x70xf32>, tensor<4x70xf32>, tensor<4x3xf32>, tensor<4x3xi64>, tensor<4x70xi1>, tensor<4x70xf32>
  }

  // CHECK-LABEL: func.func @segmented
  func.func @segmented(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
    // CHECK:      %w = cim.constant "w" : tensor<16x16xf32>
    // CHECK-NEXT: %y = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 1 : i64, cost = {intra = 1.000000e+02 : f64}} -> tensor<4x16xf32> {
    // CHECK-NEXT:   %a = cim.linear %x, %w {alloc = #cim.alloc<compute = 2, mem_in = 1, mem_out = 0>} : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
    // CHECK-NEXT:   cim.yield %a : tensor<4x16xf32>
    // CHECK-NEXT: }
    %w = cim.constant "w" : tensor<16x16xf32>
    %y = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 1 : i64, cost = {intra = 100.0 : f64}} -> tensor<4x16xf32> {
      %a = cim.linear %x, %w {alloc = #cim.alloc<compute = 2, mem_in = 1, mem_out = 0>} : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
      cim.yield %a : tensor<4x16xf32>
    }
    func.return %y : tensor<4x16xf32>
  }
}

// GENERIC: "cim.conv2d"(%x, %w, %b) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> {label = "conv0"}
// GENERIC: "cim.scatter_nd"(%x, %w, %u) <{reduction = #cim<scatter_reduction add>}>
// GENERIC: "cim.topk"(%x) <{k = 3 : i64, axis = 1 : i64, largest = 1 : i64}> : (tensor<4x70xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>)
// GENERIC: "cim.segment"() <{
// GENERIC: "cim.yield"(%a) : (tensor<4x16xf32>) -> ()
