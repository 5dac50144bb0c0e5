"""Import-time constant folding of ONNX nodes with NumPy.

Exporters leave shape arithmetic in the graph (``Shape -> Gather -> Concat ->
Reshape``), masks built from constants, transposed weights and so on. The
importer evaluates every node whose inputs are all known at import time. The
common ops are evaluated here directly; anything else falls back to
:mod:`onnx.reference` (ONNX's own NumPy reference implementation) on a
one-node model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

Attrs = dict[str, object]


class FoldError(Exception):
    """The node could not be evaluated at import time."""


def _axes_arg(inputs: Sequence[np.ndarray | None], attrs: Attrs, pos: int) -> list[int] | None:
    if len(inputs) > pos and inputs[pos] is not None:
        return [int(a) for a in np.asarray(inputs[pos]).ravel()]
    axes = attrs.get("axes")
    return [int(a) for a in axes] if axes is not None else None  # type: ignore[union-attr]


def _unsqueeze(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = np.asarray(i[0])
    axes = _axes_arg(i, a, 1) or []
    rank = x.ndim + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = np.expand_dims(x, ax)
    return x


def _squeeze(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = np.asarray(i[0])
    axes = _axes_arg(i, a, 1)
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(ax % x.ndim for ax in axes))


def reshape_target(in_shape: Sequence[int], shape: Sequence[int], allowzero: bool) -> list[int]:
    """ONNX Reshape's target: 0 copies the input dimension (unless
    `allowzero`), one -1 is inferred."""
    out = [int(s) for s in shape]
    if not allowzero:
        out = [in_shape[k] if s == 0 else s for k, s in enumerate(out)]
    if out.count(-1) > 1:
        raise FoldError(f"Reshape target {list(shape)} has more than one -1")
    if -1 in out:
        known = int(np.prod([s for s in out if s != -1]))
        total = int(np.prod(in_shape))
        if known == 0 or total % known:
            raise FoldError(f"cannot reshape {list(in_shape)} to {list(shape)}")
        out[out.index(-1)] = total // known
    if int(np.prod(out)) != int(np.prod(in_shape)):
        raise FoldError(f"cannot reshape {list(in_shape)} to {list(shape)}")
    return out


def _reshape(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = np.asarray(i[0])
    return x.reshape(
        reshape_target(x.shape, np.asarray(i[1]).tolist(), bool(a.get("allowzero", 0)))
    )


def _shape(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    shape = np.array(np.asarray(i[0]).shape, dtype=np.int64)
    start = int(a.get("start", 0))  # type: ignore[arg-type]
    end = a.get("end")
    return shape[start : None if end is None else int(end)]  # type: ignore[arg-type]


def _gather(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    return np.take(np.asarray(i[0]), np.asarray(i[1]).astype(np.int64), axis=int(a.get("axis", 0)))  # type: ignore[arg-type]


def _concat(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    return np.concatenate([np.asarray(x) for x in i], axis=int(a["axis"]))  # type: ignore[arg-type]


def _gather_elements(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    """Native: onnx.reference's GatherElements breaks on axes longer than 64."""
    x, idx = np.asarray(i[0]), np.asarray(i[1]).astype(np.int64)
    axis = int(a.get("axis", 0))  # type: ignore[arg-type]
    n = x.shape[axis]
    if np.any(idx >= n) or np.any(idx < -n):
        raise FoldError(f"GatherElements index out of range for axis {axis} of size {n}")
    return np.take_along_axis(x, np.where(idx < 0, idx + n, idx), axis=axis)


def _const_of_shape(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    value = a.get("value")
    fill = np.asarray(value).ravel() if value is not None else np.zeros(1, np.float32)
    return np.full([int(d) for d in np.asarray(i[0]).ravel()], fill[0], dtype=fill.dtype)


def _cast(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    to = helper.tensor_dtype_to_np_dtype(int(a["to"]))  # type: ignore[arg-type]
    return np.asarray(i[0]).astype(to)


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    def run(i: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x, y = np.asarray(i[0]), np.asarray(i[1])
        out = fn(x, y)
        # ONNX keeps the operand type (NumPy would promote int32 * int64 etc.).
        return out if out.dtype == np.bool_ else out.astype(x.dtype)

    return run


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        return np.trunc(x / y).astype(x.dtype)
    return x / y


_FAST: dict[str, Callable[[Sequence[np.ndarray | None], Attrs], np.ndarray]] = {
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Reshape": _reshape,
    "Shape": _shape,
    "Gather": _gather,
    "GatherElements": _gather_elements,
    "Concat": _concat,
    "ConstantOfShape": _const_of_shape,
    "Cast": _cast,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_div),
    "Equal": _binary(np.equal),
    "Identity": lambda i, a: np.asarray(i[0]),
    "Transpose": lambda i, a: np.transpose(np.asarray(i[0]), a.get("perm")),  # type: ignore[arg-type]
}


def fold_node(
    node: onnx.NodeProto,
    inputs: Sequence[np.ndarray | None],
    opset: int,
) -> list[np.ndarray]:
    """Evaluates `node` on constant `inputs` (None for omitted optional
    inputs); raises FoldError if it cannot."""
    attrs: Attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type in _FAST and node.domain in ("", "ai.onnx") and len(node.output) == 1:
        attrs = {
            k: (numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else v)
            for k, v in attrs.items()
        }
        try:
            return [np.asarray(_FAST[node.op_type](inputs, attrs))]
        except FoldError:
            raise
        except Exception as err:  # fall back to the reference implementation
            del err
    return _reference(node, inputs, opset)


def _reference(
    node: onnx.NodeProto, inputs: Sequence[np.ndarray | None], opset: int
) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    names = [f"in{k}" if x is not None else "" for k, x in enumerate(inputs)]
    outs = [f"out{k}" if o else "" for k, o in enumerate(node.output)]
    clone = helper.make_node(node.op_type, names, outs, domain=node.domain or None)
    clone.attribute.extend(node.attribute)
    graph = helper.make_graph(
        [clone],
        "fold",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
            for n, x in zip(names, inputs, strict=True)
            if x is not None
        ],
        [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outs if o],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    try:
        evaluator = ReferenceEvaluator(model)
        feeds = {n: x for n, x in zip(names, inputs, strict=True) if x is not None}
        results = evaluator.run(None, feeds)
    except Exception as err:
        raise FoldError(f"{type(err).__name__}: {err}") from None
    return [np.asarray(r) for r in results]
