"""The `cmswitch compare` table: every policy at its best granularity and
the speedups that matter (over the strongest all-compute baseline, over
``cim-mlc``, over the best static split), as rows, a rich table and a plot.
Split off :mod:`cmswitch.compile`, which runs the command."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from cmswitch.passes.cim_schedule import ScheduleOptions

if TYPE_CHECKING:
    from cmswitch.compile import CompileResult

BASELINE = "cim-mlc"


ALL_COMPUTE_BASELINES = ("cim-mlc", "all-compute-dp")
"""The all-compute baselines; the faster one is the strongest."""


def compare_title(model: str, arch: str, options: ScheduleOptions) -> str:
    return f"{model} on {arch} ({options.cost_model} cost model, {options.intensity} intensity)"


def compare_rows(results: Sequence[CompileResult]) -> list[dict[str, Any]]:
    """One row per policy, each at its best granularity, with its speedups
    over the strongest all-compute baseline (the faster of ``cim-mlc`` and
    ``all-compute-dp``), over ``cim-mlc`` and over the best ``static``
    fraction compared (None where that policy was not compared)."""

    def best(pred: Callable[[CompileResult], bool]) -> float | None:
        got = [r.schedule.latency_cycles for r in results if pred(r)]
        return min(got) if got else None

    all_compute = best(lambda r: r.options.policy in ALL_COMPUTE_BASELINES)
    cim_mlc = best(lambda r: r.options.policy == BASELINE)
    static = best(lambda r: r.options.policy == "static")

    def ratio(base: float | None, latency: float) -> float | None:
        return base / latency if base is not None and latency > 0 else None

    rows = []
    for r in results:
        s = r.schedule
        memory = [seg.memory_arrays / r.hardware.arrays for seg in s.segments]
        latency = s.latency_cycles
        rows.append(
            {
                "policy": _label(r),
                "latency_cycles": latency,
                "latency_seconds": r.hardware.seconds(latency),
                "speedup_vs_all_compute": ratio(all_compute, latency),
                "speedup_vs_cim_mlc": ratio(cim_mlc, latency),
                "speedup_vs_best_static": ratio(static, latency),
                "split_budget": r.split_budget or r.hardware.arrays,
                "granularity": list(r.tried),
                "breakdown": s.breakdown(),
                "segments": len(s.segments),
                "avg_memory_share": sum(memory) / len(memory) if memory else 0.0,
                "compile_seconds": round(r.seconds, 4),
            }
        )
    return rows


def render_compare(rows: Sequence[dict[str, Any]], title: str, console: Console) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (
        ("policy", "left"), ("cycles", "right"), ("ms", "right"),
        ("vs all-compute", "right"), ("vs cim-mlc", "right"), ("vs best static", "right"),
        ("split", "right"), ("segs", "right"), ("avg memory share", "right"),
        ("compile (s)", "right"),
    ):  # fmt: skip
        table.add_column(col, justify=justify, no_wrap=col == "policy")  # type: ignore[arg-type]
    simulated = any("simulated_cycles" in row for row in rows)
    if simulated:
        table.add_column("simulated cycles", justify="right")

    def x(v: float | None) -> str:
        return f"{v:.3f}x" if v is not None else "-"

    for row in rows:
        table.add_row(
            row["policy"],
            f"{row['latency_cycles']:,.0f}",
            f"{row['latency_seconds'] * 1e3:.3f}",
            x(row["speedup_vs_all_compute"]),
            x(row["speedup_vs_cim_mlc"]),
            x(row["speedup_vs_best_static"]),
            str(row["split_budget"]),
            str(row["segments"]),
            f"{row['avg_memory_share']:.1%}",
            f"{row['compile_seconds']:.2f}",
            *([f"{row['simulated_cycles']:,.0f}"] if simulated else []),
        )
    console.print(table)
    if simulated:
        console.print(
            "cycles: the cost model's estimate; simulated cycles: the timing simulator "
            "running the policy's cim_meta program (docs/DESIGN.md, chip execution model)",
            highlight=False,
        )
    console.print(
        "speedups: latency of the strongest all-compute baseline (the faster of cim-mlc and "
        "all-compute-dp), of cim-mlc, of the best static fraction, over the row's; every "
        "policy at its fastest operator granularity (split = arrays per operator)",
        highlight=False,
    )


_PLOT_FORMATS = (".png", ".pdf", ".svg")


def check_plot_path(path: str) -> None:
    """Refuses a --plot path matplotlib would not write (before compiling)."""
    suffix = Path(path).suffix.lower()
    if path == "-" or suffix not in _PLOT_FORMATS:
        from cmswitch.compile import PolicyError

        raise PolicyError(f"--plot {path}: give a file ending in {', '.join(_PLOT_FORMATS)}")


def plot_compare(rows: Sequence[dict[str, Any]], title: str, path: str) -> None:
    from cmswitch import fileio

    check_plot_path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from cmswitch.compile import PolicyError

        raise PolicyError("--plot needs matplotlib: pip install 'cmswitch[plots]'") from None
    fig, ax = plt.subplots(figsize=(max(4, len(rows) * 1.1), 3.2))
    names = [r["policy"] for r in rows]
    values = [r["speedup_vs_all_compute"] or 0.0 for r in rows]
    ax.bar(range(len(rows)), values, color="#4c72b0")
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("speedup vs strongest all-compute")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    try:
        with fileio.staged(path) as (temp,):
            fig.savefig(temp, dpi=120, format=Path(path).suffix.lower().lstrip("."))
    finally:
        plt.close(fig)


def _label(r: CompileResult) -> str:
    from cmswitch.compile import policy_label, short_label

    return short_label(policy_label(r.options))
