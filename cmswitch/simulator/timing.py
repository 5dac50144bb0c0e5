"""Timing simulation of a `cim_meta` program.

The program is expanded into tasks (:mod:`cmswitch.simulator.engine`) as
``docs/DESIGN.md``, "Chip execution model", defines them, run by the
discrete-event engine, accounted (:mod:`cmswitch.simulator.accounting`) and
checked (:mod:`cmswitch.simulator.checks`). One handler per op kind, called
by that op's ``@impl`` on xDSL's interpreter
(:mod:`cmswitch.simulator.timing_walk`); timing needs each op's tiles, not its
values (the functional simulator runs the values).

Resources: link 0 is the external channel (``external_bw_bytes``), link 1
the internal bus (``internal_bw_bits / 8``), link ``2 + a`` array ``a``'s
port as memory (``d_cim``); pool 0 is the buffer (``buffer_bytes``), pool
``1 + a`` array ``a``'s capacity (``array_bytes``); server 0 is the vector
unit. Every number comes from the op's attributes and the hardware, never
from a cost model.

* ``compute``: per tile of output rows, the rows dealt to the copies
  round-robin by row (row ``r`` on copy ``r % copies``, whatever the tile
  size, so that a tile is done as soon as at row granularity): each copy's
  arrays for ``its_rows * act_bits`` cycles (per row of M), the input read
  from its place (``N * groups * act_bytes`` per row of M) and the output
  written to its place (``K * groups * act_bytes`` per row), concurrently;
  copies with as many rows of the tile are one task whose flows count once
  per copy;
* ``vector``: per tile, the vector unit for ``work * tile_rows / rows /
  vector_elems_per_cycle`` cycles; only ``dram`` parts of operands and result
  cross a link (the external channel);
* ``load`` / ``store`` / ``move``: per tile, one flow through the source's
  and the destination's parts;
* ``program``: per array, ``tile.rows * write_cycles_per_row`` cycles and the
  array's share of ``bytes`` capped by its write port, from main memory (a
  compile-time weight) or the operand's place (a run-time one);
* ``switch``: per array, ``switch_c2m_cycles`` / ``switch_m2c_cycles``.

Storage: a value's on-chip parts are allocated when its first tile starts
and freed when its last reader has finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, SSAValue

from cmswitch.dialects import cim
from cmswitch.dialects import cim_meta as meta
from cmswitch.dialects.cim import Mode, numel, shape_of
from cmswitch.hardware import Hardware
from cmswitch.simulator import accounting
from cmswitch.simulator.engine import CapacityError, Engine, FlowSpec, Task
from cmswitch.simulator.errors import SimulationError, describe
from cmswitch.simulator.fluid import Link
from cmswitch.simulator.tiles import TensorTiles, TileOptions, conv_input_rows, row_count
from cmswitch.simulator.timeline import OpRecord, SegmentTime, Timeline

EXT, BUS = 0, 1
BUFFER = 0
VECTOR_UNIT = 0


def _port(array: int) -> int:
    return 2 + array


def _pool(array: int) -> int:
    return 1 + array


@dataclass(eq=False)
class _Storage:
    pools: tuple[tuple[int, float], ...]
    """(pool, bytes) held until the last reader is done."""
    readers: list[int] = field(default_factory=list)
    writers: list[int] = field(default_factory=list)


@dataclass
class _Value:
    tiles: TensorTiles
    place: meta.PlaceAttr | None
    """None: the whole tensor is in main memory (a function argument)."""
    storage: _Storage | None
    take: tuple[tuple[int, float], ...] = ()
    """Bytes its first written tile allocates (none once allocated)."""


class _Builder:
    def __init__(self, hw: Hardware, options: TileOptions) -> None:
        self.hw = hw
        self.options = options
        self.tasks: list[Task] = []
        self.ops: list[Operation] = []
        self.records: list[OpRecord] = []
        self.values: dict[SSAValue, _Value] = {}
        self.storages: list[_Storage] = []
        self.mode = [Mode.COMPUTE] * hw.arrays
        self.switches: list[tuple[int, int, str]] = []
        self.declared_ext: list[float] = []
        """Per op: the external-channel bytes its attributes call for."""
        self.outputs: set[SSAValue] = set()
        self.current = -1
        """Index of the op being walked (set by the walk's listener)."""
        self.excl = [-1] * hw.arrays
        """Per array: the last task that used it exclusively (as the engine orders them)."""
        self.touched: list[Sequence[int]] = [_NONE] * hw.arrays
        """Per array: tasks that read or wrote it as memory since."""

    # ------------------------------------------------------------- helpers
    def fail(self, op: Operation, message: str) -> SimulationError:
        return SimulationError(op, message)

    def check_arrays(self, op: Operation, ids: Sequence[int]) -> None:
        bad = [a for a in ids if a >= self.hw.arrays]
        if bad:
            raise self.fail(op, f"arrays {bad} do not exist (the chip has {self.hw.arrays})")

    def check_place(self, op: Operation, place: meta.PlaceAttr | None) -> None:
        if place is None:
            return
        ids = place.array_ids
        self.check_arrays(op, ids)
        wrong = [a for a in ids if self.mode[a] is not Mode.MEMORY]
        if wrong:
            raise self.fail(op, f"memory arrays {wrong} are in compute mode")

    def add(self, task: Task) -> int:
        i = len(self.tasks)
        self.tasks.append(task)
        excl, touched = self.excl, self.touched
        for a in task.arrays:
            if a < len(excl):
                excl[a] = i
                touched[a] = _NONE
        for a in task.touches:
            if a < len(excl):
                if touched[a] is _NONE:
                    touched[a] = [i]
                else:
                    touched[a].append(i)  # type: ignore[union-attr]
        return i

    def place_links(self, place: meta.PlaceAttr | None) -> list[tuple[int, float]]:
        """Weighted links a read or write of (a tile of) a value at `place` uses."""
        if place is None:
            return [(EXT, 1.0)]
        total = place.total_bytes
        if total <= 0:
            return []
        links: list[tuple[int, float]] = []
        ids = place.array_ids
        if ids:
            share = place.array_bytes.data / total / len(ids)
            links += [(_port(a), share) for a in ids]
        if place.buffer_bytes.data:
            links.append((BUS, place.buffer_bytes.data / total))
        if place.dram_bytes.data:
            links.append((EXT, place.dram_bytes.data / total))
        return links

    def storage_for(
        self, place: meta.PlaceAttr | None, reads: Sequence[_Value] = ()
    ) -> tuple[_Storage | None, tuple[tuple[int, float], ...]]:
        """The storage a new value at `place` occupies and the bytes to take
        when its first tile is written. Where the output lies over the
        storage of a value it reads (the lowering writes over an operand it
        reads last), it takes those bytes over instead of taking new ones:
        they are then freed after the output's last reader, not the
        operand's."""
        if place is None:
            return None, ()
        pools: dict[int, float] = {}
        if place.buffer_bytes.data:
            pools[BUFFER] = float(place.buffer_bytes.data)
        per = place.bytes_per_array()
        for a in place.array_ids:
            pools[_pool(a)] = float(per)
        if not pools:
            return None, ()
        need = dict(pools)
        seen: list[_Storage] = []
        for v in reads:
            st = v.storage
            if st is None or any(st is o for o in seen):
                continue
            seen.append(st)
            held = dict(st.pools)
            for p, want in need.items():
                take = min(want, held.get(p, 0.0))
                if take > 0:
                    held[p] -= take
                    need[p] = want - take
            st.pools = tuple((p, b) for p, b in held.items() if b > 0)
        storage = _Storage(tuple(pools.items()))
        self.storages.append(storage)
        return storage, tuple((p, b) for p, b in need.items() if b > 0)

    def value(self, v: SSAValue) -> _Value | None:
        """The run-time value `v` (None for a compile-time one)."""
        while isinstance(v.owner, meta.SegmentOp):
            seg = v.owner
            v = seg.body.block.last_op.operands[v.index]  # type: ignore[union-attr,attr-defined]
        known = self.values.get(v)
        if known is not None:
            return known
        if isinstance(v.owner, Block):  # a function argument: in main memory
            shape = shape_of(v)
            spatial = len(shape) == 4
            rows = row_count(shape, spatial)
            made = _Value(TensorTiles(rows, self.options.rows_per_tile(rows), spatial), None, None)
            self.values[v] = made
            return made
        return None

    def new_value(
        self,
        result: SSAValue,
        place: meta.PlaceAttr | None,
        spatial: bool,
        rowwise: bool = True,
        reads: Sequence[_Value] = (),
    ) -> _Value:
        shape = shape_of(result)
        rows = row_count(shape, spatial)
        tiles = TensorTiles(rows, self.options.rows_per_tile(rows), spatial, rowwise)
        tiles.writers = [[] for _ in range(tiles.count)]
        storage, take = self.storage_for(place, reads)
        made = _Value(tiles, place, storage, take)
        self.values[result] = made
        return made

    def write(self, out: _Value, tile: int, task: int) -> None:
        out.tiles.wrote(tile, task)
        if out.storage is not None:
            if out.take:
                t = self.tasks[task]
                t.allocs = t.allocs + out.take
                out.take = ()
            out.storage.writers.append(task)

    def read(self, value: _Value, task: int) -> None:
        if value.storage is not None:
            value.storage.readers.append(task)

    def op_index(self, op: Operation, segment: int, name: str) -> int:
        self.ops.append(op)
        self.records.append(OpRecord(describe(op), name, segment))
        self.declared_ext.append(0.0)
        return len(self.ops) - 1

    # ------------------------------------------------------------ handlers
    def switch(self, op: meta.SwitchOp, k: int) -> None:
        ids = op.array_ids
        self.check_arrays(op, ids)
        target = op.target
        already = [a for a in ids if self.mode[a] is target]
        if already:
            raise self.fail(op, f"arrays {already} are already in {target} mode")
        cycles = self.hw.switch_c2m_cycles if target is Mode.MEMORY else self.hw.switch_m2c_cycles
        for a in ids:
            i = self.add(Task(k, "switch", cycles=float(cycles), arrays=(a,)))
            self.switches.append((i, a, str(target)))
            self.mode[a] = target

    def program(self, op: meta.ProgramOp, k: int) -> None:
        hw = self.hw
        ids = op.array_ids
        self.check_arrays(op, ids)
        wrong = [a for a in ids if self.mode[a] is not Mode.COMPUTE]
        if wrong:
            raise self.fail(op, f"arrays {wrong} are in memory mode (programming needs compute)")
        tiles = op.weight_tiles()
        weight = self.value(op.weight)
        deps: tuple[int, ...] = ()
        links: list[tuple[int, float]] = [(EXT, 1.0)]
        if weight is not None:  # a run-time operand: the whole of it, from its place
            deps = tuple(weight.tiles.all_writers())
            links = self.place_links(weight.place)
        elems = sum(t.elems for t in tiles) or 1
        cap = hw.d_cim / hw.write_cycles_per_row
        ext_share = sum(w for link, w in links if link == EXT)
        in_place = op.is_in_place
        total = op.nbytes
        links_t = tuple(links)
        # one task per class of arrays the engine would treat alike: freed by
        # the same tasks (so starting together) and given tiles of the same
        # rows and bytes. Their flows are symmetric in the fair sharing, so
        # one flow standing for all of them (share = their number, capped
        # by all their write ports) is exact, and far cheaper for an LLM's
        # operators on tens of arrays each.
        classes: dict[tuple[int, tuple[int, ...], int, int], list[int]] = {}
        for a, tile in zip(ids, tiles, strict=True):
            key = (self.excl[a], tuple(self.touched[a]), tile.rows, tile.elems)
            classes.setdefault(key, []).append(a)
        for (_, _, rows, tile_elems), members in classes.items():
            m = len(members)
            arrays = tuple(members)
            if in_place:
                i = self.add(Task(k, "program", arrays=arrays, deps=deps))
            else:
                nbytes = total * tile_elems / elems * m
                flow = FlowSpec(nbytes, links_t, cap * m, share=m)
                i = self.add(Task(k, "program", cycles=float(rows * hw.write_cycles_per_row),
                                  flows=(flow,), arrays=arrays, deps=deps))  # fmt: skip
                self.declared_ext[k] += nbytes * ext_share
            if weight is not None:
                self.read(weight, i)

    def movement(self, op: meta.MovementOp, k: int) -> None:
        src = self.value(op.input)
        self.check_place(op, op.place)
        if src is None:  # moving a compile-time value: nothing to wait for
            src = _Value(TensorTiles(1, 1, False), None, None)
        spatial = src.tiles.spatial
        out = self.new_value(op.output, op.place, spatial, src.tiles.rowwise, (src,))
        src_links = self.place_links(src.place)
        dst_links = self.place_links(op.place)
        if isinstance(op, meta.LoadOp):
            links = [(EXT, 1.0), *[(li, w) for li, w in dst_links if li != EXT]]
            kind = "transfer"
        elif isinstance(op, meta.StoreOp):
            on_chip = [(li, w) for li, w in src_links if li != EXT]
            scale = sum(w for li, w in on_chip if li == BUS) + sum(
                w for li, w in on_chip if li >= 2
            )
            links = [(EXT, 1.0), *[(li, w / scale) for li, w in on_chip]] if scale else [(EXT, 1.0)]
            kind = "transfer" if op.output in self.outputs else "writeback"
        else:
            merged: dict[int, float] = {}
            for li, w in [*src_links, *dst_links]:
                merged[li] = min(1.0, merged.get(li, 0.0) + w)
            links = list(merged.items())
            kind = "transfer"
        links_t = tuple(links)
        rows = out.tiles.rows
        per_row = op.nbytes / max(1, rows)
        ext_share = sum(w for li, w in links if li == EXT)
        touches = op.place.array_ids + _arrays_of(src.place)
        for tile in range(out.tiles.count):
            lo = tile * out.tiles.rows_per_tile
            hi = min(rows, lo + out.tiles.rows_per_tile) - 1
            nbytes = per_row * (hi - lo + 1)
            deps = tuple(src.tiles.needs(rows, lo, hi))
            i = self.add(Task(k, kind, flows=(FlowSpec(nbytes, links_t),) if links_t else (),
                              deps=deps, touches=touches))  # fmt: skip
            self.declared_ext[k] += nbytes * ext_share
            self.read(src, i)
            self.write(out, tile, i)

    def compute(self, op: meta.ComputeOp, k: int) -> None:
        hw = self.hw
        ids = op.array_ids
        self.check_arrays(op, ids)
        wrong = [a for a in ids if self.mode[a] is not Mode.COMPUTE]
        if wrong:
            raise self.fail(op, f"arrays {wrong} are in memory mode")
        self.check_place(op, op.place)
        x = self.value(op.input)
        if x is None:
            raise self.fail(op, "the input is a compile-time value (expected a run-time tensor)")
        shape = op.matmul_shape()
        per_copy = op.tiles_per_copy(hw)
        copies = max(1, len(ids) // per_copy)
        kind = op.compute_kind
        act = hw.act_bytes
        out_shape = shape_of(op.output)
        in_links = tuple(self.place_links(x.place))
        out_links = tuple(self.place_links(op.place))
        in_ext = sum(w for li, w in in_links if li == EXT)
        out_ext = sum(w for li, w in out_links if li == EXT)
        strides: tuple[int, ...] = (1, 1)
        pads: tuple[int, ...] = (0, 0, 0, 0)
        dilations: tuple[int, ...] = (1, 1)
        kernel_h = 1
        if kind is meta.ComputeKind.CONV2D:
            out = self.new_value(op.output, op.place, True, reads=(x,))
            m_per_row = out_shape[3]
            strides, pads, dilations, _ = op.conv_geometry()
            kernel_h = op.weight_shape.get_values()[2]
        elif kind is meta.ComputeKind.LINEAR:
            out = self.new_value(op.output, op.place, False, reads=(x,))
            m_per_row = 1
        else:  # attention: rows are per group, consumers take the whole result
            out = self.new_value(op.output, op.place, False, rowwise=False, reads=(x,))
            rows = shape.m
            out.tiles = TensorTiles(rows, self.options.rows_per_tile(rows), False, False)
            out.tiles.writers = [[] for _ in range(out.tiles.count)]
            m_per_row = 1
        in_row = shape.n * shape.groups * act * m_per_row
        out_row = shape.k * shape.groups * act * m_per_row
        t = out.tiles
        touches = _arrays_of(x.place) + op.place.array_ids
        copy_arrays = [tuple(ids[c * per_copy : (c + 1) * per_copy]) for c in range(copies)]
        for tile in range(t.count):
            lo = tile * t.rows_per_tile
            hi = min(t.rows, lo + t.rows_per_tile) - 1
            n_rows = hi - lo + 1
            if kind is meta.ComputeKind.CONV2D and x.tiles.spatial and x.tiles.rowwise:
                in_h = shape_of(op.input)[2]
                a, b = conv_input_rows(lo, hi, out_shape[2], in_h, kernel_h, strides[0],
                                       pads[0], dilations[0])  # fmt: skip
                deps = x.tiles.writers_of_rows(a, b)
            elif kind is meta.ComputeKind.LINEAR:
                deps = x.tiles.needs(t.rows, lo, hi)
            else:
                deps = x.tiles.all_writers()
            for first, count, per in _deal(lo, n_rows, copies):
                arrays = copy_arrays[first] if count == 1 else tuple(
                    a for c in copy_arrays[first : first + count] for a in c)  # fmt: skip
                flows = (
                    FlowSpec(in_row * per * count, in_links, share=count),
                    FlowSpec(out_row * per * count, out_links, share=count),
                )
                i = self.add(Task(k, "compute", cycles=float(per * m_per_row * hw.act_bits),
                                  flows=tuple(f for f in flows if f.links), deps=tuple(deps),
                                  arrays=arrays, touches=touches))  # fmt: skip
                self.read(x, i)
                self.write(out, tile, i)
            self.declared_ext[k] += (in_row * in_ext + out_row * out_ext) * n_rows

    def vector(self, op: meta.VectorOp, k: int) -> None:
        hw = self.hw
        self.check_place(op, op.place)
        inner = op.inner
        inputs = [v for v in (self.value(x) for x in op.inputs) if v is not None]
        out_shape = shape_of(op.output)
        spatial = len(out_shape) == 4 and (
            isinstance(inner, cim.PoolOp | cim.PadOp)
            or (bool(inputs) and all(v.tiles.spatial for v in inputs)
                and not isinstance(inner, cim.TransposeOp | cim.ReshapeOp))
        )  # fmt: skip
        rowwise_op = isinstance(
            inner, cim.ElementwiseOp | cim.SoftmaxOp | cim.LayerNormOp | cim.RMSNormOp
            | cim.ReshapeOp | cim.SliceOp | cim.ConcatOp | cim.BroadcastOp | cim.GatherOp,
        )  # fmt: skip
        if isinstance(inner, cim.SoftmaxOp | cim.LayerNormOp | cim.RMSNormOp):
            axis_attr = getattr(inner, "axis", None)
            axis = axis_attr.value.data if axis_attr is not None else len(out_shape) - 1
            rowwise_op = axis == len(out_shape) - 1 or (
                isinstance(inner, cim.LayerNormOp | cim.RMSNormOp) and axis >= len(out_shape) - 1
            )
        if isinstance(inner, cim.ReshapeOp) and inputs:
            # a view: same tasks, same storage
            src = inputs[0]
            rows = row_count(out_shape, spatial)
            same = rows == src.tiles.rows and src.tiles.rowwise
            tiles = TensorTiles(rows, src.tiles.rows_per_tile if same else
                                self.options.rows_per_tile(rows), spatial, same)  # fmt: skip
            tiles.writers = src.tiles.writers if same else [list(src.tiles.all_writers())]
            if not same:
                tiles.rows_per_tile = rows
            self.values[op.output] = _Value(tiles, src.place, src.storage)
            return
        out = self.new_value(op.output, op.place, spatial, reads=inputs)
        rows = out.tiles.rows
        work = op.work()
        out_links = tuple((li, w) for li, w in self.place_links(op.place) if li == EXT)
        in_links = [tuple((li, w) for li, w in self.place_links(v.place) if li == EXT)
                    for v in inputs]  # fmt: skip
        in_bytes = [numel(shape_of(x)) * hw.act_bytes for x in op.inputs]
        touches = tuple(a for v in inputs for a in _arrays_of(v.place)) + op.place.array_ids
        previous: int | None = None
        for tile in range(out.tiles.count):
            lo = tile * out.tiles.rows_per_tile
            hi = min(rows, lo + out.tiles.rows_per_tile) - 1
            frac = (hi - lo + 1) / rows
            deps: list[int] = []
            for v in inputs:
                if rowwise_op:
                    deps += v.tiles.needs(rows, lo, hi)
                else:
                    deps += v.tiles.all_writers()
            if previous is not None:
                deps.append(previous)
            flows: list[FlowSpec] = []
            for links, nbytes in zip(in_links, in_bytes, strict=False):
                if links:
                    flows.append(FlowSpec(nbytes * frac, links))
                    self.declared_ext[k] += nbytes * frac * links[0][1]
            if out_links:
                nbytes = numel(out_shape) * hw.act_bytes * frac
                flows.append(FlowSpec(nbytes, out_links))
                self.declared_ext[k] += nbytes * out_links[0][1]
            i = self.add(Task(k, "vector", cycles=work * frac / hw.vector_elems_per_cycle,
                              flows=tuple(flows), deps=tuple(deps), server=VECTOR_UNIT,
                              touches=touches))  # fmt: skip
            previous = i
            for v in inputs:
                self.read(v, i)
            self.write(out, tile, i)

    # --------------------------------------------------------------- walk
    def build(self, func: FuncOp) -> None:
        ret = func.body.block.last_op
        if isinstance(ret, ReturnOp):
            for v in ret.operands:
                while isinstance(v.owner, meta.SegmentOp):
                    v = v.owner.body.block.last_op.operands[v.index]  # type: ignore[union-attr,attr-defined]
                self.outputs.add(v)
        from cmswitch.simulator.timing_walk import walk

        walk(self, func)  # the @impls of timing_walk call the handlers above
        # free every value's storage once its last reader (or writer) is done
        for storage in self.storages:
            deps = tuple(sorted(set(storage.readers) | set(storage.writers)))
            if deps and storage.pools:
                op = self.tasks[deps[-1]].op
                self.add(Task(op, "free", deps=deps, frees=storage.pools))


_NONE: tuple[int, ...] = ()


def _arrays_of(place: meta.PlaceAttr | None) -> tuple[int, ...]:
    return place.array_ids if place is not None else ()


def main_function(module: ModuleOp) -> FuncOp:
    funcs = [op for op in module.ops if isinstance(op, FuncOp)]
    with_segments = [f for f in funcs if any(isinstance(o, meta.SegmentOp) for o in f.body.ops)]
    if not with_segments:
        raise SimulationError(None, "the module holds no cim_meta program (no cim_meta.segment)")
    return with_segments[0]


def module_hardware(module: ModuleOp) -> Hardware:
    attr = module.attributes.get("cim.hardware")
    if not isinstance(attr, cim.HardwareAttr):
        raise SimulationError(None, "the module has no #cim.hardware attribute")
    return attr.hardware()


def simulate_timing(
    module: ModuleOp,
    options: TileOptions | None = None,
    *,
    check: bool = True,
) -> Timeline:
    """Simulates the program's timing on the module's hardware."""
    hw = module_hardware(module)
    options = options or TileOptions()
    builder = _Builder(hw, options)
    builder.build(main_function(module))
    return run_tasks(builder, check=check)


def run_tasks(builder: _Builder, *, check: bool = True) -> Timeline:
    hw = builder.hw
    links = [
        Link("external", float(hw.external_bw_bytes)),
        Link("bus", float(hw.internal_bw_bits) / 8 if hw.internal_bw_bits else 1e-9),
    ]
    links += [Link(f"array {a}", hw.d_cim) for a in range(hw.arrays)]  # fmt: skip
    pools = [float(hw.buffer_bytes)] + [float(hw.array_bytes)] * hw.arrays
    engine = Engine(links, pools, servers=1, record_link=EXT)
    tasks = builder.tasks
    try:
        run = engine.run(tasks)
    except CapacityError as err:
        op = builder.ops[tasks[err.task].op]
        where = "the buffer" if err.pool == BUFFER else f"memory array {err.pool - 1}"
        raise SimulationError(
            op, f"{where} would hold {err.level:,.0f} bytes, its capacity is {err.capacity:,.0f}"
        ) from None
    segments_of_ops = [r.segment for r in builder.records]
    seg_ids = sorted(set(segments_of_ops))
    dense = {s: n for n, s in enumerate(seg_ids)}
    seg_of_task = [dense[segments_of_ops[t.op]] for t in tasks]
    ends = accounting.segment_ends(seg_of_task, run.finish, len(seg_ids))
    if ends:
        ends[-1] = run.makespan
    parts = accounting.breakdown([t.kind for t in tasks], run.start, run.finish, ends)
    segments = [
        SegmentTime(seg_ids[n], ends[n - 1] if n else 0.0, ends[n], parts[n])
        for n in range(len(seg_ids))
    ]
    modes: dict[int, list[tuple[float, str]]] = {}
    for i, a, mode in builder.switches:
        modes.setdefault(a, [(0.0, "compute")]).append((run.finish[i], mode))
    timeline = Timeline(
        hw, builder.records, tasks, run, tuple(link.name for link in links),
        ("buffer", *(f"array {a}" for a in range(hw.arrays))),
        accounting.total(parts), segments, modes, float(sum(builder.declared_ext)),
    )  # fmt: skip
    if check:
        from cmswitch.simulator.checks import check_timeline

        check_timeline(timeline, builder.ops, builder.declared_ext)
    return timeline


__all__ = ["TileOptions", "simulate_timing"]


def _deal(lo: int, n_rows: int, copies: int) -> list[tuple[int, int, int]]:
    """Rows ``lo .. lo + n_rows - 1`` dealt round-robin to ``copies`` copies
    (row ``r`` on copy ``r % copies``), as ``(first copy, copies, rows each)``
    groups of consecutive copies with as many rows: the ``n_rows % copies``
    copies from ``lo % copies`` on (modulo ``copies``) take one row more
    than the others. A group never wraps past the last copy: copies merged into one task start
    together, which is exact only for copies that were freed together (the
    same groups of the previous tiles)."""
    q, extra = divmod(n_rows, copies)
    first = lo % copies
    groups: list[tuple[int, int, int]] = []
    for start, count, rows in (
        (first, extra, q + 1),
        ((first + extra) % copies, copies - extra, q),
    ):
        if not count or not rows:
            continue
        head = min(count, copies - start)
        groups.append((start, head, rows))
        if count > head:
            groups.append((0, count - head, rows))
    return groups
