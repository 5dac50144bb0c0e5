"""`cim` weights and mapping structure: `cim.constant`, `cim.segment` and its
terminator `cim.yield`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    DictionaryAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import (
    Attribute,
    Region,
    SSAValue,
)
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from cmswitch.dialects.cim.common import (
    ComputeOp,
    f64_attr,
    i64_array,
    i64_attr,
    ints,
    shape_of,
)

# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A compile-time tensor: a model weight or a folded constant.

    ``%w = cim.constant "fc1.weight" : tensor<512x10xf32>``. Without `value` the
    data lives in the module's weight store under `sym`, or is absent.
    """

    name = "cim.constant"

    sym = prop_def(StringAttr)
    """The parameter's name (unique in the function; the weight-store key)."""
    value = opt_prop_def(DenseIntOrFPElementsAttr | DenseResourceAttr)
    """Inline data, for small constants and self-contained tests."""
    result = result_def(TensorType)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$sym attr-dict `:` type($result)"

    def __init__(
        self,
        sym: str,
        result_type: TensorType,
        value: DenseIntOrFPElementsAttr | DenseResourceAttr | None = None,
    ):
        props: dict[str, Attribute] = {"sym": StringAttr(sym)}
        if value is not None:
            props["value"] = value
        super().__init__(result_types=[result_type], properties=props)

    def verify_(self) -> None:
        shape_of(self.result)
        if self.value is not None and self.value.type != self.result.type:
            raise VerifyException(
                f"cim.constant {self.sym.data!r}: value type {self.value.type} does not "
                f"match result type {self.result.type}"
            )


# --------------------------------------------------------------------------
# Mapping structure
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 14)
def _cost_dict(items: tuple[tuple[str, float], ...]) -> DictionaryAttr:
    return DictionaryAttr({k: f64_attr(v) for k, v in items})


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """Operators mapped onto the chip at once, run as a pipeline.

    Segments run one after another. `compute_arrays` / `memory_arrays` are
    the arrays in each mode during the segment; `cost` holds the cost
    breakdown in cycles (intra, switch, reload, writeback). `shared` lists
    (producer, consumer, arrays) triples, flattened, of output buffers reused
    in place as a consumer's input buffer; producer and consumer are
    positions among the segment's CIM operators. The region reads values
    defined before the segment and yields those used after it.
    """

    name = "cim.segment"

    index = prop_def(IntegerAttr)
    compute_arrays = prop_def(IntegerAttr)
    memory_arrays = prop_def(IntegerAttr)
    cost = opt_prop_def(DictionaryAttr)
    shared = opt_prop_def(DenseArrayBase.constr(i64))
    outs = var_result_def()
    body = region_def("single_block")

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict (`->` type($outs)^)? $body"

    def __init__(
        self,
        index: int,
        compute_arrays: int,
        memory_arrays: int,
        body: Region,
        result_types: Sequence[Attribute],
        cost: dict[str, float] | None = None,
        shared: Sequence[tuple[int, int, int]] = (),
    ):
        props: dict[str, Attribute] = {
            "index": i64_attr(index),
            "compute_arrays": i64_attr(compute_arrays),
            "memory_arrays": i64_attr(memory_arrays),
        }
        if cost is not None:
            props["cost"] = _cost_dict(tuple((k, float(v)) for k, v in cost.items()))
        if shared:
            props["shared"] = i64_array([x for triple in shared for x in triple])
        super().__init__(result_types=[result_types], properties=props, regions=[body])

    def verify_(self) -> None:
        block = self.body.block
        if not isinstance(block.last_op, YieldOp):
            raise VerifyException("cim.segment: the body must end with cim.yield")
        got = [v.type for v in block.last_op.values]
        if got != [r.type for r in self.outs]:
            raise VerifyException(
                "cim.segment: cim.yield operand types must match the segment's results"
            )
        for key in ("compute_arrays", "memory_arrays", "index"):
            if cast(IntegerAttr, getattr(self, key)).value.data < 0:
                raise VerifyException(f"cim.segment: {key} must be >= 0")
        flat = ints(self.shared)
        if len(flat) % 3 or any(x < 0 for x in flat):
            raise VerifyException(
                "cim.segment: shared must hold non-negative (producer, consumer, arrays) triples"
            )
        n_cim = sum(isinstance(op, ComputeOp) for op in block.ops)
        for p, c, _ in self.shared_triples():
            if p >= c:
                raise VerifyException(
                    f"cim.segment: shared buffer ({p}, {c}) must go from an earlier operator "
                    "to a later one"
                )
            if c >= n_cim:
                raise VerifyException(
                    f"cim.segment: shared buffer ({p}, {c}) names an operator the segment does "
                    f"not have ({n_cim} CIM operators)"
                )

    def shared_triples(self) -> list[tuple[int, int, int]]:
        """`shared` as (producer, consumer, arrays) triples."""
        flat = ints(self.shared)
        return [(flat[k], flat[k + 1], flat[k + 2]) for k in range(0, len(flat) - 2, 3)]


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a ``cim.segment``, returning the values used after it."""

    name = "cim.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(SegmentOp), Pure())
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])


def through_segments(value: SSAValue) -> SSAValue:
    """A ``cim.segment`` result as the value its body yields (any other
    value as it is)."""
    while isinstance(value.owner, SegmentOp):
        seg = value.owner
        value = seg.body.block.last_op.operands[value.index]  # type: ignore[union-attr,attr-defined]
    return value
