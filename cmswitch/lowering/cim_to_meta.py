"""`cim-to-meta`: a segmented, allocated `cim` function as a `cim_meta` program.

Input: the IR ``cim-split``, ``cim-schedule`` and ``cim-assign-arrays``
produce (the ids are assigned here if the last pass was not run). Output:
the same function signature; compile-time values first, then one
``cim_meta.segment`` per ``cim.segment``. Per segment, in this order:

1. **write-back**: a live tensor with a part in arrays this segment uses for
   compute is stored to ``dram`` (``cim_meta.store``), except attention's
   operand in place: a ``cim.matmul``'s run-time operand that sits wholly
   in memory arrays which are exactly the product's compute arrays, and
   that nothing else reads any more, stays; the arrays switch and the
   product runs on it (``cim_meta.program ... in_place``, no bytes);
   such an operand complete in an earlier segment is written, when
   produced, straight into the product's arrays if they are empty and
   untouched from the segment before it until the product's (they switch
   to memory at that segment's start and back to compute right after the
   operand is written, idle arrays switching in the shadow);
2. **switches**: arrays whose mode differs from their role here (one
   ``cim_meta.switch`` per direction);
3. **weight programming** of every operator with a compile-time weight, on
   its arrays (``copies = compute // T`` copies of its ``T``-array
   :func:`~cmswitch.dialects.cim_meta.weight_tiling`; left-over arrays stay
   idle); arrays already holding the tile are not reprogrammed;
4. the operators in program order: ``cim_meta.vector`` for vector ops,
   ``cim_meta.compute`` for CIM ops (a ``cim.matmul``'s run-time operand is
   programmed right before it, once it exists), with a ``cim_meta.load``
   into the operator's input arrays (``mem_in``) when its input is in
   ``dram`` and fits there;
5. function results produced here are stored to ``dram``.

**Placement** (static, decided here; the functional simulator checks it):
a CIM operator writes its output into its ``mem_out`` arrays and the input
arrays of the CIM operators of the segment that read it; a vector op writes
over the storage of an operand it is the last reader of, else into the
input arrays of the CIM operator it feeds; whatever does not fit is split
between the fixed buffer and ``dram`` in proportion to their bandwidths
(the buffer's part capped by its room; the ``dram`` part is a spill). Capacity is taken when a
tensor is written and given back after its last reader; an op's output may
reuse the storage of operands it reads last. Stripes are even over the
arrays used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import StringAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from cmswitch.builder import module_hardware
from cmswitch.dialects import cim
from cmswitch.dialects import cim_meta as meta
from cmswitch.dialects.cim import Mode, is_static_value, shape_of, through_segments
from cmswitch.hardware import Hardware
from cmswitch.passes.cim_assign_arrays import (
    AssignError,
    OpArrays,
    assign_function,
    held_operand_segment,
    op_arrays,
    segment_index,
)
from cmswitch.passes.segments import read_segments


class LoweringError(ValueError):
    """The function cannot be lowered (user-facing)."""


@dataclass
class _Capacity:
    """Bytes in use per memory array and in the buffer (the static mirror of
    the functional simulator's accounting)."""

    hw: Hardware
    arrays: dict[int, int] = field(default_factory=dict)
    buffer: int = 0

    def free_in(self, a: int) -> int:
        return self.hw.array_bytes - self.arrays.get(a, 0)

    def place(self, nbytes: int, want: Sequence[int], use_buffer: bool = True) -> meta.PlaceAttr:
        """Stripes `nbytes` over the arrays of `want` with room; the rest is
        split between the buffer and dram in proportion to their bandwidths
        (internal bus : external channel), the buffer's part capped by its
        free room. A read or write touches every part in proportion, so
        each part then takes the same time and the rest streams at up to
        bus + channel (``D_main``); filling the buffer first would stream a
        tensor partly there at the bus's pace (4 B/cycle on DynaPlasia)."""
        rest = nbytes
        ids: list[int] = []
        part = 0
        cands = sorted({a for a in want if self.free_in(a) > 0}, key=lambda a: -self.free_in(a))
        best = (0, 0)
        for n in range(1, len(cands) + 1):
            fit = min(rest, n * self.free_in(cands[n - 1]))
            if fit > best[0]:
                best = (fit, n)
        if best[1]:
            n = best[1]
            part = best[0]  # ceil(part / n) <= the n-th largest room
            ids = sorted(cands[:n])
            rest -= part
        bus, ext = self.hw.internal_bw_bits / 8, self.hw.external_bw_bytes
        share = rest * bus // (bus + ext) if use_buffer and rest > 0 else 0
        buf = max(0, min(int(share), self.hw.buffer_bytes - self.buffer))
        rest -= buf
        place = meta.PlaceAttr(ids, part, buf, rest)
        self.take(place)
        return place

    def take(self, place: meta.PlaceAttr) -> None:
        stripe = place.bytes_per_array()
        for a in place.array_ids:
            self.arrays[a] = self.arrays.get(a, 0) + stripe
        self.buffer += place.buffer_bytes.data

    def give(self, place: meta.PlaceAttr) -> None:
        stripe = place.bytes_per_array()
        for a in place.array_ids:
            self.arrays[a] -= stripe
        self.buffer -= place.buffer_bytes.data


class _Lowering:
    def __init__(self, func: FuncOp, hw: Hardware):
        self.func = func
        self.hw = hw
        self.cap = _Capacity(hw)
        self.mode: list[Mode] = [Mode.COMPUTE] * hw.arrays
        # per array: ((weight, bias, tile), program label) of the tile it holds
        self.holds: list[tuple[object, str] | None] = [None] * hw.arrays
        self.vmap: dict[SSAValue, SSAValue] = {}  # static cim value -> new static value
        self.cur: dict[SSAValue, SSAValue] = {}  # run-time cim value -> meta value
        self.where: dict[SSAValue, meta.PlaceAttr] = {}  # meta value -> its place
        self.labels: set[str] = set()
        self.reuse: dict[Operation, str] = {}  # op -> label of the program its arrays hold
        self.in_place: dict[Operation, SSAValue] = {}  # matmul -> its operand, in place
        # run-time operand -> (segment producing it, its product's arrays)
        self.hold: dict[SSAValue, tuple[int, tuple[int, ...]]] = {}
        self.holding: dict[SSAValue, tuple[int, ...]] = {}  # held in this segment
        self.touched: dict[int, int] = {}  # array -> last segment placing data in it

    # ------------------------------------------------------------ analysis
    def analyse(self) -> list[tuple[cim.SegmentOp, list[Operation]]]:
        segs = read_segments(self.func)
        self.segments = [(seg, [op for op in seg.body.block.ops if not isinstance(op, cim.YieldOp)])
                         for seg, _ in segs]  # fmt: skip
        self.pos: dict[Operation, int] = {}
        self.seg_of: dict[Operation, int] = {}
        k = 0
        for s, (_, ops) in enumerate(self.segments):
            for op in ops:
                self.pos[op] = k
                self.seg_of[op] = s
                k += 1
        self.end = k
        self.last_read: dict[SSAValue, int] = {}
        self.readers: dict[SSAValue, list[Operation]] = {}
        for _, ops in self.segments:
            for op in ops:
                for operand in op.operands:
                    v = through_segments(operand)
                    if is_static_value(v):
                        continue
                    self.last_read[v] = self.pos[op]
                    self.readers.setdefault(v, []).append(op)
        ret = self.func.body.block.last_op
        assert isinstance(ret, ReturnOp)
        self.results = [through_segments(v) for v in ret.arguments]
        for v in self.results:
            self.last_read[v] = self.end
        self.find_holds()
        return self.segments

    def find_holds(self) -> None:
        """Run-time operands written straight into their product's arrays:
        a matmul's right operand complete in an earlier segment, read by
        nothing else, whose product computes on one copy of its tiles on
        arrays that no operator uses from the segment before the operand's
        until the product's (and no other held operand claims meanwhile)."""
        seg_of = segment_index(self.func)
        roles: list[set[int]] = []
        for _, ops in self.segments:
            used: set[int] = set()
            for op in ops:
                ids = op_arrays(op) if isinstance(op, cim.ComputeOp) else None
                if ids is not None:
                    used |= {*ids.compute, *ids.mem_in, *ids.mem_out}
            roles.append(used)
        claimed: list[tuple[int, int, set[int]]] = []
        for _, ops in self.segments:
            for op in ops:
                if not isinstance(op, cim.MatmulOp):
                    continue
                s_r = held_operand_segment(op, seg_of)
                ids = op_arrays(op)
                if s_r is None or ids is None:
                    continue
                r = through_segments(op.rhs)
                tiles = len(meta.weight_tiling(op.matmul_shape(), self.hw))
                arrays = set(ids.compute)
                s_p = self.seg_of[op]
                if (
                    len(ids.compute) != tiles
                    or r in self.results
                    or self.readers.get(r) != [op]
                    or any(arrays & roles[s] for s in range(max(0, s_r - 1), s_p))
                    or any(arrays & c and a < s_p and s_r < b for a, b, c in claimed)
                ):
                    continue
                self.hold[r] = (s_r, ids.compute)
                claimed.append((s_r, s_p, arrays))

    def start_holds(self, s: int) -> list[int]:
        """The held operands produced in segment `s` whose arrays are empty
        and got no data in segment `s - 1`; returns their arrays."""
        self.holding = {}
        for r, (s_r, arrays) in self.hold.items():
            if s_r == s and all(
                self.cap.free_in(a) == self.hw.array_bytes and self.touched.get(a, -2) < s - 1
                for a in arrays
            ):
                self.holding[r] = arrays
        return sorted({a for arrays in self.holding.values() for a in arrays})

    def place_output(self, out: SSAValue, want: Sequence[int], s: int) -> meta.PlaceAttr:
        """Where a new run-time tensor goes: its product's arrays if it is
        held there, else :meth:`_Capacity.place`."""
        nbytes = meta.tensor_bytes(shape_of(out), self.hw)
        if out in self.holding:
            place = meta.PlaceAttr(sorted(self.holding[out]), nbytes, 0, 0)
            self.cap.take(place)
        else:
            place = self.cap.place(nbytes, want)
        for a in place.array_ids:
            self.touched[a] = s
        return place

    def switch_held(self, out: SSAValue) -> None:
        """A held operand is written: its arrays turn compute (the cells keep
        it) while idle, ready for the product's in-place program."""
        if out in self.holding:
            arrays = sorted(self.holding[out])
            self.emit(meta.SwitchOp(arrays, Mode.COMPUTE))
            for a in arrays:
                self.mode[a] = Mode.COMPUTE

    # ------------------------------------------------------------ building
    def lower(self) -> FuncOp:
        self.analyse()
        old = self.func
        block = Block(arg_types=[a.type for a in old.body.block.args])
        for a_old, a_new in zip(old.body.block.args, block.args, strict=True):
            a_new.name_hint = a_old.name_hint
            self.cur[a_old] = a_new
            self.where[a_new] = meta.PlaceAttr.dram(meta.tensor_bytes(shape_of(a_old), self.hw))
        for op in old.body.block.ops:
            if isinstance(op, cim.SegmentOp | ReturnOp):
                continue
            new = op.clone(value_mapper=dict(self.vmap))
            for r_old, r_new in zip(op.results, new.results, strict=True):
                self.vmap[r_old] = r_new
            block.add_op(new)
        for s, (seg, ops) in enumerate(self.segments):
            block.add_op(self.segment(s, seg, ops))
        outs = []
        for v in self.results:
            outs.append(self.cur[v] if v in self.cur else self.vmap[v])
        block.add_op(ReturnOp(*outs))
        new_func = FuncOp(
            old.sym_name.data,
            old.function_type,
            Region(block),
            arg_attrs=old.arg_attrs,
            res_attrs=old.res_attrs,
        )
        return new_func

    def segment(self, s: int, seg: cim.SegmentOp, ops: list[Operation]) -> meta.SegmentOp:
        body = Block()
        self.body = body
        cim_ops = [op for op in ops if isinstance(op, cim.ComputeOp)]
        ids = [op_arrays(op) for op in cim_ops]
        if any(i is None for i in ids):
            raise LoweringError("cim-to-meta: run cim-assign-arrays first")
        self.ids: dict[Operation, OpArrays] = {
            op: i for op, i in zip(cim_ops, ids, strict=True) if i is not None
        }
        compute = sorted({a for i in self.ids.values() for a in i.compute})
        memory = sorted({a for i in self.ids.values() for a in (*i.mem_in, *i.mem_out)})
        # 0. attention's K in place: a run-time operand that sits exactly in
        # the arrays its product computes on, read by nothing else any more
        self.in_place = {}
        for op in cim_ops:
            if isinstance(op, cim.MatmulOp) and not is_static_value(op.rhs):
                r = through_segments(op.rhs)
                if r not in self.cur or r in self.in_place.values():
                    continue
                place = self.where[self.cur[r]]
                tiles = meta.weight_tiling(op.matmul_shape(), self.hw)
                used = self.ids[op].compute[: len(self.ids[op].compute) // len(tiles) * len(tiles)]
                only = [x for x in self.readers.get(r, []) if self.pos[x] >= self.first_pos(s)]
                if (
                    place.array_bytes.data == place.total_bytes
                    and sorted(place.array_ids) == sorted(used)
                    and only == [op]
                ):
                    self.in_place[op] = r
        # 1. write back live tensors in arrays that compute here
        busy = set(compute)
        for v, m in list(self.cur.items()):
            place = self.where[m]
            live = self.last_read.get(v, -1) >= self.first_pos(s)
            if live and busy & set(place.array_ids) and v not in self.in_place.values():
                self.store(v)
        # 2. switches
        memory = sorted({*memory, *self.start_holds(s)})
        to_memory = [a for a in memory if self.mode[a] is not Mode.MEMORY]
        to_compute = [a for a in compute if self.mode[a] is not Mode.COMPUTE]
        if to_memory:
            body.add_op(meta.SwitchOp(to_memory, Mode.MEMORY))
        if to_compute:
            body.add_op(meta.SwitchOp(to_compute, Mode.COMPUTE))
        for a in to_memory:
            self.mode[a] = Mode.MEMORY
            self.holds[a] = None
        for a in to_compute:
            self.mode[a] = Mode.COMPUTE
        # 3. weights
        for op in cim_ops:
            if not isinstance(op, cim.MatmulOp) or is_static_value(op.rhs):
                self.program(op, self.vmap[op.operands[1]])
        # 4. operators
        for op in ops:
            if isinstance(op, cim.ComputeOp):
                self.compute(op, s)
            else:
                self.vector(op)
        # 5. results
        produced = {r for op in ops for r in op.results}
        for v in self.results:
            if v in produced and not self.where[self.cur[v]].in_dram:
                self.store(v)
        # yield what is read later
        # values read later stay (the rest is dead from here on)
        start = self.first_pos(s + 1)
        self.cur = {v: m for v, m in self.cur.items() if self.last_read.get(v, -1) >= start}
        later = [v for v, m in self.cur.items() if self._inside(m, body)]
        body.add_op(meta.YieldOp([self.cur[v] for v in later]))
        new = meta.SegmentOp(seg.index.value.data, Region(body), [self.cur[v].type for v in later])
        for v, r in zip(later, new.outs, strict=True):
            self.where[r] = self.where[self.cur[v]]
            self.cur[v] = r
        return new

    def first_pos(self, s: int) -> int:
        if s >= len(self.segments):
            return self.end
        return self.pos[self.segments[s][1][0]]

    @staticmethod
    def _inside(value: SSAValue, block: Block) -> bool:
        owner = value.owner
        return isinstance(owner, Operation) and owner.parent_block() is block

    # ------------------------------------------------------------ helpers
    def emit(self, op: Operation) -> None:
        self.body.add_op(op)

    def release(self, values: Sequence[SSAValue], at: int) -> set[SSAValue]:
        """Frees the storage of run-time values whose last reader is at
        position `at`; returns the meta values freed."""
        freed = set()
        for v in values:
            v = through_segments(v)
            if v in self.cur and self.last_read.get(v) == at:
                m = self.cur[v]
                if m not in freed:
                    self.cap.give(self.where[m])
                    freed.add(m)
        return freed

    def store(self, v: SSAValue) -> None:
        m = self.cur[v]
        place = self.where[m]
        nbytes = meta.tensor_bytes(shape_of(v), self.hw)
        on_chip = place.total_bytes - place.dram_bytes.data
        new = meta.StoreOp(m, meta.PlaceAttr.dram(nbytes), on_chip)
        self.emit(new)
        self.cap.give(place)
        self.cur[v] = new.output
        self.where[new.output] = new.place

    def program(self, op: cim.ComputeOp, weight: SSAValue, in_place: bool = False) -> None:
        """Programs `op`'s tiles into its arrays, unless every array already
        holds its tile from one earlier program (then the compute names it)."""
        ids = self.ids[op]
        tiles = meta.weight_tiling(op.matmul_shape(), self.hw)
        copies = len(ids.compute) // len(tiles)
        arrays = ids.compute[: copies * len(tiles)]
        use = [tiles[i % len(tiles)] for i in range(len(arrays))]
        bias = op.operands[2] if isinstance(op, cim.LinearOp | cim.Conv2dOp) and op.bias else None
        new_bias = self.vmap[bias] if bias is not None else None
        if is_static_value(weight):
            keys = [(weight, new_bias, t) for t in use]
            held = [self.holds[a] for a in arrays]
            owners = {h[1] for h in held if h is not None}
            if (
                all(h is not None and h[0] == k for h, k in zip(held, keys, strict=True))
                and len(owners) == 1
            ):
                self.reuse[op] = owners.pop()
                return
        label = self.label(op)
        for a, t in zip(arrays, use, strict=True):
            self.holds[a] = ((weight, new_bias, t), label) if is_static_value(weight) else None
        nbytes = meta.program_bytes(use, new_bias is not None, self.hw)
        self.emit(
            meta.ProgramOp(weight, new_bias, label, arrays,
                           meta.WeightTilingAttr.of(op.matmul_shape(), self.hw, copies),
                           0 if in_place else nbytes, in_place)
        )  # fmt: skip

    def label(self, op: Operation) -> str:
        attr = op.attributes.get("label")
        base = attr.data if isinstance(attr, StringAttr) else op.name.removeprefix("cim.")
        if not hasattr(op, "_meta_label"):
            name, k = base, 1
            while name in self.labels:
                k += 1
                name = f"{base}#{k}"
            self.labels.add(name)
            op._meta_label = name  # type: ignore[attr-defined]
        return op._meta_label  # type: ignore[attr-defined]

    def cim_readers_in_segment(self, v: SSAValue, s: int) -> list[cim.ComputeOp]:
        return [
            r for r in self.readers.get(v, [])
            if isinstance(r, cim.ComputeOp) and self.seg_of[r] == s and r.operands[0] is v
        ]  # fmt: skip

    def feeds(self, v: SSAValue, s: int) -> list[int]:
        """Input arrays of the CIM operators of segment `s` reading `v`."""
        out: list[int] = []
        for r in self.cim_readers_in_segment(v, s):
            out.extend(self.ids[r].mem_in)
        return out

    # ------------------------------------------------------------ ops
    def compute(self, op: cim.ComputeOp, s: int) -> None:
        ids = self.ids[op]
        x = through_segments(op.operands[0])
        # a dram input is staged in the operator's input arrays if it fits
        if ids.mem_in and x in self.cur and self.where[self.cur[x]].dram_bytes.data:
            nbytes = meta.tensor_bytes(shape_of(x), self.hw)
            room = sum(self.cap.free_in(a) for a in ids.mem_in)
            if nbytes <= room and self.last_read[x] == self.pos[op]:
                place = self.cap.place(nbytes, ids.mem_in, use_buffer=False)
                if place.on_chip:
                    old = self.where[self.cur[x]]
                    self.cap.give(old)
                    load = meta.LoadOp(self.cur[x], place, nbytes)
                    self.emit(load)
                    self.cur[x] = load.output
                    self.where[load.output] = place
                else:
                    self.cap.give(place)
        if isinstance(op, cim.MatmulOp) and not is_static_value(op.rhs):
            self.program(op, self.cur[through_segments(op.rhs)], in_place=op in self.in_place)
        self.release(op.operands, self.pos[op])
        out = op.results[0]
        tiles = meta.weight_tiling(op.matmul_shape(), self.hw)
        copies = len(ids.compute) // len(tiles)
        want = [*ids.mem_out, *self.feeds(out, s)]
        place = self.place_output(out, want, s)
        conv = None
        if isinstance(op, cim.Conv2dOp):
            conv = op.geometry()
        kind = {cim.LinearOp: meta.ComputeKind.LINEAR, cim.Conv2dOp: meta.ComputeKind.CONV2D,
                cim.MatmulOp: meta.ComputeKind.MATMUL}[type(op)]  # fmt: skip
        has_bias = isinstance(op, cim.LinearOp | cim.Conv2dOp) and op.bias is not None
        new = meta.ComputeOp(
            self.cur[x], out.type, label=self.label(op), kind=kind,
            arrays=ids.compute[: copies * len(tiles)], weight_shape=shape_of(op.operands[1]),
            place=place, has_bias=has_bias, conv=conv, weights=self.reuse.get(op),
        )  # fmt: skip
        self.emit(new)
        self.cur[out] = new.output
        self.where[new.output] = place
        self.switch_held(out)

    def vector(self, op: Operation) -> None:
        s = self.seg_of[op]
        dynamic: list[SSAValue] = []
        for operand in op.operands:
            v = through_segments(operand)
            if not is_static_value(v) and v not in dynamic:
                dynamic.append(v)
        inputs = [self.cur[v] for v in dynamic]
        freed = self.release(dynamic, self.pos[op])
        out = op.results[0]
        want: list[int] = []
        for m in inputs:
            if m in freed:
                want.extend(self.where[m].array_ids)
        want.extend(self.feeds(out, s))
        place = self.place_output(out, want, s)
        block = Block(arg_types=[v.type for v in dynamic])
        mapping: dict[SSAValue, SSAValue] = dict(self.vmap)
        for v, arg in zip(dynamic, block.args, strict=True):
            mapping[v] = arg
        for operand in op.operands:
            if operand not in mapping:
                mapping[operand] = mapping[through_segments(operand)]
        inner = op.clone(value_mapper=mapping)
        block.add_op(inner)
        block.add_op(meta.YieldOp([inner.results[0]]))
        new = meta.VectorOp(inputs, Region(block), out.type, place)
        self.emit(new)
        self.cur[out] = new.output
        self.where[new.output] = place
        self.switch_held(out)


def lower_function(func: FuncOp, hw: Hardware) -> FuncOp:
    """The `cim_meta` program of one segmented function (ids assigned first
    if missing)."""
    ops = [op for op in func.walk() if isinstance(op, cim.ComputeOp)]
    if ops and op_arrays(ops[0]) is None:
        try:
            assign_function(func, hw)
        except AssignError as err:
            raise LoweringError(str(err)) from None
    for op in ops:
        if not isinstance(op.parent_op(), cim.SegmentOp):
            raise LoweringError(
                f"cim-to-meta: {op.name} is outside any cim.segment (run cim-schedule first)"
            )
        if len(op.results) != 1:
            raise LoweringError(f"cim-to-meta: {op.name} must have one result")
    return _Lowering(func, hw).lower()


def lower_module(module: builtin.ModuleOp, hw: Hardware | None = None) -> builtin.ModuleOp:
    """Replaces every segmented function of `module` by its `cim_meta`
    program, in place; returns `module`."""
    hw = hw or module_hardware(module)
    for func in [op for op in module.ops if isinstance(op, FuncOp)]:
        if not any(isinstance(op, cim.SegmentOp) for op in func.body.block.ops):
            continue
        new = lower_function(func, hw)
        module.body.block.insert_op_before(new, func)
        func.detach()
        func.erase()
    return module


@dataclass(frozen=True)
class CimToMetaPass(ModulePass):
    """Lower segmented, allocated `cim` functions to `cim_meta` programs
    (run cim-assign-arrays first; `arch`: default the module's cim.hardware)."""

    name = "cim-to-meta"

    arch: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        hw = Hardware.load(self.arch) if self.arch else None
        lower_module(op, hw)


def meta_program(module: builtin.ModuleOp, hw: Hardware | None = None) -> builtin.ModuleOp:
    """The `cim_meta` program of a compiled `cim` module (what
    ``compile --emit meta`` writes); `module` is left unchanged."""
    return lower_module(module.clone(), hw)
