"""The compiler driver (`compile_model`): operator granularity, time limits,
the layer structure cim-split leaves for the cost model."""

from __future__ import annotations

import dataclasses
import re

import pytest
from xdsl.dialects.func import FuncOp

from cmswitch.compile import compile_model, parse_policy, split_runs
from cmswitch.hardware import Hardware
from cmswitch.ir import make_context
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.passes.cim_split import CimSplitPass
from cmswitch.schedule.policies import evaluate
from cmswitch.workload import Workload

# a small chip on which the tiny models' layers must be split
SMALL = dataclasses.replace(Hardware.preset("dynaplasia"), arrays=12, rows=64, cols=64)


def test_split_parts_share_their_layer() -> None:
    model = load_model("tiny-opt", hardware=SMALL)
    module = model.module.clone()
    CimSplitPass(max_arrays=3).apply(make_context(), module)
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    wl = Workload.from_module(func, SMALL)
    layers: dict[int, list[str]] = {}
    for o in wl.ops:
        layers.setdefault(o.layer, []).append(o.name)
    split = [names for names in layers.values() if len(names) > 1]
    assert split, "expected some layer to be split"
    for names in split:
        stem = {re.sub(r"(\.[knb]\d+)+$", "", n) for n in names}
        assert len(stem) == 1, names  # parts of one original operator only
    assert all(len(names) == 1 for names in layers.values() if "." not in names[0])


def test_split_runs() -> None:
    """Every policy searches the same granularities (96 arrays: 96, 72, 48,
    24 by default); static only those its share holds, plus the share."""
    hw = Hardware.preset("dynaplasia")
    quarters = [96, 72, 48, 24]
    for policy in ("cim-mlc", "all-compute-dp", "puma"):
        runs = split_runs(hw, ScheduleOptions(policy=policy))
        assert runs == [(b, 0.5) for b in quarters], policy
    assert split_runs(hw, parse_policy("static:0.25", ScheduleOptions())) == [(24, 0.25)]
    assert split_runs(hw, parse_policy("static:0.5", ScheduleOptions())) == [(48, 0.5), (24, 0.5)]
    # floor(0.3 * 96) = 28 arrays: the share itself and the quarter below it
    assert split_runs(hw, parse_policy("static:0.3", ScheduleOptions())) == [(28, 0.3), (24, 0.3)]
    # cmswitch also tries the static fractions it offers its DP
    runs = split_runs(hw, ScheduleOptions(split_fractions=(1.0,), static_fractions=(0.3, 0.5)))
    assert [b for b, _ in runs] == [96, 48, 28]


@pytest.mark.parametrize("policy", ["cim-mlc", "all-compute-dp", "puma", "static:0.5"])
def test_granularity_parity(policy: str) -> None:
    """A baseline gets the granularity search cmswitch gets: at every split
    budget it tries, its latency is that of the policy on the workload split
    to that budget (rebuilt here with cim-split), cmswitch tries the same
    budget, and there cmswitch is never slower."""
    from cmswitch.schedule.policies import schedule

    model = load_model("tiny-opt", hardware=SMALL)
    base_opts = parse_policy(policy, ScheduleOptions(cost_model="paper"))
    base = compile_model(model, base_opts)
    cms = compile_model(model, ScheduleOptions(cost_model="paper"))
    theirs = {t["split_budget"]: t["latency_cycles"] for t in base.tried}
    ours = {t["split_budget"]: t["latency_cycles"] for t in cms.tried}
    assert len(theirs) >= 2 and set(theirs) <= set(ours)
    assert base.schedule.latency_cycles == min(theirs.values())
    for budget, latency in theirs.items():
        module = model.module.clone()
        CimSplitPass(max_arrays=budget).apply(make_context(), module)
        func = next(op for op in module.ops if isinstance(op, FuncOp))
        wl = Workload.from_module(func, SMALL)
        alone = schedule(
            wl, base_opts.policy, base_opts.cost, compute_fraction=base_opts.compute_fraction
        )
        assert latency == pytest.approx(alone.latency_cycles, rel=1e-12), budget
        assert ours[budget] <= latency * (1 + 1e-9), budget


@pytest.mark.parametrize("name", ["tiny-cnn", "tiny-opt"])
def test_cmswitch_dominates_static_at_its_granularities(name: str) -> None:
    model = load_model(name, hardware=SMALL)
    fractions = (1.0, 0.75, 0.5, 0.25)
    cms = compile_model(model, ScheduleOptions(cost_model="paper", split_fractions=fractions))
    assert [t["split_budget"] for t in cms.tried] == [12, 9, 6, 3]
    assert cms.schedule.latency_cycles == min(t["latency_cycles"] for t in cms.tried)
    for f in fractions[1:]:
        static = compile_model(
            model, parse_policy(f"static:{f}", ScheduleOptions(cost_model="paper"))
        )
        assert cms.schedule.latency_cycles <= static.schedule.latency_cycles * (1 + 1e-9), f
    for base in ("cim-mlc", "all-compute-dp", "puma"):
        other = compile_model(model, ScheduleOptions(cost_model="paper", policy=base))
        assert cms.schedule.latency_cycles <= other.schedule.latency_cycles * (1 + 1e-9), base
    report = cms.report()
    assert report["split_budget"] in (12, 9, 6, 3)
    assert len(report["granularity"]) == 4


def test_time_limit_keeps_a_valid_schedule_and_reports_it() -> None:
    """Paper model on the MIP solver: a time limit too short for any MIP
    still gives a legal schedule; the time-outs and the unproven gap are
    reported."""
    model = load_model("tiny-cnn")
    opts = ScheduleOptions(
        cost_model="paper", solver="mip", time_limit=1e-9, split_fractions=(1.0,)
    )
    res = compile_model(model, opts)
    st = res.schedule.stats
    assert st.time_limited > 0 and st.worst_gap > 0
    # the plan is legal and costs what it says under the one cost model
    wl = res.schedule.workload
    assert wl is not None
    again = evaluate(wl, res.schedule.segments, opts.cost)
    assert again.latency_cycles == pytest.approx(res.schedule.latency_cycles, rel=1e-9)
    full = compile_model(model, dataclasses.replace(opts, time_limit=10.0))
    assert full.schedule.stats.worst_gap == 0.0
    assert full.schedule.latency_cycles <= res.schedule.latency_cycles * (1 + 1e-9)
    assert res.report()["stats"]["worst_gap"] > 0


def _spy_on_worker(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What each worker answered (None: it failed and the driver planned here)."""
    import cmswitch.compile as driver

    answers: list[object] = []
    real = driver._Remote.result

    def result(self):  # type: ignore[no-untyped-def]
        got = real(self)
        answers.append(got)
        return got

    monkeypatch.setattr(driver._Remote, "result", result)
    return answers


def test_worker_process_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coarser granularities planned in a worker process (forced on a
    small model) give exactly the single-process result, IR included; the
    worker's answer is the one used (no silent fallback)."""
    import cmswitch.compile as driver
    from cmswitch.ir import print_module

    model = load_model("tiny-opt", hardware=SMALL)
    options = ScheduleOptions(
        cost_model="paper", ai="roofline", compute_fraction=0.5, split_fractions=(1.0, 0.5, 0.25)
    )
    alone = compile_model(model, dataclasses.replace(options, jobs=1))
    monkeypatch.setattr(driver, "PARALLEL_MIN_OPS", 0)
    answers = _spy_on_worker(monkeypatch)
    shared = compile_model(model, dataclasses.replace(options, jobs=2))
    assert len(answers) == 1 and isinstance(answers[0], dict), "the worker failed"
    runs = split_runs(SMALL, options)
    assert set(answers[0]) == {budget for budget, _ in runs[:-1]}  # all but the finest
    assert shared.tried == alone.tried
    assert shared.split_budget == alone.split_budget
    assert print_module(shared.module) == print_module(alone.module)


def test_failed_worker_falls_back_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import cmswitch.compile as driver

    model = load_model("tiny-opt", hardware=SMALL)
    options = ScheduleOptions(
        cost_model="paper", ai="roofline", compute_fraction=0.5, split_fractions=(1.0, 0.5, 0.25)
    )
    alone = compile_model(model, dataclasses.replace(options, jobs=1))
    monkeypatch.setattr(driver, "PARALLEL_MIN_OPS", 0)
    monkeypatch.setattr(driver.sys, "executable", "/bin/false")  # the worker dies at once
    answers = _spy_on_worker(monkeypatch)
    shared = compile_model(model, dataclasses.replace(options, jobs=2))
    assert answers == [None]  # a worker ran, failed, and ...
    assert shared.tried == alone.tried  # ... every granularity was planned here
    assert shared.schedule.latency_cycles == alone.schedule.latency_cycles


UNLABELLED = """
builtin.module attributes {cim.hardware = #cim.hardware<"tiny", arrays = 16, rows = 16, cols = 16, cell_bits = 1, weight_bits = 8, act_bits = 8, buffer_bytes = 64, internal_bw_bits = 32, external_bw_bytes = 16, switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, vector_elems_per_cycle = 4, clock_hz = 1.0e9>} {
  func.func @f(%x: tensor<3x64xf32>) -> tensor<3x10xf32> {
    %w = cim.constant "a.w" : tensor<64x10xf32>
    %w3 = cim.constant "c.w" : tensor<64x10xf32>
    %y = cim.linear %x, %w : tensor<3x64xf32>, tensor<64x10xf32> -> tensor<3x10xf32>
    %u = cim.linear %x, %w3 : tensor<3x64xf32>, tensor<64x10xf32> -> tensor<3x10xf32>
    %s = cim.elementwise add %y, %u : tensor<3x10xf32>, tensor<3x10xf32> -> tensor<3x10xf32>
    func.return %s : tensor<3x10xf32>
  }
}
"""


def test_unlabelled_layers_stay_apart_and_weight_slices_are_free() -> None:
    """Two unlabelled layers split by cim-split keep distinct layers (reload
    is per layer); slicing a weight is compile-time work, so the workload's
    vector work is the same before and after segments hoist the slices."""
    from cmswitch.builder import module_hardware
    from cmswitch.ir import parse_module
    from cmswitch.passes.cim_schedule import schedule_module

    module = parse_module(UNLABELLED)
    hw = module_hardware(module)
    CimSplitPass(max_arrays=8).apply(make_context(), module)
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    wl = Workload.from_module(func, hw)
    assert len(wl) == 6
    assert len({o.layer for o in wl.ops}) == 2, [(o.name, o.layer) for o in wl.ops]
    schedule_module(module, ScheduleOptions(), hw)
    after = Workload.from_module(func, hw)
    assert after.leading_vector_work == wl.leading_vector_work
    assert [o.vector_work for o in after.ops] == [o.vector_work for o in wl.ops]


def test_default_options_are_valid_and_shared_by_the_cli() -> None:
    """Whatever the defaults are, they are values the CLI itself accepts, and
    `cmswitch compile` without options uses the Python API's defaults."""
    from cmswitch.cli import build_parser
    from cmswitch.compile import _base_options

    default = ScheduleOptions()
    assert default.split_fractions and all(0.0 < f <= 1.0 for f in default.split_fractions)
    assert 0.0 <= default.compute_fraction <= 1.0
    assert default.node_limit is None or default.node_limit >= 1
    assert default.time_limit is None or default.time_limit > 0
    args = build_parser().parse_args(["compile", "tiny-cnn"])
    assert parse_policy(args.policy, _base_options(args)) == default
