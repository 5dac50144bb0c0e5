"""The MLIR frontend: models reach `cim` through upstream MLIR.

    ONNX model ──torch-mlir ONNX importer──> torch dialect ──upstream pipeline──>
    linalg-on-tensors ──linalg-generalize-named-ops──> (generic form text)
    ──xDSL parser──> convert-linalg-to-cim ──> cim (+ weight store)

A PyTorch ``nn.Module`` takes the same road through torch-mlir's FX importer
(:func:`from_torch`). Everything upstream runs in-process through the MLIR
Python bindings shipped by the ``torch-mlir`` wheel (the ``mlir`` extra:
``pip install 'cmswitch[mlir]'``); torch itself is only needed for
:func:`from_torch`. Linalg text from any other MLIR toolchain enters at
:func:`linalg_to_cim`.

The direct ONNX importer (:mod:`cmswitch.lowering.onnx_to_cim`) stays the
default; both give the same workload on the test models (tested).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FileLineColLoc,
    IntAttr,
    ModuleOp,
    StringAttr,
    UnknownLoc,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation
from xdsl.parser import Parser

from cmswitch.builder import HARDWARE_ATTR, INLINE_LIMIT, MODEL_ATTR, NAME_ATTR, _ssa_name
from cmswitch.dialects.cim import ConstantOp, HardwareAttr
from cmswitch.hardware import Hardware
from cmswitch.weights import WeightStore

if TYPE_CHECKING:
    from cmswitch.lowering.onnx_to_cim import ImportResult

MLIR_EXTRA = "pip install 'cmswitch[mlir]'"


class FrontendError(Exception):
    """A model the MLIR frontend cannot take (one user-facing line)."""


class MlirUnavailableError(FrontendError):
    """The upstream MLIR bindings (torch-mlir) are not installed."""


def have_mlir() -> bool:
    """True when the torch-mlir bindings can be imported."""
    try:
        import torch_mlir.ir  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError:
        return False
    return True


def require_mlir(what: str = "the MLIR frontend") -> None:
    if not have_mlir():
        raise MlirUnavailableError(
            f"{what} needs the upstream MLIR bindings (torch-mlir): {MLIR_EXTRA}"
        )


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def from_onnx(
    model: str | Path,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    hardware: Hardware | None = None,
) -> ImportResult:
    """ONNX file -> linalg (torch-mlir) -> `cim`. Returns an
    :class:`~cmswitch.lowering.onnx_to_cim.ImportResult`, like the direct
    importer."""
    from cmswitch.frontend import upstream

    require_mlir("`--via mlir`")
    path = Path(model)
    proto, names = upstream.load_onnx(path, input_shapes or {})
    text = upstream.onnx_to_linalg(proto, str(path))
    return linalg_to_cim(text, source=str(path), hardware=hardware, model=path.stem,
                         input_names=names[0], output_names=names[1])  # fmt: skip


def from_torch(
    module: Any,
    example_inputs: Sequence[Any],
    *,
    hardware: Hardware | None = None,
    name: str | None = None,
) -> ImportResult:
    """A PyTorch ``nn.Module`` -> linalg (torch-mlir's FX importer) -> `cim`.

    Needs torch and torch-mlir. `example_inputs` fix the input shapes.
    """
    from cmswitch.frontend import upstream

    require_mlir("from_torch")
    text = upstream.torch_to_linalg(module, tuple(example_inputs))
    model = name or type(module).__name__
    return linalg_to_cim(text, source=model, hardware=hardware, model=model)


def linalg_to_cim(
    text: str,
    *,
    source: str = "<linalg>",
    hardware: Hardware | None = None,
    model: str | None = None,
    input_names: Sequence[str] = (),
    output_names: Sequence[str] = (),
) -> ImportResult:
    """Linalg-on-tensors text (generic or custom form; xDSL parses it) ->
    `cim` module with its weights in a store."""
    from xdsl.utils.exceptions import ParseError, VerifyException

    from cmswitch.ir import make_context
    from cmswitch.lowering.linalg_to_cim import LinalgToCimError, convert_module
    from cmswitch.lowering.onnx_to_cim import ImportResult

    text = fix_hex_splats(text)
    ctx = make_context()
    ctx.allow_unregistered = True  # reported by the conversion, with their location
    try:
        # Not verified on the xDSL side: upstream MLIR verified it, and
        # xDSL 0.74 rejects valid rank-0 tensor.collapse_shape ops.
        module = _LocatingParser(ctx, text, source).parse_module()
        convert_module(module, ctx)
        module.verify()
    except LinalgToCimError as err:
        message = str(err)
        raise FrontendError(
            message if message.startswith(source) else f"{source}: {message}"
        ) from None
    except ParseError as err:
        raise FrontendError(str(err)) from None
    except VerifyException as err:
        raise FrontendError(
            f"{source}: internal error: the cim module does not verify: {err}"
        ) from None
    _name_arguments(module, input_names, output_names)
    store = externalise_weights(module)
    hw = hardware if hardware is not None else Hardware.preset("dynaplasia")
    module.attributes[HARDWARE_ATTR] = HardwareAttr.from_hardware(hw)
    if model is not None:
        module.attributes[MODEL_ATTR] = StringAttr(model)
    return ImportResult(module, store, ())


def externalise_weights(module: ModuleOp, store: WeightStore | None = None) -> WeightStore:
    """Moves the data of ``cim.constant`` ops larger than the builder's inline
    limit into a weight store (keyed by `sym`)."""
    from cmswitch.lowering.linalg_emit import array_of

    store = store if store is not None else WeightStore()
    for op in module.walk():
        if isinstance(op, ConstantOp) and op.value is not None:
            data = array_of(op.value)  # type: ignore[arg-type]
            if data.size > INLINE_LIMIT:
                store[op.sym.data] = np.ascontiguousarray(data)
                del op.properties["value"]
    return store


def _name_arguments(module: ModuleOp, inputs: Sequence[str], outputs: Sequence[str]) -> None:
    """Names the main function's arguments and results after the model's
    inputs and outputs (``cim.name`` attribute, SSA name hints)."""
    funcs = [op for op in module.ops if isinstance(op, FuncOp)]
    if len(funcs) != 1:
        return
    fn = funcs[0]
    fn.sym_name = StringAttr("main")  # as the direct importer names it
    args = fn.body.block.args
    if inputs and len(inputs) == len(args):
        fn.arg_attrs = ArrayAttr([DictionaryAttr({NAME_ATTR: StringAttr(n)}) for n in inputs])
        for arg, n in zip(args, inputs, strict=True):
            arg.name_hint = _ssa_name(n)
    if outputs and len(outputs) == len(fn.function_type.outputs.data):
        fn.res_attrs = ArrayAttr([DictionaryAttr({NAME_ATTR: StringAttr(n)}) for n in outputs])


_LINALG_OP = re.compile(r'%[\w.$-]+(?::\d+)?\s*=\s*"?(?:linalg|tensor|arith|math)\.[a-z_]+"?[\s(]')
"""An op result defined by a linalg-level op (custom or generic form); labels
and symbol names such as ``"linalg.weight"`` do not match."""


def holds_linalg(path: str | Path) -> bool:
    """True when the ``.mlir`` file at `path` holds linalg-level ops (rather
    than `cim`); unreadable files are left to the caller's error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # parse_file names a non-UTF-8 file
        return False
    return _LINALG_OP.search(text) is not None


def linalg_file_to_cim(path: str | Path, *, hardware: Hardware | None = None) -> ImportResult:
    """A ``.mlir`` file of linalg-on-tensors (generic or custom form) ->
    `cim`. Pure xDSL: the MLIR bindings are not needed."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise FrontendError(f"{path}: cannot read: {err.strerror}") from None
    return linalg_to_cim(text, source=str(path), hardware=hardware, model=path.stem)


_HEX_SPLAT = re.compile(r"dense<0x([0-9A-Fa-f]{8})>(\s*:\s*tensor<((?:\d+x)*)f32>)")


def fix_hex_splats(text: str) -> str:
    """Rewrites f32 splats written as a bit pattern (``dense<0xFF800000> :
    tensor<4xf32>``, how MLIR prints -inf / NaN splats) into the hex-string
    form: xDSL 0.74 reads the bare form as the integer 4286578688."""

    def raw(m: re.Match[str]) -> str:
        dims = [int(d) for d in m.group(3).split("x") if d]
        count = 1
        for d in dims:
            count *= d
        le = bytes.fromhex(m.group(1))[::-1].hex().upper()
        return f'dense<"0x{le * max(count, 1)}">{m.group(2)}'

    return _HEX_SPLAT.sub(raw, text)


class _LocatingParser(Parser):
    """Gives ops without a ``loc(...)`` their file:line:col, so that the
    conversion's errors point into a hand-written file."""

    def __init__(self, ctx: Context, text: str, name: str):
        super().__init__(ctx, text, name)
        self._file = name
        self._lines = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def parse_optional_operation(self) -> Operation | None:
        start = self.pos
        op = super().parse_optional_operation()
        if op is not None and isinstance(op.location, UnknownLoc):
            line = bisect.bisect_right(self._lines, start)
            col = start - self._lines[line - 1] + 1
            op.location = FileLineColLoc(StringAttr(self._file), IntAttr(line), IntAttr(col))
        return op
