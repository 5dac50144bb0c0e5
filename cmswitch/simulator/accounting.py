"""Where the simulated time went: the breakdown, total and per segment.

Every instant of ``[0, makespan]`` is given to exactly one category, by
priority: ``intra`` (some array computes), else ``vector`` (the vector unit
works, not hidden behind arrays), else ``reload`` (weights or run-time
operands are programmed, not hidden), else ``switch``, else ``writeback``,
else ``stall`` (only transfers run, or nothing: waiting for bandwidth or
operands). The parts therefore sum to the total by construction, which
:mod:`cmswitch.simulator.checks` verifies anyway.

Segments are program-ordered, not barriers, so they overlap in time. Segment
``s`` is charged the window ``(end_{s-1}, end_s]`` where ``end_s`` is the
latest finish of any task of segments ``0..s``: the windows tile the
timeline, and a segment's window is what it adds to the total.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CATEGORIES = ("intra", "vector", "reload", "switch", "writeback", "stall")
"""Breakdown keys, in priority order (``stall`` is the remainder)."""

KIND_CATEGORY = {
    "compute": "intra",
    "vector": "vector",
    "program": "reload",
    "switch": "switch",
    "writeback": "writeback",
}
"""Task kinds that claim time; any other kind (plain transfers) is ``stall``."""


def segment_ends(segment: Sequence[int], finish: Sequence[float], count: int) -> list[float]:
    """``end_s`` for s in 0..count-1 (cumulative latest finish)."""
    last = np.zeros(count)
    if len(finish):
        np.maximum.at(last, np.asarray(segment, dtype=np.int64), np.asarray(finish, dtype=float))
    return list(np.maximum.accumulate(last)) if count else []


def breakdown(
    kinds: Sequence[str],
    start: Sequence[float],
    finish: Sequence[float],
    bounds: Sequence[float],
) -> list[dict[str, float]]:
    """Per window ``(bounds[i-1], bounds[i]]`` (``bounds[-1]`` is the total,
    the first window starts at 0): cycles per category, summing to the
    window's length."""
    windows = len(bounds)
    out: list[dict[str, float]] = [{c: 0.0 for c in CATEGORIES} for _ in range(windows)]
    if not windows:
        return out
    s = np.asarray(start, dtype=float)
    f = np.asarray(finish, dtype=float)
    edges = np.unique(np.concatenate(([0.0], s, f, np.asarray(bounds, dtype=float))))
    edges = edges[edges <= bounds[-1]]
    if len(edges) < 2:
        return out
    width = np.diff(edges)
    window = np.searchsorted(np.asarray(bounds, dtype=float), edges[1:], side="left")
    window = np.minimum(window, windows - 1)
    claimed = np.zeros(len(width), dtype=bool)
    kind_arr = np.asarray(kinds, dtype=object)
    for category in CATEGORIES[:-1]:
        mask = np.asarray([KIND_CATEGORY.get(k) == category for k in kind_arr], dtype=bool)
        if mask.any():
            diff = np.zeros(len(edges) + 1)
            np.add.at(diff, np.searchsorted(edges, s[mask]), 1.0)
            np.add.at(diff, np.searchsorted(edges, f[mask]), -1.0)
            covered = np.cumsum(diff)[: len(width)] > 0.5
        else:
            covered = np.zeros(len(width), dtype=bool)
        mine = covered & ~claimed
        claimed |= covered
        sums = np.bincount(window[mine], weights=width[mine], minlength=windows)
        for i in range(windows):
            out[i][category] = float(sums[i])
    rest = ~claimed
    sums = np.bincount(window[rest], weights=width[rest], minlength=windows)
    for i in range(windows):
        out[i]["stall"] = float(sums[i])
    return out


def total(parts: Sequence[dict[str, float]]) -> dict[str, float]:
    return {c: float(sum(p[c] for p in parts)) for c in CATEGORIES}
