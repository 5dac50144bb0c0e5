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
    lower: Callable[[int, int], float] | None = None,
    max_out: Callable[[Key], float] | None = None,
) -> DpResult:
    """Exact minimum over segmentations and per-segment candidates.

    ``candidates(i, j)`` returns the local costs of the candidate plans of
    segment O_i..O_j (empty or None: infeasible). ``max_len(i)`` bounds the
    length of segments starting at i (longer ones are never asked for).

    Optional pruning, still exact: ``lower(i, j)`` is a lower bound on every
    candidate's local cost and ``max_out(key)`` an upper bound on any inter
    cost leaving plan ``key``. A segment (i, j) is then not solved at all when
    ``min best ending at i-1 + lower(i, j) >= best[Y] + max_out(Y)`` for an
    already solved Y ending at j: whatever follows it, Y does at least as
    well. Segments ending at j are visited shortest first so that cheap ones
    set the bound. Raises ValueError if no segmentation exists."""
    if n == 0:
        return DpResult(0.0, ())
    ending: list[list[Key]] = [[] for _ in range(n)]
    best: dict[Key, float] = {}
    back: dict[Key, Key | None] = {}
    floor_at: list[float] = [math.inf] * n  # min best over plans ending at j
    # first_start[j]: smallest i whose segments reach j (keeps the DP near-linear)
    first_start = list(range(n))
    if max_len is None:
        first_start = [0] * n
    else:
        for i in range(n - 1, -1, -1):
            for j in range(i, min(n, i + max_len(i))):
                first_start[j] = i
    ordered: dict[int, list[Key]] = {}

    def by_best(end: int) -> list[Key]:
        """Plans ending at `end` (all final once j > end), cheapest first."""
        got = ordered.get(end)
        if got is None:
            got = ordered[end] = sorted(ending[end], key=lambda k: best[k])
        return got

    for j in range(n):
        bound = math.inf
        for i in range(j, first_start[j] - 1, -1):
            if max_len is not None and j - i + 1 > max_len(i):
                continue
            prefix = 0.0 if i == 0 else floor_at[i - 1]
            if math.isinf(prefix):
                continue
            if lower is not None and max_out is not None and prefix + lower(i, j) >= bound:
                continue
            costs = candidates(i, j)
            if not costs:
                continue
            for a, cost in enumerate(costs):
                key = (i, j, a)
                if i == 0:
                    val, arg = inter(None, key), None
                else:
                    val, arg = math.inf, None
                    for prev in by_best(i - 1):  # inter >= 0: stop once best alone loses
                        b = best[prev]
                        if b >= val:
                            break
                        v = b + inter(prev, key)
                        if v < val:
                            val, arg = v, prev
                    if arg is None:
                        continue
                best[key] = cost + val
                back[key] = arg
                ending[j].append(key)
                floor_at[j] = min(floor_at[j], best[key])
                if max_out is not None:
                    bound = min(bound, best[key] + max_out(key))
    finals = ending[n - 1]
    if not finals:
        raise ValueError("no feasible segmentation")
    last = min(finals, key=lambda k: best[k])
    path: list[Key] = []
    cur: Key | None = last
    while cur is not None:
        path.append(cur)
        cur = back[cur]
    return DpResult(best[last], tuple(reversed(path)))
