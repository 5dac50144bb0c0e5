"""Fluid bandwidth sharing: max-min fair rates over shared links.

A *flow* moves a number of bytes over a set of *links* (the external channel,
the internal bus, a memory-mode array's port, ...). Every link has a
capacity in bytes per cycle; a flow uses a fraction ``weight`` of its own
rate on each of its links (a tensor striped over ``k`` memory-mode arrays
puts ``1/k`` of its rate through each array's port) and is capped by its own
endpoint (``cap``, e.g. the write ports of the arrays it programs). Rates are
the weighted max-min fair allocation (progressive filling): raise every
unfrozen flow's rate together until a link saturates or a flow reaches its
cap, freeze those flows, repeat.

Rates are recomputed only when a flow starts or ends (the engine calls
:meth:`FluidNetwork.recompute`); between those instants every rate is
constant, so a flow's completion time is exact, not stepped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

EPS = 1e-9
"""Relative tolerance for "a flow has no bytes left" and "a link is full"."""


@dataclass(frozen=True)
class Link:
    """A shared transfer resource."""

    name: str
    capacity: float
    """Bytes per cycle for all flows together."""


@dataclass(eq=False)
class Flow:
    """A transfer in progress. ``owner`` is whatever the engine needs back."""

    nbytes: float
    links: tuple[tuple[int, float], ...]
    """(link index, weight): the flow puts ``weight * rate`` through the link."""
    cap: float = math.inf
    """The flow's own rate limit (its endpoints), bytes per cycle."""
    owner: object = None
    share: float = 1.0
    """How many equal flows this one stands for in the fair sharing (the
    program of ``share`` arrays at once): it gets ``share`` times the rate
    of a plain flow on a shared link, and ``cap / share`` caps each part."""
    remaining: float = field(init=False)
    rate: float = field(init=False, default=0.0)
    tol: float = field(init=False, default=0.0)
    """Bytes below which the flow counts as done (rounding)."""

    def __post_init__(self) -> None:
        if self.nbytes < 0:
            raise ValueError(f"a flow moves a non-negative number of bytes, got {self.nbytes}")
        if self.cap <= 0:
            raise ValueError(f"a flow's rate cap must be positive, got {self.cap}")
        if self.share <= 0:
            raise ValueError(f"a flow stands for a positive number of flows, got {self.share}")
        self.remaining = float(self.nbytes)
        self.tol = EPS * max(1.0, self.nbytes)


class FluidNetwork:
    """Active flows over a fixed set of links, with max-min fair rates."""

    def __init__(self, links: Sequence[Link], track: int | None = 0) -> None:
        self.links = tuple(links)
        self.track = track
        self.owner_moved: dict[object, float] = {}
        """Bytes each flow owner put through link `track` (measured as the
        flows advance, for the per-op conservation check)."""
        for link in self.links:
            if link.capacity <= 0:
                raise ValueError(f"link {link.name!r} needs a positive capacity")
        self.capacities = [link.capacity for link in self.links]
        self.flows: list[Flow] = []
        self.use: dict[int, float] = {}
        """Total rate on each link in use, as of the last recompute."""
        self.now = 0.0
        self.moved = [0.0] * len(self.links)
        """Bytes through each link so far (weighted by the flows' weights)."""
        self.peak_use = [0.0] * len(self.links)
        """Highest total rate seen on each link (for the <= 100 % check)."""

    def add(self, flow: Flow) -> None:
        for index, weight in flow.links:
            if not 0 <= index < len(self.links) or weight <= 0:
                raise ValueError(f"bad link use ({index}, {weight}) in a flow")
        if not flow.links and math.isinf(flow.cap):
            raise ValueError("a flow over no link needs a finite rate cap")
        self.flows.append(flow)

    def recompute(self) -> None:
        """Weighted max-min fair rates by progressive filling."""
        flows = self.flows
        self.use = {}
        if not flows:
            return
        capacity = self.capacities
        # per link: weight sum of the still-unfrozen flows through it
        active: dict[int, float] = {}
        for flow in flows:
            flow.rate = 0.0
            for index, weight in flow.links:
                active[index] = active.get(index, 0.0) + weight * flow.share
        spare = {index: capacity[index] for index in active}
        unfrozen = list(range(len(flows)))
        level = 0.0
        while unfrozen:
            # the next level at which some link saturates or some flow hits its cap
            step = min((spare[i] / w for i, w in active.items() if w > EPS), default=math.inf)
            step = min(step, min(flows[i].cap / flows[i].share for i in unfrozen) - level)
            step = max(step, 0.0)
            level += step
            full: set[int] = set()
            for index, wsum in active.items():
                if wsum > EPS:
                    spare[index] -= step * wsum
                    if spare[index] <= EPS * capacity[index]:
                        full.add(index)
            frozen: list[int] = []
            keep: list[int] = []
            for i in unfrozen:
                flow = flows[i]
                if flow.cap / flow.share - level <= EPS * max(1.0, level) or any(
                    index in full for index, _ in flow.links
                ):
                    frozen.append(i)
                else:
                    keep.append(i)
            if not frozen:  # numerical safety: cannot happen with a finite step
                frozen, keep = keep, []
            for i in frozen:
                flow = flows[i]
                flow.rate = level * flow.share
                for index, weight in flow.links:
                    active[index] -= weight * flow.share
            unfrozen = keep
        use: dict[int, float] = {}
        for flow in flows:
            for index, weight in flow.links:
                use[index] = use.get(index, 0.0) + weight * flow.rate
        peak = self.peak_use
        for index, value in use.items():
            if value > peak[index]:
                peak[index] = value
        self.use = use

    def next_completion(self) -> float:
        """Absolute time at which the next flow finishes at current rates."""
        best = math.inf
        for flow in self.flows:
            if flow.remaining <= 0.0:
                return self.now
            if flow.rate > 0.0:
                best = min(best, self.now + flow.remaining / flow.rate)
        return best

    def advance(self, t: float) -> list[Flow]:
        """Moves every flow to time `t`; returns (and removes) the finished ones."""
        dt = t - self.now
        if dt < -EPS * max(1.0, abs(t)):
            raise ValueError(f"fluid time cannot go back ({self.now} -> {t})")
        done: list[Flow] = []
        keep: list[Flow] = []
        dt = max(dt, 0.0)
        moved_links = self.moved
        track = self.track
        now = self.now
        for flow in self.flows:
            moved = flow.rate * dt
            # done if within rounding of its bytes, or if its finish time
            # (what next_completion computed) is not after `t`: late in a
            # long run a few bytes' time is below the clock's resolution
            # (now + dt == now), and waiting for them would never end
            if flow.remaining - moved <= flow.tol or (
                flow.rate > 0.0 and now + flow.remaining / flow.rate <= t
            ):
                moved = flow.remaining
            flow.remaining -= moved
            if moved > 0.0:
                for index, weight in flow.links:
                    moved_links[index] += weight * moved
                    if index == track:
                        owner = flow.owner
                        self.owner_moved[owner] = self.owner_moved.get(owner, 0.0) + weight * moved
            if flow.remaining <= 0.0:
                done.append(flow)
            else:
                keep.append(flow)
        self.flows = keep
        self.now = max(self.now, t)
        return done
