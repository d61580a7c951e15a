"""Evaluate fuel-break placements on held-out landscapes: ``python -m experiments.evaluate``.

For every held-out landscape and budget (fraction of its burnable cells), each method places its breaks (the
baselines plan on their own sampled ignitions), then one set of fresh ignitions, shared by all methods, burns the
treated landscape.  A method's score is the mean burned fraction of the landscape's cells over all those fires
(every landscape x ignition), with a 95 % normal confidence interval; the same fires make the comparison paired.

Landscapes: the held-out split of a synthetic pool (default: 50x50, the test split used by training), or the tiles
of a LANDFIRE-style GeoTIFF stack (``--landfire DIR`` with ``fuel_model.tif``, ``slope.tif``, ``aspect.tif`` and
optionally ``elevation.tif``, ``canopy_cover.tif``, ``canopy_height.tif``, ``canopy_base_height.tif``,
``canopy_bulk_density.tif``), in which case each method's breaks and the burn probability before/after are also
written as GeoTIFFs on the tile's georeference.

Outputs in ``--out``: ``eval.json``, ``eval.csv``, ``eval.md`` and ``figures/`` (per method: the landscape with
its breaks and burn probability before/after; a bar chart with intervals).  An existing folder is never
overwritten without ``--overwrite``.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

from experiments import common

LANDFIRE_LAYERS = ("elevation", "canopy_cover", "canopy_height", "canopy_base_height", "canopy_bulk_density")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="results/eval", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--grid", type=int, default=50, help="synthetic landscape side (cells)")
    p.add_argument("--num-landscapes", type=int, default=32, help="synthetic pool size (the test split is evaluated)")
    p.add_argument("--test-fraction", type=float, default=0.25, help="held-out fraction of the pool")
    p.add_argument("--landscape-seed", type=int, default=0, help="synthetic pool seed (training uses the same split)")
    p.add_argument("--max-landscapes", type=int, default=8, help="evaluate at most this many held-out landscapes")
    p.add_argument("--landfire", metavar="DIR", help="evaluate tiles of this GeoTIFF stack instead (needs [geo])")
    p.add_argument("--budgets", type=common.floats, default="0.01,0.02,0.05,0.10",
                   help="budgets as fractions of burnable cells")
    p.add_argument("--methods", type=common.words, default="random,burn_probability,domirank,dpv,greedy",
                   help="baselines to evaluate (no treatment is always included)")
    p.add_argument("--agent", action="append", default=[], metavar="RUN_DIR",
                   help="a trained DQN run folder (repeatable)")
    p.add_argument("--eval-ignitions", type=int, default=256, help="fresh ignitions per landscape, shared by methods")
    p.add_argument("--plan-ignitions", type=int, default=64, help="ignitions each baseline plans with")
    p.add_argument("--greedy-candidates", type=int, default=32, help="candidates per greedy round (top DPV)")
    p.add_argument("--moisture", default="default", help="moisture scenario name")
    common.add_fire_args(p, neighbours=False)
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation and planning ignitions")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    common.add_parallel_args(p)
    return p.parse_args(argv)


def load_landscapes(args):
    """``[(name, landscape, georef or None)]`` of held-out landscapes."""
    import jax

    from jaxfire import landscape as landscapes

    if args.landfire:
        from jaxfire.landscape import raster

        folder = Path(args.landfire)
        optional = {name: folder / f"{name}.tif" for name in LANDFIRE_LAYERS if (folder / f"{name}.tif").exists()}
        stack = raster.read_stack(folder / "fuel_model.tif", folder / "slope.tif", folder / "aspect.tif", **optional)
        tiles = raster.tiles(stack, args.grid)[:args.max_landscapes]
        return [(f"tile_r{t.row}_c{t.col}", t.landscape, t) for t in tiles]
    pool = landscapes.synthetic_pool(jax.random.key(args.landscape_seed), args.num_landscapes, (args.grid, args.grid))
    _, test = landscapes.split(pool, args.test_fraction, args.landscape_seed)
    count = min(args.max_landscapes, landscapes.size(test))
    return [(f"test_{i}", landscapes.take(test, i), None) for i in range(count)]


def load_methods(args) -> dict:
    """Method name -> placement function ``(key, landscape, weather, budget_cells) -> bool[H, W]``."""
    import functools

    from jaxfire import baselines
    from jaxfire.agents import dqn

    unknown = set(args.methods) - set(baselines.BASELINES)
    if unknown:
        raise SystemExit(f"unknown method(s) {sorted(unknown)}; choose from {sorted(baselines.BASELINES)}")
    options = dict(num_ignitions=args.plan_ignitions, max_minutes=args.max_minutes)
    methods = {}
    for name in args.methods:
        extra = {"candidates": args.greedy_candidates} if name == "greedy" else {}
        methods[name] = functools.partial(baselines.BASELINES[name], **options, **extra)
    for run in args.agent:
        methods[f"dqn:{Path(run).name}"] = dqn.load_policy(run)
    return methods


def burned_fractions(landscape, weather, ignitions, max_minutes, treated):
    """``float32[N]``: burned fraction of the landscape's cells for each ignition on the treated landscape."""
    import jax
    import jax.numpy as jnp

    from jaxfire import fire

    grid = fire.spread_grid(landscape.with_fuel_breaks(treated), weather)
    times = jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)
    return jnp.isfinite(times).mean((1, 2))


def summarize(values):
    """Mean, 95 % normal interval half-width and count of a 1-D sample."""
    import numpy as np

    values = np.asarray(values, np.float64)
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"mean": float(values.mean()), "ci95": float(half), "n": int(len(values))}


def evaluate(args, landscapes, methods, log=print):
    """Run every method on every landscape and budget; returns (rows, per-fire results, example maps)."""
    import jax
    import numpy as np

    import jaxfire
    from jaxfire import baselines, fire

    weather = jaxfire.Weather(args.wind_kmh, args.wind_from_deg, args.moisture)
    fires, examples = {}, {}
    for index, (name, land, _) in enumerate(landscapes):
        key = jax.random.fold_in(jax.random.key(args.seed), index)
        ignitions = baselines.sample_ignitions(jax.random.fold_in(key, 0), land, args.eval_ignitions)
        untreated = np.asarray(burned_fractions(land, weather, ignitions, args.max_minutes,
                                                 np.zeros(land.shape, bool)))
        burnable = int(land.burnable.sum())
        for budget in args.budgets:
            cells = max(1, int(budget * burnable))
            fires.setdefault(("none", budget), []).append(untreated)
            for method, place in methods.items():
                start = time.perf_counter()
                mask = place(jax.random.fold_in(key, 1), land, weather, cells)
                treated_fires = np.asarray(burned_fractions(land, weather, ignitions, args.max_minutes, mask))
                fires.setdefault((method, budget), []).append(treated_fires)
                log(f"{name} budget {budget:.0%} ({cells} cells) {method:>18s}: burned {treated_fires.mean():.4f} "
                    f"(untreated {untreated.mean():.4f}) in {time.perf_counter() - start:.1f} s")
                if index < 2 and budget == args.budgets[len(args.budgets) // 2]:
                    examples[(name, method)] = (land, np.asarray(mask),
                                                np.asarray(fire.burn_probability(land, weather, ignitions,
                                                                                 args.max_minutes)),
                                                np.asarray(fire.burn_probability(land.with_fuel_breaks(mask), weather,
                                                                                 ignitions, args.max_minutes)))
    rows = []
    for (method, budget), values in fires.items():
        stats = summarize(np.concatenate(values))
        base = np.concatenate(fires[("none", budget)]).mean()
        rows.append({"method": method, "budget": budget, "burned_fraction": stats["mean"], "ci95": stats["ci95"],
                     "fires": stats["n"], "reduction_vs_none": float(1 - stats["mean"] / base) if base else 0.0})
    rows.sort(key=lambda r: (r["budget"], r["burned_fraction"]))
    return rows, examples


def write_tables(out: Path, rows, meta):
    (out / "eval.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    with open(out / "eval.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| budget | method | burned fraction | 95 % CI | reduction vs none | fires |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['budget']:.0%} | {r['method']} | {r['burned_fraction']:.4f} | ±{r['ci95']:.4f} | "
              f"{r['reduction_vs_none']:+.1%} | {r['fires']} |" for r in rows]
    header = (f"# Fuel-break evaluation\n\n{meta['landscapes']} held-out landscapes ({meta['source']}), "
              f"{meta['eval_ignitions']} fresh ignitions each (shared by all methods), wind {meta['wind_kmh']:g} km/h "
              f"from {meta['wind_from_deg']:g} deg, cap {meta['max_minutes']:g} min.\n\n")
    (out / "eval.md").write_text(header + "\n".join(lines) + "\n")
    return "\n".join(lines)


def write_figures(out: Path, rows, examples):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figures = out / "figures"
    figures.mkdir()
    budgets = sorted({r["budget"] for r in rows})
    methods = [m for m in dict.fromkeys(r["method"] for r in rows)]
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(budgets) * len(methods) / 4, 4))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        sel = {r["budget"]: r for r in rows if r["method"] == method}
        ax.bar(np.arange(len(budgets)) + k * width, [sel[b]["burned_fraction"] for b in budgets], width,
               yerr=[sel[b]["ci95"] for b in budgets], capsize=2, label=method)
    ax.set_xticks(np.arange(len(budgets)) + 0.4 - width / 2, [f"{b:.0%}" for b in budgets])
    ax.set_xlabel("budget (fraction of burnable cells)")
    ax.set_ylabel("mean burned fraction (95 % CI)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(figures / "burned_fraction.png", dpi=120)
    plt.close(fig)
    for (name, method), (land, mask, before, after) in examples.items():
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
        axes[0].imshow(np.asarray(land.fuel_model), cmap="tab20", interpolation="nearest")
        axes[0].imshow(np.ma.masked_where(~mask, mask), cmap="autumn", interpolation="nearest")
        axes[0].set_title(f"{name}: {method} breaks ({int(mask.sum())} cells)")
        for ax, data, title in ((axes[1], before, "burn probability before"), (axes[2], after, "after")):
            image = ax.imshow(data, vmin=0, vmax=max(before.max(), 1e-6), cmap="inferno", interpolation="nearest")
            ax.set_title(title)
        fig.colorbar(image, ax=axes[1:], shrink=0.8)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.savefig(figures / f"{name}_{method.replace(':', '_')}.png", dpi=110)
        plt.close(fig)


def write_geotiffs(out: Path, landscapes, examples):
    """Breaks and burn probability before/after, on each tile's georeference (LANDFIRE input only)."""
    from jaxfire.landscape import raster

    georefs = {name: tile for name, _, tile in landscapes if tile is not None}
    for (name, method), (_, mask, before, after) in examples.items():
        if name in georefs:
            raster.write_results(out / "geotiff" / name / method.replace(":", "_"), georefs[name], fuel_breaks=mask,
                                 burn_probability_before=before, burn_probability_after=after)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    if out.exists():
        if not args.overwrite:
            raise SystemExit(f"{out} already exists; pass --overwrite to replace it (or choose another --out)")
        shutil.rmtree(out)
    parallel_info = common.setup_parallel(args)  # before JAX starts (gymnax starts it on import)
    landscapes = load_landscapes(args)
    methods = load_methods(args)
    out.mkdir(parents=True)
    start = time.perf_counter()
    rows, examples = evaluate(args, landscapes, methods)
    meta = {"landscapes": len(landscapes), "source": args.landfire or f"synthetic {args.grid}x{args.grid} test split",
            "eval_ignitions": args.eval_ignitions, "plan_ignitions": args.plan_ignitions, "wind_kmh": args.wind_kmh,
            "wind_from_deg": args.wind_from_deg, "max_minutes": args.max_minutes, "budgets": args.budgets,
            "seconds": time.perf_counter() - start, "machine": common.machine_description(),
            "parallel": parallel_info}
    print(write_tables(out, rows, meta))
    if not args.no_figures:
        write_figures(out, rows, examples)
    if args.landfire:
        write_geotiffs(out, landscapes, examples)
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
