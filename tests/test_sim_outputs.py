"""`cmswitch simulate` writes its files atomically and together.

``--outputs``, ``--report``, ``--trace`` and ``--plot`` are rendered into
temporary files and renamed over their targets only when all are complete
(:mod:`cmswitch.fileio`): a run that fails while writing leaves no new file,
no temporary file and no target half-written or replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cmswitch.cli import main
from cmswitch.simulator import plot
from tests.test_simulate_cli import run


def test_all_four_outputs_are_written(tmp_path: Path) -> None:
    outs, report, trace, png = (tmp_path / n for n in ("out", "r.json", "t.json", "p.png"))
    proc = run("simulate", "tiny-cnn", "--functional", "--timing", "--outputs", str(outs),
               "--report", str(report), "--trace", str(trace), "--plot", str(png))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # --outputs gets .npz appended when missing, as np.savez names it
    with np.load(tmp_path / "out.npz") as data:
        assert data.files == ["logits"] and data["logits"].shape == (1, 10)
    assert json.loads(report.read_text())["model"] == "tiny-cnn"
    assert json.loads(trace.read_text())["traceEvents"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz", "p.png", "r.json", "t.json"]


def test_an_unwritable_output_leaves_none_behind(tmp_path: Path) -> None:
    """The report's directory does not exist: the run fails with a one-line
    error naming it, and the outputs, trace and plot (complete by then) are
    not written either."""
    outs, trace, png = tmp_path / "o.npz", tmp_path / "t.json", tmp_path / "p.png"
    report = tmp_path / "missing" / "r.json"
    proc = run("simulate", "tiny-cnn", "--functional", "--timing", "--outputs", str(outs),
               "--trace", str(trace), "--plot", str(png), "--report", str(report))  # fmt: skip
    assert proc.returncode != 0
    assert f"cmswitch: error: {report}: cannot write" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_keeps_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing the plot fails half-way through its file: the previous trace,
    plot and report stay as they were, and no temporary file is left."""
    trace, png, report = tmp_path / "t.json", tmp_path / "p.png", tmp_path / "r.json"
    for path in (trace, png, report):
        path.write_text("old")

    def broken(timeline: object, path: Path, title: str | None = None, fmt: str = "png") -> None:
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n half an image")
        raise plot.PlotError("the renderer died")

    monkeypatch.setattr(plot, "render_timeline", broken)
    code = main(["simulate", "tiny-cnn", "--timing", "--report", str(report),
                 "--trace", str(trace), "--plot", str(png)])  # fmt: skip
    assert code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "r.json", "t.json"]
    assert all(p.read_text() == "old" for p in (trace, png, report))


def test_two_outputs_naming_one_file_are_a_user_error(tmp_path: Path) -> None:
    target = tmp_path / "same.json"
    proc = run("simulate", "tiny-cnn", "--report", str(target), "--trace", str(target))
    assert proc.returncode != 0
    assert "cmswitch: error: two outputs name the same file" in proc.stderr
    assert list(tmp_path.iterdir()) == []
