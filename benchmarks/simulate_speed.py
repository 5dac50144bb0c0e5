"""Speed and memory of the timing simulator against the compiler, fresh processes.

    python benchmarks/simulate_speed.py                     # llama2-7b prefill, batch 1, L = 64
    python benchmarks/simulate_speed.py --model bert-large

Results: ``benchmarks/results/simulate_speed_llama.json`` (``_bert.json``).

Three fresh processes, one after the other in the same run:

1. ``cmswitch compile MODEL --emit meta -o P.mlir`` (compiles and writes the
   `cim_meta` program);
2. ``cmswitch compile MODEL`` (the plain compile, segmented IR to /dev/null);
3. ``cmswitch simulate P.mlir --report R.json`` (parses the program and
   simulates its timing, with every invariant check).

Each is measured by wall time, CPU time (user + system of the process and
every process it waited for, e.g. the compile driver's planning worker: the
growth of ``getrusage(RUSAGE_CHILDREN)``), peak resident memory (of the
process, from ``wait4``) and the machine's load average before and after (the
machine is shared: a loaded machine shows in wall time, less in CPU time).
The target: simulating takes no longer than compiling (ratio <= 1) and
peaks under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import write_results

EXE = str(Path(sys.executable).parent / "cmswitch")


def measure(argv: list[str]) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.read()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "argv": argv[1:],
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "loadavg_1min_before": round(load[0], 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama2-7b")
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json", default=None,
                    help="default: benchmarks/results/simulate_speed_<llama|bert|model>.json")  # fmt: skip
    ap.add_argument("--program", default=None,
                    help="an existing `compile --emit meta` output: skip step 1")  # fmt: skip
    args = ap.parse_args()
    short = {"llama2-7b": "llama", "bert-large": "bert"}.get(args.model, args.model)
    out = args.json or f"benchmarks/results/simulate_speed_{short}.json"
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
        "ratio_cpu_vs_compile_emit_meta": (
            round(sim["cpu_seconds"] / max(emit["cpu_seconds"], 1e-9), 3) if emit else None
        ),
        "peak_under_2gib": sim["peak_rss_mib"] < 2048,
    }  # fmt: skip
    write_results(out, "benchmarks/simulate_speed.py", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
