"""Compile time of the whole `cmswitch compile` command, as a user runs it.

    python benchmarks/compile_time.py                       # the issue's models
    python benchmarks/compile_time.py --models resnet18 --repeat 5 --json out.json
    python benchmarks/compile_time.py --models llama2-7b --repeat 1 --json out.json --keep

Each measurement is a fresh process (``cmswitch compile MODEL --policy P -o
FILE --report R``: interpreter start, imports, model construction, passes
with the granularity search every policy gets, printing the IR), under the
default cost model, timed by wall clock; the median of ``--repeat`` runs is
reported, the policies interleaved so that drift hits all alike. The figure
of merit is the ratio of the ``cmswitch`` policy's time to the time of the
strongest baseline on the same model (the faster-running schedule of
``cim-mlc`` and ``all-compute-dp``, read from the reports) in the same
session (paper: 2.8-6.3x; target: at most 3x). The machine's load average is
recorded: on a shared machine the absolute times mean little, the ratios
somewhat more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_results
from rich.console import Console
from rich.table import Table

from cmswitch.provenance import git_commit

MODELS = ("resnet18", "mobilenetv2", "vgg16", "bert-large", "llama2-7b", "opt-6.7b", "opt-13b")
TARGET_RATIO = 3.0
POLICIES = ("cmswitch", "cim-mlc", "all-compute-dp")


def cli() -> list[str]:
    """The `cmswitch` entry point of this interpreter's environment."""
    exe = Path(sys.executable).with_name("cmswitch")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cmswitch.cli"]


def run_once(model: str, policy: str, seq: int, out: str, cost_model: str) -> tuple[float, float]:
    """(wall seconds, latency in cycles of the schedule) of one compile."""
    report = out + ".json"
    cmd = [*cli(), "compile", model, "--policy", policy, "--seq", str(seq), "-o", out,
           "--report", report, "--cost-model", cost_model]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return seconds, float(json.loads(Path(report).read_text())["latency_cycles"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cost-model", choices=("strict", "paper"), default="strict")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the rows of --json for models not measured now (each row "
                    "records its commit and load)")  # fmt: skip
    args = ap.parse_args()
    console = Console()
    rows = []
    failures: list[str] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.mlir")
        for model in args.models:
            times: dict[str, list[float]] = {p: [] for p in POLICIES}
            latency: dict[str, float] = {}
            for _ in range(args.repeat):  # interleaved: drift hits all alike
                for policy in POLICIES:
                    seconds, cycles = run_once(model, policy, args.seq, out, args.cost_model)
                    times[policy].append(seconds)
                    latency[policy] = cycles
            med = {p: statistics.median(t) for p, t in times.items()}
            baseline = min(("cim-mlc", "all-compute-dp"), key=lambda p: latency[p])
            ratio = med["cmswitch"] / med[baseline]
            row = {
                "model": model,
                "baseline": baseline,
                "median_seconds": med,
                "runs": times,
                "latency_cycles": latency,
                "ratio": ratio,
                "ratio_vs_cim_mlc": med["cmswitch"] / med["cim-mlc"],
                "loadavg_after": os.getloadavg()[0],
                "repeat": args.repeat,
                "commit": git_commit(),
            }
            rows.append(row)
            if ratio > TARGET_RATIO:
                failures.append(f"{model}: ratio {ratio:.2f} > {TARGET_RATIO:g}")
            console.print(
                f"{model:12s} " + "  ".join(f"{p} {med[p]:6.2f} s" for p in POLICIES)
                + f"  ratio vs {baseline} {ratio:.2f}",
                highlight=False,
            )  # fmt: skip
    kept: list[dict] = []
    if args.keep and args.json and Path(args.json).exists():
        old = json.loads(Path(args.json).read_text())
        mine = {r["model"] for r in rows}
        kept = [
            {"commit": old["provenance"].get("commit"), **r}
            for r in old.get("rows", [])
            if r["model"] not in mine
        ]
        failures += [
            f"{r['model']}: ratio {r['ratio']:.2f} > {TARGET_RATIO:g}"
            for r in kept
            if r["ratio"] > TARGET_RATIO
        ]
        order = {m: i for i, m in enumerate(MODELS)}
        rows = sorted(kept + rows, key=lambda r: order.get(r["model"], len(order)))
    table = Table(
        title=f"`cmswitch compile` wall time ({args.cost_model}, median of {args.repeat}, "
        f"seq {args.seq})"
    )
    for col in ("model", *(f"{p} (s)" for p in POLICIES), "strongest baseline", "ratio"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(
            r["model"],
            *(f"{r['median_seconds'][p]:.2f}" for p in POLICIES),
            r["baseline"],
            f"{r['ratio']:.2f}x",
        )
    console.print(table)
    console.print("targets met" if not failures else "NOT MET: " + "; ".join(failures))
    if args.json:
        write_results(
            args.json,
            "benchmarks/compile_time.py",
            {
                "cost_model": args.cost_model,
                "rows": rows,
                "failures": failures,
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
            },
        )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
