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

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import onnx
from onnx import external_data_helper, helper, numpy_helper
from xdsl.dialects.builtin import (
    IntegerType,
    ModuleOp,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import VerifyException

from cmswitch.builder import GraphBuilder
from cmswitch.dialects.cim import (
    BroadcastOp,
    ConcatOp,
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    GatherOp,
    LayerNormOp,
    LinearOp,
    MatmulOp,
    PadOp,
    PoolKind,
    PoolOp,
    ReduceFn,
    ReduceOp,
    ReshapeOp,
    RMSNormOp,
    SliceOp,
    SoftmaxOp,
    TransposeOp,
    broadcast_shapes,
    is_static_value,
    shape_of,
)
from cmswitch.hardware import Hardware
from cmswitch.lowering.onnx_fold import FoldError, fold_node, reshape_target
from cmswitch.weights import WeightStore

i1 = IntegerType(1)


class OnnxImportError(Exception):
    """A model the importer cannot take; the message is one user-facing line."""


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
# Values during import
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Absent:
    """An initializer whose data is not available (shape and dtype known)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


_Value = np.ndarray | _Absent | SSAValue


def _elem_for_dtype(dtype: np.dtype) -> Attribute:
    if dtype == np.bool_:
        return i1
    if np.issubdtype(dtype, np.floating):
        return f32
    return i64


def _dtype_for_elem(elem: Attribute) -> np.dtype:
    if elem == f32:
        return np.dtype(np.float32)
    return np.dtype(np.bool_) if elem == i1 else np.dtype(np.int64)


_UNSUPPORTED_ELEM = frozenset(
    (onnx.TensorProto.UNDEFINED, onnx.TensorProto.STRING, onnx.TensorProto.COMPLEX64,
     onnx.TensorProto.COMPLEX128)
)  # fmt: skip
"""Element types no cim tensor can hold (the rest map to f32, i64 or i1)."""


def _elem_for_onnx(elem_type: int) -> Attribute:
    if elem_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                     onnx.TensorProto.BFLOAT16):  # fmt: skip
        return f32
    if elem_type == onnx.TensorProto.BOOL:
        return i1
    return i64


def _is_float(value: SSAValue) -> bool:
    return cast(TensorType, value.type).element_type == f32


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
        raise OnnxImportError(f"{path}: not a valid ONNX model: {_one_line(err)}") from None
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


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _initializer(
    tensor: onnx.TensorProto, base: Path | None, load_weights: bool
) -> np.ndarray | _Absent:
    """The initializer's data; OnnxImportError naming it if it cannot be read."""
    what = f"initializer {tensor.name!r}"
    if tensor.data_type in _UNSUPPORTED_ELEM or tensor.data_type not in _KNOWN_ELEM:
        name = (
            onnx.TensorProto.DataType.Name(tensor.data_type)
            if tensor.data_type in _KNOWN_ELEM
            else tensor.data_type
        )
        raise OnnxImportError(f"{what} has element type {name}, which is not supported")
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
        raise OnnxImportError(f"{what} cannot be read: {_one_line(err)}") from None


_KNOWN_ELEM = frozenset(onnx.TensorProto.DataType.values())


def _read_initializer(
    tensor: onnx.TensorProto, base: Path | None, load_weights: bool
) -> np.ndarray | _Absent:
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        file = (base / location) if base is not None and location else None
        offset, length = int(info.get("offset", 0)), info.get("length")
        if not load_weights or file is None or not file.is_file():
            return _Absent(tensor.name, tuple(tensor.dims), dtype)
        need = offset + (int(length) if length is not None else 0)
        if file.stat().st_size < need:
            return _Absent(tensor.name, tuple(tensor.dims), dtype)
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
    importer = _Importer(proto, base, dict(input_shapes or {}), load_weights)
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


class _Importer:
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
        self.env: dict[str, _Value] = {}
        self.materialised: dict[str, SSAValue] = {}
        self.missing: list[str] = []
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        self.skip: set[str] = set()  # node outputs already produced by a fused node

    # ------------------------------------------------------------ top level
    def run(self) -> GraphBuilder:
        g = self.graph
        if self.proto.functions or any(n.domain not in ("", "ai.onnx") for n in g.node):
            bad = next((n for n in g.node if n.domain not in ("", "ai.onnx")), None)
            if bad is not None:
                raise self._unsupported(bad, f"{bad.domain}.{bad.op_type}")
        inits = {t.name for t in g.initializer}
        for t in g.initializer:
            value = _initializer(t, self.base, self.load_weights)
            if isinstance(value, _Absent):
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
        if ttype.elem_type in _UNSUPPORTED_ELEM:
            raise OnnxImportError(
                f"input {inp.name!r} has element type "
                f"{onnx.TensorProto.DataType.Name(ttype.elem_type)}, which is not supported"
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
        return self.b.input(inp.name, shape, _elem_for_onnx(ttype.elem_type))

    # ------------------------------------------------------------- values
    def _get(self, name: str) -> _Value | None:
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
        if isinstance(v, _Absent):
            ssa = self.b.weight(name, v.shape, elem=_elem_for_dtype(v.dtype))
        else:
            ssa = self._constant(name, v)
        self.materialised[name] = ssa
        return ssa

    def _constant(self, name: str, data: np.ndarray) -> SSAValue:
        data = np.asarray(data)
        if np.issubdtype(data.dtype, np.floating):
            return self.b.weight(name, data.shape, data.astype(np.float32))
        # Integer (i64) and boolean (i1) constants: index tensors, masks.
        data = data if data.dtype == np.bool_ else data.astype(np.int64)
        return self.b.weight(name, data.shape, data)

    def _shape(self, name: str) -> tuple[int, ...]:
        v = self._get(name)
        if isinstance(v, SSAValue):
            return shape_of(v)
        if isinstance(v, _Absent):
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
        foldable = all(not isinstance(v, SSAValue | _Absent) for v in inputs)
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
            like = inputs[1]
            dtype = (
                _dtype_for_elem(cast(TensorType, like.type).element_type)
                if isinstance(like, SSAValue)
                else cast(_Absent, like).dtype
            )
            self.env[node.output[0]] = inputs[0].astype(dtype)
            return
        handler = _HANDLERS.get(node.op_type)
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
        except (VerifyException, FoldError, ValueError, IndexError, KeyError) as err:
            raise OnnxImportError(
                f"node {node.name!r} (op {node.op_type}, opset {self.opset}) cannot be imported: "
                f"{_one_line(err)}"
            ) from None
        for out, res in zip(node.output, results, strict=False):
            if out:
                self.env[out] = res

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


# --------------------------------------------------------------------------
# Handlers: (importer, node) -> results (one per node output)
# --------------------------------------------------------------------------

_Handler = Callable[[_Importer, onnx.NodeProto], list[_Value]]
_HANDLERS: dict[str, _Handler] = {}


def _handles(*ops: str) -> Callable[[_Handler], _Handler]:
    def deco(fn: _Handler) -> _Handler:
        for op in ops:
            _HANDLERS[op] = fn
        return fn

    return deco


# ---------------------------------------------------------------- elementwise

_UNARY: dict[str, ElementwiseFn] = {
    "Relu": ElementwiseFn.RELU,
    "Sigmoid": ElementwiseFn.SIGMOID,
    "Tanh": ElementwiseFn.TANH,
    "HardSwish": ElementwiseFn.HARDSWISH,
    "Softplus": ElementwiseFn.SOFTPLUS,
    "Exp": ElementwiseFn.EXP,
    "Log": ElementwiseFn.LOG,
    "Sqrt": ElementwiseFn.SQRT,
    "Reciprocal": ElementwiseFn.RECIPROCAL,
    "Neg": ElementwiseFn.NEG,
    "Abs": ElementwiseFn.ABS,
    "Erf": ElementwiseFn.ERF,
    "Floor": ElementwiseFn.FLOOR,
    "Ceil": ElementwiseFn.CEIL,
    "Sin": ElementwiseFn.SIN,
    "Cos": ElementwiseFn.COS,
    "Not": ElementwiseFn.NOT,
}

_BINARY: dict[str, ElementwiseFn] = {
    "Add": ElementwiseFn.ADD,
    "Sub": ElementwiseFn.SUB,
    "Mul": ElementwiseFn.MUL,
    "Div": ElementwiseFn.DIV,
    "Pow": ElementwiseFn.POW,
    "Mod": ElementwiseFn.MOD,
    "And": ElementwiseFn.AND,
    "Or": ElementwiseFn.OR,
}

_COMPARE: dict[str, ElementwiseFn] = {
    "Equal": ElementwiseFn.EQUAL,
    "Less": ElementwiseFn.LESS,
    "LessOrEqual": ElementwiseFn.LESS_EQUAL,
    "Greater": ElementwiseFn.GREATER,
    "GreaterOrEqual": ElementwiseFn.GREATER_EQUAL,
}


@_handles(*_UNARY)
def _unary(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    return [im.add(ElementwiseOp(_UNARY[node.op_type], [x]), node)]


@_handles("LeakyRelu", "Elu", "HardSigmoid", "Gelu", "Selu")
def _param_unary(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    op = node.op_type
    if op == "LeakyRelu":
        return [
            im.add(
                ElementwiseOp(ElementwiseFn.LEAKY_RELU, [x], alpha=float(a.get("alpha", 0.01))),
                node,
            )
        ]  # type: ignore[arg-type]
    if op == "Elu":
        return [
            im.add(ElementwiseOp(ElementwiseFn.ELU, [x], alpha=float(a.get("alpha", 1.0))), node)
        ]  # type: ignore[arg-type]
    if op == "HardSigmoid":
        return [im.add(ElementwiseOp(ElementwiseFn.HARDSIGMOID, [x], alpha=float(a.get("alpha", 0.2)),  # type: ignore[arg-type]
                                     beta=float(a.get("beta", 0.5))), node)]  # type: ignore[arg-type]  # fmt: skip
    if op == "Gelu":
        approx = a.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        fn = ElementwiseFn.GELU_TANH if approx == "tanh" else ElementwiseFn.GELU
        return [im.add(ElementwiseOp(fn, [x]), node)]
    # Selu = gamma * elu(x, alpha)
    alpha = float(cast(float, a.get("alpha", 1.67326319217681884765625)))
    gamma = float(cast(float, a.get("gamma", 1.05070102214813232421875)))
    y = im.add(ElementwiseOp(ElementwiseFn.ELU, [x], alpha=alpha), node)
    g = im._constant(f"{node.output[0]}.gamma", np.array(gamma, np.float32))
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [y, g]), node)]


@_handles("PRelu")
def _prelu(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    # prelu(x) = relu(x) + slope * min(x, 0)
    x, slope = im._ssa(node.input[0]), im._ssa(node.input[1])
    zero = im._constant(f"{node.output[0]}.zero", np.array(0.0, np.float32))
    pos = im.add(ElementwiseOp(ElementwiseFn.RELU, [x]), node)
    neg = im.add(ElementwiseOp(ElementwiseFn.MIN, [x, zero]), node)
    neg = im.add(ElementwiseOp(ElementwiseFn.MUL, [neg, slope]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.ADD, [pos, neg]), node)]


@_handles("Mish")
def _mish(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    # mish(x) = x * tanh(softplus(x))
    x = im._ssa(node.input[0])
    t = im.add(ElementwiseOp(ElementwiseFn.SOFTPLUS, [x]), node)
    t = im.add(ElementwiseOp(ElementwiseFn.TANH, [t]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.MUL, [x, t]), node)]


@_handles(*_BINARY, *_COMPARE)
def _binary(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    a, b = im._ssa(node.input[0]), im._ssa(node.input[1])
    if node.op_type in _COMPARE:
        return [im.add(ElementwiseOp(_COMPARE[node.op_type], [a, b], element_type=i1), node)]
    return [im.add(ElementwiseOp(_BINARY[node.op_type], [a, b]), node)]


@_handles("Max", "Min", "Sum", "Mean")
def _variadic(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    fn = {"Max": ElementwiseFn.MAX, "Min": ElementwiseFn.MIN}.get(node.op_type, ElementwiseFn.ADD)
    acc = im._ssa(node.input[0])
    for name in node.input[1:]:
        acc = im.add(ElementwiseOp(fn, [acc, im._ssa(name)]), node)
    if node.op_type == "Mean" and len(node.input) > 1:
        n = im._constant(f"{node.output[0]}.count", np.array(len(node.input), np.float32))
        acc = im.add(ElementwiseOp(ElementwiseFn.DIV, [acc, n]), node)
    return [acc]


@_handles("Where")
def _where(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    c, x, y = (im._ssa(n) for n in node.input)
    return [im.add(ElementwiseOp(ElementwiseFn.WHERE, [c, x, y]), node)]


@_handles("Clip")
def _clip(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    a = im.attrs(node)
    lo: float | None = cast(float, a["min"]) if "min" in a else None
    hi: float | None = cast(float, a["max"]) if "max" in a else None
    for pos in (1, 2):
        if len(node.input) > pos and node.input[pos]:
            c = im._const(node.input[pos])
            if c is None:
                raise OnnxImportError(f"node {node.name!r} (op Clip): min/max must be constants")
            if pos == 1:
                lo = float(np.asarray(c).ravel()[0])
            else:
                hi = float(np.asarray(c).ravel()[0])
    if lo is not None and hi is not None:
        return [im.add(ElementwiseOp(ElementwiseFn.CLIP, [x], alpha=lo, beta=hi), node)]
    if lo is None and hi is None:
        return [x]
    fn, bound = (ElementwiseFn.MAX, lo) if lo is not None else (ElementwiseFn.MIN, hi)
    c = im._constant(f"{node.output[0]}.bound", np.array(bound, np.float32))
    return [im.add(ElementwiseOp(fn, [x, c]), node)]


@_handles("Cast", "CastLike")
def _cast(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    if node.op_type == "CastLike":
        elem = cast(TensorType, im._ssa(node.input[1]).type).element_type
    else:
        elem = _elem_for_onnx(int(cast(int, im.attrs(node)["to"])))
    if cast(TensorType, x.type).element_type == elem:
        return [x]
    return [im.add(ElementwiseOp(ElementwiseFn.CAST, [x], element_type=elem), node)]


@_handles("Identity", "Dropout")
def _identity(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    if node.op_type == "Dropout" and len(node.output) > 1 and im.used(node.output[1]):
        raise OnnxImportError(f"node {node.name!r} (op Dropout): the mask output is not supported")
    return [im._get(node.input[0])]  # type: ignore[list-item]


@_handles("IsNaN", "IsInf")
def _isnan(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    # Run-time NaN/Inf tests are exporter guards (masked softmax); finite
    # float inputs make them constant False.
    shape = im._shape(node.input[0])
    return [np.zeros(shape, dtype=np.bool_)]


# ---------------------------------------------------------------- CIM ops


def _conv_pads(im: _Importer, node: onnx.NodeProto, x_hw: Sequence[int], k: Sequence[int],
               strides: Sequence[int], dil: Sequence[int]) -> list[int]:  # fmt: skip
    a = im.attrs(node)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for ax in range(2):
            out = math.ceil(x_hw[ax] / strides[ax])
            total = max(0, (out - 1) * strides[ax] + dil[ax] * (k[ax] - 1) + 1 - x_hw[ax])
            small, big = total // 2, total - total // 2
            pads[ax], pads[ax + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        return pads
    if auto == "VALID":
        return [0, 0, 0, 0]
    pads = [int(p) for p in cast(list[int], a.get("pads", [0, 0, 0, 0]))]
    return pads


def _spatial_2d(im: _Importer, node: onnx.NodeProto, rank: int) -> None:
    if rank != 4:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}, opset {im.opset}): only 2-D (NCHW) "
            f"inputs are supported, got rank {rank}"
        )


def _static(im: _Importer, name: str) -> bool:
    v = im._get(name)
    return isinstance(v, np.ndarray | _Absent) or (isinstance(v, SSAValue) and is_static_value(v))


@_handles("Conv")
def _conv(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    if len(shape_of(x)) == 3:
        return _conv1d(im, node, x)
    _spatial_2d(im, node, len(shape_of(x)))
    if not _static(im, node.input[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op Conv): a run-time (non-constant) weight is not supported"
        )
    a = im.attrs(node)
    w_shape = im._shape(node.input[1])
    strides = [int(s) for s in cast(list[int], a.get("strides", [1, 1]))]
    dil = [int(d) for d in cast(list[int], a.get("dilations", [1, 1]))]
    pads = _conv_pads(im, node, shape_of(x)[2:], w_shape[2:], strides, dil)
    group = int(cast(int, a.get("group", 1)))
    w_name = node.input[1]
    b_name = node.input[2] if len(node.input) > 2 else ""
    out_name = node.output[0]

    # Fold a following BatchNormalization into the weight and bias.
    bn = _single_consumer(im, out_name, "BatchNormalization")
    if bn is not None and all(_static(im, n) for n in bn.input[1:5]):
        eps = float(cast(float, im.attrs(bn).get("epsilon", 1e-5)))
        parts = [im._get(n) for n in (w_name, b_name, *bn.input[1:5])]
        out_name = bn.output[0]
        im.skip.add(out_name)
        if all(isinstance(p, np.ndarray) or p is None for p in parts):
            w, b0, gamma, beta, mean, var = (cast(np.ndarray | None, p) for p in parts)
            assert w is not None and gamma is not None and beta is not None
            s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)  # type: ignore[union-attr]
            bias0 = b0.astype(np.float64) if b0 is not None else 0.0
            new_w = (w.astype(np.float64) * s.reshape(-1, 1, 1, 1)).astype(np.float32)
            new_b = ((bias0 - mean) * s + beta).astype(np.float32)  # type: ignore[operator]
            w_val = im._constant(f"{w_name}.bn", new_w)
            b_val: SSAValue | None = im._constant(f"{bn.output[0]}.bias", new_b)
        else:
            # Data absent: same shapes, no values.
            w_val = im.b.weight(f"{w_name}.bn", w_shape)
            b_val = im.b.weight(f"{bn.output[0]}.bias", (w_shape[0],))
        res = im.b.add(
            Conv2dOp(x, w_val, b_val, strides=strides, pads=pads, dilations=dil, group=group),
            label=node.name or node.output[0],
        )
        # The BN's output is this conv's; the BN node itself is skipped.
        im.env[bn.output[0]] = res
        return [res]
    w_val = im._ssa(w_name)
    b_val = _bias(im, b_name)
    return [im.add(
        Conv2dOp(x, w_val, b_val, strides=strides, pads=pads, dilations=dil, group=group), node
    )]  # fmt: skip


def _conv1d(im: _Importer, node: onnx.NodeProto, x: SSAValue) -> list[_Value]:
    """A 1-D convolution as a 2-D one of height 1 (NCL -> NC1L)."""
    if not _static(im, node.input[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op Conv): a run-time (non-constant) weight is not supported"
        )
    n, c, length = shape_of(x)
    a = im.attrs(node)
    w_name = node.input[1]
    o, ci, k = im._shape(w_name)
    stride = int(cast(list[int], a.get("strides", [1]))[0])
    dil = int(cast(list[int], a.get("dilations", [1]))[0])
    pads = _conv_pads(im, _as_2d(node), (1, length), (1, k), (1, stride), (1, dil))
    wv = im._get(w_name)
    if isinstance(wv, np.ndarray):
        w4 = im._constant(f"{w_name}.2d", wv.reshape(o, ci, 1, k))
    else:
        w4 = im.add(ReshapeOp(im._ssa(w_name), (o, ci, 1, k)), node)
    bias = _bias(im, node.input[2] if len(node.input) > 2 else "")
    x4 = im.add(ReshapeOp(x, (n, c, 1, length)), node)
    group = int(cast(int, a.get("group", 1)))
    y = im.add(Conv2dOp(x4, w4, bias, strides=(1, stride), pads=pads, dilations=(1, dil),
                        group=group), node)  # fmt: skip
    _, oc, _, ol = shape_of(y)
    return [im.add(ReshapeOp(y, (n, oc, ol)), node)]


def _as_2d(node: onnx.NodeProto) -> onnx.NodeProto:
    """`node` with 1-D pads lifted to 2-D (height 1, no padding)."""
    clone = onnx.NodeProto()
    clone.CopyFrom(node)
    for attr in clone.attribute:
        if attr.name == "pads" and len(attr.ints) == 2:
            begin, end = attr.ints
            del attr.ints[:]
            attr.ints.extend([0, begin, 0, end])
    return clone


def _single_consumer(im: _Importer, name: str, op_type: str) -> onnx.NodeProto | None:
    users = im.consumers.get(name, [])
    if len(users) != 1 or users[0].op_type != op_type or users[0].input[0] != name:
        return None
    if any(o.name == name for o in im.graph.output):
        return None
    bn = users[0]
    if op_type == "BatchNormalization" and any(im.used(o) for o in bn.output[1:]):
        return None
    return bn


def _bias(im: _Importer, name: str) -> SSAValue | None:
    if not name:
        return None
    return im._ssa(name)


@_handles("Gemm")
def _gemm(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    a = im.attrs(node)
    alpha = float(cast(float, a.get("alpha", 1.0)))
    beta = float(cast(float, a.get("beta", 1.0)))
    trans_a, trans_b = int(cast(int, a.get("transA", 0))), int(cast(int, a.get("transB", 0)))
    x = im._ssa(node.input[0])
    if trans_a:
        x = im.add(TransposeOp(x, (1, 0)), node)
    b_name = node.input[1]
    label = node.name or node.output[0]
    scale_after = 1.0
    if _static(im, b_name):
        bv = im._get(b_name)
        if isinstance(bv, np.ndarray):
            w = (bv.T if trans_b else bv).astype(np.float32) * np.float32(alpha)
            name = b_name if (not trans_b and alpha == 1.0) else f"{b_name}.gemm"
            w_val = im._constant(name, w) if name != b_name else im._ssa(b_name)
        else:
            w_val = im._ssa(b_name)
            if trans_b:
                w_val = im.add(TransposeOp(w_val, (1, 0)), node)
            scale_after = alpha
        bias: SSAValue | None = None
        add_c: SSAValue | None = None
        k = shape_of(w_val)[1]
        if len(node.input) > 2 and node.input[2] and beta != 0.0:
            cv = im._get(node.input[2])
            c_shape = im._shape(node.input[2])
            if (
                math.prod(c_shape) == k
                and (len(c_shape) == 1 or c_shape[-1] == k)
                and (isinstance(cv, np.ndarray) and scale_after == 1.0)
            ):
                bias = im._constant(f"{node.input[2]}.gemm", (cv.reshape(k) * beta).astype(np.float32)) \
                    if beta != 1.0 or cv.ndim != 1 else im._ssa(node.input[2])  # fmt: skip
            else:
                add_c = im._ssa(node.input[2])
                if beta != 1.0:
                    bc = im._constant(f"{node.output[0]}.beta", np.array(beta, np.float32))
                    add_c = im.add(ElementwiseOp(ElementwiseFn.MUL, [add_c, bc]), node)
        y = im.b.add(LinearOp(x, w_val, bias), label=label)
        if scale_after != 1.0:
            sc = im._constant(f"{node.output[0]}.alpha", np.array(scale_after, np.float32))
            y = im.add(ElementwiseOp(ElementwiseFn.MUL, [y, sc]), node)
        if add_c is not None:
            y = im.add(ElementwiseOp(ElementwiseFn.ADD, [y, add_c]), node)
        return [y]
    rhs = im._ssa(b_name)
    if trans_b:
        rhs = im.add(TransposeOp(rhs, (1, 0)), node)
    y = im.b.add(MatmulOp(x, rhs), label=label)
    if alpha != 1.0:
        sc = im._constant(f"{node.output[0]}.alpha", np.array(alpha, np.float32))
        y = im.add(ElementwiseOp(ElementwiseFn.MUL, [y, sc]), node)
    if len(node.input) > 2 and node.input[2] and beta != 0.0:
        c = im._ssa(node.input[2])
        if beta != 1.0:
            bc = im._constant(f"{node.output[0]}.beta", np.array(beta, np.float32))
            c = im.add(ElementwiseOp(ElementwiseFn.MUL, [c, bc]), node)
        y = im.add(ElementwiseOp(ElementwiseFn.ADD, [y, c]), node)
    return [y]


@_handles("MatMul")
def _matmul(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    a_shape, b_shape = im._shape(node.input[0]), im._shape(node.input[1])
    x = im._ssa(node.input[0])
    if len(b_shape) == 2 and len(a_shape) >= 1 and _static(im, node.input[1]):
        w = im._ssa(node.input[1])
        if len(a_shape) == 1:
            x = im.add(ReshapeOp(x, (1, a_shape[0])), node)
            y = im.add(LinearOp(x, w), node)
            return [im.add(ReshapeOp(y, (b_shape[1],)), node)]
        return [im.add(LinearOp(x, w), node)]
    rhs = im._ssa(node.input[1])
    if len(a_shape) == 1:
        x = im.add(ReshapeOp(x, (1, a_shape[0])), node)
    if len(b_shape) == 1:
        rhs = im.add(ReshapeOp(rhs, (b_shape[0], 1)), node)
    y = im.add(MatmulOp(x, rhs), node)
    out = list(shape_of(y))
    if len(b_shape) == 1:
        out.pop(-1)
    if len(a_shape) == 1:
        out.pop(-2 if len(b_shape) != 1 else -1)
    if tuple(out) != shape_of(y):
        y = im.add(ReshapeOp(y, out), node)
    return [y]


# ---------------------------------------------------------------- normalisation


@_handles("Softmax", "LogSoftmax")
def _softmax(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    default = -1 if im.opset >= 13 else 1
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", default))), rank, node)
    if im.opset < 13 and axis != rank - 1:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}, opset {im.opset}): the pre-13 "
            "flattening softmax is supported on the last axis only"
        )
    y = im.add(SoftmaxOp(x, axis), node)
    if node.op_type == "LogSoftmax":
        y = im.add(ElementwiseOp(ElementwiseFn.LOG, [y]), node)
    return [y]


@_handles("LayerNormalization")
def _layernorm(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    if any(im.used(o) for o in node.output[1:]):
        raise OnnxImportError(
            f"node {node.name!r} (op LayerNormalization): Mean/InvStdDev outputs are not supported"
        )
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", -1))), len(shape), node)
    eps = float(cast(float, a.get("epsilon", 1e-5)))
    norm_shape = shape[axis:]
    scale = _fit(im, node, node.input[1], norm_shape, 1.0)
    bias = _fit(im, node, node.input[2] if len(node.input) > 2 else "", norm_shape, 0.0)
    return [im.add(LayerNormOp(x, scale, bias, axis, eps), node)]


@_handles("RMSNormalization")
def _rmsnorm(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", -1))), len(shape), node)
    if axis != len(shape) - 1:
        raise OnnxImportError(f"node {node.name!r} (op RMSNormalization): only the last axis")
    scale = _fit(im, node, node.input[1], shape[-1:], 1.0)
    return [im.add(RMSNormOp(x, scale, float(cast(float, a.get("epsilon", 1e-5)))), node)]


def _fit(
    im: _Importer, node: onnx.NodeProto, name: str, shape: tuple[int, ...], fill: float
) -> SSAValue:
    """A scale/bias operand of exactly `shape` (broadcasting constants)."""
    if not name:
        return im._constant(f"{node.output[0]}.{'bias' if fill == 0 else 'scale'}",
                            np.full(shape, fill, np.float32))  # fmt: skip
    v = im._get(name)
    if im._shape(name) == shape:
        return im._ssa(name)
    if isinstance(v, np.ndarray):
        return im._constant(f"{name}.bcast", np.broadcast_to(v, shape).astype(np.float32))
    val = im._ssa(name)
    s = shape_of(val)
    while len(s) > len(shape) and s[0] == 1:
        s = s[1:]
    if len(s) < len(shape):
        val = im.add(ReshapeOp(val, (1,) * (len(shape) - len(s)) + s), node)
    elif s != shape_of(val):
        val = im.add(ReshapeOp(val, s), node)
    return im.add(BroadcastOp(val, shape), node)


@_handles("BatchNormalization")
def _batchnorm(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    if any(im.used(o) for o in node.output[1:]) or im.attrs(node).get("training_mode", 0):
        raise OnnxImportError(f"node {node.name!r} (op BatchNormalization): training mode")
    x = im._ssa(node.input[0])
    c = shape_of(x)[1]
    rank = len(shape_of(x))
    eps = float(cast(float, im.attrs(node).get("epsilon", 1e-5)))
    parts = [im._get(n) for n in node.input[1:5]]
    bshape = (c,) + (1,) * (rank - 2)
    if all(isinstance(p, np.ndarray) for p in parts):
        gamma, beta, mean, var = (cast(np.ndarray, p).astype(np.float64) for p in parts)
        s = gamma / np.sqrt(var + eps)
        sc = im._constant(f"{node.output[0]}.scale", s.reshape(bshape).astype(np.float32))
        sh = im._constant(
            f"{node.output[0]}.shift", (beta - mean * s).reshape(bshape).astype(np.float32)
        )
    elif all(isinstance(p, np.ndarray | _Absent) for p in parts):
        sc = im.b.weight(f"{node.output[0]}.scale", bshape)
        sh = im.b.weight(f"{node.output[0]}.shift", bshape)
    else:
        raise OnnxImportError(
            f"node {node.name!r} (op BatchNormalization): statistics must be constants"
        )
    y = im.add(ElementwiseOp(ElementwiseFn.MUL, [x, sc]), node)
    return [im.add(ElementwiseOp(ElementwiseFn.ADD, [y, sh]), node)]


# ---------------------------------------------------------------- pooling


@_handles("MaxPool", "AveragePool")
def _pool(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    if len(node.output) > 1 and im.used(node.output[1]):
        raise OnnxImportError(
            f"node {node.name!r} (op MaxPool): the Indices output is not supported"
        )
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    _spatial_2d(im, node, len(shape))
    a = im.attrs(node)
    k = [int(v) for v in cast(list[int], a["kernel_shape"])]
    strides = [int(v) for v in cast(list[int], a.get("strides", [1, 1]))]
    dil = [int(v) for v in cast(list[int], a.get("dilations", [1, 1]))]
    if dil != [1, 1]:
        raise OnnxImportError(
            f"node {node.name!r} (op {node.op_type}): dilated pooling is not supported"
        )
    pads = _conv_pads(im, node, shape[2:], k, strides, dil)
    if int(cast(int, a.get("ceil_mode", 0))):
        for ax in range(2):
            padded = shape[2 + ax] + pads[ax] + pads[ax + 2]
            out = math.ceil((padded - k[ax]) / strides[ax]) + 1
            # The last window must start inside the input or left padding.
            if (out - 1) * strides[ax] >= shape[2 + ax] + pads[ax]:
                out -= 1
            pads[ax + 2] += max(0, (out - 1) * strides[ax] + k[ax] - padded)
    kind = PoolKind.MAX if node.op_type == "MaxPool" else PoolKind.AVG
    include = bool(int(cast(int, a.get("count_include_pad", 0))))
    return [im.add(PoolOp(kind, x, k, strides, pads, include), node)]


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    shape = shape_of(x)
    _spatial_2d(im, node, len(shape))
    kind = PoolKind.MAX if node.op_type == "GlobalMaxPool" else PoolKind.AVG
    return [im.add(PoolOp(kind, x, shape[2:], (1, 1)), node)]


_REDUCE = {
    "ReduceMean": ReduceFn.MEAN,
    "ReduceSum": ReduceFn.SUM,
    "ReduceMax": ReduceFn.MAX,
    "ReduceMin": ReduceFn.MIN,
    "ReduceProd": ReduceFn.PROD,
    "ReduceSumSquare": ReduceFn.SUM_SQUARE,
    "ReduceL2": ReduceFn.L2,
}


@_handles(*_REDUCE)
def _reduce(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    x = im._ssa(node.input[0])
    rank = len(shape_of(x))
    a = im.attrs(node)
    keep = bool(int(cast(int, a.get("keepdims", 1))))
    if len(node.input) > 1 and node.input[1]:
        axes = im._ints(node, 1, "axes")
    else:
        axes = [int(v) for v in cast(list[int], a.get("axes", []))]
    if not axes:
        if int(cast(int, a.get("noop_with_empty_axes", 0))):
            return [x]
        axes = list(range(rank))
    axes = sorted({im.axis(ax, rank, node) for ax in axes})
    return [im.add(ReduceOp(_REDUCE[node.op_type], x, axes, keep), node)]


# ---------------------------------------------------------------- layout


def _layout(im: _Importer, node: onnx.NodeProto, fn: Callable[[np.ndarray], np.ndarray],
            make: Callable[[SSAValue], object]) -> list[_Value]:  # fmt: skip
    """Applies a layout op: folded on constant data, else emitted."""
    v = im._get(node.input[0])
    if isinstance(v, np.ndarray):
        return [fn(v)]
    x = im._ssa(node.input[0])
    return [im.add(make(x), node)]


@_handles("Reshape")
def _reshape(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    in_shape = im._shape(node.input[0])
    target = reshape_target(
        in_shape, im._ints(node, 1, "the target shape"),
        bool(int(cast(int, im.attrs(node).get("allowzero", 0)))),
    )  # fmt: skip
    if tuple(target) == in_shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@_handles("Flatten")
def _flatten(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    axis = int(cast(int, im.attrs(node).get("axis", 1)))
    if not -len(shape) <= axis <= len(shape):
        raise OnnxImportError(f"node {node.name!r} (op Flatten): axis {axis} out of range")
    axis = axis % len(shape) if axis < 0 else axis
    target = (math.prod(shape[:axis]), math.prod(shape[axis:]))
    if target == shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@_handles("Squeeze", "Unsqueeze")
def _squeeze(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = list(im._shape(node.input[0]))
    if len(node.input) > 1 and node.input[1]:
        axes = im._ints(node, 1, "axes")
    else:
        axes = [int(v) for v in cast(list[int], im.attrs(node).get("axes", []))]
    if node.op_type == "Squeeze":
        if not axes:
            axes = [k for k, d in enumerate(shape) if d == 1]
        drop = {im.axis(ax, len(shape), node) for ax in axes}
        if any(shape[ax] != 1 for ax in drop):
            raise OnnxImportError(
                f"node {node.name!r} (op Squeeze): axes {sorted(drop)} of shape {shape} "
                "are not all of size 1"
            )
        target = [d for k, d in enumerate(shape) if k not in drop]
    else:
        rank = len(shape) + len(axes)
        target = shape
        for ax in sorted(ax % rank for ax in axes):
            target.insert(ax, 1)
    return [im.add(ReshapeOp(im._ssa(node.input[0]), target), node)]


@_handles("Transpose")
def _transpose(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    rank = len(im._shape(node.input[0]))
    perm = [int(p) for p in cast(list[int], im.attrs(node).get("perm", list(range(rank))[::-1]))]
    if perm == list(range(rank)):
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(TransposeOp(im._ssa(node.input[0]), perm), node)]


@_handles("Slice")
def _slice(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    rank = len(shape)
    if im.opset < 10:
        a = im.attrs(node)
        starts = [int(v) for v in cast(list[int], a["starts"])]
        ends = [int(v) for v in cast(list[int], a["ends"])]
        axes = [int(v) for v in cast(list[int], a.get("axes", range(len(starts))))]
        steps = [1] * len(starts)
    else:
        starts = im._ints(node, 1, "starts")
        ends = im._ints(node, 2, "ends")
        axes = (
            im._ints(node, 3, "axes")
            if len(node.input) > 3 and node.input[3]
            else list(range(len(starts)))
        )
        steps = (
            im._ints(node, 4, "steps")
            if len(node.input) > 4 and node.input[4]
            else [1] * len(starts)
        )
    s_all, e_all, st_all = [0] * rank, list(shape), [1] * rank
    for start, end, ax, step in zip(starts, ends, axes, steps, strict=True):
        ax = im.axis(ax, rank, node)
        s_all[ax], e_all[ax], st_all[ax] = normalise_slice(shape[ax], start, end, step)
    if s_all == [0] * rank and e_all == list(shape) and st_all == [1] * rank:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(SliceOp(im._ssa(node.input[0]), s_all, e_all, st_all), node)]


def normalise_slice(dim: int, start: int, end: int, step: int) -> tuple[int, int, int]:
    """ONNX Slice clamping -> cim.slice's normalised (start, end, step)."""
    if step == 0:
        raise OnnxImportError("Slice step must not be 0")
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
    else:
        start = min(max(start, 0), dim - 1) if dim else 0
        end = min(max(end, -1), dim - 1)
    return start, end, step


@_handles("Split")
def _split(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    a = im.attrs(node)
    axis = im.axis(int(cast(int, a.get("axis", 0))), len(shape), node)
    n_out = len(node.output)
    if len(node.input) > 1 and node.input[1]:
        sizes = im._ints(node, 1, "split")
    elif "split" in a:
        sizes = [int(v) for v in cast(list[int], a["split"])]
    else:
        n = int(cast(int, a.get("num_outputs", n_out)))
        chunk = -(-shape[axis] // n)
        sizes = [min(chunk, shape[axis] - k * chunk) for k in range(n)]
    x = im._ssa(node.input[0])
    outs: list[_Value] = []
    offset = 0
    for size in sizes:
        starts = [0] * len(shape)
        ends = list(shape)
        starts[axis], ends[axis] = offset, offset + size
        outs.append(im.add(SliceOp(x, starts, ends), node))
        offset += size
    return outs


@_handles("Concat")
def _concat(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    names = [n for n in node.input if (n and math.prod(im._shape(n)) > 0) or n == node.input[0]]
    rank = len(im._shape(node.input[0]))
    axis = im.axis(int(cast(int, im.attrs(node)["axis"])), rank, node)
    vals = [im._ssa(n) for n in names if math.prod(im._shape(n)) > 0] or [im._ssa(node.input[0])]
    if len(vals) == 1:
        return [vals[0]]
    return [im.add(ConcatOp(vals, axis), node)]


@_handles("Gather")
def _gather(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    rank = len(im._shape(node.input[0]))
    axis = im.axis(int(cast(int, im.attrs(node).get("axis", 0))), rank, node)
    x = im._ssa(node.input[0])
    idx_v = im._get(node.input[1])
    if isinstance(idx_v, np.ndarray):
        dim = shape_of(x)[axis]
        if idx_v.size and not (-dim <= idx_v.min() and idx_v.max() < dim):
            raise OnnxImportError(
                f"node {node.name!r} (op Gather): indices out of range for a dimension of {dim}"
            )
        idx = im._constant(node.input[1], idx_v.astype(np.int64))
    else:
        idx = im._ssa(node.input[1])
    return [im.add(GatherOp(x, idx, axis), node)]


@_handles("Expand")
def _expand(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    target = broadcast_shapes(shape, im._ints(node, 1, "the shape"))
    if target == shape:
        return [im._get(node.input[0])]  # type: ignore[list-item]
    return [im.add(BroadcastOp(im._ssa(node.input[0]), target), node)]


@_handles("Tile")
def _tile(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    reps = im._ints(node, 1, "repeats")
    x = im._ssa(node.input[0])
    # tile = reshape to [1, d0, 1, d1...], broadcast to [r0, d0, r1, d1...], reshape.
    inter = [v for d in shape for v in (1, d)]
    x = im.add(ReshapeOp(x, inter), node)
    x = im.add(BroadcastOp(x, [v for d, r in zip(shape, reps, strict=True) for v in (r, d)]), node)
    return [im.add(ReshapeOp(x, [d * r for d, r in zip(shape, reps, strict=True)]), node)]


@_handles("Pad")
def _pad(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    shape = im._shape(node.input[0])
    rank = len(shape)
    a = im.attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise OnnxImportError(f"node {node.name!r} (op Pad): mode {mode!r} is not supported")
    if im.opset < 11:
        pads = [int(v) for v in cast(list[int], a["pads"])]
        value = float(cast(float, a.get("value", 0.0)))
    else:
        pads = im._ints(node, 1, "pads")
        value = 0.0
        if len(node.input) > 2 and node.input[2]:
            cv = im._const(node.input[2])
            if cv is None:
                raise OnnxImportError(
                    f"node {node.name!r} (op Pad): constant_value must be constant"
                )
            value = float(np.asarray(cv).ravel()[0]) if cv.size else 0.0
    if len(node.input) > 3 and node.input[3]:
        axes = [im.axis(ax, rank, node) for ax in im._ints(node, 3, "axes")]
        full = [0] * (2 * rank)
        for k, ax in enumerate(axes):
            full[ax], full[ax + rank] = pads[k], pads[k + len(axes)]
        pads = full
    x = im._ssa(node.input[0])
    if min(pads) < 0:  # negative pads crop
        starts = [max(0, -p) for p in pads[:rank]]
        ends = [d - max(0, -p) for d, p in zip(shape, pads[rank:], strict=True)]
        x = im.add(SliceOp(x, starts, ends), node)
        pads = [max(0, p) for p in pads]
    if not any(pads):
        return [x]
    return [im.add(PadOp(x, pads, value), node)]


@_handles("ConstantOfShape", "Range")
def _needs_constant(im: _Importer, node: onnx.NodeProto) -> list[_Value]:
    raise OnnxImportError(
        f"node {node.name!r} (op {node.op_type}, opset {im.opset}): inputs must be constants"
    )
