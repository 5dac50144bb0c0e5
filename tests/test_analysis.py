"""Workload analysis report: numbers checked against hand formulas from the
hardware fields, JSON-readiness, and the rich rendering (limit, totals)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from cmswitch import zoo
from cmswitch.analysis import analyze, render_table
from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware
from cmswitch.workload import Workload

HW = Hardware.preset("dynaplasia")

SHAPES = [
    MatmulShape(m=64, n=300, k=40),  # one array
    MatmulShape(m=1, n=4096, k=4096),  # far larger than the chip
    MatmulShape(m=8, n=16, k=8, groups=12, stationary=False),  # attention-like
]


# Minimum compute arrays, by hand on DynaPlasia (320 x 320 one-bit cells,
# 8-bit weights: 320 rows x 40 weights per array):
#   64 x 300 x 40: 300 <= 320 rows, 40 <= 40 columns: 1 array;
#   1 x 4096 x 4096: ceil(4096 / 320) = 13 row blocks x ceil(4096 / 40) = 103
#   column blocks = 1339 arrays;
#   12 groups of 16 x 8: one array holds min(320 // 16, 40 // 8) = 5 groups
#   block-diagonally, so ceil(12 / 5) = 3 arrays.
MIN_ARRAYS = [1, 1339, 3]
# Roofline AI by hand (1-byte activations and weights): MACs / bytes moved.
#   64 * 300 * 40 = 768 000 MACs / (19 200 in + 12 000 weights + 2 560 out)
#   1 * 4096 * 4096 = 16 777 216 / (4 096 + 16 777 216 + 4 096)
#   12 * 8 * 16 * 8 = 12 288 / (12 * (128 + 128 + 64))
AI_ROOFLINE = [768000 / 33760, 16777216 / 16785408, 12288 / 3840]


def test_synthetic_report() -> None:
    wl = Workload.from_ops(HW, SHAPES, vector_work=[10, 20, 30], name="syn")
    report = analyze(wl, "input", model="synthetic", batch=2, seq=8)
    assert json.loads(json.dumps(report)) == report
    assert (report["model"], report["arch"], report["batch"], report["seq"]) == (
        "synthetic", "dynaplasia", 2, 8)  # fmt: skip
    assert "phase" not in report
    w = HW.weight_bits / 8
    for row, s in zip(report["ops"], SHAPES, strict=True):
        assert (row["m"], row["n"], row["k"], row["groups"]) == (s.m, s.n, s.k, s.groups)
        assert row["macs"] == s.m * s.n * s.k * s.groups
        assert row["ai_input"] == s.k and row["ai"] == row["ai_input"]
        assert row["fits"] == (row["min_arrays"] <= HW.arrays)
        assert row["weight_bytes"] == s.n * s.k * s.groups * w
    assert [r["min_arrays"] for r in report["ops"]] == MIN_ARRAYS
    assert [r["ai_roofline"] for r in report["ops"]] == pytest.approx(AI_ROOFLINE)
    assert [r["fits"] for r in report["ops"]] == [True, False, True]
    t = report["totals"]
    assert t["macs"] == sum(s.m * s.n * s.k * s.groups for s in SHAPES)
    assert t["weight_bytes"] == (300 * 40 + 4096 * 4096) * w  # stationary only
    assert (t["ops"], t["vector_work"], t["oversize_ops"]) == (3, 60, 1)
    assert t["max_min_arrays"] == 1339
    assert analyze(wl)["ops"][0]["ai"] == report["ops"][0]["ai_roofline"]


def test_unknown_ai_model() -> None:
    wl = Workload.from_ops(HW, SHAPES)
    with pytest.raises(ValueError, match="roofline or input"):
        analyze(wl, "flops")


def test_model_report_is_stable_and_complete() -> None:
    module = zoo.build("tiny-opt", batch=2, seq=4, phase="decode", hardware=HW)
    wl = Workload.from_module(module, HW)
    first = analyze(wl, model="tiny-opt", batch=2, seq=4, phase="decode")
    second = analyze(Workload.from_module(module, HW), model="tiny-opt", batch=2, seq=4,
                     phase="decode")  # fmt: skip
    assert json.dumps(first) == json.dumps(second)
    names = [o["name"] for o in first["ops"]]
    assert names[:6] == ["h.0.attn.q_proj", "h.0.attn.k_proj", "h.0.attn.v_proj",
                         "h.0.attn.scores", "h.0.attn.context", "h.0.attn.o_proj"]  # fmt: skip
    assert names[-1] == "lm_head"
    scores = first["ops"][3]
    assert (scores["kind"], scores["stationary"], scores["groups"]) == ("matmul", False, 8)
    assert first["totals"]["macs"] == sum(o["macs"] for o in first["ops"])


def render(report: dict[str, object], limit: int | None = None) -> str:
    console = Console(width=200, record=True, color_system=None)
    render_table(report, console, limit=limit)  # type: ignore[arg-type]
    return console.export_text()


def test_render_all_and_top() -> None:
    module = zoo.build("tiny-llama", batch=1, seq=8, hardware=HW)
    report = analyze(Workload.from_module(module, HW), model="tiny-llama", batch=1, seq=8)
    text = render(report)
    assert "tiny-llama on dynaplasia" in text
    assert all(o["name"] in text for o in report["ops"])
    total_line = text.strip().splitlines()[-1]
    assert total_line.startswith("Total: 19 CIM operators")
    top = render(report, limit=3)
    largest = sorted(report["ops"], key=lambda o: -o["macs"])[:3]
    assert all(o["name"] in top for o in largest)
    assert "h.1.attn.scores" not in top
    assert "16 more operators not shown" in top
    assert top.strip().splitlines()[-1] == total_line


def test_render_flags_oversize() -> None:
    report = analyze(Workload.from_ops(HW, SHAPES))
    text = render(report)
    assert "1339 > 96" in text
    assert "1 operators exceed the chip" in text


def test_render_500_ops_quickly() -> None:
    wl = Workload.from_ops(HW, [MatmulShape(m=4, n=64 + i % 7, k=32) for i in range(600)])
    report = analyze(wl)
    text = render(report, limit=20)
    assert "580 more operators not shown" in text
    assert "Total: 600 CIM operators" in text
