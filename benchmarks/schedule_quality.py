"""Schedule quality and compile time of every policy on the paper's models.

    python benchmarks/schedule_quality.py                 # 7 models x batch 1,4,8,16, seq 64
    python benchmarks/schedule_quality.py --quick         # batch 1 only
    python benchmarks/schedule_quality.py --models resnet18 --batches 1 --json out.json

For every point it compiles the model with each policy under the same cost
model and chip, and reports the speedup of each over `cim-mlc`, whether
`cmswitch` is never slower than any baseline, and the geometric-mean speedup
(paper: 1.31x). Compile times are measured in the same process, so the
cmswitch / cim-mlc compile-time ratio is a same-session ratio.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from common import PAPER, write_results
from rich.console import Console
from rich.table import Table

from cmswitch.compile import DEFAULT_POLICIES, compile_model, parse_policy, policy_label
from cmswitch.hardware import Hardware
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions

MODELS = ("mobilenetv2", "resnet18", "vgg16", "bert-large", "opt-6.7b", "opt-13b", "llama2-7b")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 4, 8, 16])
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--arch", default="dynaplasia")
    ap.add_argument("--cost-model", choices=("paper", "strict"), default="paper")
    ap.add_argument("--quick", action="store_true", help="batch 1 only")
    ap.add_argument(
        "--split-fractions",
        nargs="+",
        type=float,
        default=list(ScheduleOptions().split_fractions),
        help="operator granularities cmswitch tries (fractions of the chip)",
    )
    ap.add_argument("--json", default=None, help="write all results here")
    args = ap.parse_args()
    batches = [1] if args.quick else args.batches
    hw = Hardware.load(args.arch)
    console = Console()
    base = ScheduleOptions(cost_model=args.cost_model, split_fractions=tuple(args.split_fractions))
    rows = []
    violations = []
    for name in args.models:
        for batch in batches:
            model = load_model(name, hardware=hw, batch=batch, seq=args.seq)
            point = {"model": name, "batch": batch, "seq": args.seq, "policies": {}}
            for spec in DEFAULT_POLICIES:
                opts = parse_policy(spec, base)
                t0 = time.perf_counter()
                res = compile_model(model, opts, batch=batch, seq=args.seq)
                sched = res.schedule
                point["policies"][policy_label(opts)] = {
                    "latency_cycles": sched.latency_cycles,
                    "breakdown": sched.breakdown(),
                    "compile_seconds": time.perf_counter() - t0,
                    "segments": len(sched.segments),
                    "split_budget": res.split_budget or hw.arrays,
                    "avg_memory_share": (
                        sum(g.memory_arrays for g in sched.segments)
                        / (len(sched.segments) * hw.arrays)
                        if sched.segments
                        else 0.0
                    ),
                    "worst_gap": sched.stats.worst_gap,
                    "time_limited": sched.stats.time_limited,
                }
            pols = point["policies"]
            cms = pols["cmswitch"]["latency_cycles"]
            mlc = pols["cim-mlc"]["latency_cycles"]
            point["speedup"] = mlc / cms
            # the vector unit's work is the same for every policy (Amdahl):
            # the speedup of the rest shows what mode switching itself buys
            vec_cms = pols["cmswitch"]["breakdown"]["vector"]
            vec_mlc = pols["cim-mlc"]["breakdown"]["vector"]
            point["speedup_without_vector"] = (mlc - vec_mlc) / (cms - vec_cms)
            point["compile_ratio"] = (
                pols["cmswitch"]["compile_seconds"] / pols["cim-mlc"]["compile_seconds"]
            )
            for pol, r in pols.items():
                if r["latency_cycles"] < cms * (1 - 1e-9):
                    violations.append(f"{name} b{batch}: {pol} beats cmswitch")
            rows.append(point)
            console.print(
                f"{name:12s} b={batch:<3d} speedup {point['speedup']:.3f}x  "
                f"compile cmswitch {pols['cmswitch']['compile_seconds']:.2f}s "
                f"(x{point['compile_ratio']:.1f} cim-mlc)",
                highlight=False,
            )
    table = Table(
        title=f"cmswitch vs cim-mlc on {hw.name} ({args.cost_model} cost model, seq {args.seq})"
    )
    for col in ("model", "speedups by batch", "mean", "paper", "best baseline"):
        table.add_column(col)
    per_model: dict[str, list[float]] = {}
    for p in rows:
        per_model.setdefault(p["model"], []).append(p["speedup"])
    for name, sp in per_model.items():
        mean = math.exp(sum(math.log(s) for s in sp) / len(sp))
        best = min(
            (r["latency_cycles"], pol)
            for p in rows if p["model"] == name
            for pol, r in p["policies"].items() if pol != "cmswitch"
        )[1]  # fmt: skip
        table.add_row(
            name, " ".join(f"{s:.2f}" for s in sp), f"{mean:.3f}", PAPER.get(name, "-"), best
        )
    console.print(table)
    all_sp = [p["speedup"] for p in rows]
    geomean = math.exp(sum(math.log(s) for s in all_sp) / len(all_sp))
    console.print(f"geomean speedup over cim-mlc: {geomean:.3f}x (paper: 1.31x)")
    no_vec = math.exp(sum(math.log(p["speedup_without_vector"]) for p in rows) / len(rows))
    console.print(f"  without the vector unit's (nearly policy-independent) share: {no_vec:.3f}x")
    console.print(
        "cmswitch never slower than any baseline: "
        + ("yes" if not violations else f"NO ({len(violations)}): " + "; ".join(violations[:5]))
    )
    if args.json:
        write_results(
            args.json,
            "benchmarks/schedule_quality.py",
            {
                "geomean_speedup": geomean,
                "geomean_speedup_without_vector": no_vec,
                "violations": violations,
                "points": rows,
            },
            arch=hw.to_dict(),
        )
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
