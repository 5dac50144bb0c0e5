"""Markdown tables and plots from the benchmark JSON files, in one run.

    python benchmarks/report.py benchmarks/results/schedule_quality.json \\
        --compile benchmarks/results/compile_time.json --plots docs > /tmp/tables.md

Prints Markdown on stdout, and (with ``--plots DIR``) draws
``DIR/speedup.png`` (the headline, ``strict``) and
``DIR/speedup_paper.png`` and ``DIR/breakdown.png`` from the same file in
the same run, so the plots always match the tables. ``docs/EVALUATION.md``
embeds this output; the prose there explains the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from common import PAPER

HEADLINE = "strict"
PARTS = ("intra", "vector", "reload", "switch", "writeback")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _by_model(points: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    models = list(dict.fromkeys(p["model"] for p in points))
    batches = sorted({p["batch"] for p in points})
    return models, batches


def speedup_table(cfg: dict[str, Any], key: str, paper_column: bool = False) -> str:
    points = cfg["points"]
    models, batches = _by_model(points)
    head = "| model | " + " | ".join(f"b={b}" for b in batches) + " | geomean |"
    if paper_column:
        head += " paper (vs CIM-MLC) |"
    out = [head, "|---" * (len(batches) + 2 + paper_column) + "|"]
    for m in models:
        row = {p["batch"]: p[key] for p in points if p["model"] == m}
        cells = [f"{row[b]:.2f}x" if b in row else "-" for b in batches]
        line = f"| {m} | " + " | ".join(cells) + f" | {geomean(list(row.values())):.2f}x |"
        if paper_column:
            line += f" {PAPER.get(m, '-')} |"
        out.append(line)
    allv = [p[key] for p in points]
    out.append(
        f"| **all {len(points)} points** | " + " | ".join("" for _ in batches)
        + f" | **{geomean(allv):.3f}x** |" + (" 1.31x |" if paper_column else "")
    )  # fmt: skip
    return "\n".join(out)


def summary_table(data: dict[str, Any]) -> str:
    out = [
        "| cost model | intensity | vs strongest all-compute | vs cim-mlc | vs best static "
        "| lowest point (vs all-compute) | points | cmswitch beaten |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cfg in data["configs"].values():
        low = min(cfg["points"], key=lambda p: p["speedup_vs_all_compute"])
        out.append(
            f"| {cfg['cost_model']} | {cfg['ai']} | {cfg['geomean_vs_all_compute']:.3f}x | "
            f"{cfg['geomean_vs_cim_mlc']:.3f}x | {cfg['geomean_vs_best_static']:.3f}x | "
            f"{low['speedup_vs_all_compute']:.3f}x ({low['model']} b={low['batch']}) | "
            f"{len(cfg['points'])} | {len(cfg['violations'])} |"
        )
    return "\n".join(out)


def policy_table(cfg: dict[str, Any]) -> str:
    """Every policy's latency relative to cmswitch, and the split it chose."""
    points = cfg["points"]
    policies = list(points[0]["policies"])
    out = [
        "| model | batch | " + " | ".join(policies) + " |",
        "|---" * (len(policies) + 2) + "|",
    ]
    for p in points:
        cms = p["policies"]["cmswitch"]["latency_cycles"]
        cells = []
        for q in policies:
            r = p["policies"][q]
            cells.append(f"{r['latency_cycles'] / cms:.3f} ({r['split_budget']})")
        out.append(f"| {p['model']} | {p['batch']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def breakdown_table(cfg: dict[str, Any]) -> str:
    """Where the time goes: cmswitch, the strongest all-compute baseline and
    the best static split, in cycles (millions) by part."""
    out = [
        "| model | batch | policy | total (M cycles) | " + " | ".join(PARTS) + " |",
        "|---" * (len(PARTS) + 4) + "|",
    ]
    for p in cfg["points"]:
        for label, pol in (
            ("cmswitch", "cmswitch"),
            (p["strongest_all_compute"], p["strongest_all_compute"]),
            (p["best_static"], p["best_static"]),
        ):
            r = p["policies"][pol]
            total = r["latency_cycles"]
            parts = " | ".join(f"{r['breakdown'][k] / total:.0%}" for k in PARTS)
            out.append(f"| {p['model']} | {p['batch']} | {label} | {total / 1e6:.3f} | {parts} |")
    return "\n".join(out)


def compile_table(data: dict[str, Any]) -> str:
    cm = data.get("cost_model", "?")
    out = [
        f"| model | strongest baseline ({cm}) | baseline (s) | cmswitch (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        med = r["median_seconds"]
        out.append(
            f"| {r['model']} | {r['baseline']} | {med[r['baseline']]:.2f} | "
            f"{med['cmswitch']:.2f} | {r['ratio']:.2f}x |"
        )
    failures = data.get("failures", [])
    out.append(
        "\nAll within 3x." if not failures else "\nOver the 3x target: " + "; ".join(failures)
    )
    return "\n".join(out)


def _plot_speedups(cfg: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = cfg["points"]
    models, batches = _by_model(points)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    for ax, key, label in (
        (axes[0], "speedup_vs_all_compute", "over the strongest all-compute baseline"),
        (axes[1], "speedup_vs_best_static", "over the best static split"),
    ):
        width = 0.8 / len(batches)
        for k, b in enumerate(batches):
            ys = [
                next((p[key] for p in points if p["model"] == m and p["batch"] == b), 0.0)
                for m in models
            ]
            ax.bar([i + k * width for i in range(len(models))], ys, width, label=f"batch {b}")
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(models))], models, fontsize=7,
                      rotation=20)  # fmt: skip
        ax.set_title(f"cmswitch speedup {label}", fontsize=8)
    axes[0].set_ylabel("speedup")
    axes[0].legend(fontsize=7, ncol=len(batches))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_breakdown(cfg: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in cfg["points"] if p["batch"] in (1, 16)]
    labels, rows = [], []
    for p in points:
        base = p["policies"][p["strongest_all_compute"]]["latency_cycles"]
        for tag, pol in (("A", p["strongest_all_compute"]), ("S", p["best_static"]),
                         ("C", "cmswitch")):  # fmt: skip
            labels.append(f"{p['model']} b{p['batch']} {tag}")
            rows.append([p["policies"][pol]["breakdown"][k] / base for k in PARTS])
    fig, ax = plt.subplots(figsize=(12, 3.8))
    bottom = [0.0] * len(rows)
    for k, part in enumerate(PARTS):
        vals = [r[k] for r in rows]
        ax.bar(range(len(rows)), vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(rows)), labels, rotation=90, fontsize=6)
    ax.set_ylabel("cycles / strongest all-compute")
    ax.set_title(
        "strict: where the time goes (A: strongest all-compute, S: best static, C: cmswitch)",
        fontsize=9,
    )
    ax.set_ylim(0, max(bottom) * 1.2)
    ax.legend(fontsize=7, ncol=len(PARTS), loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("quality", help="JSON of benchmarks/schedule_quality.py")
    ap.add_argument("--compile", default=None, help="JSON of benchmarks/compile_time.py")
    ap.add_argument("--plots", default=None, help="draw the plots into this directory")
    args = ap.parse_args()
    data = json.loads(Path(args.quality).read_text())
    configs = data["configs"]
    print("### Summary (geometric means over the points)\n")
    print(summary_table(data))
    if HEADLINE in configs:
        cfg = configs[HEADLINE]
        print("\n### strict: speedup of cmswitch over the strongest all-compute baseline\n")
        print(speedup_table(cfg, "speedup_vs_all_compute"))
        print("\n### strict: speedup of cmswitch over cim-mlc\n")
        print(speedup_table(cfg, "speedup_vs_cim_mlc", paper_column=True))
        print("\n### strict: speedup of cmswitch over the best static split\n")
        print(speedup_table(cfg, "speedup_vs_best_static"))
    for name, cfg in configs.items():
        if name == HEADLINE:
            continue
        print(f"\n### {cfg['cost_model']} cost model, {cfg['ai']} intensity\n")
        print("Over the strongest all-compute baseline:\n")
        print(speedup_table(cfg, "speedup_vs_all_compute"))
        print("\nOver cim-mlc:\n")
        print(speedup_table(cfg, "speedup_vs_cim_mlc", paper_column=True))
        print("\nOver the best static split:\n")
        print(speedup_table(cfg, "speedup_vs_best_static"))
    if HEADLINE in configs:
        print(
            "\n### strict: every policy's latency over cmswitch's (its split budget, "
            "arrays per operator)\n"
        )
        print(policy_table(configs[HEADLINE]))
        print("\n### strict: where the time goes (share of each policy's own latency)\n")
        print(breakdown_table(configs[HEADLINE]))
    if args.compile:
        print("\n### Compile time\n")
        print(compile_table(json.loads(Path(args.compile).read_text())))
    if args.plots:
        out = Path(args.plots)
        if HEADLINE in configs:
            _plot_speedups(configs[HEADLINE], out / "speedup.png",
                           "strict cost model (the default), streamed intensity")  # fmt: skip
            _plot_breakdown(configs[HEADLINE], out / "breakdown.png")
        if "paper-roofline" in configs:
            _plot_speedups(configs["paper-roofline"], out / "speedup_paper.png",
                           "paper cost model, roofline intensity")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
