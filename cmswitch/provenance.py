"""Where a report came from: the ``provenance`` block every JSON report carries.

``compile --report``, ``compare --json``, ``simulate --report`` and the
benchmark scripts share one schema; this block is the part that says how a
number was produced, so that a result can be reproduced or discarded:

    {"package": "cmswitch", "version": "0.1.0", "commit": "9079730..." | null,
     "argv": [...], "python": "3.11.7", "platform": "Linux-...-x86_64",
     "dependencies": {"xdsl": "0.74.0", ...},
     "hardware": {"name": "dynaplasia", "digest": "sha256:..."}}

Apart from this block and keys ending in ``_seconds``, a report is a pure
function of its inputs (repeated runs give byte-identical JSON otherwise).
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from cmswitch.hardware import Hardware

DEPENDENCIES = ("xdsl", "highspy", "numpy", "onnx", "onnxruntime", "torch-mlir")
"""Packages whose versions can change a result (absent ones are left out)."""


def hardware_digest(hw: Hardware) -> str:
    """A stable digest of every hardware field (name included)."""
    text = json.dumps(hw.to_dict(), sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def package_version() -> str:
    try:
        return metadata.version("cmswitch")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


@functools.cache
def git_commit() -> str | None:
    """The commit of the source tree the package runs from, when it is one."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


@functools.cache
def dependency_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance(hw: Hardware | None = None, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The provenance block; `argv` defaults to this process's arguments."""
    block: dict[str, Any] = {
        "package": "cmswitch",
        "version": package_version(),
        "commit": git_commit(),
        "argv": list(sys.argv if argv is None else argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dependencies": dependency_versions(),
    }
    if hw is not None:
        block["hardware"] = {"name": hw.name, "digest": hardware_digest(hw)}
    return block
