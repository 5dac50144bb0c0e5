"""Which policy wins when the simulator is the judge?

    python benchmarks/compare_simulated.py                      # defaults below
    python benchmarks/compare_simulated.py --models resnet18 --batches 1 8

Runs `cmswitch compare MODEL --simulate` (the default `strict` cost model,
every policy at its best granularity) and records, per point, every policy's
estimated and simulated cycles, and cmswitch's speedups over the strongest
all-compute baseline and over the best static split, once by the estimate and
once by the simulation. Writes `benchmarks/results/compare_simulated.json`
and prints a Markdown table.

    python benchmarks/compare_simulated.py --from-simulate benchmarks/results/simulate.json

takes the points from `benchmarks/simulate.py`'s `strict` rows instead of
compiling again: each of them is the same computation (`compile_model` with
the policy at its best granularity, the default `strict` model, its program
simulated).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import write_results

ALL_COMPUTE = ("cim-mlc", "all-compute-dp")


def run_point(model: str, batch: int, seq: int) -> dict[str, Any]:
    from cmswitch.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cmp.json"
        argv = ["compare", model, "--batch", str(batch), "--seq", str(seq), "--simulate",
                "--json", str(out)]  # fmt: skip
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # the compare table
            status = main(argv)
        if status != 0:
            raise SystemExit(f"{' '.join(argv)} failed with status {status}")
        data = json.loads(out.read_text())
    rows = {r["policy"]: r for r in data["rows"]}

    def speedups(key: str) -> dict[str, float]:
        me = rows["cmswitch"][key]
        all_compute = min(rows[p][key] for p in ALL_COMPUTE)
        static = min(r[key] for p, r in rows.items() if p.startswith("static:"))
        best_other = min(r[key] for p, r in rows.items() if p != "cmswitch")
        return {
            "vs_all_compute": all_compute / me,
            "vs_best_static": static / me,
            "vs_best_other": best_other / me,
        }

    return {
        "model": model,
        "batch": batch,
        "seq": seq,
        "policies": {
            p: {"estimated_cycles": r["latency_cycles"], "simulated_cycles": r["simulated_cycles"]}
            for p, r in rows.items()
        },
        "estimated": speedups("latency_cycles"),
        "simulated": speedups("simulated_cycles"),
        "fastest_simulated": min(rows, key=lambda p: rows[p]["simulated_cycles"]),
    }


def points_from_simulate(path: str) -> list[dict[str, Any]]:
    """The points of `benchmarks/simulate.py`'s results (strict rows)."""
    rows = [r for r in json.loads(Path(path).read_text())["rows"]
            if r["cost_model"] == "strict" and "error" not in r]  # fmt: skip
    groups: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["batch"]), {})[r["policy"]] = r
    points = []
    for (model, batch), pols in groups.items():
        if "cmswitch" not in pols or not all(p in pols for p in ALL_COMPUTE):
            continue

        def speedups(key: str, pols: dict[str, dict[str, Any]] = pols) -> dict[str, float]:
            me = pols["cmswitch"][key]
            return {
                "vs_all_compute": min(pols[p][key] for p in ALL_COMPUTE) / me,
                "vs_best_static": min(r[key] for p, r in pols.items() if p.startswith("static:"))
                / me,
                "vs_best_other": min(r[key] for p, r in pols.items() if p != "cmswitch") / me,
            }

        points.append({
            "model": model, "batch": batch, "seq": pols["cmswitch"]["seq"],
            "policies": {p: {"estimated_cycles": r["estimated_cycles"],
                             "simulated_cycles": r["simulated_cycles"]} for p, r in pols.items()},
            "estimated": speedups("estimated_cycles"),
            "simulated": speedups("simulated_cycles"),
            "fastest_simulated": min(pols, key=lambda p: pols[p]["simulated_cycles"]),
        })  # fmt: skip
    return points


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def markdown(points: list[dict[str, Any]]) -> str:
    lines = [
        "| model | batch | vs all-compute (est) | vs all-compute (sim) | vs best static (est) "
        "| vs best static (sim) | fastest in simulation |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        e, s = p["estimated"], p["simulated"]
        lines.append(
            f"| {p['model']} | {p['batch']} | {e['vs_all_compute']:.2f}x | "
            f"{s['vs_all_compute']:.2f}x | {e['vs_best_static']:.3f}x | "
            f"{s['vs_best_static']:.3f}x | {p['fastest_simulated']} |"
        )
    g = {
        (kind, key): geomean([p[kind][key] for p in points])
        for kind in ("estimated", "simulated")
        for key in ("vs_all_compute", "vs_best_static")
    }
    lines.append(
        f"| **geomean** | | {g['estimated', 'vs_all_compute']:.2f}x | "
        f"{g['simulated', 'vs_all_compute']:.2f}x | {g['estimated', 'vs_best_static']:.3f}x | "
        f"{g['simulated', 'vs_best_static']:.3f}x | |"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+",
                    default=["resnet18", "mobilenetv2", "vgg16", "bert-large"])  # fmt: skip
    ap.add_argument("--batches", nargs="+", type=int, default=[1])
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--out", default="benchmarks/results/compare_simulated.json")
    ap.add_argument("--from-simulate", metavar="JSON",
                    help="take the points from benchmarks/simulate.py's results")  # fmt: skip
    args = ap.parse_args()
    start = time.perf_counter()
    points = []
    if args.from_simulate:
        points = points_from_simulate(args.from_simulate)
    for model in [] if args.from_simulate else args.models:
        for batch in args.batches:
            print(f"{model} batch {batch} ...", file=sys.stderr, flush=True)
            points.append(run_point(model, batch, args.seq))
    from cmswitch.hardware import Hardware

    write_results(
        args.out, "benchmarks/compare_simulated.py", {"points": points},
        hw=Hardware.preset("dynaplasia"), run_seconds=round(time.perf_counter() - start, 1),
        loadavg=os.getloadavg(), source=args.from_simulate or "cmswitch compare --simulate",
    )  # fmt: skip
    print(markdown(points))


if __name__ == "__main__":
    main()
