"""Issue 12's target run: plan a synthetic LANDFIRE-style landscape at full size with ``experiments.plan``.

    python -m experiments.bench.plan_landscape --side 512 --out results/plan-512x512 [-- PLAN FLAGS]

Writes ``OUT/landscape.tif``, an 8-band int16 GeoTIFF in LANDFIRE's .lcp layer order and units (elevation m, slope
and aspect degrees, FBFM40 codes, canopy cover %, canopy height and base height m x 10, bulk density kg/m^3 x 100;
EPSG:5070, 30 m cells) of :func:`jaxfire.landscape.synthetic` (seed ``--seed``: forest/grass/shrub mosaics with
canopy, roads, rivers, lakes), then runs ``python -m experiments.plan OUT/landscape.tif --budget 0.05 --fires 2000
--method cut_lines,dpv --out OUT/plan`` (flags after ``--`` replace those; an existing ``--out`` is replaced only with
``--overwrite``) and prints its wall-clock seconds, the
whole run from reading the file to writing the last output.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

from experiments import plan
from jaxfire import landscape

DEFAULT_FLAGS = ["--budget", "0.05", "--fires", "2000", "--method", "cut_lines,dpv"]


def write_landscape(path: Path, side: int, seed: int) -> Path:
    """The synthetic ``side x side`` landscape as a LANDFIRE-style 8-band GeoTIFF at ``path``."""
    import rasterio
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    land = landscape.synthetic(jax.random.key(seed), (side, side))
    bands = [land.elevation_m, land.slope_deg, land.aspect_deg, land.fuel_model, 100 * land.canopy_cover,
             10 * land.canopy_height_m, 10 * land.canopy_base_height_m, 100 * land.canopy_bulk_density_kg_m3]
    with rasterio.open(path, "w", driver="GTiff", height=side, width=side, count=8, dtype="int16",
                       crs=CRS.from_epsg(5070), transform=from_origin(1_500_000.0, 2_100_000.0, 30.0, 30.0),
                       nodata=-9999) as dst:
        for index, band in enumerate(bands, 1):
            dst.write(np.round(np.asarray(band)).astype(np.int16), index)
    return path


def main(argv=None) -> float:
    p = argparse.ArgumentParser(prog="python -m experiments.bench.plan_landscape", description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=512, help="landscape side, cells")
    p.add_argument("--seed", type=int, default=11, help="synthetic landscape seed")
    p.add_argument("--out", required=True, help="folder for landscape.tif and the plan (plan/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("flags", nargs="*", help="experiments.plan flags (after --), replacing the defaults")
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise SystemExit(f"error: {out} already exists; pass --overwrite to replace it (or choose another --out)")
    out.mkdir(parents=True, exist_ok=True)
    source = write_landscape(out / "landscape.tif", args.side, args.seed)
    start = time.perf_counter()
    plan.main([str(source), "--out", str(out / "plan"), "--overwrite", *(args.flags or DEFAULT_FLAGS)])
    seconds = time.perf_counter() - start
    print(f"experiments.plan end to end: {seconds:.0f} s")
    return seconds


if __name__ == "__main__":
    main()
