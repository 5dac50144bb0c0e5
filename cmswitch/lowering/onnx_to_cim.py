"""ONNX -> `cim` importer.

Reads an ONNX model (as exported by ``torch.onnx.export``, opset 13-20) and
emits one ``func.func @main`` of ``cim`` operators through
:class:`~cmswitch.builder.GraphBuilder`:

* every node whose inputs are all known at import time is evaluated with
  NumPy (:mod:`cmswitch.lowering.onnx_fold`): shape arithmetic, masks,
  transposed weights;
* ``Conv``/``Gemm``/``MatMul`` with a constant right operand become
  ``cim.conv2d``/``cim.linear`` (Gemm's transA/transB/alpha/beta folded into the
  weight), a run-time right operand gives ``cim.matmul``;
* ``BatchNormalization`` after a constant-weight Conv is folded into it;
* everything else maps onto the vector and layout ops.

Result shapes come from the ``cim`` op constructors (all shapes are static),
so an exporter's missing ``value_info`` does not matter. Weights whose
external data is absent still import: their ``cim.constant`` carries no value
and they are listed in :attr:`ImportResult.missing_weights`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import onnx
from onnx import external_data_helper, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import SSAValue
from xdsl.utils.exceptions import VerifyException

from cmswitch.builder import GraphBuilder
from cmswitch.dialects.cim import ConstantOp, ElementwiseFn, ElementwiseOp, shape_of
from cmswitch.hardware import Hardware

# The handler modules register themselves in HANDLERS when imported.
from cmswitch.lowering import (  # noqa: F401
    onnx_ops_attention,
    onnx_ops_compute,
    onnx_ops_einsum,
    onnx_ops_elementwise,
    onnx_ops_index,
    onnx_ops_layout,
    onnx_ops_norm,
    onnx_ops_quant,
    onnx_ops_resize,
)
from cmswitch.lowering.onnx_common import (
    HANDLERS,
    Absent,
    OnnxImportError,
    Value,
    check_numeric,
    dtype_for_elem,
    elem_for_dtype,
    elem_for_onnx,
    is_float_dtype,
    one_line,
)
from cmswitch.lowering.onnx_fold import FoldError, fold_node
from cmswitch.lowering.onnx_ops_layout import normalise_slice
from cmswitch.weights import WeightStore

__all__ = [
    "ImportResult",
    "Importer",
    "OnnxImportError",
    "import_onnx",
    "normalise_slice",
    "parse_input_shapes",
]


@dataclass(frozen=True)
class ImportResult:
    module: ModuleOp
    """``builtin.module`` with one ``func.func @main`` and cim.hardware/cim.model."""
    store: WeightStore
    """Weights whose data is known (may be empty or incomplete)."""
    missing_weights: tuple[str, ...]
    """Initializers whose data was absent (external data not found / not loaded)."""


def parse_input_shapes(specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Parses ``name=1x3x224x224`` specs (the CLI's ``--input-shape``)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, dims = spec.partition("=")
        name, dims = name.strip(), dims.strip()
        if not sep or not name or not dims:
            raise OnnxImportError(
                f"bad input shape {spec!r}: expected NAME=D1xD2x..., e.g. x=1x3x224x224"
            )
        try:
            shape = tuple(int(d) for d in re.split(r"[x,]", dims))
        except ValueError:
            raise OnnxImportError(
                f"bad input shape {spec!r}: dimensions must be positive integers separated by 'x'"
            ) from None
        if any(d <= 0 for d in shape):
            raise OnnxImportError(f"bad input shape {spec!r}: dimensions must be positive")
        if any(d >= 1 << 31 for d in shape):
            raise OnnxImportError(f"bad input shape {spec!r}: a dimension must be below 2**31")
        if name in shapes:
            raise OnnxImportError(f"input shape for {name!r} given twice")
        shapes[name] = shape
    return shapes


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _load(model: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, Path | None, str]:
    if isinstance(model, onnx.ModelProto):
        return model, None, model.graph.name or "model"
    path = Path(model)
    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise OnnxImportError(f"{path}: not a valid ONNX model: {one_line(err)}") from None
    if not proto.graph.node and not proto.graph.output:
        raise OnnxImportError(f"{path}: not a valid ONNX model: the graph is empty")
    _check_model(proto, str(path))
    return proto, path.parent, path.stem


def _check_model(proto: onnx.ModelProto, where: str) -> None:
    """What a corrupt file can get wrong before any node is read."""
    g = proto.graph
    names = [g.name, *(v.name for v in (*g.input, *g.output)), *(t.name for t in g.initializer)]
    names += [n for node in g.node for n in (node.name, *node.input, *node.output)]
    if any(not isinstance(n, str) for n in names):  # protobuf keeps invalid UTF-8 as bytes
        raise OnnxImportError(f"{where}: not a valid ONNX model: a name is not UTF-8 text")
    if not g.output:
        raise OnnxImportError(f"{where}: not a valid ONNX model: the graph declares no outputs")
    newest = onnx.defs.onnx_opset_version()
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx") and not 1 <= o.version <= newest:
            raise OnnxImportError(
                f"{where}: opset {o.version} is not an ONNX opset this onnx knows (1-{newest})"
            )


_UNSUPPORTED_ELEM = frozenset(
    (onnx.TensorProto.UNDEFINED, onnx.TensorProto.STRING, onnx.TensorProto.COMPLEX64,
     onnx.TensorProto.COMPLEX128)
)  # fmt: skip
"""Element types no cim tensor can hold (the rest map to f32, i64 or i1)."""

_KNOWN_ELEM = frozenset(onnx.TensorProto.DataType.values())


def _elem_name(elem_type: int) -> str:
    if elem_type in _KNOWN_ELEM:
        return onnx.TensorProto.DataType.Name(elem_type)
    return str(elem_type)


def _initializer(
    tensor: onnx.TensorProto, base: Path | None, load_weights: bool
) -> np.ndarray | Absent:
    """The initializer's data; OnnxImportError naming it if it cannot be read."""
    what = f"initializer {tensor.name!r}"
    if tensor.data_type in _UNSUPPORTED_ELEM or tensor.data_type not in _KNOWN_ELEM:
        raise OnnxImportError(
            f"{what}: element type {_elem_name(tensor.data_type)} is not supported"
        )
    if any(d < 0 for d in tensor.dims):
        raise OnnxImportError(f"{what} has negative dimensions {list(tensor.dims)}")
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        parts = Path(location).parts
        if Path(location).is_absolute() or ".." in parts:
            raise OnnxImportError(
                f"{what}: external data location {location!r} is outside the model's directory"
            )
    try:
        return _read_initializer(tensor, base, load_weights)
    except (ValueError, KeyError, TypeError, OSError, onnx.checker.ValidationError) as err:
        raise OnnxImportError(f"{what} cannot be read: {one_line(err)}") from None


def _read_initializer(
    tensor: onnx.TensorProto, base: Path | None, load_weights: bool
) -> np.ndarray | Absent:
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        file = (base / location) if base is not None and location else None
        offset, length = int(info.get("offset", 0)), info.get("length")
        if not load_weights or file is None or not file.is_file():
            return Absent(tensor.name, tuple(tensor.dims), dtype)
        need = offset + (int(length) if length is not None else 0)
        if file.stat().st_size < need:
            return Absent(tensor.name, tuple(tensor.dims), dtype)
        copy = onnx.TensorProto()
        copy.CopyFrom(tensor)
        external_data_helper.load_external_data_for_tensor(copy, str(base))
        copy.data_location = onnx.TensorProto.DEFAULT
        del copy.external_data[:]
        return numpy_helper.to_array(copy)
    return numpy_helper.to_array(tensor)


# --------------------------------------------------------------------------
# The importer
# --------------------------------------------------------------------------


def import_onnx(
    model: str | Path | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    hardware: Hardware | None = None,
    load_weights: bool = True,
) -> ImportResult:
    """Imports an ONNX model into the `cim` dialect.

    `input_shapes` fixes dynamic input dimensions (name -> full shape).
    With `load_weights` False, external data is not read (those initializers
    are imported without data and listed as missing).
    """
    proto, base, model_name = _load(model)
    importer = Importer(proto, base, dict(input_shapes or {}), load_weights)
    try:
        builder = importer.run()
    except OnnxImportError as err:  # name the file, as every other message does
        where = "" if isinstance(model, onnx.ModelProto) else str(model)
        if not where or str(err).startswith(where):
            raise
        raise OnnxImportError(f"{where}: {err}") from None
    hw = hardware if hardware is not None else Hardware.preset("dynaplasia")
    module = builder.module(hw, model_name)
    try:
        module.verify()
    except VerifyException as err:
        raise OnnxImportError(f"internal error: imported module does not verify: {err}") from None
    return ImportResult(module, builder.store, tuple(importer.missing))


_NEVER_FOLD = frozenset(
    ("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial")
)
"""Ops whose result is not a function of their inputs."""


_LOW_PRECISION: dict[int, ElementwiseFn] = {
    onnx.TensorProto.FLOAT16: ElementwiseFn.TO_F16,
    onnx.TensorProto.BFLOAT16: ElementwiseFn.TO_BF16,
}

_EXACT_IN_ANY_FLOAT = frozenset(
    (
        "Cast", "CastLike", "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
        "Transpose", "Slice", "Split", "Concat", "Gather", "GatherElements", "GatherND",
        "ScatterND", "ScatterElements", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth",
        "Relu", "Neg", "Abs", "Max", "Min", "Where", "Clip", "MaxPool", "GlobalMaxPool",
        "ReduceMax", "ReduceMin", "Sign", "Floor", "Ceil", "Round", "Trilu", "TopK", "Resize",
    )
)  # fmt: skip
"""Ops whose float16 / bfloat16 result needs no rounding (it is one of the
inputs' values, or the handler rounds itself)."""


_ACCUMULATING = frozenset(
    (
        "MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum", "Attention", "Softmax",
        "LogSoftmax", "ReduceSum", "ReduceMean", "ReduceSumSquare", "ReduceL1", "ReduceL2",
        "ReduceProd", "ReduceLogSum", "ReduceLogSumExp", "LayerNormalization",
        "RMSNormalization", "GroupNormalization", "InstanceNormalization", "AveragePool",
        "GlobalAveragePool", "CumSum",
    )
)  # fmt: skip
"""Ops whose float16 / bfloat16 results depend on the order and precision of
a long accumulation: emulating them op by op does not reproduce the format's
arithmetic, so they are refused in those formats."""


def _inferred_value_info(proto: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Element types of intermediate values from ONNX shape inference (for
    float16 / bfloat16 emulation); nothing if inference fails."""
    low = (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    declared = [i.type.tensor_type.elem_type for i in (*proto.graph.input, *proto.graph.output)]
    declared += [t.data_type for t in proto.graph.initializer]
    for n in proto.graph.node:  # Cast targets and Constant values
        for a in n.attribute:
            if n.op_type == "Cast" and a.name == "to":
                declared.append(a.i)
            elif n.op_type == "Constant" and a.type == onnx.AttributeProto.TENSOR:
                declared.append(a.t.data_type)
    if not any(t in low for t in declared):
        return []
    try:
        return list(onnx.shape_inference.infer_shapes(proto).graph.value_info)
    except Exception:
        return []


class Importer:
    def __init__(
        self,
        proto: onnx.ModelProto,
        base: Path | None,
        input_shapes: dict[str, Sequence[int]],
        load_weights: bool,
    ):
        self.proto = proto
        self.graph = proto.graph
        self.base = base
        self.input_shapes = input_shapes
        self.load_weights = load_weights
        self.opset = next(
            (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13
        )
        self.b = GraphBuilder("main")
        self.env: dict[str, Value] = {}
        self.materialised: dict[str, SSAValue] = {}
        self.missing: list[str] = []
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        self.types: dict[str, int] = {}  # ONNX element types where declared
        self.skip: set[str] = set()  # node outputs already produced by a fused node

    # ------------------------------------------------------------ top level
    def run(self) -> GraphBuilder:
        g = self.graph
        if self.proto.functions or any(n.domain not in ("", "ai.onnx") for n in g.node):
            bad = next((n for n in g.node if n.domain not in ("", "ai.onnx")), None)
            if bad is not None:
                raise self._unsupported(bad, f"{bad.domain}.{bad.op_type}")
        inits = {t.name for t in g.initializer}
        for vi in (*_inferred_value_info(self.proto), *g.input, *g.value_info, *g.output):
            if vi.type.HasField("tensor_type"):
                self.types[vi.name] = vi.type.tensor_type.elem_type
        for t in g.initializer:
            self.types[t.name] = t.data_type
            value = _initializer(t, self.base, self.load_weights)
            if isinstance(value, Absent):
                self.missing.append(t.name)
            self.env[t.name] = value
        for t in g.sparse_initializer:
            raise OnnxImportError(f"sparse initializer {t.values.name!r} is not supported")
        unknown = set(self.input_shapes) - {i.name for i in g.input if i.name not in inits}
        if unknown:
            names = ", ".join(repr(i.name) for i in g.input if i.name not in inits)
            raise OnnxImportError(
                f"--input-shape names {sorted(unknown)[0]!r}, which is not a model input "
                f"(inputs: {names})"
            )
        for inp in g.input:
            if inp.name in inits:
                continue
            if inp.name in self.env:
                raise OnnxImportError(f"input {inp.name!r} is declared twice")
            self.env[inp.name] = self._input(inp)
        for node in g.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        for node in g.node:
            if node.output and all(o in self.skip for o in node.output if o):
                continue
            self._node(node)
        outs = []
        for out in g.output:
            if out.name not in self.env:
                raise OnnxImportError(f"graph output {out.name!r} is never produced")
            value = self._ssa(out.name)
            dims = out.type.tensor_type.shape.dim
            declared = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
            # A static shape the exporter declared must be the one we inferred.
            if (
                out.type.tensor_type.HasField("shape")
                and -1 not in declared
                and (tuple(declared) != shape_of(value))
            ):
                raise OnnxImportError(
                    f"graph output {out.name!r} has shape {list(shape_of(value))} as computed "
                    f"from its inputs, but the model declares {declared}"
                )
            outs.append(value)
        self.b.output(*outs, names=[o.name for o in g.output])
        return self.b

    def _input(self, inp: onnx.ValueInfoProto) -> SSAValue:
        ttype = inp.type.tensor_type
        if not inp.type.HasField("tensor_type") or not ttype.HasField("shape"):
            raise OnnxImportError(f"input {inp.name!r} has no tensor shape")
        if ttype.elem_type in _UNSUPPORTED_ELEM or ttype.elem_type not in _KNOWN_ELEM:
            raise OnnxImportError(
                f"input {inp.name!r}: element type {_elem_name(ttype.elem_type)} is not supported"
            )
        dims = list(ttype.shape.dim)
        if inp.name in self.input_shapes:
            shape = tuple(int(d) for d in self.input_shapes[inp.name])
            if len(shape) != len(dims) or any(
                d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != s
                for d, s in zip(dims, shape, strict=False)
            ):
                raise OnnxImportError(
                    f"--input-shape {inp.name}={'x'.join(map(str, shape))} does not match the "
                    f"model's {_dims_text(dims)}"
                )
        else:
            if any(not (d.HasField("dim_value") and d.dim_value > 0) for d in dims):
                raise OnnxImportError(
                    f"input {inp.name!r} has dynamic shape {_dims_text(dims)}: give it with "
                    f"--input-shape {inp.name}="
                    + "x".join(
                        str(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else "N"
                        for d in dims
                    )
                )
            shape = tuple(d.dim_value for d in dims)
        return self.b.input(inp.name, shape, elem_for_onnx(ttype.elem_type))

    # ------------------------------------------------------------- values
    def onnx_type(self, name: str) -> int:
        """The ONNX element type of value `name`: declared by the model, else
        that of its constant data, else that of its `cim` type."""
        if name in self.types:
            return self.types[name]
        v = self._get(name)
        if isinstance(v, np.ndarray | Absent):
            return helper.np_dtype_to_tensor_dtype(v.dtype)
        return helper.np_dtype_to_tensor_dtype(
            dtype_for_elem(cast(TensorType, cast(SSAValue, v).type).element_type)
        )

    def _get(self, name: str) -> Value | None:
        if not name:
            return None
        if name not in self.env:
            raise OnnxImportError(f"value {name!r} is used before it is defined")
        return self.env[name]

    def _const(self, name: str) -> np.ndarray | None:
        v = self._get(name)
        return v if isinstance(v, np.ndarray) else None

    def _ssa(self, name: str) -> SSAValue:
        v = self._get(name)
        if v is None:
            raise OnnxImportError(f"value {name!r} is required but missing")
        if isinstance(v, SSAValue):
            return v
        if name in self.materialised:
            return self.materialised[name]
        if isinstance(v, Absent):
            ssa = self.b.weight(name, v.shape, elem=elem_for_dtype(v.dtype))
        else:
            ssa = self._constant(name, v)
        self.materialised[name] = ssa
        return ssa

    def _constant(self, name: str, data: np.ndarray) -> SSAValue:
        data = np.asarray(data)
        check_numeric(data.dtype, f"constant {name!r}")
        if is_float_dtype(data.dtype):
            data = data.astype(np.float32)
            if np.isfinite(data).all():
                return self.b.weight(name, data.shape, data)
            # Non-finite values (masks of -inf) live in the weight store: an
            # inline dense attribute of them does not survive print + parse.
            ssa = self.b.weight(name, data.shape, None, elem=f32)
            self.b.store[cast(ConstantOp, ssa.owner).sym.data] = data
            return ssa
        # Integer (i64) and boolean (i1) constants: index tensors, masks.
        data = data if data.dtype == np.bool_ else data.astype(np.int64)
        return self.b.weight(name, data.shape, data)

    def _shape(self, name: str) -> tuple[int, ...]:
        v = self._get(name)
        if isinstance(v, SSAValue):
            return shape_of(v)
        if isinstance(v, Absent):
            return v.shape
        return tuple(np.asarray(v).shape)

    def _ints(self, node: onnx.NodeProto, pos: int, what: str) -> list[int]:
        """A constant integer input (shapes, axes, pads...)."""
        value = self._const(node.input[pos]) if len(node.input) > pos else None
        if value is None:
            raise OnnxImportError(
                f"node {node.name!r} (op {node.op_type}): {what} must be a constant "
                "(computed at import time)"
            )
        return [int(x) for x in np.asarray(value).ravel()]

    # ------------------------------------------------------------- nodes
    def _node(self, node: onnx.NodeProto) -> None:
        undefined = next((n for n in node.input if n and n not in self.env), None)
        if undefined is not None:
            raise OnnxImportError(
                f"node {node.name or (node.output or [''])[0]!r} (op {node.op_type}): input "
                f"{undefined!r} is not defined before it (no initializer, graph input or "
                "earlier node produces it; a cycle?)"
            )
        inputs = [self._get(n) for n in node.input]
        if node.op_type == "Constant":
            self._fold(node, [])
            return
        foldable = all(not isinstance(v, SSAValue | Absent) for v in inputs)
        if (
            foldable
            and node.op_type not in _NEVER_FOLD
            and self._fold(node, cast(list[np.ndarray | None], inputs))
        ):
            return
        if node.op_type in ("Shape", "Size"):
            # Shapes are static: Shape of anything is a constant.
            shape = np.array(self._shape(node.input[0]), dtype=np.int64)
            dummy = np.zeros(shape, dtype=np.int8) if shape.size else np.zeros(())
            self._fold(node, [dummy], force=True)
            return
        if node.op_type == "CastLike" and isinstance(inputs[0], np.ndarray):
            # Only the type of the second input matters.
            to = helper.tensor_dtype_to_np_dtype(self.onnx_type(node.input[1]))
            self.env[node.output[0]] = inputs[0].astype(to)
            return
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            raise self._unsupported(node, node.op_type)
        try:
            results = handler(self, node)
        except OnnxImportError as err:
            if f"{node.name!r}" in str(err):
                raise
            raise OnnxImportError(
                f"node {node.name or node.output[0]!r} (op {node.op_type}): {err}"
            ) from None
        except (
            VerifyException,
            FoldError,
            ValueError,
            IndexError,
            KeyError,
            ArithmeticError,
            TypeError,
        ) as err:
            raise OnnxImportError(
                f"node {node.name!r} (op {node.op_type}, opset {self.opset}) cannot be imported: "
                f"{one_line(err)}"
            ) from None
        for out, res in zip(node.output, results, strict=False):
            if out:
                self.env[out] = self._narrow(node, out, res)

    def _narrow(self, node: onnx.NodeProto, out: str, res: Value) -> Value:
        """Emulates float16 / bfloat16 arithmetic: a computed result the
        model types as one of them is rounded to it (the computation itself
        runs in f32 or wider, as ONNX Runtime's CPU kernels do)."""
        fn = _LOW_PRECISION.get(self.types.get(out, 0))
        if fn is None or not isinstance(res, SSAValue) or node.op_type in _EXACT_IN_ANY_FLOAT:
            return res
        if cast(TensorType, res.type).element_type != f32:
            return res
        if node.op_type in _ACCUMULATING:
            raise OnnxImportError(
                f"node {node.name!r} (op {node.op_type}): accumulation in "
                f"{onnx.TensorProto.DataType.Name(self.types[out])} is not emulated "
                "(export the model in float32)"
            )
        return self.add(ElementwiseOp(fn, [res]), node)

    def _fold(
        self, node: onnx.NodeProto, inputs: list[np.ndarray | None], force: bool = False
    ) -> bool:
        try:
            results = fold_node(node, inputs, self.opset)
        except FoldError as err:
            if force or node.op_type == "Constant":
                raise OnnxImportError(
                    f"node {node.name!r} (op {node.op_type}, opset {self.opset}) could not be "
                    f"evaluated at import time: {err}"
                ) from None
            return False
        for out, res in zip(node.output, results, strict=False):
            if out:
                self.env[out] = np.asarray(res)
        return True

    def _unsupported(self, node: onnx.NodeProto, op: str) -> OnnxImportError:
        return OnnxImportError(
            f"node {node.name or node.output[0]!r} (op {op}, opset {self.opset}) is not "
            "supported by the cim importer"
        )

    def add(self, op: object, node: onnx.NodeProto) -> SSAValue:
        return self.b.add(op, label=node.name or node.output[0])  # type: ignore[arg-type]

    def attrs(self, node: onnx.NodeProto) -> dict[str, object]:
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def axis(self, axis: int, rank: int, node: onnx.NodeProto) -> int:
        if not -rank <= axis < rank:
            raise OnnxImportError(
                f"node {node.name!r} (op {node.op_type}): axis {axis} out of range for rank {rank}"
            )
        return axis % rank

    def used(self, name: str) -> bool:
        return bool(name) and (
            name in self.consumers or any(o.name == name for o in self.graph.output)
        )


def _dims_text(dims: Sequence[onnx.TensorShapeProto.Dimension]) -> str:
    return "[" + ", ".join(
        str(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0
        else (d.dim_param or "?") for d in dims
    ) + "]"  # fmt: skip
