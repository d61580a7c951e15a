"""Benchmark of the spread engine: batched JAX solves against a NumPy one-fire-at-a-time baseline.

What is measured, for each square grid ``n x n`` (``--grids``):

* ``spread_grid``: the jitted per-landscape precomputation (Rothermel behaviour + stencil step times) of one
  synthetic landscape (``jaxfire.landscape.synthetic(jax.random.key(seed), (n, n))``) under a uniform wind.
* JAX engine: ``jax.jit`` of ``jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)`` on
  that precomputed grid, for each batch size (``--batches``) of single-cell ignitions drawn uniformly over the
  burnable cells (NumPy, seeded).  Reported: the first call (compilation included), the median wall time of
  ``--repeats`` further calls (``block_until_ready``), simulations/s = batch / median and cells/s =
  batch * H * W / median.  The engine does not expose how many Jacobi sweeps it ran, so cells/s counts each
  cell once per fire, not once per sweep.
* The seed-style baseline, what the original fuel-break system did: the same arrival-time model on the SAME
  step times, in NumPy, one fire after another (:func:`numpy_arrival_times`: Jacobi sweeps vectorized over the
  cells until nothing changes), run serially, through a ``ThreadPoolExecutor`` with ``os.cpu_count()`` workers
  (as the original did) and, with ``--process-pool``, a ``ProcessPoolExecutor``.  It runs ``--baseline-batch``
  fires (the first ignitions of the JAX batches) and only on grids up to 100 unless ``--baseline-all``.  Before
  timing, its arrival times are checked against the JAX engine's on the same fires.

All times are medians over ``--repeats`` calls made after a first (warm-up / compile) call.  Prints markdown
tables headed by a description of the machine; ``--json PATH`` also writes the rows and the machine to JSON.
JAX combinations whose estimated time (from the previous batch on the same grid) exceeds ``--max-seconds`` are
skipped with a note.

Run ``python -m experiments.bench_spread --help`` for the flags.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import json
import multiprocessing
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxfire
from experiments import common
from jaxfire import fire


def numpy_arrival_times(step_minutes, first_step_minutes, burnable, moves, ignition, max_minutes) -> np.ndarray:
    """Arrival times ``float32[H, W]`` of one fire in NumPy: the engine's model, solved by Jacobi sweeps.

    Args:
      step_minutes, first_step_minutes, burnable: the fields of a :class:`jaxfire.fire.SpreadGrid` as NumPy.
      moves: the grid's stencil moves (``dr``, ``dc`` of each).
      ignition: ``(row, col)`` of the ignited cell (a point source: a non-burnable one ignites its neighbours
        but does not burn itself).
      max_minutes: cap; later times are ``inf``.
    """
    M, H, W = step_minutes.shape
    cap = np.float32(max_minutes)
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    padded = np.full((H + 2 * pad, W + 2 * pad), np.inf, np.float32)
    times = np.full((H, W), np.inf, np.float32)
    times[tuple(ignition)] = 0.0

    def sweep(steps):
        """Capped ``min(times, times[c - m] + steps[m, c])`` over every move ``m``."""
        padded[pad:pad + H, pad:pad + W] = times
        best = times.copy()
        for m, cost in zip(moves, steps):
            np.minimum(best, padded[pad - m.dr:pad - m.dr + H, pad - m.dc:pad - m.dc + W] + cost, out=best)
        best[best > cap] = np.inf
        return best

    times = sweep(first_step_minutes)  # out-steps of the ignited cell start from its edge
    while True:
        new = sweep(step_minutes)
        if not (new < times).any():
            return np.where(burnable, new, np.float32(np.inf))
        times = new


def _median_time(fn, repeats: int) -> tuple[float, float, object]:
    """``(first call s, median s of ``repeats`` further calls, first call's result)``."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), result


def _fire(arrays, ignition):
    """:func:`numpy_arrival_times` of one ignition; ``arrays`` = ``(step, first, burnable, moves, max_minutes)``."""
    return numpy_arrival_times(*arrays[:4], ignition, arrays[4])


_WORKER_ARRAYS = None  # ``arrays`` of :func:`_fire`, sent once to each process-pool worker


def _init_worker(arrays):
    global _WORKER_ARRAYS
    _WORKER_ARRAYS = arrays


def _worker_fire(ignition):
    return _fire(_WORKER_ARRAYS, ignition)


def _row(method, n, batch, first, median, burned):
    return {"method": method, "grid": n, "batch": batch, "first_call_s": first, "median_s": median,
            "sims_per_s": batch / median, "cells_per_s": batch * n * n / median, "burned_fraction": burned}


def bench_grid(n: int, args, notes: list) -> tuple[list, dict]:
    """All measurements on one ``n x n`` landscape: ``(rows, comparison summary)``."""
    landscape = jaxfire.landscape.synthetic(jax.random.key(args.seed), (n, n))
    weather = jaxfire.Weather(args.wind_kmh, args.wind_from_deg)
    make_grid = jax.jit(functools.partial(fire.spread_grid, neighbours=args.neighbours))
    grid_first, grid_median, grid = _median_time(lambda: jax.block_until_ready(make_grid(landscape, weather)),
                                                 args.repeats)
    summary = {"grid": n, "spread_grid_first_call_s": grid_first, "spread_grid_median_s": grid_median}
    print(f"[{n}x{n}] spread_grid: first call {grid_first:.3f} s, median {grid_median * 1e3:.2f} ms", flush=True)

    rng = np.random.default_rng(args.seed)
    burnable = np.argwhere(np.asarray(landscape.burnable))
    ignitions = burnable[rng.integers(len(burnable), size=max(max(args.batches), args.baseline_batch))]
    solve_batch = jax.jit(jax.vmap(fire.solve, in_axes=(None, 0, None)))

    rows, reference, per_fire = [], None, None
    for batch in args.batches:
        if common.too_slow(per_fire, batch, args.repeats + 1, args.max_seconds, f"JAX {n}x{n} batch {batch}", notes):
            continue
        ign = jnp.asarray(ignitions[:batch])
        first, median, times = _median_time(
            lambda: solve_batch(grid, ign, args.max_minutes).block_until_ready(), args.repeats)
        reference = np.asarray(times)
        per_fire = median / batch
        rows.append(_row("jax vmap", n, batch, first, median, float(np.isfinite(reference).mean())))
        print(f"[{n}x{n}] JAX batch {batch}: first call {first:.2f} s, median {median:.3f} s, "
              f"{batch / median:.1f} sims/s", flush=True)
    if rows:
        summary.update(jax_batch=rows[-1]["batch"], jax_sims_per_s=rows[-1]["sims_per_s"])

    if n > 100 and not args.baseline_all:
        notes.append(f"skipped NumPy baselines on {n}x{n} (grids > 100 need --baseline-all)")
        print(notes[-1], flush=True)
        return rows, summary

    arrays = (np.asarray(grid.step_minutes), np.asarray(grid.first_step_minutes), np.asarray(grid.burnable),
              grid.moves, args.max_minutes)
    fires = [tuple(int(v) for v in ij) for ij in ignitions[:args.baseline_batch]]
    same = jnp.asarray(ignitions[:args.baseline_batch])
    first, median, reference = _median_time(
        lambda: solve_batch(grid, same, args.max_minutes).block_until_ready(), args.repeats)
    reference = np.asarray(reference)
    rows.append(_row("jax vmap (baseline fires)", n, len(fires), first, median, float(np.isfinite(reference).mean())))
    summary["jax_same_fires_sims_per_s"] = rows[-1]["sims_per_s"]
    one_fire = functools.partial(_fire, arrays)
    workers = os.cpu_count()
    with contextlib.ExitStack() as stack:
        threads = stack.enter_context(concurrent.futures.ThreadPoolExecutor(workers))
        runs = {"numpy serial": lambda: list(map(one_fire, fires)),
                f"numpy threads ({workers})": lambda: list(threads.map(one_fire, fires))}
        if args.process_pool:
            processes = stack.enter_context(concurrent.futures.ProcessPoolExecutor(  # spawn: JAX is threaded
                workers, multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(arrays,)))
            runs[f"numpy processes ({workers})"] = lambda: list(processes.map(_worker_fire, fires))
        for method, run in runs.items():
            first, median, result = _median_time(run, args.repeats)
            result = np.stack(result)
            checked = len(result)
            _check_same(result, reference, f"{method} on {n}x{n}")
            rows.append(_row(method, n, len(fires), first, median, float(np.isfinite(result).mean())))
            summary[method.split(" (")[0].replace(" ", "_") + "_sims_per_s"] = rows[-1]["sims_per_s"]
            print(f"[{n}x{n}] {method}: {len(fires)} fires, median {median:.3f} s, {len(fires) / median:.1f} sims/s"
                  f" (same arrival times as JAX on {checked} fires)", flush=True)
    return rows, summary


def _check_same(numpy_times, jax_times, what: str):
    """Assert identical finite masks and finite times equal to rtol 1e-5."""
    finite = np.isfinite(jax_times)
    if not (np.array_equal(np.isfinite(numpy_times), finite)
            and np.allclose(numpy_times[finite], jax_times[finite], rtol=1e-5)):
        raise AssertionError(f"{what}: NumPy baseline arrival times differ from the JAX engine's")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--grids", type=common.ints, default="32,50,100,256", help="square grid sides, comma-separated")
    p.add_argument("--batches", type=common.ints, default="1,64,256", help="JAX batch sizes (fires), comma-separated")
    common.add_fire_args(p)
    p.add_argument("--repeats", type=int, default=5, help="timed calls after the first (median reported)")
    p.add_argument("--seed", type=int, default=0, help="landscape key and ignition RNG seed")
    p.add_argument("--baseline-batch", type=int, default=32, help="fires run by each NumPy baseline")
    p.add_argument("--baseline-all", action="store_true", help="also run the NumPy baselines on grids > 100")
    p.add_argument("--process-pool", action="store_true", help="also time a ProcessPoolExecutor baseline")
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="skip a JAX batch whose estimated total time (from the previous batch) exceeds this")
    p.add_argument("--json", metavar="PATH", help="also write rows and machine description to this JSON file")
    return p.parse_args(argv)


def _table(header: list[str], lines: list[list]) -> str:
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v))  # noqa: E731
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(fmt(v) for v in line) + " |" for line in lines])


def main(argv=None) -> dict:
    """Run the benchmark, print the tables; returns what ``--json`` writes."""
    args = parse_args(argv)
    info = common.machine_description()
    print(f"machine: {info}", flush=True)
    rows, summaries, notes = [], [], []
    for n in args.grids:
        grid_rows, summary = bench_grid(n, args, notes)
        rows += grid_rows
        summaries.append(summary)

    print(f"\n## Spread benchmark: {args.neighbours}-neighbour stencil, wind {args.wind_kmh:g} km/h from "
          f"{args.wind_from_deg:g} deg, cap {args.max_minutes:g} min, medians of {args.repeats} calls")
    print(f"Machine: {info['processor']}, {info['cpu_count']} CPUs, {info['platform']}; jax {info['jax']} on "
          f"{', '.join(info['devices'])}; {info['date']}")
    print("cells/s = fires x H x W / median (the engine does not report its sweep count, so not per sweep).\n")
    print(_table(["method", "grid", "fires", "first call s", "median s", "sims/s", "cells/s", "burned frac"],
                 [[r["method"], f"{r['grid']}x{r['grid']}", r["batch"], r["first_call_s"], r["median_s"],
                   r["sims_per_s"], r["cells_per_s"], r["burned_fraction"]] for r in rows]))
    print("\n### Per grid: spread_grid precomputation; sims/s on the same baseline fires (ratios) and at the "
          "largest JAX batch\n")
    lines = []
    for s in summaries:
        same, serial, threads = (s.get(k) for k in ("jax_same_fires_sims_per_s", "numpy_serial_sims_per_s",
                                                    "numpy_threads_sims_per_s"))
        lines.append([f"{s['grid']}x{s['grid']}", s["spread_grid_first_call_s"], s["spread_grid_median_s"] * 1e3,
                      serial, threads, s.get("numpy_processes_sims_per_s"), same,
                      same / serial if same and serial else None, same / threads if same and threads else None,
                      s.get("jax_sims_per_s"), s.get("jax_batch")])
    print(_table(["grid", "spread_grid first s", "spread_grid ms", "NumPy sims/s", "threads sims/s",
                  "processes sims/s", "JAX same fires sims/s", "JAX/NumPy", "JAX/threads", "JAX sims/s at batch",
                  "batch"], lines))
    for note in notes:
        print(f"- {note}")

    result = {"machine": info, "args": vars(args), "rows": rows, "per_grid": summaries, "notes": notes}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
