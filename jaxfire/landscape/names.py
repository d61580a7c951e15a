"""Recognising landscape layers by name: the files of a folder and the band descriptions of a multi-band raster.

A name (a file's stem or a band description) names a layer when, case-insensitively,

* the whole name (non-alphanumerics read as ``_``) is one of the project's layer names (``fuel_model``, ``slope``,
  ``aspect``, ``elevation``, ``canopy_cover``, ``canopy_height``, ``canopy_base_height``,
  ``canopy_bulk_density``) or one of GDAL's LCP band descriptions (``Fuel models``, ``Canopy cover``, ...); or
* one of its tokens (split at ``_``, ``-``, ``.``, spaces; a token may carry leading or trailing digits, as in
  ``220F40`` or ``DEM2020``) is a LANDFIRE product code: ``F40``/``FBFM40`` and ``F13``/``FBFM13`` (fuel model),
  ``SlpD`` (slope, degrees), ``SlpP`` (slope, percent), ``Asp`` (aspect), ``Elev``/``DEM`` (elevation), ``CC``,
  ``CH``, ``CBH``, ``CBD`` (canopy cover, height, base height, bulk density).

So ``LC20_F40_200.tif``, ``US_SlpD.tif`` and ``LF2020_CBH_220_CONUS.tif`` are recognised; a token must match as a
whole, so ``CC`` does not match inside another word.  Pure Python: no rasterio needed.
"""
from __future__ import annotations

import re
from pathlib import Path

# The .lcp band order (elevation first), which LANDFIRE's multi-band landscape GeoTIFF follows too.
LCP_ORDER = ("elevation", "slope", "aspect", "fuel_model", "canopy_cover", "canopy_height", "canopy_base_height",
             "canopy_bulk_density")
INPUT_LAYERS = ("fuel_model", "slope", "aspect", "elevation", "canopy_cover", "canopy_height", "canopy_base_height",
                "canopy_bulk_density")
REQUIRED_LAYERS = ("fuel_model", "slope", "aspect")
RASTER_SUFFIXES = (".tif", ".tiff", ".img")

_WHOLE_NAMES = {name: name for name in INPUT_LAYERS} | {"fuel_models": "fuel_model"}   # GDAL LCP: "Fuel models"
_SLOPE_DEGREES, _SLOPE_PERCENT = ("slope_units", "degrees"), ("slope_units", "percent")
_PRODUCT_CODES = {
    "F40": ("fuel_model", None), "FBFM40": ("fuel_model", None), "F13": ("fuel_model", None),
    "FBFM13": ("fuel_model", None), "SLPD": ("slope", _SLOPE_DEGREES), "SLPP": ("slope", _SLOPE_PERCENT),
    "ASP": ("aspect", None), "ELEV": ("elevation", None), "DEM": ("elevation", None),
    "CC": ("canopy_cover", None), "CH": ("canopy_height", None), "CBH": ("canopy_base_height", None),
    "CBD": ("canopy_bulk_density", None),
}


def identify(name: str) -> set[tuple[str, tuple[str, str] | None]]:
    """The layers ``name`` names, as ``{(input layer name, units hint or None)}``.

    The units hint is a ``(keyword, value)`` of :func:`jaxfire.landscape.raster.read_stack` the name implies
    (``SlpP`` -> ``("slope_units", "percent")``).  Empty when nothing matches; more than one element means the
    name is ambiguous (callers refuse it).
    """
    normal = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if normal in _WHOLE_NAMES:
        return {(_WHOLE_NAMES[normal], None)}
    found = set()
    for token in normal.upper().split("_"):
        for candidate in {token, token.lstrip("0123456789"), token.rstrip("0123456789")}:
            if candidate in _PRODUCT_CODES:
                found.add(_PRODUCT_CODES[candidate])
    return found


def find_layer_files(folder) -> dict[str, tuple[Path, tuple[str, str] | None]]:
    """``{input layer name: (file, units hint)}`` of the rasters (``.tif``, ``.tiff``, ``.img``) in ``folder``.

    Files whose names name no layer are ignored.

    Raises:
      ValueError: naming the files, when a file's name names several layers (or both slope units), when two files
        name the same layer, or when fuel model, slope or aspect is missing.
    """
    folder = Path(folder)
    rasters = sorted(path for path in folder.iterdir()
                     if path.is_file() and path.suffix.lower() in RASTER_SUFFIXES)
    by_layer: dict[str, list] = {}
    for path in rasters:
        matches = identify(path.stem)
        if len(matches) > 1:
            named = ", ".join(sorted(f"{layer}" + (f" ({hint[1]})" if hint else "") for layer, hint in matches))
            raise ValueError(f"{path} matches more than one landscape layer ({named}); rename it so its name "
                             "holds one LANDFIRE product code or one project layer name")
        for layer, hint in matches:
            by_layer.setdefault(layer, []).append((path, hint))
    clashes = {layer: paths for layer, paths in by_layer.items() if len(paths) > 1}
    if clashes:
        listing = "; ".join(f"{layer}: {', '.join(path.name for path, _ in paths)}"
                            for layer, paths in sorted(clashes.items()))
        raise ValueError(f"{folder} is ambiguous: more than one file per layer ({listing}); keep one file per layer")
    missing = [layer for layer in REQUIRED_LAYERS if layer not in by_layer]
    if missing:
        seen = ", ".join(path.name for path in rasters) or "no .tif/.tiff/.img files"
        raise ValueError(f"{folder} has no raster for {', '.join(missing)} (found: {seen}); name files as the "
                         "project does (fuel_model.tif, slope.tif, aspect.tif, ...) or as LANDFIRE products "
                         "(*F40*/*F13*, *SlpD*/*SlpP*, *Asp*, *Elev*, *CC*, *CH*, *CBH*, *CBD*)")
    return {layer: paths[0] for layer, paths in by_layer.items()}
