// RUN: xdsl-opt %s --allow-unregistered-dialect | filecheck %s
// RUN: xdsl-opt %s --allow-unregistered-dialect --print-op-generic | xdsl-opt --allow-unregistered-dialect | filecheck %s

// CHECK: "test.op"() {modes = [#cim<mode compute>, #cim<mode memory>], alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 7>} : () -> ()
"test.op"() {modes = [#cim<mode compute>, #cim<mode memory>], alloc = #cim.alloc<compute = 3, mem_in = 0, mem_out = 7>} : () -> ()
