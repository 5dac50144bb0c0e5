"""Simulating a compiled model: the Python API and the `simulate` command.

    import cmswitch
    result = cmswitch.simulate("resnet18", policy="cmswitch", functional=True)
    result.simulated_cycles, result.report()

MODEL is a zoo name, an ``.onnx`` file or an ``.mlir`` file (a `cim_meta`
program, simulated as it is, or a `cim` module, compiled first). The model is
compiled with the policy (the estimate), lowered to its `cim_meta` program
(``cim-assign-arrays``, ``cim-to-meta``) and run by the timing simulator
(:mod:`cmswitch.simulator.timing`) and/or the functional one
(:mod:`cmswitch.simulator.functional`).

Estimates come from the compiler's cost model; simulated cycles come from the
program alone. The report keeps both apart: ``estimated_cycles`` and
``breakdown.estimated`` versus ``simulated_cycles`` and
``breakdown.simulated``, per segment too.

Imports are local to the functions: ``cmswitch`` exports :func:`simulate`
and importing the package must stay cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import argparse

    from xdsl.dialects.builtin import ModuleOp

    from cmswitch.compile import CompileResult
    from cmswitch.hardware import Hardware
    from cmswitch.models import LoadedModel
    from cmswitch.simulator.timeline import Timeline

TOLERANCE = 1e-4
"""Largest accepted max|sim - ref| / max|ref| of a functional run."""


class SimulateError(ValueError):
    """A bad simulate request (user-facing)."""


@dataclass
class OutputCheck:
    name: str
    max_rel_error: float | None
    """max|sim - ref| / max|ref| against the reference (None: no reference)."""
    reference: str = ""
    """``onnxruntime`` or ``reference`` (the `cim` reference executor)."""


@dataclass
class SimulationResult:
    model: str
    hardware: Hardware
    policy: str | None
    batch: int | None
    seq: int | None
    program: ModuleOp
    compiled: CompileResult | None = None
    timeline: Timeline | None = None
    outputs: dict[str, np.ndarray] | None = None
    checks: list[OutputCheck] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def simulated_cycles(self) -> float | None:
        return self.timeline.total_cycles if self.timeline is not None else None

    @property
    def estimated_cycles(self) -> float | None:
        return self.compiled.schedule.latency_cycles if self.compiled is not None else None

    def report(self, argv: Sequence[str] | None = None) -> dict[str, Any]:
        """The `simulate --report` JSON (see the module docstring)."""
        from cmswitch.provenance import provenance

        est_segments: list[float] = []
        est_breakdown: dict[str, float] | None = None
        if self.compiled is not None:
            est_segments = [s.total_cycles for s in self.compiled.schedule.segments]
            est_breakdown = self.compiled.schedule.breakdown()
        data: dict[str, Any] = {
            "provenance": provenance(self.hardware, argv),
            "model": self.model,
            "arch": self.hardware.name,
            "policy": self.policy,
            "cost_model": self.compiled.options.cost_model if self.compiled is not None else None,
            "batch": self.batch,
            "seq": self.seq,
            "simulated_cycles": self.simulated_cycles,
            "estimated_cycles": self.estimated_cycles,
            "breakdown": {
                "simulated": dict(self.timeline.breakdown) if self.timeline else None,
                "estimated": est_breakdown,
            },
        }
        if self.timeline is not None:
            segments = []
            for n, seg in enumerate(self.timeline.segments):
                segments.append({
                    "index": seg.index,
                    "simulated_cycles": seg.cycles,
                    "estimated_cycles": est_segments[n] if n < len(est_segments) else None,
                    "compute_cycles": seg.compute,
                    "waiting_cycles": seg.waiting,
                    "breakdown": dict(seg.breakdown),
                })  # fmt: skip
            data["segments"] = segments
            data["external_bytes"] = self.timeline.run.link_bytes[0]
        if self.checks:
            data["outputs"] = [
                {"name": c.name, "max_rel_error": c.max_rel_error, "reference": c.reference}
                for c in self.checks
            ]
        for key, value in self.seconds.items():
            data[f"{key}_seconds"] = round(value, 4)
        return data


# ------------------------------------------------------------------ loading


def _compile(model: LoadedModel, policy: str, cost_model: str, batch: int | None,
             seq: int | None) -> CompileResult:  # fmt: skip
    from cmswitch.compile import compile_model, parse_policy
    from cmswitch.passes.cim_schedule import ScheduleOptions

    options = parse_policy(policy, ScheduleOptions(cost_model=cost_model))  # type: ignore[arg-type]
    return compile_model(model, options, batch=batch, seq=seq)


def meta_of(compiled: CompileResult) -> ModuleOp:
    """The `cim_meta` program of a compile result (its module is left as is)."""
    from cmswitch.lowering.cim_to_meta import meta_program

    return meta_program(compiled.module, compiled.hardware)


def is_meta_program(module: ModuleOp) -> bool:
    from cmswitch.dialects.cim_meta import SegmentOp

    return any(isinstance(op, SegmentOp) for op in module.walk())


def _inputs_of(module: ModuleOp, given: Mapping[str, np.ndarray] | None,
               seed: int) -> dict[str, np.ndarray]:  # fmt: skip
    from xdsl.dialects.builtin import TensorType
    from xdsl.dialects.func import FuncOp

    from cmswitch.builder import io_names
    from cmswitch.simulator.reference import np_dtype

    fn = next(op for op in module.ops if isinstance(op, FuncOp))
    names, _ = io_names(fn)
    rng = np.random.default_rng(seed + 1)
    out: dict[str, np.ndarray] = {}
    for name, arg in zip(names, fn.body.block.args, strict=True):
        typ = arg.type
        assert isinstance(typ, TensorType)
        shape = tuple(typ.get_shape())
        if given is not None:
            if name not in given:
                raise SimulateError(f"--inputs has no array {name!r} (model inputs: "
                                    f"{', '.join(names)}; given: {', '.join(sorted(given))})")  # fmt: skip
            value = np.asarray(given[name])
            if tuple(value.shape) != shape:
                raise SimulateError(f"--inputs {name!r}: shape {list(value.shape)}, the model "
                                    f"takes {list(shape)}")  # fmt: skip
            out[name] = value
            continue
        dtype = np_dtype(typ.element_type)
        if np.issubdtype(dtype, np.integer):
            out[name] = rng.integers(0, 8, size=shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def _onnx_reference(path: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: inputs[i.name] for i in session.get_inputs() if i.name in inputs}
    names = [o.name for o in session.get_outputs()]
    outputs = [np.asarray(v) for v in session.run(names, feeds)]
    return dict(zip(names, outputs, strict=True))


def rel_error(sim: np.ndarray, ref: np.ndarray) -> float:
    ref = np.asarray(ref, dtype=np.float64)
    sim = np.asarray(sim, dtype=np.float64)
    if sim.shape != ref.shape:
        return float("inf")
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(sim - ref))) if ref.size else 0.0
    return diff / scale if scale > 0 else diff


# ---------------------------------------------------------------------- API


def simulate(
    model: str,
    *,
    policy: str = "cmswitch",
    arch: str | Hardware | None = None,
    batch: int = 1,
    seq: int = 64,
    phase: str = "prefill",
    functional: bool = False,
    timing: bool = True,
    inputs: Mapping[str, np.ndarray] | None = None,
    cost_model: str = "strict",
    tiles: int = 16,
    tile_rows: int | None = None,
    seed: int = 0,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Compiles (unless `model` is already a `cim_meta` program), lowers and
    simulates. `policy` is spelled as on the command line (``static:0.5``)."""
    from cmswitch.hardware import Hardware
    from cmswitch.models import load_model

    say = progress or (lambda _msg: None)
    hw = Hardware.load(arch) if isinstance(arch, str) else arch
    loaded = load_model(model, hardware=hw, batch=batch, seq=seq, phase=phase,
                        input_shapes=input_shapes)  # fmt: skip
    seconds: dict[str, float] = {}
    compiled: CompileResult | None = None
    is_zoo = not model.endswith((".onnx", ".mlir"))
    if is_meta_program(loaded.module):
        program = loaded.module
        label: str | None = None
    else:
        say("compile")
        start = time.perf_counter()
        compiled = _compile(loaded, policy, cost_model, batch if is_zoo else None,
                            seq if is_zoo else None)  # fmt: skip
        seconds["compile"] = time.perf_counter() - start
        say("lower")
        start = time.perf_counter()
        program = meta_of(compiled)
        seconds["lower"] = time.perf_counter() - start
        label = policy
    result = SimulationResult(
        loaded.name, loaded.hardware, label, batch if is_zoo else None,
        seq if is_zoo else None, program, compiled, seconds=seconds,
    )  # fmt: skip
    if timing:
        from cmswitch.simulator.tiles import TileOptions
        from cmswitch.simulator.timing import simulate_timing

        say("timing")
        start = time.perf_counter()
        result.timeline = simulate_timing(program, TileOptions(tiles=tiles, tile_rows=tile_rows))
        seconds["timing"] = time.perf_counter() - start
    if functional:
        say("functional")
        start = time.perf_counter()
        _functional(result, loaded, model, inputs, seed)
        seconds["functional"] = time.perf_counter() - start
    return result


def _functional(result: SimulationResult, loaded: LoadedModel, model: str,
                given: Mapping[str, np.ndarray] | None, seed: int) -> None:  # fmt: skip
    from xdsl.dialects.func import FuncOp

    from cmswitch.builder import io_names
    from cmswitch.simulator.functional import random_store, run_functional

    store = random_store(loaded.module, seed, loaded.store)
    feeds = _inputs_of(result.program, given, seed)
    outs = run_functional(result.program, feeds, store)
    fn = next(op for op in result.program.ops if isinstance(op, FuncOp))
    _, out_names = io_names(fn)
    result.outputs = dict(zip(out_names, (np.asarray(o) for o in outs), strict=True))
    complete = all(name in loaded.store for name in _weight_names(loaded.module))
    if model.endswith(".onnx") and complete:
        refs = _onnx_reference(model, feeds)
        kind = "onnxruntime"
    else:  # zoo models, .mlir files and ONNX files without their weights
        from cmswitch.simulator.reference import run_reference

        ref_list = run_reference(loaded.module, feeds, store)
        refs = dict(zip(out_names, ref_list, strict=True))
        kind = "reference"
    for name, value in result.outputs.items():
        ref = refs.get(name)
        err = rel_error(value, ref) if ref is not None else None
        result.checks.append(OutputCheck(name, err, kind if ref is not None else ""))


def _weight_names(module: ModuleOp) -> list[str]:
    from cmswitch.dialects.cim import ConstantOp

    return [op.sym.data for op in module.walk() if isinstance(op, ConstantOp) and op.value is None]


def simulate_schedule(compiled: CompileResult, *, tiles: int = 16) -> dict[str, Any]:
    """Simulated cycles of a compile result, for ``compare --simulate``:
    ``{"simulated_cycles", "breakdown", "segments": [...]}``."""
    from cmswitch.simulator.tiles import TileOptions
    from cmswitch.simulator.timing import simulate_timing

    timeline = simulate_timing(meta_of(compiled), TileOptions(tiles=tiles))
    return timeline.summary()


# ------------------------------------------------------------------ command


def add_simulate_command(
    sub: Any,
    add_model_args: Callable[[argparse.ArgumentParser], None],
    write_json: Callable[[Any, str | None], None],
    console: Any,
) -> None:
    """Registers `simulate` on the CLI's sub-parsers."""

    def cmd_simulate(args: argparse.Namespace) -> int:
        from rich.console import Console

        err = Console(stderr=True)
        if args.batch < 1 or args.seq < 1:
            raise SimulateError("--batch and --seq must be >= 1")
        if args.tiles < 1 or (args.tile_rows is not None and args.tile_rows < 1):
            raise SimulateError("--tiles and --tile-rows must be >= 1")
        functional = args.functional or args.inputs is not None or args.outputs is not None
        timing = args.timing or not functional
        given = None
        if args.inputs is not None:
            try:
                with np.load(args.inputs, allow_pickle=False) as data:
                    given = {k: data[k] for k in data.files}
            except (OSError, ValueError) as exc:
                raise SimulateError(f"{args.inputs}: cannot read inputs: {exc}") from None
        shapes = None
        if args.input_shape:
            from cmswitch.lowering.onnx_to_cim import parse_input_shapes

            shapes = parse_input_shapes(args.input_shape)
        with err.status(f"simulating {args.model}", spinner="dots") as status:
            result = simulate(
                args.model, policy=args.policy, arch=args.arch, batch=args.batch,
                seq=args.seq, phase=args.phase, functional=functional, timing=timing,
                inputs=given, cost_model=args.cost_model, tiles=args.tiles,
                tile_rows=args.tile_rows, seed=args.seed, input_shapes=shapes,
                progress=lambda step: status.update(f"{args.model}: {step}"),
            )  # fmt: skip
        failed = _print_result(result, err)
        _write_outputs(result, args, write_json)
        return 1 if failed else 0

    p = sub.add_parser("simulate", help="simulate a compiled model (timing and/or functional)")
    add_model_args(p)
    p.add_argument("--policy", default="cmswitch",
                   help="cmswitch | cim-mlc | all-compute-dp | puma | static:F")  # fmt: skip
    p.add_argument("--cost-model", choices=("paper", "strict"), default="strict",
                   help="the cost model that schedules and whose estimate is reported "
                        "beside the simulation (default: strict, the compiler's default)")  # fmt: skip
    p.add_argument("--timing", action="store_true", help="timing simulation (the default)")
    p.add_argument("--functional", action="store_true",
                   help="run the program on data and compare with ONNX Runtime / the reference")  # fmt: skip
    p.add_argument("--inputs", default=None, metavar="IN.npz",
                   help="input arrays keyed by the model's input names (default: seeded random)")  # fmt: skip
    p.add_argument("--outputs", default=None, metavar="OUT.npz",
                   help="save the simulated outputs under the model's output names")  # fmt: skip
    p.add_argument(
        "--report", default=None, metavar="R.json", help="write the JSON report ('-': stdout)"
    )
    p.add_argument("--trace", default=None, metavar="T.json", help="write a Perfetto trace")
    p.add_argument("--plot", default=None, metavar="P.png", help="write a PNG timeline")
    p.add_argument("--tiles", type=int, default=16,
                   help="tiles per tensor, the simulation granularity (default 16)")  # fmt: skip
    p.add_argument("--tile-rows", type=int, default=None,
                   help="rows per tile instead of --tiles")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of random weights and inputs")
    p.set_defaults(func=cmd_simulate)


def outputs_path(path: str) -> str:
    """Where ``--outputs`` goes: `path`, with ``.npz`` appended if missing
    (as ``np.savez`` names it)."""
    return path if path.endswith(".npz") else path + ".npz"


def _write_outputs(
    result: SimulationResult,
    args: argparse.Namespace,
    write_json: Callable[[Any, str | None], None],
) -> None:
    """The files `simulate` writes (``--outputs``, ``--report``, ``--trace``,
    ``--plot``), all rendered into temporary files first and renamed
    together (:func:`cmswitch.fileio.staged`): a failure leaves none of them
    behind and no target half-written. ``--report -`` prints afterwards."""
    import json
    import os
    import sys
    from pathlib import Path

    from cmswitch import fileio

    files: list[tuple[str, Callable[[Path], object]]] = []
    if args.outputs and result.outputs is not None:
        from cmswitch.weights import WeightStore

        store = WeightStore(dict(result.outputs))

        def dump_outputs(temp: Path) -> None:
            with temp.open("wb") as out:
                store.dump(out)

        files.append((outputs_path(args.outputs), dump_outputs))
    report = None
    if args.report:
        report = result.report(sys.argv)
        if args.report != "-":
            text = json.dumps(report, indent=2) + "\n"
            files.append((args.report, lambda temp: temp.write_text(text, encoding="utf-8")))
    timeline = result.timeline
    if timeline is not None and args.trace:
        from cmswitch.simulator.trace import trace_json

        trace = trace_json(timeline)
        files.append((args.trace, lambda temp: temp.write_text(trace, encoding="utf-8")))
    if timeline is not None and args.plot:
        from cmswitch.simulator.plot import render_timeline

        title = (f"{result.model} on {result.hardware.name} [{result.policy or 'program'}]: "
                 f"{timeline.total_cycles:,.0f} simulated cycles")  # fmt: skip
        fmt = Path(args.plot).suffix.lower().lstrip(".") or "png"
        files.append((args.plot, lambda temp: render_timeline(timeline, temp, title, fmt)))
    if len({os.path.realpath(path) for path, _ in files}) < len(files):
        raise SimulateError("two outputs name the same file: give each its own")
    with fileio.staged(*(path for path, _ in files)) as temps:
        for temp, (_, write) in zip(temps, files, strict=True):
            write(temp)
    if report is not None and args.report == "-":
        write_json(report, "-")


def _print_result(result: SimulationResult, err: Any) -> bool:
    """Prints the summary; returns True if a functional check failed."""
    hw = result.hardware
    head = f"{result.model} on {hw.name}" + (f" [{result.policy}]" if result.policy else "")
    tl = result.timeline
    if tl is not None:
        cycles = tl.total_cycles
        line = f"{head}: {cycles:,.0f} simulated cycles ({hw.seconds(cycles) * 1e3:.3f} ms)"
        if result.estimated_cycles is not None:
            est = result.estimated_cycles
            line += f", estimated {est:,.0f} ({est / cycles:.2f}x the simulation)" if cycles else ""
        err.print(line, highlight=False, markup=False)
        parts = ", ".join(f"{k} {v:,.0f}" for k, v in tl.breakdown.items())
        err.print(f"  breakdown: {parts}", highlight=False, markup=False)
    failed = False
    for check in result.checks:
        if check.max_rel_error is None:
            err.print(f"  output {check.name}: no reference", highlight=False)
            continue
        ok = check.max_rel_error <= TOLERANCE
        failed |= not ok
        err.print(f"  output {check.name}: max|sim - ref| / max|ref| = {check.max_rel_error:.2e} "
                  f"vs {check.reference} ({'ok' if ok else 'MISMATCH'})", highlight=False)  # fmt: skip
    return failed


__all__ = ["SimulationResult", "add_simulate_command", "simulate", "simulate_schedule"]
