"""Random ONNX graphs against ONNX Runtime, many more than the test suite runs.

    python benchmarks/random_graphs.py                    # 2000 graphs, seeds 0-1999
    python benchmarks/random_graphs.py --count 200 --first 5000 --json out.json

Each seed gives one graph of ``tests/random_onnx.py`` (the test suite's
generator, drawn from a seeded ``random.Random`` instead of hypothesis) and
one policy; the graph is imported for a 6-array chip, split, scheduled under
that policy, run by the reference executor and compared with ONNX Runtime.
Every failure is listed with its seed (``random_graph(RandomDraw(seed))``
rebuilds it). The counts go to ``benchmarks/results/random_graphs.json``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

from common import write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from random_onnx import POLICIES, RandomDraw, check_graph, random_graph


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--first", type=int, default=0, help="first seed")
    parser.add_argument(
        "--json", default=str(Path(__file__).parent / "results" / "random_graphs.json")
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    by_policy: collections.Counter[str] = collections.Counter()
    ops: collections.Counter[str] = collections.Counter()
    failures: list[dict[str, object]] = []
    for seed in range(args.first, args.first + args.count):
        graph = random_graph(RandomDraw(seed))
        by_policy[graph.policy] += 1
        ops.update(graph.ops)
        try:
            check_graph(graph)
        except Exception as err:
            first = (str(err).strip().splitlines() or [""])[0]
            failures.append(
                {"seed": seed, "graph": graph.describe(), "error": f"{type(err).__name__}: {first}"}
            )
            print(f"seed {seed}: {type(err).__name__}: {first}", file=sys.stderr)
        if (seed - args.first + 1) % 100 == 0:
            print(f"{seed - args.first + 1}/{args.count} graphs, {len(failures)} failures",
                  file=sys.stderr)  # fmt: skip
    seconds = time.perf_counter() - start
    payload = {
        "graphs": args.count,
        "seeds": [args.first, args.first + args.count - 1],
        "passed": args.count - len(failures),
        "failed": len(failures),
        "by_policy": {p: by_policy[p] for p in POLICIES},
        "operators": dict(ops.most_common()),
        "failures": failures,
        "total_seconds": round(seconds, 1),
    }
    write_results(args.json, "benchmarks/random_graphs.py", payload)
    print(f"{args.count} graphs, {len(failures)} failures, {seconds:.0f} s -> {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
