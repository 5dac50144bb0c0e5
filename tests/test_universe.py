"""The xdsl.universe plugin: stock xdsl-opt sees the dialects and passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xdsl.universe import Universe

from cmswitch.universe import CMSWITCH_UNIVERSE


def test_registry_keys_equal_pass_names() -> None:
    assert CMSWITCH_UNIVERSE.all_passes, "no passes registered"
    for key, factory in CMSWITCH_UNIVERSE.all_passes.items():
        assert factory().name == key


def test_dialect_factories() -> None:
    for key, factory in CMSWITCH_UNIVERSE.all_dialects.items():
        assert factory().name == key


def test_entry_point_is_discovered() -> None:
    multiverse = Universe.get_multiverse()
    assert "cim" in multiverse.all_dialects
    for key in CMSWITCH_UNIVERSE.all_passes:
        assert key in multiverse.all_passes


def test_stock_xdsl_opt_lists_passes() -> None:
    exe = Path(sys.executable).parent / "xdsl-opt"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    squeezed = "".join(out.split())  # argparse wraps the pass list anywhere
    for key in CMSWITCH_UNIVERSE.all_passes:
        assert key in squeezed
