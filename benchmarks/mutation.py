"""Mutation testing of the optimiser: do the tests fail when the code is wrong?

Offline, not part of the suite (it runs the relevant tests once per mutant)::

    nice python benchmarks/mutation.py --sample 200 --seed 2026
    python benchmarks/mutation.py --list            # every mutant, no run
    python benchmarks/mutation.py --only ID ...     # re-run some mutants

Mutants are made on the AST of every module of ``cmswitch/schedule/`` and
``cmswitch/passes/``, one change each:

* arithmetic ``+ - * / //`` swapped (``+`` <-> ``-``, ``*`` <-> ``/``, ``//`` -> ``/``),
  augmented assignments likewise;
* comparisons ``< <= > >= == != in is`` turned into their neighbour or negation;
* ``and`` <-> ``or``; ``not x`` -> ``x``; unary minus dropped;
* numeric constants ``n`` -> ``n + 1`` (and ``0.0`` / ``1.0`` swapped),
  ``True`` <-> ``False``;
* ``min`` <-> ``max``;
* ``break`` <-> ``continue``, a statement ``x = ...`` / ``x += ...`` / ``return
  ...`` inside a branch or loop body dropped (replaced by ``pass``).

Docstrings, annotations, f-strings, error messages and asserts are not
mutated. A seeded uniform sample is drawn from all mutants; each is written
into a private copy of the repository (the package and ``tests/``) and the
tests of its package (``SCHEDULE_TESTS`` / ``PASSES_TESTS``) that execute the
mutated lines (one pytest-cov run with per-test contexts, cached in
``~/.cache/cmswitch-mutation`` for identical code and tests) run there,
fastest first, with ``-x`` and a timeout. A mutant is *killed* when a test
fails (or it times out), else it *survives*. Survivors are resolved one of
three ways, each recorded with its reason: a test written to kill it
(re-run with ``--only ID --tests NODE --code-at COMMIT``), ``REMOVED`` (the
redundant code it mutated was removed), ``EQUIVALENT`` (no input can tell it
apart); the rest are listed in ``UNKILLED`` with why no test kills them. The
results (per mutant: status, the first failing test) are written to
``benchmarks/results/mutation.json`` after every mutant, so an interrupted
run keeps what it measured (``--resume`` continues it).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import write_results

ROOT = Path(__file__).resolve().parent.parent

TARGETS = ("cmswitch/schedule", "cmswitch/passes")
SCHEDULE_TESTS = (  # cheapest and most discriminating first (-x stops at a failure)
    "tests/test_cost.py",
    "tests/test_duplicate.py",
    "tests/test_segment.py",
    "tests/test_allocate.py",
    "tests/test_dp_inter.py",
    "tests/test_solver_paths.py",
    "tests/test_closed_form.py",
    "tests/test_policies.py",
    "tests/test_passes.py",
    "tests/test_compile.py",
)
PASSES_TESTS = (
    "tests/test_passes.py",
    "tests/test_assign_arrays.py",
    "tests/test_cim_meta.py",
    "tests/test_filecheck.py",
    "tests/test_compile.py",
    "tests/test_compile_cli.py",
)
RESULTS = ROOT / "benchmarks" / "results" / "mutation.json"

EQUIVALENT: dict[str, str] = {
    "cmswitch/schedule/plan.py:138:True->False#25": (
        "zip(names, s.allocs, strict=False) for strict=True in the report's "
        "rows: a segment has one name per allocation by construction, so both "
        "zip the same pairs"
    ),
    "cmswitch/schedule/policies.py:356:0.0->1.0#165": (
        "the DP's inter cost entering the first segment: every segmentation has "
        "exactly one first segment, so every path's cost shifts by the same 1.0 "
        "(same argmin; a segment starting at 0 is pruned less, never wrongly); "
        "the schedule's latency is recomputed by evaluate"
    ),
    "cmswitch/schedule/segment.py:104:Break->other#75": (
        "the DP tries the plans ending at i-1 cheapest first and stops once a plan's "
        "own cost reaches the best value found; with continue, every later plan "
        "(cheaper-first order: all as costly) fails the same test and is skipped "
        "without calling inter: same calls to the oracles, same result, only the "
        "loop runs to its end"
    ),
    "cmswitch/schedule/cost.py:343:0.0->1.0#165": (
        "the start of the stationary weight bytes' prefix sums (initial=1.0 for "
        "0.0): they are only read as differences prefix[end + 1] - prefix[start], "
        "where the offset cancels exactly (whole byte counts far below 2**53)"
    ),
}

UNKILLED: dict[str, str] = {
    "cmswitch/schedule/allocate.py:291:Gt->GtE#201": (
        "_from_dual's reuse of the dual-mode optimum for a capped mode is skipped when "
        "the optimum's memory arrays equal the cap exactly: the mode is then solved on "
        "its own, which finds the same optimum when its solver is exact (only more "
        "work); a node-limited MIP could return another incumbent, so not claimed "
        "equivalent. Run by the lead after the deadline; no test written yet"
    ),
    "cmswitch/passes/cim_assign_arrays.py:220:Continue->other#82": (
        "the search for weights already in place stops at the first operator with "
        "a run-time operand instead of skipping it, so a later operator of the "
        "segment reprograms weights it could keep. A test needs a weight reused "
        "across segments after an attention product in the same segment; not "
        "written by the deadline (and the file is being changed on another branch)"
    ),
    "cmswitch/schedule/allocate.py:390:0->0+1#299": (
        "strict: idle arrays given to the spilled data only when 2 or more would "
        "help, not 1. On 60 random strict segments it changed the returned plan on "
        "2, both at the same cost (the one idle array moved elsewhere); a test "
        "would need a segment where that last array lowers the cost. Not claimed "
        "equivalent"
    ),
    "cmswitch/schedule/allocate.py:420:1e-06->1e-06+1#306": (
        "t_top, a lower bound on the period of the reload caps below the first "
        "MIP's, divided by 2.000001 instead of 1.000001: still a valid, looser bound, "
        "so with MIPs solved to optimality the branch and bound finds the same "
        "optimum and only solves more MIPs (196 instead of 195 on 30 random "
        "segments); a MIP stopped by its node limit could then return another "
        "incumbent, so not claimed equivalent. No test pins the MIP count: its "
        "only reference would be the solver's own output"
    ),
    "cmswitch/schedule/allocate.py:703:1.0->0.0#409": (
        "the lean second MIP's cost of 1 per array set to 0 (only sharing is "
        "rewarded): HiGHS still returns the fewest arrays on every instance tried "
        "(70 brute-forced segments, both modes: its solutions sit at the variables' "
        "lower bounds), and a lean plan using more arrays than the first is "
        "rejected. No input found that shows it; not claimed equivalent"
    ),
    "cmswitch/schedule/allocate.py:446:Div->Mult#238": (
        "the branch and bound's period bound for caps below a MIP's plan, T / "
        "1.000001, becomes T x 1.000001: 2e-6 too high, so it may prune a cap whose "
        "plan has a period in [T, 1.000001 T) and fewer reloads. Plans of period T "
        "are found again by the lean second MIP; one strictly inside that range "
        "needs operators whose MAC counts are tuned to 1e-6, an instance not built "
        "yet. Not claimed equivalent"
    ),
    "cmswitch/schedule/policies.py:269:Lt->LtE#261": (
        "duplicate's acceptance test c < base (1 - 1e-12) as <=: the two differ only "
        "when a candidate's cost equals the threshold product to the last bit, an "
        "input no test could construct; not claimed equivalent"
    ),
    "cmswitch/schedule/policies.py:504:And->Or#186": (
        "offers CMSwitch's DP the static shares the largest operator does not fit "
        "(to the segments without it): a different, better answer (1120 instead of "
        "1515 cycles on tests/test_dp_inter.py's instance(7) at F = 0.2; 6 of 40 "
        "instances lower). Not pinned by a test: whether to offer those shares is a "
        "design question for the lead"
    ),
}
"""Survivors left alive, with why no test kills them (counted as survived)."""
"""Mutant id -> why the mutant cannot change any result (kept small: <= 5%)."""

REMOVED: dict[str, str] = {
    "cmswitch/schedule/allocate.py:192:drop-Return#5": (
        "decbbe1: layer_groups' fast path for contiguous layers returned the same "
        "tuple as the general path and was slower (6.8 vs 4.4 us per segment); removed"
    ),
    "cmswitch/schedule/allocate.py:407:max->min#226": (
        "dffcf2b: the spill (and bandwidth) floor of the reload-cap bound was always 0 "
        "there (the bound serves the paper model only); removed"
    ),
    "cmswitch/schedule/closed_form.py:203:Add->Sub#146": (
        "9910f8a: lean_allocation's fit check could not fail (T >= T*, the fewest "
        "arrays and the memory left after the best sharing never grow with T); "
        "now an assertion"
    ),
    "cmswitch/schedule/allocate.py:487:drop-Return#50": (
        "621cf3f: _strict_reload_scan's guard for a non-positive or infinite period could "
        "not fire (every operator has MACs, M = 0 fails earlier in fill_factor, "
        "and a compute array in the MIP's plan); now an assertion"
    ),
    "cmswitch/schedule/closed_form.py:227:0.0->1.0#236": (
        "d4c148a: min_period's floor had a dummy 0.0 term for minima exceeding the "
        "compute cap, a case that has no allocation whatever the floor; it now "
        "returns None first (its boundary is killed by the suite)"
    ),
    "cmswitch/schedule/policies.py:535:drop-Assign#22": (
        "f26cc4c: schedule() wrapped its result twice to refresh the stats after "
        "duplication (dropping the second wrap changed only the wall-clock seconds "
        "reported); the stats are now built once, after both"
    ),
    "cmswitch/schedule/allocate.py:281:drop-Return#18": (
        "7a544d8: _from_dual returned early for the DUAL mode itself; without it the "
        "cache lookup finds nothing (solve() returns a cached DUAL entry before "
        "asking), so the early return was redundant; removed"
    ),
    "cmswitch/schedule/allocate.py:402:0->0+1#131": (
        "dffcf2b: most_memory fed the spill floor of the reload-cap bound, always 0 "
        "there (paper model only); removed with it"
    ),
    "cmswitch/passes/cim_split.py:318:Lt->LtE#75": (
        "cc5b1d4: max-arrays equal to the chip replaced the chip by an equal one; "
        "now min(max_arrays, arrays), whose mutants the new tests kill"
    ),
}
"""Sampled survivors whose code was removed as redundant after the sample ran
(the commit and why): they no longer exist, so are neither killed nor equivalent."""

_SWAP_BIN: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
}  # fmt: skip
_SWAP_CMP: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    file: str
    index: int
    """Position of the mutation point in the file's deterministic walk."""
    line: int
    kind: str
    end_line: int = 0
    """Last line of the mutated node (the tests covering any of its lines run)."""

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.kind}#{self.index}"


def _skip_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, f-strings, the
    arguments of raise statements (messages), decorators."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
            if not isinstance(node, ast.Module):
                for d in node.decorator_list:
                    mark(d)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
            for a in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs):
                mark(a.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.JoinedStr | ast.Raise | ast.Assert):
            mark(node)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            mark(node)  # attribute docstrings
    return skip


def _points(tree: ast.AST) -> Iterator[tuple[ast.AST, str, Any]]:
    """(node, kind, how) for every mutation point, in a fixed order."""
    skip = _skip_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _SWAP_BIN:
            new = _SWAP_BIN[type(node.op)]
            yield node, f"{type(node.op).__name__}->{new.__name__}", new
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _SWAP_CMP:
                    new = _SWAP_CMP[type(op)]
                    yield node, f"{type(op).__name__}->{new.__name__}", (k, new)
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield node, f"{type(node.op).__name__}->{new.__name__}", new
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            yield node, f"drop-{type(node.op).__name__}", None
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            v = node.value
            if isinstance(v, bool):
                yield node, f"{v}->{not v}", not v
            elif v == 0.0 and isinstance(v, float):
                yield node, "0.0->1.0", 1.0
            elif v == 1.0 and isinstance(v, float):
                yield node, "1.0->0.0", 0.0
            elif isinstance(v, int | float):
                yield node, f"{v!r}->{v!r}+1", v + 1
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("min", "max")
        ):
            new_name = "max" if node.func.id == "min" else "min"
            yield node, f"{node.func.id}->{new_name}", new_name
        elif isinstance(node, ast.Break | ast.Continue):
            yield node, f"{type(node).__name__}->other", None
        elif isinstance(node, ast.If | ast.For | ast.While):
            for k, stmt in enumerate(node.body):
                if id(stmt) not in skip and isinstance(
                    stmt, ast.Assign | ast.AugAssign | ast.Return | ast.Expr
                ):
                    if isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Call):
                        continue
                    yield node, f"drop-{type(stmt).__name__}", k


def _apply(node: ast.AST, kind: str, how: Any) -> ast.AST | None:
    """Mutates `node` in place; returns a replacement node if it must be swapped."""
    if isinstance(node, ast.BinOp | ast.AugAssign):
        node.op = how()
    elif isinstance(node, ast.Compare):
        k, new = how
        node.ops[k] = new()
    elif isinstance(node, ast.BoolOp):
        node.op = how()
    elif isinstance(node, ast.UnaryOp):
        return node.operand
    elif isinstance(node, ast.Constant):
        node.value = how
    elif isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        node.func.id = how
    elif isinstance(node, ast.Break):
        return ast.Continue()
    elif isinstance(node, ast.Continue):
        return ast.Break()
    elif isinstance(node, ast.If | ast.For | ast.While):
        node.body[how] = ast.Pass()
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, old: ast.AST, new: ast.AST) -> None:
        self.old, self.new = old, new

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.old:
            return self.new
        return super().generic_visit(node)


def source_files(root: Path) -> list[str]:
    out: list[str] = []
    for target in TARGETS:
        out += sorted(
            str(p.relative_to(root)) for p in (root / target).glob("*.py") if p.stat().st_size
        )
    return out


def enumerate_mutants(root: Path) -> list[Mutant]:
    mutants: list[Mutant] = []
    for f in source_files(root):
        tree = ast.parse((root / f).read_text())
        for k, (node, kind, _) in enumerate(_points(tree)):
            line = getattr(node, "lineno", 0)
            mutants.append(Mutant(f, k, line, kind, getattr(node, "end_lineno", line) or line))
    return mutants


def mutated_source(m: Mutant, root: Path) -> str:
    """The mutant's module text, from the (unmutated) file under `root`."""
    tree = ast.parse((root / m.file).read_text())
    original = ast.unparse(tree)
    mutant = copy.deepcopy(tree)
    node, kind, how = list(_points(mutant))[m.index]
    assert kind == m.kind, (m, kind)
    new = _apply(node, kind, how)
    if new is not None:
        mutant = _Replace(node, new).visit(mutant)
    ast.fix_missing_locations(mutant)
    text = ast.unparse(mutant)
    if text == original:
        raise ValueError(f"{m.id}: mutation changes nothing")
    return text


SUBPROCESS_TESTS = ("tests/test_filecheck.py", "tests/test_compile_cli.py")
"""Tests that run the compiler in other processes (invisible to coverage)."""

Coverage = dict[tuple[str, int], set[str]]


def test_files(m: Mutant, work: Path) -> list[str]:
    tests = SCHEDULE_TESTS if m.file.startswith("cmswitch/schedule") else PASSES_TESTS
    return [t for t in tests if (work / t).exists()]


def tests_for(
    m: Mutant, work: Path, cover: Coverage | None, seconds: dict[str, float] | None = None
) -> list[str]:
    """The test node ids that execute the mutated lines, fastest first (by
    `seconds`, each test's time in the coverage run; -x stops at the first
    failure, so a mutant most tests catch costs the cheapest of them), plus
    the tests that run the compiler in a subprocess; without a coverage
    map, the whole test files of the mutant's package."""
    files = test_files(m, work)
    if cover is None:
        return files
    ids: set[str] = set()
    lines = range(m.line, max(m.line, m.end_line) + 1)
    for line in lines:
        ids |= cover.get((m.file, line), set())
    if not ids and any((m.file, line) in cover for line in lines):
        return files  # run at import only (a module constant): every test may see it
    rank = {f: k for k, f in enumerate(files)}
    known = seconds or {}
    chosen = sorted(
        (i for i in ids if i.split("::")[0] in rank and i.split("::")[0] not in SUBPROCESS_TESTS),
        key=lambda i: (known.get(i, float("inf")), rank[i.split("::")[0]], i),
    )
    if seconds is None:  # the old order: by file, then by name
        chosen.sort(key=lambda i: (rank[i.split("::")[0]], i))
    extra = [t for t in SUBPROCESS_TESTS if (work / t).exists()]
    if m.file.startswith("cmswitch/schedule") and chosen:
        extra = []  # covered in this process; the subprocess tests only repeat it
    return chosen + extra


def coverage_map(work: Path, files: list[str]) -> tuple[Coverage, dict[str, float]]:
    """Which test (node id) executes which line of the targets (pytest-cov
    with per-test contexts, one run of the unmutated code), and each test's
    seconds in that run."""
    import xml.etree.ElementTree as ET

    import coverage

    cmd, env = _pytest(work)
    env["COVERAGE_FILE"] = str(work / ".coverage")
    cmd = [c for c in cmd if c != "-x"]
    proc = subprocess.run(
        [*cmd, "--cov=cmswitch", "--cov-context=test", "--cov-report=",
         f"--junitxml={work / 'junit.xml'}", *files],
        cwd=work, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"the unmutated tests fail:\n{proc.stdout[-3000:]}")
    data = coverage.CoverageData(basename=str(work / ".coverage"))
    data.read()
    out: Coverage = {}
    for path in data.measured_files():
        rel = str(Path(path).resolve().relative_to(work.resolve()))
        if not rel.startswith(TARGETS):
            continue
        for line, contexts in data.contexts_by_lineno(path).items():
            out[(rel, line)] = {c.rsplit("|", 1)[0] for c in contexts if c}
    seconds: dict[str, float] = {}
    for case in ET.parse(work / "junit.xml").iter("testcase"):
        node = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        seconds[node] = float(case.get("time", "0"))
    return out, seconds


CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cmswitch-mutation"
"""Where coverage maps are kept between runs (``--resume``, ``--only``)."""


def _tree_digest(work: Path, files: list[str]) -> str:
    """Hash of everything a coverage map depends on: the package, the tests
    and the test files chosen (any change makes a new map)."""
    h = hashlib.sha256("\n".join(files).encode())
    for d in ("cmswitch", "tests"):
        for p in sorted((work / d).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(work)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:20]


def cached_coverage_map(
    work: Path, files: list[str], cache: Path | None
) -> tuple[Coverage, dict[str, float], float]:
    """:func:`coverage_map` (and the seconds it took), reused from `cache`
    when the package and tests are byte-identical to the run that made it."""
    path = cache / f"{_tree_digest(work, files)}.json" if cache else None
    if path is not None and path.exists():
        data = json.loads(path.read_text())
        cover = {(f, int(n)): set(ids) for f, lines in data["cover"].items()
                 for n, ids in lines.items()}  # fmt: skip
        return cover, data["seconds"], data["run_seconds"]
    t0 = time.perf_counter()
    cover, seconds = coverage_map(work, files)
    run_seconds = time.perf_counter() - t0
    if path is not None:
        by_file: dict[str, dict[str, list[str]]] = {}
        for (f, n), ids in cover.items():
            by_file.setdefault(f, {})[str(n)] = sorted(ids)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(
            {"files": files, "cover": by_file, "seconds": seconds, "run_seconds": run_seconds}
        ))  # fmt: skip
    return cover, seconds, run_seconds


def _first_failure(output: str) -> str | None:
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return found.group(1) if found else None


def run_mutant(m: Mutant, work: Path, tests: list[str], timeout: float) -> dict[str, Any]:
    target = work / m.file
    original = target.read_text()
    target.write_text(mutated_source(m, work))
    if not tests:  # no test executes the mutated lines
        target.write_text(original)
        return {
            "id": m.id, "file": m.file, "line": m.line, "kind": m.kind, "status": "survived",
            "killed_by": None, "tests_run": 0, "seconds": 0.0,
        }  # fmt: skip
    cmd, env = _pytest(work)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [*cmd, *tests], cwd=work, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if proc.returncode == 0:
            status, by = "survived", None
        elif proc.returncode == 1:
            status, by = "killed", _first_failure(proc.stdout)
        else:  # 2-4: collection / usage errors (an import-time crash)
            status, by = "killed", "collection: " + (_first_failure(proc.stdout) or "error")
    except subprocess.TimeoutExpired:
        status, by = "timeout", None
    finally:
        target.write_text(original)
    return {
        "id": m.id, "file": m.file, "line": m.line, "kind": m.kind, "status": status,
        "killed_by": by, "tests_run": len(tests), "seconds": round(time.perf_counter() - t0, 1),
        "timeout": round(timeout, 1),
    }  # fmt: skip


def _pytest(work: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0"]
    return cmd, env


def _baseline(work: Path, tests: tuple[str, ...]) -> float:
    """Seconds the unmutated code takes on `tests` (which must pass)."""
    cmd, env = _pytest(work)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*cmd, *tests], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"the unmutated tests fail:\n{proc.stdout[-3000:]}")
    return time.perf_counter() - t0


def _workspace(code_at: str | None = None) -> Path:
    """A private copy of the repository; with `code_at` (a commit), the
    package as it was there and the tests as they are now (re-running an
    old sample's survivors against tests written since)."""
    work = Path(tempfile.mkdtemp(prefix="cmswitch-mutation-"))
    ignore = shutil.ignore_patterns("__pycache__", "Output", "*.lit_test_times.txt")
    for d in ("cmswitch", "tests", "benchmarks"):
        shutil.copytree(ROOT / d, work / d, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    if code_at is not None:
        shutil.rmtree(work / "cmswitch")
        archive = subprocess.run(
            ["git", "archive", code_at, "cmswitch"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    return work


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Killed (a test failed or it timed out), declared equivalent
    (``EQUIVALENT``), code removed since (``REMOVED``), survived."""
    killed = sum(r["status"] in ("killed", "timeout") for r in rows)
    alive = [r for r in rows if r["status"] == "survived"]
    equivalent = [r for r in alive if r["id"] in EQUIVALENT]
    removed = [r for r in alive if r["id"] in REMOVED and r["id"] not in EQUIVALENT]
    survived = [r for r in alive if r["id"] not in EQUIVALENT and r["id"] not in REMOVED]
    n = len(rows)
    scored = n - len(equivalent) - len(removed)
    return {
        "mutants_run": n,
        "killed": killed,
        "equivalent": len(equivalent),
        "removed": len(removed),
        "survived": len(survived),
        "score": killed / scored if scored else None,
        "killed_share": killed / n if n else None,
        "equivalent_share": len(equivalent) / n if n else None,
        "survivors": [r["id"] for r in survived],
        "equivalent_reasons": {r["id"]: EQUIVALENT[r["id"]] for r in equivalent},
        "removed_reasons": {r["id"]: REMOVED[r["id"]] for r in removed},
        "survivor_notes": {r["id"]: UNKILLED[r["id"]] for r in survived if r["id"] in UNKILLED},
    }


def _commit() -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def _run_selected(
    m: Mutant,
    work: Path,
    args: argparse.Namespace,
    timeouts: dict[tuple[str, ...], float],
    covers: dict[tuple[str, ...], Coverage],
    durations: dict[tuple[str, ...], dict[str, float]],
) -> dict[str, Any]:
    """Runs the tests that execute the mutant's lines (coverage map and
    timeouts built on first use per test set)."""
    files = tuple(test_files(m, work))
    if files not in timeouts:  # 3x an unmutated run (under coverage: slower)
        if args.coverage:
            covers[files], durations[files], seconds = cached_coverage_map(
                work, list(files), None if args.no_cache else CACHE
            )
        else:
            seconds = _baseline(work, files)
        timeouts[files] = args.timeout or max(60.0, 3.0 * seconds)
    by_time = durations.get(files) if args.order == "fastest" else None
    tests = tests_for(m, work, covers.get(files), by_time)
    timeout = timeouts[files]
    if files in durations and not args.timeout:  # 3x what these tests took
        known = durations[files]

        def took(t: str) -> float | None:  # a node id, or a whole file's nodes
            if t in known:
                return known[t]
            parts = [v for k, v in known.items() if k.split("::")[0] == t]
            return sum(parts) if parts else None

        spent = [took(t) for t in tests]
        if all(x is not None for x in spent):  # else: the whole files' timeout
            timeout = max(60.0, 3.0 * sum(x for x in spent if x is not None) + 10.0)
    return run_mutant(m, work, tests, timeout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="mutation testing of cmswitch/schedule and cmswitch/passes"
    )
    ap.add_argument("--sample", type=int, default=200, help="mutants to run (0: all)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--timeout", type=float, default=None,
        help="seconds per mutant (default: 3x the unmutated run of the same tests, >= 60)",
    )  # fmt: skip
    ap.add_argument("--list", action="store_true", help="list the sampled mutants and stop")
    ap.add_argument("--only", nargs="+", default=None, metavar="ID", help="run these mutants")
    ap.add_argument("--resume", action="store_true", help="keep results already in the file")
    ap.add_argument("--output", default=str(RESULTS))
    ap.add_argument(
        "--tests", nargs="+", default=None, metavar="NODE",
        help="with --only: run these tests instead (e.g. the tests written to kill "
        "earlier survivors); a mutant still passing them keeps its old result",
    )  # fmt: skip
    ap.add_argument(
        "--no-coverage", dest="coverage", action="store_false",
        help="run every test file of the mutant's package (default: only the tests that "
        "execute the mutated lines, from one pytest-cov run; needs pytest-cov)",
    )  # fmt: skip
    ap.add_argument(
        "--code-at", default=None, metavar="COMMIT",
        help="with --only: mutate the package as it was at COMMIT (the sample's), "
        "run today's tests (after the code under a survivor changed)",
    )  # fmt: skip
    ap.add_argument(
        "--order", choices=("fastest", "file"), default="fastest",
        help="covering tests fastest first (default) or by file then name (the old order, "
        "to measure the difference)",
    )  # fmt: skip
    ap.add_argument(
        "--no-cache", action="store_true",
        help=f"rebuild the coverage map even if {CACHE} holds one for identical code and tests",
    )  # fmt: skip
    ap.add_argument(
        "--summary-only", action="store_true",
        help="recompute the summary of --output (after editing EQUIVALENT) and stop",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.summary_only:
        out = Path(args.output)
        record = json.loads(out.read_text())
        record["summary"] = summarise(record["mutants"])
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(record["summary"], indent=2))
        return 0

    work = _workspace(args.code_at)  # a snapshot: the working tree may change meanwhile
    commit = _commit()  # of the snapshot (uncommitted changes are not recorded)
    everything = enumerate_mutants(work)
    by_id = {m.id: m for m in everything}
    if args.only:
        chosen = [by_id[i] for i in args.only]
    elif args.sample and args.sample < len(everything):
        chosen = random.Random(args.seed).sample(everything, args.sample)
    else:
        chosen = everything
    if args.list:
        shutil.rmtree(work, ignore_errors=True)
        for m in chosen:
            print(m.id)
        print(f"{len(chosen)} of {len(everything)} mutants", file=sys.stderr)
        return 0
    previous: dict[str, dict[str, Any]] = {}
    first: dict[str, Any] = {}
    out = Path(args.output)
    if (args.resume or args.only) and out.exists():
        record = json.loads(out.read_text())
        previous = {r["id"]: r for r in record.get("mutants", [])}
        first = {
            k: v for k, v in record.get("provenance", {}).items()
            if k not in ("python", "machine", "cpus")
        }  # fmt: skip
    order = [m.id for m in chosen] if not (args.only and previous) else list(previous)
    timeouts: dict[tuple[str, ...], float] = {}
    covers: dict[tuple[str, ...], Coverage] = {}
    durations: dict[tuple[str, ...], dict[str, float]] = {}
    try:
        for k, m in enumerate(chosen):
            if args.resume and m.id in previous and not args.only:
                continue
            if args.tests:
                row = run_mutant(m, work, args.tests, args.timeout or 600.0)
                if row["status"] == "survived" and m.id in previous:
                    print(f"[{k + 1}/{len(chosen)}] still survives {m.id}", flush=True)
                    continue
            else:
                row = _run_selected(m, work, args, timeouts, covers, durations)
            previous[m.id] = row
            print(f"[{k + 1}/{len(chosen)}] {row['status']:8} {m.id} {row['killed_by'] or ''}",
                  flush=True)  # fmt: skip
            rows = [previous[i] for i in order if i in previous]
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if args.only:  # a re-run of some mutants (e.g. survivors after new tests)
                meta = {**first, "reruns": [*first.get("reruns", []),
                        {"commit": commit, "date": now, "ids": args.only,
                         "tests": args.tests, "code_at": args.code_at}]}  # fmt: skip
            else:
                meta = {
                    "commit": commit, "seed": args.seed, "sample": args.sample,
                    "population": len(everything), "targets": list(TARGETS), "date": now,
                    "timeout_seconds": {" ".join(k): round(v, 1) for k, v in timeouts.items()},
                }  # fmt: skip
            argv = meta.pop("argv", None)
            meta.pop("script", None)
            if argv is not None:  # the sample's command, not this re-run's
                meta["sample_argv"] = argv
            write_results(
                str(out), "benchmarks/mutation.py",
                {"summary": summarise(rows), "mutants": rows}, **meta,
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
