"""Step 1: exact segmentation by dynamic programming (spec section 4).

Operators O_0..O_{n-1} in topological order are cut into contiguous segments.
Each feasible segment (i, j) offers a few candidate plans (allocations), each
with its own cost (intra + reload + vector); moving from a plan of the previous
segment to a plan of this one costs an inter-segment term (switch +
write-back) that depends on both. The exact DP state is therefore the last
segment *and* its plan (paper Eq. 3 with the off-by-one fixed)::

    best[(i, j, a)] = local(i, j, a) + min over (k, b) of
                      best[(k, i-1, b)] + inter((k, i-1, b), (i, j, a))
    best[(0, j, a)] = local(0, j, a) + inter(None, (0, j, a))

and the answer is min over (i, a) of best[(i, n-1, a)]. Infeasible segments
(no candidate) are skipped, so with N_cim arrays a segment holds at most
N_cim operators and the DP is near-linear in n.

The module is generic: it knows nothing of arrays; the policies pass the
candidate and inter-cost oracles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Key = tuple[int, int, int]
"""(start, end, candidate index)."""


@dataclass(frozen=True)
class DpResult:
    cost: float
    path: tuple[Key, ...]


def segment_dp(
    n: int,
    candidates: Callable[[int, int], Sequence[float] | None],
    inter: Callable[[Key | None, Key], float],
    max_len: Callable[[int], int] | None = None,
) -> DpResult:
    """Exact minimum over segmentations and per-segment candidates.

    ``candidates(i, j)`` returns the local costs of the candidate plans of
    segment O_i..O_j (empty or None: infeasible). ``max_len(i)`` bounds the
    length of segments starting at i (segments beyond it are not asked for);
    without it every length is tried. Raises ValueError if no segmentation
    exists."""
    if n == 0:
        return DpResult(0.0, ())
    ending: list[list[Key]] = [[] for _ in range(n)]
    best: dict[Key, float] = {}
    back: dict[Key, Key | None] = {}
    local: dict[Key, float] = {}
    for i in range(n):
        limit = n if max_len is None else min(n, i + max_len(i))
        for j in range(i, limit):
            costs = candidates(i, j)
            if not costs:
                continue
            for a, cost in enumerate(costs):
                local[(i, j, a)] = cost
                ending[j].append((i, j, a))
    for j in range(n):
        for key in ending[j]:
            i = key[0]
            if i == 0:
                best[key] = local[key] + inter(None, key)
                back[key] = None
                continue
            val, arg = math.inf, None
            for prev in ending[i - 1]:
                if prev not in best:
                    continue
                v = best[prev] + inter(prev, key)
                if v < val:
                    val, arg = v, prev
            if arg is not None:
                best[key] = local[key] + val
                back[key] = arg
    finals = [k for k in ending[n - 1] if k in best]
    if not finals:
        raise ValueError("no feasible segmentation")
    last = min(finals, key=lambda k: best[k])
    path: list[Key] = []
    cur: Key | None = last
    while cur is not None:
        path.append(cur)
        cur = back[cur]
    return DpResult(best[last], tuple(reversed(path)))
