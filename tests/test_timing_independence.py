"""The simulator never reads the optimiser's cost model.

`cmswitch/simulator/` must import nothing from `cmswitch.schedule`, directly
(checked on the source) or through what it imports (checked in a fresh
interpreter that imports every simulator module).
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import cmswitch.simulator

SIM_DIR = Path(cmswitch.simulator.__file__).parent


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_simulator_sources_do_not_import_schedule() -> None:
    files = sorted(SIM_DIR.glob("*.py"))
    assert len(files) >= 5  # the engine, fluid, timing, trace, ... are really scanned
    bad = [
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if name == "cmswitch.schedule" or name.startswith("cmswitch.schedule.")
    ]
    assert bad == []


def test_scanner_sees_a_schedule_import(tmp_path: Path) -> None:
    # the scanner itself must catch both spellings
    probe = tmp_path / "probe.py"
    probe.write_text("from cmswitch.schedule.cost import x\nfrom cmswitch import schedule\n")
    names = _imports(probe)
    assert "cmswitch.schedule.cost" in names and "cmswitch.schedule" in names


def test_simulator_modules_do_not_load_schedule_transitively() -> None:
    modules = [m.name for m in pkgutil.iter_modules([str(SIM_DIR)])]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('cmswitch.simulator.' + m)\n"
        "print(sorted(m for m in sys.modules if m.startswith('cmswitch.schedule')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
