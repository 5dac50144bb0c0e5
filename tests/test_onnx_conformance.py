"""ONNX's backend node tests as a conformance suite for the importer and the
reference executor.

The ~1,900 single-operator cases are generated at test time from the
installed ``onnx`` package (``onnx.backend.test.case.node``), inputs and
expected outputs written by the ONNX project. Each runs through
``import_onnx`` + ``run_reference`` with its inputs fed by their ONNX names
and is compared with ONNX's expected outputs at the case's own tolerances.
A case may only

* pass, or
* be refused with a one-line ``OnnxImportError`` / ``ReferenceError``.

A wrong answer or any other exception (a crash) fails. The cases that pass
are listed in ``tests/data/onnx_conformance_passing.txt``; a listed case that
stops passing fails, so the list only grows. Regenerate it (it only adds
names) with ``python tests/test_onnx_conformance.py``.

Shape-like inputs (Reshape's shape, Slice's starts, Resize's scales...) and
parameters (Conv weights, BatchNormalization statistics) are constants in
real exports; the harness feeds them as initializers, as an exporter would
(``SHAPE_INPUTS``). Every other input stays a graph input
with the shape of its data.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from cmswitch.lowering.onnx_to_cim import OnnxImportError, import_onnx
from cmswitch.simulator.reference import ReferenceError, run_reference

PASSING_FILE = Path(__file__).parent / "data" / "onnx_conformance_passing.txt"

_REDUCE = (
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
)  # fmt: skip

SHAPE_INPUTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,),
    "Expand": (1,),
    "Tile": (1,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1, 2, 3),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Split": (1,),
    "Range": (0, 1, 2),
    "ConstantOfShape": (0,),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Clip": (1, 2),
    "TopK": (1,),
    "CumSum": (1,),
    "Trilu": (1,),
    "OneHot": (1, 2),
    "Dropout": (1, 2),
    "CenterCropPad": (1,),
    "Compress": (1,),
    **{op: (1,) for op in _REDUCE},
    # Parameters, initializers in every real export: a CIM operator holds its
    # weight in arrays (run-time weights are refused), BatchNormalization's
    # statistics are folded.
    "Conv": (1, 2),
    "ConvTranspose": (1, 2),
    "BatchNormalization": (1, 2, 3, 4),
    # Quantisation parameters of the QDQ format.
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
}
"""Node input positions whose values real exporters make constants."""


def _cases() -> list[onnx.backend.test.case.test_case.TestCase]:  # type: ignore[name-defined]
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted(collect_testcases(None), key=lambda c: c.name)


@functools.cache
def cases() -> dict[str, object]:
    return {c.name: c for c in _cases()}


def passing_list() -> list[str]:
    lines = PASSING_FILE.read_text().splitlines() if PASSING_FILE.exists() else []
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _shape_like(model: onnx.ModelProto) -> set[str]:
    """Values feeding a SHAPE_INPUTS slot, directly or through the nodes
    that compute them (function-expanded cases compute pads and the like
    from their inputs); a Shape node needs only its input's static shape."""
    producer = {o: n for n in model.graph.node for o in n.output}
    todo = [
        node.input[pos]
        for node in model.graph.node
        for pos in SHAPE_INPUTS.get(node.op_type, ())
        if pos < len(node.input) and node.input[pos]
    ]
    names: set[str] = set()
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        node = producer.get(name)
        if node is not None and node.op_type not in ("Shape", "Size"):
            todo.extend(i for i in node.input if i)
    return names


def _array(data: object) -> object:
    """Test data as NumPy (some cases store TensorProtos, e.g. float8)."""
    return numpy_helper.to_array(data) if isinstance(data, onnx.TensorProto) else data


def prepare(
    model: onnx.ModelProto, inputs: Sequence[object]
) -> tuple[onnx.ModelProto, dict[str, np.ndarray], dict[str, tuple[int, ...]]]:
    """The model with its shape-like inputs made initializers, the remaining
    feeds by ONNX name, and their shapes (for dynamic input dimensions)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph_inputs = [i for i in model.graph.input]
    const = _shape_like(model)
    feeds: dict[str, np.ndarray] = {}
    keep = []
    for vi, data in zip(graph_inputs, inputs, strict=False):
        data = _array(data)
        if vi.name in const and isinstance(data, np.ndarray | np.generic):
            model.graph.initializer.append(numpy_helper.from_array(np.asarray(data), vi.name))
            continue
        keep.append(vi)
        feeds[vi.name] = data  # type: ignore[assignment]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    shapes = {n: tuple(np.shape(v)) for n, v in feeds.items() if isinstance(v, np.ndarray)}
    return model, feeds, shapes


@dataclass(frozen=True)
class Outcome:
    kind: str  # "pass", "refused", "wrong", "crash"
    detail: str = ""


def _compare(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """Why `got` is not ONNX's `want`, or None. Values are compared, not
    storage types: the `cim` dialect holds every float as f32 and every
    integer as i64, but a float must stay a float and an integer an integer."""
    want = np.asarray(_array(want))
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != expected {list(want.shape)}"
    if want.dtype == np.bool_:
        if got.dtype != np.bool_:
            return f"dtype {got.dtype}, expected bool"
        return None if np.array_equal(got, want) else "values differ"
    if np.issubdtype(want.dtype, np.integer):
        if not np.issubdtype(got.dtype, np.integer):
            return f"dtype {got.dtype}, expected {want.dtype}"
        return (
            None
            if np.array_equal(got.astype(np.int64), want.astype(np.int64))
            else ("values differ")
        )
    if want.dtype == object or want.dtype.kind in "US":
        return f"expected {want.dtype} values"
    if got.dtype.kind != "f":
        return f"dtype {got.dtype}, expected {want.dtype}"
    try:
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True
        )
    except AssertionError as err:
        return " ".join(str(err).split())[:300]
    return None


def run_case(case: object) -> Outcome:
    """Imports and runs one ONNX node test case."""
    c = case
    assert c.model is not None and c.data_sets  # type: ignore[attr-defined]
    try:
        for inputs, expected in c.data_sets:  # type: ignore[attr-defined]
            model, feeds, shapes = prepare(c.model, inputs)  # type: ignore[attr-defined]
            result = import_onnx(model, input_shapes=shapes)
            got = run_reference(result.module, feeds, result.store)
            if len(got) != len(expected):
                return Outcome("wrong", f"{len(got)} outputs, expected {len(expected)}")
            for k, (g, w) in enumerate(zip(got, expected, strict=True)):
                why = _compare(g, w, c.rtol, c.atol)  # type: ignore[attr-defined]
                if why is not None:
                    return Outcome("wrong", f"output {k}: {why}")
    except (OnnxImportError, ReferenceError) as err:
        return Outcome("refused", str(err))
    except Exception as err:  # anything else is a crash
        return Outcome("crash", f"{type(err).__name__}: {err}")
    return Outcome("pass")


def _ids() -> list[str]:
    return list(cases())


@pytest.mark.parametrize("name", _ids())
def test_node_case(name: str) -> None:
    out = run_case(cases()[name])
    assert out.kind in ("pass", "refused"), f"{name}: {out.kind}: {out.detail}"
    if out.kind == "refused":
        assert out.detail and "\n" not in out.detail.strip(), f"{name}: unclear refusal"
        assert name not in _passing_set(), f"{name} is listed as passing but now: {out.detail}"


@functools.cache
def _passing_set() -> frozenset[str]:
    return frozenset(passing_list())


def test_passing_list_is_known_and_sorted() -> None:
    listed = passing_list()
    assert listed == sorted(set(listed)), "keep the list sorted and without duplicates"
    unknown = set(listed) - set(cases())
    assert not unknown, f"listed cases that onnx no longer generates: {sorted(unknown)[:5]}"
    assert len(listed) >= 1300


def _update() -> None:
    outcomes = {name: run_case(c) for name, c in cases().items()}
    counts: dict[str, int] = {}
    for o in outcomes.values():
        counts[o.kind] = counts.get(o.kind, 0) + 1
    for name, o in outcomes.items():
        if o.kind in ("wrong", "crash"):
            print(f"{o.kind.upper()}: {name}: {o.detail[:200]}")
    new = sorted(set(passing_list()) | {n for n, o in outcomes.items() if o.kind == "pass"})
    PASSING_FILE.write_text("\n".join(new) + "\n")
    print(f"{len(outcomes)} cases: {counts}; {len(new)} listed in {PASSING_FILE.name}")


if __name__ == "__main__":
    sys.exit(_update())
