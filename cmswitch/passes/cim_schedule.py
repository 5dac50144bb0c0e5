"""`cim-schedule`: segmentation and compute/memory array allocation.

The IR-facing shell around :mod:`cmswitch.schedule`: it extracts the
:class:`~cmswitch.workload.Workload` of each function, runs a policy
(``cmswitch``: exact DP over segments + one HiGHS MIP per distinct segment;
or a baseline: ``cim-mlc``, ``all-compute-dp``, ``static``, ``puma``) and
writes the result back:

* every CIM operator gets ``alloc = #cim.alloc<compute = C, mem_in = I,
  mem_out = O>``;
* the operators are grouped into ``cim.segment`` regions carrying the arrays
  in each mode and the cost breakdown in cycles;
* the module gets ``cim.schedule = {policy, latency_cycles, ...}``.

Operators must fit the chip: run ``cim-split`` first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, StringAttr, f64
from xdsl.dialects.func import FuncOp
from xdsl.passes import ModulePass

from cmswitch.builder import module_hardware
from cmswitch.hardware import Hardware
from cmswitch.passes.segments import SegmentProps, set_alloc, wrap_segments
from cmswitch.schedule.allocate import NODE_LIMIT
from cmswitch.schedule.cost import CostModel, CostOptions
from cmswitch.schedule.plan import Schedule
from cmswitch.schedule.policies import SolverCache, schedule
from cmswitch.workload import AiModel, Workload, compute_ops

SCHEDULE_ATTR = "cim.schedule"

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class ScheduleOptions:
    """What `cim-schedule` runs (also the Python API's options)."""

    policy: str = "cmswitch"
    cost_model: Literal["paper", "strict"] = "strict"
    ai: AiModel | None = None
    """None: the cost model's own (strict: streamed; paper: roofline)."""
    compute_fraction: float = 0.5
    time_limit: float | None = None
    """Seconds per MIP (None: no wall-clock limit, results independent of load)."""
    node_limit: int | None = NODE_LIMIT
    """Branch-and-bound nodes per MIP (HiGHS ``mip_max_nodes``)."""
    solver: Literal["auto", "mip"] = "auto"
    duplicate: bool = True
    """Finish every policy with weight duplication of left-over arrays (else
    leave it to the ``cim-duplicate`` pass)."""
    jobs: int = 0
    """Processes the compiler driver may use (0: up to 2 if the machine has
    them; 1: this process only). Results do not depend on it."""
    split_fractions: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
    """Operator granularities the compiler driver tries for every policy:
    operators are split to at most ``floor(f * arrays)`` compute arrays for
    each f, and each policy keeps its fastest (see
    :func:`cmswitch.compile.split_runs`). The passes themselves run one
    granularity."""
    static_fractions: tuple[float, ...] = (0.25, 0.5, 0.75)
    """Static compute fractions whose plans ``cmswitch`` offers its DP (with
    ``compute_fraction``), so that it is never slower than ``static`` at
    them; the driver also tries their granularities for ``cmswitch``."""

    def __post_init__(self) -> None:
        self.cost  # validates the cost model and intensity  # noqa: B018

    @property
    def cost(self) -> CostOptions:
        return CostOptions(model=self.cost_model, ai=self.ai)

    @property
    def intensity(self) -> str:
        return self.cost.intensity


def plan_function(
    func: FuncOp,
    hw: Hardware,
    options: ScheduleOptions,
    progress: ProgressFn | None = None,
    *,
    cache: SolverCache | None = None,
) -> Schedule:
    """Schedules one function without changing it. ``cache`` shares segment
    solutions between calls on the same chip and options."""
    workload = Workload.from_module(func, hw)
    return schedule(
        workload,
        options.policy,
        options.cost,
        compute_fraction=options.compute_fraction,
        static_fractions=options.static_fractions,
        time_limit=options.time_limit,
        node_limit=options.node_limit,
        solver=options.solver,
        progress=progress,
        cache=cache,
        duplicate_weights=options.duplicate,
    )


def schedule_function(
    func: FuncOp, hw: Hardware, options: ScheduleOptions, progress: ProgressFn | None = None
) -> Schedule:
    """Schedules one function and writes the result into it."""
    result = plan_function(func, hw, options, progress)
    apply_schedule(func, result)
    return result


def apply_schedule(func: FuncOp, result: Schedule) -> None:
    """Writes allocations and segments of `result` into `func`."""
    ops = compute_ops(func)
    segment_of_op: list[int] = []
    props: list[SegmentProps] = []
    for s, seg in enumerate(result.segments):
        for i, alloc in zip(range(seg.start, seg.end + 1), seg.allocs, strict=True):
            set_alloc(ops[i], alloc.compute, alloc.mem_in, alloc.mem_out)
            segment_of_op.append(s)
        cost = {
            "intra_cycles": seg.intra_cycles,
            "switch_cycles": seg.switch_cycles,
            "reload_cycles": seg.reload_cycles,
            "writeback_cycles": seg.writeback_cycles,
            "vector_cycles": seg.vector_cycles,
        }
        props.append(
            SegmentProps(
                seg.compute_arrays,
                seg.memory_arrays,
                cost,
                tuple((p - seg.start, c - seg.start, k) for p, c, k in seg.shared),
            )
        )
    wrap_segments(func, segment_of_op, props)


def schedule_attr(result: Schedule) -> DictionaryAttr:
    return DictionaryAttr(
        {
            "policy": StringAttr(result.policy),
            "latency_cycles": FloatAttr(result.latency_cycles, f64),
            "segments": FloatAttr(float(len(result.segments)), f64),
        }
    )


def plan_module(
    module: builtin.ModuleOp,
    options: ScheduleOptions,
    hw: Hardware | None = None,
    progress: ProgressFn | None = None,
    *,
    cache: SolverCache | None = None,
) -> dict[str, tuple[FuncOp, Schedule]]:
    """Schedules every function with CIM operators without changing them."""
    hw = hw or module_hardware(module, Hardware.preset("dynaplasia"))
    plans: dict[str, tuple[FuncOp, Schedule]] = {}
    for func in [op for op in module.ops if isinstance(op, FuncOp)]:
        if compute_ops(func):
            plans[func.sym_name.data] = (
                func,
                plan_function(func, hw, options, progress, cache=cache),
            )
    return plans


def apply_plans(module: builtin.ModuleOp, plans: dict[str, tuple[FuncOp, Schedule]]) -> None:
    """Writes the schedules of :func:`plan_module` into their functions."""
    for func, result in plans.values():
        apply_schedule(func, result)
    if plans:
        main = next(iter(plans.values()))[1]
        module.attributes[SCHEDULE_ATTR] = schedule_attr(main)


def schedule_module(
    module: builtin.ModuleOp,
    options: ScheduleOptions,
    hw: Hardware | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Schedule]:
    """Schedules every function with CIM operators; returns name -> schedule."""
    plans = plan_module(module, options, hw, progress)
    apply_plans(module, plans)
    return {name: result for name, (_, result) in plans.items()}


@dataclass(frozen=True)
class CimSchedulePass(ModulePass):
    """Segment the network and allocate compute/memory arrays per segment.

    Options: `policy` (cmswitch | cim-mlc | all-compute-dp | static | puma),
    `cost-model` (strict, the default | paper), `ai` (the model's own if
    empty: strict takes streamed only; paper: roofline | input | streamed),
    `compute-fraction` (static policy; cmswitch also offers the static plans
    of 1/4, 1/2 and 3/4), `node-limit` (branch-and-bound nodes per MIP; 0:
    unlimited), `time-limit` (seconds per MIP; 0: none, the default),
    `solver` (paper cost model: auto, closed form where exact, else HiGHS |
    mip, HiGHS for every segment; strict never needs a MIP), `duplicate` (finish every policy with weight
    duplication; false: leave it to `cim-duplicate`), `arch` (preset or TOML
    file; default: the module's cim.hardware)."""

    name = "cim-schedule"

    policy: str = "cmswitch"
    cost_model: str = "strict"
    ai: str = ""
    compute_fraction: float = 0.5
    node_limit: int = NODE_LIMIT
    time_limit: float = 0.0
    solver: str = "auto"
    duplicate: bool = True
    arch: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.cost_model not in ("paper", "strict"):
            raise ValueError(
                f"cim-schedule: cost-model must be paper or strict, not {self.cost_model!r}"
            )
        if self.solver not in ("auto", "mip"):
            raise ValueError(f"cim-schedule: solver must be auto or mip, not {self.solver!r}")
        try:
            CostOptions(cast(CostModel, self.cost_model), cast(AiModel, self.ai or None))
        except ValueError as e:
            raise ValueError(f"cim-schedule: {e}") from None
        options = ScheduleOptions(
            policy=self.policy,
            cost_model=cast(Literal["paper", "strict"], self.cost_model),
            ai=cast(AiModel, self.ai or None),
            compute_fraction=self.compute_fraction,
            time_limit=self.time_limit if self.time_limit > 0 else None,
            node_limit=self.node_limit if self.node_limit > 0 else None,
            solver=cast(Literal["auto", "mip"], self.solver),
            duplicate=self.duplicate,
        )
        hw = Hardware.load(self.arch) if self.arch else None
        schedule_module(op, options, hw)
