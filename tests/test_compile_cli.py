"""`cmswitch compile` and `cmswitch compare` run as a user runs them (a
subprocess), checked against the Python API: the `--report` JSON, the
emitted IR in both forms, `compare --json`, bad policy strings, and
byte-identical repeated runs (apart from `*_seconds` and the `provenance`
block, which records how the report was made: argv, versions, commit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmswitch.compile import compile_model
from cmswitch.ir import print_module
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions

EXE = str(Path(sys.executable).parent / "cmswitch")
# every option explicit: the tests do not depend on the defaults
COMMON = [
    "tiny-cnn", "--cost-model", "paper", "--ai", "roofline", "--split-fractions", "1.0",
    "0.5", "--jobs", "1", "--node-limit", "10000",
]  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def api(policy: str, fraction: float = 0.5) -> Any:
    opts = ScheduleOptions(
        policy=policy, cost_model="paper", ai="roofline", compute_fraction=fraction,
        split_fractions=(1.0, 0.5), jobs=1, node_limit=10000,
    )  # fmt: skip
    return compile_model(load_model("tiny-cnn"), opts, batch=1, seq=64)


def without_seconds(data: Any) -> Any:
    """The report without its timing fields (`*_seconds`, `seconds`) and its
    provenance (argv differs between the CLI and the API)."""
    if isinstance(data, dict):
        return {
            k: without_seconds(v)
            for k, v in data.items()
            if not (k.endswith("_seconds") and k != "latency_seconds")
            and k not in ("seconds", "provenance")
        }
    if isinstance(data, list):
        return [without_seconds(v) for v in data]
    return data


def test_compile_report_and_ir_equal_the_python_api(tmp_path: Path) -> None:
    out, report = tmp_path / "cnn.mlir", tmp_path / "cnn.json"
    proc = run("compile", *COMMON, "--policy", "cmswitch", "-o", str(out), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    got = json.loads(report.read_text())
    assert got["provenance"]["argv"][1:3] == ["compile", "tiny-cnn"]
    want = api("cmswitch")
    assert without_seconds(got) == without_seconds(json.loads(json.dumps(want.report())))
    assert got["latency_cycles"] == want.schedule.latency_cycles
    assert out.read_text() == print_module(want.module)
    assert "cim.segment" in out.read_text()
    # the one-line summary on stderr names the latency
    assert f"{want.schedule.latency_cycles:,.0f} cycles" in proc.stderr


def test_compile_emit_cim_has_allocations_without_segments(tmp_path: Path) -> None:
    out = tmp_path / "cnn.mlir"
    proc = run("compile", *COMMON, "--policy", "cim-mlc", "--emit", "cim", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "cim.segment" not in text
    want = api("cim-mlc")
    n_ops = sum(s.end - s.start + 1 for s in want.schedule.segments)
    assert text.count("#cim.alloc<") == n_ops
    allocs = [a for s in want.schedule.segments for a in s.allocs]
    for a in allocs:
        assert (
            f"#cim.alloc<compute = {a.compute}, mem_in = {a.mem_in}, mem_out = {a.mem_out}>" in text
        )


def test_repeated_compiles_are_byte_identical(tmp_path: Path) -> None:
    outputs = []
    for k in range(2):
        out, report = tmp_path / f"{k}.mlir", tmp_path / f"{k}.json"
        proc = run(
            "compile", *COMMON, "--cost-model", "strict", "--ai", "streamed",
            "--policy", "cmswitch",
            "-o", str(out), "--report", str(report),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outputs.append((out.read_bytes(), without_seconds(json.loads(report.read_text()))))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("magic", "unknown policy 'magic'"),
        ("static:2", "static compute fraction must be in (0, 1]"),
        ("static:abc", "static compute fraction 'abc' is not a number"),
        ("static{foo=1}", "unknown static option 'foo'"),
    ],
)
def test_bad_policy_is_one_error_line(tmp_path: Path, policy: str, fragment: str) -> None:
    out = tmp_path / "x.mlir"
    proc = run("compile", *COMMON, "--policy", policy, "-o", str(out))
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("cmswitch: error: "), proc.stderr
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_compare_json_equals_the_python_api(tmp_path: Path) -> None:
    table = tmp_path / "cmp.json"
    proc = run(
        "compare", *COMMON, "--policies", "cim-mlc", "cmswitch", "static:0.5", "--json", str(table)
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(table.read_text())
    assert (data["model"], data["arch"]) == ("tiny-cnn", "dynaplasia")
    rows = {r["policy"]: r for r in data["rows"]}
    assert list(rows) == ["cim-mlc", "cmswitch", "static:0.5"]
    base = api("cim-mlc").schedule.latency_cycles
    for label, policy in (("cim-mlc", "cim-mlc"), ("cmswitch", "cmswitch"),
                          ("static:0.5", "static")):  # fmt: skip
        want = api(policy).schedule
        assert rows[label]["latency_cycles"] == want.latency_cycles
        assert rows[label]["segments"] == len(want.segments)
        assert rows[label]["speedup_vs_cim_mlc"] == pytest.approx(base / want.latency_cycles)
    assert rows["cim-mlc"]["speedup_vs_cim_mlc"] == 1.0
    assert rows["cmswitch"]["latency_cycles"] <= rows["cim-mlc"]["latency_cycles"]
    # the table is printed too
    assert "cmswitch" in proc.stdout and "static:0.5" in proc.stdout
