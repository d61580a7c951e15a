"""experiments.plan end to end on a small LANDFIRE-style multi-band landscape written here: outputs reopen on the
source georeference, the plan respects the budget and never treats nodata or non-burnable cells, reruns with the
same seed give identical files, and bad inputs are refused before anything is written."""
import json

import jax
import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from experiments import plan  # noqa: E402
from jaxfire import landscape  # noqa: E402
from jaxfire.landscape import raster  # noqa: E402

TRANSFORM, CRS_ALBERS = from_origin(1_500_000.0, 2_100_000.0, 30.0, 30.0), CRS.from_epsg(5070)
SHAPE = (20, 24)


@pytest.fixture(scope="module")
def landscape_file(tmp_path_factory):
    """An 8-band GeoTIFF in LANDFIRE units (.lcp band order) with canopy, a road and a nodata corner."""
    land = landscape.synthetic(jax.random.key(4), SHAPE, roads=1, rivers=0, lakes=0)
    bands = [np.asarray(land.elevation_m), np.asarray(land.slope_deg), np.asarray(land.aspect_deg),
             np.asarray(land.fuel_model), 100 * np.asarray(land.canopy_cover), 10 * np.asarray(land.canopy_height_m),
             10 * np.asarray(land.canopy_base_height_m), 100 * np.asarray(land.canopy_bulk_density_kg_m3)]
    bands = [np.round(b).astype(np.int16) for b in bands]
    for band in bands:
        band[:3, :4] = -9999                                   # nodata corner
    path = tmp_path_factory.mktemp("landscape") / "landscape.tif"
    with rasterio.open(path, "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=8, dtype="int16",
                       crs=CRS_ALBERS, transform=TRANSFORM, nodata=-9999) as dst:
        for index, band in enumerate(bands, 1):
            dst.write(band, index)
    return path


ARGS = ["--budget", "0.05", "--fires", "64", "--plan-fires", "16", "--weather-scenarios", "2", "--max-minutes", "120",
        "--wind-kmh", "15,25", "--wind-spread-deg", "20", "--method", "cut_lines,dpv", "--batch", "32"]


def read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.transform, src.crs, src.nodata


def test_plan_writes_georeferenced_outputs_within_budget_and_reproducibly(landscape_file, tmp_path):
    report = plan.main([str(landscape_file), "--out", str(tmp_path / "a"), *ARGS])
    out = tmp_path / "a"
    names = {"plan.tif", "plan_dpv.tif", "burn_probability_before.tif", "burn_probability_after.tif",
             "fire_type.tif", "plan.png", "report.json", "report.md"}
    assert names <= {p.name for p in out.iterdir()}
    stack = raster.read_landscape(landscape_file)
    burnable = np.asarray(stack.landscape().burnable) & stack.valid
    cells = report["inputs"]["cells_to_treat"]
    assert cells == int(round(0.05 * burnable.sum()))
    for name in ("plan.tif", "plan_dpv.tif"):
        values, transform, crs, nodata = read(out / name)
        assert transform == TRANSFORM and crs == CRS_ALBERS and nodata == 255
        assert (values[~stack.valid] == 255).all()              # nodata stays nodata
        treated = values == 1
        assert treated.sum() == cells and not (treated & ~burnable).any()
    before, _, _, nodata = read(out / "burn_probability_before.tif")
    after = read(out / "burn_probability_after.tif")[0]
    assert nodata == -1 and (before[~stack.valid] == -1).all()
    assert (after[stack.valid] <= before[stack.valid] + 1e-6).all()   # breaks never make a cell burn more often
    types = read(out / "fire_type.tif")[0]
    assert set(np.unique(types[stack.valid])) <= {0, 1, 2, 3} and (types[stack.valid & ~burnable] == 0).all()
    saved = json.loads((out / "report.json").read_text())
    for name in ("none", "cut_lines", "dpv"):
        assert 0 <= saved["methods"][name]["burned_fraction"] <= 1
    assert saved["methods"]["dpv"]["burned_fraction"] <= saved["methods"]["none"]["burned_fraction"]
    plan.main([str(landscape_file), "--out", str(tmp_path / "b"), *ARGS])
    for name in ("plan.tif", "plan_dpv.tif", "burn_probability_before.tif", "burn_probability_after.tif",
                 "fire_type.tif"):
        np.testing.assert_array_equal(read(out / name)[0], read(tmp_path / "b" / name)[0], err_msg=name)


@pytest.mark.parametrize("flags, message", [
    (["--budget", "2.0"], "between 1 and"), (["--budget", "lots"], "--budget"), (["--method", "magic"], "unknown"),
    (["--fires", "63"], "multiple"), (["--budget", "1e9ha"], "between 1 and")])
def test_bad_inputs_are_refused_before_anything_is_written(landscape_file, tmp_path, flags, message):
    with pytest.raises(SystemExit, match=message):
        plan.main([str(landscape_file), "--out", str(tmp_path / "x"), *ARGS, *flags])
    assert not (tmp_path / "x").exists()


def test_budget_units():
    assert plan.budget_cells("0.05", 1000, 0.09) == 50
    assert plan.budget_cells("5%", 1000, 0.09) == 50
    assert plan.budget_cells("120cells", 1000, 0.09) == 120
    assert plan.budget_cells("9ha", 1000, 0.09) == 100


def test_the_target_benchmark_landscape_reads_back_as_the_synthetic_one(tmp_path):
    from experiments.bench import plan_landscape
    path = plan_landscape.write_landscape(tmp_path / "landscape.tif", 16, seed=2)
    read = raster.read_landscape(path).landscape()
    made = landscape.synthetic(jax.random.key(2), (16, 16))
    np.testing.assert_array_equal(read.fuel_model, made.fuel_model)
    for name, tolerance in (("elevation_m", 0.5), ("slope_deg", 0.5), ("aspect_deg", 0.5), ("canopy_cover", 0.005),
                            ("canopy_height_m", 0.05), ("canopy_base_height_m", 0.05),
                            ("canopy_bulk_density_kg_m3", 0.005)):
        np.testing.assert_allclose(getattr(read, name), getattr(made, name), atol=tolerance, err_msg=name)
