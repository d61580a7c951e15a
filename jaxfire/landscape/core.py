"""The ``Landscape`` pytree and its validating constructor.

Conventions: arrays are ``[row, col]`` with row 0 the NORTH edge (north-up, like a GeoTIFF) and col increasing
east; cells are square with side ``cell_size_m`` metres (default 30 m).  Slope is in degrees, aspect is the
DOWNSLOPE direction in degrees clockwise from north.  Canopy cover is a fraction in [0, 1]; heights in metres;
canopy bulk density in kg/m^3; elevation in metres.  Fuel codes are as in :mod:`jaxfire.fuels`.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import fuels
from jaxfire.validation import Range, is_traced


@struct.dataclass
class Landscape:
    """A raster landscape (all layers ``[H, W]``; a batch of landscapes adds a leading axis to every layer).

    Attributes:
      fuel_model: ``int32[H, W]`` fuel-model codes.
      slope_deg: ``float32[H, W]`` slope, degrees.
      aspect_deg: ``float32[H, W]`` downslope azimuth, degrees clockwise from north, in [0, 360).
      canopy_cover: ``float32[H, W]`` fraction in [0, 1].
      canopy_height_m: ``float32[H, W]`` stand height, m.
      canopy_base_height_m: ``float32[H, W]`` canopy base height, m.
      canopy_bulk_density_kg_m3: ``float32[H, W]`` kg/m^3.
      elevation_m: ``float32[H, W]`` metres.
      cell_size_m: cell side, metres (static).
    """

    fuel_model: jnp.ndarray
    slope_deg: jnp.ndarray
    aspect_deg: jnp.ndarray
    canopy_cover: jnp.ndarray
    canopy_height_m: jnp.ndarray
    canopy_base_height_m: jnp.ndarray
    canopy_bulk_density_kg_m3: jnp.ndarray
    elevation_m: jnp.ndarray
    cell_size_m: float = struct.field(pytree_node=False, default=30.0)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of one landscape."""
        return tuple(self.fuel_model.shape[-2:])

    @property
    def burnable(self) -> jnp.ndarray:
        """``bool[H, W]``: cells whose fuel can burn."""
        return fuels.is_burnable(self.fuel_model)

    def with_fuel_breaks(self, treated: jnp.ndarray, code: int = 99) -> "Landscape":
        """Copy with the ``treated`` cells (``bool[H, W]``) made non-burnable (fuel code ``code``, default barren)."""
        return self.replace(fuel_model=jnp.where(treated, jnp.int32(code), self.fuel_model))


def _layer(name, value, shape, low=None, high=None, default=0.0):
    if value is None:
        return np.full(shape, default, np.float32)
    array = np.asarray(value)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape} (the shape of fuel_model)")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN at {np.argwhere(np.isnan(array))[0].tolist()} (row, col)")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains inf")
    if low is not None and array.min() < low:
        raise ValueError(f"{name} must be >= {low}, got min {array.min():g}")
    if high is not None and array.max() > high:
        raise ValueError(f"{name} must be <= {high}, got max {array.max():g}")
    return array.astype(np.float32)


def from_arrays(fuel_model, slope_deg, aspect_deg, canopy_cover=None, canopy_height=None,
                canopy_base_height=None, canopy_bulk_density=None, elevation=None,
                cell_size_m: float = 30.0) -> Landscape:
    """Validate raster layers and build a :class:`Landscape`.

    Args:
      fuel_model: ``[H, W]`` fuel-model codes (Anderson 1-13, Scott & Burgan 101-204, non-burnable 91-99).
      slope_deg: ``[H, W]`` slope in degrees, in [0, 90).
      aspect_deg: ``[H, W]`` downslope azimuth in degrees clockwise from north (any finite value; wrapped to [0, 360)).
      canopy_cover: ``[H, W]`` canopy cover fraction in [0, 1] (default 0).
      canopy_height: ``[H, W]`` stand height, m (default 0).
      canopy_base_height: ``[H, W]`` canopy base height, m (default 0).
      canopy_bulk_density: ``[H, W]`` kg/m^3 (default 0).
      elevation: ``[H, W]`` metres (default 0; the spread models use slope and aspect).
      cell_size_m: cell side in metres, a finite number > 0.

    Raises:
      ValueError: naming the layer and the problem (shape, dtype, NaN, range, unknown fuel code).
      TypeError: a traced layer (``from_arrays`` inside ``jit``) or a cell size that is not a number.
    """
    traced = [name for name, layer in dict(fuel_model=fuel_model, slope_deg=slope_deg, aspect_deg=aspect_deg,
                                           canopy_cover=canopy_cover, canopy_height=canopy_height,
                                           canopy_base_height=canopy_base_height,
                                           canopy_bulk_density=canopy_bulk_density, elevation=elevation).items()
              if is_traced(layer)]
    if traced:
        raise TypeError(f"from_arrays validates concrete rasters and cannot run inside jax.jit/vmap: {traced[0]} is "
                        "traced (build the Landscape outside jit, then pass it in)")
    cell_size_m = Range(0.0, low_open=True).value(cell_size_m, "cell_size_m (metres)")
    fuel = np.asarray(fuel_model)
    if fuel.ndim != 2 or min(fuel.shape) < 1:
        raise ValueError(f"fuel_model must be a 2-D [H, W] array, got shape {fuel.shape}")
    fuel = fuels.validate_codes(fuel)
    shape = fuel.shape
    cover = _layer("canopy_cover", canopy_cover, shape, 0.0, None)
    if cover.max(initial=0) > 1.0:
        raise ValueError(f"canopy_cover must be a fraction in [0, 1], got max {cover.max():g} "
                         "(divide percent cover by 100)")
    height = _layer("canopy_height", canopy_height, shape, 0.0, 150.0)
    base = _layer("canopy_base_height", canopy_base_height, shape, 0.0, 150.0)
    if np.any(base > height + 1e-6):
        raise ValueError("canopy_base_height exceeds canopy_height in some cells")
    slope = _layer("slope_deg", slope_deg, shape, 0.0, 89.9)
    aspect = _layer("aspect_deg", aspect_deg, shape) % np.float32(360.0)
    return Landscape(
        fuel_model=jnp.asarray(fuel),
        slope_deg=jnp.asarray(slope),
        aspect_deg=jnp.asarray(aspect),
        canopy_cover=jnp.asarray(cover),
        canopy_height_m=jnp.asarray(height),
        canopy_base_height_m=jnp.asarray(base),
        canopy_bulk_density_kg_m3=jnp.asarray(_layer("canopy_bulk_density", canopy_bulk_density, shape, 0.0, 5.0)),
        elevation_m=jnp.asarray(_layer("elevation", elevation, shape, -500.0, 9000.0)),
        cell_size_m=float(cell_size_m),
    )
