"""Markdown tables (and a plot) from the benchmark JSON files.

    python benchmarks/report.py benchmarks/results/schedule_quality.json \\
        [--compile benchmarks/results/compile_time.json] [--plot docs/speedup.png]

Prints Markdown on stdout: per-model speedups of cmswitch over cim-mlc by
batch beside the paper's figures, every policy's speedup at every point, the
never-slower check and the compile-time table. docs/EVALUATION.md embeds its
output; the prose there explains the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from common import PAPER


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def quality_tables(data: dict[str, Any]) -> str:
    points = data["points"]
    batches = sorted({p["batch"] for p in points})
    models = list(dict.fromkeys(p["model"] for p in points))
    out = ["| model | " + " | ".join(f"b={b}" for b in batches) + " | geomean | paper |"]
    out.append("|---" * (len(batches) + 3) + "|")
    for m in models:
        row = {p["batch"]: p["speedup"] for p in points if p["model"] == m}
        cells = [f"{row[b]:.2f}x" if b in row else "-" for b in batches]
        out.append(
            f"| {m} | " + " | ".join(cells) + f" | {geomean(list(row.values())):.2f}x | "
            f"{PAPER.get(m, '-')} |"
        )
    out.append(
        f"\nGeometric mean over all {len(points)} points: "
        f"**{data['geomean_speedup']:.3f}x** (paper: 1.31x)."
    )
    violations = data.get("violations", [])
    out.append(
        "cmswitch is never slower than any baseline at these points."
        if not violations
        else f"Points where a baseline beats cmswitch ({len(violations)}): " + "; ".join(violations)
    )
    if all("speedup_without_vector" in p for p in points):
        out.append(
            "\nThe same speedups without the vector unit's cycles (nearly the same for every policy):\n"
        )
        out.append("| model | " + " | ".join(f"b={b}" for b in batches) + " | geomean |")
        out.append("|---" * (len(batches) + 2) + "|")
        for m in models:
            row = {p["batch"]: p["speedup_without_vector"] for p in points if p["model"] == m}
            cells = [f"{row[b]:.2f}x" if b in row else "-" for b in batches]
            out.append(f"| {m} | " + " | ".join(cells) + f" | {geomean(list(row.values())):.2f}x |")
        all_nv = [p["speedup_without_vector"] for p in points]
        out.append(f"\nGeometric mean without the vector unit: **{geomean(all_nv):.3f}x**.")
    policies = list(points[0]["policies"])
    out.append("\nEvery policy's speedup over cim-mlc (latency of cim-mlc / latency):\n")
    short = [q.replace("static{compute-fraction=", "static:").rstrip("}") for q in policies]
    out.append("| model | batch | " + " | ".join(short) + " |")
    out.append("|---" * (len(policies) + 2) + "|")
    for p in points:
        base = p["policies"]["cim-mlc"]["latency_cycles"]
        cells = [f"{base / p['policies'][q]['latency_cycles']:.3f}" for q in policies]
        out.append(f"| {p['model']} | {p['batch']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def compile_table(data: dict[str, Any]) -> str:
    out = ["| model | cim-mlc (s) | cmswitch (s) | ratio |", "|---|---|---|---|"]
    for r in data["rows"]:
        med = r["median_seconds"]
        out.append(
            f"| {r['model']} | {med['cim-mlc']:.2f} | {med['cmswitch']:.2f} | {r['ratio']:.2f}x |"
        )
    failures = data.get("failures", [])
    out.append("\nTargets met." if not failures else "\nNot met: " + "; ".join(failures))
    return "\n".join(out)


def plot(data: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = data["points"]
    models = list(dict.fromkeys(p["model"] for p in points))
    batches = sorted({p["batch"] for p in points})
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(batches)
    for k, b in enumerate(batches):
        ys = [
            next((p["speedup"] for p in points if p["model"] == m and p["batch"] == b), 0.0)
            for m in models
        ]
        ax.bar([i + k * width for i in range(len(models))], ys, width, label=f"batch {b}")
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(models))], models, fontsize=8)
    ax.set_ylabel("speedup over cim-mlc")
    ax.legend(fontsize=7, ncol=len(batches))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("quality", help="JSON of benchmarks/schedule_quality.py")
    ap.add_argument("--compile", default=None, help="JSON of benchmarks/compile_time.py")
    ap.add_argument("--plot", default=None, help="write a speedup bar chart here")
    args = ap.parse_args()
    quality = json.loads(Path(args.quality).read_text())
    print(quality_tables(quality))
    if args.compile:
        print("\n" + compile_table(json.loads(Path(args.compile).read_text())))
    if args.plot:
        plot(quality, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
