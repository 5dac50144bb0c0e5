"""The timing simulator's walk over a `cim_meta` program, on xDSL's interpreter.

One ``@impl`` per `cim_meta` op issues the op's tasks (its resource requests:
tiles, flows, array uses, storage) to the timing builder
(:class:`cmswitch.simulator.timing._Builder`), which holds the chip's state
(array modes, where every value lives and who wrote each of its tiles); a
listener keeps the statistics apart from the semantics: it numbers and
records every op (:class:`~cmswitch.simulator.timeline.OpRecord`) before its
``@impl`` runs. The values the interpreter passes around are placeholders:
timing needs an op's tiles, not its numbers (the functional simulator,
:mod:`cmswitch.simulator.functional`, runs the numbers), and the builder
keeps the tiles by SSA value. Compile-time ops at the function level
(constants, weight slices) yield placeholders too; a `cim_meta.vector`'s body
is not run (its work is the wrapped op's ``vector_work()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from xdsl.ir import Operation

from cmswitch.dialects import cim_meta as meta

if TYPE_CHECKING:
    from cmswitch.simulator.timing import _Builder


class _Records(Interpreter.Listener):
    """Numbers and records every `cim_meta` op before its ``@impl`` runs."""

    def __init__(self, builder: _Builder) -> None:
        self.builder = builder
        self.segment = 0

    def will_interpret_op(self, op: Operation, args: PythonValues) -> None:
        if isinstance(op, meta.SegmentOp):
            self.segment = op.index.value.data
        elif isinstance(op, _ISSUING):
            name = meta.op_label(op) or op.name.removeprefix("cim_meta.")
            if isinstance(op, meta.VectorOp):
                name = op.inner.name.removeprefix("cim.")
            self.builder.current = self.builder.op_index(op, self.segment, name)


_ISSUING = (meta.SwitchOp, meta.ProgramOp, meta.MovementOp, meta.ComputeOp, meta.VectorOp)


@register_impls
class TimingFunctions(InterpreterFunctions):
    """``@impl``s that turn each `cim_meta` op into tasks for the engine."""

    def __init__(self, builder: _Builder) -> None:
        self.builder = builder

    def _issue(self, handler: Callable[[Any, int], None], op: Operation) -> PythonValues:
        handler(op, self.builder.current)
        return (None,) * len(op.results)

    @impl(meta.SegmentOp)
    def run_segment(
        self, interp: Interpreter, op: meta.SegmentOp, args: PythonValues
    ) -> PythonValues:
        return interp.run_ssacfg_region(op.body, (), "segment")

    @impl_terminator(meta.YieldOp)
    def run_yield(
        self, interp: Interpreter, op: meta.YieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    @impl(meta.SwitchOp)
    def run_switch(
        self, interp: Interpreter, op: meta.SwitchOp, args: PythonValues
    ) -> PythonValues:
        return self._issue(self.builder.switch, op)

    @impl(meta.ProgramOp)
    def run_program(
        self, interp: Interpreter, op: meta.ProgramOp, args: PythonValues
    ) -> PythonValues:
        return self._issue(self.builder.program, op)

    @impl(meta.LoadOp)
    def run_load(self, interp: Interpreter, op: meta.LoadOp, args: PythonValues) -> PythonValues:
        return self._issue(self.builder.movement, op)

    @impl(meta.StoreOp)
    def run_store(self, interp: Interpreter, op: meta.StoreOp, args: PythonValues) -> PythonValues:
        return self._issue(self.builder.movement, op)

    @impl(meta.MoveOp)
    def run_move(self, interp: Interpreter, op: meta.MoveOp, args: PythonValues) -> PythonValues:
        return self._issue(self.builder.movement, op)

    @impl(meta.ComputeOp)
    def run_compute(
        self, interp: Interpreter, op: meta.ComputeOp, args: PythonValues
    ) -> PythonValues:
        return self._issue(self.builder.compute, op)

    @impl(meta.VectorOp)
    def run_vector(
        self, interp: Interpreter, op: meta.VectorOp, args: PythonValues
    ) -> PythonValues:
        return self._issue(self.builder.vector, op)


def _placeholders(types: set[type[Operation]]) -> InterpreterFunctions:
    """``@impl``s giving placeholder results for the function-level ops of
    `types` (compile-time values: timing has nothing to do for them)."""

    def make(op_type: type[Operation]) -> Any:
        @impl(op_type)
        def run(
            self: InterpreterFunctions, interp: Interpreter, op: Operation, args: PythonValues
        ) -> PythonValues:
            return (None,) * len(op.results)

        return run

    methods = {f"run_{n}": make(t) for n, t in enumerate(sorted(types, key=lambda t: t.name))}
    return register_impls(type("CompileTimeValues", (InterpreterFunctions,), methods))()


def walk(builder: _Builder, func: FuncOp) -> None:
    """Runs `func` on the interpreter, the builder collecting its tasks."""
    module = func.parent_op()
    assert module is not None
    interp = Interpreter(module, listeners=(_Records(builder),))  # type: ignore[arg-type]
    interp.register_implementations(FuncFunctions())
    interp.register_implementations(TimingFunctions(builder))
    top = {type(op) for op in func.body.block.ops}
    unknown = [
        op for op in func.body.block.ops
        if not isinstance(op, meta.SegmentOp | ReturnOp) and op.regions
    ]  # fmt: skip
    if unknown:  # only flat compile-time ops may sit between segments
        raise builder.fail(unknown[0], "the timing simulator has no model for this op")
    interp.register_implementations(_placeholders(top - {meta.SegmentOp, ReturnOp}))
    for seg in func.body.block.ops:
        if isinstance(seg, meta.SegmentOp):
            for op in seg.body.block.ops:
                if not isinstance(op, (*_ISSUING, meta.YieldOp)):
                    raise builder.fail(op, "the timing simulator has no model for this op")
    interp.call_op(func.sym_name.data, (None,) * len(func.args))


__all__ = ["TimingFunctions", "walk"]
