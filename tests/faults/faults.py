"""Faults kept as tests: plausible bugs of the optimiser, each with the tests
that must catch it.

    python tests/faults/faults.py            # plant each fault, run its tests
    python tests/faults/faults.py --list     # the faults and whether they apply
    python tests/faults/faults.py NAME ...   # only these

Every fault is a (file, old text, new text) replacement. The runner copies
the repository's package and tests to a temporary directory, plants one
fault at a time there (the working tree is never touched), runs the fault's
test node ids with ``PYTHONPATH`` pointing at the copy and checks that at
least one of them fails. A fault whose old text no longer occurs exactly
once (the code moved on) is reported as "does not apply" and counts as
neither caught nor missed: re-target it. Exit status 1 if an applicable
fault was not caught. Not part of the pytest suite (it runs the tests once
per fault); see docs/TESTING.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Fault:
    name: str
    finding: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


POL = "cmswitch/schedule/policies.py"
SEG = "cmswitch/schedule/segment.py"
COST = "cmswitch/schedule/cost.py"
ALLOC = "cmswitch/schedule/allocate.py"
HELD = "cmswitch/schedule/held.py"
STRICT_SOLVER = "cmswitch/schedule/strict_solver.py"
CF = "cmswitch/schedule/closed_form.py"
DPI = "tests/test_dp_inter.py"
DUP = "tests/test_duplicate.py"
SP = "tests/test_solver_paths.py"
WL = "cmswitch/workload.py"
VC = "tests/test_cost.py::test_vector_bytes_and_working_set_by_hand"

FAULTS: list[Fault] = [
    # ------------------------------------------------------------- the DP
    Fault(
        "dp-ignores-writeback",
        "the DP ignoring write-back cost",
        POL,
        """        return switch_cost(hw, c0, m0, c1, m1) + writeback_cost(
            workload, prev[0], prev[1], m0, m1, live=live
        )""",
        "        return switch_cost(hw, c0, m0, c1, m1)",
        (f"{DPI}::test_dp_policies_equal_brute_force_with_inter_costs",),
    ),
    Fault(
        "dp-ignores-switch",
        "the DP ignoring switch cost",
        POL,
        "        return switch_cost(hw, c0, m0, c1, m1) + writeback_cost(",
        "        return 0.0 * switch_cost(hw, c0, m0, c1, m1) + writeback_cost(",
        (f"{DPI}::test_dp_policies_equal_brute_force_with_inter_costs",),
    ),
    Fault(
        "dp-wrong-previous-plan",
        "the DP costing a transition from the wrong previous plan",
        POL,
        "        c0, m0, live = summary_of(prev)\n        c1, m1, _ = summary_of(key)",
        "        c0, m0, live = summary_of((prev[0], prev[1], 0))\n        c1, m1, _ = summary_of(key)",
        (f"{DPI}::test_dp_policies_equal_brute_force_with_inter_costs",),
    ),
    Fault(
        "dp-best-previous-only",
        "the DP state without the plan: only the cheapest previous plan is extended",
        SEG,
        "                        v = b + inter(prev, key)\n                        if v < val:\n                            val, arg = v, prev",
        "                        v = b + inter(prev, key)\n                        if v < val:\n                            val, arg = v, prev\n                        break",
        (f"{DPI}::test_dp_policies_equal_brute_force_with_inter_costs",),
    ),
    Fault(
        "dp-unsound-lower-bound",
        "an unsound pruning bound (the reload floor one array too high)",
        POL,
        "        reload = top * w\n",
        "        reload = (top + 1) * w\n",
        (f"{DPI}::test_pruning_bounds_are_bounds",),
    ),
    Fault(
        "dp-unsound-exit-bound",
        "an unsound pruning bound (the exit bound forgets the write-back)",
        POL,
        "            + min(live, m0 * hw.array_bytes) / hw.external_bw_bytes\n",
        "",
        (f"{DPI}::test_pruning_bounds_are_bounds",),
    ),
    # ------------------------------------------------------------ cim-mlc
    Fault(
        "cim-mlc-one-early",
        "cim-mlc cutting a segment one operator early at the exact chip-full boundary",
        POL,
        "        while j + 1 < n and used + workload.ops[j + 1].min_arrays <= hw.arrays:\n",
        "        while j + 1 < n and used + workload.ops[j + 1].min_arrays < hw.arrays:\n",
        (f"{DUP}::test_cim_mlc_fills_the_chip_exactly",),
    ),
    Fault(
        "cim-mlc-no-duplication",
        "cim-mlc without duplication",
        POL,
        "    if duplicate_weights:\n        cap = c_static",
        '    if duplicate_weights and policy != "cim-mlc":\n        cap = c_static',
        (f"{DUP}::test_cim_mlc_duplicates_left_over_arrays",),
    ),
    # -------------------------------------------------------- duplication
    Fault(
        "dup-ignores-next-switch",
        "duplication ignoring the next segment's switch cost",
        POL,
        "        if k + 1 < len(segs):\n            cost += sum(_inter(workload, seg, segs[k + 1]))",
        "        if False:\n            cost += sum(_inter(workload, seg, segs[k + 1]))",
        (
            f"{DUP}::test_duplication_weighs_the_switch_into_the_next_segment",
            f"{DUP}::test_duplicate_equals_brute_force_over_copy_counts",
        ),
    ),
    Fault(
        "dup-no-joint-move",
        "duplication losing its joint multi-bottleneck move",
        POL,
        "            if len(bottleneck) > 1 and sum(steps.values()) <= free:\n"
        "                moves.append(bottleneck)",
        "            if False:\n                moves.append(bottleneck)",
        (
            f"{DUP}::test_joint_move_for_tied_operators",
            f"{DUP}::test_duplicate_equals_brute_force_over_copy_counts",
        ),
    ),
    # --------------------------------------------------- cost, allocation
    Fault(
        "live-bytes-summed-per-reader",
        "write-back counting a result once per later reader",
        COST,
        "        total += max((b for c, b in succ[p] if c > end), default=0.0)",
        "        total += sum(b for c, b in succ[p] if c > end)",
        ("tests/test_cost.py::test_live_bytes_fan_out_by_hand",),
    ),
    Fault(
        "held-shared-counted-twice",
        "strict: an array shared in place counted in the producer's and the reader's holding",
        HELD,
        "        allocs[t.producer].mem_out + sum(allocs[j].mem_in - into.get(j, 0) for j in t.readers)",
        "        allocs[t.producer].mem_out + sum(allocs[j].mem_in for j in t.readers)",
        ("tests/test_cost.py::test_strict_memory_arrays_hold_what_the_segment_makes",),
    ),
    Fault(
        "held-no-vector-accesses",
        "strict: the vector ops' reads and writes of a tensor left off the channel",
        HELD,
        "            + o.vector_bytes\n",
        "            + 0.0 * o.vector_bytes\n",
        ("tests/test_cost.py::test_strict_memory_arrays_hold_what_the_segment_makes",),
    ),
    Fault(
        "held-size-output-only",
        "strict: a tensor's size is its producer's output, not its vector chain's working set",
        HELD,
        "        size = float(max(o.output_bytes, o.vector_peak))",
        "        size = float(o.output_bytes)",
        (VC,),
    ),
    Fault(
        "later-vector-reads-dropped",
        "strict: a residual add's read of a tensor made earlier in the segment left uncounted",
        HELD,
        "            + later_reads.get(q, 0.0)\n",
        "            + 0.0\n",
        ("tests/test_cost.py::test_workload_knows_streamed_sources_and_vector_reads",),
    ),
    Fault(
        "chain-never-freed",
        "workload: a chain value never given back after its last reader",
        WL,
        "    for v in [v for v in chain if last_use(v, -1) <= k]:",
        "    for v in [v for v in chain if last_use(v, -1) < 0]:",
        (VC,),
    ),
    Fault(
        "vector-reads-other-hosts",
        "workload: a hosted op's reads of another host's value counted as its own tensor's",
        WL,
        "        if producer.get(v) == host:\n            moved +=",
        "        if True:\n            moved +=",
        (VC,),
    ),
    Fault(
        "reshape-moves-bytes",
        "workload: a reshape (a view) charged as a copy",
        WL,
        "    if isinstance(op, ReshapeOp) or not isinstance(op, VectorOp) or not op.results:\n        return 0.0",
        "    if not isinstance(op, VectorOp) or not op.results:\n        return 0.0",
        (VC,),
    ),
    Fault(
        "leading-vector-bytes-dropped",
        "strict: the vector ops before the first CIM operator left off the channel",
        COST,
        "        vec += workload.leading_vector_bytes",
        "        vec += 0.0",
        (VC,),
    ),
    Fault(
        "strict-solver-no-whole-items",
        "strict solver: tensors whose ports are too slow to hold in part never held whole",
        STRICT_SOLVER,
        "            if need <= budget:",
        "            if need <= budget and False:",
        ("tests/test_allocate.py",),
    ),
    Fault(
        "strict-solver-cheapest-first",
        "strict solver: memory arrays given to the tensors that save the least first",
        STRICT_SOLVER,
        "        order.sort(key=lambda g: -g[0])",
        "        order.sort(key=lambda g: g[0])",
        ("tests/test_allocate.py",),
    ),
    Fault(
        "writeback-all-memory",
        "write-back of every array given up, not only the live bytes they held",
        COST,
        "    return min(live, held) / hw.external_bw_bytes",
        "    return held / hw.external_bw_bytes",
        ("tests/test_cost.py::test_live_bytes_fan_out_by_hand",),
    ),
    Fault(
        "switch-no-shadow",
        "switches charged for arrays idle in the previous segment",
        COST,
        "    m2c = max(0, compute - (n - prev_memory))",
        "    m2c = max(0, compute - prev_compute)",
        ("tests/test_cost.py::test_switch_eq1_idle_arrays_free",),
    ),
    Fault(
        "mip-unbounded-sharing",
        "the MIP letting a producer share more output arrays than it has",
        ALLOC,
        "                    h.addConstr(h.qsum(outs) <= mo[i])",
        "                    pass",
        ("tests/test_allocate.py::test_mip_equals_brute_force",),
    ),
    Fault(
        "nan-retry-forever",
        "a MIP whose solution stays NaN retried without end (mutation survivor)",
        ALLOC,
        "            self.no_presolve = True\n",
        "            self.no_presolve = False\n",
        ("tests/test_solver_paths.py::test_nan_solution_is_retried_once_not_forever",),
    ),
    Fault(
        "memory-roles-prefer-compute-mode",
        "memory roles take idle compute-mode arrays before idle memory-mode ones "
        "(mutation survivor: switches Eq. 1 does not charge)",
        "cmswitch/passes/cim_assign_arrays.py",
        '"": 1 if mode is Mode.MEMORY else 2',
        '"": 1 if mode is not Mode.MEMORY else 2',
        ("tests/test_assign_arrays.py::test_memory_roles_take_idle_memory_arrays_first",),
    ),
    Fault(
        "closed-form-ignores-minimum",
        "the closed form giving an operator fewer arrays than its weights need",
        CF,
        "        c = np.maximum(mins, _ceil_vec(macs / (ts * self.hw.op_cim)))",
        "        c = _ceil_vec(macs / (ts * self.hw.op_cim))",
        ("tests/test_allocate.py::test_mip_equals_brute_force", "tests/test_closed_form.py"),
    ),
    # ------------------------------------------------------ solver paths
    Fault(
        "limit-incumbent-dropped",
        "a MIP stopped by its limit with an incumbent taken as infeasible",
        ALLOC,
        "        elif status in _LIMITS and info.primal_solution_status == 2:  # an incumbent",
        "        elif False:",
        (f"{SP}::test_node_limit_keeps_the_incumbent_and_its_gap",),
    ),
    Fault(
        "undecided-matching-infeasible",
        "undecided matching bounds taken as an infeasible segment",
        ALLOC,
        "        if t_star is None:\n            return None\n        mips_before",
        "        if t_star is None or math.isnan(t_star):\n            return None\n        mips_before",
        (f"{SP}::test_undecided_matching_uses_the_mip_and_stays_exact",),
    ),
    Fault(
        "nan-retry-with-presolve",
        "the NaN retry runs with presolve again",
        ALLOC,
        '            h.setOptionValue("presolve", "off")',
        '            h.setOptionValue("presolve", "choose")',
        (f"{SP}::test_nan_solution_is_solved_again_without_presolve",),
    ),
    Fault(
        "no-work-limit",
        "the solver limit left to wall-clock time (no node limit)",
        ALLOC,
        '        h.setOptionValue("mip_max_nodes", int(node_limit))',
        "        pass",
        (f"{SP}::test_default_limits_are_work_not_time",),
    ),
    # ------------------------------------------------------------ driver
    Fault(
        "worker-always-fails",
        "the compile worker always failing (the driver silently falls back)",
        "cmswitch/compile.py",
        '            return value if status == "ok" else None',
        "            return None",
        ("tests/test_compile.py::test_worker_process_gives_the_same_result",),
    ),
    Fault(
        "worker-never-falls-back",
        "a failed worker's granularities never planned",
        "cmswitch/compile.py",
        "            else:  # the worker failed: plan here (a user error then shows as usual)\n                plan_here(budget, fraction)",
        "            else:  # the worker failed: plan here (a user error then shows as usual)\n                pass",
        ("tests/test_compile.py::test_failed_worker_falls_back_to_this_process",),
    ),
]


def applies(f: Fault, root: Path) -> str | None:
    """None if the fault can be planted, else why not."""
    path = root / f.file
    if not path.exists():
        return f"{f.file} does not exist"
    count = path.read_text().count(f.old)
    if count != 1:
        return f"old text found {count} times in {f.file}"
    return None


def _workspace() -> Path:
    work = Path(tempfile.mkdtemp(prefix="cmswitch-faults-"))
    ignore = shutil.ignore_patterns("__pycache__", "Output", "*.lit_test_times.txt")
    for d in ("cmswitch", "tests"):
        shutil.copytree(ROOT / d, work / d, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    return work


def run_fault(f: Fault, work: Path, timeout: float) -> tuple[str, str]:
    """('caught' | 'MISSED' | 'does not apply' | 'timeout', detail)."""
    why = applies(f, work)
    if why is not None:
        return "does not apply", why
    path = work / f.file
    original = path.read_text()
    path.write_text(original.replace(f.old, f.new))
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider",
             *f.tests],
            cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "timeout", f"> {timeout:g} s"
    finally:
        path.write_text(original)
    if proc.returncode == 1:
        failed = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("FAILED ")]
        return "caught", failed[0] if failed else "failed"
    if proc.returncode == 0:
        return "MISSED", "every test passed with the fault planted"
    return "MISSED", f"pytest exit {proc.returncode} (bad node id?): {proc.stdout[-300:]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="plant each fault and check that its tests fail")
    ap.add_argument("names", nargs="*", help="only these faults")
    ap.add_argument("--list", action="store_true", help="list faults and whether they apply")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    chosen = [f for f in FAULTS if not args.names or f.name in args.names]
    unknown = set(args.names) - {f.name for f in FAULTS}
    if unknown:
        print(f"unknown faults: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.list:
        for f in chosen:
            print(f"{f.name:28} {applies(f, ROOT) or 'applies'}  ({f.finding})")
        return 0
    work = _workspace()
    missed = 0
    try:
        for f in chosen:
            status, detail = run_fault(f, work, args.timeout)
            missed += status in ("MISSED", "timeout")
            print(f"{status:15} {f.name:28} {detail}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(chosen)} faults, {missed} not caught")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
