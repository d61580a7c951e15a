"""The pyretechnics column of the throughput suite: the real simulator on the spread section's landscapes and fires.

For each grid of the spread section, :func:`column` writes the synthetic landscape, the weather and the first
``--pyre-fires`` of the section's fires to an ``.npz`` and runs :mod:`experiments.bench.pyretechnics_runner` with
the reference environment's interpreter (``make reference-env``: ``.venv-reference/bin/python``) in a subprocess,
one fire after another on one core.  Each row has pyretechnics' seconds per simulation, jaxfire's best sims/s on that
grid (one batch on every core), their ratio, and how well the two agree on the burned cells of those fires (so the
ratio compares simulations of the same fires that burn about the same area).

Units: seconds, simulations per second; ratios are plain numbers; IoU = |burned in both| / |burned in either|.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from experiments import common
from experiments.bench import measure
from jaxfire import landscape as landscapes

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("pyretechnics_runner.py")
DEFAULT_NAME = ".venv-reference/bin/python"  # what `make reference-env` builds, under the repository root
DEFAULT_PYTHON = ROOT / DEFAULT_NAME
SCALING = 3.0  # time per fire ~ side^SCALING, to estimate the next grid's from the last (conservative)


def default_fires(n: int) -> int:
    """Fires run on an ``n x n`` grid when ``--pyre-fires`` is not given: 4 up to 128, 2 up to 256, else 1."""
    return 4 if n <= 128 else 2 if n <= 256 else 1


def write_input(path: Path, land, weather, ignitions, max_minutes: float, arrival_times: bool) -> None:
    """The runner's ``.npz``: ``land`` (a :class:`jaxfire.landscape.Landscape`), ``weather`` (uniform
    :class:`jaxfire.Weather`), ``ignitions`` ``int[N, 2]`` ``(row, col)``, the cap in minutes, project conventions."""
    np.savez(path, fuel_model=np.asarray(land.fuel_model), slope_deg=np.asarray(land.slope_deg),
             aspect_deg=np.asarray(land.aspect_deg), canopy_cover=np.asarray(land.canopy_cover),
             canopy_height_m=np.asarray(land.canopy_height_m),
             canopy_base_height_m=np.asarray(land.canopy_base_height_m),
             canopy_bulk_density_kg_m3=np.asarray(land.canopy_bulk_density_kg_m3), cell_size_m=land.cell_size_m,
             ignitions=np.asarray(ignitions, np.int32), wind_kmh=float(weather.wind_speed_kmh),
             wind_from_deg=float(weather.wind_from_deg), moisture=np.asarray(weather.moisture, np.float64),
             foliar_moisture=float(weather.foliar_moisture), max_minutes=float(max_minutes),
             arrival_times=arrival_times)


def run(python, land, weather, ignitions, max_minutes: float, timeout_s: float, arrival_times: bool = True) -> dict:
    """The runner's output JSON (see :mod:`experiments.bench.pyretechnics_runner`) for these fires, run by the
    interpreter ``python``; ``RuntimeError`` with the runner's output when it fails, ``subprocess.TimeoutExpired``
    past ``timeout_s`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "input.npz", Path(tmp) / "output.json"
        write_input(data, land, weather, ignitions, max_minutes, arrival_times)
        proc = subprocess.run([str(python), "-I", str(RUNNER), str(data), str(out)], cwd=tmp, timeout=timeout_s,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"pyretechnics runner failed (exit {proc.returncode}): {proc.stdout[-1500:]}")
        return json.loads(out.read_text())


def agreement(jax_times: np.ndarray, fires: list[dict]) -> dict:
    """Burned-cell agreement of jaxfire's arrival times ``float[N, H, W]`` (``inf`` = unburned) with the runner's
    ``fires`` (same ignitions, with ``arrival_minutes`` and ``stop_condition``).

    ``stopped_early``: fires pyretechnics ended before the cap (``"no burnable cells"``: on a fuel mosaic its
    ignited cell can go out again, its level-set value rising back above 0, when a non-burnable cell or the grid edge
    is next to it downwind); ``burned_ratio_mean`` (jaxfire / pyretechnics burned counts), ``iou_mean`` and
    ``iou_min`` over the other fires (``None`` when there are none); ``iou_mean_all`` over every fire."""
    ratios, ious, full = [], [], []
    for times, fire in zip(jax_times, fires):
        theirs = np.array([[t is not None for t in row] for row in fire["arrival_minutes"]])
        ours = np.isfinite(times)
        ratios.append(ours.sum() / fire["burned_cells"])
        ious.append((ours & theirs).sum() / (ours | theirs).sum())
        full.append(fire["stop_condition"] == "max duration reached")
    ratios, ious, full = np.array(ratios), np.array(ious), np.array(full)
    mean = lambda values: float(np.mean(values)) if len(values) else None  # noqa: E731
    return {"stopped_early": int((~full).sum()), "burned_ratio_mean": mean(ratios[full]),
            "iou_mean": mean(ious[full]), "iou_min": float(np.min(ious[full])) if full.any() else None,
            "iou_mean_all": float(np.mean(ious))}


def grid_row(n: int, fires: int, args, jax_row: dict) -> dict:
    """pyretechnics on the ``n x n`` landscape of the spread section and its first ``fires`` fires (at most the
    section's largest batch: those are the fires it timed), against ``jax_row`` (the section's fastest row on that
    grid); the runner is killed past ``3 * args.max_seconds``."""
    land = landscapes.synthetic(jax.random.key(args.seed), (n, n))
    weather = measure.weather(args)
    ignitions = measure.sample_fires(land, max(args.batches), args.seed)[:fires]
    fires = len(ignitions)
    grid = measure.jit_spread_grid(land, weather, args.neighbours)
    jax_times = np.asarray(measure.jit_solve_many(grid, ignitions, args.max_minutes))
    start = time.perf_counter()
    out = run(args.pyretechnics, land, weather, np.asarray(ignitions), args.max_minutes, 3 * args.max_seconds)
    walls = [f["wall_s"] for f in out["fires"]]
    seconds = float(np.mean(walls))
    cores = os.cpu_count() or 1
    speedup = jax_row["sims_per_s"] * seconds
    return {"grid": n, "fires": fires, "pyretechnics": out["pyretechnics"], "wall_s": walls,
            "cpu_busy": sum(f["cpu_s"] for f in out["fires"]) / sum(walls),
            "burned_cells": [f["burned_cells"] for f in out["fires"]], "seconds_per_sim": seconds,
            "subprocess_s": time.perf_counter() - start, "jax_batch": jax_row["batch"],
            "jax_sims_per_s": jax_row["sims_per_s"], "jax_cores": cores, "speedup": speedup,
            "speedup_per_core": speedup / cores, **agreement(jax_times, out["fires"])}


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def column(args, spread_rows: list[dict], notes: list) -> list[dict]:
    """One :func:`grid_row` per grid of ``spread_rows``; none, with a note, without an interpreter.

    A grid whose estimated time (the last grid's seconds per fire x ``(n / n_last)^3``) exceeds
    ``args.max_seconds`` is skipped with a note; a failed or timed-out runner is noted and ends the column."""
    if args.pyretechnics is None:
        notes.append(f"pyretechnics column skipped: no reference environment ({DEFAULT_PYTHON} absent; "
                     "`make reference-env`, or --pyretechnics PYTHON)")
        print(notes[-1], flush=True)
        return []
    rows, previous = [], None  # previous: (n, seconds per fire) of the last measured grid
    for n in sorted({r["grid"] for r in spread_rows}):
        fires = args.pyre_fires or default_fires(n)
        per_fire = None if previous is None else previous[1] * (n / previous[0]) ** SCALING
        if common.too_slow(per_fire, fires, 1, args.max_seconds, f"pyretechnics {n}x{n} ({fires} fires)", notes):
            continue
        jax_row = max((r for r in spread_rows if r["grid"] == n), key=lambda r: r["sims_per_s"])
        try:
            rows.append(grid_row(n, fires, args, jax_row))
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            notes.append(f"pyretechnics {n}x{n}: {error}; column ends here")
            print(notes[-1], flush=True)
            break
        r = rows[-1]
        previous = (n, r["seconds_per_sim"])
        print(f"[pyretechnics {n}x{n}] {fires} fires, {r['seconds_per_sim'] * 1e3:.0f} ms/sim on 1 core; jaxfire "
              f"{r['jax_sims_per_s']:.1f} sims/s (batch {r['jax_batch']}, {r['jax_cores']} cores): x{r['speedup']:.1f}"
              f"; IoU {r['iou_mean_all']:.2f} over all fires; {r['stopped_early']} stopped early in pyretechnics, "
              f"over the others burned jaxfire/pyretechnics {_fmt(r['burned_ratio_mean'])}, IoU {_fmt(r['iou_mean'])}",
              flush=True)
    return rows
