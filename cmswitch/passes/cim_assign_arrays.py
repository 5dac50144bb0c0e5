"""`cim-assign-arrays`: physical array ids for every role of every segment.

Runs on a function segmented and allocated by ``cim-schedule``. Each CIM
operator's ``#cim.alloc<compute = C, mem_in = I, mem_out = O>`` becomes three
lists of physical array ids (discardable attributes ``compute_ids``,
``mem_in_ids``, ``mem_out_ids``); each ``cim.segment`` gets the union
(``compute_ids``, ``memory_ids``). An in-place ``shared`` buffer (producer,
consumer, k) gives k of the producer's output arrays to the consumer's input.

Segments are assigned in program order, greedily, against the chip's state
(each array's mode, the role it had in the previous segment, the weight
tile it holds):

* **memory roles** take, in order: arrays that were memory in the previous
  segment, arrays idle there that are already in memory mode, other arrays
  idle there, and only then arrays that computed there;
* **compute roles** take the rest in the mirror order. An operator whose
  weight tile an array already holds in compute mode keeps it (it is not
  reprogrammed).

With this order the arrays that switch although the previous segment used
them in the other mode are exactly ``max(0, C - (N - M'))`` (memory ->
compute) and ``max(0, M - (N - C'))`` (compute -> memory), the counts the
cost model's Eq. 1 charges (arrays idle in the previous segment switch in
its shadow). **Attention's K in place**: when a ``cim.matmul``'s right
operand was produced (through layout ops) by an operator of an earlier
segment into memory arrays, and memory arrays turn compute at this boundary
anyway, those arrays are the matmul's compute arrays, so ``cim-to-meta``
can run Q K^T on them after the switch, with no data movement (spec
section 3). The preference never adds a switch the cost model did not
charge. **A run-time operand held in its product's arrays**: when a
``cim.matmul``'s right operand (attention's K^T or V, after its layout ops)
is complete in an earlier segment, and enough arrays had no role from the
segment before that one on, the matmul computes on those arrays (one
copy's worth):
``cim-to-meta`` then writes the operand straight into them in memory mode
when it is produced, and switches them to compute for the product (see
``docs/DESIGN.md``, "Run-time operands"). Such arrays were idle in the
previous segment, so they switch in its shadow, as Eq. 1 assumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DenseArrayBase
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from cmswitch.builder import module_hardware
from cmswitch.dialects import cim_meta
from cmswitch.dialects.cim import (
    AllocationAttr,
    ComputeOp,
    LayoutOp,
    MatmulOp,
    Mode,
    SegmentOp,
    i64_array,
    ints,
    is_static_value,
    through_segments,
)
from cmswitch.hardware import Hardware
from cmswitch.passes.segments import read_segments


class AssignError(ValueError):
    """The schedule cannot be given physical arrays (user-facing)."""


COMPUTE_IDS = "compute_ids"
MEM_IN_IDS = "mem_in_ids"
MEM_OUT_IDS = "mem_out_ids"
MEMORY_IDS = "memory_ids"


@dataclass(frozen=True)
class OpArrays:
    """Physical arrays of one CIM operator's roles."""

    compute: tuple[int, ...]
    mem_in: tuple[int, ...] = ()
    mem_out: tuple[int, ...] = ()


@dataclass
class ChipState:
    """What the assignment knows about each array between segments."""

    arrays: int
    mode: list[Mode] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    """'c' / 'm' in the previous segment, '' if idle there."""
    holds: list[object] = field(default_factory=list)
    """Weight key of the tile an array holds (None: nothing reusable)."""
    last_role: list[int] = field(default_factory=list)
    """Index of the last segment that gave the array a role (-1: none)."""
    position: int = 0
    """Index of the segment being assigned."""

    def __post_init__(self) -> None:
        self.mode = [Mode.COMPUTE] * self.arrays
        self.role = [""] * self.arrays
        self.holds = [None] * self.arrays
        self.last_role = [-1] * self.arrays


def op_arrays(op: Operation) -> OpArrays | None:
    """The ids `cim-assign-arrays` wrote on a CIM operator, if any."""
    compute = op.attributes.get(COMPUTE_IDS)
    if not isinstance(compute, DenseArrayBase):
        return None

    def get(key: str) -> tuple[int, ...]:
        attr = op.attributes.get(key)
        return ints(attr) if isinstance(attr, DenseArrayBase) else ()

    return OpArrays(ints(compute), get(MEM_IN_IDS), get(MEM_OUT_IDS))


def _alloc(op: ComputeOp) -> AllocationAttr:
    attr = op.attributes.get("alloc")
    if not isinstance(attr, AllocationAttr):
        label = op.attributes.get("label")
        raise AssignError(f"{label or op.name}: no #cim.alloc (run cim-schedule first)")
    return attr


def rhs_producer(op: MatmulOp) -> ComputeOp | None:
    """The CIM operator whose result a matmul's right operand is, seen
    through layout ops (attention's K through reshape / transpose) and
    segment results."""
    value: SSAValue = op.rhs
    while True:
        owner = value.owner
        if isinstance(owner, SegmentOp):  # a result of an earlier segment
            value = owner.body.block.last_op.operands[value.index]  # type: ignore[union-attr,attr-defined]
            continue
        if isinstance(owner, ComputeOp):
            return owner
        if isinstance(owner, LayoutOp) and owner.operands and not is_static_value(value):
            value = owner.operands[0]
            continue
        return None


def segment_index(func: FuncOp) -> dict[Operation, int]:
    """The position (0, 1, ...) of the segment holding each op of `func`."""
    out: dict[Operation, int] = {}
    s = 0
    for seg in func.body.block.ops:
        if isinstance(seg, SegmentOp):
            for op in seg.body.block.ops:
                out[op] = s
            s += 1
    return out


def held_operand_segment(op: ComputeOp, seg_of: dict[Operation, int]) -> int | None:
    """For a `cim.matmul` whose run-time right operand is complete in an
    earlier segment than the product's, that segment's position; else None."""
    if not isinstance(op, MatmulOp) or is_static_value(op.rhs):
        return None
    owner = through_segments(op.rhs).owner
    s_r = seg_of.get(owner) if isinstance(owner, Operation) else None
    s_p = seg_of.get(op)
    if s_r is None or s_p is None or s_r >= s_p:
        return None
    return s_r


def _weight_base(op: ComputeOp) -> object | None:
    """Equal for two operators programming the same weights (and bias);
    None for a run-time operand. The key of tile ``t`` is ``(base, t)``."""
    if isinstance(op, MatmulOp) and not is_static_value(op.rhs):
        return None
    operands = op.operands
    return (operands[1], operands[2] if len(operands) > 2 else None)


def assign_function(func: FuncOp, hw: Hardware) -> list[tuple[SegmentOp, list[OpArrays]]]:
    """Assigns ids to every segment of `func` and writes them as attributes."""
    state = ChipState(hw.arrays)
    placed: dict[Operation, OpArrays] = {}
    out: list[tuple[SegmentOp, list[OpArrays]]] = []
    seg_of = segment_index(func)
    for seg, ops in read_segments(func):
        held = [held_operand_segment(op, seg_of) for op in ops]
        result = _assign_segment(seg, ops, state, placed, hw, held)
        for op, ids in zip(ops, result, strict=True):
            placed[op] = ids
            op.attributes[COMPUTE_IDS] = i64_array(ids.compute)
            op.attributes[MEM_IN_IDS] = i64_array(ids.mem_in)
            op.attributes[MEM_OUT_IDS] = i64_array(ids.mem_out)
        compute = sorted(a for ids in result for a in ids.compute)
        memory = sorted({a for ids in result for a in (*ids.mem_in, *ids.mem_out)})
        seg.attributes[COMPUTE_IDS] = i64_array(compute)
        seg.attributes[MEMORY_IDS] = i64_array(memory)
        out.append((seg, result))
    return out


def _assign_segment(
    seg: SegmentOp,
    ops: Sequence[ComputeOp],
    state: ChipState,
    placed: dict[Operation, OpArrays],
    hw: Hardware,
    held_since: Sequence[int | None] = (),
) -> list[OpArrays]:
    """`held_since[i]`: for a matmul whose run-time operand is complete in
    an earlier segment, that segment's position (see
    :func:`held_operand_segment`)."""
    allocs = [_alloc(op) for op in ops]
    shared = seg.shared_triples()
    given = {(p, c): k for p, c, k in shared}
    into = [sum(k for (_, c), k in given.items() if c == i) for i in range(len(ops))]
    n_compute = sum(a.compute.data for a in allocs)
    n_memory = sum(a.memory for a in allocs) - sum(given.values())
    if n_compute + n_memory > hw.arrays:
        raise AssignError(
            f"cim.segment {seg.index.value.data}: {n_compute} compute + {n_memory} memory arrays "
            f"exceed the chip's {hw.arrays}"
        )
    for i, a in enumerate(allocs):
        if into[i] > a.mem_in.data:
            raise AssignError(
                f"cim.segment {seg.index.value.data}: operator {i} shares {into[i]} input "
                f"arrays but has mem_in = {a.mem_in.data}"
            )
    ids = range(hw.arrays)
    prev_memory = sum(1 for a in ids if state.role[a] == "m")

    def memory_rank(a: int) -> tuple[int, int]:
        role, mode = state.role[a], state.mode[a]
        order = {"m": 0, "": 1 if mode is Mode.MEMORY else 2, "c": 3}[role]
        return order, a

    memory = sorted(ids, key=memory_rank)[:n_memory]
    taken = set(memory)
    # memory -> compute switches the cost model charges at this boundary
    budget = max(0, n_compute - (hw.arrays - prev_memory))

    def compute_rank(a: int) -> tuple[int, int]:
        role, mode = state.role[a], state.mode[a]
        order = {"c": 0, "": 1 if mode is Mode.COMPUTE else 2, "m": 3}[role]
        return order, a

    free = [a for a in sorted(ids, key=compute_rank) if a not in taken]
    compute: list[list[int]] = [[] for _ in ops]
    # 1. weights already in place are kept
    by_key: dict[object, list[int]] = {}
    for a in free:
        if state.holds[a] is not None and state.mode[a] is Mode.COMPUTE:
            by_key.setdefault(state.holds[a], []).append(a)
    bases = [_weight_base(op) for op in ops]
    if by_key:
        kept: set[int] = set()
        for i, (base, alloc) in enumerate(zip(bases, allocs, strict=True)):
            if base is None:
                continue
            for t in range(alloc.compute.data):
                hits = by_key.get((base, t))
                if hits:
                    a = hits.pop(0)
                    compute[i].append(a)
                    kept.add(a)
        free = [a for a in free if a not in kept]
    # 2. attention's K in place, within the charged memory -> compute switches
    used_m2c = 0
    for i, op in enumerate(ops):
        if not isinstance(op, MatmulOp) or compute[i]:
            continue
        producer = rhs_producer(op)
        if producer is None or producer not in placed:
            continue
        want = allocs[i].compute.data
        held = [a for a in placed[producer].mem_out if a in free and state.role[a] == "m"]
        if held and len(held) <= want and used_m2c + len(held) <= budget:
            compute[i].extend(held)
            used_m2c += len(held)
            for a in held:
                free.remove(a)
    # 2b. a run-time operand complete in an earlier segment: the product
    # takes (one copy's worth of) arrays with no role since the segment
    # before (their switches there are in the shadow), so the
    # operand can be written into them when produced (cim-to-meta)
    for i, op in enumerate(ops):
        since = held_since[i] if i < len(held_since) else None
        if since is None or compute[i]:
            continue
        tiles = len(cim_meta.weight_tiling(op.matmul_shape(), hw))
        if allocs[i].compute.data // tiles != 1:
            continue
        idle = [a for a in free if state.last_role[a] < max(0, since - 1)]
        if len(idle) >= tiles:
            compute[i].extend(idle[:tiles])
            for a in idle[:tiles]:
                free.remove(a)
    # 3. the rest, in preference order
    for i, alloc in enumerate(allocs):
        need = alloc.compute.data - len(compute[i])
        compute[i].extend(free[:need])
        del free[:need]
    # memory roles: producers' outputs, then inputs (shared ones from producers)
    pool = list(memory)
    mem_out: list[list[int]] = []
    for alloc in allocs:
        mem_out.append(pool[: alloc.mem_out.data])
        del pool[: alloc.mem_out.data]
    mem_in: list[list[int]] = [[] for _ in ops]
    handed = [0] * len(ops)
    for (p, c), k in sorted(given.items()):
        start = handed[p]
        mem_in[c].extend(mem_out[p][start : start + k])
        handed[p] += k
    for i, alloc in enumerate(allocs):
        need = alloc.mem_in.data - len(mem_in[i])
        mem_in[i].extend(pool[:need])
        del pool[:need]
    result = [
        OpArrays(tuple(compute[i]), tuple(mem_in[i]), tuple(mem_out[i])) for i in range(len(ops))
    ]
    # the chip after this segment
    used_c = {a for r in result for a in r.compute}
    used_m = set(memory)
    for a in used_c | used_m:
        state.last_role[a] = state.position
    for a in ids:
        if a in used_c:
            state.role[a] = "c"
            state.mode[a] = Mode.COMPUTE
        elif a in used_m:
            state.role[a] = "m"
            state.mode[a] = Mode.MEMORY
            state.holds[a] = None
        else:
            state.role[a] = ""
    for base, r in zip(bases, result, strict=True):
        for t, a in enumerate(r.compute):
            state.holds[a] = None if base is None else (base, t)
    state.position += 1
    return result


def switch_counts(
    prev: tuple[set[int], set[int]], cur: tuple[set[int], set[int]]
) -> tuple[int, int]:
    """(memory -> compute, compute -> memory) arrays that switch at a
    boundary although the previous segment used them in the other mode;
    `prev` / `cur` are (compute ids, memory ids)."""
    return len(prev[1] & cur[0]), len(prev[0] & cur[1])


@dataclass(frozen=True)
class CimAssignArraysPass(ModulePass):
    """Give every compute and memory role of every segment physical array
    ids, minimising mode flips and weight rewrites between segments and
    keeping attention's K where it was produced (`arch`: preset or TOML
    file; default: the module's cim.hardware)."""

    name = "cim-assign-arrays"

    arch: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        hw = Hardware.load(self.arch) if self.arch else module_hardware(op)
        for func in op.ops:
            if isinstance(func, FuncOp):
                assign_function(func, hw)
