"""The error every simulator check raises: a message naming the op.

cim_meta.compute "layer3.conv" (segment 4): arrays [12, 13] are in memory mode
"""

from __future__ import annotations

from xdsl.ir import Operation


def describe(op: Operation) -> str:
    """``cim_meta.compute "label" (segment 4)``: the op's name, its label
    when it has one, and the index of its enclosing ``cim_meta.segment``."""
    from cmswitch.dialects.cim_meta import SegmentOp, op_label

    text = op.name
    label = op_label(op)
    if label:
        text += f' "{label}"'
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, SegmentOp):
        parent = parent.parent_op()
    if isinstance(parent, SegmentOp):
        text += f" (segment {parent.index.value.data})"
    return text


class SimulationError(Exception):
    """A program broke the chip's rules (user-facing; one line)."""

    def __init__(self, op: Operation | None, message: str):
        self.op = op
        self.message = message
        super().__init__(f"{describe(op)}: {message}" if op is not None else message)
