"""Attributes of the `cim_meta` dialect: where a tensor lives
(``#cim_meta.place``) and which weight tile each array holds (``WeightTile``,
the regular tiling of an operator and its compact form
``#cim_meta.tiling``). The ops are in :mod:`cmswitch.dialects.cim_meta`,
which re-exports every name here."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import ArrayAttr, IntAttr
from xdsl.ir import Attribute, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from cmswitch.dialects.cim import MatmulShape
from cmswitch.hardware import Hardware

# --------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------


@irdl_attr_definition
class PlaceAttr(ParametrizedAttribute):
    """Where a run-time tensor lives, each part with its bytes.

    ``#cim_meta.place<arrays [3, 4] = 2048, buffer = 512, dram = 64>``: 2048
    bytes striped evenly over memory-mode arrays 3 and 4 (``ceil(2048 / 2)``
    each), 512 in the fixed buffer, 64 spilled to main memory. Parts with no
    bytes are omitted; at least one part is present. A read or write of a
    tile touches each part in proportion.
    """

    name = "cim_meta.place"

    arrays: ArrayAttr[IntAttr]
    array_bytes: IntAttr
    buffer_bytes: IntAttr
    dram_bytes: IntAttr

    def __init__(
        self,
        arrays: Sequence[int] = (),
        array_bytes: int = 0,
        buffer_bytes: int = 0,
        dram_bytes: int = 0,
    ):
        super().__init__(
            ArrayAttr([IntAttr(a) for a in arrays]),
            IntAttr(array_bytes),
            IntAttr(buffer_bytes),
            IntAttr(dram_bytes),
        )

    @staticmethod
    def dram(nbytes: int) -> PlaceAttr:
        return PlaceAttr(dram_bytes=nbytes)

    @property
    def array_ids(self) -> tuple[int, ...]:
        return tuple(a.data for a in self.arrays.data)

    @property
    def total_bytes(self) -> int:
        return self.array_bytes.data + self.buffer_bytes.data + self.dram_bytes.data

    @property
    def on_chip(self) -> bool:
        """True if no part is in main memory."""
        return self.dram_bytes.data == 0

    @property
    def in_dram(self) -> bool:
        """True if the whole tensor is in main memory."""
        return self.dram_bytes.data == self.total_bytes

    def bytes_per_array(self) -> int:
        """Bytes one of the memory arrays holds (the stripe, rounded up)."""
        n = len(self.arrays.data)
        return math.ceil(self.array_bytes.data / n) if n else 0

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        arrays: list[int] = []
        values = {"arrays": 0, "buffer": 0, "dram": 0}
        seen: set[str] = set()
        start = parser.pos
        with parser.in_angle_brackets():
            while True:
                key = parser.parse_identifier("place part (arrays, buffer or dram)")
                if key not in values or key in seen:
                    parser.raise_error(
                        f"#cim_meta.place: expected arrays, buffer or dram once each, got {key!r}",
                        start,
                        parser.pos,
                    )
                seen.add(key)
                if key == "arrays":
                    arrays = parser.parse_comma_separated_list(
                        parser.Delimiter.SQUARE,
                        lambda: parser.parse_integer(allow_negative=False),
                    )
                parser.parse_punctuation("=")
                values[key] = parser.parse_integer(allow_negative=False)
                if parser.parse_optional_punctuation(",") is None:
                    break
        return (
            ArrayAttr([IntAttr(a) for a in arrays]),
            IntAttr(values["arrays"]),
            IntAttr(values["buffer"]),
            IntAttr(values["dram"]),
        )

    def print_parameters(self, printer: Printer) -> None:
        parts = []
        if self.arrays.data or self.array_bytes.data:
            ids = ", ".join(str(a) for a in self.array_ids)
            parts.append(f"arrays [{ids}] = {self.array_bytes.data}")
        if self.buffer_bytes.data:
            parts.append(f"buffer = {self.buffer_bytes.data}")
        if self.dram_bytes.data or not parts:
            parts.append(f"dram = {self.dram_bytes.data}")
        printer.print_string("<" + ", ".join(parts) + ">")

    def verify(self) -> None:
        ids = self.array_ids
        if any(a < 0 for a in ids):
            raise VerifyException("#cim_meta.place: array ids must be >= 0")
        if len(set(ids)) != len(ids):
            raise VerifyException(f"#cim_meta.place: array ids {list(ids)} repeat")
        if min(self.array_bytes.data, self.buffer_bytes.data, self.dram_bytes.data) < 0:
            raise VerifyException("#cim_meta.place: bytes must be >= 0")
        if bool(ids) != bool(self.array_bytes.data):
            raise VerifyException(
                "#cim_meta.place: memory arrays need bytes and bytes need memory arrays"
            )


# --------------------------------------------------------------------------
# Weight tiles
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightTile:
    """The block of a weight one array holds: groups [g0, g1), rows
    [n0, n1) and columns [k0, k1) of each group's N x K matrix. Packed groups
    (g1 - g0 > 1) sit block-diagonally: the array uses (g1 - g0) * (n1 - n0)
    rows and (g1 - g0) * (k1 - k0) weight columns."""

    g0: int
    g1: int
    n0: int
    n1: int
    k0: int
    k1: int

    @property
    def rows(self) -> int:
        """Array rows written when programming the tile."""
        return (self.g1 - self.g0) * (self.n1 - self.n0)

    @property
    def cols(self) -> int:
        return (self.g1 - self.g0) * (self.k1 - self.k0)

    @property
    def elems(self) -> int:
        return (self.g1 - self.g0) * (self.n1 - self.n0) * (self.k1 - self.k0)

    def flat(self) -> tuple[int, ...]:
        return (self.g0, self.g1, self.n0, self.n1, self.k0, self.k1)


def weight_tiling(shape: MatmulShape, hw: Hardware) -> list[WeightTile]:
    """The tiles of one copy of an operator's N x K (x groups) matrices, one
    per array, in the order a ``compute``'s ``arrays`` list them
    (``hw.min_arrays`` of them): group-major, then row block, then column
    block; groups that fit one array are packed ``min(rows // N,
    weights_per_row // K)`` per array (see :meth:`Hardware.min_arrays`)."""
    return list(_tiling(shape.n, shape.k, shape.groups, hw.rows, hw.weights_per_row))


@functools.lru_cache(maxsize=1 << 12)
def _tiling(n: int, k: int, groups: int, rows: int, wpr: int) -> tuple[WeightTile, ...]:
    per_group = math.ceil(n / rows) * math.ceil(k / wpr)
    tiles: list[WeightTile] = []
    if per_group > 1:
        for g in range(groups):
            for n0 in range(0, n, rows):
                for k0 in range(0, k, wpr):
                    tiles.append(WeightTile(g, g + 1, n0, min(n, n0 + rows), k0, min(k, k0 + wpr)))
    else:
        per_array = min(rows // n, wpr // k)
        for g0 in range(0, groups, per_array):
            tiles.append(WeightTile(g0, min(groups, g0 + per_array), 0, n, 0, k))
    return tuple(tiles)


_TILING_KEYS = ("n", "k", "groups", "rows", "cols", "copies")


@irdl_attr_definition
class WeightTilingAttr(ParametrizedAttribute):
    """The regular tiling of an operator's weight, as a ``program`` lists it
    for its arrays: ``copies`` copies of ``_tiling(n, k, groups, rows,
    cols)`` (:func:`weight_tiling` on a chip with ``rows`` array rows and
    ``cols`` weights per row), copy-major.

    ``#cim_meta.tiling<n = 4096, k = 200, rows = 320, cols = 40>`` (``groups``
    and ``copies`` are printed when not 1) stands for the 65 tiles an explicit
    ``array<i64: g0, g1, n0, n1, k0, k1, ...>`` would list: six integers per
    array become six per operator, and an LLM's program shrinks by half."""

    name = "cim_meta.tiling"

    n: IntAttr
    k: IntAttr
    groups: IntAttr
    rows: IntAttr
    cols: IntAttr
    copies: IntAttr

    def __init__(self, n: int, k: int, groups: int, rows: int, cols: int, copies: int = 1):
        super().__init__(*(IntAttr(v) for v in (n, k, groups, rows, cols, copies)))

    @staticmethod
    def of(shape: MatmulShape, hw: Hardware, copies: int = 1) -> WeightTilingAttr:
        """The tiling :func:`weight_tiling` gives `shape` on `hw`, `copies` times."""
        return WeightTilingAttr(shape.n, shape.k, shape.groups, hw.rows, hw.weights_per_row,
                                copies)  # fmt: skip

    def values(self) -> tuple[int, ...]:
        return tuple(p.data for p in (self.n, self.k, self.groups, self.rows, self.cols,
                                      self.copies))  # fmt: skip

    def tiles(self) -> tuple[WeightTile, ...]:
        """Every array's tile, in ``arrays`` order."""
        n, k, groups, rows, cols, copies = self.values()
        return _tiling(n, k, groups, rows, cols) * copies

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values = {"groups": 1, "copies": 1}
        seen: set[str] = set()
        start = parser.pos
        with parser.in_angle_brackets():
            while True:
                key = parser.parse_identifier("tiling part (n, k, groups, rows, cols, copies)")
                if key not in _TILING_KEYS or key in seen:
                    parser.raise_error(
                        f"#cim_meta.tiling: expected n, k, groups, rows, cols, copies once "
                        f"each, got {key!r}",
                        start,
                        parser.pos,
                    )
                seen.add(key)
                parser.parse_punctuation("=")
                values[key] = parser.parse_integer(allow_negative=False)
                if parser.parse_optional_punctuation(",") is None:
                    break
        missing = [key for key in _TILING_KEYS if key not in values]
        if missing:
            parser.raise_error(f"#cim_meta.tiling: missing {', '.join(missing)}", start, parser.pos)
        return tuple(IntAttr(values[key]) for key in _TILING_KEYS)

    def print_parameters(self, printer: Printer) -> None:
        n, k, groups, rows, cols, copies = self.values()
        parts = [f"n = {n}", f"k = {k}"]
        if groups != 1:
            parts.append(f"groups = {groups}")
        parts += [f"rows = {rows}", f"cols = {cols}"]
        if copies != 1:
            parts.append(f"copies = {copies}")
        printer.print_string("<" + ", ".join(parts) + ">")

    def verify(self) -> None:
        for key, value in zip(_TILING_KEYS, self.values(), strict=True):
            if value < 1:
                raise VerifyException(f"#cim_meta.tiling: {key} must be >= 1, got {value}")


def tiles_of(attr: Attribute) -> tuple[WeightTile, ...]:
    """The tiles a ``program``'s ``tiles`` property lists, either form."""
    if isinstance(attr, WeightTilingAttr):
        return attr.tiles()
    flat = attr.get_values()  # type: ignore[attr-defined]
    return tuple(WeightTile(*flat[i : i + 6]) for i in range(0, len(flat), 6))
