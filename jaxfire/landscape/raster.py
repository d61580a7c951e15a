"""Real rasters in and results out: LANDFIRE-style single-band GeoTIFF stacks -> :class:`Landscape` tiles, and
fuel breaks / burn probabilities -> GeoTIFFs a planner can open in a GIS.

Needs the optional ``rasterio`` dependency (``pip install jaxfire[geo]``); it is imported only when a function
here is called, so ``import jaxfire`` works without it.

Conventions (as in :mod:`jaxfire.landscape.core`): arrays are ``[row, col]`` with row 0 the NORTH edge and col
increasing east, exactly the pixel order of a north-up GeoTIFF, so a raster's affine ``transform`` maps
``(col, row)`` to map ``(x, y)`` for the cell's upper-left corner.  Cells must be square and unrotated, in a
projected CRS; ``cell_size_m`` is the cell side in metres (CRS linear units converted to metres).

Input units (LANDFIRE defaults, each overridable by a keyword of :func:`read_stack`):

* fuel model: FBFM40 (Scott & Burgan 101-204, non-burnable 91-99) or FBFM13 (Anderson 1-13, 91-99) codes, as given;
* slope: degrees (``slope_units="percent"`` for percent rise, converted with ``atan(p / 100)``);
* aspect: downslope azimuth, degrees clockwise from north; ``-1`` (LANDFIRE's flat) or nodata means flat and is
  stored as aspect 0 with slope 0;
* canopy cover: percent (``canopy_cover_units="fraction"`` for values already in [0, 1]);
* canopy height and canopy base height: metres x 10 (``canopy_height_scale=10``; stored value / scale = metres);
* canopy bulk density: kg/m^3 x 100 (``bulk_density_scale=100``; stored value / scale = kg/m^3);
* elevation: metres.

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

from jaxfire.landscape.core import Landscape, from_arrays
from jaxfire.landscape.pool import stack as stack_pool

NONBURNABLE_FILL = 99
LANDFIRE_NODATA = (-9999, -32768, 32767)
_LAYERS = ("fuel_model", "slope_deg", "aspect_deg", "canopy_cover", "canopy_height_m", "canopy_base_height_m",
           "canopy_bulk_density_kg_m3", "elevation_m")


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
      crs: the rasters' ``rasterio.crs.CRS``.
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


def _cell_size_m(path, transform, crs) -> float:
    if crs is None:
        raise ValueError(f"{path} has no CRS, so its cell size in metres is unknown")
    if not crs.is_projected:
        raise ValueError(f"{path} is in a geographic CRS ({crs}); reproject to a projected CRS in metres "
                         "(e.g. EPSG:5070, LANDFIRE's CONUS Albers)")
    if transform.b != 0 or transform.d != 0:
        raise ValueError(f"{path} has a rotated geotransform {tuple(transform)[:6]}; only north-up grids are "
                         "supported")
    if transform.e >= 0:
        raise ValueError(f"{path} is not north-up (row pixel height {transform.e} must be negative)")
    if not np.isclose(transform.a, -transform.e, rtol=1e-6, atol=0.0):
        raise ValueError(f"{path} has non-square cells {transform.a} x {-transform.e}; square cells are required")
    return float(transform.a) * float(crs.linear_units_factor[1])


def read_stack(fuel_model, slope, aspect, elevation=None, canopy_cover=None, canopy_height=None,
               canopy_base_height=None, canopy_bulk_density=None, *, slope_units: str = "degrees",
               canopy_cover_units: str = "percent", canopy_height_scale: float = 10.0,
               bulk_density_scale: float = 100.0, nodata_values=LANDFIRE_NODATA) -> RasterStack:
    """Read single-band GeoTIFFs on one grid into a :class:`RasterStack`, converting units (see module docstring).

    Args:
      fuel_model, slope, aspect: paths to the fuel-model, slope and aspect rasters (required).
      elevation, canopy_cover, canopy_height, canopy_base_height, canopy_bulk_density: optional paths; a layer
        not given is 0 everywhere.
      slope_units: ``"degrees"`` (LANDFIRE SlpD) or ``"percent"`` (SlpP; degrees = atan(p / 100)).
      canopy_cover_units: ``"percent"`` (LANDFIRE CC, divided by 100) or ``"fraction"``.
      canopy_height_scale: canopy height AND base height in metres = stored value / this (LANDFIRE CH/CBH: 10).
      bulk_density_scale: bulk density in kg/m^3 = stored value / this (LANDFIRE CBD: 100).
      nodata_values: values treated as nodata in every layer in addition to each file's own nodata value.

    Returns:
      The stack; layers are ``[H, W]`` with the files' ``transform``, ``crs`` and the cell size in metres.

    Raises:
      ValueError: a file is not single-band; the files differ in size, transform or CRS (naming the file and what
        differs); cells are not square, rotated, or not in a projected CRS; a units keyword is unknown; no cell is
        valid; or a converted layer fails :func:`from_arrays` validation (e.g. unknown fuel code).
      ImportError: rasterio is not installed.
    """
    rasterio = _rasterio()
    if slope_units not in ("degrees", "percent"):
        raise ValueError(f"slope_units must be 'degrees' or 'percent', got {slope_units!r}")
    if canopy_cover_units not in ("percent", "fraction"):
        raise ValueError(f"canopy_cover_units must be 'percent' or 'fraction', got {canopy_cover_units!r}")
    if not (canopy_height_scale > 0 and bulk_density_scale > 0):
        raise ValueError(f"canopy_height_scale and bulk_density_scale must be positive, got {canopy_height_scale} "
                         f"and {bulk_density_scale}")
    paths = {"fuel_model": fuel_model, "slope": slope, "aspect": aspect, "elevation": elevation,
             "canopy_cover": canopy_cover, "canopy_height": canopy_height, "canopy_base_height": canopy_base_height,
             "canopy_bulk_density": canopy_bulk_density}
    paths = {name: path for name, path in paths.items() if path is not None}
    files = ", ".join(str(path) for path in paths.values())
    values, missing, reference = {}, {}, None
    for name, path in paths.items():
        with rasterio.open(path) as src:
            if src.count != 1:
                raise ValueError(f"{path} ({name}) has {src.count} bands; expected a single-band raster")
            grid = {"height": src.height, "width": src.width, "transform": src.transform, "crs": src.crs}
            data = src.read(1, masked=True)
        if reference is None:
            reference = dict(grid, path=path)
        else:
            differences = _grid_differences(grid, reference)
            if differences:
                raise ValueError(f"{path} ({name}) is not on the grid of {reference['path']} (fuel_model): "
                                 + "; ".join(differences))
        raw = np.ma.getdata(data).astype(np.float64)
        values[name] = raw
        missing[name] = np.ma.getmaskarray(data) | np.isnan(raw) | np.isin(raw, nodata_values)
    cell_size_m = _cell_size_m(fuel_model, reference["transform"], reference["crs"])

    flat = missing["aspect"] | (values["aspect"] == -1)
    valid = ~np.logical_or.reduce([mask for name, mask in missing.items() if name != "aspect"])
    if not valid.any():
        raise ValueError(f"no valid cells: every cell is nodata in at least one of {files}")

    def layer(name, scale=1.0):
        if name not in values:
            return np.zeros(valid.shape, np.float32)
        return np.where(valid, values[name] / scale, 0.0).astype(np.float32)

    slope_deg = layer("slope")
    if slope_units == "percent":
        slope_deg = np.degrees(np.arctan(slope_deg / 100.0)).astype(np.float32)
    layers = {
        "fuel_model": np.where(valid, values["fuel_model"], NONBURNABLE_FILL),
        "slope_deg": np.where(flat, 0.0, slope_deg).astype(np.float32),
        "aspect_deg": np.where(flat, 0.0, layer("aspect")).astype(np.float32),
        "canopy_cover": layer("canopy_cover", 100.0 if canopy_cover_units == "percent" else 1.0),
        "canopy_height_m": layer("canopy_height", canopy_height_scale),
        "canopy_base_height_m": layer("canopy_base_height", canopy_height_scale),
        "canopy_bulk_density_kg_m3": layer("canopy_bulk_density", bulk_density_scale),
        "elevation_m": layer("elevation"),
    }
    try:
        with jax.default_device(jax.devices("cpu")[0]):
            whole = _landscape(layers, cell_size_m)
    except ValueError as err:
        raise ValueError(f"{err} (after unit conversion of {files}; check slope_units, "
                         "canopy_cover_units, canopy_height_scale and bulk_density_scale)") from err
    return RasterStack(**{name: np.asarray(getattr(whole, name)) for name in _LAYERS}, valid=valid,
                       transform=reference["transform"], crs=reference["crs"], cell_size_m=cell_size_m)


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
