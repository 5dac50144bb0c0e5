"""Every malformed or unsupported input of the generated corpus
(:mod:`error_corpus`) ends in one located ``cmswitch: error:`` line and a
non-zero exit: never a traceback, never output on stdout, never a file left
behind. The cases run in-process through :func:`cmswitch.cli.main`; a few run
as real subprocesses through the installed ``cmswitch`` script."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from error_corpus import Case, all_cases, write_case

from cmswitch.cli import main

CASES = all_cases()
EXE = str(Path(sys.executable).parent / "cmswitch")


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def _run_in_process(
    case: Case, directory: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    try:
        status = main(case.args(directory))
    except SystemExit as exit_:  # only --help may exit; a case must not
        status = exit_.code if isinstance(exit_.code, int) else 1
        pytest.fail(f"{case.id}: SystemExit({exit_.code}) instead of a returned status")
    out, err = capsys.readouterr()
    return status, out, err


def _check_error(case: Case, status: int, out: str, err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert status != 0, f"{case.id}: exit status 0 for a bad input"
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"{case.id}: expected one error line, got:\n{err}"
    assert lines[0].startswith("cmswitch: error: "), lines[0]
    assert case.fragment in lines[0], f"{case.id}: {case.fragment!r} not in {lines[0]!r}"
    assert out == "", f"{case.id}: wrote to stdout on error: {out[:200]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_fails_cleanly(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_case(case, tmp_path)
    monkeypatch.chdir(tmp_path)  # a stray relative output would land here
    before = _files(tmp_path)
    status, out, err = _run_in_process(case, tmp_path, capsys)
    assert _files(tmp_path) == before, f"{case.id}: files written or left behind"
    if case.may_succeed and status == 0:
        assert err.strip() == "" and out.strip(), f"{case.id}: a success must print its result"
        return
    _check_error(case, status, out, err)


def test_corpus_size_and_spread() -> None:
    """At least 200 inputs that must be refused, from every family."""
    must_fail = [c for c in CASES if not c.may_succeed]
    assert len(must_fail) >= 200
    families = Counter(c.id.split("-")[0] for c in must_fail)
    assert families.keys() == {"onnx", "mlir", "hw", "chip", "cli"}
    assert min(families[f] for f in ("onnx", "mlir", "hw", "cli")) >= 25, families
    # every hardware field is wrong in every way
    from cmswitch.hardware import Hardware

    for key in Hardware.field_names():
        kinds = {c.id.removeprefix(f"hw-{key}-") for c in CASES if c.id.startswith(f"hw-{key}-")}
        assert {"missing", "string", "bool", "below", "above", "nan"} <= kinds, (key, kinds)


def test_random_mutations_mostly_fail() -> None:
    """The bit flips avoid weight bytes: most of them break the model."""
    flips = [c for c in CASES if c.may_succeed]
    assert len(flips) >= 30


SUBPROCESS_IDS = (
    "onnx-truncated-0",
    "onnx-cycle",
    "mlir-deep-nesting",
    "hw-clock_hz-nan",
    "cli-unknown-option",
    "cli-compile-both-stdout",
)


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_installed_script(case_id: str, tmp_path: Path) -> None:
    """The console script behaves like main(): one line, status, no files."""
    case = next(c for c in CASES if c.id == case_id)
    write_case(case, tmp_path)
    before = _files(tmp_path)
    proc = subprocess.run(
        [EXE, *case.args(tmp_path)], capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"COLUMNS": "80", "PATH": str(Path(sys.executable).parent)},
    )  # fmt: skip
    _check_error(case, proc.returncode, proc.stdout, proc.stderr)
    assert _files(tmp_path) == before
    # argparse mistakes exit 2 (as argparse does), the others 1
    assert proc.returncode == (2 if case_id == "cli-unknown-option" else 1)
