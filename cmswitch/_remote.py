"""A worker process of the compile driver: plans granularities of a model.

    python -m cmswitch._remote REQUEST.pickle RESULT.pickle

The request holds the model's (unsplit) IR as text, the chip, the schedule
options and the (split budget, static fraction) runs; the result is
``("ok", {budget: {function: (Schedule, fingerprint)}})`` or
``("error", message)``; schedules travel without their workload (the caller
extracts it from its own split and checks it against the fingerprint). A separate interpreter started with ``-m`` (not
``multiprocessing``) so that the caller's ``__main__`` is never re-imported.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any


def plan(
    text: str, hw: Any, options: Any, runs: list[tuple[int, float]]
) -> dict[int, dict[str, tuple[Any, str]]]:
    """Plans by split budget, for each (budget, static fraction) of `runs`."""
    from dataclasses import replace

    from cmswitch.ir import make_context, parse_module
    from cmswitch.passes.cim_schedule import plan_module
    from cmswitch.passes.cim_split import CimSplitPass

    ctx = make_context()
    original = parse_module(text, "<model>", ctx)
    cache: dict[Any, Any] = {}
    out: dict[int, dict[str, tuple[Any, str]]] = {}
    for budget, fraction in runs:
        module = original.clone()
        CimSplitPass(max_arrays=budget).apply(ctx, module)
        run = replace(options, compute_fraction=fraction)
        plans = plan_module(module, run, hw, cache=cache)
        # the caller re-extracts the workload from its own split (to check the
        # plan fits it), so it is not sent back
        out[budget] = {
            name: (replace(result, workload=None), fingerprint(result.workload))
            for name, (_, result) in plans.items()
        }
    return out


def fingerprint(workload: Any) -> str:
    """Identifies a workload's operators (names, shapes, layers, in order)."""
    import hashlib

    keys = [(o.name, o.shape, o.layer) for o in workload.ops]
    return hashlib.sha256(repr(keys).encode()).hexdigest()


def main(argv: list[str]) -> int:
    request, result = Path(argv[0]), Path(argv[1])
    try:
        answer: tuple[str, Any] = ("ok", plan(**pickle.loads(request.read_bytes())))
    except Exception as err:  # reported to the parent, which plans locally instead
        answer = ("error", f"{type(err).__name__}: {err}")
    result.write_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
