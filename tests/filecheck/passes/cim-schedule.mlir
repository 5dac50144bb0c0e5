// RUN: xdsl-opt %s -p 'cim-schedule{cost-model=paper}' | filecheck %s
// RUN: xdsl-opt %s -p 'cim-schedule{policy=puma cost-model=paper}' | filecheck %s --check-prefix=PUMA

// A chip of 8 arrays; two chained layers (2 and 2 arrays at least) fit in one
// segment; the left-over arrays go to duplication or memory.
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 8, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @mlp(%x: tensor<8x16xf32>) -> tensor<8x4xf32> {
    %w1 = cim.constant "w1" : tensor<16x4xf32>
    %w2 = cim.constant "w2" : tensor<4x4xf32>
    %h = cim.linear %x, %w1 {label = "fc1"} : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
    %r = cim.elementwise relu %h : tensor<8x4xf32> -> tensor<8x4xf32>
    %y = cim.linear %r, %w2 {label = "fc2"} : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
    func.return %y : tensor<8x4xf32>
  }
}

// CHECK:      builtin.module attributes {{{.*}}cim.schedule = {policy = "cmswitch", latency_cycles = {{.*}}}
// CHECK-LABEL: func.func @mlp
// CHECK:      %w1 = cim.constant "w1"
// CHECK-NEXT: %w2 = cim.constant "w2"
// CHECK-NEXT: %{{.*}} = cim.segment {index = 0 : i64, compute_arrays = {{[0-9]+}} : i64, memory_arrays = {{[0-9]+}} : i64, cost = {intra_cycles = {{.*}}, switch_cycles = {{.*}}, reload_cycles = {{.*}}, writeback_cycles = {{.*}}, vector_cycles = {{.*}}}} -> tensor<8x4xf32> {
// CHECK-NEXT:   %h = cim.linear %x, %w1 {label = "fc1", alloc = #cim.alloc<compute = {{[0-9]+}}, mem_in = {{[0-9]+}}, mem_out = {{[0-9]+}}>}
// CHECK-NEXT:   %r = cim.elementwise relu %h
// CHECK-NEXT:   %y = cim.linear %r, %w2 {label = "fc2", alloc = #cim.alloc<compute = {{[0-9]+}}, mem_in = {{[0-9]+}}, mem_out = {{[0-9]+}}>}
// CHECK-NEXT:   cim.yield %y : tensor<8x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: func.return

// PUMA has no cross-operator pipelining: one segment per operator, all compute.
// PUMA:      cim.segment {index = 0 : i64, compute_arrays = {{[0-9]+}} : i64, memory_arrays = 0 : i64
// PUMA-NEXT:   cim.linear %x, %w1
// PUMA:        cim.elementwise relu
// PUMA:        cim.yield
// PUMA:      cim.segment {index = 1 : i64, compute_arrays = {{[0-9]+}} : i64, memory_arrays = 0 : i64
// PUMA-NEXT:   cim.linear
// PUMA:        cim.yield
