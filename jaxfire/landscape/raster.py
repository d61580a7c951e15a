"""Real rasters in and results out: landscapes as planners keep them -> :class:`Landscape` tiles, and fuel breaks /
burn probabilities -> GeoTIFFs a planner can open in a GIS.

Inputs (all through :func:`read_landscape`, all through ONE units conversion, :func:`convert_layers`):

* a folder of single-band GeoTIFFs, named as the project does (``fuel_model.tif``, ``slope.tif``, ...) or as
  LANDFIRE products (``LC20_F40_200.tif``, ``US_SlpD.tif``, ...; :mod:`jaxfire.landscape.names`), or listed one by
  one with :func:`read_stack`;
* one multi-band GeoTIFF with the layers in .lcp order (LANDFIRE's landscape GeoTIFF);
* a FlamMap/FARSITE ``.lcp`` landscape file (:mod:`jaxfire.landscape.lcp`, whose header carries its own units).

Needs the optional ``rasterio`` dependency (``pip install jaxfire[geo]``); it is imported only when a function
here is called, so ``import jaxfire`` works without it.

Conventions (as in :mod:`jaxfire.landscape.core`): arrays are ``[row, col]`` with row 0 the NORTH edge and col
increasing east, exactly the pixel order of a north-up GeoTIFF, so a raster's affine ``transform`` maps
``(col, row)`` to map ``(x, y)`` for the cell's upper-left corner.  Cells must be square and unrotated, in a
projected CRS; ``cell_size_m`` is the cell side in metres (CRS linear units converted to metres).

Input units (LANDFIRE defaults, each overridable by a keyword of :func:`read_stack` / :func:`read_landscape`):

* fuel model: FBFM40 (Scott & Burgan 101-204, non-burnable 91-99) or FBFM13 (Anderson 1-13, 91-99) codes, as given;
* slope: degrees (``slope_units="percent"`` for percent rise, converted with ``atan(p / 100)``);
* aspect: downslope azimuth, degrees clockwise from north; ``-1`` (LANDFIRE's flat) or nodata means flat and is
  stored as aspect 0 with slope 0;
* canopy cover: percent (``canopy_cover_units="fraction"`` for values already in [0, 1]); a percent layer whose
  valid values are all <= 1 (and not all 0) is refused as a likely fraction rather than read as <= 1 % cover;
* canopy height and canopy base height: metres x 10 (``canopy_height_scale=10``; stored value / scale = metres;
  ``canopy_base_height_scale`` when the base height differs);
* canopy bulk density: kg/m^3 x 100 (``bulk_density_scale=100``; stored value / scale = kg/m^3);
* elevation: metres (``elevation_scale``: stored value / scale = metres).

Nodata: a cell is nodata in a layer when it equals the file's nodata value, is masked by the file, is NaN, or equals
one of ``nodata_values`` (default LANDFIRE-style sentinels -9999, -32768 and 32767, used by files that carry no
nodata tag).  A cell is *valid* when no given layer is nodata there (aspect excepted: nodata aspect means flat).
Invalid cells are stored as non-burnable fuel 99 with every other layer 0, so any window is a legal landscape.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from jaxfire.landscape import names
from jaxfire.landscape.core import Landscape, from_arrays
from jaxfire.landscape.names import INPUT_LAYERS, LCP_ORDER, REQUIRED_LAYERS  # noqa: F401  (re-exported)
from jaxfire.landscape.pool import stack as stack_pool

NONBURNABLE_FILL = 99
LANDFIRE_NODATA = (-9999, -32768, 32767)
_LAYERS = ("fuel_model", "slope_deg", "aspect_deg", "canopy_cover", "canopy_height_m", "canopy_base_height_m",
           "canopy_bulk_density_kg_m3", "elevation_m")
_FLAT_ASPECT = {"azimuth": -1.0, "grass_degrees": 0.0}   # the stored aspect value that means "flat"
_KEYWORD_HINT = "check slope_units, canopy_cover_units, canopy_height_scale and bulk_density_scale"


def _rasterio():
    try:
        import rasterio
        import rasterio.windows
    except ImportError as err:
        raise ImportError("jaxfire.landscape.raster needs rasterio: pip install jaxfire[geo] "
                          "(or pip install rasterio)") from err
    return rasterio


@dataclass(frozen=True)
class RasterStack:
    """Co-registered landscape layers read from GeoTIFFs (plain NumPy, not a pytree).

    Attributes:
      fuel_model: ``int32[H, W]`` fuel-model codes (99 at invalid cells).
      slope_deg: ``float32[H, W]`` slope, degrees (0 where flat or invalid).
      aspect_deg: ``float32[H, W]`` downslope azimuth, degrees clockwise from north (0 where flat or invalid).
      canopy_cover: ``float32[H, W]`` fraction in [0, 1].
      canopy_height_m: ``float32[H, W]`` stand height, m.
      canopy_base_height_m: ``float32[H, W]`` canopy base height, m.
      canopy_bulk_density_kg_m3: ``float32[H, W]`` kg/m^3.
      elevation_m: ``float32[H, W]`` metres.
      valid: ``bool[H, W]``, True where no input layer is nodata.
      transform: the rasters' ``affine.Affine`` geotransform (pixel ``(col, row)`` -> map ``(x, y)``).
      crs: the rasters' ``rasterio.crs.CRS``; None only for an .lcp without a .prj sidecar (unknown CRS).
      cell_size_m: cell side, metres.
    """

    fuel_model: np.ndarray
    slope_deg: np.ndarray
    aspect_deg: np.ndarray
    canopy_cover: np.ndarray
    canopy_height_m: np.ndarray
    canopy_base_height_m: np.ndarray
    canopy_bulk_density_kg_m3: np.ndarray
    elevation_m: np.ndarray
    valid: np.ndarray
    transform: object
    crs: object
    cell_size_m: float

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the raster."""
        return tuple(self.fuel_model.shape)

    def window_transform(self, row: int, col: int, height: int, width: int):
        """Geotransform of the ``height x width`` window whose upper-left cell is ``(row, col)``."""
        rasterio = _rasterio()
        return rasterio.windows.transform(rasterio.windows.Window(col, row, width, height), self.transform)

    def landscape(self, row: int = 0, col: int = 0, height: int | None = None, width: int | None = None) -> Landscape:
        """The ``height x width`` window at upper-left cell ``(row, col)`` (default: the whole raster) as a
        validated :class:`Landscape` (via :func:`from_arrays`); invalid cells are fuel 99 with slope 0."""
        rows, cols = self.shape
        height = rows - row if height is None else height
        width = cols - col if width is None else width
        if not (0 <= row and 0 <= col and height >= 1 and width >= 1 and row + height <= rows
                and col + width <= cols):
            raise ValueError(f"window rows {row}:{row + height}, cols {col}:{col + width} is not inside the "
                             f"{rows}x{cols} raster")
        window = {name: getattr(self, name)[row:row + height, col:col + width] for name in _LAYERS}
        return _landscape(window, self.cell_size_m)


@dataclass(frozen=True)
class Tile:
    """A square crop of a :class:`RasterStack`.

    Attributes:
      row, col: offset of the tile's upper-left cell in the source raster.
      landscape: the ``N x N`` :class:`Landscape` (nodata cells made non-burnable: fuel 99, slope 0).
      valid: ``bool[N, N]``, True where the source cell had data.
      transform: the tile's own geotransform (its pixel ``(0, 0)`` is source pixel ``(row, col)``).
      crs: the source CRS.
    """

    row: int
    col: int
    landscape: Landscape
    valid: np.ndarray
    transform: object
    crs: object

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, N)`` of the tile."""
        return self.landscape.shape


def _landscape(layers: dict, cell_size_m: float) -> Landscape:
    return from_arrays(layers["fuel_model"], layers["slope_deg"], layers["aspect_deg"],
                       canopy_cover=layers["canopy_cover"], canopy_height=layers["canopy_height_m"],
                       canopy_base_height=layers["canopy_base_height_m"],
                       canopy_bulk_density=layers["canopy_bulk_density_kg_m3"], elevation=layers["elevation_m"],
                       cell_size_m=cell_size_m)


def _grid_differences(grid, reference) -> list[str]:
    differences = []
    if (grid["height"], grid["width"]) != (reference["height"], reference["width"]):
        differences.append(f"size {grid['height']}x{grid['width']} (rows x cols) vs {reference['height']}x"
                           f"{reference['width']}")
    if not grid["transform"].almost_equals(reference["transform"]):
        differences.append(f"transform {tuple(grid['transform'])[:6]} vs {tuple(reference['transform'])[:6]}")
    if grid["crs"] != reference["crs"]:
        differences.append(f"CRS {grid['crs']} vs {reference['crs']}")
    return differences


def check_north_up(path, transform) -> None:
    """Raise ``ValueError`` naming ``path`` unless ``transform`` is unrotated, north-up, with square cells."""
    if transform.b != 0 or transform.d != 0:
        raise ValueError(f"{path} has a rotated geotransform {tuple(transform)[:6]}; only north-up grids are "
                         "supported")
    if transform.e >= 0:
        raise ValueError(f"{path} is not north-up (row pixel height {transform.e} must be negative)")
    if not np.isclose(transform.a, -transform.e, rtol=1e-6, atol=0.0):
        raise ValueError(f"{path} has non-square cells {transform.a} x {-transform.e}; square cells are required")


def grid_cell_size_m(path, transform, crs) -> float:
    """Cell side in metres of a north-up grid in a projected CRS (``ValueError`` naming ``path`` otherwise)."""
    if crs is None:
        raise ValueError(f"{path} has no CRS, so its cell size in metres is unknown")
    if not crs.is_projected:
        raise ValueError(f"{path} is in a geographic CRS ({crs}); reproject to a projected CRS in metres "
                         "(e.g. EPSG:5070, LANDFIRE's CONUS Albers)")
    check_north_up(path, transform)
    return float(transform.a) * float(crs.linear_units_factor[1])


@dataclass(frozen=True)
class Units:
    """How stored raster values become the project's units; every reader converts through :func:`convert_layers`
    with one of these (see the module docstring for the LANDFIRE defaults).

    Attributes:
      slope: ``"degrees"`` or ``"percent"`` (rise / run x 100; degrees = atan(p / 100)).
      aspect: ``"azimuth"`` (downslope, degrees clockwise from north; -1 = flat) or ``"grass_degrees"`` (GRASS
        r.slope.aspect: degrees counter-clockwise from east; 0 = flat), converted to azimuth = (450 - a) mod 360.
      canopy_cover: ``"percent"`` or ``"fraction"`` (already in [0, 1]).
      elevation_scale: metres = stored value / this (1 for metres; 1 / 0.3048 for feet).
      canopy_height_scale: canopy height in metres = stored value / this (LANDFIRE CH, metres x 10: 10).
      canopy_base_height_scale: canopy base height in metres = stored value / this (LANDFIRE CBH: 10).
      bulk_density_scale: canopy bulk density in kg/m^3 = stored value / this (LANDFIRE CBD, kg/m^3 x 100: 100).
    """

    slope: str = "degrees"
    aspect: str = "azimuth"
    canopy_cover: str = "percent"
    elevation_scale: float = 1.0
    canopy_height_scale: float = 10.0
    canopy_base_height_scale: float = 10.0
    bulk_density_scale: float = 100.0

    def __post_init__(self):
        if self.slope not in ("degrees", "percent"):
            raise ValueError(f"slope_units must be 'degrees' or 'percent', got {self.slope!r}")
        if self.aspect not in _FLAT_ASPECT:
            raise ValueError(f"aspect units must be one of {sorted(_FLAT_ASPECT)}, got {self.aspect!r}")
        if self.canopy_cover not in ("percent", "fraction"):
            raise ValueError(f"canopy_cover_units must be 'percent' or 'fraction', got {self.canopy_cover!r}")
        for name in ("elevation_scale", "canopy_height_scale", "canopy_base_height_scale", "bulk_density_scale"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")



def units_from_keywords(*, slope_units: str = "degrees", canopy_cover_units: str = "percent",
                        canopy_height_scale: float = 10.0, canopy_base_height_scale: float | None = None,
                        bulk_density_scale: float = 100.0, elevation_scale: float = 1.0) -> Units:
    """The :class:`Units` of :func:`read_stack`'s keywords (``canopy_base_height_scale`` defaults to
    ``canopy_height_scale``, as LANDFIRE stores CH and CBH alike)."""
    base_scale = canopy_height_scale if canopy_base_height_scale is None else canopy_base_height_scale
    return Units(slope=slope_units, canopy_cover=canopy_cover_units, elevation_scale=elevation_scale,
                 canopy_height_scale=canopy_height_scale, canopy_base_height_scale=base_scale,
                 bulk_density_scale=bulk_density_scale)


def nodata_mask(data, nodata_values=LANDFIRE_NODATA) -> tuple[np.ndarray, np.ndarray]:
    """``(values, missing)`` of a (masked) array: float64 values and the nodata rule of the module docstring
    (masked by the file, NaN, or one of ``nodata_values``)."""
    raw = np.ma.getdata(data).astype(np.float64)
    return raw, np.ma.getmaskarray(data) | np.isnan(raw) | np.isin(raw, nodata_values)


def _check_cover_units(values: dict, valid: np.ndarray, units: Units, origins: dict) -> None:
    """Refuse a canopy-cover layer that holds fractions but is declared percent (it would become <= 1 % cover)."""
    if units.canopy_cover != "percent" or "canopy_cover" not in values:
        return
    cover = values["canopy_cover"][valid]
    top = float(cover.max()) if cover.size else 0.0
    if 0.0 < top <= 1.0:
        raise ValueError(f"canopy cover {origins['canopy_cover']} looks like a fraction, not percent: every valid "
                         f"value is <= 1 (max {top:g}), which as percent would be at most 1 % cover; if it holds "
                         "fractions in [0, 1] read it with canopy_cover_units=\"fraction\"")


def _project_units(values: dict, valid: np.ndarray, flat: np.ndarray, units: Units) -> dict:
    """Stored values -> the project's units (``_LAYERS`` names); invalid cells become fuel 99 and 0 elsewhere."""
    def layer(name, scale=1.0):
        if name not in values:
            return np.zeros(valid.shape, np.float32)
        return np.where(valid, values[name] / scale, 0.0).astype(np.float32)

    slope_deg = layer("slope")
    if units.slope == "percent":
        slope_deg = np.degrees(np.arctan(slope_deg / 100.0)).astype(np.float32)
    aspect = layer("aspect")
    if units.aspect == "grass_degrees":
        aspect = np.mod(450.0 - aspect, 360.0)
    return {
        "fuel_model": np.where(valid, values["fuel_model"], NONBURNABLE_FILL),
        "slope_deg": np.where(flat, 0.0, slope_deg).astype(np.float32),
        "aspect_deg": np.where(flat | ~valid, 0.0, aspect).astype(np.float32),
        "canopy_cover": layer("canopy_cover", 100.0 if units.canopy_cover == "percent" else 1.0),
        "canopy_height_m": layer("canopy_height", units.canopy_height_scale),
        "canopy_base_height_m": layer("canopy_base_height", units.canopy_base_height_scale),
        "canopy_bulk_density_kg_m3": layer("canopy_bulk_density", units.bulk_density_scale),
        "elevation_m": layer("elevation", units.elevation_scale),
    }


def convert_layers(values: dict, missing: dict, units: Units, *, transform, crs, cell_size_m: float,
                   origins: dict, source: str | None = None, units_hint: str = _KEYWORD_HINT) -> RasterStack:
    """The one conversion path of every reader: stored layer values -> a validated :class:`RasterStack`.

    Args:
      values: ``{input layer name: float64[H, W]}`` in stored units; names are those of :data:`INPUT_LAYERS`
        (``fuel_model``, ``slope`` and ``aspect`` required, the others optional: 0 everywhere when absent).
      missing: ``{name: bool[H, W]}`` nodata masks (see :func:`nodata_mask`) for the same names.
      units: how stored values convert (:class:`Units`).
      transform, crs, cell_size_m: the grid's georeference (``crs`` may be None when the source has none).
      origins: ``{name: where the layer came from}`` (file, band) for error messages.
      source: the input as a whole, for messages about all layers (default: the origins, listed).
      units_hint: what to check when converted values fail validation.

    Raises:
      ValueError: no valid cell; a percent canopy cover that holds fractions; or a converted layer that fails
        :func:`from_arrays` validation (the message names the sources and ``units_hint``).
    """
    flat = missing["aspect"] | (values["aspect"] == _FLAT_ASPECT[units.aspect])
    valid = ~np.logical_or.reduce([mask for name, mask in missing.items() if name != "aspect"])
    sources = source or ", ".join(dict.fromkeys(origins.values()))
    if not valid.any():
        raise ValueError(f"no valid cells: every cell is nodata in at least one of {sources}")
    _check_cover_units(values, valid, units, origins)
    layers = _project_units(values, valid, flat, units)
    try:
        with jax.default_device(jax.devices("cpu")[0]):
            whole = _landscape(layers, cell_size_m)
    except ValueError as err:
        raise ValueError(f"{err} (after unit conversion of {sources}; {units_hint})") from err
    return RasterStack(**{name: np.asarray(getattr(whole, name)) for name in _LAYERS}, valid=valid,
                       transform=transform, crs=crs, cell_size_m=cell_size_m)


def _read_single_bands(paths: dict, nodata_values) -> tuple[dict, dict, dict]:
    """Read single-band rasters ``{name: path}`` on one grid: ``(values, missing, grid of the first)``."""
    rasterio = _rasterio()
    values, missing, reference = {}, {}, None
    for name, path in paths.items():
        with rasterio.open(path) as src:
            if src.count != 1:
                raise ValueError(f"{path} ({name}) has {src.count} bands; expected a single-band raster")
            grid = {"height": src.height, "width": src.width, "transform": src.transform, "crs": src.crs}
            data = src.read(1, masked=True)
        if reference is None:
            reference = dict(grid, path=path, name=name)
        else:
            differences = _grid_differences(grid, reference)
            if differences:
                raise ValueError(f"{path} ({name}) is not on the grid of {reference['path']} ({reference['name']}): "
                                 + "; ".join(differences))
        values[name], missing[name] = nodata_mask(data, nodata_values)
    return values, missing, reference


def read_stack(fuel_model, slope, aspect, elevation=None, canopy_cover=None, canopy_height=None,
               canopy_base_height=None, canopy_bulk_density=None, *, slope_units: str = "degrees",
               canopy_cover_units: str = "percent", canopy_height_scale: float = 10.0,
               bulk_density_scale: float = 100.0, canopy_base_height_scale: float | None = None,
               elevation_scale: float = 1.0, nodata_values=LANDFIRE_NODATA) -> RasterStack:
    """Read single-band GeoTIFFs on one grid into a :class:`RasterStack`, converting units (see module docstring).

    Args:
      fuel_model, slope, aspect: paths to the fuel-model, slope and aspect rasters (required).
      elevation, canopy_cover, canopy_height, canopy_base_height, canopy_bulk_density: optional paths; a layer
        not given is 0 everywhere.
      slope_units: ``"degrees"`` (LANDFIRE SlpD) or ``"percent"`` (SlpP; degrees = atan(p / 100)).
      canopy_cover_units: ``"percent"`` (LANDFIRE CC, divided by 100) or ``"fraction"``.
      canopy_height_scale: canopy height (and, unless ``canopy_base_height_scale`` is given, base height) in
        metres = stored value / this (LANDFIRE CH/CBH: 10).
      bulk_density_scale: bulk density in kg/m^3 = stored value / this (LANDFIRE CBD: 100).
      canopy_base_height_scale: base height in metres = stored value / this (default: ``canopy_height_scale``).
      elevation_scale: elevation in metres = stored value / this (default 1: metres).
      nodata_values: values treated as nodata in every layer in addition to each file's own nodata value.

    Returns:
      The stack; layers are ``[H, W]`` with the files' ``transform``, ``crs`` and the cell size in metres.

    Raises:
      ValueError: a file is not single-band; the files differ in size, transform or CRS (naming the file and what
        differs); cells are not square, rotated, or not in a projected CRS; a units keyword is unknown; no cell is
        valid; a percent canopy cover holds only values <= 1 (a fraction); or a converted layer fails
        :func:`from_arrays` validation (e.g. unknown fuel code).
      ImportError: rasterio is not installed.
    """
    _rasterio()
    units = units_from_keywords(slope_units=slope_units, canopy_cover_units=canopy_cover_units,
                                canopy_height_scale=canopy_height_scale,
                                canopy_base_height_scale=canopy_base_height_scale,
                                bulk_density_scale=bulk_density_scale, elevation_scale=elevation_scale)
    paths = {"fuel_model": fuel_model, "slope": slope, "aspect": aspect, "elevation": elevation,
             "canopy_cover": canopy_cover, "canopy_height": canopy_height, "canopy_base_height": canopy_base_height,
             "canopy_bulk_density": canopy_bulk_density}
    paths = {name: path for name, path in paths.items() if path is not None}
    values, missing, grid = _read_single_bands(paths, nodata_values)
    cell_size_m = grid_cell_size_m(fuel_model, grid["transform"], grid["crs"])
    return convert_layers(values, missing, units, transform=grid["transform"], crs=grid["crs"],
                          cell_size_m=cell_size_m, origins={name: str(path) for name, path in paths.items()})


def _band_layers(path, descriptions) -> dict:
    """``{input layer name: 1-based band}`` of a multi-band landscape raster: the .lcp order, unless the band
    descriptions name the layers (then they decide); ``ValueError`` naming ``path`` when they disagree or only
    partly name the layers, or the band count is not 5 or 8."""
    count = len(descriptions)
    if count not in (5, 8):
        raise ValueError(f"{path} has {count} band(s); a landscape raster has 8 bands in .lcp order "
                         f"({', '.join(LCP_ORDER)}) or 5 (without the canopy fuels); single-band layers go in a "
                         "folder read with read_landscape(folder)")
    named = {band: names.identify(text) for band, text in enumerate(descriptions, 1) if text}
    recognised = {band: next(iter(matches)) for band, matches in named.items() if len(matches) == 1}
    if not recognised:
        return {name: band for band, name in enumerate(LCP_ORDER[:count], 1)}
    layers = [layer for layer, _ in recognised.values()]
    if len(recognised) != count or len(set(layers)) != count or not set(REQUIRED_LAYERS) <= set(layers):
        listing = "; ".join(f"band {band}: {text!r}" for band, text in enumerate(descriptions, 1))
        raise ValueError(f"{path}: the band descriptions ({listing}) do not name each band as a distinct layer "
                         f"(required: {', '.join(REQUIRED_LAYERS)}); fix or remove them to use the .lcp order")
    return {layer: band for band, (layer, _) in recognised.items()}


def _read_multiband(path: Path, overrides: dict) -> RasterStack:
    """A multi-band landscape GeoTIFF (bands in .lcp order or named by their descriptions) -> RasterStack."""
    rasterio = _rasterio()
    overrides = dict(overrides)
    nodata_values = overrides.pop("nodata_values", LANDFIRE_NODATA)
    with rasterio.open(path) as src:
        bands = _band_layers(path, [text or "" for text in src.descriptions])
        hints = {name: names.identify(src.descriptions[band - 1] or "") for name, band in bands.items()}
        values, missing = {}, {}
        for name, band in bands.items():
            values[name], missing[name] = nodata_mask(src.read(band, masked=True), nodata_values)
        transform, crs = src.transform, src.crs
    origins = {name: f"{path} band {band} ({name})" for name, band in bands.items()}
    units = units_from_keywords(**_with_name_hints(overrides, hints, origins))
    return convert_layers(values, missing, units, transform=transform, crs=crs,
                          cell_size_m=grid_cell_size_m(path, transform, crs), origins=origins, source=str(path))


def _with_name_hints(overrides: dict, hints: dict, origins: dict) -> dict:
    """``overrides`` plus the units a layer's name implies (e.g. LANDFIRE ``SlpP``: slope in percent);
    ``ValueError`` when an override contradicts the name."""
    keywords = dict(overrides)
    for name, matches in hints.items():
        for _, hint in matches:
            if hint is None:
                continue
            key, value = hint
            if key in overrides and overrides[key] != value:
                raise ValueError(f"{origins[name]} is named as {key}={value!r}, but {key}={overrides[key]!r} was "
                                 "passed; rename the file or drop the keyword")
            keywords[key] = value
    return keywords


def _read_folder(folder: Path, overrides: dict) -> RasterStack:
    """A folder of single-band rasters with project or LANDFIRE names -> :func:`read_stack`."""
    found = names.find_layer_files(folder)
    hints = {name: {(name, hint)} for name, (_, hint) in found.items()}
    origins = {name: str(path) for name, (path, _) in found.items()}
    keywords = _with_name_hints(overrides, hints, origins)
    return read_stack(**{name: path for name, (path, _) in found.items()}, **keywords)


_OVERRIDES = ("slope_units", "canopy_cover_units", "canopy_height_scale", "canopy_base_height_scale",
              "bulk_density_scale", "elevation_scale", "nodata_values")


def read_landscape(path, **overrides) -> RasterStack:
    """Read a landscape as fire planners keep it, converting units and nodata as :func:`read_stack` does.

    ``path`` may be:

    * a FlamMap/FARSITE ``.lcp`` file (:func:`jaxfire.landscape.lcp.read_lcp`): units come from its header's
      units flags, so only ``nodata_values`` may be overridden;
    * a multi-band raster (e.g. a LANDFIRE landscape GeoTIFF): 8 bands in .lcp order (elevation, slope, aspect,
      fuel model, canopy cover, canopy height, canopy base height, canopy bulk density) or 5 (no canopy fuels);
      band descriptions, when they name every band, decide the order instead;
    * a folder of single-band rasters named as the project does (``fuel_model.tif``, ``slope.tif``, ...) or as
      LANDFIRE products (``LC20_F40_200.tif``, ``US_SlpD.tif``, ``*_Asp_*``, ``*_Elev_*``, ``*_CC_*``, ``*_CH_*``,
      ``*_CBH_*``, ``*_CBD_*``; see :mod:`jaxfire.landscape.names`).  A ``SlpP`` file is read as percent slope.

    Args:
      path: the file or folder.
      **overrides: the units keywords of :func:`read_stack` (``slope_units``, ``canopy_cover_units``,
        ``canopy_height_scale``, ``canopy_base_height_scale``, ``bulk_density_scale``, ``elevation_scale``) and
        ``nodata_values``.  Defaults are LANDFIRE's units.

    Raises:
      TypeError: an unknown keyword.
      FileNotFoundError: ``path`` does not exist.
      ValueError: as :func:`read_stack`, plus: ambiguous or incomplete folders (naming the files), a band count
        other than 5 or 8, band descriptions that name only some layers, an override contradicting a file name or
        an .lcp header, and every .lcp problem of :func:`jaxfire.landscape.lcp.read_lcp`.
    """
    unknown = sorted(set(overrides) - set(_OVERRIDES))
    if unknown:
        raise TypeError(f"read_landscape got unknown keyword(s) {unknown}; known: {', '.join(_OVERRIDES)}")
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, overrides)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix.lower() == ".lcp":
        from jaxfire.landscape import lcp
        units = sorted(set(overrides) - {"nodata_values"})
        if units:
            raise ValueError(f"{path}: the units of an .lcp file come from its header's units flags; "
                             f"{', '.join(units)} cannot be overridden")
        return lcp.read_lcp(path, **overrides)
    return _read_multiband(path, overrides)


def tiles(stack: RasterStack, size: int, *, stride: int | None = None,
          max_nodata_fraction: float = 0.0) -> list[Tile]:
    """Square ``size x size`` crops of ``stack`` in row-major order of their upper-left cells.

    Windows start at rows and cols ``0, stride, 2 * stride, ...`` (``stride`` defaults to ``size``: no overlap)
    and must lie fully inside the raster.  A window whose nodata fraction exceeds ``max_nodata_fraction``
    (default 0: any nodata) is skipped; nodata cells of kept tiles are non-burnable (fuel 99, slope 0).

    Raises:
      ValueError: bad ``size``/``stride``/``max_nodata_fraction``, or no window qualifies.
    """
    rows, cols = stack.shape
    stride = size if stride is None else stride
    if not 1 <= size <= min(rows, cols):
        raise ValueError(f"tile size {size} must be between 1 and {min(rows, cols)} for a {rows}x{cols} raster")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if not 0.0 <= max_nodata_fraction <= 1.0:
        raise ValueError(f"max_nodata_fraction must be in [0, 1], got {max_nodata_fraction}")
    result = []
    for row in range(0, rows - size + 1, stride):
        for col in range(0, cols - size + 1, stride):
            valid = stack.valid[row:row + size, col:col + size]
            if 1.0 - valid.mean() > max_nodata_fraction:
                continue
            result.append(Tile(row=row, col=col, landscape=stack.landscape(row, col, size, size), valid=valid,
                               transform=stack.window_transform(row, col, size, size), crs=stack.crs))
    if not result:
        raise ValueError(f"no {size}x{size} tile (stride {stride}) of the {rows}x{cols} raster has a nodata "
                         f"fraction <= {max_nodata_fraction}; {int((~stack.valid).sum())} of {rows * cols} cells "
                         "are nodata (raise max_nodata_fraction or use smaller tiles)")
    return result


def tile_pool(stack: RasterStack, size: int, **tile_kwargs) -> tuple[Landscape, list[tuple[int, int]]]:
    """The :func:`tiles` of ``stack`` as a pool (a :class:`Landscape` with layers ``[P, size, size]``) and each
    tile's ``(row, col)`` offset; ``tile_kwargs`` go to :func:`tiles`."""
    kept = tiles(stack, size, **tile_kwargs)
    return stack_pool(tile.landscape for tile in kept), [(tile.row, tile.col) for tile in kept]


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


def write_geotiff(path, array, transform, crs, *, nodata=None, overwrite: bool = False, dtype=None) -> Path:
    """Write a 2-D ``[H, W]`` array as a single-band, deflate-compressed GeoTIFF.

    Args:
      path: output file.
      array: ``[H, W]`` values, row 0 north (NumPy or JAX; bool is written as uint8 0/1).
      transform, crs: georeference (e.g. a :class:`RasterStack`'s or :class:`Tile`'s ``transform``/``crs``).
      nodata: nodata value recorded in the file, or None.
      overwrite: replace an existing file; otherwise an existing ``path`` raises ``FileExistsError``.
      dtype: output data type (default: the array's, uint8 for bool).

    Returns:
      ``path`` as a :class:`pathlib.Path`.
    """
    rasterio = _rasterio()
    path = Path(path)
    data = np.asarray(array)
    if data.ndim != 2:
        raise ValueError(f"write_geotiff needs a 2-D [H, W] array, got shape {data.shape}")
    if dtype is None:
        dtype = np.uint8 if data.dtype == np.bool_ else data.dtype
    _refuse_existing(path, overwrite)
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1,
               "dtype": np.dtype(dtype).name, "crs": crs, "transform": transform, "nodata": nodata,
               "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype), 1)
    return path


def write_results(out_dir, georef, *, fuel_breaks=None, burn_probability_before=None,
                  burn_probability_after=None, overwrite: bool = False) -> dict[str, Path]:
    """Write planning results on the grid of ``georef`` (a :class:`RasterStack` or :class:`Tile`).

    Files (each only if its array is given): ``fuel_breaks.tif`` (uint8, 1 = treated cell),
    ``burn_probability_before.tif`` and ``burn_probability_after.tif`` (float32, per-cell probability).
    Arrays are ``[H, W]`` matching ``georef.shape``.  ``out_dir`` is created if needed.  Nothing is written if any
    target exists and ``overwrite`` is False (``FileExistsError`` naming it).

    Returns:
      ``{name: path}`` of the files written.
    """
    outputs = {"fuel_breaks": (fuel_breaks, np.uint8),
               "burn_probability_before": (burn_probability_before, np.float32),
               "burn_probability_after": (burn_probability_after, np.float32)}
    outputs = {name: (np.asarray(array), dtype) for name, (array, dtype) in outputs.items() if array is not None}
    if not outputs:
        raise ValueError("write_results got no arrays to write")
    for name, (array, _) in outputs.items():
        if array.shape != georef.shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {georef.shape} (the georef's grid)")
    if "fuel_breaks" in outputs and not np.isin(outputs["fuel_breaks"][0], (0, 1)).all():
        raise ValueError("fuel_breaks must hold only 0/1 (or bool) values")
    out_dir = Path(out_dir)
    targets = {name: out_dir / f"{name}.tif" for name in outputs}
    for path in targets.values():
        _refuse_existing(path, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {name: write_geotiff(targets[name], array, georef.transform, georef.crs, overwrite=overwrite, dtype=dtype)
            for name, (array, dtype) in outputs.items()}
