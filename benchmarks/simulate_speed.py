"""Speed and memory of the timing simulator against the compiler, fresh processes.

    python benchmarks/simulate_speed.py                     # llama2-7b prefill, batch 1, L = 64
    python benchmarks/simulate_speed.py --model bert-large

Three fresh processes, one after the other in the same run:

1. ``cmswitch compile MODEL --emit meta -o P.mlir`` (compiles and writes the
   `cim_meta` program);
2. ``cmswitch compile MODEL`` (the plain compile, segmented IR to /dev/null);
3. ``cmswitch simulate P.mlir --report R.json`` (parses the program and
   simulates its timing, with every invariant check).

Each is measured by wall time, CPU time (user + system, from ``wait4``, so a
loaded machine shows less in CPU than in wall time) and peak resident memory.
The target: simulating takes no longer than compiling (ratio <= 1) and
peaks under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import write_results

EXE = str(Path(sys.executable).parent / "cmswitch")


def measure(argv: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{stderr}")
    return {
        "argv": argv[1:],
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama2-7b")
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json", default="benchmarks/results/simulate_speed.json")
    ap.add_argument("--program", default=None,
                    help="an existing `compile --emit meta` output: skip step 1")  # fmt: skip
    args = ap.parse_args()
    common = [args.model, "--batch", str(args.batch), "--seq", str(args.seq)]
    with tempfile.TemporaryDirectory() as tmp:
        program = args.program or str(Path(tmp) / "program.mlir")
        report = str(Path(tmp) / "report.json")
        emit = None
        if args.program is None:
            emit = measure([EXE, "compile", *common, "--emit", "meta", "-o", program])
        plain = measure([EXE, "compile", *common, "-o", os.devnull])
        size = Path(program).stat().st_size
        sim = measure([EXE, "simulate", program, "--report", report])
        data = json.loads(Path(report).read_text())
    result = {
        "model": args.model, "batch": args.batch, "seq": args.seq,
        "program_bytes": size,
        "compile_emit_meta": emit, "compile": plain, "simulate": sim,
        "simulated_cycles": data["simulated_cycles"],
        "timing_seconds_in_process": data.get("timing_seconds"),
        "ratio_wall_vs_compile_emit_meta": (
            round(sim["wall_seconds"] / emit["wall_seconds"], 3) if emit else None
        ),
        "ratio_wall_vs_compile": round(sim["wall_seconds"] / plain["wall_seconds"], 3),
        "ratio_cpu_vs_compile": round(sim["cpu_seconds"] / max(plain["cpu_seconds"], 1e-9), 3),
        "peak_under_2gib": sim["peak_rss_mib"] < 2048,
    }  # fmt: skip
    write_results(args.json, "benchmarks/simulate_speed.py", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
