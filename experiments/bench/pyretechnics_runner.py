"""Run the real simulator, pyretechnics (Eulerian level set), on a landscape written by the throughput suite, one
fire after another on one core.

A standalone script for the reference environment (``make reference-env``; pyretechnics needs numpy 1.26): it
imports the standard library, NumPy and pyretechnics only, never jax or jaxfire.  The suite
(:mod:`experiments.bench.pyre_column`) runs it as::

    .venv-reference/bin/python -I experiments/bench/pyretechnics_runner.py INPUT.npz OUTPUT.json

Input ``.npz``, in the project's units and conventions (arrays ``[row, col]``, row 0 = NORTH, col increasing east):
``fuel_model`` (fuel codes), ``slope_deg``, ``aspect_deg`` (downslope azimuth, degrees clockwise from north),
``canopy_cover`` (fraction), ``canopy_height_m``, ``canopy_base_height_m`` (m), ``canopy_bulk_density_kg_m3``,
``cell_size_m``; ``ignitions`` ``int[N, 2]`` cells ``(row, col)``; ``wind_kmh`` (10-m wind, km/h),
``wind_from_deg`` (direction it blows FROM, degrees clockwise from north); ``moisture`` (5 fractions: dead 1/10/100 h,
live herbaceous, live woody); ``foliar_moisture`` (fraction); ``max_minutes`` (the cap); ``arrival_times`` (bool:
write each fire's arrival-time grid).

Conversion to pyretechnics' conventions (as the project's reference data were made, ``shared/reference/README.md``):

* rows are flipped (pyretechnics' row 0 is the SOUTH edge), so an ignition ``(row, col)`` becomes
  ``(H - 1 - row, col)``; outputs are flipped back;
* one column is padded on the east (a copy of the last one), because pyretechnics never burns its last column;
  it is dropped from every output;
* slope becomes rise/run (``tan``); aspect and wind direction are azimuths clockwise from north in both (the wind
  direction is pyretechnics' ``upwind_direction``); canopy, wind and moisture units are the same;
* fuel codes 94-97 (non-burnable in jaxfire, absent from pyretechnics' table) become 99 (barren);
* every layer is a constant-in-time ``SpaceTimeCube`` over ``ceil(cap / 60) + 1`` bands of 60 minutes, resolution
  ``(60 min, cell, cell)``; ``spread_fire_with_phi_field`` runs from 0 to the cap with its defaults (no spotting,
  wind limit on, Behave length-to-width ratio); crown fire is on wherever the canopy layers allow it.

Output JSON: ``pyretechnics`` and ``numpy`` versions, ``grid`` ``[H, W]``, ``cores`` (1), and ``fires``, one per
ignition: ``ignition``, ``wall_s`` and ``cpu_s`` (seconds of the spread: the fire's ``SpreadState``, the simulation
and reading out its arrival times; the cubes are built once per landscape, untimed, like jaxfire's
``spread_grid``), ``burned_cells`` (cells with an arrival time, the ignition included), ``stop_condition`` and,
with ``arrival_times``, ``arrival_minutes`` (``[H][W]``, north-up, minutes to 0.01, ``null`` = unburned).
"""
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core, before NumPy loads
    os.environ[_name] = "1"

import importlib.metadata  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from pyretechnics.eulerian_level_set import SpreadState, spread_fire_with_phi_field  # noqa: E402
from pyretechnics.space_time_cube import SpaceTimeCube  # noqa: E402

BAND_MINUTES = 60.0
RASTERS = ("fuel_model", "canopy_cover", "canopy_height_m", "canopy_base_height_m", "canopy_bulk_density_kg_m3")
CUBE_NAMES = {"fuel_model": "fuel_model", "canopy_cover": "canopy_cover", "canopy_height_m": "canopy_height",
              "canopy_base_height_m": "canopy_base_height", "canopy_bulk_density_kg_m3": "canopy_bulk_density"}
MOISTURE_CUBES = ("fuel_moisture_dead_1hr", "fuel_moisture_dead_10hr", "fuel_moisture_dead_100hr",
                  "fuel_moisture_live_herbaceous", "fuel_moisture_live_woody")


def to_pyretechnics_grid(layer: np.ndarray) -> np.ndarray:
    """A north-up ``[H, W]`` layer as pyretechnics' ``float32[H, W + 1]``: rows flipped (row 0 south), the last
    column repeated once on the east."""
    padded = np.concatenate([layer, layer[:, -1:]], axis=1)
    return np.ascontiguousarray(padded[::-1].astype(np.float32))


def build_cubes(data, minutes: float) -> tuple[dict, tuple]:
    """``(space_time_cubes, cube_shape)`` of pyretechnics from the suite's input ``data`` (see the module doc)."""
    H, W = data["fuel_model"].shape
    shape = (int(math.ceil(minutes / BAND_MINUTES)) + 1, H, W + 1)
    layers = {name: np.asarray(data[name], np.float64) for name in RASTERS}
    fuel = layers["fuel_model"]
    layers["fuel_model"] = np.where((fuel >= 94) & (fuel <= 97), 99.0, fuel)
    cubes = {CUBE_NAMES[name]: SpaceTimeCube(shape, to_pyretechnics_grid(value)) for name, value in layers.items()}
    cubes["slope"] = SpaceTimeCube(shape, to_pyretechnics_grid(np.tan(np.radians(data["slope_deg"]))))
    cubes["aspect"] = SpaceTimeCube(shape, to_pyretechnics_grid(np.asarray(data["aspect_deg"], np.float64)))
    constants = {"wind_speed_10m": data["wind_kmh"], "upwind_direction": data["wind_from_deg"],
                 "foliar_moisture": data["foliar_moisture"], **dict(zip(MOISTURE_CUBES, data["moisture"]))}
    cubes.update({name: SpaceTimeCube(shape, float(value)) for name, value in constants.items()})
    return cubes, shape


def one_fire(cubes: dict, shape: tuple, ignition, cell_size_m: float, minutes: float, arrival_times: bool) -> dict:
    """One simulation from ``ignition`` ``(row, col)`` (north-up) to ``minutes``: the output JSON's fire entry."""
    _, H, _ = shape
    row, col = int(ignition[0]), int(ignition[1])
    wall, cpu = time.perf_counter(), time.process_time()
    state = SpreadState(shape).ignite_cell((H - 1 - row, col))
    out = spread_fire_with_phi_field(cubes, state, (BAND_MINUTES, cell_size_m, cell_size_m), 0.0, minutes)
    toa = np.array(out["spread_state"].get_full_matrices(["time_of_arrival"])["time_of_arrival"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    toa = toa[::-1, :-1].astype(np.float64)  # north-up, the padded column dropped
    burned = np.isfinite(toa) & (toa >= 0)  # unburned cells keep NaN; the ignited cell has 0
    fire = {"ignition": [row, col], "wall_s": wall, "cpu_s": cpu, "burned_cells": int(burned.sum()),
            "stop_condition": out["stop_condition"]}
    if arrival_times:
        fire["arrival_minutes"] = [[round(float(t), 2) if b else None for t, b in zip(*pair)]
                                   for pair in zip(toa, burned)]
    return fire


def main(argv: list) -> None:
    """``INPUT.npz OUTPUT.json``: run every ignition of the input one after another, write the output JSON."""
    if len(argv) != 2:
        sys.exit("usage: pyretechnics_runner.py INPUT.npz OUTPUT.json")
    with np.load(argv[0]) as npz:
        data = {name: npz[name] for name in npz.files}
    minutes, cell = float(data["max_minutes"]), float(data["cell_size_m"])
    cubes, shape = build_cubes(data, minutes)
    fires = [one_fire(cubes, shape, ignition, cell, minutes, bool(data["arrival_times"]))
             for ignition in data["ignitions"]]
    result = {"pyretechnics": importlib.metadata.version("pyretechnics"), "numpy": np.__version__,
              "grid": list(data["fuel_model"].shape), "cores": 1, "fires": fires}
    with open(argv[1], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
