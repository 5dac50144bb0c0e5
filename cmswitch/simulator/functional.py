"""Functional simulation of a `cim_meta` program on NumPy.

Runs the program through the xDSL interpreter, one ``@impl`` per
``cim_meta`` op, with the chip's state on the implementation object
(:class:`ChipState`): every array's mode, the weight tile it holds (as
programmed: a copy of the block, with the program that wrote it) and the
tensors it stores in memory mode; the buffer's bytes. Vector work runs the
wrapped ``cim`` op with the reference executor's NumPy kernels
(:class:`~cmswitch.simulator.reference.CimReference`), so every vector op
the reference knows works here too.

A ``cim_meta.compute`` multiplies with the weight tiles its arrays hold,
never with the ``cim.constant``: array ``i`` of its list must hold tile
``i % T`` of the operator's tiling, and the product is assembled from what
the arrays hold (every copy must hold the same weights). Checked on every
op, each failure a :class:`SimulationError` naming the op:

* an array id beyond the chip's ``arrays``;
* an array in the wrong mode (compute arrays in compute mode; places and
  writes into memory arrays in memory mode; programming in compute mode);
* weights used before they were programmed, or after another program
  overwrote them;
* a read of data never stored or no longer there (its memory array was
  reprogrammed since);
* more bytes in a memory array or the buffer than it holds (capacity is
  taken when a tensor is written, given back after its last reader; an op's
  output may reuse the storage of operands it reads last);
* byte counts of data movement that do not match the places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    TerminatorValue,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation, SSAValue

from cmswitch.builder import io_names, module_hardware
from cmswitch.dialects import cim_meta as meta
from cmswitch.dialects.cim import Mode, shape_of
from cmswitch.hardware import Hardware
from cmswitch.simulator.errors import SimulationError
from cmswitch.simulator.reference import CimReference, ReferenceError, conv2d, np_dtype
from cmswitch.weights import WeightStore


@dataclass
class HeldTile:
    """A weight tile in a compute-mode array, as programmed."""

    label: str
    tile: meta.WeightTile
    block: np.ndarray
    """[g1 - g0, n1 - n0, k1 - k0] float32"""
    bias: np.ndarray | None
    """[g1 - g0, k1 - k0] for a tile of row block 0 with a bias"""
    program: Operation


@dataclass
class Storage:
    """A tensor written to a place."""

    value: SSAValue
    place: meta.PlaceAttr
    writer: Operation
    lost: str = ""
    """Why its on-chip part is gone ('' while it is there)."""


@dataclass
class ChipState:
    """The chip between ops: what the simulator checks against."""

    hw: Hardware
    mode: list[Mode] = field(default_factory=list)
    held: list[HeldTile | None] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    residents: list[set[int]] = field(default_factory=list)
    """ids of the storages with a stripe in each array"""
    used: list[int] = field(default_factory=list)
    buffer_used: int = 0

    def __post_init__(self) -> None:
        n = self.hw.arrays
        self.mode = [Mode.COMPUTE] * n
        self.held = [None] * n
        self.overwritten = [""] * n
        self.residents = [set() for _ in range(n)]
        self.used = [0] * n


def _resolve(value: SSAValue) -> SSAValue:
    while isinstance(value.owner, meta.SegmentOp):
        seg = value.owner
        value = seg.body.block.last_op.operands[value.index]  # type: ignore[union-attr,attr-defined]
    return value


def _f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def conv2d_fast(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    group: int,
) -> np.ndarray:
    """NCHW x OIHW convolution in float32 on BLAS: im2col + one matrix
    product for ``group == 1``, shifted multiply-adds for depthwise; other
    groupings use the reference kernel."""
    n, c, _, _ = x.shape
    o, ci, kh, kw = w.shape
    sh, sw = strides
    dh, dw = dilations
    xp = np.pad(_f32(x), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    w32 = _f32(w)
    if group == 1:
        if kh == kw == 1:
            cols = xp[:, :, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw]
            y = np.matmul(w32.reshape(o, c), cols.reshape(n, c, oh * ow))
        else:
            win = np.lib.stride_tricks.sliding_window_view(
                xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3)
            )[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :oh, :ow]  # n c oh ow kh kw
            cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, c * kh * kw)
            y = np.matmul(cols, w32.reshape(o, c * kh * kw).T).transpose(0, 2, 1)
        y = y.reshape(n, o, oh, ow)
    elif group == c == o and ci == 1:
        y = np.zeros((n, o, oh, ow), dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                tap = xp[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                         j * dw : j * dw + sw * (ow - 1) + 1 : sw]  # fmt: skip
                y += tap * w32[:, 0, i, j][None, :, None, None]
    else:
        return conv2d(x, w, b, strides, pads, dilations, group)
    if b is not None:
        y = y + _f32(b).reshape(1, o, 1, 1)
    return y


def weight_matrix(kind: meta.ComputeKind, w: np.ndarray, groups: int) -> np.ndarray:
    """An operator's weight as [groups, N, K] (what the arrays hold)."""
    if kind is meta.ComputeKind.LINEAR:
        return w[None]
    if kind is meta.ComputeKind.CONV2D:
        o = w.shape[0]
        return w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    return w.reshape(-1, w.shape[-2], w.shape[-1])


@register_impls
class MetaFunctions(InterpreterFunctions):
    """NumPy semantics of every ``cim_meta`` op, with the chip's checks."""

    def __init__(self, module: ModuleOp, hw: Hardware):
        self.hw = hw
        self.chip = ChipState(hw)
        self.storage: dict[SSAValue, Storage] = {}
        self.by_id: dict[int, Storage] = {}
        self.last_reader: dict[SSAValue, Operation | None] = {}
        self.kinds: dict[str, tuple[meta.ComputeKind, int]] = {}
        """compute label -> (kind, groups): how a program lays out its weight"""
        for op in module.walk():
            if isinstance(op, meta.ComputeOp):
                self.kinds[op.label.data] = (op.compute_kind, op.conv_geometry()[3])
        for func in module.ops:
            if isinstance(func, FuncOp):
                self._liveness(func)

    # ------------------------------------------------------------ liveness
    def _liveness(self, func: FuncOp) -> None:
        for seg in func.body.block.ops:
            if not isinstance(seg, meta.SegmentOp):
                continue
            for op in seg.body.block.ops:
                if isinstance(op, meta.YieldOp):
                    continue
                for v in op.operands:
                    self.last_reader[_resolve(v)] = op
        # a value returned keeps its storage to the end
        for func_op in func.body.block.ops:
            if isinstance(func_op, ReturnOp):
                for v in func_op.operands:
                    self.last_reader[_resolve(v)] = None

    # ------------------------------------------------------------ checks
    def _exists(self, op: Operation, ids: Sequence[int]) -> None:
        bad = [a for a in ids if a >= self.hw.arrays]
        if bad:
            raise SimulationError(
                op, f"array {bad[0]} does not exist: the chip has {self.hw.arrays} arrays "
                f"(0..{self.hw.arrays - 1})"
            )  # fmt: skip

    def _in_mode(self, op: Operation, ids: Sequence[int], mode: Mode, what: str) -> None:
        self._exists(op, ids)
        wrong = [a for a in ids if self.chip.mode[a] is not mode]
        if wrong:
            other = "memory" if mode is Mode.COMPUTE else "compute"
            raise SimulationError(
                op, f"arrays {wrong} are in {other} mode ({what} needs {mode} mode)"
            )

    def _read(self, op: Operation, value: SSAValue) -> None:
        """Checks that `value`'s data is where its place says."""
        v = _resolve(value)
        store = self.storage.get(v)
        if store is None:
            if isinstance(v.owner, Operation) and "place" in v.owner.properties:
                raise SimulationError(op, f"reads {v} which was never stored")
            return  # a function argument or a compile-time value: in dram
        if store.lost:
            raise SimulationError(op, f"reads data that is no longer stored: {store.lost}")
        ids = store.place.array_ids
        if ids:
            self._in_mode(op, ids, Mode.MEMORY, "reading a memory place")

    def _write(self, op: Operation, value: SSAValue, place: meta.PlaceAttr) -> None:
        """Takes capacity for `value` at `place`."""
        ids = place.array_ids
        if ids:
            self._in_mode(op, ids, Mode.MEMORY, "writing a memory place")
        stripe = place.bytes_per_array()
        for a in ids:
            if self.chip.used[a] + stripe > self.hw.array_bytes:
                raise SimulationError(
                    op, f"array {a} would hold {self.chip.used[a] + stripe} bytes, "
                    f"capacity {self.hw.array_bytes} ({self.chip.used[a]} in use)"
                )  # fmt: skip
        if self.chip.buffer_used + place.buffer_bytes.data > self.hw.buffer_bytes:
            raise SimulationError(
                op, f"the buffer would hold {self.chip.buffer_used + place.buffer_bytes.data} "
                f"bytes, capacity {self.hw.buffer_bytes} ({self.chip.buffer_used} in use)"
            )  # fmt: skip
        store = Storage(value, place, op)
        for a in ids:
            self.chip.used[a] += stripe
            self.chip.residents[a].add(id(store))
        self.chip.buffer_used += place.buffer_bytes.data
        self.storage[value] = store
        self.by_id[id(store)] = store

    def _free(self, store: Storage) -> None:
        stripe = store.place.bytes_per_array()
        for a in store.place.array_ids:
            if id(store) in self.chip.residents[a]:
                self.chip.residents[a].discard(id(store))
                self.chip.used[a] -= stripe
        self.chip.buffer_used -= store.place.buffer_bytes.data
        self.by_id.pop(id(store), None)

    def _release(self, op: Operation) -> None:
        """Gives back the storage of operands `op` reads last."""
        seen: set[int] = set()
        for v in op.operands:
            v = _resolve(v)
            store = self.storage.get(v)
            if store is not None and id(store) not in seen and self.last_reader.get(v) is op:
                seen.add(id(store))
                self._free(store)

    def _check_bytes(self, op: Operation, got: int, want: int, what: str) -> None:
        if got != want:
            raise SimulationError(op, f"moves {got} bytes, {what} is {want}")

    # ------------------------------------------------------------ structure
    @impl(meta.SegmentOp)
    def run_segment(
        self, interp: Interpreter, op: meta.SegmentOp, args: PythonValues
    ) -> PythonValues:
        return interp.run_ssacfg_region(op.body, (), f"segment{op.index.value.data}")

    @impl_terminator(meta.YieldOp)
    def run_yield(
        self, interp: Interpreter, op: meta.YieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    # ------------------------------------------------------------ arrays
    @impl(meta.SwitchOp)
    def run_switch(
        self, interp: Interpreter, op: meta.SwitchOp, args: PythonValues
    ) -> PythonValues:
        ids = op.array_ids
        self._exists(op, ids)
        target = op.target
        same = [a for a in ids if self.chip.mode[a] is target]
        if same:
            raise SimulationError(op, f"arrays {same} are already in {target} mode")
        for a in ids:
            self.chip.mode[a] = target
        return ()

    @impl(meta.ProgramOp)
    def run_program(
        self, interp: Interpreter, op: meta.ProgramOp, args: PythonValues
    ) -> PythonValues:
        ids = op.array_ids
        self._in_mode(op, ids, Mode.COMPUTE, "programming")
        label = op.label.data
        weight = _f32(args[0])
        bias = _f32(args[1]) if len(args) > 1 else None
        kind, groups = self.kinds.get(label, (meta.ComputeKind.LINEAR, 1))
        if weight.ndim == 2 and kind is not meta.ComputeKind.MATMUL:
            kind = meta.ComputeKind.LINEAR
        matrix = weight_matrix(kind, weight, groups)
        if op.is_in_place:  # the operand stays where it is: cells keep data across a switch
            store = self.storage.get(_resolve(op.weight))
            if store is not None and store.lost:
                raise SimulationError(op, f"reads data that is no longer stored: {store.lost}")
            holders = set(store.place.array_ids) if store is not None else set()
            if not set(ids) <= holders or (store is not None and not store.place.array_ids):
                raise SimulationError(
                    op, f"an in-place program needs the operand in arrays {list(ids)}, it is at "
                    f"{store.place if store is not None else 'dram'}"
                )  # fmt: skip
        else:
            self._read(op, op.weight)
            hw = self.hw
            want = meta.program_bytes(op.weight_tiles(), bias is not None, hw)
            self._check_bytes(op, op.nbytes, want, "the tiles' size")
        k_per_group = matrix.shape[2]
        for a, tile in zip(ids, op.weight_tiles(), strict=True):
            if tile.g1 > matrix.shape[0] or tile.n1 > matrix.shape[1] or tile.k1 > k_per_group:
                raise SimulationError(
                    op, f"tile {list(tile.flat())} for array {a} is outside the weight "
                    f"{list(matrix.shape)} (groups, N, K)"
                )  # fmt: skip
            block = matrix[tile.g0 : tile.g1, tile.n0 : tile.n1, tile.k0 : tile.k1].copy()
            held_bias = None
            if bias is not None and tile.n0 == 0:
                b = bias.reshape(-1, k_per_group)
                held_bias = b[tile.g0 : tile.g1, tile.k0 : tile.k1].copy()
            previous = self.chip.held[a]
            if previous is not None and previous.label != label:
                self.chip.overwritten[a] = f"{previous.label!r} overwritten by program {label!r}"
            else:
                self.chip.overwritten[a] = ""
            self.chip.held[a] = HeldTile(label, tile, block, held_bias, op)
            # memory data in a programmed array is gone
            for sid in list(self.chip.residents[a]):
                store = self.by_id.get(sid)
                if store is not None and not (
                    op.is_in_place and store.value is _resolve(op.weight)
                ):
                    store.lost = (
                        f"{store.writer.name} wrote it into array {a}, reprogrammed by "
                        f"cim_meta.program {label!r}"
                    )
        self._release(op)
        return ()

    # ------------------------------------------------------------ movement
    def _move(self, op: meta.MovementOp, args: PythonValues, want: int, what: str) -> PythonValues:
        self._read(op, op.input)
        self._check_bytes(op, op.nbytes, want, what)
        self._release(op)
        self._write(op, op.output, op.place)
        return (args[0],)

    def _size(self, value: SSAValue) -> int:
        return meta.tensor_bytes(shape_of(value), self.hw)

    def _place_of(self, value: SSAValue) -> meta.PlaceAttr:
        store = self.storage.get(_resolve(value))
        if store is not None:
            return store.place
        return meta.PlaceAttr.dram(self._size(value))

    @impl(meta.LoadOp)
    def run_load(self, interp: Interpreter, op: meta.LoadOp, args: PythonValues) -> PythonValues:
        src = self._place_of(op.input)
        if not src.dram_bytes.data:
            raise SimulationError(op, "loads a tensor with no part in dram (use move)")
        return self._move(op, args, self._size(op.input), "the tensor's size")

    @impl(meta.StoreOp)
    def run_store(self, interp: Interpreter, op: meta.StoreOp, args: PythonValues) -> PythonValues:
        src = self._place_of(op.input)
        return self._move(op, args, src.total_bytes - src.dram_bytes.data, "its on-chip part")

    @impl(meta.MoveOp)
    def run_move(self, interp: Interpreter, op: meta.MoveOp, args: PythonValues) -> PythonValues:
        return self._move(op, args, self._size(op.input), "the tensor's size")

    # ------------------------------------------------------------ compute
    @impl(meta.ComputeOp)
    def run_compute(
        self, interp: Interpreter, op: meta.ComputeOp, args: PythonValues
    ) -> PythonValues:
        self._read(op, op.input)
        ids = op.array_ids
        self._in_mode(op, ids, Mode.COMPUTE, "a multiply")
        shape = op.matmul_shape()
        tiles = meta.weight_tiling(shape, self.hw)
        t = len(tiles)
        if len(ids) % t:
            raise SimulationError(
                op, f"{len(ids)} arrays are not whole copies of its {t}-array weight tiling"
            )
        label = op.weights_label
        weights: np.ndarray | None = None
        bias: np.ndarray | None = None
        for copy in range(len(ids) // t):
            w = np.empty((shape.groups, shape.n, shape.k), dtype=np.float32)
            b = np.full((shape.groups, shape.k), np.nan, dtype=np.float32) if op.bias else None
            for i, tile in enumerate(tiles):
                a = ids[copy * t + i]
                held = self.chip.held[a]
                if held is None:
                    raise SimulationError(op, f"array {a} holds no weights (never programmed)")
                if held.label != label:
                    reason = self.chip.overwritten[a] or f"it holds weights of {held.label!r}"
                    raise SimulationError(op, f"array {a}: {reason}")
                want = (tile.g1 - tile.g0, tile.n1 - tile.n0, tile.k1 - tile.k0)
                if held.block.shape != want:
                    raise SimulationError(
                        op, f"array {a} holds a {list(held.block.shape)} tile, tile {i} of the "
                        f"operator is {list(want)}"
                    )  # fmt: skip
                w[tile.g0 : tile.g1, tile.n0 : tile.n1, tile.k0 : tile.k1] = held.block
                if b is not None and tile.n0 == 0 and held.bias is not None:
                    b[tile.g0 : tile.g1, tile.k0 : tile.k1] = held.bias
            if b is not None and np.isnan(b).any():
                raise SimulationError(op, "its arrays hold no bias for some output columns")
            if weights is None:
                weights, bias = w, b
            elif not np.array_equal(weights, w) or (
                b is not None and bias is not None and not np.array_equal(bias, b)
            ):
                raise SimulationError(
                    op, f"copy {copy} (arrays {list(ids[copy * t : (copy + 1) * t])}) holds "
                    "other weights than copy 0"
                )  # fmt: skip
        assert weights is not None
        y = self._multiply(op, np.asarray(args[0]), weights, bias)
        self._release(op)
        self._write(op, op.output, op.place)
        return (y,)

    def _multiply(
        self, op: meta.ComputeOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
    ) -> np.ndarray:
        kind = op.compute_kind
        out_type = op.output.type
        dtype = np_dtype(out_type)
        if kind is meta.ComputeKind.LINEAR:
            y = np.asarray(x, dtype=np.float64) @ w[0].astype(np.float64)
            if b is not None:
                y = y + b[0]
        elif kind is meta.ComputeKind.CONV2D:
            strides, pads, dilations, group = op.conv_geometry()
            o, ci, kh, kw = meta.ints(op.weight_shape)
            oihw = w.transpose(0, 2, 1).reshape(o, ci, kh, kw)
            y = conv2d_fast(x, oihw, None if b is None else b.reshape(-1), strides, pads,
                            dilations, group)  # fmt: skip
        else:
            rhs = w.reshape(meta.ints(op.weight_shape))
            y = np.matmul(np.asarray(x, dtype=np.float64), rhs.astype(np.float64))
        return np.ascontiguousarray(np.asarray(y).astype(dtype, copy=False))

    # ------------------------------------------------------------ vector
    @impl(meta.VectorOp)
    def run_vector(
        self, interp: Interpreter, op: meta.VectorOp, args: PythonValues
    ) -> PythonValues:
        for v in op.inputs:
            self._read(op, v)
        results = interp.run_ssacfg_region(op.body, args, "vector")
        self._release(op)
        self._write(op, op.output, op.place)
        return results


def _ordered_inputs(
    fn: FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    args = fn.body.block.args
    if isinstance(inputs, Mapping):
        names, _ = io_names(fn)
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ReferenceError(
                f"no input given for {missing[0]!r} (inputs: {names}; given: {sorted(inputs)})"
            )
        values = [inputs[n] for n in names]
    else:
        values = list(inputs)
    if len(values) != len(args):
        raise ReferenceError(f"the program takes {len(args)} input(s), {len(values)} given")
    out = []
    for k, (arg, value) in enumerate(zip(args, values, strict=True)):
        want = tuple(cast(TensorType, arg.type).get_shape())
        value = np.asarray(value)
        if tuple(value.shape) != want:
            raise ReferenceError(f"input {k}: shape {list(value.shape)} != expected {list(want)}")
        out.append(np.ascontiguousarray(value.astype(np_dtype(arg.type), copy=False)))
    return out


def run_functional(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    store: WeightStore,
    function: str = "main",
) -> list[np.ndarray]:
    """Runs `function` of a `cim_meta` module on `inputs` (positional, or
    keyed by the model's input names, exactly) with the weights of `store`;
    returns its results. Raises :class:`SimulationError` when the program
    breaks the chip's rules, :class:`ReferenceError` for bad inputs or
    missing weights."""
    fn = next(
        (op for op in module.ops if isinstance(op, FuncOp) and op.sym_name.data == function),
        None,
    )
    if fn is None:
        raise ReferenceError(f"module has no function @{function}")
    hw = module_hardware(module)
    args = _ordered_inputs(fn, inputs)
    interp = Interpreter(module)
    interp.register_implementations(FuncFunctions())
    interp.register_implementations(CimReference(store))
    interp.register_implementations(MetaFunctions(module, hw))
    results: Any = interp.call_op(function, tuple(args))
    return [np.asarray(r) for r in results]


def random_store(module: ModuleOp, seed: int = 0, store: WeightStore | None = None) -> WeightStore:
    """Seeded random weights for every ``cim.constant`` without data (zoo
    models): normal, scaled by 1/sqrt(fan-in) for matrices and kernels,
    0.1 for vectors; integer constants are zero. Existing entries of
    `store` are kept."""
    from cmswitch.dialects.cim import ConstantOp

    out = WeightStore(dict(store or {}))
    rng = np.random.default_rng(seed)
    for op in module.walk():
        if not isinstance(op, ConstantOp) or op.value is not None or op.sym.data in out:
            continue
        typ = cast(TensorType, op.result.type)
        shape = tuple(typ.get_shape())
        dtype = np_dtype(typ)
        if dtype != np.float32:
            out[op.sym.data] = np.zeros(shape, dtype=dtype)
            continue
        fan_in = int(np.prod(shape[1:])) if len(shape) >= 2 else 0
        scale = 1.0 / np.sqrt(fan_in) if fan_in else 0.1
        out[op.sym.data] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return out
