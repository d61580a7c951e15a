"""FlamMap/FARSITE landscape files (``.lcp``): read one into a :class:`~jaxfire.landscape.raster.RasterStack`,
write one from a stack.

Layout (FARSITE v4 landscape file).  Source: the "LCP header format" table of GDAL's LCP driver documentation
(https://gdal.org/drivers/raster/lcp.html, doc/source/drivers/raster/lcp.rst) and GDAL's reader/writer
``frmts/raw/lcpdataset.cpp`` (band count from the crown/ground flags, georeference from bytes 4164-4223, creation
defaults of the units flags); FARSITE 5 / FlamMap's ``ReadHeader`` reads the same fields in the same order.
Everything is little-endian; ``long`` is int32, ``short`` int16::

    byte  size  type        field
    0     4     int32       CrownFuels   20 = no crown fuels, 21 = canopy height, base height, bulk density present
    4     4     int32       GroundFuels  20 = no ground fuels, 21 = duff and coarse woody debris present
    8     4     int32       latitude     degrees, negative in the southern hemisphere
    12    32    double[4]   loeast, hieast, lonorth, hinorth (legacy offsets; ignored on read, as GDAL does)
    44    4120  10 x {int32 lo, int32 hi, int32 num (-1 if > 100 classes), int32[100] class values}
                            for elevation, slope, aspect, fuel, cover, height, base, density, duff, woody
    4164  4     int32       numeast      columns
    4168  4     int32       numnorth     rows
    4172  32    double[4]   EastUtm, WestUtm, NorthUtm, SouthUtm   (max x, min x, max y, min y)
    4204  4     int32       GridUnits    0 = metres, 1 = feet, 2 = kilometres
    4208  16    double[2]   XResol, YResol   cell width and height in GridUnits
    4224  20    int16[10]   units flags: EUnits, SUnits, AUnits, FOptions, CUnits, HUnits, BUnits, PUnits,
                            DUnits, WOptions
    4244  2560  char[10][256] source file names of the 10 layers
    6804  512   char[512]   description
    7316  ...   int16       values interleaved by pixel: rows north to south, columns west to east, and per cell
                            elevation, slope, aspect, fuel model, canopy cover, [canopy height, canopy base height,
                            canopy bulk density if CrownFuels = 21], [duff, coarse woody if GroundFuels = 21]:
                            5, 7, 8 or 10 bands.

Units flags read (anything else is refused with the field named):

* EUnits (elevation): 0 metres, 1 feet.
* SUnits (slope): 0 degrees, 1 percent.
* AUnits (aspect): 2 azimuth degrees (clockwise from north; -1 = flat, as LANDFIRE), 1 GRASS degrees
  (counter-clockwise from east, 0 = flat; converted to azimuth).  0 (GRASS categories) is refused: the layout does
  not define the categories.
* FOptions (fuel models): 0 standard models, 1 custom models without a conversion file (codes must still be
  codes jaxfire knows).  2 and 3 need a fuel conversion file and are refused.
* CUnits (canopy cover): 1 percent.  0 (categories 0-4) is refused: the layout does not define the class values.
* HUnits / BUnits (canopy height / base height): 1 m, 2 ft, 3 m x 10, 4 ft x 10 (read only when CrownFuels = 21).
* PUnits (bulk density): 1 kg/m^3, 2 lb/ft^3, 3 kg/m^3 x 100, 4 lb/ft^3 x 1000 (read only when CrownFuels = 21).
* DUnits / WOptions: the duff and coarse-woody bands are skipped (jaxfire has no such layers), so not read.

Georeference: the transform comes from WestUtm, NorthUtm and XResol/YResol (which must be square and agree with the
extent and size); the CRS from a sidecar ``<name>.prj`` (ESRI WKT, as GDAL writes it) when present.  Without one,
the cell size is XResol in GridUnits converted to metres, the stack's ``crs`` is None, and a warning says so.
Nodata: -9999 by convention (GDAL), with the other nodata rules of :mod:`jaxfire.landscape.raster`.
"""
from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxfire.landscape import raster
from jaxfire.landscape.names import LCP_ORDER

HEADER_SIZE = 7316
NODATA = -9999
FOOT_M = 0.3048
LB_FT3_KG_M3 = 0.45359237 / FOOT_M ** 3          # 1 lb/ft^3 = 16.018 kg/m^3
_GROUND_BANDS = ("duff", "coarse_woody")
_UNIT_FIELDS = ("EUnits", "SUnits", "AUnits", "FOptions", "CUnits", "HUnits", "BUnits", "PUnits", "DUnits",
                "WOptions")
_GEO_FORMAT = "<2i4di2d10h"                        # bytes 4164-4243: sizes, extent, units, resolution, units flags
_STATS_FORMAT = "<3i100i"                          # one layer's lo, hi, num and class values (412 bytes)
_FLAGS = {20: False, 21: True}
_GRID_M = {0: 1.0, 1: FOOT_M, 2: 1000.0}           # GridUnits -> metres per unit
_ELEVATION_M = {0: 1.0, 1: FOOT_M}                 # EUnits -> metres per stored unit
_SLOPE = {0: "degrees", 1: "percent"}
_ASPECT = {1: "grass_degrees", 2: "azimuth"}
_HEIGHT_M = {1: 1.0, 2: FOOT_M, 3: 0.1, 4: FOOT_M / 10}                      # HUnits/BUnits -> m per stored unit
_DENSITY_KG_M3 = {1: 1.0, 2: LB_FT3_KG_M3, 3: 0.01, 4: LB_FT3_KG_M3 / 1000}  # PUnits -> kg/m^3 per stored unit
_KNOWN_UNITS = {
    "EUnits": "0 = metres, 1 = feet", "SUnits": "0 = degrees, 1 = percent",
    "AUnits": "0 = GRASS categories, 1 = GRASS degrees, 2 = azimuth degrees",
    "FOptions": "0-3", "CUnits": "0 = categories (0-4), 1 = percent",
    "HUnits": "1 = m, 2 = ft, 3 = m x 10, 4 = ft x 10", "BUnits": "1 = m, 2 = ft, 3 = m x 10, 4 = ft x 10",
    "PUnits": "1 = kg/m^3, 2 = lb/ft^3, 3 = kg/m^3 x 100, 4 = lb/ft^3 x 1000",
}
_REFUSED = {
    ("AUnits", 0): "aspect is stored as GRASS categories (AUnits = 0), whose class values the LCP layout does not "
                   "define; re-export the landscape with aspect in azimuth degrees",
    ("CUnits", 0): "canopy cover is stored as categories 0-4 (CUnits = 0), whose percent values the LCP layout "
                   "does not define; re-export the landscape with canopy cover in percent",
    ("FOptions", 2): "fuel models need a conversion file (FOptions = 2), which jaxfire does not read; re-export "
                     "the landscape with standard fuel-model codes",
    ("FOptions", 3): "fuel models need custom models and a conversion file (FOptions = 3), which jaxfire does not "
                     "read; re-export the landscape with standard fuel-model codes",
}


@dataclass(frozen=True)
class LcpHeader:
    """The fields of an .lcp header that jaxfire uses (see the module docstring for the layout).

    Attributes:
      crown_fuels, ground_fuels: whether the canopy (height, base height, bulk density) and ground (duff, coarse
        woody) bands are present.
      latitude: degrees, negative in the southern hemisphere.
      cols, rows: raster size.
      west, east, south, north: extent in grid units.
      grid_units: GridUnits flag (0 m, 1 ft, 2 km).
      x_resolution, y_resolution: cell width and height in grid units.
      units: ``{flag name: value}`` for the ten units flags (``EUnits`` ... ``WOptions``).
      description: the header's description text.
    """

    crown_fuels: bool
    ground_fuels: bool
    latitude: int
    cols: int
    rows: int
    west: float
    east: float
    south: float
    north: float
    grid_units: int
    x_resolution: float
    y_resolution: float
    units: dict
    description: str

    @property
    def bands(self) -> tuple[str, ...]:
        """Band names in file order (5, 7, 8 or 10 of them)."""
        return (LCP_ORDER[:5] + (LCP_ORDER[5:] if self.crown_fuels else ())
                + (_GROUND_BANDS if self.ground_fuels else ()))

    @property
    def file_size(self) -> int:
        """Bytes a complete file with this header has."""
        return HEADER_SIZE + self.rows * self.cols * len(self.bands) * 2


def _flag(path, name: str, offset: int, value: int) -> bool:
    if value not in _FLAGS:
        raise ValueError(f"{path}: unknown .lcp version or {name} flag {value} at byte {offset} (a FARSITE 4 "
                         f"landscape file has 20 = absent or 21 = present)")
    return _FLAGS[value]


def _parse_header(path, buffer: bytes) -> LcpHeader:
    """Unpack the fields of the module docstring's table (validated by :func:`_check_header`)."""
    crown, ground, latitude = struct.unpack_from("<3i", buffer, 0)
    cols, rows, east, west, north, south, grid_units, x_res, y_res, *flags = struct.unpack_from(
        _GEO_FORMAT, buffer, 4164)
    description = buffer[6804:HEADER_SIZE].split(b"\0", 1)[0].decode("latin-1")
    return LcpHeader(crown_fuels=_flag(path, "CrownFuels", 0, crown),
                     ground_fuels=_flag(path, "GroundFuels", 4, ground), latitude=latitude, cols=cols, rows=rows,
                     west=west, east=east, south=south, north=north, grid_units=grid_units, x_resolution=x_res,
                     y_resolution=y_res, units=dict(zip(_UNIT_FIELDS, flags)), description=description)


def _check_units_flags(path, header: LcpHeader) -> None:
    """Refuse unknown or unreadable units flags, naming the field, its byte offset and the known values."""
    tables = {"EUnits": _ELEVATION_M, "SUnits": _SLOPE, "AUnits": _ASPECT, "FOptions": {0: 0, 1: 1},
              "CUnits": {1: "percent"}}
    if header.crown_fuels:
        tables.update(HUnits=_HEIGHT_M, BUnits=_HEIGHT_M, PUnits=_DENSITY_KG_M3)
    for field, table in tables.items():
        value = header.units[field]
        if (field, value) in _REFUSED:
            raise ValueError(f"{path}: {_REFUSED[field, value]}")
        if value not in table:
            offset = 4224 + 2 * _UNIT_FIELDS.index(field)
            raise ValueError(f"{path}: unknown {field} units flag {value} at byte {offset} "
                             f"(known: {_KNOWN_UNITS[field]})")


def _check_header(path, header: LcpHeader) -> None:
    """Refuse headers whose grid cannot be read: latitude, size, grid units, resolution, extent."""
    if not -90 <= header.latitude <= 90:
        raise ValueError(f"{path}: latitude {header.latitude} at byte 8 is outside [-90, 90]")
    if header.cols < 1 or header.rows < 1:
        raise ValueError(f"{path}: raster size numeast={header.cols} x numnorth={header.rows} (bytes 4164-4171) "
                         "must be positive")
    if header.grid_units not in _GRID_M:
        raise ValueError(f"{path}: unknown GridUnits flag {header.grid_units} at byte 4204 "
                         "(known: 0 = metres, 1 = feet, 2 = kilometres)")
    x_res, y_res = header.x_resolution, header.y_resolution
    if not (np.isfinite([x_res, y_res]).all() and x_res > 0 and y_res > 0):
        raise ValueError(f"{path}: cell size XResol={x_res}, YResol={y_res} (bytes 4208-4223) must be positive")
    if not np.isclose(x_res, y_res, rtol=1e-6, atol=0.0):
        raise ValueError(f"{path}: non-square cells XResol={x_res} x YResol={y_res}; square cells are required")
    width, height = header.east - header.west, header.north - header.south
    if not (np.isclose(width, header.cols * x_res, rtol=0.0, atol=1e-3 * x_res)
            and np.isclose(height, header.rows * y_res, rtol=0.0, atol=1e-3 * y_res)):
        raise ValueError(f"{path}: the extent (EastUtm - WestUtm = {width}, NorthUtm - SouthUtm = {height}) does "
                         f"not match numeast x XResol = {header.cols * x_res} and numnorth x YResol = "
                         f"{header.rows * y_res}")
    _check_units_flags(path, header)


def read_lcp_header(path) -> LcpHeader:
    """Read and validate the header of the .lcp file ``path``.

    Raises:
      ValueError: naming the file and the problem: a file shorter than the 7316-byte header, an unknown
        CrownFuels/GroundFuels (version) flag, latitude, grid-units or units flag (naming the field), non-square
        cells, or an extent that disagrees with the size and resolution.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        buffer = handle.read(HEADER_SIZE)
    if len(buffer) < HEADER_SIZE:
        raise ValueError(f"{path} is truncated: an .lcp header needs {HEADER_SIZE} bytes, the file has "
                         f"{len(buffer)}")
    header = _parse_header(path, buffer)
    _check_header(path, header)
    return header


def read_lcp_bands(path) -> tuple[LcpHeader, dict[str, np.ndarray]]:
    """The header and ``{band name: int16[rows, cols]}`` of the .lcp file ``path`` (all of its bands, as stored).

    Raises:
      ValueError: as :func:`read_lcp_header`, or when the file size is not the header's 7316 bytes plus
        rows x cols x bands x 2 (truncated or with trailing data; the message gives expected and actual sizes).
    """
    path = Path(path)
    header = read_lcp_header(path)
    actual = path.stat().st_size
    if actual != header.file_size:
        problem = "is truncated" if actual < header.file_size else "has trailing data"
        raise ValueError(f"{path} {problem}: expected {header.file_size} bytes ({HEADER_SIZE}-byte header + "
                         f"{header.rows} rows x {header.cols} cols x {len(header.bands)} bands x 2 bytes), got "
                         f"{actual}")
    data = np.fromfile(path, dtype="<i2", offset=HEADER_SIZE).reshape(header.rows, header.cols, len(header.bands))
    return header, {name: data[:, :, index] for index, name in enumerate(header.bands)}


def _units(header: LcpHeader) -> raster.Units:
    """The header's units flags as :class:`~jaxfire.landscape.raster.Units` (stored value / scale)."""
    flags = header.units
    height = {"canopy_height_scale": 10.0, "canopy_base_height_scale": 10.0, "bulk_density_scale": 100.0}
    if header.crown_fuels:
        height = {"canopy_height_scale": 1.0 / _HEIGHT_M[flags["HUnits"]],
                  "canopy_base_height_scale": 1.0 / _HEIGHT_M[flags["BUnits"]],
                  "bulk_density_scale": 1.0 / _DENSITY_KG_M3[flags["PUnits"]]}
    return raster.Units(slope=_SLOPE[flags["SUnits"]], aspect=_ASPECT[flags["AUnits"]], canopy_cover="percent",
                        elevation_scale=1.0 / _ELEVATION_M[flags["EUnits"]], **height)


def _sidecar_prj(path: Path) -> Path | None:
    for suffix in (".prj", ".PRJ"):
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _georeference(path: Path, header: LcpHeader):
    """``(transform, crs or None, cell_size_m)`` from the header's extent and resolution and a sidecar .prj."""
    rasterio = raster._rasterio()
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    transform = rasterio.Affine(header.x_resolution, 0.0, header.west, 0.0, -header.y_resolution, header.north)
    grid_m = _GRID_M[header.grid_units]
    prj = _sidecar_prj(path)
    if prj is None:
        cell_size_m = header.x_resolution * grid_m
        warnings.warn(f"{path} has no .prj sidecar, so its CRS is unknown: the stack has crs=None and cell size "
                      f"{cell_size_m:g} m from the header (XResol {header.x_resolution:g} in GridUnits "
                      f"{header.grid_units}); outputs will carry the transform but no CRS", UserWarning,
                      stacklevel=3)
        return transform, None, cell_size_m
    try:
        crs = CRS.from_wkt(prj.read_text(errors="replace").strip())
    except CRSError as err:
        raise ValueError(f"{prj} (the CRS of {path.name}) could not be parsed: {err}") from err
    cell_size_m = raster.grid_cell_size_m(prj, transform, crs)
    if not np.isclose(crs.linear_units_factor[1], grid_m, rtol=1e-4):
        raise ValueError(f"{path}: GridUnits {header.grid_units} ({grid_m:g} m per unit) disagrees with the linear "
                         f"unit of {prj.name} ({crs.linear_units_factor[0]}, {crs.linear_units_factor[1]:g} m)")
    return transform, crs, cell_size_m


def read_lcp(path, *, nodata_values=raster.LANDFIRE_NODATA) -> raster.RasterStack:
    """Read a FlamMap/FARSITE .lcp landscape into a :class:`~jaxfire.landscape.raster.RasterStack`.

    The header's units flags decide the conversion to the project's units (module docstring); the conversion and
    nodata rules are those of :func:`jaxfire.landscape.raster.read_stack` (one path:
    :func:`~jaxfire.landscape.raster.convert_layers`).  Without canopy bands (CrownFuels = 20) canopy height, base
    height and bulk density are 0; duff and coarse-woody bands are skipped.

    Args:
      path: the .lcp file (a sidecar ``.prj`` with the same name gives the CRS).
      nodata_values: values treated as nodata in every band (default -9999, -32768, 32767).

    Raises:
      ValueError: every problem of :func:`read_lcp_bands`, an unparsable .prj or one whose unit disagrees with
        GridUnits, and every conversion problem of :func:`~jaxfire.landscape.raster.convert_layers`.
      ImportError: rasterio is not installed (it provides the transform and CRS types).
    """
    path = Path(path)
    header, bands = read_lcp_bands(path)
    transform, crs, cell_size_m = _georeference(path, header)
    values, missing, origins = {}, {}, {}
    for index, name in enumerate(header.bands):
        if name in _GROUND_BANDS:
            continue
        values[name], missing[name] = raster.nodata_mask(bands[name], nodata_values)
        origins[name] = f"{path} band {index + 1} ({name})"
    return raster.convert_layers(values, missing, _units(header), transform=transform, crs=crs,
                                 cell_size_m=cell_size_m, origins=origins, source=str(path),
                                 units_hint="check the header's units flags")


# ----------------------------------------------------------------------------------------------------- writer


def _stored_bands(stack: raster.RasterStack) -> np.ndarray:
    """``int16[rows, cols, 8]`` in .lcp order and the writer's units (m, degrees, azimuth degrees, code, percent,
    m x 10, m x 10, kg/m^3 x 100), -9999 at invalid cells; ``ValueError`` if a value does not fit in int16."""
    scaled = {"elevation": stack.elevation_m, "slope": stack.slope_deg, "aspect": stack.aspect_deg,
              "fuel_model": stack.fuel_model, "canopy_cover": stack.canopy_cover * 100.0,
              "canopy_height": stack.canopy_height_m * 10.0, "canopy_base_height": stack.canopy_base_height_m * 10.0,
              "canopy_bulk_density": stack.canopy_bulk_density_kg_m3 * 100.0}
    bands = np.stack([np.rint(np.asarray(scaled[name], np.float64)) for name in LCP_ORDER], axis=-1)
    bands[~stack.valid] = NODATA
    low, high = np.iinfo(np.int16).min, np.iinfo(np.int16).max
    if bands.min() < low or bands.max() > high:
        worst = LCP_ORDER[int(np.argmax(np.abs(bands).max(axis=(0, 1))))]
        raise ValueError(f"{worst} does not fit the .lcp's int16 values in the writer's units")
    return bands.astype("<i2")


def _band_stats(values: np.ndarray) -> bytes:
    """One layer's lo, hi, number of classes and class list (as GDAL writes them: classes 1-based after a 0;
    num = -1 when there are more than 99)."""
    data = values[values != NODATA]
    if data.size == 0:
        return struct.pack(_STATS_FORMAT, 0, 0, 0, *([0] * 100))
    classes = np.unique(data)
    listed = [0] + classes.tolist() if classes.size <= 99 else []
    number = int(classes.size) if classes.size <= 99 else -1
    return struct.pack(_STATS_FORMAT, int(data.min()), int(data.max()), number, *(listed + [0] * (100 - len(listed))))


def _grid_units(stack: raster.RasterStack) -> int:
    """GridUnits flag of the stack's map units (metres per transform unit = cell_size_m / transform.a)."""
    per_unit = stack.cell_size_m / stack.transform.a
    for flag, metres in _GRID_M.items():
        if np.isclose(per_unit, metres, rtol=1e-4):
            return flag
    raise ValueError(f"the stack's map unit ({per_unit:g} m) is not one an .lcp can record (metres, feet, km)")


def _latitude(stack: raster.RasterStack, latitude) -> int:
    """The header latitude: given, or the latitude of the stack's centre (needs its CRS)."""
    if latitude is None:
        if stack.crs is None:
            raise ValueError("the stack has no CRS, so its latitude is unknown; pass latitude= (degrees)")
        from rasterio.warp import transform as reproject
        rows, cols = stack.shape
        x, y = stack.transform @ (cols / 2.0, rows / 2.0)
        latitude = reproject(stack.crs, "EPSG:4326", [x], [y])[1][0]
    latitude = int(round(float(latitude)))
    if not -90 <= latitude <= 90:
        raise ValueError(f"latitude {latitude} is outside [-90, 90]")
    return latitude


def _header_bytes(stack: raster.RasterStack, bands: np.ndarray, latitude: int, description: str) -> bytes:
    """The 7316-byte header of an 8-band (crown fuels, no ground fuels) file in the writer's units."""
    rows, cols = stack.shape
    transform = stack.transform
    west, north, x_res, y_res = transform.c, transform.f, transform.a, -transform.e
    east, south = west + cols * x_res, north - rows * y_res
    header = bytearray(HEADER_SIZE)
    struct.pack_into("<3i4d", header, 0, 21, 20, latitude, west, east, south, north)
    for index in range(len(LCP_ORDER)):
        header[44 + 412 * index:44 + 412 * (index + 1)] = _band_stats(bands[:, :, index])
    # EUnits m, SUnits degrees, AUnits azimuth, FOptions standard, CUnits percent, HUnits/BUnits m x 10,
    # PUnits kg/m^3 x 100; DUnits/WOptions unused (no ground fuels).
    units = (0, 0, 2, 0, 1, 3, 3, 3, 0, 0)
    struct.pack_into(_GEO_FORMAT, header, 4164, cols, rows, east, west, north, south, _grid_units(stack), x_res,
                     y_res, *units)
    text = description.encode("latin-1", errors="replace")[:511]
    header[6804:6804 + len(text)] = text
    return bytes(header)


def write_lcp(path, stack: raster.RasterStack, *, latitude: float | None = None,
              description: str = "Written by jaxfire", overwrite: bool = False) -> Path:
    """Write ``stack`` as an 8-band .lcp (crown fuels, no ground fuels) and, when it has a CRS, a sidecar .prj.

    Stored units (GDAL's creation defaults): elevation m, slope degrees, aspect azimuth degrees, standard fuel-model
    codes, canopy cover percent, canopy height and base height m x 10, bulk density kg/m^3 x 100, each rounded to
    the nearest integer; invalid cells are -9999 in every band.  Values read from LANDFIRE data round-trip exactly.

    Args:
      path: output file (conventionally ``*.lcp``).
      stack: the landscape (e.g. from :func:`jaxfire.landscape.raster.read_landscape`).
      latitude: header latitude in degrees; default: the latitude of the stack's centre (needs its CRS).
      description: header description (up to 511 characters).
      overwrite: replace existing files; otherwise an existing file or .prj raises ``FileExistsError``.

    Returns:
      ``path`` as a :class:`pathlib.Path`.

    Raises:
      ValueError: unknown latitude, a map unit other than metres/feet/km, or values outside int16.
    """
    path = Path(path)
    prj = path.with_suffix(".prj") if stack.crs is not None else None
    for target in (path, prj):
        if target is not None:
            raster._refuse_existing(target, overwrite)
    bands = _stored_bands(stack)
    header = _header_bytes(stack, bands, _latitude(stack, latitude), description)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.write(bands.tobytes())
    if prj is not None:
        prj.write_text(stack.crs.to_wkt(version="WKT1_ESRI"))
    return path
