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


# ---------------------------------------------------------------- read_landscape: folders, multi-band, cover units

LCP_ORDER = ("elevation", "slope", "aspect", "fuel_model", "canopy_cover", "canopy_height", "canopy_base_height",
             "canopy_bulk_density")
LANDFIRE_FILES = {"fuel_model": "LC20_F40_200.tif", "slope": "US_SlpD.tif", "aspect": "LC20_Asp_200.tif",
                  "elevation": "LC20_Elev_200.tif", "canopy_cover": "LC20_CC_200.tif",
                  "canopy_height": "LC20_CH_200.tif", "canopy_base_height": "LC20_CBH_200.tif",
                  "canopy_bulk_density": "LC20_CBD_200.tif"}
LANDFIRE_DESCRIPTIONS = {"fuel_model": "US_220F40", "slope": "US_SLPD2020", "aspect": "US_ASP2020",
                         "elevation": "US_DEM2020", "canopy_cover": "US_220CC", "canopy_height": "US_220CH",
                         "canopy_base_height": "US_220CBH", "canopy_bulk_density": "US_220CBD"}


def _folder(tmp_path, name, stored, file_names):
    folder = tmp_path / name
    folder.mkdir()
    for layer, file_name in file_names.items():
        _write(folder / file_name, stored[layer])
    return folder


def _write_multiband(path, arrays, descriptions=None):
    with rasterio.open(path, "w", driver="GTiff", height=arrays[0].shape[0], width=arrays[0].shape[1],
                       count=len(arrays), dtype="int16", crs=CRS_ALBERS, transform=TRANSFORM) as dst:
        for band, array in enumerate(arrays, 1):
            dst.write(array.astype(np.int16), band)
            if descriptions:
                dst.set_band_description(band, descriptions[band - 1])
    return path


def _assert_same_stack(a, b):
    for name in ("fuel_model", "slope_deg", "aspect_deg", "canopy_cover", "canopy_height_m", "canopy_base_height_m",
                 "canopy_bulk_density_kg_m3", "elevation_m", "valid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.transform == b.transform and a.crs == b.crs and a.cell_size_m == b.cell_size_m


def test_landfire_folder_multiband_and_project_folder_read_the_same(tmp_path):
    (tmp_path / "project").mkdir()
    stored, paths = _landfire(tmp_path / "project", shape=(6, 7))
    reference = raster.read_stack(**paths)
    _assert_same_stack(raster.read_landscape(tmp_path / "project"), reference)
    landfire = _folder(tmp_path, "landfire", stored, LANDFIRE_FILES)
    (landfire / "LC20_F40_200.tif.aux.xml").write_text("<PAMDataset/>")     # sidecars and other files are ignored
    (landfire / "README.txt").write_text("LANDFIRE download")
    _write(landfire / "US_EVT.tif", stored["fuel_model"])                    # a product jaxfire does not use
    _assert_same_stack(raster.read_landscape(landfire), reference)
    multiband = _write_multiband(tmp_path / "landscape.tif", [stored[name] for name in LCP_ORDER])
    _assert_same_stack(raster.read_landscape(multiband), reference)
    shuffled = LCP_ORDER[::-1]                                               # descriptions decide the order
    described = _write_multiband(tmp_path / "described.tif", [stored[name] for name in shuffled],
                                 [LANDFIRE_DESCRIPTIONS[name] for name in shuffled])
    _assert_same_stack(raster.read_landscape(described), reference)
    gdal_names = ["Canopy bulk density", "Canopy base height", "Canopy height", "Canopy cover", "Fuel models",
                  "Aspect", "Slope", "Elevation"]                             # GDAL's LCP band descriptions
    gdal = _write_multiband(tmp_path / "gdal.tif", [stored[name] for name in shuffled], gdal_names)
    _assert_same_stack(raster.read_landscape(gdal), reference)


def test_five_band_landscape_has_no_canopy_fuels(tmp_path):
    stored, paths = _landfire(tmp_path, shape=(6, 7))
    five = _write_multiband(tmp_path / "five.tif", [stored[name] for name in LCP_ORDER[:5]])
    expected = raster.read_stack(**{name: paths[name] for name in LCP_ORDER[:5]})
    _assert_same_stack(raster.read_landscape(five), expected)
    assert not raster.read_landscape(five).canopy_height_m.any()


@pytest.mark.parametrize("count", [1, 3, 6, 9])
def test_multiband_band_counts_other_than_5_or_8_are_refused(tmp_path, count):
    stored, _ = _landfire(tmp_path, shape=(6, 7))
    path = _write_multiband(tmp_path / "odd.tif", [stored["elevation"]] * count)
    with pytest.raises(ValueError, match=rf"odd.tif has {count} band\(s\); a landscape raster has 8 bands"):
        raster.read_landscape(path)


def test_partial_or_duplicate_band_descriptions_are_refused(tmp_path):
    stored, _ = _landfire(tmp_path, shape=(6, 7))
    arrays = [stored[name] for name in LCP_ORDER]
    partial = _write_multiband(tmp_path / "partial.tif", arrays, ["US_DEM2020", "US_SLPD2020"] + [""] * 6)
    with pytest.raises(ValueError, match=r"partial.tif: the band descriptions \(band 1: 'US_DEM2020'.*do not name"):
        raster.read_landscape(partial)
    twice = _write_multiband(tmp_path / "twice.tif", arrays, [LANDFIRE_DESCRIPTIONS[n] for n in LCP_ORDER[:-1]]
                             + ["US_220F40"])
    with pytest.raises(ValueError, match=r"twice.tif: the band descriptions .*band 8: 'US_220F40'"):
        raster.read_landscape(twice)


def test_percent_slope_by_name_and_contradicting_override(tmp_path):
    stored, paths = _landfire(tmp_path, shape=(6, 7))
    files = dict(LANDFIRE_FILES, slope="US_SlpP.tif")
    percent = _folder(tmp_path, "percent", dict(stored, slope=stored["slope"] * 3), files)
    expected = raster.read_stack(**dict(paths, slope=percent / "US_SlpP.tif"), slope_units="percent")
    _assert_same_stack(raster.read_landscape(percent), expected)
    as_degrees = raster.read_stack(**dict(paths, slope=percent / "US_SlpP.tif"))
    assert not np.allclose(expected.slope_deg, as_degrees.slope_deg)
    with pytest.raises(ValueError, match=r"US_SlpP.tif is named as slope_units='percent', but "
                                         r"slope_units='degrees' was passed"):
        raster.read_landscape(percent, slope_units="degrees")


@pytest.mark.parametrize("extra, message", [
    ({"LC20_F13_200.tif": "fuel_model"}, r"more than one file per layer \(fuel_model: LC20_F13_200.tif, "
                                         r"LC20_F40_200.tif\)"),
    ({"fuel_model.tif": "fuel_model"}, r"fuel_model: LC20_F40_200.tif, fuel_model.tif"),
    ({"US_SlpP.tif": "slope"}, r"slope: US_SlpD.tif, US_SlpP.tif"),
    ({"LC20_CC_CH.tif": "canopy_cover"}, r"LC20_CC_CH.tif matches more than one landscape layer \(canopy_cover, "
                                         r"canopy_height\)"),
])
def test_ambiguous_folders_are_refused_naming_the_files(tmp_path, extra, message):
    stored, _ = _landfire(tmp_path, shape=(6, 7))
    folder = _folder(tmp_path, "lf", stored, LANDFIRE_FILES)
    for file_name, layer in extra.items():
        _write(folder / file_name, stored[layer])
    with pytest.raises(ValueError, match=message):
        raster.read_landscape(folder)


def test_incomplete_folder_unknown_keyword_and_missing_path(tmp_path):
    stored, _ = _landfire(tmp_path, shape=(6, 7))
    folder = _folder(tmp_path, "lf", stored, {k: v for k, v in LANDFIRE_FILES.items() if k != "aspect"})
    with pytest.raises(ValueError, match=r"lf has no raster for aspect \(found: LC20_CBD_200.tif"):
        raster.read_landscape(folder)
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) \['slope_unit'\]"):
        raster.read_landscape(folder, slope_unit="percent")
    with pytest.raises(FileNotFoundError, match="nowhere.tif"):
        raster.read_landscape(tmp_path / "nowhere.tif")


@pytest.mark.parametrize("name, layer, hint", [
    ("LC20_F40_200", "fuel_model", None), ("LF2022_FBFM13_220_CONUS", "fuel_model", None),
    ("US_SlpD", "slope", None), ("us_slpp", "slope", ("slope_units", "percent")), ("LC20_Asp_200", "aspect", None),
    ("US_DEM2020", "elevation", None), ("LC20_Elev_200", "elevation", None), ("US_220CC", "canopy_cover", None),
    ("LC20_CH_200", "canopy_height", None), ("LC20_CBH_200", "canopy_base_height", None),
    ("lc20-cbd-200", "canopy_bulk_density", None), ("canopy_base_height", "canopy_base_height", None),
    ("Fuel models", "fuel_model", None),
])
def test_layer_names(name, layer, hint):
    from jaxfire.landscape import names
    matches = names.identify(name)
    assert {match[0] for match in matches} == {layer}
    if hint is not None:
        assert matches == {(layer, hint)}


@pytest.mark.parametrize("name", ["US_EVT", "LC20_CCH_200", "ACCESS", "slope_of_hill_roads", "LC20_EVC_200"])
def test_names_without_a_whole_product_code_are_not_layers(name):
    from jaxfire.landscape import names
    assert names.identify(name) == set()


def test_fractional_canopy_cover_under_percent_units_is_refused(tmp_path):
    stored, paths = _landfire(tmp_path, shape=(6, 7))
    fraction = _write(tmp_path / "cover_fraction.tif", (stored["canopy_cover"] / 100.0).astype(np.float32))
    with pytest.raises(ValueError, match=r"canopy cover .*cover_fraction.tif looks like a fraction, not percent: "
                                         r"every valid value is <= 1 \(max 0.3\).*canopy_cover_units=\"fraction\""):
        raster.read_stack(**dict(paths, canopy_cover=fraction))
    read = raster.read_stack(**dict(paths, canopy_cover=fraction), canopy_cover_units="fraction")
    np.testing.assert_allclose(read.canopy_cover, stored["canopy_cover"] / 100.0, rtol=1e-6)
    no_canopy = _write(tmp_path / "cover_zero.tif", np.zeros((6, 7), np.int16))    # all-zero percent cover is fine
    assert not raster.read_stack(**dict(paths, canopy_cover=no_canopy)).canopy_cover.any()
    folder = _folder(tmp_path, "lf", dict(stored, canopy_cover=stored["canopy_cover"] / 100.0),
                     LANDFIRE_FILES)
    with pytest.raises(ValueError, match=r"LC20_CC_200.tif looks like a fraction"):
        raster.read_landscape(folder)
