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
    remaining: float = field(init=False)
    rate: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.nbytes < 0:
            raise ValueError(f"a flow moves a non-negative number of bytes, got {self.nbytes}")
        if self.cap <= 0:
            raise ValueError(f"a flow's rate cap must be positive, got {self.cap}")
        self.remaining = float(self.nbytes)


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
        self.flows: list[Flow] = []
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
        if not flows:
            return
        spare = [link.capacity for link in self.links]
        # per link: weight sum of the still-unfrozen flows through it
        active: dict[int, float] = {}
        for flow in flows:
            flow.rate = 0.0
            for index, weight in flow.links:
                active[index] = active.get(index, 0.0) + weight
        unfrozen = set(range(len(flows)))
        level = 0.0
        while unfrozen:
            # the next level at which some link saturates or some flow hits its cap
            step = math.inf
            for index, wsum in active.items():
                if wsum > EPS:
                    step = min(step, spare[index] / wsum)
            for i in unfrozen:
                step = min(step, flows[i].cap - level)
            step = max(step, 0.0)
            level += step
            for index, wsum in active.items():
                spare[index] -= step * wsum
            full = {index for index, wsum in active.items()
                    if wsum > EPS and spare[index] <= EPS * self.links[index].capacity}  # fmt: skip
            frozen = [
                i for i in unfrozen
                if flows[i].cap - level <= EPS * max(1.0, level)
                or any(index in full for index, _ in flows[i].links)
            ]  # fmt: skip
            if not frozen:  # numerical safety: cannot happen with a finite step
                frozen = list(unfrozen)
            for i in frozen:
                unfrozen.discard(i)
                flows[i].rate = level
                for index, weight in flows[i].links:
                    active[index] -= weight
        use = [0.0] * len(self.links)
        for flow in flows:
            for index, weight in flow.links:
                use[index] += weight * flow.rate
        for index, value in enumerate(use):
            self.peak_use[index] = max(self.peak_use[index], value)

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
        for flow in self.flows:
            moved = min(flow.remaining, flow.rate * max(dt, 0.0))
            if flow.remaining - moved <= EPS * max(1.0, flow.nbytes):
                moved = flow.remaining
            flow.remaining -= moved
            for index, weight in flow.links:
                self.moved[index] += weight * moved
                if index == self.track:
                    self.owner_moved[flow.owner] = (
                        self.owner_moved.get(flow.owner, 0.0) + weight * moved
                    )
            if flow.remaining <= 0.0:
                done.append(flow)
            else:
                keep.append(flow)
        self.flows = keep
        self.now = max(self.now, t)
        return done
