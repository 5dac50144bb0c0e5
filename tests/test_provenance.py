"""The provenance block shared by every JSON report."""

from __future__ import annotations

import dataclasses

from cmswitch.hardware import Hardware
from cmswitch.provenance import hardware_digest, provenance


def test_digest_changes_with_every_field() -> None:
    hw = Hardware.preset("dynaplasia")
    base = hardware_digest(hw)
    assert base == hardware_digest(Hardware.preset("dynaplasia"))
    for key in Hardware.field_names():
        value = getattr(hw, key)
        other = dataclasses.replace(hw, **{key: value * 2})
        assert hardware_digest(other) != base, key


def test_block_fields() -> None:
    hw = Hardware.preset("prime")
    block = provenance(hw, argv=["cmswitch", "compile", "x"])
    assert block["argv"] == ["cmswitch", "compile", "x"]
    assert block["hardware"]["name"] == "prime"
    assert block["dependencies"]["xdsl"].startswith("0.74")
    assert "hardware" not in provenance(None, argv=[])
