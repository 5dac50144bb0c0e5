// RUN: xdsl-opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A bad hardware attribute is a located parse error naming the field.

builtin.module attributes {cim.hardware = #cim.hardware<"bad", arrays = 0, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
}
// CHECK: field 'arrays' = 0 is out of range [1, 1048576] (number of dual-mode switchable arrays (N_cim))

// -----

builtin.module attributes {cim.hardware = #cim.hardware<"bad", arrays = 4>} {
}
// CHECK: missing field 'rows'

// -----

builtin.module attributes {cim.hardware = #cim.hardware<"bad", arrays = 8, rows = 16, cols = 16, cell_bits = 3, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9, colour = 3>} {
}
// CHECK: unknown field 'colour'
