"""The `cim` dialect: DNN operators on a dual-mode computing-in-memory chip.

This is the compiler's main level. A model is a ``func.func`` over tensors whose
body holds ``cim`` operators in topological order:

* **CIM operators** run on arrays as matrix-matrix multiplies (MMM):
  ``cim.linear`` (FC / Gemm / MatMul with a stationary weight),
  ``cim.conv2d`` (a convolution, described as its im2col MMM with the
  convolution geometry kept) and ``cim.matmul`` (a product of two dynamic
  tensors, e.g. attention's Q K^T and S V; its right operand is written into
  arrays at run time). Each exposes :meth:`ComputeOp.matmul_shape`, the
  M x N x K (x groups) problem the cost model and the lowering consume.
* **Vector operators** run on the digital periphery: ``cim.elementwise``,
  ``cim.softmax``, ``cim.layernorm``, ``cim.rmsnorm``, ``cim.pool``,
  ``cim.reduce`` and the data-layout ops (``cim.reshape``, ``cim.transpose``,
  ``cim.slice``, ``cim.concat``, ``cim.gather``, ``cim.gather_elements``,
  ``cim.broadcast``, ``cim.pad``), ``cim.scatter_nd``, ``cim.cumsum`` and
  ``cim.topk``. Each exposes :meth:`VectorOp.vector_work`, the elements the
  vector unit processes, so none is free by accident (``cim.reshape`` is a
  view and declares zero work on purpose).
* **Weights** are ``cim.constant`` ops named after the model's parameter. The
  data is either inline (``value``), in the weight store next to the module
  (see :mod:`cmswitch.weights`), or absent (zoo models, ONNX files without
  their external data): weights matter only for functional simulation.
* **Mapping**: ``cim.segment`` groups the operators mapped onto the chip at
  once (a pipeline); ``#cim.alloc<...>`` records an operator's compute and
  memory arrays; ``#cim<mode ...>`` names an array mode; the chip itself is a
  ``#cim.hardware<...>`` attribute on the module (``cim.hardware``), so a
  ``.mlir`` file is self-contained.
"""

from __future__ import annotations

from xdsl.ir import Attribute, Dialect
from xdsl.irdl import IRDLOperation

from cmswitch.dialects.cim.attrs import (
    AllocationAttr,
    HardwareAttr,
    Mode,
    ModeAttr,
)
from cmswitch.dialects.cim.common import (
    ComputeOp,
    LayoutOp,
    MatmulShape,
    VectorOp,
    broadcast_shapes,
    conv_output_hw,
    f64_attr,
    i64_array,
    i64_attr,
    ints,
    numel,
    shape_of,
    tensor_type,
)
from cmswitch.dialects.cim.compute import (
    Conv2dOp,
    LinearOp,
    MatmulOp,
)
from cmswitch.dialects.cim.layout import (
    BroadcastOp,
    ConcatOp,
    CumSumOp,
    GatherElementsOp,
    GatherOp,
    PadOp,
    ReshapeOp,
    ScatterNDOp,
    ScatterReduction,
    ScatterReductionAttr,
    SliceOp,
    TopKOp,
    TransposeOp,
    is_static_value,
    slice_length,
)
from cmswitch.dialects.cim.structure import (
    ConstantOp,
    SegmentOp,
    YieldOp,
    through_segments,
)
from cmswitch.dialects.cim.vector import (
    ElementwiseFn,
    ElementwiseFnAttr,
    ElementwiseOp,
    LayerNormOp,
    PoolKind,
    PoolKindAttr,
    PoolOp,
    ReduceFn,
    ReduceFnAttr,
    ReduceOp,
    RMSNormOp,
    SoftmaxOp,
    elementwise_arity,
)

__all__ = [
    "CIM",
    "CIM_ATTRS",
    "CIM_OPS",
    "AllocationAttr",
    "BroadcastOp",
    "ComputeOp",
    "ConcatOp",
    "ConstantOp",
    "Conv2dOp",
    "CumSumOp",
    "ElementwiseFn",
    "ElementwiseFnAttr",
    "ElementwiseOp",
    "GatherElementsOp",
    "GatherOp",
    "HardwareAttr",
    "LayerNormOp",
    "LayoutOp",
    "LinearOp",
    "MatmulOp",
    "MatmulShape",
    "Mode",
    "ModeAttr",
    "PadOp",
    "PoolKind",
    "PoolKindAttr",
    "PoolOp",
    "RMSNormOp",
    "ReduceFn",
    "ReduceFnAttr",
    "ReduceOp",
    "ReshapeOp",
    "ScatterNDOp",
    "ScatterReduction",
    "ScatterReductionAttr",
    "SegmentOp",
    "SliceOp",
    "SoftmaxOp",
    "TopKOp",
    "TransposeOp",
    "VectorOp",
    "YieldOp",
    "broadcast_shapes",
    "conv_output_hw",
    "elementwise_arity",
    "f64_attr",
    "i64_array",
    "i64_attr",
    "ints",
    "is_static_value",
    "numel",
    "shape_of",
    "slice_length",
    "tensor_type",
    "through_segments",
]

CIM_OPS: tuple[type[IRDLOperation], ...] = (
    ConstantOp,
    LinearOp,
    Conv2dOp,
    MatmulOp,
    ElementwiseOp,
    SoftmaxOp,
    LayerNormOp,
    RMSNormOp,
    PoolOp,
    ReduceOp,
    ReshapeOp,
    TransposeOp,
    SliceOp,
    ConcatOp,
    GatherOp,
    GatherElementsOp,
    ScatterNDOp,
    CumSumOp,
    TopKOp,
    BroadcastOp,
    PadOp,
    SegmentOp,
    YieldOp,
)

CIM_ATTRS: tuple[type[Attribute], ...] = (
    ModeAttr,
    AllocationAttr,
    HardwareAttr,
    ElementwiseFnAttr,
    PoolKindAttr,
    ReduceFnAttr,
    ScatterReductionAttr,
)

CIM = Dialect("cim", list(CIM_OPS), list(CIM_ATTRS))
