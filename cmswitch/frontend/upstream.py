"""The upstream half of the MLIR frontend: torch-mlir's importers and the
upstream pass pipelines, run in-process through the MLIR Python bindings.

Only this module imports ``torch_mlir`` (and, for :func:`torch_to_linalg`,
``torch``). Output is printed in MLIR's generic op form with source
locations inline (``loc("onnx node name")``): xDSL parses it and the
conversion names ONNX nodes in its errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import onnx
from onnx import external_data_helper

from cmswitch.frontend import FrontendError

ONNX_PIPELINE = (
    "builtin.module(torch-onnx-to-torch-backend-pipeline,"
    "torch-backend-to-linalg-on-tensors-backend-pipeline)"
)
"""torch-mlir's ONNX -> torch -> linalg-on-tensors lowering."""

GENERALIZE = "builtin.module(func.func(linalg-generalize-named-ops))"
"""Named linalg ops -> ``linalg.generic`` (xDSL 0.74 lacks ``batch_matmul``
and the depthwise convolutions; convert-linalg-to-cim matches generics)."""


def load_onnx(
    path: Path, input_shapes: Mapping[str, Sequence[int]]
) -> tuple[onnx.ModelProto, tuple[list[str], list[str]]]:
    """Loads `path` with its weights, fixes dynamic input dims from
    `input_shapes` and runs ONNX shape inference (torch-mlir's importer
    needs every value typed). Returns the model and its (input, output)
    names."""
    if not path.is_file():
        raise FrontendError(f"{path}: no such file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise FrontendError(f"{path}: not a valid ONNX model: {type(err).__name__}") from None
    for t in proto.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            where = path.parent / info.get("location", "")
            if not where.is_file():
                raise FrontendError(
                    f"{path}: initializer {t.name!r} keeps its data in {where.name}, which is "
                    "absent: the MLIR path needs the weights (the direct importer does not)"
                )
    external_data_helper.load_external_data_for_model(proto, str(path.parent))
    inits = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    unknown = set(input_shapes) - {i.name for i in inputs}
    if unknown:
        raise FrontendError(
            f"{path}: --input-shape names {sorted(unknown)[0]!r}, which is not a model input"
        )
    for inp in inputs:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in input_shapes:
            want = list(input_shapes[inp.name])
            if len(want) != len(dims):
                raise FrontendError(
                    f"{path}: --input-shape {inp.name}: rank {len(want)} != {len(dims)}"
                )
            for d, size in zip(dims, want, strict=True):
                d.Clear()
                d.dim_value = int(size)
        elif any(not d.HasField("dim_value") or d.dim_value <= 0 for d in dims):
            spec = "x".join(str(d.dim_value) if d.dim_value > 0 else "N" for d in dims)
            raise FrontendError(
                f"{path}: input {inp.name!r} has a dynamic shape: give it with "
                f"--input-shape {inp.name}={spec}"
            )
    try:
        proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as err:
        raise FrontendError(f"{path}: ONNX shape inference failed: {_first_line(err)}") from None
    return proto, ([i.name for i in inputs], [o.name for o in proto.graph.output])


def onnx_to_linalg(proto: onnx.ModelProto, source: str) -> str:
    """ONNX model -> linalg-on-tensors, generic form text."""
    from torch_mlir import ir  # pyright: ignore[reportMissingImports]
    from torch_mlir.dialects import torch as torch_d  # pyright: ignore[reportMissingImports]
    from torch_mlir.extras import onnx_importer  # pyright: ignore[reportMissingImports]

    ctx = ir.Context()  # pyright: ignore[reportAttributeAccessIssue]
    torch_d.register_dialect(ctx)
    try:
        info = onnx_importer.ModelInfo(proto)
        module = info.create_module(context=ctx).operation
        onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()
    except Exception as err:
        raise FrontendError(f"{source}: torch-mlir's ONNX importer: {_first_line(err)}") from None
    _run(ctx, module, ONNX_PIPELINE, source)
    _run(ctx, module, GENERALIZE, source)
    return _generic_text(module)


def torch_to_linalg(module: Any, example_inputs: tuple[Any, ...]) -> str:
    """``nn.Module`` -> linalg-on-tensors through torch-mlir's FX importer."""
    try:
        from torch_mlir import fx  # pyright: ignore[reportMissingImports]
    except ImportError as err:
        raise FrontendError(f"from_torch needs torch ({err.name} is missing)") from None
    module.eval()
    try:
        mlir_module = fx.export_and_import(module, *example_inputs,
                                           output_type="linalg-on-tensors", func_name="main")  # fmt: skip
    except Exception as err:
        raise FrontendError(f"torch-mlir's FX importer: {_first_line(err)}") from None
    op = mlir_module.operation
    _run(op.context, op, GENERALIZE, type(module).__name__)
    return _generic_text(op)


def _run(ctx: Any, module: Any, pipeline: str, source: str) -> None:
    from torch_mlir import ir  # pyright: ignore[reportMissingImports]
    from torch_mlir.passmanager import (  # pyright: ignore[reportMissingImports]
        PassManager,  # pyright: ignore[reportAttributeAccessIssue]
    )

    try:
        PassManager.parse(pipeline, ctx).run(module)
    except ir.MLIRError as err:  # pyright: ignore[reportAttributeAccessIssue]
        diags = getattr(err, "error_diagnostics", [])
        if diags:
            d = diags[0]
            raise FrontendError(f"{source}: {_loc(d.location)}: {d.message}") from None
        raise FrontendError(f"{source}: {_first_line(err)}") from None


def _loc(loc: Any) -> str:
    text = str(loc)
    return text[5:-2] if text.startswith('loc("') and text.endswith('")') else text


def _generic_text(module: Any) -> str:
    """Generic form with locations inline; modules holding ``dense_resource``
    weights (the FX importer's) are printed without locations, as the
    local-scope printer drops the resource blobs."""
    text = module.get_asm(print_generic_op_form=True, enable_debug_info=True,
                          use_local_scope=True)  # fmt: skip
    if "dense_resource<" in text:
        text = module.get_asm(print_generic_op_form=True)
    return text


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
