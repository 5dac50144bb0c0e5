"""The `cim_meta` dialect: the paper's meta-operator program (spec section 6).

A `cim_meta` program is what ``cim-to-meta`` makes of a segmented, allocated
`cim` function once ``cim-assign-arrays`` has given every role a physical
array: a ``func.func`` whose body holds the compile-time values (``cim.constant``
and the weight slices ``cim-split`` made) followed by one
``cim_meta.segment`` per segment, in program order. The chip model it is
executed against is ``docs/DESIGN.md``, "Chip execution model"; the
hardware is the module's ``#cim.hardware`` attribute.

SSA values carry the tensors (functional execution needs no side channel);
every op names the physical resources it uses, computed by the lowering from
shapes and placements, never from a cost model. Bytes are on-chip bytes
(``act_bits`` / ``weight_bits`` per element, see :func:`tensor_bytes`).

**Places.** A run-time tensor lives at a *place*, ``#cim_meta.place<...>``:
main memory (``dram``), the fixed ``buffer``, or memory-mode arrays (striped
evenly), or split between them, each part with its bytes::

    #cim_meta.place<arrays [3, 4] = 2048, buffer = 512, dram = 64>

The place of a value is the ``place`` of the op that produced it (function
arguments are in ``dram``; a segment result is where its yielded value is):
see :func:`place_of`. An op reads its operands from their places.

**Ops** (resources each uses, for the timing simulator):

* ``cim_meta.segment`` -- one parallel block per segment: its ops run
  concurrently, ordered only by the dependencies below.
* ``cim_meta.switch`` -- arrays to ``#cim<mode compute>`` / ``memory``.
* ``cim_meta.program`` -- writes weight tiles into compute-mode arrays.
* ``cim_meta.load`` / ``store`` / ``move`` -- data movement dram -> chip,
  chip -> dram (write-back, spills, outputs), chip -> chip.
* ``cim_meta.compute`` -- a multiply on compute arrays.
* ``cim_meta.vector`` -- vector-unit work, wrapping the `cim` vector op.

**Dependencies** (explicit in the program, nothing else orders ops):

1. *data*: an op reads its operands after their producers wrote them
   (tile-wise where the execution model allows);
2. *arrays*: ops naming the same physical array (in ``arrays`` or in a
   place) use it in program order: a ``switch`` or ``program`` of an array
   waits until every earlier use of it finished; a ``compute`` waits for the
   ``program`` of its arrays; a write into memory arrays waits for the
   ``switch`` that made them memory.

**Initial state.** Every array starts in compute mode, holding nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import cast

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, Dialect, Operation, Region, SSAValue
from xdsl.irdl import (
    BaseAttr,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from cmswitch.dialects import cim
from cmswitch.dialects.cim import (
    HardwareAttr,
    MatmulShape,
    Mode,
    ModeAttr,
    i64_array,
    i64_attr,
    ints,
    numel,
    shape_of,
)
from cmswitch.dialects.cim_meta_attrs import (
    PlaceAttr,
    WeightTile,
    WeightTilingAttr,
    _tiling,  # noqa: F401 -- re-exported for tests and the lowering
    tiles_of,
    weight_tiling,
)
from cmswitch.hardware import Hardware

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def module_hw(op: Operation) -> Hardware | None:
    """The hardware of the module enclosing `op`, if it has one."""
    parent: Operation | None = op
    while parent is not None and not isinstance(parent, ModuleOp):
        parent = parent.parent_op()
    if parent is None:
        return None
    attr = parent.attributes.get("cim.hardware")
    return attr.hardware() if isinstance(attr, HardwareAttr) else None


def tensor_bytes(shape: Sequence[int], hw: Hardware) -> int:
    """On-chip bytes of a run-time tensor: ``act_bits`` per element."""
    return math.ceil(numel(shape) * hw.act_bits / 8)


def weight_tile_bytes(tiles: Sequence[WeightTile], hw: Hardware) -> int:
    """Bytes of weight tiles at ``weight_bits`` per element."""
    return math.ceil(sum(t.elems for t in tiles) * hw.weight_bits / 8)


def program_bytes(tiles: Sequence[WeightTile], has_bias: bool, hw: Hardware) -> int:
    """Bytes a ``program`` of `tiles` moves: the weights at ``weight_bits``,
    plus, with a bias, the bias of every tile holding row block 0 (``n0 ==
    0``) at ``act_bits``."""
    total = weight_tile_bytes(tiles, hw)
    if has_bias:
        total += math.ceil(sum(t.cols for t in tiles if t.n0 == 0) * hw.act_bits / 8)
    return total


def place_of(value: SSAValue) -> PlaceAttr | None:
    """Where `value` lives: its producer's ``place``, the yielded value's for a
    segment result, ``dram`` (all bytes unknown: None) for a function argument.
    None also for compile-time values (constants, weight slices)."""
    owner = value.owner
    while isinstance(owner, SegmentOp):
        value = owner.body.block.last_op.operands[cast(int, value.index)]  # type: ignore[union-attr,attr-defined]
        owner = value.owner
    if isinstance(owner, Block):
        return None
    place = owner.properties.get("place")
    return place if isinstance(place, PlaceAttr) else None


def reads_from_dram(value: SSAValue) -> bool:
    """True if `value` is (wholly or partly) in main memory: a function
    argument, or a value whose place has a ``dram`` part."""
    place = place_of(value)
    if place is None:
        owner = value.owner
        while isinstance(owner, SegmentOp):
            value = owner.body.block.last_op.operands[cast(int, value.index)]  # type: ignore[union-attr,attr-defined]
            owner = value.owner
        return isinstance(owner, Block)
    return place.dram_bytes.data > 0


def _check_arrays(op: str, ids: Sequence[int]) -> None:
    if not ids:
        raise VerifyException(f"{op}: needs at least one array")
    if any(a < 0 for a in ids):
        raise VerifyException(f"{op}: array ids must be >= 0, got {list(ids)}")
    if len(set(ids)) != len(ids):
        raise VerifyException(f"{op}: array ids {list(ids)} repeat")


def _check_place_bytes(op: Operation, place: PlaceAttr, shape: Sequence[int]) -> None:
    hw = module_hw(op)
    if hw is None:
        return
    want = tensor_bytes(shape, hw)
    if place.total_bytes != want:
        raise VerifyException(
            f"{op.name}: place holds {place.total_bytes} bytes, the tensor {list(shape)} has "
            f"{want} (act_bits = {hw.act_bits})"
        )


def op_label(op: Operation) -> str:
    """The op's ``label`` property or attribute ('' if none)."""
    attr = op.properties.get("label") or op.attributes.get("label")
    return attr.data if isinstance(attr, StringAttr) else ""


# --------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """One segment: a parallel block whose ops run concurrently, ordered only
    by data and per-array program order (see the module docstring).
    Segments follow each other in program order but are not barriers.

    Resources: none of its own; ``index`` is the ``cim.segment`` index. The
    region reads values defined before it and yields those used after it.
    """

    name = "cim_meta.segment"

    index = prop_def(IntegerAttr)
    outs = var_result_def()
    body = region_def("single_block")

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict (`->` type($outs)^)? $body"

    def __init__(self, index: int, body: Region, result_types: Sequence[Attribute]):
        super().__init__(
            result_types=[result_types], properties={"index": i64_attr(index)}, regions=[body]
        )

    def verify_(self) -> None:
        last = self.body.block.last_op
        if not isinstance(last, YieldOp):
            raise VerifyException("cim_meta.segment: the body must end with cim_meta.yield")
        if [v.type for v in last.values] != [r.type for r in self.outs]:
            raise VerifyException(
                "cim_meta.segment: cim_meta.yield operand types must match the segment's results"
            )
        if self.index.value.data < 0:
            raise VerifyException("cim_meta.segment: index must be >= 0")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a ``cim_meta.segment`` or ``cim_meta.vector`` body."""

    name = "cim_meta.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])


# --------------------------------------------------------------------------
# Arrays: mode and weights
# --------------------------------------------------------------------------


@irdl_op_definition
class SwitchOp(IRDLOperation):
    """``cim_meta.switch {arrays = array<i64: 3, 4>, mode = #cim<mode memory>}``:
    the paper's ``CM.switch``.

    Resources: each listed array, ``switch_c2m_cycles`` (to memory) or
    ``switch_m2c_cycles`` (to compute) once it is free. Switching an array
    already in `mode` is a verification error of the simulator (the lowering
    never emits it). Contents survive a switch (SRAM cells keep their data):
    that is what lets attention's K, stored in memory mode, be used in place
    as a weight (``cim_meta.program ... in_place``).
    """

    name = "cim_meta.switch"

    arrays = prop_def(DenseArrayBase.constr(i64))
    mode = prop_def(ModeAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict"

    def __init__(self, arrays: Sequence[int], mode: Mode):
        super().__init__(properties={"arrays": i64_array(arrays), "mode": ModeAttr(mode)})

    @property
    def array_ids(self) -> tuple[int, ...]:
        return ints(self.arrays)

    @property
    def target(self) -> Mode:
        return self.mode.data

    def verify_(self) -> None:
        _check_arrays(self.name, self.array_ids)


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """Writes weight tiles into compute-mode arrays:
    ``cim_meta.program %w, %b {label = "fc", arrays = array<i64: 5, 6>,
    tiles = #cim_meta.tiling<n = N, k = K, rows = R, cols = C>, bytes = B}``.

    `weight` is the operator's N x K operand as the `cim` op had it: a
    compile-time weight (``cim.constant`` / a slice of one; conv2d OIHW,
    linear [N, K]) or, for ``cim.matmul``, the run-time right operand
    ([..., N, K], read from its place). `bias` (optional, [K * groups]) is
    held in the output periphery of the arrays holding row block 0 of a
    column range. `tiles` gives one :class:`WeightTile` per array, in
    `arrays` order: either the regular tiling, ``#cim_meta.tiling<...>``
    (what the lowering writes, see :class:`WeightTilingAttr`), or any list,
    ``array<i64: g0, g1, n0, n1, k0, k1, ...>`` (6 integers per array);
    `label` names the ``compute`` the tiles are for (the simulator checks a
    compute uses its own tiles).

    Resources: each array's write port, ``tile.rows * write_cycles_per_row``
    cycles (one row per ``write_cycles_per_row``), starting when the array
    is free; `bytes` (weights at ``weight_bits``, plus bias at ``act_bits``)
    cross the external channel for a compile-time weight, or come from the
    operand's place for a run-time one. `in_place`: the operand already sits
    in these arrays (attention's K, written in memory mode and switched to
    compute); nothing moves and nothing is written (bytes = 0).
    """

    name = "cim_meta.program"

    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    label = prop_def(StringAttr)
    arrays = prop_def(DenseArrayBase.constr(i64))
    tiles = prop_def(DenseArrayBase.constr(i64) | BaseAttr(WeightTilingAttr))
    bytes = prop_def(IntegerAttr)
    in_place = opt_prop_def(IntegerAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$weight (`,` $bias^)? attr-dict `:` type($weight) (`,` type($bias)^)?"

    def __init__(
        self,
        weight: SSAValue,
        bias: SSAValue | None,
        label: str,
        arrays: Sequence[int],
        tiles: Sequence[WeightTile] | WeightTilingAttr,
        nbytes: int,
        in_place: bool = False,
    ):
        props: dict[str, Attribute] = {
            "label": StringAttr(label),
            "arrays": i64_array(arrays),
            "tiles": tiles
            if isinstance(tiles, WeightTilingAttr)
            else i64_array([x for t in tiles for x in t.flat()]),
            "bytes": i64_attr(nbytes),
        }
        if in_place:
            props["in_place"] = i64_attr(1)
        super().__init__(operands=[weight, bias], properties=props)

    @property
    def array_ids(self) -> tuple[int, ...]:
        return ints(self.arrays)

    @property
    def is_in_place(self) -> bool:
        return self.in_place is not None and self.in_place.value.data != 0

    def weight_tiles(self) -> Sequence[WeightTile]:
        return tiles_of(self.tiles)

    @property
    def nbytes(self) -> int:
        return self.bytes.value.data

    def verify_(self) -> None:
        ids = self.array_ids
        _check_arrays(self.name, ids)
        tiles = self.tiles
        regular = isinstance(tiles, WeightTilingAttr)
        if isinstance(tiles, WeightTilingAttr):
            count = len(tiles.tiles())
            if count != len(ids):
                raise VerifyException(
                    f"cim_meta.program {self.label.data!r}: the tiling has {count} tiles "
                    f"for {len(ids)} arrays"
                )
        elif len(flat := ints(tiles)) != 6 * len(ids):
            raise VerifyException(
                f"cim_meta.program {self.label.data!r}: tiles must hold 6 integers "
                f"(g0, g1, n0, n1, k0, k1) per array: {len(ids)} arrays, {len(flat)} integers"
            )
        for t in () if regular else self.weight_tiles():
            if not (0 <= t.g0 < t.g1 and 0 <= t.n0 < t.n1 and 0 <= t.k0 < t.k1):
                raise VerifyException(
                    f"cim_meta.program {self.label.data!r}: empty or negative tile {list(t.flat())}"
                )
        if self.nbytes < 0:
            raise VerifyException(f"cim_meta.program {self.label.data!r}: bytes must be >= 0")
        if self.is_in_place and self.nbytes:
            raise VerifyException(
                f"cim_meta.program {self.label.data!r}: an in-place program moves no bytes"
            )
        hw = module_hw(self)
        if hw is not None:
            for a, t in zip(ids, self.weight_tiles(), strict=True):  # cheap: tiles are cached
                if t.rows > hw.rows or t.cols > hw.weights_per_row:
                    raise VerifyException(
                        f"cim_meta.program {self.label.data!r}: the tile for array {a} needs "
                        f"{t.rows} rows x {t.cols} weights, an array has {hw.rows} x "
                        f"{hw.weights_per_row}"
                    )


# --------------------------------------------------------------------------
# Data movement
# --------------------------------------------------------------------------


class MovementOp(IRDLOperation):
    """A copy of a tensor from its place to `place` (a new SSA value)."""

    input = operand_def(TensorType)
    output = result_def(TensorType)
    place = prop_def(PlaceAttr)
    bytes = prop_def(IntegerAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, place: PlaceAttr, nbytes: int):
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"place": place, "bytes": i64_attr(nbytes)},
        )

    @property
    def nbytes(self) -> int:
        return self.bytes.value.data

    def verify_(self) -> None:
        if self.input.type != self.output.type:
            raise VerifyException(f"{self.name}: result type must equal the input type")
        if self.nbytes < 0:
            raise VerifyException(f"{self.name}: bytes must be >= 0")
        _check_place_bytes(self, self.place, shape_of(self.output))
        self.check_places()

    def check_places(self) -> None: ...


@irdl_op_definition
class LoadOp(MovementOp):
    """``%y = cim_meta.load %x {place = #cim_meta.place<...>, bytes = B}``:
    main memory to the chip.

    Resources: the external channel (`bytes`, the tensor's whole size), the
    destination's ports (internal bus for the buffer part, the memory arrays'
    ports for the array part); `place` has no ``dram`` part.
    """

    name = "cim_meta.load"

    def check_places(self) -> None:
        if not self.place.on_chip:
            raise VerifyException("cim_meta.load: the destination must be on chip (no dram part)")


@irdl_op_definition
class StoreOp(MovementOp):
    """``%y = cim_meta.store %x {place = #cim_meta.place<dram = B>, bytes = B}``:
    chip to main memory (write-back of a tensor whose memory arrays are
    switched or reused, a function output).

    Resources: the source's ports and the external channel (`bytes`: the
    on-chip part of the source; a ``dram`` part does not move).
    """

    name = "cim_meta.store"

    def check_places(self) -> None:
        if not self.place.in_dram:
            raise VerifyException("cim_meta.store: the destination must be main memory (dram)")


@irdl_op_definition
class MoveOp(MovementOp):
    """``%y = cim_meta.move %x {place = ..., bytes = B}``: on chip to on chip
    (buffer <-> memory arrays, between memory arrays).

    Resources: source and destination ports and the internal bus for a
    buffer part; `bytes` is the tensor's size.
    """

    name = "cim_meta.move"

    def check_places(self) -> None:
        if not self.place.on_chip:
            raise VerifyException("cim_meta.move: the destination must be on chip (use store)")


# --------------------------------------------------------------------------
# Compute
# --------------------------------------------------------------------------


class ComputeKind(StrEnum):
    LINEAR = "linear"
    CONV2D = "conv2d"
    MATMUL = "matmul"


@irdl_op_definition
class ComputeOp(IRDLOperation):
    """A multiply on compute-mode arrays, the `cim` operator `label` lowered:
    ``%y = cim_meta.compute %x {label, kind, arrays, weight_shape, place,
    [strides, pads, dilations, group]} : tensor<...> -> tensor<...>``.

    `kind` is ``linear`` / ``conv2d`` / ``matmul`` with the `cim` op's
    semantics; `weight_shape` is the shape of its weight (linear [N, K],
    conv2d OIHW, matmul's right operand [..., N, K]); `has_bias` says the
    arrays' periphery adds the bias programmed with the tiles. The product
    uses the weight tiles its arrays hold: ``arrays`` lists ``copies``
    copies of :func:`weight_tiling` in order (copy-major), array ``i``
    holding tile ``i % T`` of copy ``i // T``, programmed by the ``program``
    labelled `label` (or `weights`, for weights kept from an earlier segment).
    Copies split the rows of M round-robin by tile.

    Resources: every listed array for ``act_bits`` cycles per row of M of
    its copy; the input read once per copy from its place
    (:func:`place_of`, ``N * groups * act_bytes`` per row of M); the output
    written once to `place` (``K * groups * act_bytes`` per row). For a
    convolution, a tile of output rows needs the input rows of its receptive
    field (kernel, stride, pads, dilations: the halo). Row-block partial sums
    are added in the arrays' periphery.
    """

    name = "cim_meta.compute"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    label = prop_def(StringAttr)
    kind = prop_def(StringAttr)
    arrays = prop_def(DenseArrayBase.constr(i64))
    weight_shape = prop_def(DenseArrayBase.constr(i64))
    place = prop_def(PlaceAttr)
    has_bias = opt_prop_def(IntegerAttr)
    weights = opt_prop_def(StringAttr)
    """Label of the ``program`` whose tiles the arrays hold, when it is not
    this op's own (weights kept from an earlier segment, not reprogrammed)."""
    strides = opt_prop_def(DenseArrayBase.constr(i64))
    pads = opt_prop_def(DenseArrayBase.constr(i64))
    dilations = opt_prop_def(DenseArrayBase.constr(i64))
    group = opt_prop_def(IntegerAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        label: str,
        kind: ComputeKind,
        arrays: Sequence[int],
        weight_shape: Sequence[int],
        place: PlaceAttr,
        has_bias: bool = False,
        conv: tuple[Sequence[int], Sequence[int], Sequence[int], int] | None = None,
        weights: str | None = None,
    ):
        props: dict[str, Attribute] = {
            "label": StringAttr(label),
            "kind": StringAttr(str(kind)),
            "arrays": i64_array(arrays),
            "weight_shape": i64_array(weight_shape),
            "place": place,
        }
        if has_bias:
            props["has_bias"] = i64_attr(1)
        if weights is not None:
            props["weights"] = StringAttr(weights)
        if conv is not None:
            strides, pads, dilations, group = conv
            props |= {
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "dilations": i64_array(dilations),
                "group": i64_attr(group),
            }
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    @property
    def array_ids(self) -> tuple[int, ...]:
        return ints(self.arrays)

    @property
    def weights_label(self) -> str:
        """The program label the arrays' tiles must carry."""
        return self.weights.data if self.weights is not None else self.label.data

    @property
    def compute_kind(self) -> ComputeKind:
        return ComputeKind(self.kind.data)

    @property
    def bias(self) -> bool:
        return self.has_bias is not None and self.has_bias.value.data != 0

    def conv_geometry(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        """(strides, pads (top, left, bottom, right), dilations, group)."""
        group = self.group.value.data if self.group is not None else 1
        return ints(self.strides), ints(self.pads), ints(self.dilations), group

    def infer_shape(self) -> tuple[int, ...]:
        x, w = shape_of(self.input), ints(self.weight_shape)
        kind = self.compute_kind
        if kind is ComputeKind.LINEAR:
            return cim.LinearOp.infer_shape(x, w)
        if kind is ComputeKind.CONV2D:
            strides, pads, dilations, group = self.conv_geometry()
            return cim.Conv2dOp.infer_shape(x, w, strides, pads, dilations, group)
        return cim.MatmulOp.infer_shape(x, w)

    def matmul_shape(self) -> MatmulShape:
        """The M x N x K (x groups) problem, as the `cim` op's."""
        x, w, out = shape_of(self.input), ints(self.weight_shape), shape_of(self.output)
        kind = self.compute_kind
        if kind is ComputeKind.LINEAR:
            return MatmulShape(m=numel(x[:-1]), n=w[0], k=w[1])
        if kind is ComputeKind.CONV2D:
            group = self.conv_geometry()[3]
            return MatmulShape(
                m=x[0] * out[2] * out[3], n=w[1] * w[2] * w[3], k=w[0] // group, groups=group
            )
        batch, groups = numel(out[:-2]), numel(w[:-2])
        return MatmulShape(
            m=x[-2] * (batch // groups), n=x[-1], k=w[-1], groups=groups, stationary=False
        )

    def tiles_per_copy(self, hw: Hardware) -> int:
        return len(weight_tiling(self.matmul_shape(), hw))

    def copies(self, hw: Hardware) -> int:
        return len(self.array_ids) // self.tiles_per_copy(hw)

    def verify_(self) -> None:
        _check_arrays(f"cim_meta.compute {self.label.data!r}", self.array_ids)
        if self.kind.data not in set(ComputeKind):
            raise VerifyException(
                f"cim_meta.compute {self.label.data!r}: kind must be linear, conv2d or matmul, "
                f"not {self.kind.data!r}"
            )
        conv = self.compute_kind is ComputeKind.CONV2D
        if conv != (self.strides is not None):
            raise VerifyException(
                f"cim_meta.compute {self.label.data!r}: strides, pads, dilations and group are "
                "given exactly for conv2d"
            )
        got = shape_of(self.output)
        want = self.infer_shape()
        if got != want:
            raise VerifyException(
                f"cim_meta.compute {self.label.data!r}: result shape {list(got)} does not match "
                f"the inferred {list(want)}"
            )
        _check_place_bytes(self, self.place, got)
        hw = module_hw(self)
        if hw is not None:
            per_copy = self.tiles_per_copy(hw)
            if len(self.array_ids) % per_copy:
                raise VerifyException(
                    f"cim_meta.compute {self.label.data!r}: {len(self.array_ids)} arrays are not "
                    f"a whole number of copies of its {per_copy}-array weight tiling"
                )


# --------------------------------------------------------------------------
# Vector unit
# --------------------------------------------------------------------------


@irdl_op_definition
class VectorOp(IRDLOperation):
    """Vector-unit work: one `cim` vector or layout op, wrapped.

    ``%y = cim_meta.vector %a, %b {place = ...} : (...) -> ... { ^bb0(%x, %z):
    %r = cim.elementwise add %x, %z ...; cim_meta.yield %r }``.
    The block arguments stand for the operands, read from their places.

    Resources: the vector unit for the wrapped op's ``vector_work()``
    elements (``vector_elems_per_cycle`` per cycle; a ``cim.reshape`` is
    free, a view whose `place` is its input's); operand parts in ``dram``
    cross the external channel; the result is written to `place`.
    """

    name = "cim_meta.vector"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    place = prop_def(PlaceAttr)
    body = region_def("single_block")

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "($inputs^)? attr-dict `:` `(` type($inputs) `)` `->` type($output) $body"

    def __init__(
        self, inputs: Sequence[SSAValue], body: Region, result_type: Attribute, place: PlaceAttr
    ):
        super().__init__(
            operands=[inputs], result_types=[result_type], properties={"place": place},
            regions=[body],
        )  # fmt: skip

    @property
    def inner(self) -> cim.VectorOp:
        """The wrapped `cim` op."""
        return cast(cim.VectorOp, self.body.block.first_op)

    def work(self) -> int:
        """Elements through the vector unit."""
        return self.inner.vector_work()

    def verify_(self) -> None:
        block = self.body.block
        ops = list(block.ops)
        if len(ops) != 2 or not isinstance(ops[0], cim.VectorOp) or not isinstance(ops[1], YieldOp):
            raise VerifyException(
                "cim_meta.vector: the body must hold exactly one cim vector op and cim_meta.yield"
            )
        if [a.type for a in block.args] != [v.type for v in self.inputs]:
            raise VerifyException("cim_meta.vector: block arguments must match the operands' types")
        if len(ops[1].operands) != 1 or ops[1].operands[0].type != self.output.type:
            raise VerifyException(
                "cim_meta.vector: the body must yield one value of the result's type"
            )
        for operand in ops[0].operands:
            if operand.owner is not block and not (
                isinstance(operand.owner, Operation) and cim.is_static_value(operand)
            ):
                raise VerifyException(
                    f"cim_meta.vector: {ops[0].name} may read only the block arguments and "
                    "compile-time values"
                )
        _check_place_bytes(self, self.place, shape_of(self.output))


# --------------------------------------------------------------------------
# Walking a program
# --------------------------------------------------------------------------


def array_uses(op: Operation) -> tuple[int, ...]:
    """Every physical array `op` uses, in any role (arrays, places written;
    operands' places are read uses, see :func:`read_arrays`)."""
    if isinstance(op, SwitchOp | ProgramOp | ComputeOp):
        ids = op.array_ids
        if isinstance(op, ComputeOp):
            ids = ids + op.place.array_ids
        return ids
    if isinstance(op, MovementOp | VectorOp):
        return op.place.array_ids
    return ()


def read_arrays(op: Operation) -> tuple[int, ...]:
    """Memory arrays `op` reads its run-time operands from."""
    out: list[int] = []
    for operand in op.operands:
        place = place_of(operand)
        if place is not None:
            out.extend(place.array_ids)
    return tuple(out)


def meta_ops(func: FuncOp) -> Iterator[tuple[int, Operation]]:
    """(segment index, op) for every meta op of `func` in program order."""
    for seg in func.body.block.ops:
        if isinstance(seg, SegmentOp):
            for op in seg.body.block.ops:
                if not isinstance(op, YieldOp):
                    yield seg.index.value.data, op


CIM_META_OPS: tuple[type[IRDLOperation], ...] = (
    SegmentOp,
    YieldOp,
    SwitchOp,
    ProgramOp,
    LoadOp,
    StoreOp,
    MoveOp,
    ComputeOp,
    VectorOp,
)

CIM_META = Dialect("cim_meta", list(CIM_META_OPS), [PlaceAttr, WeightTilingAttr])
