"""The hardware description: presets, derived constants, strict validation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmswitch.dialects.cim import HardwareAttr
from cmswitch.hardware import Hardware, HardwareError, preset_names


def test_presets_listed() -> None:
    assert preset_names() == ("dynaplasia", "prime")


def test_dynaplasia_matches_spec_table() -> None:
    hw = Hardware.preset("dynaplasia")
    # CMSWITCH.md section 2, computed by hand from the table.
    assert (hw.arrays, hw.rows, hw.cols) == (96, 320, 320)
    assert hw.op_cim == 320 * (320 / 8) / 8 == 1600
    assert hw.d_cim == 40
    assert hw.d_main == 128 + 32 / 8 == 132
    assert hw.array_bytes == 320 * 320 // 8
    assert hw.write_cycles_per_array == 320
    assert hw.buffer_bytes == 8 * 10 * 1024


def test_prime_writes_are_expensive() -> None:
    sram, reram = Hardware.preset("dynaplasia"), Hardware.preset("prime")
    assert reram.write_cycles_per_row == 1000 * sram.write_cycles_per_row
    assert reram.arrays > sram.arrays and reram.rows > sram.rows


def test_min_arrays_formula() -> None:
    hw = Hardware.preset("dynaplasia")
    # ceil(N / rows) * ceil(K * weight_bits / (cols * cell_bits)) for one matrix
    assert hw.min_arrays(1024, 4096) == math.ceil(1024 / 320) * math.ceil(4096 * 8 / 320)
    assert hw.min_arrays(320, 40) == 1
    assert hw.min_arrays(321, 40) == 2
    # block-diagonal packing of depthwise 3x3 kernels: min(320 // 9, 40 // 1) = 35 per array
    assert hw.min_arrays(9, 1, 960) == math.ceil(960 / 35)
    # groups too big to pack take whole arrays each
    assert hw.min_arrays(400, 10, 3) == 3 * 2


@given(n=st.integers(1, 2000), k=st.integers(1, 2000), groups=st.integers(1, 64))
def test_min_arrays_holds_every_weight(n: int, k: int, groups: int) -> None:
    hw = Hardware.preset("dynaplasia")
    arrays = hw.min_arrays(n, k, groups)
    # capacity bound: the arrays hold all weight bits
    assert arrays * hw.rows * hw.cols * hw.cell_bits >= n * k * groups * hw.weight_bits
    # never worse than giving every group its own arrays
    assert arrays <= groups * math.ceil(n / hw.rows) * math.ceil(k / hw.weights_per_row)


def test_toml_round_trip_and_ir_attribute(tmp_path: Path) -> None:
    hw = Hardware.preset("prime")
    path = tmp_path / "chip.toml"
    path.write_text(hw.to_toml())
    assert Hardware.from_file(path) == hw
    assert Hardware.load(str(path)) == hw
    assert HardwareAttr.from_hardware(hw).hardware() == hw


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hw.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("arrays = 96", "arrays = 0"), "field 'arrays' = 0 is out of range [1, "),
        (("rows = 320", "rows = -4"), "field 'rows' = -4 is out of range"),
        (("cols = 320", 'cols = "wide"'), "field 'cols' must be an integer"),
        (("arrays = 96", "arrays = 96\ncolour = 1"), "unknown field 'colour'"),
        (("arrays = 96\n", ""), "missing field 'arrays'"),
        (
            ("cell_bits = 1", "cell_bits = 3"),
            "'weight_bits' (8) must be a multiple of 'cell_bits' (3)",
        ),
        (("arrays = 96", "arrays = [96"), "not valid TOML"),
    ],
)
def test_bad_files_name_file_and_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = Hardware.preset("dynaplasia").to_toml().replace(*edit, 1)
    path = _write(tmp_path, text)
    with pytest.raises(HardwareError) as err:
        Hardware.from_file(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_impossible_combination(tmp_path: Path) -> None:
    text = Hardware.preset("dynaplasia").to_toml().replace("cols = 320", "cols = 4")
    with pytest.raises(HardwareError, match="one weight must fit in an array row"):
        Hardware.from_file(_write(tmp_path, text))


def test_unknown_preset_and_missing_file() -> None:
    with pytest.raises(HardwareError, match="unknown hardware 'nosuch'"):
        Hardware.load("nosuch")
    with pytest.raises(HardwareError, match="cannot read hardware file"):
        Hardware.load("/nonexistent/chip.toml")
