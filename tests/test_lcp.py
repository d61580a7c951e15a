"""Tests for FlamMap/FARSITE .lcp files (jaxfire.landscape.lcp).

The files are written here byte by byte with ``struct`` from the documented layout (GDAL's LCP driver page, "LCP
header format"), independently of jaxfire's writer: offsets and flag values below are copied from that table.
"""
import struct
import warnings

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
import rasterio.shutil  # noqa: E402
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from jaxfire.landscape import lcp, raster  # noqa: E402

ROWS, COLS = 6, 7
X0, Y0, CELL = 500_000.0, 4_200_000.0, 30.0
UTM11 = CRS.from_epsg(32611)
FT = 0.3048
LB_FT3 = 0.45359237 / FT ** 3                     # kg/m^3 per lb/ft^3
# EUnits, SUnits, AUnits, FOptions, CUnits, HUnits, BUnits, PUnits, DUnits, WOptions as LANDFIRE writes them:
# metres, degrees, azimuth degrees, standard fuels, percent, m x 10, m x 10, kg/m^3 x 100, Mg/ha x 10, 0.
LANDFIRE_UNITS = (0, 0, 2, 0, 1, 3, 3, 3, 1, 0)
BASIC = ("elevation", "slope", "aspect", "fuel_model", "canopy_cover")
CROWN = ("canopy_height", "canopy_base_height", "canopy_bulk_density")
GROUND = ("duff", "coarse_woody")


def _header(*, crown=21, ground=20, latitude=38, rows=ROWS, cols=COLS, west=X0, north=Y0, res=CELL, y_res=None,
            east=None, grid_units=0, units=LANDFIRE_UNITS, description=b"hand-written test landscape"):
    """A 7316-byte header packed field by field at the documented byte offsets."""
    y_res = res if y_res is None else y_res
    east = west + cols * res if east is None else east
    header = bytearray(7316)
    struct.pack_into("<iii", header, 0, crown, ground, latitude)             # CrownFuels, GroundFuels, latitude
    struct.pack_into("<ii", header, 4164, cols, rows)                        # numeast, numnorth
    struct.pack_into("<dddd", header, 4172, east, west, north, north - rows * y_res)   # East/West/North/SouthUtm
    struct.pack_into("<i", header, 4204, grid_units)                         # GridUnits
    struct.pack_into("<dd", header, 4208, res, y_res)                        # XResol, YResol
    struct.pack_into("<10h", header, 4224, *units)                           # EUnits ... WOptions
    header[6804:6804 + len(description)] = description                      # Description
    return header


def _write(path, header, bands, *, prj=UTM11):
    """``header`` then the ``[ROWS, COLS]`` bands interleaved by pixel as little-endian int16 (+ a .prj)."""
    body = np.stack([np.asarray(band) for band in bands], axis=-1).astype("<i2").tobytes()
    path.write_bytes(bytes(header) + body)
    if prj is not None:
        path.with_suffix(".prj").write_text(prj.to_wkt(version="WKT1_ESRI"))
    return path


def _stored():
    """Band values in LANDFIRE's stored units (m, degrees, azimuth, FBFM40, %, m x 10, m x 10, kg/m^3 x 100)."""
    r, c = np.mgrid[0:ROWS, 0:COLS]
    canopy = c >= 3
    return {
        "elevation": 1200 + 10 * r + c, "slope": (3 * r + c) % 40, "aspect": (45 * r + 10 * c) % 360,
        "fuel_model": np.where(canopy, 165, 102), "canopy_cover": np.where(canopy, 15 + 10 * r, 0),
        "canopy_height": np.where(canopy, 150 + 10 * c, 0), "canopy_base_height": np.where(canopy, 20 + r, 0),
        "canopy_bulk_density": np.where(canopy, 5 + c, 0), "duff": np.full((ROWS, COLS), 7),
        "coarse_woody": np.full((ROWS, COLS), 3),
    }


def _assert_same_stack(a, b):
    for name in ("fuel_model", "slope_deg", "aspect_deg", "canopy_cover", "canopy_height_m", "canopy_base_height_m",
                 "canopy_bulk_density_kg_m3", "elevation_m", "valid"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6, atol=1e-6, err_msg=name)
    assert a.transform.almost_equals(b.transform) and a.crs == b.crs
    assert a.cell_size_m == pytest.approx(b.cell_size_m)


@pytest.mark.parametrize("crown, ground, bands", [
    (20, 20, BASIC), (20, 21, BASIC + GROUND), (21, 20, BASIC + CROWN), (21, 21, BASIC + CROWN + GROUND)])
def test_crown_and_ground_flags_decide_the_bands(tmp_path, crown, ground, bands):
    stored = _stored()
    units = LANDFIRE_UNITS if crown == 21 else (0, 0, 2, 0, 1, 0, 0, 0, 0, 0)   # crown flags unused without crown
    path = _write(tmp_path / "flags.lcp", _header(crown=crown, ground=ground, latitude=-33, units=units),
                  [stored[name] for name in bands])
    header = lcp.read_lcp_header(path)
    assert header.bands == bands and header.file_size == 7316 + ROWS * COLS * len(bands) * 2
    assert (header.latitude, header.cols, header.rows, header.grid_units) == (-33, COLS, ROWS, 0)
    assert (header.west, header.north, header.east, header.south) == (X0, Y0, X0 + COLS * CELL, Y0 - ROWS * CELL)
    assert header.description == "hand-written test landscape"
    stack = raster.read_landscape(path)
    assert stack.shape == (ROWS, COLS) and stack.valid.all()
    np.testing.assert_array_equal(stack.fuel_model, stored["fuel_model"])
    np.testing.assert_allclose(stack.elevation_m, stored["elevation"])
    np.testing.assert_allclose(stack.canopy_cover, stored["canopy_cover"] / 100, rtol=1e-6)
    has_crown = crown == 21                                    # duff/woody must never be read as canopy fuels
    np.testing.assert_allclose(stack.canopy_height_m, stored["canopy_height"] / 10 * has_crown, rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_base_height_m, stored["canopy_base_height"] / 10 * has_crown, rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_bulk_density_kg_m3, stored["canopy_bulk_density"] / 100 * has_crown,
                               rtol=1e-6)


def test_imperial_and_grass_units_flags_are_converted(tmp_path):
    stored = _stored()
    r, c = np.mgrid[0:ROWS, 0:COLS]
    bands = dict(stored, elevation=3937 + 100 * r, slope=np.array([0, 10, 50, 100, 150, 5, 20])[c],
                 aspect=np.array([90, 180, 270, 360, 0, 45, 135])[c],                 # GRASS: ccw from east, 0 flat
                 canopy_height=np.where(c >= 3, 60 + c, 0), canopy_base_height=np.where(c >= 3, 80, 0),
                 canopy_bulk_density=np.where(c >= 3, 6 + r, 0))
    units = (1, 1, 1, 0, 1, 2, 4, 4, 1, 0)           # feet, percent, GRASS degrees, -, %, ft, ft x 10, lb/ft^3 x 1000
    path = _write(tmp_path / "imperial.lcp", _header(units=units), [bands[name] for name in BASIC + CROWN])
    stack = raster.read_landscape(path)
    np.testing.assert_allclose(stack.elevation_m, bands["elevation"] * FT, rtol=1e-6)
    flat = bands["aspect"] == 0
    np.testing.assert_allclose(stack.slope_deg, np.where(flat, 0, np.degrees(np.arctan(bands["slope"] / 100))),
                               rtol=1e-6, atol=1e-6)
    azimuth = np.array([0, 270, 180, 90, 0, 45, 315])[c]                    # north, west, south, east, flat, NE, NW
    np.testing.assert_allclose(stack.aspect_deg, azimuth, atol=1e-4)
    np.testing.assert_allclose(stack.canopy_height_m, bands["canopy_height"] * FT, rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_base_height_m, bands["canopy_base_height"] * FT / 10, rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_bulk_density_kg_m3, bands["canopy_bulk_density"] * LB_FT3 / 1000,
                               rtol=1e-5)


@pytest.mark.parametrize("code, metres", [(1, 1.0), (2, FT), (3, 0.1), (4, FT / 10)])
def test_height_units_flags(tmp_path, code, metres):
    stored = _stored()
    r, c = np.mgrid[0:ROWS, 0:COLS]
    bands = dict(stored, canopy_height=np.where(c >= 3, 20 + c, 0), canopy_base_height=np.where(c >= 3, 2 + r % 2, 0))
    units = (0, 0, 2, 0, 1, code, code, 3, 1, 0)
    stack = raster.read_landscape(_write(tmp_path / "h.lcp", _header(units=units), [bands[n] for n in BASIC + CROWN]))
    np.testing.assert_allclose(stack.canopy_height_m, bands["canopy_height"] * metres, rtol=1e-6)
    np.testing.assert_allclose(stack.canopy_base_height_m, bands["canopy_base_height"] * metres, rtol=1e-6)


@pytest.mark.parametrize("code, kg_m3, values", [(1, 1.0, (0, 1)), (3, 0.01, (5, 30)), (4, LB_FT3 / 1000, (6, 90))])
def test_bulk_density_units_flags(tmp_path, code, kg_m3, values):
    stored = _stored()
    bands = dict(stored, canopy_bulk_density=np.where(stored["canopy_height"] > 0, values[1], values[0]))
    units = (0, 0, 2, 0, 1, 3, 3, code, 1, 0)
    stack = raster.read_landscape(_write(tmp_path / "p.lcp", _header(units=units), [bands[n] for n in BASIC + CROWN]))
    np.testing.assert_allclose(stack.canopy_bulk_density_kg_m3, bands["canopy_bulk_density"] * kg_m3, rtol=1e-5)


def test_bulk_density_in_lb_per_cubic_foot_is_converted_before_validation(tmp_path):
    stored = _stored()                                  # 1 lb/ft^3 = 16 kg/m^3: above from_arrays' 5 kg/m^3 limit
    bands = dict(stored, canopy_bulk_density=np.where(stored["canopy_height"] > 0, 1, 0))
    units = (0, 0, 2, 0, 1, 3, 3, 2, 1, 0)
    path = _write(tmp_path / "lb.lcp", _header(units=units), [bands[n] for n in BASIC + CROWN])
    with pytest.raises(ValueError, match=r"canopy_bulk_density must be <= 5\.0, got max 16\.0.*lb\.lcp; check the "
                                         r"header's units flags"):
        raster.read_landscape(path)


def test_georeference_from_header_and_prj(tmp_path):
    stored = _stored()
    bands = [stored[name] for name in BASIC + CROWN]
    stack = raster.read_landscape(_write(tmp_path / "prj.lcp", _header(), bands))
    assert stack.crs == UTM11 and stack.transform == from_origin(X0, Y0, CELL, CELL)
    assert stack.cell_size_m == pytest.approx(CELL)
    with pytest.warns(UserWarning, match=r"no \.prj sidecar.*crs=None.*30\.48 m"):
        feet = raster.read_landscape(_write(tmp_path / "feet.lcp", _header(res=100.0, grid_units=1), bands, prj=None))
    assert feet.crs is None and feet.cell_size_m == pytest.approx(30.48)
    assert feet.transform == from_origin(X0, Y0, 100.0, 100.0)
    with pytest.raises(ValueError, match=r"GridUnits 1 .*disagrees with the linear unit of wrong\.prj \(metre"):
        raster.read_landscape(_write(tmp_path / "wrong.lcp", _header(res=100.0, grid_units=1), bands))
    (tmp_path / "bad.lcp").write_bytes((tmp_path / "prj.lcp").read_bytes())
    (tmp_path / "bad.prj").write_text("not a CRS")
    with pytest.raises(ValueError, match=r"bad\.prj \(the CRS of bad\.lcp\) could not be parsed"):
        raster.read_landscape(tmp_path / "bad.lcp")


def _corrupt(tmp_path, name, header_kwargs=None, cut=0, extra=b""):
    stored = _stored()
    path = _write(tmp_path / f"{name}.lcp", _header(**(header_kwargs or {})),
                  [stored[band] for band in BASIC + CROWN])
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - cut] + extra)
    return path


FULL = 7316 + ROWS * COLS * 8 * 2


def _units(**flags):
    """LANDFIRE_UNITS with some flags replaced, e.g. ``_units(SUnits=7)``."""
    names = ("EUnits", "SUnits", "AUnits", "FOptions", "CUnits", "HUnits", "BUnits", "PUnits", "DUnits", "WOptions")
    return dict(header_kwargs=dict(units=tuple(flags.get(name, value) for name, value in zip(names, LANDFIRE_UNITS))))


@pytest.mark.parametrize("case, kwargs, message", [
    ("data_cut", dict(cut=2), rf"is truncated: expected {FULL} bytes \(7316-byte header \+ 6 rows x 7 cols x 8 "
                              rf"bands x 2 bytes\), got {FULL - 2}"),
    ("trailing", dict(extra=b"\0\0"), rf"has trailing data: expected {FULL} bytes .*got {FULL + 2}"),
    ("header_cut", dict(cut=FULL - 100), r"truncated: an \.lcp header needs 7316 bytes, the file has 100"),
    ("version", dict(header_kwargs=dict(crown=10)), r"unknown \.lcp version or CrownFuels flag 10 at byte 0"),
    ("ground", dict(header_kwargs=dict(ground=0)), r"GroundFuels flag 0 at byte 4"),
    ("latitude", dict(header_kwargs=dict(latitude=123)), r"latitude 123 at byte 8"),
    ("elevation", _units(EUnits=3), r"unknown EUnits units flag 3 at byte 4224"),
    ("slope", _units(SUnits=7), r"unknown SUnits units flag 7 at byte 4226"),
    ("height", _units(HUnits=0), r"unknown HUnits units flag 0 at byte 4234"),
    ("density", _units(PUnits=9), r"unknown PUnits units flag 9 at byte 4238"),
    ("categories", _units(CUnits=0), r"categories 0-4 \(CUnits = 0\)"),
    ("grass", _units(AUnits=0), r"GRASS categories \(AUnits = 0\)"),
    ("conversion", _units(FOptions=2), r"conversion file \(FOptions = 2\)"),
    ("grid", dict(header_kwargs=dict(grid_units=7)), r"unknown GridUnits flag 7 at byte 4204"),
    ("square", dict(header_kwargs=dict(y_res=20.0)), r"non-square cells XResol=30\.0 x YResol=20\.0"),
    ("extent", dict(header_kwargs=dict(east=X0 + 1000.0)), r"extent \(EastUtm - WestUtm = 1000\.0"),
])
def test_unreadable_files_are_refused_naming_the_problem(tmp_path, case, kwargs, message):
    path = _corrupt(tmp_path, case, **kwargs)
    with pytest.raises(ValueError, match=message) as caught:
        raster.read_landscape(path)
    assert f"{case}.lcp" in str(caught.value)


def test_lcp_units_cannot_be_overridden_but_nodata_can(tmp_path):
    stored = _stored()
    stored["slope"][1, 2] = 555                                  # a project-specific sentinel
    path = _write(tmp_path / "o.lcp", _header(), [stored[name] for name in BASIC + CROWN])
    with pytest.raises(ValueError, match="units flags; slope_units cannot be overridden"):
        raster.read_landscape(path, slope_units="percent")
    stack = raster.read_landscape(path, nodata_values=(-9999, 555))
    assert not stack.valid[1, 2] and stack.valid.sum() == ROWS * COLS - 1 and stack.fuel_model[1, 2] == 99


def test_round_trip_through_the_writer(tmp_path):
    stored = _stored()
    stored["fuel_model"][2, 5] = -9999                           # nodata (LCP convention)
    stored["aspect"][0, 0] = -1                                  # LANDFIRE flat
    source = _write(tmp_path / "source.lcp", _header(), [stored[name] for name in BASIC + CROWN])
    stack = raster.read_landscape(source)
    written = lcp.write_lcp(tmp_path / "copy.lcp", stack)
    _assert_same_stack(raster.read_landscape(written), stack)

    raw = written.read_bytes()                                   # the writer's bytes, read by the documented table
    assert len(raw) == FULL and (tmp_path / "copy.prj").exists()
    assert struct.unpack_from("<3i", raw, 0) == (21, 20, 38)     # latitude of the stack's centre (UTM 11N)
    assert struct.unpack_from("<2i4di2d", raw, 4164) == (COLS, ROWS, X0 + COLS * CELL, X0, Y0, Y0 - ROWS * CELL, 0,
                                                          CELL, CELL)
    assert struct.unpack_from("<10h", raw, 4224)[:8] == LANDFIRE_UNITS[:8]
    assert struct.unpack_from("<5i", raw, 44 + 412 * 3) == (102, 165, 2, 0, 102)       # fuel lo, hi, num, classes
    body = np.frombuffer(raw, "<i2", offset=7316).reshape(ROWS, COLS, 8)
    expected = np.stack([stored[name] for name in BASIC + CROWN], axis=-1)
    expected[0, 0, 2] = 0                                        # flat is written as aspect 0 with slope 0
    expected[2, 5, :] = -9999                                    # an invalid cell is nodata in every band
    np.testing.assert_array_equal(body, expected)

    with pytest.raises(FileExistsError, match="copy.lcp"):
        lcp.write_lcp(written, stack)
    lcp.write_lcp(written, stack, overwrite=True, latitude=45)
    assert struct.unpack_from("<i", written.read_bytes(), 8) == (45,)


def test_geotiff_stack_round_trips_and_needs_latitude_without_crs(tmp_path):
    stored = _stored()
    paths = {}
    for name in BASIC + CROWN:
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(paths[name], "w", driver="GTiff", height=ROWS, width=COLS, count=1, dtype="int16",
                           crs=CRS.from_epsg(5070), transform=from_origin(X0, Y0, CELL, CELL)) as dst:
            dst.write(stored[name].astype(np.int16), 1)
    stack = raster.read_stack(**paths)
    _assert_same_stack(lcp.read_lcp(lcp.write_lcp(tmp_path / "albers.lcp", stack)), stack)

    with pytest.warns(UserWarning, match="no .prj"):
        unknown = raster.read_landscape(_write(tmp_path / "noprj.lcp", _header(), [stored[n] for n in BASIC + CROWN],
                                               prj=None))
    with pytest.raises(ValueError, match="no CRS, so its latitude is unknown; pass latitude="):
        lcp.write_lcp(tmp_path / "x.lcp", unknown)
    out = lcp.write_lcp(tmp_path / "x.lcp", unknown, latitude=38)
    assert not (tmp_path / "x.prj").exists()
    with pytest.warns(UserWarning, match="no .prj"):
        _assert_same_stack(raster.read_landscape(out), unknown)


@pytest.mark.parametrize("prj", [UTM11, None])
def test_results_of_an_lcp_are_written_as_geotiffs_on_its_grid(tmp_path, prj):
    stored = _stored()
    path = _write(tmp_path / "grid.lcp", _header(), [stored[name] for name in BASIC + CROWN], prj=prj)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stack = raster.read_landscape(path)
    said = [str(warning.message) for warning in caught if "no .prj sidecar" in str(warning.message)]
    assert len(said) == (prj is None)                           # the missing CRS is said, once, and only then
    breaks = np.zeros(stack.shape, bool)
    breaks[:, 3] = True
    written = raster.write_results(tmp_path / "out", stack, fuel_breaks=breaks,
                                   burn_probability_before=np.full(stack.shape, 0.25, np.float32))
    for name, file in written.items():
        with rasterio.open(file) as src:
            assert src.transform == from_origin(X0, Y0, CELL, CELL) and src.crs == prj, name
    with rasterio.open(written["fuel_breaks"]) as src:
        np.testing.assert_array_equal(src.read(1), breaks.astype(np.uint8))



def test_interoperates_with_gdals_lcp_driver(tmp_path):
    """GDAL's LCP driver (the layout's reference implementation, bundled with rasterio) reads jaxfire's files and
    writes files jaxfire reads to the same landscape."""
    with rasterio.Env() as env:
        if "LCP" not in env.drivers():
            pytest.skip("this GDAL build has no LCP driver")
    stored = _stored()
    bands = [stored[name] for name in BASIC + CROWN]
    source = tmp_path / "source.tif"
    with rasterio.open(source, "w", driver="GTiff", height=ROWS, width=COLS, count=8, dtype="int16", crs=UTM11,
                       transform=from_origin(X0, Y0, CELL, CELL)) as dst:
        for band, values in enumerate(bands, 1):
            dst.write(values.astype(np.int16), band)
    expected = raster.read_landscape(source)
    rasterio.shutil.copy(source, tmp_path / "gdal.lcp", driver="LCP")
    _assert_same_stack(raster.read_landscape(tmp_path / "gdal.lcp"), expected)
    with rasterio.open(lcp.write_lcp(tmp_path / "ours.lcp", expected)) as src:
        assert src.driver == "LCP" and src.count == 8 and src.crs == UTM11 and src.tags()["LATITUDE"] == "38"
        assert src.transform == from_origin(X0, Y0, CELL, CELL)
        for band, values in enumerate(bands, 1):
            np.testing.assert_array_equal(src.read(band), values)
