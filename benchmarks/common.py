"""What the benchmark scripts share: the paper's figures and result files."""

from __future__ import annotations

import json
import os
import platform
from typing import Any

from cmswitch.fileio import write_text

PAPER = {  # spec section 7: speedup over CIM-MLC, average (range)
    "mobilenetv2": "1.06-1.23",
    "resnet18": "1.07-1.23",
    "vgg16": "1.32-1.48",
    "bert-large": "1.17 (1.02-1.25)",
    "opt-6.7b": "-",
    "opt-13b": "1.73 (1.20-2.03)",
    "llama2-7b": "1.24 (1.13-1.30)",
}


def write_results(
    path: str, script: str, payload: dict[str, Any], hw: Any = None, **extra: Any
) -> None:
    """`payload` as JSON at `path`, with the shared ``provenance`` block
    (:func:`cmswitch.provenance.provenance`) plus the script, the machine
    and `extra`."""
    from cmswitch.provenance import provenance

    record = {
        "provenance": {
            **provenance(hw),
            "script": script,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            **extra,
        },
        **payload,
    }
    write_text(path, json.dumps(record, indent=2) + "\n")  # atomic: never half a file
