"""Schedule quality of every policy on the paper's models, under every cost model.

    python benchmarks/schedule_quality.py                      # everything (hours; resumable)
    python benchmarks/schedule_quality.py --configs strict     # the headline only
    python benchmarks/schedule_quality.py --models resnet18 --batches 1 --out /tmp/q.json

Points: the seven paper models at batch 1, 4, 8, 16 (prefill, seq 64). Cost
configurations: ``strict`` (the default cost model: streamed intensity) and
``paper`` with each intensity (``paper-roofline``, ``paper-input``,
``paper-streamed``). Every policy of the driver's list gets the driver's
granularity search (:func:`cmswitch.compile.split_runs`: each split budget
it may use; it keeps its fastest) and duplication; ``cmswitch`` offers its
DP the static plans of 1/4, 1/2 and 3/4. It computes exactly what
``cmswitch compare`` computes, with two caches that make it resumable:

* ``CACHE/workloads/``: each model split to each budget, as a pickled
  :class:`~cmswitch.workload.Workload` (splitting the LLMs is the slow part);
* ``CACHE/runs-CONFIG.jsonl``: one line per (model, batch, policy, budget)
  scheduled; a rerun skips what is there (so configs can run in parallel
  processes). Segment solutions are shared in
  memory between the policies and budgets of one (config, model, batch).

The results file (``--out``) holds, per config and point, every policy's
latency at its best granularity with its breakdown, the budgets tried, and
the speedups of cmswitch over the strongest all-compute baseline (the faster
of ``cim-mlc`` and ``all-compute-dp``), over ``cim-mlc`` and over the best
static fraction, plus the never-slower check. ``benchmarks/report.py`` turns
it into the tables and plots of ``docs/EVALUATION.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import write_results

from cmswitch.compile import DEFAULT_POLICIES, parse_policy, split_runs
from cmswitch.hardware import Hardware
from cmswitch.ir import make_context
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.passes.cim_split import CimSplitPass
from cmswitch.schedule.allocate import SolverCache
from cmswitch.schedule.cost import REVISION
from cmswitch.schedule.policies import schedule
from cmswitch.workload import FORMAT, Workload, compute_ops

MODELS = ("resnet18", "mobilenetv2", "vgg16", "bert-large", "llama2-7b", "opt-6.7b", "opt-13b")
CONFIGS = {
    "strict": ("strict", "streamed"),
    "paper-roofline": ("paper", "roofline"),
    "paper-input": ("paper", "input"),
    "paper-streamed": ("paper", "streamed"),
}
ALL_COMPUTE = ("cim-mlc", "all-compute-dp")


def workloads(
    cache: Path, name: str, batch: int, seq: int, budget: int, hw: Hardware
) -> list[Workload]:
    """The model split to `budget` arrays per operator, one workload per
    function with CIM operators (cached on disk)."""
    path = cache / "workloads" / f"{name}-b{batch}-s{seq}-{hw.name}-{budget}-f{FORMAT}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    from xdsl.dialects.func import FuncOp

    model = load_model(name, hardware=hw, batch=batch, seq=seq)
    module = model.module.clone()
    CimSplitPass(max_arrays=budget).apply(make_context(), module)
    got = [
        Workload.from_module(op, hw)
        for op in module.ops
        if isinstance(op, FuncOp) and compute_ops(op)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # runs of several configs may race
    tmp.write_bytes(pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    return got


def run_key(config: str, name: str, batch: int, policy: str, budget: int) -> str:
    """The cache key of one run: the config with its cost model's revision
    (:data:`cmswitch.schedule.cost.REVISION`), so runs of an older model
    are never reused."""
    rev = REVISION[CONFIGS[config][0]]
    return f"{config}@r{rev}|{name}|{batch}|{policy}|{budget}"


def load_runs(path: Path) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                runs[row["key"]] = row
    return runs


def measure_point(
    config: str,
    name: str,
    batch: int,
    seq: int,
    hw: Hardware,
    cache: Path,
    runs: dict[str, dict[str, Any]],
    log: Any,
) -> None:
    """Schedules every policy at every budget it may use (skipping cached runs)."""
    model_name, ai = CONFIGS[config]
    base = ScheduleOptions(cost_model=model_name, ai=ai)  # type: ignore[arg-type]
    solver_cache: SolverCache = {}
    for spec in DEFAULT_POLICIES:
        opts = parse_policy(spec, base)
        for budget, fraction in split_runs(hw, opts):
            key = run_key(config, name, batch, spec, budget)
            if key in runs:
                continue
            wls = workloads(cache, name, batch, seq, budget, hw)
            t0 = time.perf_counter()
            results = [
                schedule(
                    wl,
                    opts.policy,
                    opts.cost,
                    compute_fraction=fraction,
                    static_fractions=opts.static_fractions,
                    time_limit=opts.time_limit,
                    node_limit=opts.node_limit,
                    solver=opts.solver,
                    cache=solver_cache,
                )
                for wl in wls
            ]
            seconds = time.perf_counter() - t0
            breakdown: dict[str, float] = {}
            for r in results:
                for k, v in r.breakdown().items():
                    breakdown[k] = breakdown.get(k, 0.0) + v
            segs = [s for r in results for s in r.segments]
            row = {
                "key": key,
                "config": config,
                "model": name,
                "batch": batch,
                "policy": spec,
                "split_budget": budget,
                "latency_cycles": sum(r.latency_cycles for r in results),
                "breakdown": breakdown,
                "segments": len(segs),
                "operators": sum(len(wl) for wl in wls),
                "avg_memory_share": (
                    sum(s.memory_arrays for s in segs) / (len(segs) * hw.arrays) if segs else 0.0
                ),
                "worst_gap": max(r.stats.worst_gap for r in results),
                "time_limited": sum(r.stats.time_limited for r in results),
                "mips_solved": sum(r.stats.mips_solved for r in results),
                "schedule_seconds": seconds,
            }
            runs[key] = row
            log.write(json.dumps(row) + "\n")
            log.flush()


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def summarize(
    config: str,
    names: list[str],
    batches: list[int],
    runs: dict[str, dict[str, Any]],
    kept: Sequence[dict[str, Any]] = (),
) -> dict[str, Any] | None:
    """Per point: every policy at its best granularity, and the speedups.
    `kept`: points of an earlier run (same cost-model revision) that this
    run did not measure; they join the geomeans, each marked ``kept_from``."""
    points = []
    for name in names:
        for batch in batches:
            pols: dict[str, dict[str, Any]] = {}
            complete = True
            for spec in DEFAULT_POLICIES:
                tried = [
                    r
                    for r in runs.values()
                    if r["config"] == config
                    and r["model"] == name
                    and r["batch"] == batch
                    and r["policy"] == spec
                ]
                if not tried:
                    complete = False
                    break
                best = min(tried, key=lambda r: (r["latency_cycles"], -r["split_budget"]))
                pols[spec] = {
                    "latency_cycles": best["latency_cycles"],
                    "split_budget": best["split_budget"],
                    "breakdown": best["breakdown"],
                    "segments": best["segments"],
                    "avg_memory_share": best["avg_memory_share"],
                    "worst_gap": max(r["worst_gap"] for r in tried),
                    "time_limited": sum(r["time_limited"] for r in tried),
                    "granularity": sorted(
                        (
                            {
                                "split_budget": r["split_budget"],
                                "latency_cycles": r["latency_cycles"],
                            }
                            for r in tried
                        ),
                        key=lambda g: -g["split_budget"],
                    ),
                    "schedule_seconds": sum(r["schedule_seconds"] for r in tried),
                }
            if not complete:
                continue
            cms = pols["cmswitch"]["latency_cycles"]
            all_compute = min(pols[p]["latency_cycles"] for p in ALL_COMPUTE)
            strongest = min(ALL_COMPUTE, key=lambda p: pols[p]["latency_cycles"])
            statics = [p for p in pols if p.startswith("static")]
            best_static = min(statics, key=lambda p: pols[p]["latency_cycles"])
            points.append(
                {
                    "model": name,
                    "batch": batch,
                    "strongest_all_compute": strongest,
                    "best_static": best_static,
                    "speedup_vs_all_compute": all_compute / cms,
                    "speedup_vs_cim_mlc": pols["cim-mlc"]["latency_cycles"] / cms,
                    "speedup_vs_best_static": pols[best_static]["latency_cycles"] / cms,
                    "policies": pols,
                }
            )
    have = {(p["model"], p["batch"]) for p in points}
    points += [p for p in kept if (p["model"], p["batch"]) not in have]
    order = {m: i for i, m in enumerate(MODELS)}
    points.sort(key=lambda p: (order.get(p["model"], len(order)), p["model"], p["batch"]))
    if not points:
        return None
    violations = [
        f"{config} {p['model']} b{p['batch']}: {pol} beats cmswitch"
        for p in points
        for pol, r in p["policies"].items()
        if r["latency_cycles"] < p["policies"]["cmswitch"]["latency_cycles"] * (1 - 1e-9)
    ]
    model_name, ai = CONFIGS[config]
    return {
        "cost_model": model_name,
        "ai": ai,
        "points": points,
        "geomean_vs_all_compute": geomean([p["speedup_vs_all_compute"] for p in points]),
        "geomean_vs_cim_mlc": geomean([p["speedup_vs_cim_mlc"] for p in points]),
        "geomean_vs_best_static": geomean([p["speedup_vs_best_static"] for p in points]),
        "min_vs_all_compute": min(p["speedup_vs_all_compute"] for p in points),
        "violations": violations,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 4, 8, 16])
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--arch", default="dynaplasia")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--cache", default="benchmarks/.cache", help="workloads and finished runs")
    ap.add_argument("--out", default=None, help="write the results here (JSON)")
    ap.add_argument(
        "--summarize-only", action="store_true", help="only rebuild --out from the cache"
    )
    args = ap.parse_args()
    hw = Hardware.load(args.arch)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, Any]] = {}
    for config in CONFIGS:
        prefix = run_key(config, "", 0, "", 0).split("|")[0] + "|"
        got = load_runs(cache / f"runs-{config}.jsonl")
        runs.update({k: r for k, r in got.items() if k.startswith(prefix)})
    t_start = time.perf_counter()
    if not args.summarize_only:
        for config in args.configs:
            with (cache / f"runs-{config}.jsonl").open("a") as log:
                for name in args.models:
                    for batch in args.batches:
                        t0 = time.perf_counter()
                        measure_point(config, name, batch, args.seq, hw, cache, runs, log)
                        print(
                            f"{config:15s} {name:12s} b={batch:<3d} "
                            f"{time.perf_counter() - t0:7.1f} s",
                            flush=True,
                        )
    old: dict[str, Any] = {}
    if args.out and Path(args.out).exists():
        old = json.loads(Path(args.out).read_text())
    results = {}
    for config in args.configs:
        # points of the same cost-model revision measured by an earlier run
        # (e.g. with another --models) stay, marked with that run's commit
        prior: list[dict[str, Any]] = []
        if old.get("revisions", {}).get(config) == REVISION[CONFIGS[config][0]]:
            commit = old.get("provenance", {}).get("commit")
            for point in old.get("configs", {}).get(config, {}).get("points", []):
                prior.append({"kept_from": commit, **point})
        got = summarize(config, args.models, args.batches, runs, prior)
        if got is not None:
            results[config] = got
            print(
                f"{config}: {len(got['points'])} points; cmswitch geomean "
                f"{got['geomean_vs_all_compute']:.3f}x over the strongest all-compute baseline, "
                f"{got['geomean_vs_cim_mlc']:.3f}x over cim-mlc, "
                f"{got['geomean_vs_best_static']:.3f}x over the best static split; "
                f"violations {len(got['violations'])}",
                flush=True,
            )
    total = sum(r["schedule_seconds"] for r in runs.values())
    kept: dict[str, Any] = {}
    if old:
        # configs not run now keep their results (and say where they came from)
        for config, got in old.get("configs", {}).items():
            if config not in results:
                got.setdefault("kept_from", old.get("provenance", {}).get("commit"))
                kept[config] = got
    if args.out:
        write_results(
            args.out,
            "benchmarks/schedule_quality.py",
            {
                "seq": args.seq,
                # what the results cover, this run and the points kept
                "batches": sorted({*args.batches, *old.get("batches", [])}),
                "models": [m for m in MODELS if m in {*args.models, *old.get("models", [])}]
                + [m for m in args.models if m not in MODELS],
                "policies": list(DEFAULT_POLICIES),
                "split_fractions": list(ScheduleOptions().split_fractions),
                "schedule_seconds_total": total,
                "this_run_seconds": time.perf_counter() - t_start,
                "configs": {  # in the order of CONFIGS, the headline first
                    c: got
                    for c, got in sorted(
                        {**results, **kept}.items(),
                        key=lambda item: (
                            list(CONFIGS).index(item[0]) if item[0] in CONFIGS else len(CONFIGS)
                        ),
                    )
                },
                "revisions": {
                    **old.get("revisions", {}),
                    **{c: REVISION[CONFIGS[c][0]] for c in args.configs},
                },
                "loadavg": os.getloadavg(),
            },
            hw=hw,
            arch=hw.to_dict(),
        )
    bad = [v for r in results.values() for v in r["violations"]]
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
