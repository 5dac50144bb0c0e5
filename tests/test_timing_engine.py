"""The discrete-event engine and the fluid channel, on cases derived by hand.

No `cim_meta` here: these pin the core that the program binding relies on.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmswitch.simulator.engine import CapacityError, Engine, FlowSpec, Task
from cmswitch.simulator.fluid import Flow, FluidNetwork, Link


def rates(net: FluidNetwork) -> list[float]:
    net.recompute()
    return [round(f.rate, 9) for f in net.flows]


def test_equal_share_on_one_link() -> None:
    net = FluidNetwork([Link("ext", 10.0)])
    net.add(Flow(100, ((0, 1.0),)))
    net.add(Flow(100, ((0, 1.0),)))
    assert rates(net) == [5.0, 5.0]


def test_capped_flow_leaves_the_rest_to_others() -> None:
    # max-min: the capped flow gets 2, the other the remaining 8 (not 5)
    net = FluidNetwork([Link("ext", 10.0)])
    net.add(Flow(100, ((0, 1.0),), cap=2.0))
    net.add(Flow(100, ((0, 1.0),)))
    assert rates(net) == [2.0, 8.0]


def test_striped_flow_uses_weighted_ports() -> None:
    # a tensor striped over two memory arrays (ports of 4 B/cycle each) puts
    # half its rate through each port: it moves at 8, bounded by the ports,
    # then a second flow on port 0 alone shares port 0: x/2 + y <= 4 and the
    # channel is not involved. Progressive filling: both rise to level L with
    # L/2 + L = 4 -> L = 8/3 (port 0 full), both frozen.
    net = FluidNetwork([Link("p0", 4.0), Link("p1", 4.0)])
    net.add(Flow(100, ((0, 0.5), (1, 0.5))))
    assert rates(net) == [8.0]
    net.add(Flow(100, ((0, 1.0),)))
    assert rates(net) == [round(8 / 3, 9), round(8 / 3, 9)]


def test_two_links_in_series_bottleneck() -> None:
    # flow A over ext (10) and bus (4); flow B over ext only: A gets 4, B 6
    net = FluidNetwork([Link("ext", 10.0), Link("bus", 4.0)])
    net.add(Flow(1, ((0, 1.0), (1, 1.0))))
    net.add(Flow(1, ((0, 1.0),)))
    assert rates(net) == [4.0, 6.0]


def ext_engine(bw: float = 10.0, **kw: object) -> Engine:
    return Engine([Link("ext", bw)], **kw)  # type: ignore[arg-type]


def ext(nbytes: float, cap: float = math.inf) -> FlowSpec:
    return FlowSpec(nbytes, ((0, 1.0),), cap)


def test_rates_recomputed_when_a_flow_ends() -> None:
    # 100 B and 50 B start together on 10 B/cycle: both at 5; the 50 B flow
    # ends at t = 10 having left the other 50 B, which then runs at 10: 15.
    run = ext_engine().run(
        [Task(0, "transfer", flows=(ext(100),)), Task(1, "transfer", flows=(ext(50),))]
    )
    assert run.finish == pytest.approx([15.0, 10.0])
    assert run.link_bytes[0] == pytest.approx(150.0)


def test_late_flow_slows_an_early_one() -> None:
    # A: 100 B alone at 10 for 4 cycles (40 B); B (30 B) starts at t = 4 after
    # a 4-cycle task; both at 5: B ends at 4 + 6 = 10 (A has 30 B left), A at 13.
    tasks = [
        Task(0, "transfer", flows=(ext(100),)),
        Task(1, "compute", cycles=4.0),
        Task(2, "transfer", flows=(ext(30),), deps=(1,)),
    ]
    run = ext_engine().run(tasks)
    assert run.finish == pytest.approx([13.0, 4.0, 10.0])


def test_tile_is_max_of_compute_and_flows() -> None:
    # a tile of 8 cycles with a 50 B input (5 cycles at 10 B/cycle) takes 8;
    # with a 120 B input it takes 12.
    run = ext_engine().run([Task(0, "compute", cycles=8.0, flows=(ext(50),))])
    assert run.makespan == pytest.approx(8.0)
    run = ext_engine().run([Task(0, "compute", cycles=8.0, flows=(ext(120),))])
    assert run.makespan == pytest.approx(12.0)


def test_pipeline_fill_matches_closed_form() -> None:
    # K tiles through 3 stages on their own arrays, constant durations d:
    # makespan = sum(d) + (K - 1) * max(d) = 2 + 5 + 3 + 9 * 5 = 55
    d = (2.0, 5.0, 3.0)
    k = 10
    tasks: list[Task] = []
    index: dict[tuple[int, int], int] = {}
    for tile in range(k):
        for s, dur in enumerate(d):
            deps = (index[(tile, s - 1)],) if s else ()
            index[(tile, s)] = len(tasks)
            tasks.append(Task(s, "compute", cycles=dur, deps=deps, arrays=(s,)))
    run = ext_engine().run(tasks)
    assert run.makespan == pytest.approx(55.0)


def test_array_used_in_program_order_and_memory_users_block_a_switch() -> None:
    # array 0: compute 5 cycles, then read as memory by a 30 B flow (3 cycles),
    # then switched (2 cycles): the switch waits for the reader: 5 + 3 + 2 = 10
    tasks = [
        Task(0, "compute", cycles=5.0, arrays=(0,)),
        Task(1, "transfer", flows=(ext(30),), touches=(0,)),
        Task(2, "switch", cycles=2.0, arrays=(0,)),
    ]
    run = ext_engine().run(tasks)
    assert run.start == pytest.approx([0.0, 5.0, 8.0])
    assert run.makespan == pytest.approx(10.0)


def test_vector_unit_first_come_first_served() -> None:
    # t0 ready at 0 (6 cycles); t1 ready at 1, t2 ready at 2 (program order
    # would put t2 first if it came first in the list): served t0, t1, t2.
    tasks = [
        Task(0, "compute", cycles=2.0),
        Task(1, "compute", cycles=1.0),
        Task(2, "vector", cycles=6.0, server=0),
        Task(3, "vector", cycles=4.0, server=0, deps=(0,)),
        Task(4, "vector", cycles=3.0, server=0, deps=(1,)),
    ]
    run = ext_engine().run(tasks)
    # t2: 0-6; task 4 ready at 1, task 3 ready at 2 -> 4: 6-9, 3: 9-13
    assert run.start[4] == pytest.approx(6.0)
    assert run.start[3] == pytest.approx(9.0)
    assert run.makespan == pytest.approx(13.0)


def test_pool_write_waits_for_room_and_overflow_names_the_task() -> None:
    # tasks 0 and 1 are ready together but 60 + 60 > 100: task 1 waits until
    # task 0 frees its 60 bytes at cycle 1, then runs 1..2
    tasks = [
        Task(0, "transfer", cycles=1.0, allocs=((0, 60.0),), frees=((0, 60.0),)),
        Task(1, "transfer", cycles=1.0, allocs=((0, 60.0),)),
    ]
    run = ext_engine(pools=(100.0,)).run(tasks)
    assert run.start == pytest.approx([0.0, 1.0])
    assert run.pool_peak[0] == pytest.approx(60.0)
    # task 1 keeps its 60 bytes; task 2 needs 50 more, which never fits
    tasks.append(Task(2, "transfer", cycles=1.0, allocs=((0, 50.0),)))
    with pytest.raises(CapacityError) as err:
        ext_engine(pools=(100.0,)).run(tasks)
    assert err.value.task == 2
    assert err.value.level == pytest.approx(110.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 30), st.sampled_from([1.0, 3.0, math.inf])),
        min_size=1, max_size=12,
    ),
    st.integers(1, 16),
)  # fmt: skip
def test_conservation_and_bounds(spec: list[tuple[int, int, float]], bw: int) -> None:
    # every byte crosses the link once; no instant above its capacity; the
    # makespan is at least bytes / bandwidth and at least every task's own
    # lower bound (cycles, bytes / cap)
    tasks = [
        Task(i, "transfer", cycles=float(c), flows=(ext(b, cap),), deps=(i - 1,) if i % 3 else ())
        for i, (b, c, cap) in enumerate(spec)
    ]
    run = ext_engine(float(bw)).run(tasks)
    total = sum(b for b, _, _ in spec)
    assert run.link_bytes[0] == pytest.approx(total)
    assert run.link_peak[0] <= bw * (1 + 1e-9)
    assert run.makespan >= total / bw * (1 - 1e-9)
    for i, (b, c, cap) in enumerate(spec):
        assert run.finish[i] - run.start[i] >= max(c, b / min(cap, bw)) * (1 - 1e-9)


def test_breakdown_priority_and_windows() -> None:
    from cmswitch.simulator.accounting import breakdown, segment_ends

    # compute 0-10, vector 5-15 (5 hidden), program 12-20 (12-15 hidden by
    # vector), a transfer 22-25 (stall), idle 20-22 (stall); total 25.
    kinds = ["compute", "vector", "program", "transfer"]
    start = [0.0, 5.0, 12.0, 22.0]
    finish = [10.0, 15.0, 20.0, 25.0]
    ends = segment_ends([0, 0, 1, 1], finish, 2)
    assert ends == [15.0, 25.0]
    parts = breakdown(kinds, start, finish, ends)
    assert parts[0] == {"intra": 10.0, "vector": 5.0, "reload": 0.0, "switch": 0.0,
                        "writeback": 0.0, "stall": 0.0}  # fmt: skip
    assert parts[1] == {"intra": 0.0, "vector": 0.0, "reload": 5.0, "switch": 0.0,
                        "writeback": 0.0, "stall": 5.0}  # fmt: skip


def test_pool_is_allocated_in_program_order() -> None:
    # T2 is ready at 0 but T1, before it in program order, allocates in the
    # same pool only at 5 (after T0): T2 may not take the room first. At 5 T1
    # takes 60 of 100, T2's 60 do not fit until T1 frees them at 7: T2 runs
    # 7..8 (a later segment's prefetch never starves an earlier write).
    tasks = [
        Task(0, "compute", cycles=5.0),
        Task(1, "transfer", cycles=2.0, deps=(0,), allocs=((0, 60.0),), frees=((0, 60.0),)),
        Task(2, "transfer", cycles=1.0, allocs=((0, 60.0),), frees=((0, 60.0),)),
    ]
    run = ext_engine(pools=(100.0,)).run(tasks)
    assert run.start == pytest.approx([0.0, 5.0, 7.0])
    assert run.makespan == pytest.approx(8.0)


def test_last_bytes_below_the_clock_resolution_still_finish() -> None:
    # seen in llama2-7b: at t ~ 8e7 cycles a flow had 8.4e-7 bytes left (just
    # above its rounding tolerance) at 126 B/cycle: 6.7e-9 cycles, below the
    # spacing of floats near 8e7, so now + dt == now and the flow never ended
    net = FluidNetwork([Link("ext", 126.075)])
    net.now = 79770238.84267345
    flow = Flow(800.0, ((0, 1.0),))
    flow.remaining = 8.434057008344098e-07
    net.add(flow)
    net.recompute()
    t = net.next_completion()
    assert t == net.now  # the finish time rounds to the present
    assert net.advance(t) == [flow]
    assert net.flows == [] and flow.remaining == 0.0


def test_a_flow_standing_for_three_gets_three_shares() -> None:
    # max-min over 3 + 1 equal parts of 8 B/cycle: 2 each, so 6 and 2
    net = FluidNetwork([Link("ext", 8.0)])
    net.add(Flow(100, ((0, 1.0),), share=3))
    net.add(Flow(100, ((0, 1.0),)))
    assert rates(net) == [6.0, 2.0]
    # each of the three parts capped at 1: 3 in all, the plain flow takes the other 5
    net = FluidNetwork([Link("ext", 8.0)])
    net.add(Flow(100, ((0, 1.0),), cap=3.0, share=3))
    net.add(Flow(100, ((0, 1.0),)))
    assert rates(net) == [3.0, 5.0]
