"""`cim-duplicate`: weight duplication with left-over arrays (spec section 5).

Runs on a function already segmented by ``cim-schedule``: it reads the
segments, each CIM operator's ``#cim.alloc`` and each segment's in-place
``shared`` buffers back into a plan, gives arrays left idle in a segment to
the operators that set its period as extra weight copies while the total
latency (the segment's intra + reload, the switches into and out of it)
strictly drops (:func:`cmswitch.schedule.policies.duplicate`), and writes the
new allocations, segment array counts and cost breakdowns back.

``cim-schedule`` already applies this step for every policy;
``cim-schedule{duplicate=false}`` leaves it to this pass (``xdsl-opt -p 'cim-schedule{policy=cim-mlc duplicate=false},cim-duplicate'``).
On a ``cmswitch`` schedule it changes no allocation: the segment solver
already chose every operator's copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.func import FuncOp
from xdsl.passes import ModulePass

from cmswitch.builder import module_hardware
from cmswitch.dialects.cim import AllocationAttr
from cmswitch.hardware import Hardware
from cmswitch.passes.cim_schedule import SCHEDULE_ATTR, apply_schedule, schedule_attr
from cmswitch.passes.segments import read_segments
from cmswitch.schedule.cost import CostOptions
from cmswitch.schedule.plan import OpAlloc, Schedule
from cmswitch.schedule.policies import PlanItem, ScheduleError, duplicate, evaluate
from cmswitch.workload import AiModel, Workload, compute_ops, op_label


def read_plan(func: FuncOp) -> list[PlanItem]:
    """The segments and allocations written into `func` by `cim-schedule`."""
    items: list[PlanItem] = []
    start = 0
    for seg, ops in read_segments(func):
        if not ops:
            continue
        allocs: list[OpAlloc] = []
        for op in ops:
            attr = op.attributes.get("alloc")
            if not isinstance(attr, AllocationAttr):
                raise ScheduleError(
                    f"{op_label(op, op.name)}: no #cim.alloc (run cim-schedule first)"
                )
            allocs.append(OpAlloc(attr.compute.data, attr.mem_in.data, attr.mem_out.data))
        shared = [(start + p, start + c, n) for p, c, n in seg.shared_triples()]
        items.append((start, start + len(ops) - 1, allocs, shared))
        start += len(ops)
    total = len(compute_ops(func))
    if start != total:
        raise ScheduleError(
            f"{func.sym_name.data}: {total - start} CIM operators are outside any cim.segment "
            "(run cim-schedule first)"
        )
    return items


def duplicate_function(func: FuncOp, hw: Hardware, options: CostOptions) -> Schedule | None:
    """Duplicates weights in one scheduled function; None if it has no segment."""
    items = read_plan(func)
    if not items:
        return None
    workload = Workload.from_module(func, hw)
    current = evaluate(workload, items, options)
    result = duplicate(workload, current, options)
    apply_schedule(func, result)
    return result


@dataclass(frozen=True)
class CimDuplicatePass(ModulePass):
    """Give left-over arrays to period-setting operators as weight copies.

    Options: `cost-model` (strict | paper), `ai` (the model's own if empty;
    paper: roofline | input | streamed),
    `arch` (preset or TOML file; default: the module's cim.hardware). Give
    the same cost model and intensity as `cim-schedule` (the IR does not
    record them)."""

    name = "cim-duplicate"

    cost_model: str = "strict"
    ai: str = ""
    arch: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.cost_model not in ("paper", "strict"):
            raise ValueError(
                f"cim-duplicate: cost-model must be paper or strict, not {self.cost_model!r}"
            )
        try:
            options = CostOptions(
                model=cast(Literal["paper", "strict"], self.cost_model),
                ai=cast(AiModel, self.ai or None),
            )
        except ValueError as e:
            raise ValueError(f"cim-duplicate: {e}") from None
        hw = Hardware.load(self.arch) if self.arch else module_hardware(op)
        first: Schedule | None = None
        for func in [f for f in op.ops if isinstance(f, FuncOp)]:
            result = duplicate_function(func, hw, options)
            first = first or result
        if first is not None:
            previous = op.attributes.get(SCHEDULE_ATTR)
            policy = "custom"
            if isinstance(previous, builtin.DictionaryAttr):
                name = previous.data.get("policy")
                if isinstance(name, builtin.StringAttr):
                    policy = name.data
            op.attributes[SCHEDULE_ATTR] = schedule_attr(
                Schedule(policy, first.segments, first.latency_cycles, first.stats)
            )
