"""A PNG timeline of a timing simulation: arrays over time.

One row per physical array; a bar per piece of work, coloured by activity
(compute, programming, switching, serving as memory), on a pale background
showing the array's mode (compute or memory). Below, the external channel's
bytes per cycle against its bandwidth and the vector unit's busy time.
Needs matplotlib (``pip install 'cmswitch[plots]'``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from cmswitch.simulator.timeline import Timeline

COLOURS = {
    "compute": "#3b6fb6",
    "program": "#e08a2c",
    "switch": "#c0392b",
    "memory": "#7fb77e",
    "writeback": "#8e44ad",
    "vector": "#555555",
}
MODE_BACKGROUND = {"compute": "#e8eef8", "memory": "#eaf5e9"}


class PlotError(RuntimeError):
    """matplotlib is missing (user-facing)."""


def plot_timeline(timeline: Timeline, path: str | Path, title: str | None = None) -> None:
    """The timeline as an image at `path` (format from its suffix, default
    PNG), written atomically (:mod:`cmswitch.fileio`)."""
    from cmswitch import fileio

    fmt = Path(path).suffix.lower().lstrip(".") or "png"
    with fileio.staged(path) as (temp,):
        render_timeline(timeline, temp, title, fmt)


def render_timeline(
    timeline: Timeline, path: str | Path, title: str | None = None, fmt: str = "png"
) -> None:
    """Draws the timeline into the file `path` in format `fmt` (not atomic:
    :func:`plot_timeline` and ``cmswitch simulate`` stage it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise PlotError("--plot needs matplotlib: pip install 'cmswitch[plots]'") from None
    run = timeline.run
    total = max(run.makespan, 1.0)
    bars: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    vector: list[tuple[float, float]] = []
    arrays: set[int] = set(timeline.modes)
    for i, task in enumerate(timeline.tasks):
        start, end = run.start[i], run.finish[i]
        if end <= start:
            continue
        kind = task.kind if task.kind in COLOURS else "compute"
        for a in task.arrays:
            bars[(a, kind)].append((start, end - start))
            arrays.add(a)
        for a in task.touches:
            bars[(a, "memory")].append((start, end - start))
            arrays.add(a)
        if task.server is not None:
            vector.append((start, end - start))
    rows = sorted(arrays)
    row_of = {a: k for k, a in enumerate(rows)}
    height = min(14.0, 2.5 + 0.09 * len(rows))
    fig, (ax, ax_bw) = plt.subplots(
        2, 1, figsize=(11, height + 1.8), sharex=True,
        gridspec_kw={"height_ratios": [height, 1.8]},
    )  # fmt: skip
    modes = {a: timeline.modes.get(a, [(0.0, "compute")]) for a in rows}
    for a, changes in modes.items():
        for k, (t, mode) in enumerate(changes):
            t_end = changes[k + 1][0] if k + 1 < len(changes) else total
            if t_end > t:
                ax.broken_barh([(t, t_end - t)], (row_of[a] - 0.5, 1.0),
                               facecolors=MODE_BACKGROUND.get(mode, "white"), linewidth=0)  # fmt: skip
    for (a, kind), spans in bars.items():
        ax.broken_barh(spans, (row_of[a] - 0.4, 0.8), facecolors=COLOURS[kind], linewidth=0)
    if vector:
        ax.broken_barh(vector, (len(rows) - 0.4, 0.8), facecolors=COLOURS["vector"], linewidth=0)
    ax.set_ylim(-0.6, len(rows) + 0.6)
    ax.invert_yaxis()
    ax.set_ylabel("array")
    step = max(1, len(rows) // 16)
    ticks = list(range(0, len(rows), step))
    ax.set_yticks([*ticks, len(rows)], [*(str(rows[k]) for k in ticks), "vector"], fontsize=7)
    for s in timeline.segments:
        ax.axvline(s.end, color="#999999", linewidth=0.5, linestyle=":")
    handles = [Patch(color=c, label=k) for k, c in COLOURS.items()]
    handles += [Patch(color=c, label=f"{k} mode") for k, c in MODE_BACKGROUND.items()]
    ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper right", framealpha=0.9)
    ax.set_title(title or f"simulated timeline on {timeline.hardware.name}: "
                 f"{run.makespan:,.0f} cycles", fontsize=9)  # fmt: skip
    if run.link_rates:
        xs: list[float] = []
        ys: list[float] = []
        for t, rate in run.link_rates[0]:
            if xs:
                xs.append(t)
                ys.append(ys[-1])
            xs.append(t)
            ys.append(rate)
        xs.append(total)
        ys.append(ys[-1] if ys else 0.0)
        ax_bw.fill_between(xs, ys, step=None, color="#e08a2c", alpha=0.6, linewidth=0)
    ax_bw.axhline(timeline.hardware.external_bw_bytes, color="black", linewidth=0.6,
                  linestyle="--")  # fmt: skip
    ax_bw.set_ylabel("channel B/cycle", fontsize=7)
    ax_bw.set_xlabel("cycle")
    ax_bw.set_xlim(0, total)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110, format=fmt)
    finally:
        plt.close(fig)
