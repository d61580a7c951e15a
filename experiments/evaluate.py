"""Evaluate fuel-break planners on held-out landscapes: ``python -m experiments.evaluate``.

A thin command line over :func:`jaxfire.evaluation.evaluate`: for every held-out landscape and budget (fraction of
its burnable cells) each method places its breaks (the planners plan on their own sampled ignitions), then one set
of fresh ignitions, shared by all methods, burns the treated landscape; scores are mean burned fractions over all
fires with 95 % intervals (a paired comparison).

Landscapes: the held-out split of a synthetic pool (default: 50x50, the test split training uses), or the tiles of
a real landscape (``--landfire PATH``: a folder of single-band rasters with the project's or LANDFIRE's names, a
multi-band landscape GeoTIFF or a FlamMap .lcp; :func:`jaxfire.landscape.raster.read_landscape`), in which case each
method's breaks and the burn probability before/after are also written as GeoTIFFs on the tile's georeference.

Outputs in ``--out``: ``eval.json``, ``eval.csv``, ``eval.md`` and ``figures/`` (per method: the landscape with
its breaks and burn probability before/after; a bar chart with intervals).  An existing folder is never
replaced without ``--overwrite``, and only once the new evaluation has finished.
"""
from __future__ import annotations

import argparse
import csv
import functools
import time
from pathlib import Path

import jax
import numpy as np

from experiments import common
from jaxfire import evaluation, figures, fire, landscape as landscapes
from jaxfire.agents import load_policy
from jaxfire.planners import PLANNERS
from jaxfire.weather import Weather


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="results/eval", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--grid", type=int, default=50, help="synthetic landscape side (cells)")
    p.add_argument("--num-landscapes", type=int, default=32, help="synthetic pool size (the test split is evaluated)")
    p.add_argument("--test-fraction", type=float, default=0.25, help="held-out fraction of the pool")
    p.add_argument("--landscape-seed", type=int, default=0, help="synthetic pool seed (training uses the same split)")
    p.add_argument("--max-landscapes", type=int, default=8, help="evaluate at most this many held-out landscapes")
    p.add_argument("--roads", type=int, default=2, help="roads per synthetic landscape (non-burnable barriers)")
    p.add_argument("--rivers", type=int, default=2, help="rivers per synthetic landscape (1-2 cells wide)")
    p.add_argument("--lakes", type=int, default=1, help="lakes per synthetic landscape")
    p.add_argument("--landfire", metavar="PATH", help="evaluate tiles of this landscape (raster folder, multi-band "
                                                      "GeoTIFF or .lcp; needs [geo]) instead")
    p.add_argument("--budgets", type=common.floats, default="0.01,0.02,0.05,0.10",
                   help="budgets as fractions of burnable cells")
    p.add_argument("--methods", type=common.words, default="random,burn_probability,domirank,dpv,cut_lines,greedy",
                   help="planners to evaluate (no treatment is always included)")
    p.add_argument("--agent", action="append", default=[], metavar="RUN_DIR",
                   help="a trained agent's run folder (repeatable)")
    p.add_argument("--eval-ignitions", type=int, default=256, help="fresh ignitions per landscape, shared by methods")
    p.add_argument("--plan-ignitions", type=int, default=64, help="ignitions each planner plans with")
    p.add_argument("--greedy-candidates", type=int, default=32, help="candidates per greedy round (top DPV)")
    p.add_argument("--moisture", default="default", help="moisture scenario name")
    common.add_fire_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation and planning ignitions")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    common.add_parallel_args(p)
    return p.parse_args(argv)


def validate(args) -> Weather:
    """Check every argument before anything is computed or written; returns the weather."""
    checks = [(all(0 < b <= 1 for b in args.budgets) and args.budgets, f"--budgets must be fractions in (0, 1], got "
                                                                       f"{args.budgets}"),
              (not set(args.methods) - set(PLANNERS), f"unknown method(s) {sorted(set(args.methods) - set(PLANNERS))}; "
                                                      f"choose from {sorted(PLANNERS)}"),
              (args.eval_ignitions >= 1 and args.plan_ignitions >= 1, "--eval-ignitions and --plan-ignitions must be >= 1"),
              (args.max_landscapes >= 1 and args.grid >= 4, "--max-landscapes must be >= 1 and --grid >= 4"),
              (args.num_landscapes >= 2 and 0 < args.test_fraction < 1,
               "--num-landscapes must be >= 2 and --test-fraction in (0, 1) (a train and a test split)"),
              (len(set(args.budgets)) == len(args.budgets), f"--budgets has a repeated budget: {args.budgets}"),
              (len({Path(run).name for run in args.agent}) == len(args.agent),
               "--agent folders must have distinct names (rows are labelled agent:<folder name>)"),
              (args.landscape_seed >= 0 and args.seed >= 0, "--landscape-seed and --seed must be >= 0"),
              (np.isfinite(args.max_minutes) and args.max_minutes > 0, "--max-minutes must be a positive number"),
              (args.greedy_candidates >= 1, "--greedy-candidates must be >= 1"),
              (min(args.roads, args.rivers, args.lakes) >= 0, "--roads, --rivers and --lakes must be >= 0")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    for run in args.agent:
        if not (Path(run) / "config.json").is_file():
            raise ValueError(f"--agent {run}: not a run folder (no config.json)")
        check_held_out(args, run)
    return Weather(args.wind_kmh, args.wind_from_deg, args.moisture)


def check_held_out(args, run) -> None:
    """Raise ``ValueError`` if a synthetic landscape evaluated here is one agent ``run`` trained on.

    Landscape ``i`` of a synthetic pool is the same whatever the pool's size, so an evaluation pool of another size
    (or split) than the agent's can hold out its training landscapes."""
    from jaxfire import checkpoint

    config = checkpoint.load_config(run)
    if args.landfire or args.grid != config.landscape_side or args.landscape_seed != config.landscape_seed:
        return  # other landscapes than the agent's pool
    train, _ = landscapes.split_indices(config.num_landscapes, config.test_fraction, config.landscape_seed)
    _, test = landscapes.split_indices(args.num_landscapes, args.test_fraction, args.landscape_seed)
    seen = sorted(set(test[:args.max_landscapes].tolist()) & set(train.tolist()))
    if seen:
        raise ValueError(f"--agent {run} trained on synthetic landscapes {seen} of this evaluation's test split; "
                         f"evaluate its held-out landscapes with --num-landscapes {config.num_landscapes} "
                         f"--test-fraction {config.test_fraction:g} (or another --grid or --landscape-seed)")


def load_landscapes(args) -> list:
    """``[(name, landscape, georef or None)]`` of held-out landscapes."""
    if args.landfire:
        from jaxfire.landscape import raster

        tiles = raster.tiles(raster.read_landscape(args.landfire), args.grid)[:args.max_landscapes]
        return [(f"tile_r{t.row}_c{t.col}", t.landscape, t) for t in tiles]
    pool = landscapes.synthetic_pool(jax.random.key(args.landscape_seed), args.num_landscapes, (args.grid, args.grid),
                                     roads=args.roads, rivers=args.rivers, lakes=args.lakes)
    _, test = landscapes.split(pool, args.test_fraction, args.landscape_seed)
    return [(f"test_{i}", landscapes.take(test, i), None) for i in range(min(args.max_landscapes, landscapes.size(test)))]


def load_methods(args) -> dict:
    """Method name -> planner ``(key, landscape, weather, budget_cells) -> bool[H, W]``."""
    options = dict(num_ignitions=args.plan_ignitions, max_minutes=args.max_minutes, neighbours=args.neighbours)
    methods = {name: functools.partial(PLANNERS[name], **options,
                                       **({"candidates": args.greedy_candidates} if name == "greedy" else {}))
               for name in args.methods}
    methods.update({f"agent:{Path(run).name}": load_policy(run) for run in args.agent})
    return methods


def cases(args, landscapes_, weather) -> list:
    """One :class:`jaxfire.evaluation.Case` per landscape and budget."""
    return [evaluation.Case(f"{name}@{budget:g}", land, weather, max(1, int(budget * int(land.burnable.sum()))),
                            index, budget)
            for index, (name, land, _) in enumerate(landscapes_) for budget in args.budgets]


def table_rows(result: evaluation.Evaluation, budgets) -> list[dict]:
    """Per method and budget: mean burned fraction, 95 % CI, fires, reduction vs no treatment, planning seconds per
    landscape (the mean, which includes each planner's compilation on the first landscape, and the median)."""
    rows = []
    for budget in budgets:
        selected = [case for case in result.cases if case.budget_fraction == budget]
        base = result.summary("none", selected)["mean"]
        for method in result.methods:
            stats = result.summary(method, selected)
            seconds = [result.plan_seconds.get((method, case.name), 0.0) for case in selected]
            rows.append({"method": method, "budget": budget, "burned_fraction": stats["mean"], "ci95": stats["ci95"],
                         "fires": stats["n"], "reduction_vs_none": 1 - stats["mean"] / base if base else 0.0,
                         "plan_seconds": float(np.mean(seconds)), "plan_seconds_median": float(np.median(seconds))})
    return sorted(rows, key=lambda r: (r["budget"], r["burned_fraction"]))


def write_tables(out: Path, rows, meta) -> str:
    (out / "eval.json").write_text(common.json_dumps({"meta": meta, "rows": rows}))
    with open(out / "eval.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ci = lambda r: "-" if r["ci95"] is None else f"±{r['ci95']:.4f}"  # noqa: E731
    lines = ["| budget | method | burned fraction | 95 % CI | reduction vs none | fires | plan s (mean) | plan s (median) |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['budget']:.0%} | {r['method']} | {r['burned_fraction']:.4f} | {ci(r)} | "
              f"{r['reduction_vs_none']:+.1%} | {r['fires']} | {r['plan_seconds']:.2f} | "
              f"{r['plan_seconds_median']:.2f} |" for r in rows]
    header = (f"# Fuel-break evaluation\n\n{meta['landscapes']} held-out landscapes ({meta['source']}), "
              f"{meta['eval_ignitions']} fresh ignitions each (shared by all methods), wind {meta['wind_kmh']:g} km/h "
              f"from {meta['wind_from_deg']:g} deg, cap {meta['max_minutes']:g} min.\n\n")
    (out / "eval.md").write_text(header + "\n".join(lines) + "\n")
    return "\n".join(lines)


def write_maps(out: Path, args, result: evaluation.Evaluation, landscapes_, write_figures: bool) -> None:
    """Figures (and GeoTIFFs for raster tiles) of every method's plan on the first two landscapes at the middle
    budget, with the burn probability of the evaluation fires before and after it."""
    budget = args.budgets[len(args.budgets) // 2]
    georefs = {name: tile for name, _, tile in landscapes_}
    for case in [c for c in result.cases if c.budget_fraction == budget and c.landscape_index < 2]:
        name = case.name.rsplit("@", 1)[0]
        probability = functools.partial(fire.burn_probability, weather=case.weather,
                                        ignitions=result.ignitions[case.name], max_minutes=args.max_minutes,
                                        neighbours=args.neighbours)
        before = np.asarray(probability(case.landscape))
        for method in result.methods[1:]:
            mask = result.plans[(method, case.name)]
            after = np.asarray(probability(case.landscape.with_fuel_breaks(mask)))
            if write_figures:
                figures.plan_maps(case.landscape, mask, before, after, f"{name}: {method} breaks ({int(mask.sum())} "
                                  f"cells)", out / "figures" / f"{name}_{method.replace(':', '_')}.png")
            if georefs[name] is not None:
                from jaxfire.landscape import raster

                raster.write_results(out / "geotiff" / name / method.replace(":", "_"), georefs[name],
                                     fuel_breaks=mask, burn_probability_before=before, burn_probability_after=after)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    try:
        common.validate_parallel_args(args)
        weather = validate(args)
        if out.exists() and not args.overwrite:
            raise FileExistsError(f"{out} already exists; pass --overwrite to replace it (or choose another --out)")
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"error: {error}")
    parallel_info = common.setup_parallel(args)
    try:  # inputs and agents are read before anything is written
        landscapes_, methods = load_landscapes(args), load_methods(args)
    except (ValueError, OSError) as error:
        raise SystemExit(f"error: {error}")
    with common.replacing(out, args.overwrite) as started:
        start = time.perf_counter()
        result = evaluation.evaluate(methods, cases(args, landscapes_, weather), jax.random.key(args.seed),
                                     num_fires=args.eval_ignitions, max_minutes=args.max_minutes,
                                     neighbours=args.neighbours, log=print)
        rows = table_rows(result, args.budgets)
        meta = {"landscapes": len(landscapes_), "source": args.landfire or f"synthetic {args.grid}x{args.grid} test "
                f"split ({args.roads} roads, {args.rivers} rivers, {args.lakes} lakes)",
                "eval_ignitions": args.eval_ignitions, "plan_ignitions": args.plan_ignitions,
                "wind_kmh": args.wind_kmh, "wind_from_deg": args.wind_from_deg, "max_minutes": args.max_minutes,
                "neighbours": args.neighbours, "budgets": args.budgets, "seconds": time.perf_counter() - start,
                "machine": common.machine_description(), "parallel": parallel_info}
        out.mkdir(parents=True)
        print(write_tables(out, rows, meta))
        if not args.no_figures:
            figures.burned_fraction_bars(rows, out / "figures" / "burned_fraction.png")
        if not args.no_figures or args.landfire:
            write_maps(out, args, result, landscapes_, not args.no_figures)
        started()
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
