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


# ------------------------------------------------------------ in-process runs


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from cmswitch.cli import main

    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


# --------------------------------------------- standard output carries only the output


def test_json_to_stdout_is_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`-` outputs are parseable as a whole: tables and summaries go to stderr."""
    status, out, err = cli(capsys, "compare", "tiny-cnn", "--policies", "cim-mlc", "cmswitch",
                           "--json", "-")  # fmt: skip
    assert status == 0, err
    rows = json.loads(out)["rows"]  # the whole of stdout is one JSON document
    assert [r["policy"] for r in rows] == ["cim-mlc", "cmswitch"]
    assert "tiny-cnn on dynaplasia" in err and "cmswitch" in err  # the table: stderr
    status, out, err = cli(capsys, "compile", "tiny-cnn", "--report", "-")
    assert status == 0, err
    assert json.loads(out)["model"] == "tiny-cnn"
    status, out, _ = cli(capsys, "analyze", "tiny-cnn", "-o", "-")
    assert json.loads(out)["totals"]["macs"] > 0
    for command in (["models", "--json"], ["arch", "prime", "--json"]):
        status, out, _ = cli(capsys, *command)
        assert status == 0
        json.loads(out)


def test_ir_to_stdout_is_only_ir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cmswitch.ir import parse_module

    report = tmp_path / "r.json"
    status, out, err = cli(capsys, "compile", "tiny-cnn", "-o", "-", "--report", str(report))
    assert status == 0, err
    assert "cim.segment" in out
    parse_module(out)  # nothing but IR on stdout
    assert json.loads(report.read_text())["model"] == "tiny-cnn"
    assert not (tmp_path / "-").exists()
    status, out, err = cli(capsys, "import", str(DATA / "tiny_cnn.onnx"), "-o", "-")
    assert status == 0, err
    assert "cim.conv2d" in out
    parse_module(out)


def test_compare_json_to_stdout_as_a_user_runs_it() -> None:
    proc = run("compare", "tiny-cnn", "--policies", "cim-mlc", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"][0]["policy"] == "cim-mlc"


# ------------------------------------------------------ atomic output files


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file write stops half-way with ENOSPC, as on a full disk."""
    import errno

    from cmswitch.weights import WeightStore

    def half_text(self: Path, data: str, *args: object, **kwargs: object) -> int:
        with open(self, "w", encoding="utf-8") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    def half_bytes(self: Path, data: bytes) -> int:
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    def half_dump(self: WeightStore, out: object) -> None:
        out.write(b"PK\x03\x04 half an archive")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_text)
    monkeypatch.setattr(Path, "write_bytes", half_bytes)
    monkeypatch.setattr(WeightStore, "dump", half_dump)


@pytest.mark.parametrize(
    "args",
    [
        ["import", str(DATA / "tiny_cnn.onnx"), "-o", "{d}/out.mlir"],
        ["analyze", "tiny-cnn", "--json", "-o", "{d}/out.json"],
        ["compile", "tiny-cnn", "-o", "{d}/out.mlir", "--report", "{d}/out.json"],
        ["compare", "tiny-cnn", "--policies", "cim-mlc", "--json", "{d}/out.json"],
    ],
    ids=["import", "analyze", "compile", "compare"],
)
def test_a_failed_write_leaves_no_file(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], disk_full: None
) -> None:
    """Disk full half-way through: one error line, and neither a partial
    output nor a temporary file is left; an existing output is untouched."""
    with open(tmp_path / "out.json", "wb") as f:  # Path.write_bytes is the patched one
        f.write(b"previous")
    status, _out, err = cli(capsys, *[a.replace("{d}", str(tmp_path)) for a in args])
    assert status == 1
    assert err.startswith("cmswitch: error: ") and "No space left on device" in err, err
    assert len(err.strip().splitlines()) == 1
    assert _listing(tmp_path) == ["out.json"]
    assert (tmp_path / "out.json").read_bytes() == b"previous"


def test_benchmark_results_are_atomic(tmp_path: Path, disk_full: None) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        from common import write_results
    finally:
        sys.path.pop(0)
    with pytest.raises(OSError, match="No space"):
        write_results(str(tmp_path / "r.json"), "test", {"x": 1})
    assert _listing(tmp_path) == []


def test_staged_files_appear_together_or_not_at_all(tmp_path: Path) -> None:
    from cmswitch.fileio import staged

    a, b = tmp_path / "a.mlir", tmp_path / "a.weights.npz"
    a.write_text("old")
    with pytest.raises(KeyboardInterrupt), staged(a, b) as (ta, tb):
        ta.write_text("new")
        tb.write_bytes(b"half")
        raise KeyboardInterrupt
    assert _listing(tmp_path) == ["a.mlir"] and a.read_text() == "old"
    with staged(a, b) as (ta, tb):
        ta.write_text("new")
        tb.write_bytes(b"whole")
    assert a.read_text() == "new" and b.read_bytes() == b"whole"
    assert _listing(tmp_path) == ["a.mlir", "a.weights.npz"]


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; an output is as readable as `open(...)`'s."""
    import os

    from cmswitch.fileio import write_text

    write_text(tmp_path / "new.txt", "x")
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    mode = os.stat(tmp_path / "new.txt").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain.txt").st_mode & 0o777
    os.chmod(tmp_path / "new.txt", 0o640)
    write_text(tmp_path / "new.txt", "y")  # an existing file keeps its mode
    assert os.stat(tmp_path / "new.txt").st_mode & 0o777 == 0o640


def test_outputs_are_byte_identical_across_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same input, same bytes: IR, weights (no zip timestamps), and reports
    apart from `*_seconds`."""
    outs = []
    for k in range(2):
        d = tmp_path / str(k)
        d.mkdir()
        assert cli(capsys, "import", str(DATA / "tiny_cnn.onnx"), "-o", str(d / "m.mlir"))[0] == 0
        assert cli(capsys, "compile", str(d / "m.mlir"), "-o", str(d / "c.mlir"),
                   "--report", str(d / "r.json"))[0] == 0  # fmt: skip
        report = json.loads((d / "r.json").read_text())
        timeless = {k: v for k, v in report.items() if not k.endswith("_seconds")}
        timeless["stats"] = {
            k: v for k, v in report.get("stats", {}).items() if not k.endswith("seconds")
        }
        outs.append(
            ((d / "m.mlir").read_bytes(), (d / "m.weights.npz").read_bytes(),
             (d / "c.mlir").read_bytes(), json.dumps(timeless, sort_keys=True))
        )  # fmt: skip
    assert outs[0] == outs[1]


def test_weight_store_round_trips_any_name(tmp_path: Path) -> None:
    """np.savez(file, **arrays) breaks on a weight named `file`."""
    import numpy as np

    from cmswitch.weights import WeightsError, WeightStore

    arrays = {"file": np.arange(3.0), "a/b.c": np.ones((2, 2), np.int64), "m": np.zeros(1, bool)}
    WeightStore(arrays).save(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as data:  # what numpy itself reads
        assert sorted(data.files) == sorted(arrays)
        for key, value in arrays.items():
            np.testing.assert_array_equal(data[key], value)
            assert data[key].dtype == value.dtype
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 no")
    with pytest.raises(WeightsError, match=r"bad\.npz"):
        WeightStore.load(tmp_path / "bad.npz")


def test_import_without_weights_removes_a_stale_weights_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """X.weights.npz is read as X.mlir's weights: an import whose model has
    no weight data must not leave an earlier model's file there."""
    import numpy as np

    from cmswitch.models import load_model
    from cmswitch.weights import WeightStore

    WeightStore({"stale": np.ones(3)}).save(tmp_path / "m.weights.npz")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              tmp_path / "relu.onnx")  # fmt: skip
    status, _, err = cli(
        capsys, "import", str(tmp_path / "relu.onnx"), "-o", str(tmp_path / "m.mlir")
    )
    assert status == 0, err
    assert not (tmp_path / "m.weights.npz").exists()
    assert len(load_model(str(tmp_path / "m.mlir")).store) == 0
