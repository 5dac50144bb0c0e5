"""A candidate `strict` rule, checked against the simulator before it is built.

    python benchmarks/held_fraction_rule.py        # CNNs + BERT-large, batch 1 and 8

Not used by the compiler: this script evaluates the per-tensor rule that
``docs/DESIGN.md`` plans for the next ``strict`` revision on the schedules
the current revision chose, and compares both estimates with the simulated
cycles of the same schedules in ``benchmarks/results/simulate.json`` (each
point is re-compiled and must reproduce that file's estimate, so the
schedule is the one simulated).

The rule, per segment: a tensor made by operator ``q`` (``S`` bytes, its
output) is held on chip by ``q``'s output arrays, the input arrays of its
readers in the segment (arrays shared in place counted once) and its share
of the buffer; the fraction ``f = min(1, held / S)`` of every access is
served on chip and the rest crosses the external channel. Accesses: its
write, the vector ops after ``q`` reading and writing it
(``VECTOR_ACCESSES`` bytes per element of their work), and every reader's
streamed input (a convolution's im2col rows). Bytes read from earlier
segments and arguments cross as in revision 4 (``cost.external_bytes``).
The segment's compute time is then ``max(T (1 + F), channel bytes /
external_bw_bytes * (1 + F))``; spills are no longer added separately (their
traffic is in the channel bytes). Programming overlap is not modelled, as in
revision 4.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from common import write_results
from rich.console import Console

from cmswitch.compile import compile_model, parse_policy
from cmswitch.hardware import Hardware
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.schedule import cost
from cmswitch.schedule.plan import SegmentPlan
from cmswitch.workload import Workload

MODELS = ("resnet18", "mobilenetv2", "resnet50", "vgg16", "bert-large")
VECTOR_ACCESSES = 2.0
"""Bytes per element of vector work that touch the tensor (a read and a write)."""


def channel_bytes(wl: Workload, plan: SegmentPlan) -> float:
    """Bytes the candidate rule puts on the external channel in `plan`'s segment."""
    hw = wl.hardware
    start, end = plan.start, plan.end
    alloc = {start + k: a for k, a in enumerate(plan.allocs)}
    shared = {(p, c): n for p, c, n in plan.shared}  # workload indices
    readers: dict[int, list[int]] = {}
    for j in range(start, end + 1):
        if wl.ops[j].source >= start:
            readers.setdefault(wl.ops[j].source, []).append(j)
    resident = cost.resident_bytes(wl, start, end)
    total = 0.0
    for q in range(start, end + 1):
        o = wl.ops[q]
        total += cost.external_bytes(wl, start, q)
        size = o.output_bytes
        if size <= 0:
            continue
        mine = readers.get(q, [])
        arrays = alloc[q].mem_out + sum(alloc[j].mem_in - shared.get((q, j), 0) for j in mine)
        held = arrays * hw.array_bytes
        if mine and resident > 0:
            held += hw.buffer_bytes * size / resident
        f = min(1.0, held / size)
        accesses = (
            size
            + VECTOR_ACCESSES * o.vector_work * hw.act_bytes
            + sum(wl.ops[j].input_bytes for j in mine)
        )
        total += (1.0 - f) * accesses
    return total


def run_point(row: dict[str, Any], hw: Hardware) -> dict[str, Any]:
    loaded = load_model(row["model"], hardware=hw, batch=row["batch"], seq=row["seq"])
    options = parse_policy(row["policy"], ScheduleOptions(cost_model="strict"))
    sched = compile_model(loaded, options, batch=row["batch"], seq=row["seq"]).schedule
    if not math.isclose(sched.latency_cycles, row["estimated_cycles"], rel_tol=1e-9):
        raise SystemExit(
            f"{row['model']} b{row['batch']} {row['policy']}: the schedule is not the simulated one "
            f"({sched.latency_cycles:,.0f} vs {row['estimated_cycles']:,.0f} estimated cycles)"
        )
    wl = sched.workload
    opts = cost.CostOptions(model="strict")
    total = compute = 0.0
    for plan in sched.segments:
        fill = 1.0 + cost.fill_factor(wl, plan.start, plan.end, opts)
        channel = channel_bytes(wl, plan) / hw.external_bw_bytes * fill
        intra = max(plan.intra_cycles, channel)
        total += plan.total_cycles - plan.intra_cycles - plan.spill_cycles + intra
        compute += intra + plan.vector_cycles
    return {
        "model": row["model"], "batch": row["batch"], "policy": row["policy"],
        "simulated_cycles": row["simulated_cycles"],
        "current_cycles": row["estimated_cycles"], "candidate_cycles": total,
        "simulated_compute": row["simulated_compute"],
        "current_compute": row["estimated_compute"], "candidate_compute": compute,
    }  # fmt: skip


def factor(ratios: list[float]) -> float:
    """Geometric mean of |log ratio|, as a factor."""
    return math.exp(sum(abs(math.log(r)) for r in ratios) / len(ratios))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--simulate", default="benchmarks/results/simulate.json")
    ap.add_argument("--json", default="benchmarks/results/held_fraction_rule.json")
    args = ap.parse_args()
    sim = json.loads(Path(args.simulate).read_text())
    hw = Hardware.load(sim["provenance"].get("arch", "dynaplasia"))
    todo = [r for r in sim["rows"] if r["cost_model"] == "strict" and "error" not in r
            and r["model"] in args.models and r["batch"] in args.batches]  # fmt: skip
    console = Console(width=160)
    rows = []
    for row in todo:
        got = run_point(row, hw)
        rows.append(got)
        s = got["simulated_cycles"]
        console.print(f"{got['model']:12s} b{got['batch']:<2d} {got['policy']:15s} est/sim "
                      f"current {got['current_cycles'] / s:.3f}  candidate "
                      f"{got['candidate_cycles'] / s:.3f}")  # fmt: skip
    summary = {
        kind: {
            "total": factor([r[f"{kind}_cycles"] / r["simulated_cycles"] for r in rows]),
            "compute": factor([r[f"{kind}_compute"] / r["simulated_compute"] for r in rows]),
        }
        for kind in ("current", "candidate")
    }
    console.print(summary)
    write_results(args.json, "benchmarks/held_fraction_rule.py",
                  {"revision": cost.REVISION["strict"], "vector_accesses": VECTOR_ACCESSES,
                   "simulate": args.simulate, "summary": summary, "rows": rows}, hw)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
