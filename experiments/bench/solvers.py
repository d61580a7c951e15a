"""The ``solvers`` section of the throughput suite: the Jacobi solver against the ordered sweeps, side by side.

For each grid side ``n`` of ``--solver-grids`` (default 32,50,64,128,256,512; ``--quick``: 32,64): one synthetic
``n x n`` landscape (seed ``--seed``, as the ``grid`` section), ``--solver-fires`` single-cell fires drawn over its
burnable cells, the suite's weather and cap, and :func:`jaxfire.fire.solve_many` jitted once per solver
(``solver="jacobi"`` and ``solver="sweep"``).  Both run interleaved in one process (a call of one, then of the other,
``--repeats`` times after a first, compiling call each), so that a machine whose load changes during the run still
gives a fair ratio; times are medians.  The two answers are checked equal (``identical``: ``array_equal``) before
the timings count.  ``ratio`` = sweep sims/s / Jacobi sims/s; ``auto`` = what ``solver="auto"`` picks there
(:func:`jaxfire.fire.choose_solver`).  With ``--solver-work`` each row also has the sweeps' work: directional
sweeps per fire (restarts in larger windows included) and the active fraction (cells swept / (sweeps x grid
cells)), from one more compile of :func:`jaxfire.fire.sweep.solve_fires`.

A solver whose estimated time (``repeats + 1`` calls; Jacobi's from the previous grid scaled by cells^1.5, the
sweeps' by cells) exceeds ``--max-seconds`` is skipped with a note (its columns are empty).
"""
from __future__ import annotations

import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from experiments.bench import timing
from experiments.bench.measure import jit_spread_grid, sample_fires, weather
from jaxfire import fire, landscape as landscapes
from jaxfire.fire import sweep

KINDS = ("jacobi", "sweep")
GRIDS, QUICK_GRIDS = "32,50,64,128,256,512", "32,64"
# Cost growth with the grid at a fixed batch, for the skip estimate (measured: ~cells^1.3 and ~cells^0.8).
GROWTH = {"jacobi": 1.5, "sweep": 1.0}
jit_solve_many = jax.jit(fire.solve_many, static_argnames="solver")


def add_args(parser) -> None:
    """The section's options (an argument group of ``parser``)."""
    g = parser.add_argument_group("solvers (Jacobi vs ordered sweeps)")
    g.add_argument("--solver-grids", type=common.ints, default=None,
                   help=f"grid sides (default {GRIDS}; --quick: {QUICK_GRIDS})")
    g.add_argument("--solver-fires", type=int, default=64, help="fires per batch (default %(default)s)")
    g.add_argument("--solver-work", action="store_true",
                   help="also count the sweeps' work (sweeps per fire, active fraction; one more compile per grid)")


def resolve(args) -> None:
    """Fill ``args.solver_grids`` from the full or quick default; ``ValueError`` for sizes below the minimum."""
    if args.solver_grids is None:
        args.solver_grids = common.ints(QUICK_GRIDS if args.quick else GRIDS)
    if args.solver_fires < 1 or any(n < 4 for n in args.solver_grids):
        raise ValueError(f"--solver-fires must be >= 1 and --solver-grids >= 4, got {args.solver_fires} and "
                         f"{args.solver_grids}")


def interleaved(calls: dict, repeats: int) -> tuple[dict, dict]:
    """Each of ``calls`` (name -> function that blocks until done) once (compiling), then ``repeats`` rounds of
    one call of each in turn.  Returns ``(stats, last results)`` by name, ``stats`` with the keys of
    :func:`experiments.bench.timing.measure` (busy fractions over the whole interleaved interval)."""
    first, results, times = {}, {}, {name: [] for name in calls}
    for name, fn in calls.items():
        start = time.perf_counter()
        results[name] = fn()
        first[name] = time.perf_counter() - start
    cpu, jiffies, wall = timing._process_cpu_s(), timing._system_jiffies(), time.perf_counter()
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    wall, cpu, after = time.perf_counter() - wall, timing._process_cpu_s() - cpu, timing._system_jiffies()
    system = None
    if jiffies is not None and after is not None and after[1] > jiffies[1]:
        system = (after[0] - jiffies[0]) / (after[1] - jiffies[1])
    cores = os.cpu_count() or 1
    stats = {}
    for name in calls:
        median = statistics.median(times[name])
        stats[name] = {"first_call_s": first[name], "median_s": median, "compile_s": max(first[name] - median, 0.0),
                       "cpu_busy": cpu / wall / cores, "system_busy": system}
    return stats, results


def sweep_work(grid, ignitions, max_minutes: float) -> dict:
    """The sweeps' work on this batch (the levels :func:`jaxfire.fire.sweep.solver` uses for one grid):
    directional sweeps per fire and the active fraction (cells swept / (sweeps x grid cells))."""
    (H, W), N = grid.step_minutes.shape[-2:], len(ignitions)
    burning = jnp.zeros((N, H, W), bool).at[jnp.arange(N), ignitions[:, 0], ignitions[:, 1]].set(True)
    lvls = sweep.levels((H, W), N, 1, sweep.MIN_WINDOW, sweep.BATCH_CELLS, sweep.SHARED_CELLS, sweep.MIN_SLOTS)
    fires = sweep.Fires(grid.step_minutes[None], grid.first_step_minutes[None], burning,
                        jnp.full((N,), max_minutes, jnp.float32), jnp.zeros(N, jnp.int32))
    _, stats = jax.jit(sweep.solve_fires, static_argnums=(1, 2, 3))(fires, grid.moves, lvls, 4 * H * W)
    stats = np.asarray(stats)
    swept = sum(s[2] * lv.h * lv.w for s, lv in zip(stats, lvls))
    return {"levels": [f"{lv.h}x{lv.w}" for lv in lvls], "fires_per_level": stats[:, 0].astype(int).tolist(),
            "sweeps_per_fire": float(stats[:, 2].sum() / N),
            "active_fraction": float(swept / max(stats[:, 2].sum() * H * W, 1))}


def compare(args, notes: list) -> list[dict]:
    """One row per grid side: both solvers' timings and sims/s, ``ratio``, ``identical``, ``burned_fraction``,
    ``auto`` (and the sweeps' work with ``args.solver_work``)."""
    rows, previous = [], {}  # previous: name -> (cells, seconds per fire) of its last measured grid
    fires = args.solver_fires
    for n in args.solver_grids:
        land = landscapes.synthetic(jax.random.key(args.seed), (n, n))
        grid = jax.block_until_ready(jit_spread_grid(land, weather(args), args.neighbours))
        ignitions = sample_fires(land, fires, args.seed)
        calls = {}
        for kind in KINDS:
            estimate = None
            if kind in previous:
                cells, per_fire = previous[kind]
                estimate = per_fire * (n * n / cells) ** GROWTH[kind]
            if not common.too_slow(estimate, fires, args.repeats + 1, args.max_seconds,
                                   f"solver {kind} {n}x{n} ({fires} fires)", notes):
                calls[kind] = (lambda kind=kind: jax.block_until_ready(
                    jit_solve_many(grid, ignitions, args.max_minutes, solver=kind)))
        row = {"grid": n, "fires": fires, "auto": fire.choose_solver("auto", (n, n), fires)}
        if not calls:
            rows.append(row)
            continue
        stats, results = interleaved(calls, args.repeats)
        outputs = {kind: np.asarray(out) for kind, out in results.items()}
        if len(outputs) == 2:
            row["identical"] = bool(np.array_equal(outputs["jacobi"], outputs["sweep"]))
            if not row["identical"]:
                notes.append(f"solver {n}x{n}: Jacobi and sweep arrival times differ")
        row["burned_fraction"] = float(np.isfinite(next(iter(outputs.values()))).mean())
        for kind, s in stats.items():
            row[kind] = {**s, "sims_per_s": fires / s["median_s"]}
            previous[kind] = (n * n, s["median_s"] / fires)
        if len(stats) == 2:
            row["ratio"] = row["sweep"]["sims_per_s"] / row["jacobi"]["sims_per_s"]
        if args.solver_work:
            row.update(sweep_work(grid, ignitions, args.max_minutes))
        rows.append(row)
        print(f"[solvers {n}x{n}, {fires} fires] " + ", ".join(
            f"{kind} {row[kind]['sims_per_s']:.1f} sims/s (first call {row[kind]['first_call_s']:.1f} s)"
            for kind in KINDS if kind in row) + (f", ratio {row['ratio']:.2f}" if "ratio" in row else "")
            + f", identical {row.get('identical')}, burned {row['burned_fraction']:.3f}, "
            f"{timing.describe_busy(next(iter(stats.values())))}", flush=True)
    return rows


def long_rows(rows: list[dict]) -> list[dict]:
    """One ``{"grid", "solver", "median_s", ...}`` row per grid and measured solver (for
    :func:`experiments.bench.report.cost_exponents` with ``by=("solver",)``)."""
    return [{"grid": r["grid"], "fires": r["fires"], "solver": kind, **r[kind]} for r in rows for kind in KINDS
            if kind in r]


def measurements(rows: list[dict], add) -> None:
    """The section's headline numbers through ``add(name, unit, value)``
    (:func:`experiments.bench.report.measurements`)."""
    from experiments.bench.report import cost_exponents

    for r in rows:
        for kind in KINDS:
            if kind in r:
                add(f"solver {kind} {r['grid']}x{r['grid']} {r['fires']} fires", "sims/s", r[kind]["sims_per_s"])
        add(f"solver sweep/jacobi {r['grid']}x{r['grid']} {r['fires']} fires", "ratio", r.get("ratio"))
    for fit in cost_exponents(long_rows(rows), by=("solver",)):
        add(f"solver {fit['solver']} cost exponent", "exponent", fit["exponent"])


def markdown(rows: list[dict]) -> list[str]:
    """The section of ``throughput.md``."""
    from experiments.bench.report import cost_exponents, table

    work = any("sweeps_per_fire" in r for r in rows)
    header = ["grid", "fires", "Jacobi sims/s", "sweep sims/s", "sweep / Jacobi", "auto picks", "identical",
              "burned frac", "compile s (J / S)", "machine busy"] + (["sweeps/fire", "active"] if work else [])
    lines = []
    for r in rows:
        j, s = r.get("jacobi", {}), r.get("sweep", {})
        compile_s = " / ".join("-" if not x else f"{x['compile_s']:.0f}" for x in (j, s))
        line = [f"{r['grid']}x{r['grid']}", r["fires"], j.get("sims_per_s"), s.get("sims_per_s"), r.get("ratio"),
                r["auto"], r.get("identical"), r.get("burned_fraction"), compile_s,
                (s or j).get("system_busy")]
        lines.append(line + ([r.get("sweeps_per_fire"), r.get("active_fraction")] if work else []))
    fits = "; ".join(f"{f['solver']}: time ~ cells^{f['exponent']:.2f}"
                     for f in cost_exponents(long_rows(rows), by=("solver",)))
    return ["## Solvers: Jacobi vs ordered sweeps (same fires, interleaved)", "",
            "jaxfire.fire.solve_many with solver='jacobi' and solver='sweep' on the same batch, calls alternating, "
            "medians after a first (compiling) call; identical = arrival times array_equal; auto = the solver "
            "solver='auto' picks for the grid.", "",
            table(header, lines), "",
            f"Cost growth at a fixed batch (least-squares fit of log median time vs log H x W): "
            f"{fits or 'needs two grids'}.", ""]
