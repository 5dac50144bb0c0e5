"""Runs the lit + FileCheck suite under tests/filecheck as one pytest test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).parent / "filecheck"


def test_lit_suite() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "lit"), "-v", "-j2", str(SUITE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
    assert "Passed" in proc.stdout
