"""Lazy factories for every pass of the project, keyed by pass name."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def _cim_split() -> type[ModulePass]:
    from cmswitch.passes.cim_split import CimSplitPass

    return CimSplitPass


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "cim-split": _cim_split,
}
