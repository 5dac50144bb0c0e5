"""Random ONNX graphs (see :mod:`random_onnx`), imported for a small chip,
split, scheduled under one policy each and run by the reference executor,
equal to ONNX Runtime. 200 graphs here (34 per policy, 6 policies, every one
derandomised so a failure reproduces); ``benchmarks/random_graphs.py`` runs
2000 with a seeded generator."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_onnx import POLICIES, Draw, RandomGraph, check_graph, random_graph

PER_POLICY = 34  # x 6 policies = 204 graphs


class HypothesisDraw:
    """A :class:`random_onnx.Draw` over hypothesis's data (so it shrinks)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def choice(self, items):  # type: ignore[no-untyped-def]
        return self.data.draw(st.sampled_from(list(items)))


@pytest.mark.parametrize("policy", POLICIES)
@settings(
    max_examples=PER_POLICY, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(data=st.data())
def test_random_graph_matches_onnxruntime(policy: str, data: st.DataObject) -> None:
    draw: Draw = HypothesisDraw(data)
    graph = random_graph(draw, policy)
    onnx.checker.check_model(graph.model, full_check=True)  # a valid model, by ONNX's rules
    check_graph(graph)


def test_the_check_catches_a_wrong_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_graph fails when the compiled module computes something else
    (here: the reference executor's ReLU lets negatives through)."""
    from onnx import TensorProto, helper, numpy_helper

    from cmswitch.dialects.cim import ElementwiseFn
    from cmswitch.simulator import reference

    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("MatMul", ["r", "w"], ["y"])],
        "relu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(w, "w")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    feeds = {"x": np.array([[1, -2, 3, -4], [-1, 2, -3, 4]], np.float32)}
    case = RandomGraph(model, feeds, ("Relu", "MatMul"), "cmswitch")
    check_graph(case)
    monkeypatch.setitem(reference._UNARY, ElementwiseFn.RELU, lambda x, a, b: x)
    with pytest.raises(AssertionError, match="output 0"):
        check_graph(case)


def test_generator_is_deterministic() -> None:
    from random_onnx import RandomDraw

    a, b = random_graph(RandomDraw(5)), random_graph(RandomDraw(5))
    assert a.model.SerializeToString() == b.model.SerializeToString()
    assert a.ops == b.ops and a.policy == b.policy
    assert all(np.array_equal(a.feeds[k], b.feeds[k]) for k in a.feeds)


def test_cmswitch_skips_granularities_an_operator_cannot_be_split_to() -> None:
    """Found by the random graphs: a convolution with 54 kernel rows fits an
    8-array chip of 8-row arrays (7 row blocks) but not 6 or 4 of its arrays;
    cmswitch, which only *tries* those granularities, must still compile it
    (as cim-mlc does), while static:0.5 (4 arrays) is refused in one line."""
    from onnx import TensorProto, helper, numpy_helper

    from cmswitch.compile import compile_model, parse_policy
    from cmswitch.hardware import Hardware
    from cmswitch.lowering.onnx_to_cim import import_onnx
    from cmswitch.models import LoadedModel
    from cmswitch.passes.cim_schedule import ScheduleOptions
    from cmswitch.passes.cim_split import SplitError

    chip = Hardware.from_dict(
        {**Hardware.preset("dynaplasia").to_dict(), "name": "c8", "arrays": 8, "rows": 8,
         "cols": 16}
    )  # fmt: skip
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((4, 6, 3, 3)) / 7).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3, 3])],
        [numpy_helper.from_array(w, "w")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    feeds = {"x": rng.standard_normal((1, 6, 5, 5)).astype(np.float32)}
    check_graph(RandomGraph(model, feeds, ("Conv",), "cmswitch"), chip)
    imported = import_onnx(model, hardware=chip)
    loaded = LoadedModel("conv", imported.module, imported.store, chip)
    result = compile_model(loaded, ScheduleOptions(jobs=1))
    assert [t["split_budget"] for t in result.tried] == [8]  # 6 and 4 cannot hold 54 rows
    with pytest.raises(SplitError, match="54 input rows"):
        compile_model(loaded, parse_policy("static:0.5", ScheduleOptions(jobs=1)))
