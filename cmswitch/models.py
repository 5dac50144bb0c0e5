"""Loading a model from what a user names: a zoo name, an ``.onnx`` file or a
``.mlir`` file. One entry point for the command line and the Python API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from cmswitch.builder import HARDWARE_ATTR, module_hardware
from cmswitch.dialects.cim import HardwareAttr
from cmswitch.hardware import Hardware
from cmswitch.weights import WeightStore


class ModelError(ValueError):
    """The named model cannot be loaded (user-facing message)."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    module: ModuleOp
    store: WeightStore
    hardware: Hardware


def load_model(
    spec: str,
    *,
    hardware: Hardware | None = None,
    batch: int = 1,
    seq: int = 64,
    phase: str = "prefill",
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> LoadedModel:
    """`spec` is a zoo model name or a path to a ``.onnx`` / ``.mlir`` file.

    `hardware` overrides the chip recorded in a ``.mlir`` file; for zoo and
    ONNX models it defaults to the ``dynaplasia`` preset. The module always
    ends up carrying the chip it is compiled for.
    """
    path = Path(spec)
    from cmswitch import zoo

    if spec in {m.name for m in zoo.list_models()}:
        if input_shapes:
            raise ModelError(
                f"{spec}: --input-shape applies to .onnx models; zoo models take --batch / --seq"
            )
        hw = hardware or Hardware.preset("dynaplasia")
        module = zoo.build(spec, batch=batch, seq=seq, phase=phase, hardware=hw)
        return LoadedModel(spec, module, WeightStore(), hw)
    if spec.endswith(".onnx"):
        from cmswitch.lowering.onnx_to_cim import import_onnx

        hw = hardware or Hardware.preset("dynaplasia")
        result = import_onnx(path, input_shapes=input_shapes, hardware=hw)
        return LoadedModel(path.stem, result.module, result.store, hw)
    if spec.endswith(".mlir"):
        from cmswitch.frontend import holds_linalg, linalg_file_to_cim
        from cmswitch.ir import parse_file

        # --- MLIR frontend (issue 9): linalg-on-tensors is converted to cim ---
        if holds_linalg(path):
            hw = hardware or Hardware.preset("dynaplasia")
            result = linalg_file_to_cim(path, hardware=hw)
            return LoadedModel(path.stem, result.module, result.store, hw)
        # --- end MLIR frontend ---
        module = parse_file(path)
        if not any(isinstance(op, FuncOp) for op in module.ops):
            raise ModelError(f"{path}: the module has no func.func to compile")
        recorded = module.attributes.get(HARDWARE_ATTR)
        if recorded is not None and not isinstance(recorded, HardwareAttr):
            raise ModelError(f"{path}: {HARDWARE_ATTR} must be a #cim.hardware<...> attribute")
        hw = hardware or module_hardware(module, Hardware.preset("dynaplasia"))
        module.attributes[HARDWARE_ATTR] = HardwareAttr.from_hardware(hw)
        weights = WeightStore.path_for(path)
        store = WeightStore.load(weights) if weights.exists() else WeightStore()
        return LoadedModel(path.stem, module, store, hw)
    if path.suffix and path.suffix not in (".", ""):
        raise ModelError(
            f"{spec}: not a zoo model (see `cmswitch models`) nor an .onnx / .mlir file"
        )
    # Let the zoo name the models it knows.
    zoo.build(spec, batch=batch, seq=seq, phase=phase)
    raise ModelError(f"{spec}: unknown model")
