"""The spread benchmark runs end to end, and its NumPy baseline solves the same model as the JAX engine."""
import json

import jax
import numpy as np
import pytest

import jaxfire
from experiments.bench_spread import main, numpy_arrival_times
from jaxfire import fire


def test_bench_runs_and_writes_json(tmp_path):
    path = tmp_path / "b.json"
    main(["--grids", "16", "--batches", "1,4", "--repeats", "1", "--baseline-batch", "2", "--json", str(path)])
    result = json.loads(path.read_text())
    methods = {row["method"].split(" (")[0] for row in result["rows"]}
    assert methods == {"jax vmap", "numpy serial", "numpy threads"}
    assert all(row["sims_per_s"] > 0 and row["grid"] == 16 for row in result["rows"])
    assert result["machine"]["cpu_count"] >= 1


@pytest.mark.parametrize("max_minutes", [45.0, 480.0])
def test_numpy_baseline_matches_engine(max_minutes):
    landscape = jaxfire.landscape.synthetic(jax.random.key(3), (24, 24))
    grid = fire.spread_grid(landscape, jaxfire.Weather(25.0, 225.0))
    step, first = np.asarray(grid.step_minutes), np.asarray(grid.first_step_minutes)
    burnable = np.asarray(landscape.burnable)
    ignitions = [tuple(int(v) for v in ij) for ij in np.argwhere(burnable)[::97]]
    ignitions.append(tuple(int(v) for v in np.argwhere(~burnable)[0]))  # a non-burnable point source
    for ignition in ignitions:
        expected = np.asarray(fire.solve(grid, np.array(ignition), max_minutes))
        got = numpy_arrival_times(step, first, np.asarray(grid.burnable), grid.moves, ignition, max_minutes)
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(np.isfinite(got), finite)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-5)
    assert np.isinf(got[ignitions[-1]])  # the non-burnable point source itself never burns
