"""Tests written for mutants of ``cmswitch/schedule/`` that survived the
suite (``benchmarks/mutation.py``; docs/TESTING.md "Mutation testing").
Each names the mutant it kills; each was checked to fail on it."""

from __future__ import annotations

import os

import pytest

from cmswitch.schedule.allocate import quiet_fd1


def test_quiet_fd1_restores_stdout_and_leaves_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """HiGHS's banner goes to /dev/null, and afterwards fd 1 is stdout again
    and fd 2 still stderr (mutant ``allocate.py:152`` ``dup2(saved, 2)``)."""
    with quiet_fd1():
        os.write(1, b"banner\n")
    os.write(1, b"out\n")
    os.write(2, b"err\n")
    got = capfd.readouterr()
    assert got.out == "out\n"
    assert got.err == "err\n"


def test_workload_index_cache_is_bounded() -> None:
    """The per-workload tables of the cost model are memoised for a few
    workloads at a time: at most 9 are held, however many are costed
    (mutant ``cost.py:359`` ``len(_INDEX) > 9``: 10 held)."""
    from cmswitch.dialects.cim import MatmulShape
    from cmswitch.schedule import cost
    from cmswitch.workload import Workload
    from tests.test_allocate import tiny

    hw = tiny(8)
    workloads = [Workload.from_ops(hw, [MatmulShape(8, 32, 4)] * (k + 1)) for k in range(12)]
    sizes = []
    for k, wl in enumerate(workloads):
        assert cost.segment_vector_work(wl, 0, k) == sum(o.vector_work for o in wl.ops)
        sizes.append(len(cost._INDEX))
    assert max(sizes) == 9
    assert cost._index(workloads[-1]) is cost._index(workloads[-1])  # the latest is kept
