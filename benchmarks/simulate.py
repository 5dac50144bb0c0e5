"""Estimate against simulation: every zoo model, policy, batch and cost model.

    python benchmarks/simulate.py                        # full zoo, batch 1 and 8, seq 64
    python benchmarks/simulate.py --models resnet18 --batches 1 --json out.json
    python benchmarks/simulate.py --resume               # skip points already in the JSON
    python benchmarks/simulate.py --merge a.json b.json  # runs made in parallel, into --json

For each point the model is compiled through the public API with the cost
model (``paper`` or ``strict``) and policy, which gives the *estimated*
cycles; its `cim_meta` program (``compile --emit meta``) is then run by the
timing simulator, which gives the *simulated* cycles. The simulator reads
the program and the chip only. Per cost model the table reports the mean
of |log(estimated / simulated)| (and exp of it: the geometric-mean factor
between them), the geometric mean of estimated / simulated, and the mean
Kendall tau between the policies' rankings by estimate and by simulation
(one tau per model and batch).

Per point and per segment the simulation is split into *compute* (arrays or
vector unit working) and *waiting* (programming, switches, write-back and
stalls not hidden behind work), beside the estimate's ``intra + vector`` and
``reload + switch + writeback``: one end-to-end ratio can hide errors that
cancel. Results are written after every point, so a long run that is cut
short keeps what it did. The per-segment rows of points with more than
``SIDECAR_SEGMENTS`` segments (the LLMs: up to tens of thousands) go to a
gzip sidecar beside ``--json`` (``NAME_segments.json.gz``, keyed
``"model bB cost-model policy"``); the row then says where they are.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from common import write_results
from rich.console import Console
from rich.table import Table

from cmswitch.compile import DEFAULT_POLICIES, compile_model, parse_policy
from cmswitch.hardware import Hardware
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulate import meta_of
from cmswitch.simulator.tiles import TileOptions
from cmswitch.simulator.timing import simulate_timing

MODELS = ("mobilenetv2", "resnet18", "resnet50", "vgg16", "bert-large", "opt-6.7b", "opt-13b",
          "llama2-7b")  # fmt: skip
COST_MODELS = ("paper", "strict")
SIDECAR_SEGMENTS = 1000


def run_point(model: str, batch: int, seq: int, policy: str, cost_model: str, hw: Hardware,
              tiles: int) -> dict[str, Any]:  # fmt: skip
    loaded = load_model(model, hardware=hw, batch=batch, seq=seq)
    options = parse_policy(policy, ScheduleOptions(cost_model=cost_model))  # type: ignore[arg-type]
    start = time.perf_counter()
    compiled = compile_model(loaded, options, batch=batch, seq=seq)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    timeline = simulate_timing(meta_of(compiled), TileOptions(tiles=tiles))
    simulate_s = time.perf_counter() - start
    est = compiled.schedule
    est_b = est.breakdown()
    segments = []
    for plan, seg in zip(est.segments, timeline.segments, strict=False):
        segments.append({
            "index": seg.index,
            "estimated_cycles": plan.total_cycles,
            "simulated_cycles": seg.cycles,
            "estimated_compute": plan.intra_cycles + plan.vector_cycles,
            "simulated_compute": seg.compute,
            "estimated_waiting": plan.reload_cycles + plan.switch_cycles + plan.writeback_cycles,
            "simulated_waiting": seg.waiting,
        })  # fmt: skip
    sim_b = timeline.breakdown
    run = timeline.run
    # compute tiles: pure array cycles vs how long they took (input/output
    # bandwidth stretches a tile beyond its act_bits cycles per row)
    compute = [i for i, t in enumerate(timeline.tasks) if t.kind == "compute"]
    tile_cycles = sum(timeline.tasks[i].cycles for i in compute)
    tile_time = sum(run.finish[i] - run.start[i] for i in compute)
    return {
        "model": model, "batch": batch, "seq": seq, "policy": policy, "cost_model": cost_model,
        "estimated_cycles": est.latency_cycles,
        "simulated_cycles": timeline.total_cycles,
        "ratio": est.latency_cycles / timeline.total_cycles,
        "breakdown": {"estimated": est_b, "simulated": dict(sim_b)},
        "estimated_compute": est_b["intra"] + est_b["vector"],
        "simulated_compute": sim_b["intra"] + sim_b["vector"],
        "estimated_waiting": est_b["reload"] + est_b["switch"] + est_b["writeback"],
        "simulated_waiting": timeline.total_cycles - sim_b["intra"] - sim_b["vector"],
        "segments": segments,
        "compute_tile_cycles": tile_cycles,
        "compute_tile_time": tile_time,
        "tasks": len(timeline.tasks),
        "compile_seconds": round(compile_s, 3),
        "simulate_seconds": round(simulate_s, 3),
    }  # fmt: skip


def row_key(row: dict[str, Any]) -> str:
    return f"{row['model']} b{row['batch']} {row['cost_model']} {row['policy']}"


def sidecar_path(json_path: str) -> Path:
    path = Path(json_path)
    return path.with_name(f"{path.stem}_segments.json.gz")


def save(json_path: str, rows: list[dict[str, Any]], **provenance: Any) -> None:
    """Writes the rows and their summary to `json_path`, the long per-segment
    lists to its sidecar (merged with what the sidecar already holds)."""
    side = sidecar_path(json_path)
    moved: dict[str, Any] = {}
    if side.exists():
        moved = json.loads(gzip.decompress(side.read_bytes()))
    slim = []
    for row in rows:
        segs = row.get("segments")
        if isinstance(segs, list) and len(segs) > SIDECAR_SEGMENTS:
            moved[row_key(row)] = segs
            row = {**row, "segments": f"{len(segs)} segments, in {side.name} under "
                                      f"{row_key(row)!r}"}  # fmt: skip
        slim.append(row)
    if moved:
        data = json.dumps(moved, sort_keys=True).encode()
        tmp = side.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(gzip.compress(data, mtime=0))
        tmp.replace(side)
    write_results(json_path, "benchmarks/simulate.py",
                  {"rows": slim, "summary": summarise(slim)},
                  loadavg=os.getloadavg(), **provenance)  # fmt: skip


def merge(sources: list[str], json_path: str, arch: str, tiles: int,
          since: str | None = None) -> int:  # fmt: skip
    """The rows of runs made in parallel (each its own --json), into one
    file, in the order a single run makes them; each source's provenance is
    kept under ``sources``. Their sidecars are merged too."""
    rows: dict[str, dict[str, Any]] = {}
    sources_prov = []
    for src in sources:
        got = json.loads(Path(src).read_text())
        sources_prov.append({"file": src, **got.get("provenance", {})})
        side = sidecar_path(src)
        long = json.loads(gzip.decompress(side.read_bytes())) if side.exists() else {}
        for row in got["rows"]:
            if isinstance(row.get("segments"), str) and row_key(row) in long:
                row = {**row, "segments": long[row_key(row)]}
            rows.setdefault(row_key(row), row)
    order = {m: i for i, m in enumerate(MODELS)}
    ordered = sorted(rows.values(), key=lambda r: (
        order.get(r["model"], len(order)), r["model"], r["batch"],
        COST_MODELS.index(r["cost_model"]),
        list(DEFAULT_POLICIES).index(r["policy"]) if r["policy"] in DEFAULT_POLICIES else 99,
        r["policy"]))  # fmt: skip
    side = sidecar_path(json_path)
    if side.exists():
        side.unlink()  # rebuilt from the sources
    extra = {"measured_since": since} if since else {}
    save(json_path, ordered, arch=arch, tiles=tiles, sources=sources_prov, **extra)
    print(f"{len(ordered)} rows from {len(sources)} files into {json_path}")
    return 0


def kendall_tau(a: list[float], b: list[float]) -> float | None:
    """Kendall's tau-b of two rankings (None for fewer than two items)."""
    n = len(a)
    if n < 2:
        return None
    concordant = discordant = ties_a = ties_b = 0
    for i in range(n):
        for j in range(i + 1, n):
            da = (a[i] > a[j]) - (a[i] < a[j])
            db = (b[i] > b[j]) - (b[i] < b[j])
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif da == db:
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denom if denom else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cm in COST_MODELS:
        mine = [r for r in rows if r["cost_model"] == cm and "error" not in r]
        if not mine:
            continue
        logs = [abs(math.log(r["ratio"])) for r in mine if r["ratio"] > 0]
        taus: list[float] = []
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for r in mine:
            groups.setdefault((r["model"], r["batch"]), []).append(r)
        per_group = {}
        for (model, batch), rs in sorted(groups.items()):
            tau = kendall_tau(
                [r["estimated_cycles"] for r in rs], [r["simulated_cycles"] for r in rs]
            )
            per_group[f"{model}/b{batch}"] = tau
            if tau is not None:
                taus.append(tau)
        out[cm] = {
            "points": len(mine),
            "mean_abs_log_ratio": sum(logs) / len(logs) if logs else None,
            "geomean_factor": math.exp(sum(logs) / len(logs)) if logs else None,
            "geomean_est_over_sim": (
                math.exp(sum(math.log(r["ratio"]) for r in mine) / len(mine)) if mine else None
            ),
            "kendall_tau_mean": sum(taus) / len(taus) if taus else None,
            "kendall_tau": per_group,
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--policies", nargs="+", default=list(DEFAULT_POLICIES))
    ap.add_argument("--cost-models", nargs="+", default=list(COST_MODELS), choices=COST_MODELS)
    ap.add_argument("--arch", default="dynaplasia")
    ap.add_argument("--tiles", type=int, default=16)
    ap.add_argument("--json", default="benchmarks/results/simulate.json")
    ap.add_argument("--resume", action="store_true", help="keep the points already in --json")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="merge these results (parallel runs) into --json, run nothing")  # fmt: skip
    ap.add_argument("--measured-since", metavar="COMMIT",
                    help="with --merge: the commit the merged runs started at (recorded)")  # fmt: skip
    ap.add_argument("--markdown", action="store_true",
                    help="print the tables of an existing --json as Markdown, run nothing")  # fmt: skip
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.json).read_text())["rows"]))
        return 0
    if args.merge:
        return merge(args.merge, args.json, args.arch, args.tiles, args.measured_since)
    console = Console()
    hw = Hardware.load(args.arch)
    rows: list[dict[str, Any]] = []
    if args.resume and Path(args.json).exists():
        rows = json.loads(Path(args.json).read_text()).get("rows", [])
    done = {(r["model"], r["batch"], r["policy"], r["cost_model"]) for r in rows}
    for model in args.models:
        for batch in args.batches:
            for cm in args.cost_models:
                for policy in args.policies:
                    key = (model, batch, policy, cm)
                    if key in done:
                        continue
                    try:
                        row = run_point(model, batch, args.seq, policy, cm, hw, args.tiles)
                    except Exception as err:
                        row = {"model": model, "batch": batch, "seq": args.seq, "policy": policy,
                               "cost_model": cm, "error": f"{type(err).__name__}: {err}"}  # fmt: skip
                    rows.append(row)
                    _print_row(console, row)
                    save(args.json, rows, arch=args.arch, tiles=args.tiles)
    summary = summarise(rows)
    table = Table(title="estimate vs simulation")
    for col in ("cost model", "points", "mean |log(est/sim)|", "(as a factor)", "geomean est/sim",
                "mean Kendall tau"):  # fmt: skip
        table.add_column(col)
    for cm, s in summary.items():
        t = s["kendall_tau_mean"]
        table.add_row(cm, str(s["points"]), f"{s['mean_abs_log_ratio']:.3f}",
                      f"{s['geomean_factor']:.2f}x", f"{s['geomean_est_over_sim']:.3f}",
                      f"{t:.2f}" if t is not None else "-")  # fmt: skip
    console.print(table)
    return 0


def markdown(rows: list[dict[str, Any]]) -> str:
    """The tables of docs/EVALUATION.md from the result rows."""
    ok = [r for r in rows if "error" not in r]
    lines: list[str] = []
    summary = summarise(rows)
    lines += [
        "| cost model | points | mean abs log(est/sim) | as a factor | geomean est/sim "
        "| mean Kendall tau |",
        "|---|---|---|---|---|---|",
    ]
    for cm, s in summary.items():
        t = s["kendall_tau_mean"]
        tau = f"{t:.2f}" if t is not None else "-"
        lines.append(f"| {cm} | {s['points']} | {s['mean_abs_log_ratio']:.2f} | "
                     f"{s['geomean_factor']:.2f}x | {s['geomean_est_over_sim']:.3f} | {tau} |")  # fmt: skip
    lines += ["", "| model | batch | cost model | points | geomean est/sim | Kendall tau "
              "| est/sim compute | est/sim waiting | tile time / tile cycles "
              "| exposed reload (sim) / reload (est) |",
              "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault((r["model"], r["batch"], r["cost_model"]), []).append(r)
    for (model, batch, cm), rs in groups.items():
        gm = math.exp(sum(math.log(r["ratio"]) for r in rs) / len(rs))
        tau = kendall_tau([r["estimated_cycles"] for r in rs], [r["simulated_cycles"] for r in rs])

        def ratio(key_a: str, key_b: str, rs: list[dict[str, Any]] = rs) -> str:
            a = sum(r.get(key_a, 0.0) for r in rs)
            b = sum(r.get(key_b, 0.0) for r in rs)
            return f"{a / b:.2f}" if b else "-"

        reload_est = sum(r["breakdown"]["estimated"]["reload"] for r in rs)
        reload_sim = sum(r["breakdown"]["simulated"]["reload"] for r in rs)
        lines.append(
            f"| {model} | {batch} | {cm} | {len(rs)} | {gm:.2f} | "
            f"{tau:.2f} | " if tau is not None else f"| {model} | {batch} | {cm} | {len(rs)} | "
            f"{gm:.2f} | - | "
        )  # fmt: skip
        lines[-1] += (
            f"{ratio('estimated_compute', 'simulated_compute')} | "
            f"{ratio('estimated_waiting', 'simulated_waiting')} | "
            f"{ratio('compute_tile_time', 'compute_tile_cycles')} | "
            f"{reload_sim / reload_est:.2f} |" if reload_est else "- |"
        )  # fmt: skip
    errors = [r for r in rows if "error" in r]
    if errors:
        lines += ["", "Points that did not simulate:", ""]
        lines += [f"* {r['model']} b{r['batch']} {r['cost_model']} {r['policy']}: {r['error']}"
                  for r in errors]  # fmt: skip
    return "\n".join(lines)


def _print_row(console: Console, row: dict[str, Any]) -> None:
    head = f"{row['model']:12} b{row['batch']} {row['cost_model']:6} {row['policy']:15}"
    if "error" in row:
        console.print(f"{head} error: {row['error']}", markup=False, highlight=False)
        return
    console.print(
        f"{head} est {row['estimated_cycles']:>14,.0f}  sim {row['simulated_cycles']:>14,.0f}  "
        f"est/sim {row['ratio']:6.2f}  ({row['compile_seconds']:.1f} s + "
        f"{row['simulate_seconds']:.1f} s)", markup=False, highlight=False,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
