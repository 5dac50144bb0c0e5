"""The CMSwitch optimiser core on a :class:`~cmswitch.workload.Workload`:
cost model, exact DP segmentation, per-segment MIP allocation, duplication and
the baseline policies. Plain Python; the IR pass wraps it."""

from cmswitch.schedule.cost import CostOptions
from cmswitch.schedule.plan import OpAlloc, Schedule, SegmentPlan, SolverStats
from cmswitch.schedule.policies import POLICIES, ScheduleError, duplicate, evaluate, schedule

__all__ = [
    "POLICIES",
    "CostOptions",
    "OpAlloc",
    "Schedule",
    "ScheduleError",
    "SegmentPlan",
    "SolverStats",
    "duplicate",
    "evaluate",
    "schedule",
]
