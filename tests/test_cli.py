"""The `cmswitch` command line as a user runs it: one error line and a
non-zero exit for each bad input, JSON and IR outputs that tools accept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

DATA = Path(__file__).parent / "data" / "onnx"
EXE = str(Path(sys.executable).parent / "cmswitch")
XDSL_OPT = str(Path(sys.executable).parent / "xdsl-opt")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, check=False, cwd=cwd,
        env={"COLUMNS": "200", "PATH": str(Path(sys.executable).parent)},
    )  # fmt: skip


def assert_one_error_line(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cmswitch: error: ")
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_corrupt_onnx(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 this is not protobuf \xff" * 10)
    assert_one_error_line(run("import", str(bad)), "not a valid ONNX model")


def test_unsupported_op(tmp_path: Path) -> None:
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up0", mode="cubic")
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
        initializer=[helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])],
    )  # fmt: skip
    path = tmp_path / "resize.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    proc = run("analyze", str(path))
    assert_one_error_line(proc, "'up0' (op Resize): mode 'cubic' is not supported")


def test_missing_dynamic_shape_then_given() -> None:
    model = str(DATA / "tiny_cnn_dynbatch.onnx")
    assert_one_error_line(run("analyze", model), "--input-shape x=")
    proc = run("analyze", model, "--input-shape", "x=2x3x16x16", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["macs"] > 0


def test_bad_hardware_file(tmp_path: Path) -> None:
    hw = tmp_path / "chip.toml"
    hw.write_text('name = "x"\narrays = 0\n')
    proc = run("analyze", "tiny-cnn", "--arch", str(hw))
    assert_one_error_line(proc, str(hw))
    assert_one_error_line(run("analyze", "tiny-cnn", "--arch", "nosuchchip"), "nosuchchip")


def test_unknown_model_and_bad_values() -> None:
    assert_one_error_line(run("analyze", "resnet19"), "resnet19")
    assert_one_error_line(run("analyze", "tiny-bert", "--phase", "decode"), "decode")
    assert_one_error_line(run("analyze", "tiny-cnn", "--batch", "0"), "--batch")
    assert_one_error_line(run("analyze", "model.txt"), ".txt")


def test_bad_mlir_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f() {\n  %x = cim.nosuchop : tensor<2xf32>\n}\n")
    proc = run("analyze", str(bad))
    assert proc.returncode != 0
    assert proc.stderr.startswith("cmswitch: error: ")
    assert "bad.mlir:2" in proc.stderr and "Traceback" not in proc.stderr


def test_import_writes_ir_and_weights_that_xdsl_opt_reads(tmp_path: Path) -> None:
    out = tmp_path / "cnn.mlir"
    proc = run("import", str(DATA / "tiny_cnn.onnx"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cnn.weights.npz").exists()
    text = out.read_text()
    assert "cim.conv2d" in text and "cim.hardware" in text
    # the stock xdsl-opt round-trips it
    again = subprocess.run([XDSL_OPT, str(out)], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == text.strip()


def test_zoo_module_round_trips_through_xdsl_opt(tmp_path: Path) -> None:
    from cmswitch import zoo
    from cmswitch.ir import print_module

    text = print_module(zoo.build("tiny-llama", seq=8))
    path = tmp_path / "llama.mlir"
    path.write_text(text)
    again = subprocess.run([XDSL_OPT, str(path)], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == text.strip()


def test_analyze_json_keys_and_totals() -> None:
    proc = run("analyze", "resnet18", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    op = report["ops"][0]
    for key in ("name", "kind", "m", "n", "k", "macs", "ai", "min_arrays"):
        assert key in op
    # conv1 of ResNet-18: 112x112 outputs, 3*7*7 inputs, 64 channels
    assert (op["m"], op["n"], op["k"]) == (112 * 112, 147, 64)
    assert report["totals"]["macs"] == sum(o["macs"] for o in report["ops"])


@pytest.mark.parametrize(
    "command", [["models"], ["arch", "prime"], ["analyze", "tiny-bert", "--seq", "16"]]
)
def test_tables_render(command: list[str]) -> None:
    proc = run(*command)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


def test_compare_json_to_stdout_is_only_json() -> None:
    """`compare --json -`: standard output parses as JSON (the table goes to
    stderr); every row has its latency at its best granularity, and the
    speedups are the stated latency ratios."""
    proc = run("compare", "tiny-cnn", "--cost-model", "paper", "--json", "-",
               "--policies", "cmswitch", "cim-mlc", "all-compute-dp", "static:0.5")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["cost_model"] == "paper" and data["ai"] == "roofline"
    assert {"commit", "argv", "hardware"} <= set(data["provenance"])
    rows = {r["policy"]: r for r in data["rows"]}
    assert list(rows) == ["cmswitch", "cim-mlc", "all-compute-dp", "static:0.5"]
    lat = {p: r["latency_cycles"] for p, r in rows.items()}
    strongest = min(lat["cim-mlc"], lat["all-compute-dp"])
    for p, r in rows.items():
        assert r["speedup_vs_all_compute"] == pytest.approx(strongest / lat[p])
        assert r["speedup_vs_cim_mlc"] == pytest.approx(lat["cim-mlc"] / lat[p])
        assert r["speedup_vs_best_static"] == pytest.approx(lat["static:0.5"] / lat[p])
        assert r["latency_cycles"] == min(g["latency_cycles"] for g in r["granularity"])
        assert r["split_budget"] in [g["split_budget"] for g in r["granularity"]]
        assert set(r["breakdown"]) == {"intra", "vector", "reload", "switch", "writeback"}
    assert rows["cmswitch"]["speedup_vs_all_compute"] >= 1.0
    assert rows["cmswitch"]["speedup_vs_best_static"] >= 1.0
    assert "vs all-compute" in proc.stderr


def test_compile_report_to_stdout_and_strict_intensity() -> None:
    proc = run("compile", "tiny-cnn", "--report", "-", "--split-fractions", "1")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["cost_model"], report["ai"]) == ("strict", "streamed")
    assert "provenance" in report
    assert sum(report["breakdown"].values()) == pytest.approx(report["latency_cycles"])
    bad = run("compile", "tiny-cnn", "--ai", "roofline", "-o", "/dev/null")
    assert_one_error_line(bad, "streamed intensity only")
