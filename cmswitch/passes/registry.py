"""Lazy factories for every pass of the project, keyed by pass name."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def _cim_split() -> type[ModulePass]:
    from cmswitch.passes.cim_split import CimSplitPass

    return CimSplitPass


def _cim_schedule() -> type[ModulePass]:
    from cmswitch.passes.cim_schedule import CimSchedulePass

    return CimSchedulePass


def _cim_duplicate() -> type[ModulePass]:
    from cmswitch.passes.cim_duplicate import CimDuplicatePass

    return CimDuplicatePass


def _cim_assign_arrays() -> type[ModulePass]:
    from cmswitch.passes.cim_assign_arrays import CimAssignArraysPass

    return CimAssignArraysPass


def _cim_to_meta() -> type[ModulePass]:
    from cmswitch.lowering.cim_to_meta import CimToMetaPass

    return CimToMetaPass


def _convert_linalg_to_cim() -> type[ModulePass]:
    from cmswitch.lowering.linalg_to_cim import ConvertLinalgToCimPass

    return ConvertLinalgToCimPass


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "convert-linalg-to-cim": _convert_linalg_to_cim,
    "cim-split": _cim_split,
    "cim-schedule": _cim_schedule,
    "cim-duplicate": _cim_duplicate,
    "cim-assign-arrays": _cim_assign_arrays,
    "cim-to-meta": _cim_to_meta,
}
