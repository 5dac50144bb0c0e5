"""Writing a schedule into the IR: `cim.segment` regions and `#cim.alloc`
attributes. Shared by the scheduling and duplication passes.

Segments partition a function's operators in program order. A CIM operator
belongs to the segment that maps it; a vector operator to the segment of the
CIM operator before it (the first segment before any). Compile-time values
(constants and slices of them) are hoisted to the function entry: they are
not mapped, and every segment may read them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from xdsl.dialects.builtin import FloatAttr, IntegerAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue

from cmswitch.dialects.cim import (
    AllocationAttr,
    ComputeOp,
    ConstantOp,
    LayoutOp,
    SegmentOp,
    YieldOp,
    is_static_value,
)


def unwrap_segments(func: FuncOp) -> None:
    """Inlines every `cim.segment` of `func` back into the function body."""
    block = func.body.block
    for seg in [op for op in block.ops if isinstance(op, SegmentOp)]:
        inner = seg.body.block
        yielded = inner.last_op
        assert isinstance(yielded, YieldOp)
        values = list(yielded.values)
        for op in list(inner.ops):
            if op is yielded:
                continue
            op.detach()
            block.insert_op_before(op, seg)
        for result, value in zip(seg.outs, values, strict=True):
            result.replace_all_uses_with(value)
        yielded.detach()
        yielded.erase()
        seg.detach()
        seg.erase()


class SegmentProps(NamedTuple):
    """What a `cim.segment` records besides its operators."""

    compute: int
    memory: int
    cost: dict[str, float]
    shared: tuple[tuple[int, int, int], ...] = ()
    """(producer, consumer, arrays), positions among the segment's CIM ops."""


def wrap_segments(
    func: FuncOp,
    segment_of_op: Sequence[int],
    props: Sequence[SegmentProps],
) -> list[SegmentOp]:
    """Groups `func`'s operators into segments.

    `segment_of_op[i]` is the segment of the i-th CIM operator (program
    order, non-decreasing); `props[s]` describes segment s. Existing segments
    are unwrapped first.
    """
    unwrap_segments(func)
    block = func.body.block
    ops = [op for op in block.ops if not isinstance(op, ReturnOp)]
    # Hoist compile-time values (constants, and weight slices made by
    # cim-split) so that every segment can read them as weights.
    static = {op for op in ops if _is_static(op)}
    first = next((op for op in ops if op not in static), None)
    for op in ops:
        if op in static and first is not None:
            op.detach()
            block.insert_op_before(op, first)
    groups: list[list[Operation]] = [[] for _ in props]
    current, cim_index = 0, 0
    for op in ops:
        if op in static:
            continue
        if isinstance(op, ComputeOp):
            current = segment_of_op[cim_index]
            cim_index += 1
        groups[current].append(op)
    if cim_index != len(segment_of_op):
        raise ValueError(
            f"schedule covers {len(segment_of_op)} CIM operators, function has {cim_index}"
        )
    segments = []
    for index, (group, prop) in enumerate(zip(groups, props, strict=True)):
        if not group:
            continue
        segments.append(_wrap(block, group, index, prop))
    return segments


def _is_static(op: Operation) -> bool:
    if isinstance(op, ConstantOp):
        return True
    return isinstance(op, LayoutOp) and len(op.results) == 1 and is_static_value(op.results[0])


def _wrap(
    block: Block,
    group: list[Operation],
    index: int,
    prop: SegmentProps,
) -> SegmentOp:
    inside = set(group)
    escaping: list[SSAValue] = [
        r for op in group for r in op.results if any(u.operation not in inside for u in r.uses)
    ]
    body = Block()
    seg = SegmentOp(
        index, prop.compute, prop.memory, Region(body), [v.type for v in escaping], prop.cost,
        prop.shared,
    )  # fmt: skip
    block.insert_op_before(seg, group[0])
    for op in group:
        op.detach()
        body.add_op(op)
    outside_uses = [[u for u in v.uses if u.operation not in inside] for v in escaping]
    body.add_op(YieldOp(escaping))
    for result, uses in zip(seg.outs, outside_uses, strict=True):
        for use in uses:
            use.operation.operands[use.index] = result
    return seg


def set_alloc(op: ComputeOp, compute: int, mem_in: int, mem_out: int) -> None:
    op.attributes["alloc"] = _alloc_attr(compute, mem_in, mem_out)


@functools.lru_cache(maxsize=1 << 12)
def _alloc_attr(compute: int, mem_in: int, mem_out: int) -> AllocationAttr:
    """Attributes are immutable: one per distinct allocation."""
    return AllocationAttr(compute, mem_in, mem_out)


def read_segments(func: FuncOp) -> list[tuple[SegmentOp, list[ComputeOp]]]:
    """The segments of `func` with their CIM operators, in order."""
    out = []
    for op in func.body.block.ops:
        if isinstance(op, SegmentOp):
            out.append((op, [o for o in op.walk() if isinstance(o, ComputeOp)]))
    return out


def cost_dict(seg: SegmentOp) -> dict[str, float]:
    if seg.cost is None:
        return {}
    return {k: v.value.data for k, v in seg.cost.data.items() if isinstance(v, FloatAttr)}


def int_prop(attr: IntegerAttr) -> int:
    return attr.value.data
