"""`cim-assign-arrays`: physical ids for every role, checked against the
schedule (counts per role, disjointness, in-place sharing) and against the
cost model's switch charge, computed here from the segments' array counts
(Eq. 1 with idle arrays switched in the shadow)."""

from __future__ import annotations

import pytest
from xdsl.dialects.func import FuncOp

from cmswitch.compile import DEFAULT_POLICIES, compile_model, parse_policy
from cmswitch.dialects.cim import AllocationAttr, ints
from cmswitch.ir import parse_module
from cmswitch.models import load_model
from cmswitch.passes.cim_assign_arrays import (
    MEMORY_IDS,
    AssignError,
    assign_function,
    op_arrays,
)
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.passes.segments import cost_dict, read_segments

CASES = [(m, p) for m in ("tiny-bert", "resnet18") for p in DEFAULT_POLICIES] + [
    ("mobilenetv2", "cmswitch"), ("tiny-llama", "static:0.25"), ("bert-large", "cmswitch"),
    ("bert-large", "puma"),  # attention's operands held in their products' arrays (24)
]  # fmt: skip


def _assigned(name: str, policy: str):  # type: ignore[no-untyped-def]
    model = load_model(name, seq=64 if not name.startswith("tiny") else 16)
    result = compile_model(model, parse_policy(policy, ScheduleOptions(jobs=1)))
    func = next(op for op in result.module.ops if isinstance(op, FuncOp))
    assign_function(func, model.hardware)
    return func, model.hardware


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_ids_match_the_schedule(name: str, policy: str) -> None:
    func, hw = _assigned(name, policy)
    prev: tuple[set[int], set[int]] | None = None
    for seg, ops in read_segments(func):
        compute: list[int] = []
        memory: set[int] = set()
        outs: dict[int, set[int]] = {}
        ins: dict[int, set[int]] = {}
        for i, op in enumerate(ops):
            ids = op_arrays(op)
            assert ids is not None
            alloc = op.attributes["alloc"]
            assert isinstance(alloc, AllocationAttr)
            assert len(ids.compute) == alloc.compute.data
            assert len(ids.mem_in) == alloc.mem_in.data
            assert len(ids.mem_out) == alloc.mem_out.data
            assert all(0 <= a < hw.arrays for a in (*ids.compute, *ids.mem_in, *ids.mem_out))
            assert len(set(ids.mem_in)) == len(ids.mem_in)
            compute.extend(ids.compute)
            memory |= set(ids.mem_in) | set(ids.mem_out)
            outs[i], ins[i] = set(ids.mem_out), set(ids.mem_in)
        assert len(set(compute)) == len(compute), "an array computes for two operators"
        assert not memory & set(compute), "an array in both modes"
        assert len(compute) == seg.compute_arrays.value.data
        assert len(memory) == seg.memory_arrays.value.data
        assert sorted(memory) == list(ints(seg.attributes[MEMORY_IDS]))  # type: ignore[arg-type]
        # an in-place buffer is the same arrays on both sides
        for p, c, k in seg.shared_triples():
            assert len(outs[p] & ins[c]) >= k
        # memory roles of different operators never overlap but for sharing
        shared_pairs = {(p, c) for p, c, _ in seg.shared_triples()}
        for i in outs:
            for j in ins:
                if i != j and (i, j) not in shared_pairs:
                    assert not outs[i] & ins[j], (i, j)
        cur = (set(compute), memory)
        n = hw.arrays
        if prev is not None:
            c_prev, m_prev = len(prev[0]), len(prev[1])
            # Eq. 1: only arrays used in the other mode by the previous segment
            charged_m2c = max(0, len(cur[0]) - (n - m_prev))
            charged_c2m = max(0, len(cur[1]) - (n - c_prev))
            assert len(prev[1] & cur[0]) == charged_m2c
            assert len(prev[0] & cur[1]) == charged_c2m
            switch = cost_dict(seg).get("switch_cycles", 0.0)
            assert (
                len(prev[1] & cur[0]) * hw.switch_m2c_cycles
                + len(prev[0] & cur[1]) * hw.switch_c2m_cycles
                <= switch + 1e-9
            )
        prev = cur


def test_bad_sharing_is_a_user_error() -> None:
    text = """
builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 4, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %w = cim.constant "w" : tensor<8x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 2 : i64, memory_arrays = 3 : i64} -> tensor<4x8xf32> {
      %h = cim.linear %x, %w {label = "fc1", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 3>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %y = cim.linear %h, %w {label = "fc2", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %y : tensor<4x8xf32>
    }
    func.return %0 : tensor<4x8xf32>
  }
}
"""
    module = parse_module(text)
    func = next(iter(module.ops))
    assert isinstance(func, FuncOp)
    from cmswitch.builder import module_hardware

    with pytest.raises(AssignError, match="2 compute \\+ 3 memory arrays exceed the chip's 4"):
        assign_function(func, module_hardware(module))


KEEP_K = """
builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @main(%x: tensor<4x8xf32>, %q: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %wk = cim.constant "wk" : tensor<8x8xf32>
    %wo = cim.constant "wo" : tensor<4x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 1 : i64, memory_arrays = 1 : i64} -> tensor<4x8xf32> {
      %k = cim.linear %x, %wk {label = "k_proj", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 1>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %k : tensor<4x8xf32>
    }
    %1 = cim.segment {index = 1 : i64, compute_arrays = 8 : i64, memory_arrays = 0 : i64} -> tensor<4x8xf32> {
      %kt = cim.transpose %0 {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
      %s = cim.matmul %q, %kt {label = "scores", alloc = #cim.alloc<compute = 2, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
      %y = cim.linear %s, %wo {label = "o_proj", alloc = #cim.alloc<compute = 6, mem_in = 0, mem_out = 0>} : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
      cim.yield %y : tensor<4x8xf32>
    }
    func.return %1 : tensor<4x8xf32>
  }
}
"""


def test_attention_k_arrays_become_the_products_arrays() -> None:
    """Segment 0 writes K into one memory array; segment 1 computes on all 8
    arrays, so one memory -> compute switch is charged (C = 8 > N - M' = 7).
    That switched array is K's: Q K^T gets it."""
    from cmswitch.builder import module_hardware
    from cmswitch.dialects.cim import MatmulOp

    module = parse_module(KEEP_K)
    func = next(iter(module.ops))
    assert isinstance(func, FuncOp)
    assign_function(func, module_hardware(module))
    ops = {op.attributes["label"].data: op_arrays(op) for op in func.walk()  # type: ignore[union-attr]
           if "label" in op.attributes}  # fmt: skip
    k_arrays = ops["k_proj"].mem_out  # type: ignore[union-attr]
    assert len(k_arrays) == 1
    scores = next(op for op in func.walk() if isinstance(op, MatmulOp))
    assert k_arrays[0] in op_arrays(scores).compute  # type: ignore[union-attr]
    # with a budget of no switch the preference gives way: 7 compute arrays
    # fit beside K's, so K's array is left alone
    fewer = KEEP_K.replace("compute = 6,", "compute = 5,").replace(
        "compute_arrays = 8", "compute_arrays = 7"
    )
    module = parse_module(fewer)
    func = next(iter(module.ops))
    assert isinstance(func, FuncOp)
    assign_function(func, module_hardware(module))
    scores = next(op for op in func.walk() if isinstance(op, MatmulOp))
    assert k_arrays[0] not in op_arrays(scores).compute  # type: ignore[union-attr]


IDLE_MEMORY = """
builtin.module attributes {cim.hardware = #cim.hardware<"t", arrays = 8, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %w = cim.constant "w" : tensor<8x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 1 : i64, memory_arrays = 4 : i64} -> tensor<4x8xf32> {
      %h = cim.linear %x, %w {label = "a", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 4>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %h : tensor<4x8xf32>
    }
    %1 = cim.segment {index = 1 : i64, compute_arrays = 1 : i64, memory_arrays = 0 : i64} -> tensor<4x8xf32> {
      %y = cim.linear %0, %w {label = "b", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %y : tensor<4x8xf32>
    }
    %2 = cim.segment {index = 2 : i64, compute_arrays = 1 : i64, memory_arrays = 4 : i64} -> tensor<4x8xf32> {
      %z = cim.linear %1, %w {label = "c", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 4>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      cim.yield %z : tensor<4x8xf32>
    }
    func.return %2 : tensor<4x8xf32>
  }
}
"""


def test_memory_roles_take_idle_memory_arrays_first() -> None:
    """Segment 0 switches 4 arrays to memory; segment 1 leaves them idle (in
    memory mode) with 3 never-used arrays (in compute mode); segment 2's 4
    memory arrays are the 4 idle memory-mode ones: the program switches
    none there (taking the compute-mode ones first would switch 3, idle,
    uncharged by Eq. 1 but real work)."""
    from cmswitch.dialects import cim_meta as meta
    from cmswitch.lowering.cim_to_meta import meta_program

    program = meta_program(parse_module(IDLE_MEMORY))
    switched: dict[int, int] = {}
    for seg in program.walk():
        if isinstance(seg, meta.SegmentOp):
            n = sum(len(op.array_ids) for op in seg.walk() if isinstance(op, meta.SwitchOp))
            switched[seg.index.value.data] = n
    assert switched == {0: 4, 1: 0, 2: 0}
