"""The `cmswitch` command line.

    cmswitch models                          list the built-in model zoo
    cmswitch arch [NAME|FILE]                show a hardware description
    cmswitch analyze MODEL [--json]          per-operator workload analysis
    cmswitch import MODEL.onnx -o OUT.mlir   ONNX -> cim IR (+ OUT.weights.npz)
                     [--via mlir]            ... through torch-mlir's linalg instead
    cmswitch import LINALG.mlir -o OUT.mlir  linalg-on-tensors -> cim IR
    cmswitch compile MODEL [--policy P] ...  segment + allocate, emit IR/report
    cmswitch compare MODEL [--policies ...]  every policy side by side
    cmswitch simulate MODEL [--policy P] ... timing / functional simulation

MODEL is a zoo name or a path to an ``.onnx`` or ``.mlir`` file. A user
mistake ends in one ``cmswitch: error: ...`` line naming where it is (a file,
a field, a node, an option) and exit status 1 (2 for a malformed command
line), never in a traceback. Output files are written atomically (see
:mod:`cmswitch.fileio`): a failed run leaves none behind. ``-`` as an output
path is standard output, which then carries only that output (tables and
progress go to standard error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from rich.console import Console

from cmswitch import fileio
from cmswitch.fileio import OutputError
from cmswitch.hardware import Hardware, HardwareError
from cmswitch.ir import IRError, print_module
from cmswitch.models import LoadedModel, ModelError, load_model
from cmswitch.weights import WeightsError, WeightStore

# Tables piped to a file or another program get a width that fits them
# (rich falls back to 80 columns there, which truncates every cell).
_console = Console() if sys.stdout.isatty() else Console(width=160)
_err = Console(stderr=True)


class UsageError(ValueError):
    """A bad command-line value (user-facing message)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors as one `cmswitch: error:` line naming the
    subcommand (instead of a usage block and a bare exit)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("cmswitch").strip()
        where = f"{command}: " if command else ""
        raise _CommandLineError(f"{where}{message} (see `{self.prog} --help`)")


class _CommandLineError(UsageError):
    """A malformed command line (exit status 2, as argparse's)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are user mistakes, reported as one line."""
    errors: list[type[BaseException]] = [
        HardwareError, IRError, ModelError, UsageError, WeightsError, OutputError, OSError,
    ]  # fmt: skip
    try:
        from cmswitch.zoo import ZooError

        errors.append(ZooError)
    except ImportError:
        pass
    try:
        from cmswitch.lowering.onnx_to_cim import OnnxImportError

        errors.append(OnnxImportError)
    except ImportError:
        pass
    try:  # the MLIR frontend (issue 9)
        from cmswitch.frontend import FrontendError

        errors.append(FrontendError)
    except ImportError:
        pass
    try:
        from cmswitch.compile import PolicyError
        from cmswitch.passes.cim_split import SplitError
        from cmswitch.schedule.policies import ScheduleError

        errors += [ScheduleError, SplitError, PolicyError]
    except ImportError:
        pass
    try:
        from cmswitch.simulate import SimulateError
        from cmswitch.simulator.errors import SimulationError
        from cmswitch.simulator.plot import PlotError

        errors += [SimulateError, SimulationError, PlotError]
    except ImportError:
        pass
    try:
        from cmswitch.lowering.cim_to_meta import LoweringError

        errors.append(LoweringError)
    except ImportError:
        pass
    return tuple(errors)


# ----------------------------------------------------------------- helpers


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name (see `cmswitch models`) or a .onnx / .mlir file")
    p.add_argument(
        "--arch", default=None, help="hardware preset or TOML file (default: dynaplasia)"
    )
    p.add_argument("--batch", type=int, default=1, help="batch size for zoo models (default 1)")
    p.add_argument("--seq", type=int, default=64, help="sequence length for zoo transformers")
    p.add_argument(
        "--phase", choices=("prefill", "decode"), default="prefill",
        help="zoo transformers: prefill (L tokens) or one decode step with a KV cache of L",
    )  # fmt: skip
    p.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
        help="fix a dynamic ONNX input shape (repeatable)",
    )  # fmt: skip


def _load(args: argparse.Namespace) -> LoadedModel:
    from cmswitch.zoo import MAX_BATCH, MAX_SEQ

    if not 1 <= args.batch <= MAX_BATCH:
        raise UsageError(f"--batch must be in [1, {MAX_BATCH}], got {args.batch}")
    if not 1 <= args.seq <= MAX_SEQ:
        raise UsageError(f"--seq must be in [1, {MAX_SEQ}], got {args.seq}")
    hw = Hardware.load(args.arch) if args.arch else None
    shapes = None
    if args.input_shape:
        from cmswitch.lowering.onnx_to_cim import parse_input_shapes

        shapes = parse_input_shapes(args.input_shape)
    return load_model(
        args.model, hardware=hw, batch=args.batch, seq=args.seq, phase=args.phase,
        input_shapes=shapes,
    )  # fmt: skip


def write_output(text: str, path: str | None) -> None:
    """`text` to standard output (`path` None or ``-``) or atomically to a file."""
    if path is None or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        fileio.write_text(path, text)


def _write_json(data: Any, path: str | None) -> None:
    write_output(json.dumps(data, indent=2) + "\n", path)


# ---------------------------------------------------------------- commands


def cmd_models(args: argparse.Namespace) -> int:
    from rich.table import Table

    from cmswitch import zoo

    models = zoo.list_models()
    if args.json:
        _write_json([m.__dict__ for m in models], None)
        return 0
    table = Table(title="cmswitch model zoo (built offline, no weights)")
    for col in ("name", "family", "description"):
        table.add_column(col)
    for m in models:
        table.add_row(m.name, m.family + (" (tiny)" if m.tiny else ""), m.description)
    _console.print(table)
    return 0


def cmd_arch(args: argparse.Namespace) -> int:
    from rich.table import Table

    hw = Hardware.load(args.arch)
    derived = {
        "op_cim (MAC/cycle/array)": hw.op_cim,
        "d_cim (B/cycle/array)": hw.d_cim,
        "d_main (B/cycle)": hw.d_main,
        "array_bytes": hw.array_bytes,
        "write_cycles_per_array": hw.write_cycles_per_array,
    }
    if args.json:
        _write_json({"fields": hw.to_dict(), "derived": derived}, None)
        return 0
    table = Table(title=f"hardware {hw.name}")
    table.add_column("field")
    table.add_column("value", justify="right")
    for key, value in hw.to_dict().items():
        table.add_row(key, str(value))
    for key, value in derived.items():
        table.add_row(f"[dim]{key}[/dim]", f"[dim]{value:g}[/dim]")
    _console.print(table)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from cmswitch.analysis import analyze, render_table
    from cmswitch.workload import Workload

    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit must be >= 0, got {args.limit}")
    model = _load(args)
    workload = Workload.from_module(model.module, model.hardware)
    report = analyze(
        workload, args.ai, model=model.name, batch=args.batch, seq=args.seq, phase=args.phase
    )
    if args.json or args.output is not None:
        _write_json(report, args.output)
    else:
        render_table(report, _console, limit=args.limit)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from cmswitch.lowering.onnx_to_cim import import_onnx, parse_input_shapes

    if not args.model.endswith((".onnx", ".mlir")):
        raise UsageError(f"{args.model}: `cmswitch import` takes an .onnx or a .mlir file")
    hw = Hardware.load(args.arch) if args.arch else Hardware.preset("dynaplasia")
    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    # --- MLIR frontend (issue 9): linalg .mlir files and `--via mlir` ---
    if args.model.endswith(".mlir"):
        if args.via == "mlir" or shapes:
            raise UsageError("--via and --input-shape apply to .onnx models")
        model = load_model(args.model, hardware=Hardware.load(args.arch) if args.arch else None)
        from cmswitch.lowering.onnx_to_cim import ImportResult

        result = ImportResult(model.module, model.store, ())
    elif args.via == "mlir":
        from cmswitch.frontend import from_onnx

        result = from_onnx(args.model, input_shapes=shapes, hardware=hw)
    # --- end MLIR frontend ---
    else:
        result = import_onnx(args.model, input_shapes=shapes, hardware=hw)
    text = print_module(result.module, generic=args.generic)
    if args.output in (None, "-"):
        write_output(text, None)
    elif len(result.store):  # the IR and its weights appear together or not at all
        with fileio.staged(args.output, WeightStore.path_for(args.output)) as (ir, weights):
            ir.write_text(text, encoding="utf-8")
            with weights.open("wb") as out:
                result.store.dump(out)
    else:
        write_output(text, args.output)
        # a weights file of an earlier import would be read as this model's
        WeightStore.path_for(args.output).unlink(missing_ok=True)
    if result.missing_weights:
        _err.print(
            f"cmswitch: note: {len(result.missing_weights)} weight(s) have no data "
            "(external data absent); functional simulation will need them"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="cmswitch",
        description="Dual-mode-aware DNN compiler for computing-in-memory accelerators.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list the built-in model zoo")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("arch", help="show a hardware description")
    p.add_argument("arch", nargs="?", default="dynaplasia", help="preset name or TOML file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_arch)

    p = sub.add_parser("analyze", help="per-operator workload analysis")
    _add_model_args(p)
    p.add_argument("--ai", choices=("roofline", "input", "streamed"), default="roofline")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("-o", "--output", default=None, help="write the JSON here (implies --json)")
    p.add_argument("--limit", type=int, default=None, help="show at most N operator rows")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("import", help="import an ONNX model (or linalg .mlir) into cim IR")
    p.add_argument("model", help="an .onnx file, or a .mlir file of linalg-on-tensors or cim")
    p.add_argument(
        "--via", choices=("onnx", "mlir"), default="onnx",
        help="onnx: the direct importer (default); mlir: torch-mlir to linalg, then "
        "convert-linalg-to-cim (needs the mlir extra)",
    )  # fmt: skip
    p.add_argument("-o", "--output", default=None, help="output .mlir (default: stdout)")
    p.add_argument("--arch", default=None)
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224")
    p.add_argument("--generic", action="store_true", help="print the generic op form")
    p.set_defaults(func=cmd_import)

    try:
        from cmswitch.compile import add_compile_commands
    except ImportError:
        pass
    else:
        add_compile_commands(sub, _add_model_args, _load, _write_json, _console)
    try:
        from cmswitch.simulate import add_simulate_command
    except ImportError:
        pass
    else:
        add_simulate_command(sub, _add_model_args, _write_json, _console)
    return parser


def _message(err: BaseException) -> str:
    """One line for a user error. An OSError (cannot read or write a path)
    is named by its path and reason rather than its errno repr."""
    if isinstance(err, OSError) and not isinstance(err, OutputError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except _CommandLineError as err:
        _print_error(_message(err))
        return 2
    except _user_errors() as err:
        _print_error(_message(err))
        return 1
    except KeyboardInterrupt:
        _err.print("cmswitch: interrupted", highlight=False)
        return 130


def _print_error(message: str) -> None:
    # plain write: rich would wrap a long line (and markup-parse it)
    sys.stderr.write(f"cmswitch: error: {message}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
