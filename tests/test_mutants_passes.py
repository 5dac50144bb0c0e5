"""Tests written for mutants of ``cmswitch/passes/`` that survived the
suite (``benchmarks/mutation.py``; docs/TESTING.md "Mutation testing").
Each names the mutant it kills; each was checked to fail on it."""

from __future__ import annotations

from cmswitch.dialects.cim import ComputeOp
from cmswitch.ir import make_context, parse_module
from cmswitch.passes.cim_split import CimSplitPass
from tests.test_passes import SMALL_FIT, SPLIT_CHIP


def _split_linear(n: int, k: int, max_arrays: int) -> list[tuple[int, int]]:
    """cim-split{max-arrays} on one linear x[4 x n] . w[n x k] on the
    12-array chip of 64 x 64 one-bit cells (8 weights per row): the (N, K)
    of the resulting operators."""
    text = (
        f"builtin.module attributes {{cim.hardware = {SPLIT_CHIP}}} {{\n"
        f"  func.func @f(%x: tensor<4x{n}xf32>) -> tensor<4x{k}xf32> {{\n"
        f'    %w = cim.constant "w" : tensor<{n}x{k}xf32>\n'
        f'    %y = cim.linear %x, %w {{label = "fc"}} : tensor<4x{n}xf32>, '
        f"tensor<{n}x{k}xf32> -> tensor<4x{k}xf32>\n"
        f"    func.return %y : tensor<4x{k}xf32>\n  }}\n}}"
    )
    module = parse_module(text)
    CimSplitPass(max_arrays=max_arrays).apply(make_context(), module)
    module.verify()
    return [
        (op.matmul_shape().n, op.matmul_shape().k)
        for op in module.walk()
        if isinstance(op, ComputeOp)
    ]


def test_max_arrays_one_splits_to_single_arrays() -> None:
    """A budget of one array: 64 x 16 (1 row block, 2 column blocks of 8)
    becomes two 64 x 8 parts of one array each (mutant ``cim_split.py:318``
    ``1 < max_arrays``: a budget of 1 ignored, the operator kept whole)."""
    assert SMALL_FIT.min_arrays(64, 16) == 2
    assert _split_linear(64, 16, 1) == [(64, 8), (64, 8)]
    assert _split_linear(64, 16, 2) == [(64, 16)]


def test_max_arrays_above_the_chip_is_the_chip() -> None:
    """A budget larger than the chip does not enlarge it: 64 x 104 needs 13
    arrays of the 12 and is split as without a budget (two parts of
    ceil(ceil(104 / 2) / 8) * 8 = 56 and 48 columns); a mutant that takes
    the larger of the two would keep it whole."""
    assert SMALL_FIT.min_arrays(64, 104) == 13
    assert _split_linear(64, 104, 0) == [(64, 56), (64, 48)]
    assert _split_linear(64, 104, 20) == [(64, 56), (64, 48)]


def test_split_one_large_matmul_along_k_by_hand() -> None:
    """A matmul without batch, a[4 x 64] . b[64 x 104], on the 12-array chip:
    1 row block, 13 column blocks of 8 = 13 arrays. A part may have
    12 // 1 = 12 column blocks: ceil(13 / 12) = 2 parts of
    ceil(ceil(104 / 2) / 8) * 8 = 56 columns (the last 48) (mutant
    ``cim_split.py:270`` ``col_blocks * (...)``: 13 parts of 8)."""
    text = (
        f"builtin.module attributes {{cim.hardware = {SPLIT_CHIP}}} {{\n"
        "  func.func @f(%a: tensor<4x64xf32>, %b: tensor<64x104xf32>) -> tensor<4x104xf32> {\n"
        '    %y = cim.matmul %a, %b {label = "mm"} : tensor<4x64xf32>, tensor<64x104xf32> '
        "-> tensor<4x104xf32>\n"
        "    func.return %y : tensor<4x104xf32>\n  }\n}"
    )
    module = parse_module(text)
    CimSplitPass().apply(make_context(), module)
    module.verify()
    got = [
        (op.matmul_shape().n, op.matmul_shape().k)
        for op in module.walk()
        if isinstance(op, ComputeOp)
    ]
    assert got == [(64, 56), (64, 48)]


def _computes(body: str, args: str, result: str) -> list[tuple[str, int, int]]:
    text = (
        f"builtin.module attributes {{cim.hardware = {SPLIT_CHIP}}} {{\n"
        f"  func.func @f({args}) -> {result} {{\n{body}\n"
        f"    func.return %y : {result}\n  }}\n}}"
    )
    module = parse_module(text)
    CimSplitPass().apply(make_context(), module)
    module.verify()
    return [
        (op.name, op.matmul_shape().n, op.matmul_shape().k)
        for op in module.walk()
        if isinstance(op, ComputeOp)
    ]


def test_matmul_and_conv_exactly_filling_the_chip_are_not_split() -> None:
    """12 arrays of 64 rows x 8 weights: a matmul b[64 x 96] and a 3 x 3
    convolution of 7 input channels (N = 63 rows) to 96 outputs need
    1 x 12 = 12 arrays, exactly the chip, and stay whole; one column more
    (104) needs 13 and is split (mutants ``cim_split.py:187`` and ``:252``
    ``min_arrays < arrays``: the exact fit split)."""
    assert SMALL_FIT.min_arrays(64, 96) == SMALL_FIT.min_arrays(63, 96) == 12
    for k, parts in ((96, 1), (104, 2)):
        mm = _computes(
            f'    %y = cim.matmul %a, %b {{label = "mm"}} : tensor<4x64xf32>, '
            f"tensor<64x{k}xf32> -> tensor<4x{k}xf32>",
            f"%a: tensor<4x64xf32>, %b: tensor<64x{k}xf32>",
            f"tensor<4x{k}xf32>",
        )
        assert [s[1:] for s in mm] == ([(64, 96)] if parts == 1 else [(64, 56), (64, 48)])
        conv = _computes(
            f'    %w = cim.constant "w" : tensor<{k}x7x3x3xf32>\n'
            "    %y = cim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, "
            f'dilations = array<i64: 1, 1>, group = 1 : i64, label = "cv"}} : tensor<1x7x4x4xf32>, '
            f"tensor<{k}x7x3x3xf32> -> tensor<1x{k}x4x4xf32>",
            "%x: tensor<1x7x4x4xf32>",
            f"tensor<1x{k}x4x4xf32>",
        )
        assert len(conv) == parts and all(n == 63 for _, n, _ in conv)
        assert sum(kk for *_, kk in conv) == k


def test_switch_counts_by_hand() -> None:
    """Arrays 2 and 3 held data (memory) and now compute: 2 memory -> compute;
    array 0 computed and now holds data: 1 compute -> memory; 1 and 4 do not
    flip (mutant ``cim_assign_arrays.py:292`` ``prev[1] & cur[1]``)."""
    from cmswitch.passes.cim_assign_arrays import switch_counts

    assert switch_counts(({0, 1}, {2, 3}), ({2, 3, 4}, {0})) == (2, 1)
    assert switch_counts(({0, 1}, set()), ({0, 1}, set())) == (0, 0)


def test_batch_split_keeps_a_broadcast_operand_whole() -> None:
    """a[1 x 8 x 64] . b[4 x 64 x 32]: four 64 x 32 weights, 4 x 4 = 16 arrays
    of the 12, so the batch (4, from b; a broadcasts) is halved. Each half
    multiplies the whole a by one half of b (mutants ``cim_split.py:284``
    ``ax >= 0 or ...``: a size-1 axis sliced; ``ax > 0``: b not sliced)."""
    from cmswitch.dialects.cim import MatmulOp

    text = (
        f"builtin.module attributes {{cim.hardware = {SPLIT_CHIP}}} {{\n"
        "  func.func @f(%a: tensor<1x8x64xf32>, %b: tensor<4x64x32xf32>) -> tensor<4x8x32xf32> {\n"
        '    %y = cim.matmul %a, %b {label = "mm"} : tensor<1x8x64xf32>, tensor<4x64x32xf32> '
        "-> tensor<4x8x32xf32>\n"
        "    func.return %y : tensor<4x8x32xf32>\n  }\n}"
    )
    module = parse_module(text)
    CimSplitPass().apply(make_context(), module)
    module.verify()
    parts = [op for op in module.walk() if isinstance(op, MatmulOp)]
    shapes = [
        (list(op.lhs.type.get_shape()), list(op.rhs.type.get_shape()))  # type: ignore[attr-defined]
        for op in parts
    ]
    assert shapes == [([1, 8, 64], [2, 64, 32])] * 2
    func = next(iter(module.ops))
    arg_a = func.body.block.args[0]  # type: ignore[attr-defined]
    assert all(op.lhs is arg_a for op in parts)


def test_assign_function_returns_what_it_writes() -> None:
    """assign_function returns, per segment in order, its operators' ids:
    the same ids the attributes hold (read back by op_arrays) (mutant
    ``cim_assign_arrays.py:151``: nothing returned)."""
    from xdsl.dialects.func import FuncOp

    from cmswitch.builder import module_hardware
    from cmswitch.passes.cim_assign_arrays import assign_function, op_arrays
    from cmswitch.passes.segments import read_segments
    from tests.test_assign_arrays import KEEP_K

    module = parse_module(KEEP_K)
    func = next(iter(module.ops))
    assert isinstance(func, FuncOp)
    got = assign_function(func, module_hardware(module))
    segments = read_segments(func)
    assert [seg for seg, _ in got] == [seg for seg, _ in segments]
    assert [ids for _, ids in got] == [[op_arrays(op) for op in ops] for _, ops in segments]
    assert [len(ids) for _, ids in got] == [1, 2]


def test_segment_records_the_strict_channel_time() -> None:
    """Strict model, two chained linears (x[32 x 8] . w[8 x 8] . w[8 x 4]) in
    one segment on their minimum 4 + 2 compute arrays of the narrow chip, no
    memory array: every access crosses the 2 B/cycle channel + bus: the
    argument x (256 bytes), the intermediate written and read (2 x 256),
    the output written (128): 896 / 2 = 448 cycles over the pipeline, above
    32 rows x 8 bits x (1 + 1/32) = 264 of compute; the segment's cost in
    the IR must carry it (the strict period, not the compute alone)."""
    from xdsl.dialects.func import FuncOp

    from cmswitch.builder import module_hardware
    from cmswitch.passes.cim_schedule import apply_schedule
    from cmswitch.passes.segments import cost_dict, read_segments
    from cmswitch.schedule import CostOptions, OpAlloc, evaluate
    from cmswitch.workload import Workload
    from tests.test_passes import linear_chain

    module = parse_module(linear_chain(32, [8, 8, 4]))
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    wl = Workload.from_module(module, module_hardware(module))
    assert [o.min_arrays for o in wl.ops] == [4, 2]
    plan = [(0, 1, (OpAlloc(4), OpAlloc(2)), ())]
    apply_schedule(func, evaluate(wl, plan, CostOptions(model="strict")))
    [(seg, _)] = read_segments(func)
    assert cost_dict(seg)["intra_cycles"] == 448.0
