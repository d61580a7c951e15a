"""Plan fuel breaks on a real landscape: ``python -m experiments.plan LANDSCAPE --budget 0.05 --out DIR``.

``LANDSCAPE`` is a FlamMap/FARSITE .lcp, a LANDFIRE multi-band landscape GeoTIFF or a folder of single-band rasters
(:func:`jaxfire.landscape.raster.read_landscape`).  The whole landscape is planned at full resolution: every method
plans with its own planning fires, then the same fresh fires (``--fires``, under ``--weather-scenarios`` weather
draws) burn the untreated landscape and every plan, so the methods are compared paired, with 95 % intervals
(:mod:`jaxfire.planning`).  The default method is ``cut_lines`` (:mod:`jaxfire.planners.lines`): the best planner
here, and one that scales to any size (a fuel-break network of row and column segments that cut the planning fires,
``rounds + 1`` solves of them in all); greedy search places one cell per round and is refused where it would take
hours.

Outputs in ``--out`` (refused if it exists, unless ``--overwrite``): ``plan.tif`` (uint8 fuel-break mask of the first
method, 1 = treat, nodata 255 outside the data), ``plan_<method>.tif`` for every other method,
``burn_probability_before.tif`` and ``burn_probability_after.tif`` (float32, nodata -1), ``fire_type.tif`` (uint8:
the most severe head-fire type under the weather scenarios, 1 surface, 2 passive, 3 active crown, 0 non-burnable,
nodata 255), all on the source georeference; ``plan.png``; ``report.json`` and ``report.md``.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import jax
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from experiments import common
from jaxfire import figures, planning
from jaxfire.agents import load_policy
from jaxfire.env import ScenarioDistribution, draw_weather
from jaxfire.landscape import raster
from jaxfire.planners import PLANNERS

DEFAULT_METHOD = "cut_lines"
MAX_GREEDY_SOLVES = 5e6   # fire solves of greedy search (budget x (candidates + 1) x planning fires) allowed


def budget_cells(text: str, burnable: int, cell_hectares: float) -> int:
    """Cells to treat from ``0.05`` (fraction of burnable cells), ``5%``, ``1200cells`` or ``300ha``."""
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(%|cells?|ha)?\s*", text)
    if not match:
        raise ValueError(f"--budget {text!r}: give a fraction (0.05), a percentage (5%), cells (1200cells) or "
                         "hectares (300ha)")
    value, unit = float(match.group(1)), match.group(2)
    cells = {None: value * burnable, "%": value / 100 * burnable, "ha": value / cell_hectares}.get(unit, value)
    if not (np.isfinite(cells) and 1 <= round(cells) <= burnable):
        raise ValueError(f"--budget {text!r} is {cells:g} cells; it must be between 1 and the {burnable} burnable "
                         "cells")
    return int(round(cells))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.plan", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("landscape", help=".lcp file, multi-band GeoTIFF or folder of single-band rasters")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--budget", default="0.05", help="fraction of burnable cells (0.05), 5%%, 1200cells or 300ha")
    p.add_argument("--method", type=common.words, default=DEFAULT_METHOD,
                   help=f"planner(s), comma-separated, the first one's plan is plan.tif; one of {sorted(PLANNERS)} "
                        f"(default {DEFAULT_METHOD}: the best planner that scales to large landscapes)")
    p.add_argument("--agent", action="append", default=[], metavar="RUN_DIR", help="a trained agent (repeatable)")
    p.add_argument("--wind-kmh", type=common.floats, default="20", help="10-m wind speed, km/h, or a range LOW,HIGH")
    p.add_argument("--wind-from-deg", type=float, default=270.0, help="prevailing direction the wind blows from")
    p.add_argument("--wind-spread-deg", type=float, default=0.0,
                   help="standard deviation of the wind direction (degrees); negative: uniform over all directions")
    p.add_argument("--moisture", default="default", help="dead/live fuel moisture scenario (e.g. D2L2)")
    p.add_argument("--foliar-moisture", type=float, default=0.90, help="canopy foliar moisture, fraction")
    p.add_argument("--max-minutes", type=float, default=480.0, help="fire duration, minutes")
    p.add_argument("--neighbours", type=int, default=16, choices=(8, 16, 32), help="spread stencil")
    p.add_argument("--no-crown-fire", action="store_true", help="surface fire only")
    p.add_argument("--ignition-probability", metavar="RASTER", help="relative ignition likelihood raster on the "
                                                                     "landscape's grid (default: uniform)")
    p.add_argument("--weather-scenarios", type=int, default=8, help="weather draws the fires are split over")
    p.add_argument("--fires", type=int, default=2000, help="fresh evaluation fires (a multiple of the scenarios)")
    p.add_argument("--plan-fires", type=int, default=256, help="fires each planner plans with")
    p.add_argument("--batch", type=int, default=128, help="fires burned per batch (memory: batch x H x W)")
    p.add_argument("--seed", type=int, default=0, help="seed of weather, planning and evaluation fires")
    common.add_parallel_args(p)
    return p.parse_args(argv)


def regime(args, landscape_shape) -> planning.FireRegime:
    """The fire regime of the arguments (weather scenarios drawn from the seed)."""
    low, high = (args.wind_kmh * 2)[:2] if len(args.wind_kmh) == 1 else args.wind_kmh
    distribution = ScenarioDistribution(wind_speed_kmh=(low, high), wind_from_deg=args.wind_from_deg,
                                        wind_direction_spread_deg=None if args.wind_spread_deg < 0 else
                                        args.wind_spread_deg, moisture=args.moisture,
                                        foliar_moisture=args.foliar_moisture)
    probability = None
    if args.ignition_probability:
        probability = raster_values(args.ignition_probability, landscape_shape)
    weathers = draw_weather(jax.random.fold_in(jax.random.key(args.seed), 2), distribution, args.weather_scenarios)
    return planning.FireRegime(weathers, args.max_minutes, probability, args.neighbours, not args.no_crown_fire)


def raster_values(path, shape) -> np.ndarray:
    """A single-band raster's values (nodata and negative values are 0) on a grid of ``shape``."""
    import rasterio

    with rasterio.open(path) as src:
        values = src.read(1, masked=True).filled(0).astype(np.float64)
    if values.shape != tuple(shape):
        raise ValueError(f"--ignition-probability {path} is {values.shape[0]}x{values.shape[1]}, the landscape is "
                         f"{shape[0]}x{shape[1]}")
    return np.where(np.isfinite(values) & (values > 0), values, 0.0)


def validate(args, stack, cells: int) -> None:
    """Everything checkable before the long work starts (raises ``ValueError`` naming the argument)."""
    checks = [(args.weather_scenarios >= 1, "--weather-scenarios must be >= 1"),
              (args.fires >= 1 and args.fires % args.weather_scenarios == 0,
               f"--fires must be a positive multiple of --weather-scenarios {args.weather_scenarios}"),
              (args.plan_fires >= 1 and args.plan_fires % args.weather_scenarios == 0,
               f"--plan-fires must be a positive multiple of --weather-scenarios {args.weather_scenarios}"),
              (args.batch >= 1, "--batch must be >= 1"),
              (np.isfinite(args.max_minutes) and args.max_minutes > 0, "--max-minutes must be a positive number"),
              (1 <= len(args.wind_kmh) <= 2, "--wind-kmh takes one speed or LOW,HIGH"),
              (not set(args.method) - set(PLANNERS), f"unknown --method {sorted(set(args.method) - set(PLANNERS))}; "
                                                     f"choose from {sorted(PLANNERS)}")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    if "greedy" in args.method and cells * 33 * args.plan_fires > MAX_GREEDY_SOLVES:
        raise ValueError(f"greedy places one cell per round: {cells} cells x 33 solves x {args.plan_fires} fires is "
                         f"{cells * 33 * args.plan_fires:.2g} fire solves (hours here); use cut_lines")
    for run in args.agent:
        if not (Path(run) / "config.json").is_file():
            raise ValueError(f"--agent {run}: not a run folder (no config.json)")


def write_outputs(out: Path, stack, results: dict, before, after, fire_types, report: dict) -> None:
    """GeoTIFFs on the source grid, the figure and the report (see the module docstring)."""
    invalid = ~stack.valid
    names = list(results)
    for index, name in enumerate(names):
        plan = np.where(invalid, 255, results[name].plan.astype(np.uint8))
        raster.write_geotiff(out / ("plan.tif" if index == 0 else f"plan_{name.replace(':', '_')}.tif"), plan,
                             stack.transform, stack.crs, nodata=255, dtype=np.uint8)
    for label, values in (("before", before), ("after", after)):
        raster.write_geotiff(out / f"burn_probability_{label}.tif", np.where(invalid, -1.0, values),
                             stack.transform, stack.crs, nodata=-1.0, dtype=np.float32)
    raster.write_geotiff(out / "fire_type.tif", np.where(invalid, 255, fire_types), stack.transform, stack.crs,
                         nodata=255, dtype=np.uint8)
    figures.plan_maps(stack.landscape(), results[names[0]].plan, before, after,
                      f"{names[0]}: {int(results[names[0]].plan.sum())} cells", out / "plan.png")
    (out / "report.json").write_text(common.json_dumps(report))
    rows = [f"| {name} | {m['burned_fraction']:.4f} | ±{m['ci95'] or 0:.4f} | {m['burned_ha']:.1f} | "
            f"{m['plan_seconds']:.1f} |" for name, m in report["methods"].items()]
    (out / "report.md").write_text(
        f"# Fuel-break plan: {report['inputs']['landscape']}\n\n{report['inputs']['cells_to_treat']} cells "
        f"({report['inputs']['hectares_to_treat']:.1f} ha) treated; {report['settings']['fires']} fresh fires shared "
        "by all methods.\n\n| method | mean burned fraction | 95 % CI | burned ha per fire | planning s |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    try:
        common.validate_parallel_args(args)
        if out.exists() and not args.overwrite:
            raise FileExistsError(f"{out} already exists; pass --overwrite to replace it (or choose another --out)")
        stack = raster.read_landscape(args.landscape)
        landscape = stack.landscape()
        hectares = stack.cell_size_m ** 2 / 1e4
        cells = budget_cells(args.budget, int(landscape.burnable.sum()), hectares)
        validate(args, stack, cells)
        fires = regime(args, landscape.shape)
        common.setup_parallel(args)
        methods = {name: PLANNERS[name] for name in args.method}
        methods.update({f"agent:{Path(run).name}": load_policy(run) for run in args.agent})
    except (ValueError, FileExistsError, FileNotFoundError, TypeError) as error:
        raise SystemExit(f"error: {error}")
    start = time.perf_counter()
    with common.replacing(out, args.overwrite) as started, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn()) as bar:
        tasks = {}

        def progress(stage, done, total):
            if stage not in tasks:
                tasks[stage] = (bar.add_task(f"fires: {stage}", total=total, rate=""), time.perf_counter())
            task, since = tasks[stage]
            bar.update(task, completed=done, rate=f"{done / max(time.perf_counter() - since, 1e-9):,.0f} fires/s")

        results, untreated, before = planning.plan_and_evaluate(
            landscape, methods, fires, cells, jax.random.key(args.seed), plan_fires=args.plan_fires,
            eval_fires=args.fires, progress=progress)
        after = results[next(iter(results))].burn_probability
        size = landscape.shape[0] * landscape.shape[1]
        report = {"methods": {"none": {"burned_fraction": float(untreated.mean()), "ci95": None,
                                       "burned_ha": float(untreated.mean()) * size * hectares, "plan_seconds": 0.0},
                              **{name: planning.summary(r, hectares, size) for name, r in results.items()}},
                  "inputs": {"landscape": str(args.landscape), "shape": list(landscape.shape),
                             "cell_size_m": stack.cell_size_m, "burnable_cells": int(landscape.burnable.sum()),
                             "cells_to_treat": cells, "hectares_to_treat": cells * hectares, "crs": str(stack.crs)},
                  "settings": {k: v for k, v in vars(args).items() if k not in ("out", "overwrite")},
                  "seconds": time.perf_counter() - start, "machine": common.machine_description()}
        out.mkdir(parents=True)
        write_outputs(out, stack, results, before, after, planning.fire_type_map(landscape, fires), report)
        started()
    print((out / "report.md").read_text())
    return report


if __name__ == "__main__":
    main()
