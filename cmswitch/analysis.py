"""Workload analysis report: what each CIM operator asks of the chip.

:func:`analyze` turns a :class:`~cmswitch.workload.Workload` into a JSON-ready
dict (stable order: operators in topological order); :func:`render_table`
prints it with rich. Per operator it gives the MMM shape, MACs, weight bytes,
arithmetic intensity under every model of :mod:`cmswitch.workload`
(``roofline``: MACs per byte moved; ``input``: MACs per input element, i.e.
K; ``streamed``: MACs per input and output byte, weights excluded)
and the minimum compute arrays, flagging operators larger than the whole chip
(they must be split before mapping).
"""

from __future__ import annotations

from typing import Any, get_args

from rich.console import Console
from rich.table import Table

from cmswitch.workload import AiModel, Workload

AI_MODELS: tuple[str, ...] = get_args(AiModel)


def analyze(
    workload: Workload,
    ai_model: str = "roofline",
    *,
    model: str | None = None,
    batch: int | None = None,
    seq: int | None = None,
    phase: str | None = None,
) -> dict[str, Any]:
    """The report as plain data (dicts, lists, numbers, strings).

    Keys: ``model``, ``arch``, ``arrays``, ``ai_model``, optional ``batch`` /
    ``seq`` / ``phase``, ``ops`` (one dict per CIM operator) and ``totals``.
    """
    if ai_model not in AI_MODELS:
        raise ValueError(
            f"unknown arithmetic-intensity model {ai_model!r}; choose {' or '.join(AI_MODELS)}"
        )
    hw = workload.hardware
    report: dict[str, Any] = {
        "model": model if model is not None else workload.name,
        "arch": hw.name,
        "arrays": hw.arrays,
        "ai_model": ai_model,
    }
    for key, value in (("batch", batch), ("seq", seq), ("phase", phase)):
        if value is not None:
            report[key] = value
    ops: list[dict[str, Any]] = []
    for op in workload:
        s = op.shape
        ai_roofline = op.ai("roofline")
        ai_input = op.ai("input")
        ai_streamed = op.ai("streamed")
        ops.append(
            {
                "index": op.index,
                "name": op.name,
                "kind": op.kind,
                "m": s.m,
                "n": s.n,
                "k": s.k,
                "groups": s.groups,
                "stationary": s.stationary,
                "macs": op.macs,
                "weight_bytes": _number(op.weight_bytes),
                "ai": op.ai(ai_model),  # type: ignore[arg-type]
                "ai_roofline": ai_roofline,
                "ai_input": ai_input,
                "ai_streamed": ai_streamed,
                "min_arrays": op.min_arrays,
                "fits": op.min_arrays <= hw.arrays,
                "vector_work": op.vector_work,
            }
        )
    report["ops"] = ops
    report["totals"] = {
        "ops": len(ops),
        "macs": workload.macs,
        "weight_bytes": _number(workload.weight_bytes),
        "vector_work": workload.vector_work,
        "max_min_arrays": max((o["min_arrays"] for o in ops), default=0),
        "oversize_ops": sum(1 for o in ops if not o["fits"]),
    }
    return report


def render_table(report: dict[str, Any], console: Console, limit: int | None = None) -> None:
    """Prints the per-operator table and a totals line.

    With `limit`, only the `limit` operators with the most MACs are listed
    (largest first); the totals always cover every operator.
    """
    ops: list[dict[str, Any]] = list(report["ops"])
    shown = ops
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        shown = sorted(ops, key=lambda o: (-o["macs"], o["index"]))[:limit]
    title = f"{report['model']} on {report['arch']}"
    extras = [f"{k} {report[k]}" for k in ("phase", "batch", "seq") if k in report]
    if extras:
        title += " (" + ", ".join(extras) + ")"
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("operator", overflow="fold")
    table.add_column("kind")
    for col in ("M", "N", "K", "groups", "MACs", "weights", f"AI ({report['ai_model']})",
                "min arrays"):  # fmt: skip
        table.add_column(col, justify="right")
    for o in shown:
        arrays = str(o["min_arrays"])
        table.add_row(
            str(o["index"]),
            o["name"],
            o["kind"] if o["stationary"] else f"{o['kind']} (dyn)",
            str(o["m"]),
            str(o["n"]),
            str(o["k"]),
            str(o["groups"]),
            _si(o["macs"]),
            _si(o["weight_bytes"], "B"),
            f"{o['ai']:.1f}",
            arrays if o["fits"] else f"[bold red]{arrays} > {report['arrays']}[/]",
        )
    console.print(table)
    if len(shown) < len(ops):
        console.print(f"({len(ops) - len(shown)} more operators not shown; largest by MACs first)")
    t = report["totals"]
    line = (
        f"[bold]Total[/]: {t['ops']} CIM operators, {_si(t['macs'])}MACs, "
        f"{_si(t['weight_bytes'], 'B')} stationary weights, vector work {_si(t['vector_work'])}"
        f" elements, largest operator needs {t['max_min_arrays']} of {report['arrays']} arrays"
    )
    if t["oversize_ops"]:
        line += f" ([bold red]{t['oversize_ops']} operators exceed the chip[/])"
    console.print(line)


def _number(x: float) -> int | float:
    """Whole floats as ints, so JSON reads naturally."""
    return int(x) if float(x).is_integer() else float(x)


def _si(x: float, unit: str = "") -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:g} {unit}".rstrip() if unit else f"{x:g} "
