"""Why jaxfire and pyretechnics disagree on the throughput suite's landscapes: the same fires on the suite's
synthetic landscape and on simplified copies of it (canopy removed, flat, one fuel), burned-cell IoU per fire.

    python -m experiments.bench.pyre_agreement [--grid 50] [--fires 8]

Needs the reference environment (``make reference-env``).  Weather and fires as the suite's defaults (20 km/h west
wind, 8 h cap, seed 0, the first fires of the spread section's).  Prints one line per variant: mean and min IoU,
mean jaxfire / pyretechnics burned counts, pyretechnics ms/sim, and per fire (IoU, jaxfire cells, pyretechnics
cells, whether pyretechnics ran to the cap).
"""
from __future__ import annotations

import argparse
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import jaxfire
from experiments.bench import measure, pyre_column
from jaxfire import fire, landscape as landscapes


def variants(land) -> dict:
    """The suite's landscape and simplified copies (features, i.e. roads and water, kept in every one)."""
    fuel, flat = np.asarray(land.fuel_model), jnp.zeros_like(land.slope_deg)
    return {"suite landscape": land,
            "no canopy": landscapes.from_arrays(fuel, land.slope_deg, land.aspect_deg),
            "flat": dataclasses.replace(land, slope_deg=flat, aspect_deg=flat),
            "flat, no canopy": landscapes.from_arrays(fuel, flat, flat),
            "GS2 everywhere burnable, flat": landscapes.from_arrays(np.where(np.asarray(land.burnable), 122, fuel),
                                                                    flat, flat)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m experiments.bench.pyre_agreement", description=__doc__.split("\n")[0])
    p.add_argument("--grid", type=int, default=50)
    p.add_argument("--fires", type=int, default=8)
    p.add_argument("--pyretechnics", default=str(pyre_column.DEFAULT_PYTHON), help="reference interpreter")
    args = p.parse_args(argv)
    weather, minutes = jaxfire.Weather(20.0, 270.0), 480.0
    base = landscapes.synthetic(jax.random.key(0), (args.grid, args.grid))
    ignitions = np.asarray(measure.sample_fires(base, max(256, args.fires), 0)[:args.fires])
    for name, land in variants(base).items():
        ours = np.asarray(fire.solve_many(fire.spread_grid(land, weather), ignitions, minutes))
        out = pyre_column.run(args.pyretechnics, land, weather, ignitions, minutes, timeout_s=600)
        per = [(round(pyre_column.agreement(o[None], [f])["iou_mean_all"], 2), int(np.isfinite(o).sum()),
                f["burned_cells"], "cap" if f["stop_condition"] == "max duration reached" else "STOPPED")
               for o, f in zip(ours, out["fires"])]
        ious = [p[0] for p in per]
        ratio = np.mean([p[1] / p[2] for p in per])
        ms = 1e3 * np.mean([f["wall_s"] for f in out["fires"]])
        print(f"{name:30s} IoU mean {np.mean(ious):.2f} min {min(ious):.2f}, burned ratio {ratio:.2f}, "
              f"pyretechnics {ms:.0f} ms/sim; per fire {per}", flush=True)


if __name__ == "__main__":
    main()
