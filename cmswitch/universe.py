"""Registers the `cim` dialects and passes with the stock `xdsl-opt`.

Discovered through the ``xdsl.universe`` entry point (see pyproject.toml).
Dialects and passes are loaded lazily: nothing here imports them eagerly, so
`xdsl-opt` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.universe import Universe


def _cim() -> Dialect:
    from cmswitch.dialects.cim import CIM

    return CIM


def _cim_meta() -> Dialect:
    from cmswitch.dialects.cim_meta import CIM_META

    return CIM_META


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    return {"cim": _cim, "cim_meta": _cim_meta}


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> factory. A test checks each key equals its pass's name."""
    from cmswitch.passes import registry

    return registry.PASSES


CMSWITCH_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())
