"""The hardware description of a dual-mode CIM chip (the paper's DEHA).

One source of truth for every hardware constant: the compiler's cost model, the
passes, the IR attribute ``#cim.hardware<...>`` and (later) the simulator all
read a :class:`Hardware`. Its fields are what a person writes in a TOML file;
everything that can be derived from them (compute rate per array, memory rate
per array, array bytes, minimum arrays of a weight matrix) is a property here
and nowhere else.

Hardware files are flat TOML tables (see ``cmswitch/arch/*.toml``)::

    name = "dynaplasia"
    arrays = 96
    rows = 320
    ...

Loading is strict: an unknown key, a missing field, a value of the wrong type or
out of range, or an impossible combination raises :class:`HardwareError` whose
message names the file, the field and the allowed range.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any


class HardwareError(ValueError):
    """A hardware file or description is invalid. The message is user-facing."""


@dataclass(frozen=True)
class _Field:
    """Schema of one hardware field: its type, range and meaning."""

    kind: type
    low: float
    high: float
    doc: str


# The schema, in file order. `low`/`high` are inclusive bounds.
_SCHEMA: dict[str, _Field] = {
    "arrays": _Field(int, 1, 1 << 20, "number of dual-mode switchable arrays (N_cim)"),
    "rows": _Field(int, 1, 1 << 16, "cells per array column (wordlines)"),
    "cols": _Field(int, 1, 1 << 16, "cells per array row (bitlines)"),
    "cell_bits": _Field(int, 1, 8, "bits stored per cell"),
    "weight_bits": _Field(int, 1, 32, "weight precision in bits"),
    "act_bits": _Field(int, 1, 32, "activation precision in bits"),
    "buffer_bytes": _Field(int, 0, 1 << 40, "non-switchable on-chip buffer, bytes"),
    "internal_bw_bits": _Field(int, 0, 1 << 20, "bits per cycle between buffer and arrays"),
    "external_bw_bytes": _Field(int, 1, 1 << 20, "bytes per cycle from main memory"),
    "switch_c2m_cycles": _Field(int, 0, 1 << 30, "cycles to switch one array compute -> memory"),
    "switch_m2c_cycles": _Field(int, 0, 1 << 30, "cycles to switch one array memory -> compute"),
    "write_cycles_per_row": _Field(int, 1, 1 << 30, "cycles to program one array row with weights"),
    "vector_elems_per_cycle": _Field(int, 1, 1 << 20, "vector-unit elements per cycle"),
    "clock_hz": _Field(float, 1e3, 1e12, "clock, only used to print seconds"),
}


@dataclass(frozen=True)
class Hardware:
    """A dual-mode CIM chip. All latencies are in cycles, rates per cycle."""

    name: str
    arrays: int
    rows: int
    cols: int
    cell_bits: int
    weight_bits: int
    act_bits: int
    buffer_bytes: int
    internal_bw_bits: int
    external_bw_bytes: int
    switch_c2m_cycles: int
    switch_m2c_cycles: int
    write_cycles_per_row: int
    vector_elems_per_cycle: int
    clock_hz: float

    def __post_init__(self) -> None:
        self._validate("<hardware>")

    # ----------------------------------------------------------------- loading
    @staticmethod
    def field_names() -> tuple[str, ...]:
        """The numeric fields, in file order (``name`` excluded)."""
        return tuple(_SCHEMA)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<hardware>") -> Hardware:
        """Build from a parsed TOML table, with strict validation."""
        unknown = sorted(set(data) - set(_SCHEMA) - {"name"})
        if unknown:
            raise HardwareError(
                f"{source}: unknown field {unknown[0]!r}; allowed fields: name, "
                + ", ".join(_SCHEMA)
            )
        missing = [k for k in ("name", *_SCHEMA) if k not in data]
        if missing:
            raise HardwareError(f"{source}: missing field {missing[0]!r} ({_doc(missing[0])})")
        name = data["name"]
        if not isinstance(name, str) or not name:
            raise HardwareError(f"{source}: field 'name' must be a non-empty string")
        values: dict[str, Any] = {"name": name}
        for key, spec in _SCHEMA.items():
            values[key] = _check_value(source, key, data[key], spec)
        hw = object.__new__(cls)
        for key, value in values.items():
            object.__setattr__(hw, key, value)
        hw._validate(source)
        return hw

    @classmethod
    def from_file(cls, path: str | Path) -> Hardware:
        """Load a TOML hardware file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise HardwareError(f"{path}: cannot read hardware file: {err.strerror}") from None
        except UnicodeDecodeError as err:
            raise HardwareError(
                f"{path}: not a TOML file: not UTF-8 text (byte {err.start})"
            ) from None
        return cls.from_toml(text, str(path))

    @classmethod
    def from_toml(cls, text: str, source: str) -> Hardware:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise HardwareError(f"{source}: not valid TOML: {err}") from None
        return cls.from_dict(data, source)

    @classmethod
    def preset(cls, name: str) -> Hardware:
        """A preset shipped with the package (``dynaplasia``, ``prime``)."""
        if name not in preset_names():
            raise HardwareError(
                f"unknown hardware preset {name!r}; presets: {', '.join(preset_names())}"
            )
        ref = resources.files("cmswitch.arch").joinpath(f"{name}.toml")
        return cls.from_toml(ref.read_text(), f"preset {name} ({name}.toml)")

    @classmethod
    def load(cls, spec: str) -> Hardware:
        """A preset name or a path to a TOML file."""
        if spec in preset_names():
            return cls.preset(spec)
        if spec.endswith(".toml") or Path(spec).exists():
            return cls.from_file(spec)
        raise HardwareError(
            f"unknown hardware {spec!r}: not a preset ({', '.join(preset_names())}) "
            "nor an existing .toml file"
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_toml(self) -> str:
        lines = [f'name = "{self.name}"']
        for key in _SCHEMA:
            lines.append(f"{key} = {getattr(self, key)!r}")
        return "\n".join(lines) + "\n"

    def _validate(self, source: str) -> None:
        for key, spec in _SCHEMA.items():
            _check_value(source, key, getattr(self, key), spec)
        if self.weight_bits % self.cell_bits != 0:
            raise HardwareError(
                f"{source}: field 'weight_bits' ({self.weight_bits}) must be a multiple of "
                f"'cell_bits' ({self.cell_bits}): a weight occupies whole cells"
            )
        if self.cols < self.cells_per_weight:
            raise HardwareError(
                f"{source}: field 'cols' ({self.cols}) must be at least weight_bits / cell_bits "
                f"= {self.cells_per_weight}: one weight must fit in an array row"
            )
        if (self.rows * self.cols * self.cell_bits) % 8 != 0:
            raise HardwareError(
                f"{source}: rows * cols * cell_bits must be a whole number of bytes"
            )

    # ----------------------------------------------------------- derived rates
    @cached_property
    def cells_per_weight(self) -> int:
        return self.weight_bits // self.cell_bits

    @cached_property
    def weights_per_row(self) -> int:
        """Weights (output columns) one array row holds."""
        return self.cols // self.cells_per_weight

    @cached_property
    def array_bytes(self) -> int:
        """Capacity of one array in memory mode."""
        return self.rows * self.cols * self.cell_bits // 8

    @cached_property
    def op_cim(self) -> float:
        """MACs per cycle of one compute-mode array: all rows x weight columns
        in parallel, inputs fed bit-serially (one activation bit per cycle)."""
        return self.rows * self.weights_per_row / self.act_bits

    @cached_property
    def d_cim(self) -> float:
        """Bytes per cycle one memory-mode array delivers: one row per cycle."""
        return self.cols * self.cell_bits / 8

    @cached_property
    def d_main(self) -> float:
        """Bytes per cycle from main memory plus the fixed buffer."""
        return self.external_bw_bytes + self.internal_bw_bits / 8

    @cached_property
    def write_cycles_per_array(self) -> int:
        """Cycles to program one array with weights (row by row)."""
        return self.rows * self.write_cycles_per_row

    @cached_property
    def act_bytes(self) -> float:
        return self.act_bits / 8

    @cached_property
    def weight_bytes(self) -> float:
        return self.weight_bits / 8

    def seconds(self, cycles: float) -> float:
        return cycles / self.clock_hz

    def min_arrays(self, n: int, k: int, groups: int = 1) -> int:
        """Minimum compute arrays to hold `groups` independent N x K weight
        matrices.

        One matrix takes ceil(N / rows) x ceil(K / weights_per_row) arrays.
        Matrices that fit one array (grouped / depthwise convolution kernels,
        per-head attention operands) are packed block-diagonally: groups share
        neither rows (each group reads its own inputs) nor columns (each
        produces its own outputs), so an array holds
        min(floor(rows / N), floor(weights_per_row / K)) groups. Larger
        matrices get whole arrays per group.
        """
        if n <= 0 or k <= 0 or groups <= 0:
            raise ValueError(f"min_arrays needs positive sizes, got n={n} k={k} groups={groups}")
        per_group = math.ceil(n / self.rows) * math.ceil(k / self.weights_per_row)
        if per_group > 1:
            return groups * per_group
        per_array = min(self.rows // n, self.weights_per_row // k)
        return math.ceil(groups / per_array)


def preset_names() -> tuple[str, ...]:
    names = [
        p.name.removesuffix(".toml")
        for p in resources.files("cmswitch.arch").iterdir()
        if p.name.endswith(".toml")
    ]
    return tuple(sorted(names))


def _doc(key: str) -> str:
    return _SCHEMA[key].doc if key in _SCHEMA else "chip name"


def _check_value(source: str, key: str, value: Any, spec: _Field) -> int | float:
    if spec.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        raise HardwareError(
            f"{source}: field {key!r} must be {'an integer' if spec.kind is int else 'a number'}"
            f", got {value!r} ({spec.doc})"
        )
    if not spec.low <= value <= spec.high:
        low = int(spec.low) if spec.kind is int else spec.low
        high = int(spec.high) if spec.kind is int else spec.high
        raise HardwareError(
            f"{source}: field {key!r} = {value!r} is out of range [{low}, {high}] ({spec.doc})"
        )
    return spec.kind(value)
