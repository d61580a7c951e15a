"""Generate ``tests/data/pyretechnics_corners.json``: pyretechnics 2026.10.20 on small two-fuel layouts whose cells
touch only at grid corners, the regression fixture of ``tests/test_fire_corners.py``.

    PYTHONPATH=. .venv/bin/python tests/data/make_pyretechnics_corners.py [--pyretechnics PYTHON]

Needs the reference environment (``make reference-env``); runs pyretechnics through
:mod:`experiments.bench.pyretechnics_runner` (project conventions: row 0 north, 30 m cells, minutes, 10-m wind
km/h blowing FROM ``wind_from_deg``, default moistures, flat, no canopy).  Layouts (30 x 30, ignition at the centre):

* ``chain``: a corner-touching diagonal chain of fast fuel A through slow fuel B (the chain runs north-east, i.e.
  at 45 degrees to the 20 km/h west wind).  pyretechnics' level set updates each cell from its four edge
  neighbours, so its fire must cross a slow corner cell at every step of the chain;
* ``checker``: a 2 x 2-cell checkerboard of A and B (every block meets the next ones at corners).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import jaxfire
from experiments.bench import pyre_column
from jaxfire import landscape as landscapes

N, IGNITION, WIND = 30, (15, 15), (20.0, 270.0)
CASES = [("chain", 122, 188, 150.0), ("chain", 145, 161, 150.0), ("checker", 122, 188, 120.0),
         ("checker", 102, 183, 240.0)]


def layout(kind: str, a: int, b: int) -> np.ndarray:
    """Fuel codes ``int32[N, N]`` of a case (see the module doc)."""
    rows, cols = np.indices((N, N))
    if kind == "chain":
        return np.where(rows - IGNITION[0] == IGNITION[1] - cols, a, b).astype(np.int32)
    return np.where((rows // 2 + cols // 2) % 2 == 0, a, b).astype(np.int32)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pyretechnics", default=str(pyre_column.DEFAULT_PYTHON))
    p.add_argument("--out", default=str(Path(__file__).with_name("pyretechnics_corners.json")))
    args = p.parse_args(argv)
    weather = jaxfire.Weather(*WIND)
    cases = []
    for kind, a, b, minutes in CASES:
        fuel = layout(kind, a, b)
        flat = np.zeros((N, N))
        out = pyre_column.run(args.pyretechnics, landscapes.from_arrays(fuel, flat, flat), weather, [IGNITION],
                              minutes, timeout_s=900)
        fire = out["fires"][0]
        assert fire["stop_condition"] == "max duration reached", fire["stop_condition"]
        cases.append({"layout": kind, "fuel_a": a, "fuel_b": b, "max_minutes": minutes,
                      "burned_cells": fire["burned_cells"],
                      "toa": [[None if t is None else round(t, 1) for t in row] for row in fire["arrival_minutes"]]})
        print(kind, a, b, fire["burned_cells"], flush=True)
    doc = {"_README": __doc__, "pyretechnics": out["pyretechnics"], "grid": [N, N], "ignition": list(IGNITION),
           "wind_kmh": WIND[0], "wind_from_deg": WIND[1], "cell_size_m": 30.0, "cases": cases}
    Path(args.out).write_text(json.dumps(doc, separators=(",", ":")))


if __name__ == "__main__":
    main()
