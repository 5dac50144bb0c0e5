"""Building `cim` programs from Python: the one API the ONNX importer, the
model zoo and the tests use to emit IR.

    b = GraphBuilder("main")
    x = b.input("x", (1, 3, 224, 224))
    w = b.weight("conv1.weight", (64, 3, 7, 7))
    y = b.add(Conv2dOp(x, w, strides=(2, 2), pads=(3, 3, 3, 3)))
    b.output(y)
    module = b.module(Hardware.preset("dynaplasia"))

Result types are inferred by the op constructors (shape rules live in the
dialect, once). Weight data, where known, goes to a :class:`WeightStore`
rather than into the IR, unless it is small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float32Type,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from cmswitch.dialects.cim import ConstantOp, HardwareAttr
from cmswitch.hardware import Hardware
from cmswitch.weights import WeightStore

HARDWARE_ATTR = "cim.hardware"
"""Module attribute that carries the chip (#cim.hardware<...>)."""

MODEL_ATTR = "cim.model"
"""Module attribute naming the model the module was built from."""

NAME_ATTR = "cim.name"
"""Argument / result attribute holding the model-level name of a function
input or output, kept exactly (ONNX names such as ``input.1`` are not valid
SSA names, so the SSA name hint is only a sanitised spelling)."""

INLINE_LIMIT = 16
"""Constants with at most this many elements are kept inline in the IR."""


def element_type_for(dtype: np.dtype) -> Attribute:
    if np.issubdtype(dtype, np.floating):
        return f32
    if dtype == np.bool_:
        return IntegerType(1)
    return i64


def dense_attr(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """An inline dense attribute (f32 for floats, i64 or i1 otherwise)."""
    elem = element_type_for(array.dtype)
    shape = list(array.shape)
    if isinstance(elem, Float32Type):
        floats = [float(v) for v in array.astype(np.float32).ravel()]
        return DenseIntOrFPElementsAttr.from_list(TensorType(elem, shape), floats)
    assert isinstance(elem, IntegerType)  # i64 or i1, see element_type_for
    ints = [int(v) for v in array.astype(np.int64).ravel()]
    return DenseIntOrFPElementsAttr.from_list(TensorType(elem, shape), ints)


class GraphBuilder:
    """Appends `cim` ops to one function in program (topological) order."""

    def __init__(self, name: str = "main", store: WeightStore | None = None):
        self.name = name
        self.store = store if store is not None else WeightStore()
        self._ops: list[Operation] = []
        self._input_types: list[Attribute] = []
        self._input_names: list[str] = []
        self._block = Block()
        self._outputs: list[SSAValue] = []
        self._output_names: list[str | None] = []
        self._syms: set[str] = set()

    # ---------------------------------------------------------------- values
    def input(self, name: str, shape: Sequence[int], elem: Attribute = f32) -> SSAValue:
        typ = TensorType(elem, list(shape))
        arg = self._block.insert_arg(typ, len(self._block.args))
        arg.name_hint = _ssa_name(name)
        self._input_types.append(typ)
        self._input_names.append(name)
        return arg

    def weight(
        self,
        name: str,
        shape: Sequence[int],
        data: np.ndarray | None = None,
        elem: Attribute | None = None,
    ) -> SSAValue:
        """A named constant; `data` (if known) is stored, inline when tiny."""
        sym = self._unique(name)
        if data is not None:
            data = np.asarray(data)
            if tuple(data.shape) != tuple(shape):
                raise ValueError(f"weight {name!r}: data shape {data.shape} != {tuple(shape)}")
            elem = element_type_for(data.dtype)
        typ = TensorType(elem if elem is not None else f32, list(shape))
        value = None
        if data is not None:
            if data.size <= INLINE_LIMIT:
                value = dense_attr(data)
            else:
                self.store[sym] = data
        op = self.add(ConstantOp(sym, typ, value))
        op.name_hint = _ssa_name(sym)
        return op

    def constant(self, name: str, data: np.ndarray) -> SSAValue:
        data = np.asarray(data)
        return self.weight(name, data.shape, data)

    def add(self, op: Operation, label: str | None = None) -> SSAValue:
        """Appends `op`; returns its (single) result."""
        if label is not None:
            op.attributes["label"] = StringAttr(label)
        self._block.add_op(op)
        return op.results[0]

    def add_multi(self, op: Operation, label: str | None = None) -> Sequence[SSAValue]:
        if label is not None:
            op.attributes["label"] = StringAttr(label)
        self._block.add_op(op)
        return op.results

    def output(self, *values: SSAValue, names: Sequence[str] | None = None) -> None:
        """Marks `values` as function results; `names` are their model-level
        names (kept exactly, e.g. ONNX output names), recorded as ``cim.name``."""
        if names is not None and len(names) != len(values):
            raise ValueError(f"{len(values)} outputs but {len(names)} names")
        self._outputs.extend(values)
        self._output_names.extend(names if names is not None else [None] * len(values))

    # ------------------------------------------------------------- finishing
    def function(self) -> FuncOp:
        if not self._outputs:
            raise ValueError(f"function {self.name!r} has no outputs")
        self._block.add_op(ReturnOp(*self._outputs))
        out_types = [v.type for v in self._outputs]
        arg_attrs = ArrayAttr([_name_dict(n) for n in self._input_names])
        res_attrs = ArrayAttr([_name_dict(n) for n in self._output_names])
        has_out_names = any(n is not None for n in self._output_names)
        return FuncOp(
            self.name,
            (self._input_types, out_types),
            Region(self._block),
            arg_attrs=arg_attrs if self._input_names else None,
            res_attrs=res_attrs if has_out_names else None,
        )

    def module(self, hardware: Hardware | None = None, model: str | None = None) -> ModuleOp:
        module = ModuleOp([self.function()])
        if hardware is not None:
            module.attributes[HARDWARE_ATTR] = HardwareAttr.from_hardware(hardware)
        if model is not None:
            module.attributes[MODEL_ATTR] = StringAttr(model)
        return module

    def _unique(self, name: str) -> str:
        sym, i = name, 1
        while sym in self._syms:
            sym, i = f"{name}_{i}", i + 1
        self._syms.add(sym)
        return sym


def _name_dict(name: str | None) -> DictionaryAttr:
    return DictionaryAttr({NAME_ATTR: StringAttr(name)} if name is not None else {})


def _ssa_name(name: str) -> str | None:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    if not clean or clean[0].isdigit():
        clean = "v" + clean
    return clean


def module_hardware(module: ModuleOp, default: Hardware | None = None) -> Hardware:
    """The chip a module is compiled for: its `cim.hardware` attribute, else
    `default`, else an error."""
    attr = module.attributes.get(HARDWARE_ATTR)
    if isinstance(attr, HardwareAttr):
        return attr.hardware()
    if default is not None:
        return default
    raise ValueError("module has no cim.hardware attribute and no hardware was given")


def io_names(fn: FuncOp) -> tuple[list[str], list[str]]:
    """The model-level names of `fn`'s inputs and outputs.

    Inputs: the ``cim.name`` argument attribute, else the SSA name hint, else
    ``arg<i>``. Outputs: ``cim.name``, else ``output<i>``. Names are unique
    within each list (a duplicate gets ``_<k>`` appended).
    """

    def named(attrs: ArrayAttr[DictionaryAttr] | None, k: int) -> str | None:
        if attrs is None or k >= len(attrs.data):
            return None
        value = attrs.data[k].data.get(NAME_ATTR)
        return value.data if isinstance(value, StringAttr) else None

    args = fn.body.block.args
    inputs = [named(fn.arg_attrs, k) or args[k].name_hint or f"arg{k}" for k in range(len(args))]
    n_out = len(fn.function_type.outputs.data)
    outputs = [named(fn.res_attrs, k) or f"output{k}" for k in range(n_out)]
    return _unique_names(inputs), _unique_names(outputs)


def _unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        got, k = name, 1
        while got in seen:
            got, k = f"{name}_{k}", k + 1
        seen.add(got)
        out.append(got)
    return out
