"""The discrete-event core of the timing simulator.

The engine knows nothing about `cim_meta`: it runs a list of :class:`Task`
(tiles of operators, programming of arrays, switches, transfers) in *program
order* over four kinds of resources:

* **arrays**, used exclusively and in program order: a task that computes on,
  programs or switches an array starts after the previous such task on it and
  after every task that used it as memory since (``arrays``); a task that
  reads or writes data held in a memory-mode array (``touches``) starts after
  the previous exclusive use. Array exclusivity is therefore a dependency,
  never a race;
* **servers** (the vector unit): exclusive, first come first served by ready
  time, program order on ties;
* **links** (external channel, internal bus, memory-array ports): shared by
  fluid flows with max-min fair rates (:mod:`cmswitch.simulator.fluid`);
* **pools** (the buffer, each memory-mode array's capacity): bytes allocated
  when a task starts and freed when a task finishes, in program order per
  pool. A task whose bytes do not fit waits until frees make room (writing
  over data not yet read would destroy it); if room never comes, a
  :class:`CapacityError` names the task.

A task starts when its dependencies have finished and its resources allow;
it then runs a fixed ``cycles`` timer and its flows concurrently and finishes
when all of them are done (a tile's reads, compute and writes stream
together). Events happen only at task and flow boundaries, never per cycle.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cmswitch.simulator.fluid import EPS, Flow, FluidNetwork, Link


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """A transfer a task makes: bytes over weighted links, capped by its endpoints."""

    nbytes: float
    links: tuple[tuple[int, float], ...]
    cap: float = math.inf
    share: float = 1.0
    """How many equal flows it stands for in fair sharing (see :class:`Flow`)."""


@dataclass(eq=False, slots=True)
class Task:
    """One schedulable piece of work."""

    op: int
    """Index of the program op this task belongs to (for messages and records)."""
    kind: str
    """Accounting category: compute, vector, program, switch, writeback, transfer."""
    cycles: float = 0.0
    flows: tuple[FlowSpec, ...] = ()
    deps: tuple[int, ...] = ()
    """Indices of tasks that must finish before this one starts."""
    arrays: tuple[int, ...] = ()
    touches: tuple[int, ...] = ()
    server: int | None = None
    allocs: tuple[tuple[int, float], ...] = ()
    """(pool, bytes) taken when the task starts."""
    frees: tuple[tuple[int, float], ...] = ()
    """(pool, bytes) given back when the task finishes."""


class CapacityError(Exception):
    """A pool overflowed; carries the offending task's index."""

    def __init__(self, task: int, pool: int, level: float, capacity: float) -> None:
        super().__init__(f"pool {pool}: {level:g} bytes > capacity {capacity:g}")
        self.task = task
        self.pool = pool
        self.level = level
        self.capacity = capacity


@dataclass
class Run:
    """What happened: per task start/finish, per link bytes and rate history."""

    start: list[float]
    finish: list[float]
    makespan: float
    link_bytes: list[float]
    link_peak: list[float]
    link_rates: list[list[tuple[float, float]]]
    """Per link: (time, total rate from then on), at every rate change (only
    for the recorded link, the external channel; others stay at 0)."""
    pool_levels: list[list[tuple[float, float]]]
    """Per pool: (time, bytes held from then on)."""
    pool_peak: list[float]
    flow_spans: list[tuple[int, float, float, float]] = field(default_factory=list)
    task_link_bytes: dict[int, float] = field(default_factory=dict)
    """Bytes each task moved through the recorded link (measured)."""
    """(task, start, end, bytes) of every flow that uses link 0 (the external channel)."""


class Engine:
    """Runs tasks over arrays, servers, links and pools."""

    def __init__(
        self,
        links: Sequence[Link],
        pools: Sequence[float] = (),
        servers: int = 1,
        record_link: int | None = 0,
    ) -> None:
        self.links = tuple(links)
        self.pools = tuple(float(p) for p in pools)
        self.servers = servers
        self.record_link = record_link

    def run(self, tasks: Sequence[Task]) -> Run:
        n = len(tasks)
        waiting = [0] * n
        dependents: list[list[int]] = [[] for _ in range(n)]
        last_excl: dict[int, int] = {}
        touchers: dict[int, list[int]] = {}
        for i, task in enumerate(tasks):
            deps = set(task.deps)
            for a in task.arrays:
                if a in last_excl:
                    deps.add(last_excl[a])
                deps.update(touchers.pop(a, ()))
                last_excl[a] = i
            for a in task.touches:
                if a in last_excl:
                    deps.add(last_excl[a])
                touchers.setdefault(a, []).append(i)
            deps.discard(i)
            for d in deps:
                if not 0 <= d < i:
                    raise ValueError(f"task {i} depends on task {d}, not an earlier task")
                dependents[d].append(i)
            waiting[i] = len(deps)

        net = FluidNetwork(self.links, track=self.record_link)
        start = [math.nan] * n
        finish = [math.nan] * n
        parts = [0] * n
        timers: list[tuple[float, int]] = []
        server_busy = [False] * self.servers
        server_queue: list[list[tuple[float, int]]] = [[] for _ in range(self.servers)]
        level = [0.0] * len(self.pools)
        pool_levels: list[list[tuple[float, float]]] = [[(0.0, 0.0)] for _ in self.pools]
        pool_peak = [0.0] * len(self.pools)
        link_rates: list[list[tuple[float, float]]] = [[(0.0, 0.0)] for _ in self.links]
        flow_start: dict[int, float] = {}
        spans: list[tuple[int, float, float, float]] = []
        now = 0.0
        ready: list[int] = [i for i in range(n) if waiting[i] == 0]
        ready.reverse()  # pop() in program order
        done_count = 0

        def set_pool(pool: int, delta: float, task: int) -> None:
            level[pool] += delta
            cap = self.pools[pool]
            if level[pool] > cap * (1 + EPS) + EPS:
                raise CapacityError(task, pool, level[pool], cap)
            pool_peak[pool] = max(pool_peak[pool], level[pool])
            trace = pool_levels[pool]
            if trace[-1][0] == now:
                trace[-1] = (now, level[pool])
            else:
                trace.append((now, level[pool]))

        def begin(i: int) -> None:
            task = tasks[i]
            start[i] = now
            for pool, nbytes in task.allocs:
                set_pool(pool, nbytes, i)
                alloc_pos[pool] += 1
                wake(pool)  # the next writer of the pool may go now
            count = 0
            if task.cycles > 0:
                heapq.heappush(timers, (now + task.cycles, i))
                count += 1
            for spec in task.flows:
                if spec.nbytes <= 0:
                    continue
                flow = Flow(spec.nbytes, spec.links, spec.cap, owner=i, share=spec.share)
                net.add(flow)
                if self.record_link is not None and any(
                    index == self.record_link for index, _ in spec.links
                ):
                    flow_start[id(flow)] = now
                count += 1
            parts[i] = count

        granted: set[int] = set()
        blocked: dict[int, list[int]] = {}
        """Per pool: tasks waiting for their turn or room in it, in arrival
        order (retried only when that pool changes: nothing else can let
        them go)."""

        def wake(pool: int) -> None:
            waiting_here = blocked.pop(pool, None)
            if waiting_here:
                ready.extend(waiting_here)

        # a pool is allocated in program order: a later write into an array
        # never takes the room an earlier one is waiting for
        alloc_order: dict[int, list[int]] = {}
        for i, task in enumerate(tasks):
            for pool, _ in task.allocs:
                alloc_order.setdefault(pool, []).append(i)
        alloc_pos = dict.fromkeys(alloc_order, 0)

        def misfit(i: int, task: Task) -> int | None:
            """The first pool where it is not the task's turn or there is no
            room (None: it fits)."""
            for pool, nbytes in task.allocs:
                if not (
                    alloc_order[pool][alloc_pos[pool]] == i
                    and level[pool] + nbytes <= self.pools[pool] * (1 + EPS) + EPS
                ):
                    return pool
            return None

        def release(server: int) -> None:
            queue = server_queue[server]
            if queue:  # hand the server straight to the longest waiting task
                _, j = heapq.heappop(queue)
                granted.add(j)
                ready.append(j)
            else:
                server_busy[server] = False

        def end(i: int) -> None:
            task = tasks[i]
            finish[i] = now
            for pool, nbytes in task.frees:
                set_pool(pool, -nbytes, i)
            for pool, _ in task.frees:  # room may have been made: try again
                wake(pool)
            for j in dependents[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
            if task.server is not None:
                release(task.server)

        dirty = False
        while True:
            # start everything that is ready now (finishing zero-time tasks at once)
            ready.sort(reverse=True)
            while ready:
                i = ready.pop()
                task = tasks[i]
                if task.allocs and (pool := misfit(i, task)) is not None:  # turn and room
                    blocked.setdefault(pool, []).append(i)
                    if i in granted:
                        granted.discard(i)
                        assert task.server is not None
                        release(task.server)
                    continue
                if task.server is not None:
                    if i in granted:
                        granted.discard(i)
                    elif server_busy[task.server]:
                        heapq.heappush(server_queue[task.server], (now, i))
                        continue
                    else:
                        server_busy[task.server] = True
                begin(i)
                dirty = True
                if parts[i] == 0:
                    end(i)
                    done_count += 1
            if dirty:
                net.recompute()
                self._log_rates(net, link_rates, now)
                dirty = False
            t_timer = timers[0][0] if timers else math.inf
            t_flow = net.next_completion()
            t = min(t_timer, t_flow)
            if math.isinf(t):
                break
            ended = net.advance(t)
            now = t
            finished: list[int] = []
            for flow in ended:
                owner = flow.owner
                assert isinstance(owner, int)
                if id(flow) in flow_start:
                    spans.append((owner, flow_start.pop(id(flow)), now, flow.nbytes))
                parts[owner] -= 1
                if parts[owner] == 0:
                    finished.append(owner)
                dirty = True
            while timers and timers[0][0] <= now + EPS * max(1.0, now):
                _, i = heapq.heappop(timers)
                parts[i] -= 1
                if parts[i] == 0:
                    finished.append(i)
            for i in sorted(finished):
                end(i)
                done_count += 1
        stuck_tasks = sorted(j for js in blocked.values() for j in js)
        if stuck_tasks:  # never enough room: a real overflow
            self.partial = (start, finish, stuck_tasks)
            i = stuck_tasks[0]
            pool, nbytes = next(
                ((p, b) for p, b in tasks[i].allocs
                 if level[p] + b > self.pools[p] * (1 + EPS) + EPS),
                tasks[i].allocs[0],
            )  # fmt: skip
            raise CapacityError(i, pool, level[pool] + nbytes, self.pools[pool])
        if done_count != n:
            stuck = next(i for i in range(n) if math.isnan(finish[i]))
            raise DeadlockError(stuck)
        makespan = max(finish, default=0.0)
        return Run(
            start, finish, makespan, list(net.moved), list(net.peak_use), link_rates,
            pool_levels, pool_peak, spans,
            {k: v for k, v in net.owner_moved.items() if isinstance(k, int)},
        )  # fmt: skip

    def _log_rates(
        self, net: FluidNetwork, link_rates: list[list[tuple[float, float]]], now: float
    ) -> None:
        if self.record_link is None:
            return
        value = net.use.get(self.record_link, 0.0)
        trace = link_rates[self.record_link]
        if trace[-1][0] == now:
            trace[-1] = (now, value)
        elif trace[-1][1] != value:
            trace.append((now, value))


class DeadlockError(Exception):
    """Tasks left that can never start (a dependency cycle); carries one of them."""

    def __init__(self, task: int) -> None:
        super().__init__(f"task {task} can never start")
        self.task = task
