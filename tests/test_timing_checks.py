"""Each invariant of the timing simulator, broken on purpose and caught with
a message naming the op.

Program-level mistakes (too many arrays, wrong mode, a tensor that never
fits) are broken by a program. The conservation, utilisation, bound and
accounting checks guard the simulator itself: no valid program breaks them,
so each is broken by planting the fault it guards against (a task that
loses bytes, a piece that starts early, a total below its bounds, a
breakdown that does not sum) and the check must name the op concerned.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmswitch.ir import parse_module
from cmswitch.simulator import timing
from cmswitch.simulator.checks import check_timeline, critical_path, too_fast
from cmswitch.simulator.engine import Task
from cmswitch.simulator.errors import SimulationError
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timing import simulate_timing
from tests.test_timing import linear, prog, program, segment


def good_program(
    place: str = "buffer = 32", arrays: str = "0", extra: list[str] | None = None
) -> str:
    body = segment(0, [
        *(extra or []),
        prog("%w", "fc", arrays, "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
        linear("%x", "%w", arrays, place, 4, 4, 8, "fc", "%y"),
    ], "%y", "tensor<8x4xf32>")  # fmt: skip
    return program(f'    %w = cim.constant "w" : tensor<4x4xf32>\n{body}\n'
                   "    func.return %s0 : tensor<8x4xf32>", "%x: tensor<8x4xf32>",
                   "tensor<8x4xf32>")  # fmt: skip


def simulate(text: str):  # type: ignore[no-untyped-def]
    return simulate_timing(parse_module(text), TileOptions(tile_rows=1))


def test_the_good_program_passes() -> None:
    assert simulate(good_program()).total_cycles == pytest.approx(72.0)


def test_more_arrays_than_the_chip() -> None:
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.program "fc" (segment 0): arrays [9] do not exist (the chip has 8)'
    )):  # fmt: skip
        simulate(good_program(arrays="9"))


def test_compute_on_a_memory_array() -> None:
    switch = "cim_meta.switch {arrays = array<i64: 0>, mode = #cim<mode memory>}"
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.program "fc" (segment 0): arrays [0] are in memory mode'
    )):  # fmt: skip
        simulate(good_program(extra=[switch]))


def test_data_placed_in_compute_arrays() -> None:
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): memory arrays [3] are in compute mode'
    )):  # fmt: skip
        simulate(good_program(place="arrays [3] = 32"))


def test_switch_to_the_mode_it_has() -> None:
    switch = "cim_meta.switch {arrays = array<i64: 2>, mode = #cim<mode compute>}"
    with pytest.raises(SimulationError, match=re.escape(
        "cim_meta.switch (segment 0): arrays [2] are already in compute mode"
    )):  # fmt: skip
        simulate(good_program(extra=[switch]))


def test_tensor_beyond_a_memory_arrays_capacity() -> None:
    # 32 B striped over arrays 1, 2 fit (16 B each); into array 1 alone they
    # never fit: array_bytes is 16
    switch = "cim_meta.switch {arrays = array<i64: 1, 2>, mode = #cim<mode memory>}"
    assert simulate(good_program(place="arrays [1, 2] = 32", extra=[switch])).total_cycles > 0
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): memory array 1 would hold 32 bytes, its capacity is 16'
    )):  # fmt: skip
        simulate(good_program(place="arrays [1] = 32", extra=[switch]))


def test_tensor_beyond_the_buffer() -> None:
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): the buffer would hold 32 bytes, its capacity is 16'
    )):  # fmt: skip
        simulate(good_program().replace("buffer_bytes = 1024", "buffer_bytes = 16"))


# ------------------------------------------------ checks guarding the simulator


def built(text: str) -> timing._Builder:
    module = parse_module(text)
    builder = timing._Builder(timing.module_hardware(module), TileOptions(tile_rows=1))
    builder.build(timing.main_function(module))
    return builder


def test_conservation_catches_lost_bytes() -> None:
    # plant: the compute's first tile reads its input from nowhere
    builder = built(good_program())
    i = next(k for k, t in enumerate(builder.tasks) if t.kind == "compute")
    task = builder.tasks[i]
    task.flows = tuple(f for f in task.flows if all(link != 0 for link, _ in f.links))
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): moved 28.0 bytes over the external channel, its '
        "program calls for 32.0"
    )):  # fmt: skip
        timing.run_tasks(builder)


def test_array_double_booking_is_caught() -> None:
    # plant: the second compute tile starts while the first still runs
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    tiles = [k for k, t in enumerate(builder.tasks) if t.kind == "compute"]
    timeline.run.start[tiles[1]] -= 4.0
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): array 0 is busy until cycle 16'
    )):  # fmt: skip
        check_timeline(timeline, builder.ops, builder.declared_ext)


def test_piece_faster_than_its_resources_is_caught() -> None:
    # plant: a program tile claims to finish in 1 cycle (its 4 rows need 8)
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    i = next(k for k, t in enumerate(builder.tasks) if t.kind == "program")
    timeline.run.finish[i] = timeline.run.start[i] + 1.0
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.program "fc" (segment 0): a piece took 1 cycles, its resources need 8'
    )):  # fmt: skip
        check_timeline(timeline, builder.ops, builder.declared_ext)


def test_clock_rounding_is_not_a_piece_too_fast() -> None:
    # seen on resnet50 b8 under static:0.5: a vector piece of 224 cycles
    # ending near cycle 5e6 measured 223.999 (rate changes summed into the
    # clock); that is rounding, 2e-10 of the clock, not a faster piece
    assert not too_fast(223.999, 224.0, 5e6)
    assert not too_fast(31.9998, 32.0, 2e7)
    # the same shortfall early in a run, and a real shortfall late, are caught
    assert too_fast(223.999, 224.0, 300.0)
    assert too_fast(223.0, 224.0, 5e6)
    assert too_fast(1.0, 8.0, 1e7)


def test_channel_above_capacity_is_caught() -> None:
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    timeline.run.link_peak[0] = 5.0
    with pytest.raises(
        SimulationError, match="link external carried 5 bytes/cycle, its capacity is 4"
    ):
        check_timeline(timeline, builder.ops, builder.declared_ext)


def test_total_below_the_critical_path_is_caught() -> None:
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    timeline.run.makespan = 60.0  # below 72
    with pytest.raises(SimulationError, match="below"):
        check_timeline(timeline, builder.ops, builder.declared_ext)


def test_breakdown_that_does_not_sum_is_caught() -> None:
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    timeline.breakdown = dict(timeline.breakdown, stall=timeline.breakdown["stall"] + 3.0)
    with pytest.raises(SimulationError, match="the breakdown sums to 75 cycles, the total is 72"):
        check_timeline(timeline, builder.ops, builder.declared_ext)


def test_dependency_violation_is_caught() -> None:
    # plant: a compute tile starts before its input (the previous tile on the
    # same array is moved too so that only the dependency is broken)
    builder = built(good_program())
    timeline = timing.run_tasks(builder, check=False)
    i = next(k for k, t in enumerate(builder.tasks) if t.kind == "compute")
    builder.tasks[i].deps = (0,)  # the program of array 0, done at cycle 8
    timeline.run.start[i] = 2.0
    with pytest.raises(SimulationError, match=re.escape(
        'cim_meta.compute "fc" (segment 0): started at cycle 2 before its input was ready (cycle 8)'
    )):  # fmt: skip
        check_timeline(timeline, builder.ops, builder.declared_ext)


def _path_by_lists(tasks: list[Task], bounds: list[float]) -> float:
    """The critical path spelled out: every task's predecessors listed."""
    done = [0.0] * len(tasks)
    last_excl: dict[int, int] = {}
    since: dict[int, list[int]] = {}
    for i, task in enumerate(tasks):
        before = [done[d] for d in task.deps]
        for a in task.arrays:
            if a in last_excl:
                before.append(done[last_excl[a]])
            before += [done[j] for j in since.pop(a, ())]
            last_excl[a] = i
        for a in task.touches:
            if a in last_excl:
                before.append(done[last_excl[a]])
            since.setdefault(a, []).append(i)
        done[i] = max(before, default=0.0) + bounds[i]
    return max(done, default=0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.lists(st.integers(0, 4), max_size=3, unique=True),
    st.lists(st.integers(0, 4), max_size=3, unique=True),
    st.floats(0.5, 10.0), st.lists(st.integers(0, 40), max_size=2),
), min_size=1, max_size=30))  # fmt: skip
def test_critical_path_equals_the_listed_predecessors(
    spec: list[tuple[list[int], list[int], float, list[int]]],
) -> None:
    tasks = [
        Task(0, "compute", cycles=c, arrays=tuple(a), touches=tuple(t),
             deps=tuple(d for d in deps if d < i))
        for i, (a, t, c, deps) in enumerate(spec)
    ]  # fmt: skip
    bounds = [t.cycles for t in tasks]
    assert critical_path(tasks, [1.0], bounds) == pytest.approx(_path_by_lists(tasks, bounds))


def test_critical_path_of_a_chain_by_hand() -> None:
    # A on arrays (0, 1) for 5; B touches array 1 (memory read) for 2; C
    # uses array 1 exclusively for 3: after B (5 + 2), so 10; D on array 0
    # only after A: 5 + 1 = 6. The path is 10.
    tasks = [
        Task(0, "compute", cycles=5.0, arrays=(0, 1)),
        Task(0, "transfer", cycles=2.0, touches=(1,)),
        Task(0, "switch", cycles=3.0, arrays=(1,)),
        Task(0, "switch", cycles=1.0, arrays=(0,)),
    ]
    assert critical_path(tasks, [1.0]) == pytest.approx(10.0)
