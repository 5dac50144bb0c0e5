"""Tiles: how a run-time tensor is cut into pipeline units, and which
producer tiles a consumer tile needs.

The pipeline unit is a band of *rows* (``docs/DESIGN.md``, "Tiles"):

* a feature map ``[B, C, H, W]`` (a *spatial* tensor: an image input, a
  convolution's output and what vector ops make of it) has ``B * H`` rows,
  each holding all channels and columns of one output row;
* any other tensor has ``numel / last_dim`` rows (tokens; a row of ``M`` is
  always whole).

A consumer tile needs the same rows of a row-wise producer with the same row
count; a convolution needs its receptive field (kernel rows, stride,
padding, dilation: the halo); anything else (a flatten, a transpose, a
reduction, attention's operands) needs the whole producer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cmswitch.dialects.cim import numel


@dataclass(frozen=True)
class TileOptions:
    """The simulation granularity. ``tile_rows`` fixes the rows per tile;
    otherwise every tensor is cut into about ``tiles`` tiles."""

    tiles: int = 16
    tile_rows: int | None = None

    def rows_per_tile(self, rows: int) -> int:
        """Rows per tile of a tensor of ``rows`` rows. (The copies of a
        duplicated operator share every tile's rows, dealt by row, so the
        work split does not depend on the tile size.)"""
        if self.tile_rows is not None:
            return max(1, min(self.tile_rows, rows))
        return max(1, math.ceil(rows / max(1, self.tiles)))


def row_count(shape: Sequence[int], spatial: bool) -> int:
    """Rows of a tensor (see the module docstring)."""
    if spatial and len(shape) == 4:
        return shape[0] * shape[2]
    if len(shape) <= 1:
        return 1
    return max(1, numel(shape) // max(1, shape[-1]))


@dataclass
class TensorTiles:
    """A run-time tensor as the timing simulation sees it: who wrote each tile."""

    rows: int
    rows_per_tile: int
    spatial: bool
    rowwise: bool = True
    """False: consumers need every tile (rows are not in tile order)."""
    writers: list[list[int]] = field(default_factory=list)
    """Per tile: the task indices that write it (empty: present from the start)."""

    @property
    def count(self) -> int:
        return math.ceil(self.rows / self.rows_per_tile)

    _all: list[int] | None = field(default=None, repr=False, compare=False)

    def all_writers(self) -> list[int]:
        """Every writing task (cached: a tensor is written before it is read;
        :meth:`wrote` forgets the cache)."""
        if self._all is None:
            self._all = [t for tile in self.writers for t in tile]
        return self._all

    def wrote(self, tile: int, task: int) -> None:
        """Records that `task` writes `tile`."""
        self.writers[tile].append(task)
        self._all = None

    def writers_of_rows(self, lo: int, hi: int) -> list[int]:
        """Tasks writing rows [lo, hi] (inclusive, clipped)."""
        if not self.writers:
            return []
        lo = max(0, lo)
        hi = min(self.rows - 1, hi)
        if hi < lo:
            return []
        out: list[int] = []
        for tile in range(lo // self.rows_per_tile, hi // self.rows_per_tile + 1):
            if tile < len(self.writers):
                out.extend(self.writers[tile])
        return out

    def needs(self, consumer_rows: int, lo: int, hi: int) -> list[int]:
        """Tasks a consumer tile of rows [lo, hi] (of `consumer_rows`) waits for."""
        if self.rowwise and consumer_rows == self.rows:
            return self.writers_of_rows(lo, hi)
        return self.all_writers()


def conv_input_rows(
    lo: int,
    hi: int,
    out_h: int,
    in_h: int,
    kernel_h: int,
    stride_h: int,
    pad_top: int,
    dilation_h: int,
) -> tuple[int, int]:
    """Input rows (flattened over batch, inclusive) that output rows [lo, hi]
    (flattened over batch) read: the receptive field, the halo included."""
    b_lo, oh_lo = divmod(lo, out_h)
    b_hi, oh_hi = divmod(hi, out_h)
    first = min(max(oh_lo * stride_h - pad_top, 0), in_h - 1)
    last = min(max(oh_hi * stride_h - pad_top + (kernel_h - 1) * dilation_h, 0), in_h - 1)
    return b_lo * in_h + first, b_hi * in_h + last
