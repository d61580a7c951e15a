"""Tests for GeoTIFF input/output (jaxfire.landscape.raster); small rasters are written into tmp_path."""
import sys

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import Affine, from_origin  # noqa: E402

from jaxfire.landscape import raster  # noqa: E402

X0, Y0, CELL = 1_500_000.0, 2_100_000.0, 30.0
TRANSFORM = from_origin(X0, Y0, CELL, CELL)
CRS_ALBERS = CRS.from_epsg(5070)


def _write(path, array, *, transform=TRANSFORM, crs=CRS_ALBERS, nodata=None):
    array = np.asarray(array)
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype=array.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(array, 1)
    return path


def _landfire(tmp_path, shape=(6, 8)):
    """LANDFIRE-style layers in stored units (int16, CH/CBH x10, CBD x100, cover %), written to tmp_path."""
    rows, cols = shape
    r, c = np.mgrid[0:rows, 0:cols]
    stored = {
        "fuel_model": np.where(c < cols // 2, 101, 165).astype(np.int16),
        "slope": ((r + c) % 30).astype(np.int16),
        "aspect": ((40 * r + 7 * c) % 360).astype(np.int16),
        "elevation": (1000 + 10 * r).astype(np.int16),
        "canopy_cover": (5 * c).astype(np.int16),
        "canopy_height": (100 + 10 * c).astype(np.int16),
        "canopy_base_height": (20 + 2 * c).astype(np.int16),
        "canopy_bulk_density": (5 + r).astype(np.int16),
    }
    stored["fuel_model"][0, 0] = 91
    stored["aspect"][1, 1] = -1
    return stored, {name: _write(tmp_path / f"{name}.tif", array) for name, array in stored.items()}


def test_round_trip_converts_landfire_units(tmp_path):
    stored, paths = _landfire(tmp_path)
    stack = raster.read_stack(**paths)
    assert stack.shape == (6, 8) and stack.cell_size_m == pytest.approx(30.0)
    assert stack.transform == TRANSFORM and stack.crs == CRS_ALBERS and stack.valid.all()
    land = stack.landscape()
    assert land.shape == (6, 8) and land.cell_size_m == pytest.approx(30.0)
    flat = np.zeros((6, 8), bool)
    flat[1, 1] = True
    np.testing.assert_array_equal(np.asarray(land.fuel_model), stored["fuel_model"])
    np.testing.assert_allclose(np.asarray(land.slope_deg), np.where(flat, 0, stored["slope"]))
    np.testing.assert_allclose(np.asarray(land.aspect_deg), np.where(flat, 0, stored["aspect"]))
    np.testing.assert_allclose(np.asarray(land.canopy_cover), stored["canopy_cover"] / 100, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(land.canopy_height_m), stored["canopy_height"] / 10, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(land.canopy_base_height_m), stored["canopy_base_height"] / 10, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(land.canopy_bulk_density_kg_m3), stored["canopy_bulk_density"] / 100,
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(land.elevation_m), stored["elevation"])
    window = stack.landscape(2, 3, 3, 4)
    np.testing.assert_array_equal(np.asarray(window.fuel_model), stored["fuel_model"][2:5, 3:7])


def test_optional_layers_default_to_zero_and_unit_options(tmp_path):
    _write(tmp_path / "fuel.tif", np.full((4, 4), 102, np.int16))
    _write(tmp_path / "slope_pct.tif", np.array([[0, 100, 50, 10]] * 4, np.float32))
    _write(tmp_path / "aspect.tif", np.full((4, 4), 90, np.int16))
    _write(tmp_path / "cover.tif", np.full((4, 4), 0.4, np.float32))
    stack = raster.read_stack(tmp_path / "fuel.tif", tmp_path / "slope_pct.tif", tmp_path / "aspect.tif",
                              canopy_cover=tmp_path / "cover.tif", slope_units="percent",
                              canopy_cover_units="fraction")
    np.testing.assert_allclose(stack.slope_deg[0], np.degrees(np.arctan([0, 1.0, 0.5, 0.1])), rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_cover, 0.4, rtol=1e-6)
    for name in ("canopy_height_m", "canopy_base_height_m", "canopy_bulk_density_kg_m3", "elevation_m"):
        assert not getattr(stack, name).any(), name


def test_nodata_builds_valid_mask_and_fills_nonburnable(tmp_path):
    stored, paths = _landfire(tmp_path)
    slope = stored["slope"].copy()
    slope[2, 3] = -9999                                        # the file's own nodata value
    fuel = stored["fuel_model"].copy()
    fuel[4, 6] = 32767                                         # untagged LANDFIRE-style sentinel
    cover = stored["canopy_cover"].astype(np.float32)
    cover[5, 0] = np.nan
    aspect = stored["aspect"].copy()
    aspect[0, 5] = -9999                                       # aspect nodata means flat, not invalid
    paths["slope"] = _write(tmp_path / "slope_nd.tif", slope, nodata=-9999)
    paths["fuel_model"] = _write(tmp_path / "fuel_nd.tif", fuel)
    paths["canopy_cover"] = _write(tmp_path / "cover_nd.tif", cover, nodata=np.nan)
    paths["aspect"] = _write(tmp_path / "aspect_nd.tif", aspect, nodata=-9999)
    stack = raster.read_stack(**paths)
    expected = np.ones((6, 8), bool)
    expected[2, 3] = expected[4, 6] = expected[5, 0] = False
    np.testing.assert_array_equal(stack.valid, expected)
    assert (stack.fuel_model[~expected] == 99).all() and (stack.slope_deg[~expected] == 0).all()
    assert (stack.canopy_cover[~expected] == 0).all()
    assert stack.slope_deg[0, 5] == 0 and stack.aspect_deg[0, 5] == 0


def test_tiles_skip_nodata_and_carry_offset_transforms(tmp_path):
    fuel = np.full((8, 12), 121, np.int16)
    fuel[5, 4] = -9999
    paths = {"fuel_model": _write(tmp_path / "fuel.tif", fuel, nodata=-9999),
             "slope": _write(tmp_path / "slope.tif", np.full((8, 12), 10, np.int16)),
             "aspect": _write(tmp_path / "aspect.tif", np.full((8, 12), 180, np.int16))}
    stack = raster.read_stack(**paths)
    kept = raster.tiles(stack, 4)
    assert [(t.row, t.col) for t in kept] == [(0, 0), (0, 4), (0, 8), (4, 0), (4, 8)]   # (4, 4) has nodata
    assert len(raster.tiles(stack, 4, stride=2)) == 3 * 5 - 4                         # 4 windows hold (5, 4)
    lenient = raster.tiles(stack, 4, max_nodata_fraction=1 / 16)
    assert len(lenient) == 6
    tile = lenient[4]
    assert (tile.row, tile.col) == (4, 4) and not tile.valid[1, 0] and tile.valid.sum() == 15
    assert int(tile.landscape.fuel_model[1, 0]) == 99 and float(tile.landscape.slope_deg[1, 0]) == 0.0
    assert tile.shape == (4, 4) and tile.crs == CRS_ALBERS
    for t in lenient:
        assert t.transform @ (0, 0) == pytest.approx((X0 + t.col * CELL, Y0 - t.row * CELL))
        assert t.transform @ (0, 0) == pytest.approx(stack.transform @ (t.col, t.row))
    pool, offsets = raster.tile_pool(stack, 4)
    assert pool.fuel_model.shape == (5, 4, 4) and offsets == [(t.row, t.col) for t in kept]
    with pytest.raises(ValueError, match="no 8x8 tile"):
        raster.tiles(stack, 8, stride=4)


def test_written_geotiffs_reopen_with_values_and_georeference(tmp_path):
    _, paths = _landfire(tmp_path)
    stack = raster.read_stack(**paths)
    tile = next(t for t in raster.tiles(stack, 3) if (t.row, t.col) == (3, 3))   # offset from the origin
    breaks = np.zeros((3, 3), bool)
    breaks[1] = True
    before = np.linspace(0, 1, 9, dtype=np.float32).reshape(3, 3)
    written = raster.write_results(tmp_path / "out", tile, fuel_breaks=breaks, burn_probability_before=before,
                                   burn_probability_after=before / 2)
    assert sorted(p.name for p in written.values()) == ["burn_probability_after.tif", "burn_probability_before.tif",
                                                        "fuel_breaks.tif"]
    for name, expected, dtype in (("fuel_breaks", breaks, "uint8"), ("burn_probability_before", before, "float32"),
                                  ("burn_probability_after", before / 2, "float32")):
        with rasterio.open(written[name]) as src:
            assert src.dtypes[0] == dtype and src.crs == CRS_ALBERS
            assert src.transform.almost_equals(from_origin(X0 + 3 * CELL, Y0 - 3 * CELL, CELL, CELL))
            np.testing.assert_array_equal(src.read(1), expected.astype(dtype))
    path = raster.write_geotiff(tmp_path / "elev.tif", stack.elevation_m, stack.transform, stack.crs, nodata=-9999)
    with rasterio.open(path) as src:
        assert src.transform == stack.transform and src.nodata == -9999
        np.testing.assert_array_equal(src.read(1), stack.elevation_m)


def test_existing_files_are_not_overwritten(tmp_path):
    _, paths = _landfire(tmp_path)
    stack = raster.read_stack(**paths)
    zeros = np.zeros(stack.shape, np.float32)
    raster.write_results(tmp_path / "out", stack, burn_probability_before=zeros)
    with pytest.raises(FileExistsError, match="burn_probability_before.tif"):
        raster.write_results(tmp_path / "out", stack, fuel_breaks=zeros, burn_probability_before=zeros)
    assert not (tmp_path / "out" / "fuel_breaks.tif").exists()               # nothing written on refusal
    with pytest.raises(FileExistsError, match="fuel_model.tif"):
        raster.write_geotiff(paths["fuel_model"], zeros, stack.transform, stack.crs)
    raster.write_results(tmp_path / "out", stack, burn_probability_before=zeros + 0.5, overwrite=True)
    with rasterio.open(tmp_path / "out" / "burn_probability_before.tif") as src:
        assert (src.read(1) == 0.5).all()


@pytest.mark.parametrize("kwargs, what", [
    (dict(transform=from_origin(X0 + CELL, Y0, CELL, CELL)), "transform"),
    (dict(shape=(6, 7)), "size 6x7"),
    (dict(crs=CRS.from_epsg(32611)), "CRS"),
])
def test_mismatched_grids_are_rejected(tmp_path, kwargs, what):
    stored, paths = _landfire(tmp_path)
    shape = kwargs.pop("shape", (6, 8))
    paths["canopy_cover"] = _write(tmp_path / "odd_cover.tif", stored["canopy_cover"][:shape[0], :shape[1]], **kwargs)
    with pytest.raises(ValueError, match=f"odd_cover.tif.*{what}"):
        raster.read_stack(**paths)


def test_bad_grids_nodata_everywhere_and_unknown_codes(tmp_path):
    stored, paths = _landfire(tmp_path)
    skewed = dict(paths, **{name: _write(tmp_path / f"skew_{name}.tif", array,
                                         transform=Affine(30.0, 0.0, X0, 0.0, -20.0, Y0))
                            for name, array in stored.items()})
    with pytest.raises(ValueError, match="non-square"):
        raster.read_stack(**skewed)
    empty = dict(paths, elevation=_write(tmp_path / "empty.tif", np.full((6, 8), -9999, np.int16), nodata=-9999))
    with pytest.raises(ValueError, match="no valid cells"):
        raster.read_stack(**empty)
    fuel = stored["fuel_model"].copy()
    fuel[3, 3] = 150
    with pytest.raises(ValueError, match=r"unknown fuel-model code\(s\) \[150\]"):
        raster.read_stack(**dict(paths, fuel_model=_write(tmp_path / "bad_fuel.tif", fuel)))


def test_missing_rasterio_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rasterio", None)
    with pytest.raises(ImportError, match=r"jaxfire\[geo\]"):
        raster.read_stack(tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "c.tif")
