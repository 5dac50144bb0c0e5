"""Where `strict` and the simulator disagree: bytes over the external channel.

    python benchmarks/channel_bytes.py                      # CNNs + BERT-large, batch 1 and 8
    python benchmarks/channel_bytes.py --models resnet18 --batches 8 --json out.json

A diagnostic of the ``strict`` cost model, not a headline. Every point is compiled under ``strict`` and its `cim_meta`
program simulated (as ``benchmarks/simulate.py`` does). Then the bytes
that cross the external channel are counted twice, per segment:

* **estimated** (what ``strict`` charges): what the segment reads from
  earlier segments and arguments and every access to the part of a tensor
  its memory arrays do not hold (:mod:`cmswitch.schedule.held`: ``X + U``),
  weight programming (:func:`~cmswitch.schedule.cost.programmed_bytes`) and
  write-back (``writeback_cycles x external_bw_bytes``);
* **simulated** (the engine's bytes on the external link per task), split by
  the kind of task that moved them: array compute (its input and output
  tiles), vector work, programming, stores and loads.

``streaming`` compares the bytes moved while operators run (estimate: ``X +
U``; simulation: compute + vector tasks), the part the estimate's channel
term is built on. ``uncounted cycles`` is
the simulated streaming bytes the estimate does not charge, at the channel's
rate: the channel time they take alone (hidden where the channel was idle in
the estimate's period, added where it was the bottleneck).
"""

from __future__ import annotations

import argparse
import collections
import time
from typing import Any

from common import write_results
from rich.console import Console
from rich.table import Table

from cmswitch.compile import compile_model, parse_policy
from cmswitch.hardware import Hardware
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.schedule import cost, held
from cmswitch.simulate import meta_of
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timing import simulate_timing

MODELS = ("resnet18", "mobilenetv2", "resnet50", "vgg16", "bert-large")
POLICIES = ("cmswitch", "all-compute-dp", "cim-mlc", "static:0.75")
STREAMING = ("compute", "vector")


def run_point(model: str, batch: int, seq: int, policy: str, hw: Hardware,
              tiles: int) -> dict[str, Any]:  # fmt: skip
    loaded = load_model(model, hardware=hw, batch=batch, seq=seq)
    options = parse_policy(policy, ScheduleOptions(cost_model="strict"))
    compiled = compile_model(loaded, options, batch=batch, seq=seq)
    timeline = simulate_timing(meta_of(compiled), TileOptions(tiles=tiles))
    sched = compiled.schedule
    wl = sched.workload
    e = hw.external_bw_bytes
    segments: list[dict[str, Any]] = []
    for plan in sched.segments:
        s, t = plan.start, plan.end
        memory = plan.memory_arrays
        local = tuple((p - s, c - s, k) for p, c, k in plan.shared)
        data = cost.segment_data(wl, s, t)
        held_arrays = held.held_arrays(data, plan.allocs, local)
        streamed = data.external + held.unheld_bytes(data, held_arrays, hw)
        segments.append({
            "start": s,
            "end": t,
            "memory_arrays": memory,
            "estimated": {
                "streamed": streamed,
                "program": cost.programmed_bytes(wl, s, plan.allocs),
                "writeback": plan.writeback_cycles * e,
            },
            "simulated": collections.Counter(),
            "estimated_cycles": plan.total_cycles,
            "simulated_cycles": 0.0,
        })  # fmt: skip
    for i, task in enumerate(timeline.tasks):
        moved = timeline.run.task_link_bytes.get(i, 0.0)
        if moved:
            seg = timeline.ops[task.op].segment
            segments[seg]["simulated"][task.kind] += moved
    for row, seg in zip(segments, timeline.segments, strict=False):
        row["simulated_cycles"] = seg.cycles
        row["simulated"] = dict(row["simulated"])
    est_stream = sum(r["estimated"]["streamed"] for r in segments)
    sim_stream = sum(r["simulated"].get(k, 0.0) for r in segments for k in STREAMING)
    by_kind: collections.Counter[str] = collections.Counter()
    for r in segments:
        by_kind.update(r["simulated"])
    return {
        "model": model, "batch": batch, "seq": seq, "policy": policy,
        "estimated_cycles": sched.latency_cycles,
        "simulated_cycles": timeline.total_cycles,
        "estimated_streaming_bytes": est_stream,
        "simulated_streaming_bytes": sim_stream,
        "simulated_bytes_by_kind": dict(by_kind),
        "estimated_program_bytes": sum(r["estimated"]["program"] for r in segments),
        "uncounted_cycles": max(0.0, sim_stream - est_stream) / e,
        "segments": segments,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--policies", nargs="+", default=list(POLICIES))
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--arch", default="dynaplasia")
    ap.add_argument("--tiles", type=int, default=16)
    ap.add_argument("--json", default="benchmarks/results/channel_bytes.json")
    args = ap.parse_args()
    hw = Hardware.load(args.arch)
    console = Console(width=160)
    table = Table(title="strict: bytes over the external channel while operators run (MB)")
    for col in ("model", "batch", "policy", "est cycles", "sim cycles", "est MB", "sim MB",
                "sim/est", "sim vector MB", "uncounted cycles"):  # fmt: skip
        table.add_column(col, justify="right")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for model in args.models:
        for batch in args.batches:
            for policy in args.policies:
                row = run_point(model, batch, args.seq, policy, hw, args.tiles)
                rows.append(row)
                est, sim = row["estimated_streaming_bytes"], row["simulated_streaming_bytes"]
                table.add_row(
                    model, str(batch), policy, f"{row['estimated_cycles']:,.0f}",
                    f"{row['simulated_cycles']:,.0f}", f"{est / 1e6:.1f}", f"{sim / 1e6:.1f}",
                    f"{sim / est:.2f}" if est else "-",
                    f"{row['simulated_bytes_by_kind'].get('vector', 0.0) / 1e6:.1f}",
                    f"{row['uncounted_cycles']:,.0f}",
                )  # fmt: skip
                console.print(f"{model} b{batch} {policy}: est {est / 1e6:.1f} MB, "
                              f"sim {sim / 1e6:.1f} MB")  # fmt: skip
                write_results(args.json, "benchmarks/channel_bytes.py",
                              {"cost_model": "strict", "revision": cost.REVISION["strict"],
                               "rows": rows}, hw, arch=args.arch, tiles=args.tiles,
                              run_seconds=round(time.perf_counter() - started, 1))  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
