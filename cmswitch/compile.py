"""The Python API of the compiler, and the `compile` / `compare` commands.

    from cmswitch.compile import compile_model
    from cmswitch.models import load_model

    result = compile_model(load_model("llama2-7b", seq=64), ScheduleOptions(policy="cmswitch"))
    result.schedule.latency_cycles, result.report()

The pipeline is the list of passes in :func:`pipeline`; it is the same one
``xdsl-opt -p cim-split,cim-schedule{...}`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.passes import ModulePass

from cmswitch.compare import (
    check_plot_path,
    compare_rows,
    compare_title,
    plot_compare,
    render_compare,
)
from cmswitch.hardware import Hardware
from cmswitch.ir import make_context, print_module
from cmswitch.models import LoadedModel
from cmswitch.passes.cim_schedule import ScheduleOptions, apply_plans, plan_module
from cmswitch.passes.cim_split import CimSplitPass, SplitError
from cmswitch.schedule.allocate import NODE_LIMIT, SolverCache
from cmswitch.schedule.plan import Schedule, SolverStats
from cmswitch.workload import Workload, compute_ops

BASELINE = "cim-mlc"
DEFAULT_POLICIES = (
    "cmswitch",
    "cim-mlc",
    "all-compute-dp",
    "puma",
    "static:0.25",
    "static:0.5",
    "static:0.75",
)


class PolicyError(ValueError):
    """A bad policy specification (user-facing)."""


@dataclass
class CompileResult:
    model: str
    hardware: Hardware
    options: ScheduleOptions
    module: ModuleOp
    schedule: Schedule
    seconds: float
    batch: int | None = None
    seq: int | None = None
    split_budget: int = 0
    """Most compute arrays of any operator after splitting (the chosen
    granularity; 0: the whole chip)."""
    tried: tuple[dict[str, float], ...] = ()
    """Every granularity tried: split_budget, static_fraction, latency_cycles."""

    def report(self) -> dict[str, Any]:
        """The JSON report (``compile --report``): the shared schema's
        ``provenance`` block, the options, the latency and its
        ``breakdown`` (intra, vector, reload, switch, writeback), every
        granularity tried, and the segments."""
        from cmswitch.provenance import provenance

        s = self.schedule
        data = {
            "provenance": provenance(self.hardware),
            "model": self.model,
            "arch": self.hardware.name,
            "policy": short_label(policy_label(self.options)),
            "cost_model": self.options.cost_model,
            "ai": self.options.intensity,
            "solver": self.options.solver,
            "batch": self.batch,
            "seq": self.seq,
            "latency_cycles": s.latency_cycles,
            "latency_seconds": self.hardware.seconds(s.latency_cycles),
            "compile_seconds": round(self.seconds, 4),
            "split_budget": self.split_budget or self.hardware.arrays,
            "granularity": list(self.tried),
        }
        data.update(s.to_json())
        data["policy"] = short_label(policy_label(self.options))
        data["latency_cycles"] = s.latency_cycles
        return data


def short_label(label: str) -> str:
    """`static{compute-fraction=F}` as `static:F` (the command-line spelling)."""
    prefix = "static{compute-fraction="
    if label.startswith(prefix) and label.endswith("}"):
        return "static:" + label[len(prefix) : -1]
    return label


def policy_label(options: ScheduleOptions) -> str:
    if options.policy == "static":
        return f"static{{compute-fraction={options.compute_fraction:g}}}"
    return options.policy


def split_budget(hw: Hardware, options: ScheduleOptions) -> int:
    """Arrays an operator must fit at the coarsest split a policy may use:
    the chip, or the static policy's compute share (a fixed ratio leaves
    only that many arrays to hold weights)."""
    if options.policy == "static":
        return max(1, math.floor(options.compute_fraction * hw.arrays))
    return 0


def split_runs(hw: Hardware, options: ScheduleOptions) -> list[tuple[int, float]]:
    """The (split budget, static fraction) pairs the driver compiles with,
    coarsest first.

    Every policy gets the same granularity search: operators are split to
    at most ``floor(f * arrays)`` compute arrays for each ``f`` of
    ``split_fractions`` and the policy keeps its fastest. ``static`` skips
    the budgets above its compute share (its operators must fit the share)
    and adds the share itself. ``cmswitch`` also tries the budget of every
    static fraction it offers its DP (``static_fractions`` and
    ``compute_fraction``), so at every granularity any ``static`` run uses,
    cmswitch plans the same workload with that static plan among its
    candidates, and it is never slower than any baseline. The fraction of
    each pair is the run's ``compute_fraction``."""
    fractions = set(options.split_fractions)
    cap = hw.arrays
    if options.policy == "static":
        cap = split_budget(hw, options)
        fractions.add(options.compute_fraction)
    elif options.policy == "cmswitch":
        fractions |= {*options.static_fractions, options.compute_fraction}
    budgets = {max(1, math.floor(f * hw.arrays)) for f in fractions}
    return [(b, options.compute_fraction) for b in sorted(budgets, reverse=True) if b <= cap]


def pipeline(options: ScheduleOptions, hw: Hardware, budget: int | None = None) -> list[ModulePass]:
    """The pass list the compiler runs for one granularity (what
    `xdsl-opt -p cim-split{...},cim-schedule{...}` would spell)."""
    from cmswitch.passes.cim_schedule import CimSchedulePass

    return [
        CimSplitPass(max_arrays=split_budget(hw, options) if budget is None else budget),
        CimSchedulePass(
            policy=options.policy,
            cost_model=options.cost_model,
            ai=options.ai or "",
            compute_fraction=options.compute_fraction,
            time_limit=options.time_limit or 0.0,
            node_limit=options.node_limit or 0,
            solver=options.solver,
        ),
    ]


PARALLEL_MIN_OPS = 3000
"""Estimated operators after the finest split above which the driver runs
that granularity in a worker process (below, starting one costs more than
it saves)."""


def compile_model(
    model: LoadedModel,
    options: ScheduleOptions | None = None,
    *,
    batch: int | None = None,
    seq: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CompileResult:
    """Splits, segments and allocates a (copy of the) model's module.

    For each granularity of :func:`split_runs`: split a copy, schedule it
    (segment solutions are shared between the runs), keep the fastest; only
    the winner's IR is rewritten with segments. On a large model with
    ``options.jobs != 1`` the coarser granularities are planned in a worker
    process while this one plans the finest (the costliest); the results are
    the same as in one process."""
    options = options or ScheduleOptions()
    start = time.perf_counter()
    hw = model.hardware
    ctx = make_context()
    runs = split_runs(hw, options)
    remote = _start_remote(model, options, runs)
    try:
        return _compile(model, options, runs, remote, ctx, start, batch, seq, progress)
    finally:
        if remote is not None:
            remote.close()


def _compile(
    model: LoadedModel,
    options: ScheduleOptions,
    runs: list[tuple[int, float]],
    remote: _Remote | None,
    ctx: Any,
    start: float,
    batch: int | None,
    seq: int | None,
    progress: Callable[[int, int], None] | None,
) -> CompileResult:
    hw = model.hardware
    cache: SolverCache = {}
    # budget -> (the split module it was planned on, or None if planned in
    # the worker; its plans by function)
    done: dict[int, tuple[ModuleOp | None, dict[str, Schedule]]] = {}
    split: dict[int, ModuleOp] = {}
    # granularities finer than the policy's coarsest that an operator cannot
    # be split to (every policy only tries them; the coarsest run, the chip
    # or the static budget, still reports the error)
    unsplittable: set[int] = set()
    coarsest = runs[0][0]

    def plan_here(budget: int, fraction: float) -> None:
        try:
            module = split[budget] if budget in split else _split_copy(model, budget, ctx)
        except SplitError:
            if budget >= coarsest:
                raise
            unsplittable.add(budget)
            return
        split[budget] = module
        run = replace(options, compute_fraction=fraction)
        plans = plan_module(module, run, hw, progress, cache=cache)
        done[budget] = (module, {name: result for name, (_, result) in plans.items()})

    for budget, fraction in runs[-1:] if remote is not None else runs:
        plan_here(budget, fraction)
    applied: set[int] = set()
    prints: dict[int, dict[str, str]] = {}  # workload fingerprints of the worker's plans
    if remote is not None:
        # idle until the worker reports: write this run's plan into its IR in
        # case it wins, then split the worker's costliest granularity
        if not remote.done() and runs[-1][0] not in unsplittable:
            local = runs[-1][0]
            module, plans = done[local]
            assert module is not None
            apply_plans(module, {n: (f, plans[n]) for n, f in _functions(module).items()})
            applied.add(local)
        if not remote.done():
            with contextlib.suppress(SplitError):  # planned (and reported) below
                split[runs[-2][0]] = _split_copy(model, runs[-2][0], ctx)
        answers = remote.result()
        for budget, fraction in runs[:-1]:
            if answers is not None and budget in answers:
                done[budget] = (None, {n: r for n, (r, _) in answers[budget].items()})
                prints[budget] = {n: p for n, (_, p) in answers[budget].items()}
            else:  # the worker failed: plan here (a user error then shows as usual)
                plan_here(budget, fraction)
    tried: list[dict[str, float]] = []
    all_stats: list[SolverStats] = []
    best: tuple[float, int] | None = None
    for budget, fraction in runs:
        if budget in unsplittable:
            continue
        plans = done[budget][1]
        if not plans:
            raise PolicyError(f"{model.name}: the model has no CIM operator (nothing to map)")
        latency = sum(result.latency_cycles for result in plans.values())
        all_stats += [result.stats for result in plans.values()]
        tried.append(
            {"split_budget": budget or hw.arrays, "static_fraction": fraction,
             "latency_cycles": latency}
        )  # fmt: skip
        if best is None or latency < best[0] * (1.0 - 1e-12):
            best = (latency, budget)
    assert best is not None
    budget = best[1]
    planned_in, plans = done[budget]
    module = split[budget] if budget in split else _split_copy(model, budget, ctx)
    funcs = _functions(module)
    if planned_in is None:  # a worker's plan: attach (and check) this split's workload
        attached = _attach_workloads(funcs, plans, prints[budget], hw)
        if attached is None:  # pragma: no cover - the split is deterministic
            run = replace(options, compute_fraction=dict(runs)[budget])
            attached = {n: r for n, (_, r) in plan_module(module, run, hw, cache=cache).items()}
        plans = attached
    if budget not in applied:
        apply_plans(module, {name: (funcs[name], result) for name, result in plans.items()})
    first = next(iter(plans.values()))
    stats = _merged_stats(all_stats, time.perf_counter() - start)
    schedule = replace(first, stats=stats)
    seconds = time.perf_counter() - start
    return CompileResult(
        model.name, hw, options, module, schedule, seconds, batch, seq, budget, tuple(tried)
    )


def _split_copy(model: LoadedModel, budget: int, ctx: Any) -> ModuleOp:
    module = model.module.clone()
    CimSplitPass(max_arrays=budget).apply(ctx, module)
    return module


def _functions(module: ModuleOp) -> dict[str, FuncOp]:
    return {op.sym_name.data: op for op in module.ops if isinstance(op, FuncOp) and compute_ops(op)}


def _attach_workloads(
    funcs: dict[str, FuncOp], plans: dict[str, Schedule], prints: dict[str, str], hw: Hardware
) -> dict[str, Schedule] | None:
    """A worker's plans with this process's workloads of the same split, or
    None if a workload differs from the one the worker planned."""
    from cmswitch._remote import fingerprint

    out: dict[str, Schedule] = {}
    for name, result in plans.items():
        func = funcs.get(name)
        if func is None:
            return None
        wl = Workload.from_module(func, hw)
        if fingerprint(wl) != prints.get(name):
            return None
        out[name] = replace(result, workload=wl)
    return out


class _Remote:
    """Granularities planned by ``python -m cmswitch._remote`` meanwhile."""

    def __init__(
        self, text: str, hw: Hardware, options: ScheduleOptions, runs: list[tuple[int, float]]
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cmswitch-")
        request = Path(self._dir.name) / "request.pickle"
        self._result = Path(self._dir.name) / "result.pickle"
        request.write_bytes(
            pickle.dumps({"text": text, "hw": hw, "options": options, "runs": runs})
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cmswitch._remote", str(request), str(self._result)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def done(self) -> bool:
        return self._proc.poll() is not None

    def result(self) -> dict[int, dict[str, tuple[Schedule, str]]] | None:
        """Plans by split budget, or None if the worker failed for any reason."""
        try:
            self._proc.wait()
            status, value = pickle.loads(self._result.read_bytes())
            return value if status == "ok" else None
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError):
            return None

    def close(self) -> None:
        """Stops the worker if it still runs and removes its files."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._dir.cleanup()


def _start_remote(
    model: LoadedModel, options: ScheduleOptions, runs: list[tuple[int, float]]
) -> _Remote | None:
    """Starts every granularity but the finest (the costliest, planned here)
    in a worker, if it pays."""
    jobs = options.jobs or min(2, os.cpu_count() or 1)
    if jobs < 2 or len(runs) < 2:
        return None
    budget = runs[-1][0]
    hw = model.hardware
    limit = budget or hw.arrays
    estimate = 0
    for func in model.module.ops:
        if isinstance(func, FuncOp):
            for op in compute_ops(func):
                s = op.matmul_shape()
                estimate += math.ceil(hw.min_arrays(s.n, s.k, s.groups) / limit)
    if estimate < PARALLEL_MIN_OPS:
        return None
    try:
        return _Remote(print_module(model.module), hw, options, runs[:-1])
    except (OSError, pickle.PicklingError):  # no worker: everything runs here
        return None


def _merged_stats(runs: Sequence[SolverStats], seconds: float) -> SolverStats:
    """Solver work summed over every granularity run (the worst gap of any)."""
    return SolverStats(
        mips_solved=sum(s.mips_solved for s in runs),
        cache_hits=sum(s.cache_hits for s in runs),
        closed_form=sum(s.closed_form for s in runs),
        worst_gap=max((s.worst_gap for s in runs), default=0.0),
        time_limited=sum(s.time_limited for s in runs),
        seconds=seconds,
    )


def parse_policy(spec: str, base: ScheduleOptions) -> ScheduleOptions:
    """`cmswitch`, `cim-mlc`, ..., or `static:F` / `static{compute-fraction=F}`."""
    from cmswitch.schedule.policies import POLICIES

    name, fraction = spec, None
    if spec.startswith("static:"):
        name, fraction = "static", spec.removeprefix("static:")
    elif spec.startswith("static{") and spec.endswith("}"):
        key, _, value = spec[len("static{") : -1].partition("=")
        if key.strip() != "compute-fraction":
            raise PolicyError(f"unknown static option {key!r} (use compute-fraction=F)")
        name, fraction = "static", value
    if name not in POLICIES:
        raise PolicyError(f"unknown policy {spec!r}; policies: {', '.join(POLICIES)} (static:F)")
    options = replace(base, policy=name)
    if fraction is not None:
        try:
            value = float(fraction)
        except ValueError:
            raise PolicyError(f"static compute fraction {fraction!r} is not a number") from None
        if not 0.0 < value <= 1.0:
            raise PolicyError(f"static compute fraction must be in (0, 1], got {value}")
        options = replace(options, compute_fraction=value)
    return options


# ---------------------------------------------------------------- commands


def _progress_bar(console: Console, label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} ops"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _run(
    model: LoadedModel, options: ScheduleOptions, args: argparse.Namespace, console: Console
) -> CompileResult:
    with _progress_bar(console, f"{model.name}: {policy_label(options)}") as bar:
        task = bar.add_task("schedule", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return compile_model(model, options, batch=args.batch, seq=args.seq, progress=progress)


def _base_options(args: argparse.Namespace) -> ScheduleOptions:
    fractions = tuple(args.split_fractions)
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise PolicyError(
            f"--time-limit must be a positive number of seconds, got {args.time_limit}"
        )
    if args.jobs < 0:
        raise PolicyError(f"--jobs must be >= 0, got {args.jobs}")
    bad = [f for f in fractions if not 0.0 < f <= 1.0]
    if bad:
        raise PolicyError(f"--split-fractions must be in (0, 1], got {bad[0]:g}")
    from cmswitch.schedule.cost import CostOptions

    try:
        CostOptions(args.cost_model, args.ai)
    except ValueError as e:
        raise PolicyError(f"--ai: {e}") from None
    if args.node_limit < 0:
        raise PolicyError(f"--node-limit must be >= 0, got {args.node_limit}")
    return ScheduleOptions(
        cost_model=args.cost_model,
        ai=args.ai,
        time_limit=args.time_limit,
        node_limit=args.node_limit or None,
        solver=args.solver,
        split_fractions=fractions,
        jobs=args.jobs,
    )


def add_compile_commands(
    sub: Any,
    add_model_args: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace], LoadedModel],
    write_json: Callable[[Any, str | None], None],
    console: Console,
) -> None:
    """Registers `compile` and `compare` on the CLI's sub-parsers."""
    err = Console(stderr=True)

    def common(p: argparse.ArgumentParser) -> None:
        add_model_args(p)
        p.add_argument("--cost-model", choices=("strict", "paper"), default="strict",
                       help="strict (default): the chip execution model; paper: the "
                       "paper's equations as printed")  # fmt: skip
        p.add_argument("--ai", choices=("roofline", "input", "streamed"), default=None,
                       help="arithmetic intensity (paper model only; default roofline; "
                       "strict uses streamed)")  # fmt: skip
        p.add_argument(
            "--node-limit",
            type=int,
            default=NODE_LIMIT,
            metavar="N",
            help="branch-and-bound nodes per MIP, a work limit: results do not "
            "depend on the machine's load (0: unlimited; default: %(default)s)",
        )
        p.add_argument(
            "--time-limit",
            type=float,
            default=None,
            metavar="S",
            help="also stop each MIP after S seconds (default: no wall-clock limit)",
        )
        p.add_argument("--split-fractions", nargs="+", type=float, metavar="F",
                       default=list(ScheduleOptions().split_fractions),
                       help="operator granularities every policy tries: split layers to F x "
                       "the chip's arrays, keep the fastest (default: %(default)s)")  # fmt: skip
        p.add_argument("--jobs", type=int, default=0, metavar="N",
                       help="processes for the granularity search (0: up to 2; results do "
                       "not depend on it)")  # fmt: skip
        p.add_argument("--solver", choices=("auto", "mip"), default="auto",
                       help="paper cost model: auto solves segments in closed form where "
                       "exact, else with a HiGHS MIP; mip uses the MIP for every segment "
                       "(strict never needs a MIP)")  # fmt: skip

    def cmd_compile(args: argparse.Namespace) -> int:
        from cmswitch import fileio

        if args.output == "-" and args.report == "-":
            raise PolicyError("-o - and --report - both ask for standard output: give one a file")
        model = load(args)
        options = parse_policy(args.policy, _base_options(args))
        result = _run(model, options, args, err)
        if args.emit == "cim":
            from xdsl.dialects.func import FuncOp

            from cmswitch.passes.segments import unwrap_segments

            for op in result.module.ops:
                if isinstance(op, FuncOp):
                    unwrap_segments(op)
        # --- issue 7 (cim_meta): --emit meta, and the weight store beside -o ---
        emitted = result.module
        if args.emit == "meta":
            from cmswitch.lowering.cim_to_meta import meta_program

            emitted = meta_program(result.module)
        text = print_module(emitted)
        if args.emit == "meta":
            text += "\n"  # as xdsl-opt prints it: the same bytes (tested)
        # --- end issue 7 ---
        report = json.dumps(result.report(), indent=2) + "\n"
        # every output complete before any is written; files appear together
        # (the IR with the weight store beside it)
        files: dict[str | Path, Callable[[Path], object]] = {}
        if args.output not in (None, "-"):
            files[args.output] = lambda temp: temp.write_text(text, encoding="utf-8")
            if len(model.store):
                from cmswitch.weights import WeightStore

                def dump_weights(temp: Path) -> None:
                    with temp.open("wb") as out:
                        model.store.dump(out)

                files[WeightStore.path_for(args.output)] = dump_weights
        if args.report not in (None, "-"):
            files[args.report] = lambda temp: temp.write_text(report, encoding="utf-8")
        with fileio.staged(*files) as temps:
            for temp, write in zip(temps, files.values(), strict=True):
                write(temp)
        if args.report == "-":
            write_json(result.report(), "-")
        hw = result.hardware
        err.print(
            f"{model.name} on {hw.name} [{short_label(policy_label(options))}, "
            f"{options.cost_model}/{options.intensity}]: "
            f"{result.schedule.latency_cycles:,.0f} cycles "
            f"({hw.seconds(result.schedule.latency_cycles) * 1e3:.3f} ms at "
            f"{hw.clock_hz / 1e9:g} GHz), {len(result.schedule.segments)} segments, "
            f"split to {result.split_budget or hw.arrays} arrays, "
            f"compiled in {result.seconds:.2f} s",
            highlight=False,
        )
        if args.output == "-" or (not args.output and not args.report):
            sys.stdout.write(text)
        return 0

    p = sub.add_parser("compile", help="segment and allocate a model; emit IR and a report")
    common(p)
    p.add_argument(
        "--policy", default="cmswitch", help="cmswitch | cim-mlc | all-compute-dp | puma | static:F"
    )
    p.add_argument("--emit", choices=("segmented", "cim", "meta"), default="segmented",
                   help="segmented: with cim.segment regions; cim: allocations only; "
                   "meta: the cim_meta program (cim-assign-arrays, cim-to-meta)")  # fmt: skip
    p.add_argument("-o", "--output", default=None, help="write the IR here ('-': stdout)")
    p.add_argument("--report", default=None,
                   help="write the JSON report here ('-': stdout; the IR then only with -o)")  # fmt: skip
    p.set_defaults(func=cmd_compile)

    def cmd_compare(args: argparse.Namespace) -> int:
        if args.plot is not None:
            check_plot_path(args.plot)
        model = load(args)
        base = _base_options(args)
        specs = args.policies or list(DEFAULT_POLICIES)
        options = [parse_policy(spec, base) for spec in specs]
        # cmswitch offers the plans of every static fraction compared
        named = {o.compute_fraction for o in options if o.policy == "static"}
        options = [
            replace(o, static_fractions=tuple(sorted({*o.static_fractions, *named})))
            if o.policy == "cmswitch"
            else o
            for o in options
        ]
        results = [_run(model, o, args, err) for o in options]
        rows = compare_rows(results)
        if args.simulate:
            # simulated cycles of each policy's program beside its estimate
            from cmswitch.simulate import simulate_schedule

            for row, result in zip(rows, results, strict=True):
                sim = simulate_schedule(result)
                row["simulated_cycles"] = sim["simulated_cycles"]
                row["simulated_breakdown"] = sim["breakdown"]
                row["estimated_over_simulated"] = (
                    row["latency_cycles"] / sim["simulated_cycles"]
                    if sim["simulated_cycles"] > 0
                    else None
                )
        title = compare_title(model.name, model.hardware.name, base)
        if args.plot:
            plot_compare(rows, title, args.plot)
        if args.json:
            from cmswitch.provenance import provenance

            write_json(
                {
                    "provenance": provenance(model.hardware),
                    "model": model.name,
                    "arch": model.hardware.name,
                    "cost_model": base.cost_model,
                    "ai": base.intensity,
                    "batch": args.batch,
                    "seq": args.seq,
                    "rows": rows,
                },
                args.json,
            )
        # with --json -, standard output carries only the JSON
        render_compare(rows, title, err if args.json == "-" else console)
        return 0

    p = sub.add_parser("compare", help="compare scheduling policies on one model")
    common(p)
    p.add_argument("--policies", nargs="+", default=None,
                   help=f"default: {' '.join(DEFAULT_POLICIES)}")  # fmt: skip
    p.add_argument("--json", default=None,
                   help="write the rows as JSON here ('-': stdout, the table then on stderr)")  # fmt: skip
    p.add_argument("--plot", default=None, help="write a bar chart (PNG/PDF/SVG) here")
    p.add_argument("--simulate", action="store_true",
                   help="also lower every policy's schedule to its cim_meta program and "
                        "simulate it: simulated cycles beside the estimate")  # fmt: skip
    p.set_defaults(func=cmd_compare)
