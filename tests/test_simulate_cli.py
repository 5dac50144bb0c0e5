"""`cmswitch simulate` and `cmswitch.simulate(...)` as a user runs them."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cmswitch
from cmswitch.simulator.accounting import CATEGORIES
from tests.test_timing import linear, prog, program, segment

DATA = Path(__file__).parent / "data" / "onnx"
EXE = str(Path(sys.executable).parent / "cmswitch")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, check=False,
        env={"COLUMNS": "200", "PATH": str(Path(sys.executable).parent)},
    )  # fmt: skip


def hand_program(arrays: str = "0") -> str:
    # the compute-bound program of tests/test_timing.py: 72 cycles by hand
    body = segment(0, [
        prog("%w", "fc", arrays, "0, 1, 0, 4, 0, 4", 16, "tensor<4x4xf32>"),
        linear("%x", "%w", arrays, "buffer = 32", 4, 4, 8, "fc", "%y"),
    ], "%y", "tensor<8x4xf32>")  # fmt: skip
    return program(f'    %w = cim.constant "w" : tensor<4x4xf32>\n{body}\n'
                   "    func.return %s0 : tensor<8x4xf32>", "%x: tensor<8x4xf32>",
                   "tensor<8x4xf32>")  # fmt: skip


def test_report_trace_and_plot(tmp_path: Path) -> None:
    report, trace, plot = tmp_path / "r.json", tmp_path / "t.json", tmp_path / "p.png"
    proc = run("simulate", "tiny-cnn", "--policy", "static:0.5", "--report", str(report),
               "--trace", str(trace), "--plot", str(plot))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["policy"] == "static:0.5"  # as spelled on the command line
    assert data["model"] == "tiny-cnn" and data["arch"] == "dynaplasia"
    assert data["batch"] == 1 and data["seq"] == 64
    assert data["provenance"]["hardware"]["name"] == "dynaplasia"
    assert "simulate" in data["provenance"]["argv"]
    sim = data["breakdown"]["simulated"]
    assert set(sim) == set(CATEGORIES)
    assert sum(sim.values()) == pytest.approx(data["simulated_cycles"])
    assert set(data["breakdown"]["estimated"]) == set(CATEGORIES) - {"stall"}
    assert sum(s["simulated_cycles"] for s in data["segments"]) == pytest.approx(
        data["simulated_cycles"]
    )
    assert sum(s["estimated_cycles"] for s in data["segments"]) == pytest.approx(
        data["estimated_cycles"]
    )
    for s in data["segments"]:
        assert s["compute_cycles"] + s["waiting_cycles"] == pytest.approx(s["simulated_cycles"])
    events = json.loads(trace.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert "vector unit" in names and any(n.startswith("array ") for n in names)
    assert any(n.startswith("lane ") for n in names)
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"channel bytes/cycle", "buffer bytes"} <= counters
    # complete events on one track never overlap (a track cannot show that)
    tracks: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for e in events:
        if e["ph"] == "X":
            tracks.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    assert len(tracks) > 3
    for spans in tracks.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in itertools.pairwise(spans))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cim_meta_program_file_is_simulated_as_is(tmp_path: Path) -> None:
    path = tmp_path / "prog.mlir"
    path.write_text(hand_program())
    report = tmp_path / "r.json"
    proc = run("simulate", str(path), "--tile-rows", "1", "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["simulated_cycles"] == pytest.approx(72.0)
    assert data["estimated_cycles"] is None and data["policy"] is None


def test_a_rule_breaking_program_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "prog.mlir"
    path.write_text(hand_program(arrays="11"))
    proc = run("simulate", str(path))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        'cmswitch: error: cim_meta.program "fc" (segment 0): arrays [11] do not exist (the chip has 8)'
    ]


def test_functional_onnx_matches_onnxruntime_and_saves_named_outputs(tmp_path: Path) -> None:
    # bert_tiny's graph input is named like the legacy exporter does
    # (`input_ids`, ...); keys of --inputs / --outputs are the ONNX names
    import onnxruntime as ort

    model = DATA / "bert_tiny.onnx"
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = (rng.integers(0, 8, size=shape).astype(np.int64) if "int" in i.type
                         else rng.standard_normal(shape).astype(np.float32))  # fmt: skip
    inputs, outputs, report = tmp_path / "in.npz", tmp_path / "out.npz", tmp_path / "r.json"
    np.savez(inputs, **feeds)  # pyright: ignore[reportArgumentType]
    proc = run("simulate", str(model), "--functional", "--inputs", str(inputs), "--outputs",
               str(outputs), "--report", str(report))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds),
                        strict=True))  # fmt: skip
    with np.load(outputs) as got:
        assert sorted(got.files) == sorted(expected)
        for name, ref in expected.items():
            err = np.max(np.abs(got[name] - ref)) / np.max(np.abs(ref))
            assert err < 1e-4
    data = json.loads(report.read_text())
    assert [o["name"] for o in data["outputs"]] == list(expected)
    assert all(
        o["max_rel_error"] < 1e-4 and o["reference"] == "onnxruntime" for o in data["outputs"]
    )


def test_inputs_missing_a_name_is_one_error_line(tmp_path: Path) -> None:
    inputs = tmp_path / "in.npz"
    np.savez(inputs, wrong=np.zeros(3, dtype=np.float32))
    proc = run("simulate", "tiny-cnn", "--functional", "--inputs", str(inputs))
    assert proc.returncode == 1
    assert proc.stderr.startswith("cmswitch: error: --inputs has no array")
    assert "Traceback" not in proc.stderr


def test_python_api_zoo_functional_and_timing() -> None:
    result = cmswitch.simulate("tiny-bert", seq=16, functional=True, policy="cim-mlc")
    assert result.policy == "cim-mlc"
    assert result.simulated_cycles is not None and result.simulated_cycles > 0
    assert result.estimated_cycles == pytest.approx(result.compiled.schedule.latency_cycles)  # type: ignore[union-attr]
    assert result.checks and all(c.max_rel_error is not None and c.max_rel_error < 1e-4
                                 for c in result.checks)  # fmt: skip
    report = result.report(["test"])
    assert report["provenance"]["argv"] == ["test"]
    assert report["seq"] == 16


def test_simulate_schedule_for_compare() -> None:
    from cmswitch.compile import compile_model, parse_policy
    from cmswitch.models import load_model
    from cmswitch.passes.cim_schedule import ScheduleOptions
    from cmswitch.simulate import simulate_schedule

    compiled = compile_model(load_model("tiny-cnn"), parse_policy("puma", ScheduleOptions()))
    summary = simulate_schedule(compiled)
    direct = cmswitch.simulate("tiny-cnn", policy="puma")
    assert summary["simulated_cycles"] == pytest.approx(direct.simulated_cycles)
    assert sum(summary["breakdown"].values()) == pytest.approx(summary["simulated_cycles"])


def test_a_cim_module_file_is_compiled_then_simulated(tmp_path: Path) -> None:
    # `import` writes the cim IR and its weight store; `simulate` compiles it
    # with the policy, runs it on the stored weights and compares with the
    # reference executor
    mlir = tmp_path / "cnn.mlir"
    assert run("import", str(DATA / "tiny_cnn.onnx"), "-o", str(mlir)).returncode == 0
    report = tmp_path / "r.json"
    proc = run("simulate", str(mlir), "--policy", "puma", "--functional", "--timing",
               "--report", str(report))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["policy"] == "puma" and data["estimated_cycles"] > 0
    assert data["simulated_cycles"] > 0
    assert all(o["max_rel_error"] < 1e-4 and o["reference"] == "reference" for o in data["outputs"])


def test_compare_simulate_adds_each_policys_simulated_cycles() -> None:
    """`compare --simulate`: every row carries the simulated cycles of its own
    policy's program (rows are not mixed up), next to the estimate."""
    proc = run("compare", "tiny-cnn", "--policies", "puma", "cim-mlc", "static:0.5",
               "--simulate", "--json", "-")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    for row in rows:
        direct = cmswitch.simulate("tiny-cnn", policy=row["policy"])
        assert row["simulated_cycles"] == pytest.approx(direct.simulated_cycles)
        assert row["estimated_over_simulated"] == pytest.approx(
            row["latency_cycles"] / direct.simulated_cycles
        )
    assert "simulated cycles" in proc.stderr
