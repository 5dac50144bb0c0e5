"""Writes docs/EVALUATION.md and the README's results paragraph from the results.

    python benchmarks/write_evaluation.py

Every number in the prose is read here from
``benchmarks/results/schedule_quality.json`` and ``compile_time.json`` (and,
for "Estimate against simulation", by ``evaluation_simulation.py`` from the
simulator's results); the
tables and plots come from ``benchmarks/report.py`` (run by this script, so
tables, plots and prose come from one results file in one run).
"""

import json
import math
import subprocess
import sys
from pathlib import Path

Q = "benchmarks/results/schedule_quality.json"
C = "benchmarks/results/compile_time.json"
data = json.loads(Path(Q).read_text())
comp = json.loads(Path(C).read_text())
cfgs = data["configs"]
tables = subprocess.run(
    [sys.executable, "benchmarks/report.py", Q, "--plots", "docs"],
    capture_output=True,
    text=True,
    check=True,
).stdout
sys.path.insert(0, "benchmarks")
from report import compile_table  # noqa: E402

ctable = compile_table(json.loads(Path(C).read_text()))


def g(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


s = cfgs["strict"]
pr = cfgs.get("paper-roofline")
npts = len(s["points"])
models_b = sorted({(p["model"], p["batch"]) for p in s["points"]})
all_models = data["models"]
missing = [f"{m} b={b}" for m in all_models for b in data["batches"] if (m, b) not in models_b]


LLMS = ("llama2-7b", "opt-6.7b", "opt-13b")
_llm = [p["speedup_vs_all_compute"] for p in s["points"] if p["model"] in LLMS]
_rest = [p["speedup_vs_all_compute"] for p in s["points"] if p["model"] not in LLMS]
# what the other points' geometric mean would have to be for 1.31x over all
# of them, the LLM points as they are
need_rest = (
    math.exp((npts * math.log(1.31) - sum(math.log(v) for v in _llm)) / len(_rest))
    if _llm and _rest
    else float("nan")
)


def _reload_share(batch):
    vals = [p["policies"]["cmswitch"]["breakdown"]["reload"] / p["policies"]["cmswitch"]["latency_cycles"]
            for p in s["points"] if p["model"] in LLMS and p["batch"] == batch]  # fmt: skip
    return sum(vals) / len(vals) if vals else float("nan")


_lo_b, _hi_b = min(data["batches"]), max(data["batches"])
target_text = (
    f"The LLM points ({len(_llm)} of {npts}) are {min(_llm):.3f}-{max(_llm):.3f}x: "
    "their time is weight programming through the external channel (the same "
    f"for every policy: {_reload_share(_lo_b):.0%} of cmswitch's time at batch {_lo_b}, "
    f"{_reload_share(_hi_b):.0%} at batch {_hi_b}) and the arrays' bit-serial compute "
    "(their linear layers stream few bytes per MAC), neither of which memory "
    "arrays shorten. With them as they are, the other "
    f"{len(_rest)} points would need a geometric mean of {need_rest:.2f}x for 1.31x "
    f"overall; they have {g(_rest):.2f}x. "
    if _llm and _rest
    else ""
)


def share(cfg, pol_key, part, batch=None):
    vals = []
    for p in cfg["points"]:
        if batch is not None and p["batch"] != batch:
            continue
        pol = p[pol_key] if pol_key in ("strongest_all_compute", "best_static") else pol_key
        r = p["policies"][pol]
        vals.append(r["breakdown"][part] / r["latency_cycles"])
    return sum(vals) / len(vals) if vals else float("nan")


def chosen(cfg, pol):
    got = {}
    for p in cfg["points"]:
        b = p["policies"][pol]["split_budget"]
        got[b] = got.get(b, 0) + 1
    return ", ".join(f"{k} arrays: {v}" for k, v in sorted(got.items(), reverse=True))


low = min(s["points"], key=lambda p: p["speedup_vs_all_compute"])
high = max(s["points"], key=lambda p: p["speedup_vs_all_compute"])
strongest = {}
for p in s["points"]:
    strongest[p["strongest_all_compute"]] = strongest.get(p["strongest_all_compute"], 0) + 1
best_static = {}
for p in s["points"]:
    best_static[p["best_static"]] = best_static.get(p["best_static"], 0) + 1
gaps = {
    name: max(r["worst_gap"] for p in cfg["points"] for r in p["policies"].values())
    for name, cfg in cfgs.items()
}
tl = {
    name: sum(r["time_limited"] for p in cfg["points"] for r in p["policies"].values())
    for name, cfg in cfgs.items()
}
b1 = [p for p in s["points"] if p["batch"] == 1]
rows = comp["rows"]
over = [r for r in rows if r["ratio"] > 3.0]

_reps = {r["model"]: max(len(t) for t in r["runs"].values()) for r in rows}
_most = max(set(_reps.values()), key=list(_reps.values()).count)
comp_repeat = f"{_most} runs" + (
    " (" + ", ".join(f"{m}: {n}" for m, n in _reps.items() if n != _most) + ")"
    if any(n != _most for n in _reps.values())
    else ""
)
not_timed = [m for m in data["models"] if m not in {r["model"] for r in rows}]
unmeasured = f"Not measured: {', '.join(not_timed)}. " if not_timed else ""

previous = ""
_prev_path = Path("benchmarks/results/compile_time_previous.json")
if _prev_path.exists():
    _prev = json.loads(_prev_path.read_text())
    previous = (
        f"An earlier run of the same script (`compile_time_previous.json`, commit "
        f"{str(_prev['provenance'].get('commit'))[:7]}, load average "
        f"{_prev['loadavg_before'][0]:.1f}) measured "
        + ", ".join(f"{r['model']} {r['ratio']:.2f}x" for r in _prev["rows"])
        + ": at a few seconds per compile the ratio moves with the machine's load by "
        "a quarter or more, and the two runs are of different `strict` revisions (each "
        "revision changes which plans the MIPs weigh). "
    )

coverage = (
    f"all {npts} points"
    if not missing
    else f"{npts} of the {len(all_models) * len(data['batches'])} points (not measured in "
    f"this run: {', '.join(missing)})"
)
paper_cov = {name: len(cfg["points"]) for name, cfg in cfgs.items() if name != "strict"}

text = f"""# Evaluation: cmswitch against its baselines

Everything in this file is produced by the scripts in `benchmarks/`. The JSON
files in `benchmarks/results/` are the raw data (each with the shared
`provenance` block: commit, arguments, dependency versions, hardware
digest); the tables below are `benchmarks/report.py`'s rendering of them,
and the plots are drawn by the same `report.py` run from the same file.

```sh
python benchmarks/schedule_quality.py --out benchmarks/results/schedule_quality.json
python benchmarks/compile_time.py --json benchmarks/results/compile_time.json
python benchmarks/write_evaluation.py   # this file and the README paragraph
```

(`write_evaluation.py` runs `benchmarks/report.py ... --plots docs` for the
tables and plots and reads every number of the prose from the same JSON.)

`schedule_quality.py` caches every split workload and every finished
(cost model, model, batch, policy, granularity) run under `benchmarks/.cache/`,
so it resumes where it stopped; `--configs`, `--models` and `--batches`
select a part. Its scheduling time over everything in the cache was
{data["schedule_seconds_total"] / 60:.0f} minutes on this machine (2 cores
shared with the session's other benchmark runs).

## Setup

* **Chip:** the `dynaplasia` preset (paper Table 2: 96 dual-mode 320 x 320
  arrays, 32-bit internal bus, 128 B/cycle external bandwidth). Two
  constants the paper does not give are assumptions recorded in the TOML and
  **not tuned**: a vector unit of 64 elements/cycle and one row programmed
  per cycle (320 cycles per array). No preset constant was changed for this
  evaluation.
* **Points:** the seven paper models, prefill at sequence length 64, batch
  1, 4, 8, 16. This run covers, under `strict`, {coverage}.
* **Cost models** (`docs/DESIGN.md`, `cmswitch/schedule/cost.py`):
  `strict`, the default and the headline, revision
  {data.get("revisions", {}).get("strict", 1)}: the chip execution model's rules (one external
  channel per segment; programming through it on every array's port at
  once; bit-serial compute in whole copies; readers waiting for whole
  tensors in the pipeline fill; the vector unit as a concurrent stage; and,
  since revision 5, per tensor the held fraction on its memory arrays'
  ports and every access to the rest, vector accesses and im2col reads
  included, on the channel, with what the segment reads from earlier
  segments; since revision 6 a tensor's size is its vector chain's working
  set and its vector accesses the bytes its ops read and write;
  "Estimate against simulation" below). `paper`: the paper's
  equations as printed, to reproduce it, with each intensity (`roofline`,
  `input`, `streamed`). Every policy is costed by the same model.
* **Policies, on equal terms:** `cmswitch`, `cim-mlc`, `all-compute-dp`,
  `puma`, `static:0.25`, `static:0.5`, `static:0.75`. Every policy gets the
  same operator-granularity search (split to 96, 72, 48 and 24 arrays per
  operator; a static policy only to its share or finer) and keeps its
  fastest; every policy is finished by weight duplication of left-over
  arrays; cmswitch's DP also offers each segment the static plans of 1/4,
  1/2 and 3/4.
* **Speedups** are latency ratios at each policy's best granularity:
  over the *strongest all-compute baseline* (the faster of `cim-mlc` and
  `all-compute-dp` at that point), over `cim-mlc`, and over the *best
  static split* (the fastest of the three static fractions). Geometric means
  are over points.

![strict: speedup over the strongest all-compute baseline and the best static split](speedup.png)

## Headline (strict, the default cost model)

Under `strict`, cmswitch is **{s["geomean_vs_all_compute"]:.2f}x** faster than the strongest
all-compute baseline in geometric mean over {npts} points (paper: 1.31x over
CIM-MLC), {s["geomean_vs_cim_mlc"]:.2f}x faster than `cim-mlc`, and only
**{s["geomean_vs_best_static"]:.3f}x** faster than the best static split.
By this estimate it is never slower than any policy at any point
({"no violation" if not s["violations"] else str(len(s["violations"])) + " violations"}); the lowest point is
{low["model"]} batch {low["batch"]} at {low["speedup_vs_all_compute"]:.3f}x, the highest
{high["model"]} batch {high["batch"]} at {high["speedup_vs_all_compute"]:.2f}x. The
strongest all-compute baseline was {", ".join(f"`{k}` at {v}" for k, v in strongest.items())} points;
the best static split {", ".join(f"`{k}` at {v}" for k, v in best_static.items())}.

Granularity chosen under strict (points per split budget): cmswitch
{chosen(s, "cmswitch")}; all-compute-dp {chosen(s, "all-compute-dp")};
cim-mlc {chosen(s, "cim-mlc")}. Under `paper` the baselines gain from finer
splits (every operator of a segment gets the whole main-memory bandwidth, so
more, smaller operators get more bandwidth for the same work); under
`strict`, which shares it, they mostly do not.

{tables}

## Where the time goes (strict)

Averaged over the points, the share of each policy's own latency:

| | intra | vector (not hidden) | reload | switch | write-back |
|---|---|---|---|---|---|
| cmswitch | {share(s, "cmswitch", "intra"):.0%} | {share(s, "cmswitch", "vector"):.0%} | {share(s, "cmswitch", "reload"):.0%} | {share(s, "cmswitch", "switch"):.1%} | {share(s, "cmswitch", "writeback"):.1%} |
| strongest all-compute | {share(s, "strongest_all_compute", "intra"):.0%} | {share(s, "strongest_all_compute", "vector"):.0%} | {share(s, "strongest_all_compute", "reload"):.0%} | {share(s, "strongest_all_compute", "switch"):.1%} | {share(s, "strongest_all_compute", "writeback"):.1%} |
| best static | {share(s, "best_static", "intra"):.0%} | {share(s, "best_static", "vector"):.0%} | {share(s, "best_static", "reload"):.0%} | {share(s, "best_static", "switch"):.1%} | {share(s, "best_static", "writeback"):.1%} |

At batch 1 the reload is {share(s, "cmswitch", "reload", 1):.0%} of cmswitch's time on average:
every weight crosses the 128 B/cycle channel once per inference, whatever
the policy, and no schedule can shorten that (in `strict` programming is not
overlapped with the previous segment; the execution model lets it start on
free arrays, and the simulator shows part of it hidden: "Estimate against
simulation"). What memory mode
buys is the pipeline time (intra): arrays in memory mode feed operators the
activations the shared channel cannot. A fixed split does nearly as well:
the best static fraction at its best granularity is within
{(s["geomean_vs_best_static"] - 1) * 100:.1f}% of cmswitch in geometric mean, so switching modes
per segment adds little over choosing one good ratio per model, on these
models and this chip. Because cmswitch shortens the arrays' time, the
vector unit (64 elements/cycle, an assumption) is no longer hidden behind
them in many segments: its exposed share is
{share(s, "cmswitch", "vector"):.0%} for cmswitch against {share(s, "strongest_all_compute", "vector"):.0%} for the
strongest all-compute baseline. `docs/breakdown.png` shows the parts per
point (batch 1 and 16).

![strict: where the time goes](breakdown.png)

## Reproducing the paper (the paper cost model)

The `paper` tables above, per intensity
({", ".join(f"{k}: {v} points" for k, v in paper_cov.items())}). With fair
baselines the paper model's geometric-mean speedup over the strongest
all-compute baseline is {pr["geomean_vs_all_compute"]:.2f}x with the roofline intensity
(over cim-mlc {pr["geomean_vs_cim_mlc"]:.2f}x, over the best static split
{pr["geomean_vs_best_static"]:.3f}x); the README's former 1.54x came from giving the
granularity search to cmswitch alone and counting stationary weights as
streamed traffic.

![paper model, roofline](speedup_paper.png)

## What changed since the 1.54x figure

The former figure (paper model, roofline intensity, 28 points) did not
survive three questions; this evaluation answers them:

1. *Granularity for every policy.* Baselines now get the same split
   budgets (96, 72, 48, 24) and keep their best. Under `paper` (roofline)
   all-compute-dp chose {chosen(pr, "all-compute-dp")} and cim-mlc
   {chosen(pr, "cim-mlc")} (points per split budget); under `strict` both
   chose the whole chip everywhere a finer split did not pay (above).
2. *The intensity.* The `streamed` intensity counts only what crosses
   during compute; `strict` uses only it. All three intensities are
   reported for `paper`.
3. *Mode switching against a fixed split.* The best static split is now a
   column of every table: cmswitch's margin over it is small everywhere.

The 1.31x target is {"met" if s["geomean_vs_all_compute"] >= 1.31 else "not met"} under `strict`
({s["geomean_vs_all_compute"]:.2f}x over {npts} points{"" if not missing else ", the LLMs at batch 4-16 partly missing"}), with no point below 1.0x
against any policy; no preset constant was changed and no model rule was
fitted to reach a number (the `strict` rules changed in this revision
follow the execution model, to predict the simulator better). {target_text}Two cautions:
these are estimates, and the simulator judges the same schedules
differently ("Estimate against simulation" below); and the gain over a
fixed split, the paper's own claim, is small.

## Optimality

* Worst MIP gap over every policy and point: {", ".join(f"{k} {v:.1e}" for k, v in gaps.items())};
  time-limited MIPs: {", ".join(f"{k} {v}" for k, v in tl.items())}.
* `strict` segments are solved without a MIP, exactly (a bisection on
  the period to a relative 1e-12; `docs/DESIGN.md`); the gaps above are
  the `paper` model's MIPs.
* Tests check the DP against brute force over all segmentations under
  every cost model and intensity, each segment allocation against brute
  force over all count vectors, `cmswitch <= every baseline` on random graphs
  (hypothesis) under every cost model including user-named static
  fractions, and granularity parity (a baseline split like cmswitch plans
  the same workload, and cmswitch is never slower there).

## Compile time

The whole `cmswitch compile MODEL -o out.mlir --report r.json` command,
fresh process, wall clock, under the default `strict` model, the policies
interleaved in one session, median of {comp_repeat} (`benchmarks/compile_time.py`,
commit {str(comp["provenance"].get("commit"))[:7]}). The machine (2 cores, shared with
other jobs) had a load average of {comp["loadavg_before"][0]:.1f} before and
{comp["loadavg_after"][0]:.1f} after the run: absolute times move with the load, the
ratios less so. The ratio is to the strongest baseline at that model (the one whose
schedule is faster). Target: at most 3x on every zoo model:
{"met" if not over else "not met at " + ", ".join(f"{r['model']} ({r['ratio']:.2f}x)" for r in over)}.

{ctable}

{previous}{unmeasured}Every policy runs the granularity search (four splits), so the
baselines pay for it too. Since revision 5 `strict` solves every distinct
segment and mode without a MIP (a bisection on the period with a knapsack
over the segment's tensors, then the reload scan), and cmswitch solves the dual-mode and all-compute plans of every segment where a
baseline solves one kind. On the LLMs the split to a quarter of the chip
(about 39 000 operators for LLaMA-2-7B) makes the DP itself the larger cost,
for every policy alike.
"""
# the simulation results (benchmarks/evaluation_simulation.py)
from evaluation_simulation import section  # noqa: E402

text = text.rstrip("\n") + "\n\n" + section()
Path("docs/EVALUATION.md").write_text(text)
print("written", npts, missing)

# README results paragraph
sim_sentence = ""
SIM = Path("benchmarks/results/compare_simulated.json")
if SIM.exists():
    pts = json.loads(SIM.read_text())["points"]
    sim_all = g([p["simulated"]["vs_all_compute"] for p in pts])
    sim_static = g([p["simulated"]["vs_best_static"] for p in pts])
    not_first = sum(p["fastest_simulated"] != "cmswitch" for p in pts)
    llm_pts = [p for p in pts if p["model"] in ("llama2-7b", "opt-6.7b", "opt-13b")]
    llm_lo = min((p["simulated"]["vs_all_compute"] for p in llm_pts), default=1.0)
    llm_hi = max((p["simulated"]["vs_all_compute"] for p in llm_pts), default=1.0)
    llm_range = (
        f"{llm_lo:.3f}x" if f"{llm_lo:.3f}" == f"{llm_hi:.3f}" else f"{llm_lo:.3f}-{llm_hi:.3f}x"
    )
    llm_part = (
        f" (on the LLMs {llm_range} the speed of the strongest all-compute baseline)"
        if llm_pts
        else ""
    )
    models = ", ".join(dict.fromkeys(p["model"] for p in pts))
    batches = "/".join(str(b) for b in sorted({p["batch"] for p in pts}))
    sim_sentence = f"""
Judged by the simulator on {len(pts)} points ({models}; batch
{batches}; `benchmarks/compare_simulated.py`), cmswitch's schedules are {sim_all:.2f}x
faster than the strongest all-compute baseline's and {sim_static:.3f}x than
the best static split's in geometric mean, and {
        "cmswitch is the fastest policy at every one of them"
        if not not_first
        else f"another policy is the fastest at {not_first} of the {len(pts)} points ("
        + ", ".join(
            f"{p['model']} batch {p['batch']}: {p['fastest_simulated']}"
            for p in pts
            if p["fastest_simulated"] != "cmswitch"
        )
        + ")"
    }{llm_part}."""
agree = "the timing simulator, which runs each schedule's `cim_meta` program, judges them"
SIMJ = Path("benchmarks/results/simulate.json")
if SIMJ.exists():
    summ = json.loads(SIMJ.read_text())["summary"]
    if "strict" in summ and "paper" in summ:
        st, pa = summ["strict"], summ["paper"]
        agree = (
            f"the timing simulator, which runs each schedule's `cim_meta` program, is "
            f"{st['geomean_factor']:.2f}x away from `strict` per point in geometric mean "
            f"(Kendall tau of the policy rankings {st['kendall_tau_mean']:.2f}) and "
            f"{pa['geomean_factor']:.2f}x from `paper` (tau {pa['kendall_tau_mean']:.2f})"
        )
readme = Path("README.md").read_text()
start = readme.index("See `docs/DESIGN.md` for the decisions the paper leaves open")
para = f"""See `docs/DESIGN.md` for the decisions the paper leaves open and
`docs/EVALUATION.md` for the measured results. Under the default `strict`
cost model, with every policy given the same granularity search and
duplication, cmswitch is by its estimate never slower than any baseline and
{s["geomean_vs_all_compute"]:.2f}x faster than the strongest all-compute baseline in geometric mean
over {npts} points of the paper's seven models (paper: 1.31x over
CIM-MLC; {s["geomean_vs_cim_mlc"]:.2f}x over `cim-mlc` here), but only
{s["geomean_vs_best_static"]:.3f}x faster than the best fixed compute/memory split. Under the
paper's own equations (`--cost-model paper`, roofline intensity) the
figure is {pr["geomean_vs_all_compute"]:.2f}x over {len(pr["points"])} points.
These are *estimated* cycles (the cost model's); {agree}
(`docs/EVALUATION.md`, "Estimate against simulation").{sim_sentence}
"""
readme = readme[:start] + para
Path("README.md").write_text(readme)
print("readme done")
