"""Synthetic test landscapes: fractal terrain, a terrain-correlated fuel mosaic, roads, rivers and lakes.

Conventions (as in :mod:`jaxfire.landscape.core`): arrays are ``[row, col]`` with row 0 the NORTH edge and col
increasing east; cells are squares of side ``cell_size_m``.  Elevation and heights are in metres, slope in
degrees, aspect is the DOWNSLOPE azimuth in degrees clockwise from north in [0, 360) (a surface descending to
the east has aspect 90; flat cells get 0), canopy cover is a fraction in [0, 1], bulk density is kg/m^3.

The generator (:func:`synthetic`):

1. Terrain: 1/f^beta noise by spectral synthesis (white noise filtered in the FFT domain on a grid padded by
   half its size, then cropped so the field is not periodic), with ``beta = 4 - 2 * roughness`` (fractal
   dimension ``2 + roughness``), rescaled to span ``[base_elevation_m, base_elevation_m + relief_m]``.
   Slope and aspect come from :func:`slope_aspect`.
2. Fuel: a moisture index ``z - 0.8 * southness + patchiness * patch`` (``z`` standardised elevation,
   ``southness = -cos(aspect) * tanh(slope / 10 deg)``, +1 on steep south-facing slopes, ``patch`` an
   independent noise field) is split by quantiles into grass (driest ``fuel_fractions[0]``), shrub and timber
   (moistest).  Within each life form a second index (moisture + independent noise) ranks cells from dry to
   moist and picks the sub-model in equal-area shares:

   ======  ================================================================  ================
   form    Scott & Burgan models, dry -> moist                                where
   ======  ================================================================  ================
   grass   GR1 101 short sparse, GR2 102 low load, GS2 122 grass-shrub        low, south-facing
   shrub   SH2 142 moderate, SH5 145 high load, SH7 147 very high load        mid-slope
   timber  TU1 161, TU5 165 (open stands, understory), TL8 188, TL3 183       high, north-facing
           (closed stands, litter)
   ======  ================================================================  ================

3. Features (non-burnable), in this order: lakes (98) flood the basin around a random low cell lowest-first
   until ``lake_fraction * H * W * U(0.5, 1.5)`` cells; rivers (98, 1 or 2 cells wide) start at a random high
   cell and repeatedly step to the lowest unvisited 4-neighbour (so they climb out of pits) until the grid
   edge or other water; roads (91) are 4-connected staircase polylines crossing the grid north-south or
   east-west through one random interior waypoint (bridging any water).
4. Canopy, timber cells only (0 elsewhere), rising along the within-timber dry -> moist rank ``q`` in [0, 1]
   with +-15 % per-cell jitter: cover ``0.3 + 0.5 q``, height ``12 + 18 q`` m, base height ``1 + 5 q`` m,
   bulk density ``0.05 + 0.15 q`` kg/m^3.

With the default feature counts a landscape of 32x32 cells or more stays over 75 % burnable (over 90 % from
128x128); lower the counts for smaller grids.
:func:`synthetic` seeds a NumPy generator from ``jax.random.bits(key)`` and computes in NumPy, so it is
deterministic for a key (bit-identical for fixed JAX/NumPy versions) but not jittable (the line features use
data-dependent Python loops); :func:`slope_aspect` is NumPy too.
"""
from __future__ import annotations

import heapq

import jax
import numpy as np

from jaxfire.landscape.core import Landscape, from_arrays

GRASS = (101, 102, 122)        # GR1, GR2, GS2
SHRUB = (142, 145, 147)        # SH2, SH5, SH7
TIMBER = (161, 165, 188, 183)  # TU1, TU5, TL8, TL3
ROAD, WATER = 91, 98


def slope_aspect(elevation, cell_size_m: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Slope and downslope aspect of an elevation grid (central differences; one-sided on the edges).

    Args:
      elevation: ``[H, W]`` metres (NumPy or JAX array), ``H, W >= 2``, row 0 north.
      cell_size_m: cell side, metres.

    Returns:
      ``(slope_deg, aspect_deg)``, ``float64[H, W]``: slope in degrees; downslope azimuth in degrees clockwise
      from north in [0, 360), 0 where flat.
    """
    dz_drow, dz_dcol = np.gradient(np.asarray(elevation, np.float64), cell_size_m)
    slope = np.degrees(np.arctan(np.hypot(dz_drow, dz_dcol)))
    # Downslope vector -grad(z): east component -dz/dcol, north component +dz/drow (rows run southward).
    aspect = np.degrees(np.arctan2(-dz_dcol, dz_drow)) % 360.0
    return slope, np.where(aspect >= 360.0, 0.0, aspect)  # rounding can make -tiny % 360 == 360


def _fractal(white: np.ndarray, shape: tuple[int, int], beta: float) -> np.ndarray:
    """Standardised 1/f^beta noise ``[H, W]`` (power spectrum ~ f^-beta) from padded white noise ``[Hp, Wp]``."""
    f = np.hypot(np.fft.fftfreq(white.shape[0])[:, None], np.fft.rfftfreq(white.shape[1])[None, :])
    f[0, 0] = np.inf  # drop the mean
    field = np.fft.irfft2(np.fft.rfft2(white) * f ** (-beta / 2), s=white.shape)[:shape[0], :shape[1]]
    return (field - field.mean()) / field.std()


def _rank(x: np.ndarray) -> np.ndarray:
    """Empirical quantile in [0, 1] of each entry of the 1-D array ``x``."""
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") / max(x.size - 1, 1)


def _neighbours(r: int, c: int, shape: tuple[int, int]):
    """In-grid 4-neighbours of cell ``(r, c)``."""
    return [(i, j) for i, j in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
            if 0 <= i < shape[0] and 0 <= j < shape[1]]


def _lake(elev: np.ndarray, water: np.ndarray, u: np.ndarray, area: int) -> None:
    """Mark ``area`` cells of ``water`` by flooding lowest-first from a random cell in the lowest quartile."""
    low = np.flatnonzero(elev.ravel() <= np.quantile(elev, 0.25))
    start = tuple(int(i) for i in np.unravel_index(low[int(u[0] * low.size)], elev.shape))
    heap, seen = [(elev[start], start)], {start}
    for _ in range(min(area, elev.size)):
        _, cell = heapq.heappop(heap)
        water[cell] = True
        for n in _neighbours(*cell, elev.shape):
            if n not in seen:
                seen.add(n)
                heapq.heappush(heap, (elev[n], n))


def _river(elev: np.ndarray, water: np.ndarray, u: np.ndarray) -> None:
    """Mark a river in ``water``: from a random cell in the highest 40 %, step to the lowest unvisited
    4-neighbour until the grid edge, existing water or a dead end; 1 or 2 cells wide."""
    (h, w), high = elev.shape, np.flatnonzero(elev.ravel() >= np.quantile(elev, 0.6))
    cell = tuple(int(i) for i in np.unravel_index(high[int(u[0] * high.size)], elev.shape))
    path, visited = [cell], {cell}
    for _ in range(2 * (h + w)):
        options = [n for n in _neighbours(*cell, elev.shape) if n not in visited]
        if not options:
            break
        cell = min(options, key=lambda n: elev[n])
        if water[cell]:
            break
        path.append(cell)
        visited.add(cell)
        if cell[0] in (0, h - 1) or cell[1] in (0, w - 1):
            break
    rows, cols = np.array(path).T
    width = 1 + int(u[1] < 0.5)
    for dr in range(width):
        for dc in range(width):
            water[np.minimum(rows + dr, h - 1), np.minimum(cols + dc, w - 1)] = True


def _segment(p: tuple[int, int], q: tuple[int, int]) -> list[tuple[int, int]]:
    """Cells of a 4-connected staircase from ``p`` to ``q`` (both included): each step moves one row or one
    col, whichever lands nearer the straight line."""
    (r0, c0), (r1, c1) = p, q
    dr, dc = r1 - r0, c1 - c0
    sr, sc = (dr > 0) - (dr < 0), (dc > 0) - (dc < 0)
    r, c, cells = r0, c0, [p]
    while (r, c) != (r1, c1):
        row_error = abs((r + sr - r0) * dc - (c - c0) * dr)  # |cross product| ~ distance from the line
        col_error = abs((r - r0) * dc - (c + sc - c0) * dr)
        if c == c1 or (r != r1 and row_error <= col_error):
            r += sr
        else:
            c += sc
        cells.append((r, c))
    return cells


def _road(shape: tuple[int, int], u: np.ndarray) -> list[tuple[int, int]]:
    """Cells of a 4-connected road crossing the grid N-S (``u[0] < 0.5``) or E-W through a random waypoint."""
    h, w = shape
    mid = (int(u[2] * h), int(u[3] * w))
    if u[0] < 0.5:
        ends = (0, int(u[1] * w)), (h - 1, int(u[4] * w))
    else:
        ends = (int(u[1] * h), 0), (int(u[4] * h), w - 1)
    return _segment(ends[0], mid) + _segment(mid, ends[1])


def _checked(shape, roughness, relief_m, patchiness, lake_fraction, fuel_fractions, roads, rivers, lakes):
    """Validate :func:`synthetic`'s arguments; returns the fuel fractions as an array."""
    fractions = np.asarray(fuel_fractions, np.float64)
    if len(shape) != 2 or min(int(n) for n in shape) < 2:
        raise ValueError(f"shape must be (H, W) with H, W >= 2, got {tuple(shape)}")
    if not 0.0 <= roughness <= 1.0:
        raise ValueError(f"roughness must be in [0, 1], got {roughness}")
    if relief_m < 0 or patchiness < 0 or lake_fraction < 0:
        raise ValueError("relief_m, patchiness and lake_fraction must be >= 0")
    if fractions.shape != (3,) or fractions.min() < 0 or fractions.sum() <= 0:
        raise ValueError(f"fuel_fractions must be 3 non-negative shares, got {fuel_fractions}")
    if min(roads, rivers, lakes) < 0:
        raise ValueError("roads, rivers and lakes must be counts >= 0")
    return fractions


def _fuel_mosaic(white, z, slope, aspect, fractions, patchiness) -> tuple[np.ndarray, np.ndarray]:
    """Fuel codes ``int32[H, W]`` and each cell's rank within its life form ``q`` in [0, 1] (dry -> moist): life
    form by moisture-index quantiles (terrain height, southness, noise), sub-model by the within-form rank."""
    h, w = z.shape
    southness = -np.cos(np.radians(aspect)) * np.tanh(slope / 10.0)
    moisture = z - 0.8 * southness + patchiness * _fractal(white[1], (h, w), 3.0)
    form = np.searchsorted(np.cumsum(fractions / fractions.sum())[:-1], _rank(moisture.ravel())).reshape(h, w)
    sub = moisture + _fractal(white[2], (h, w), 2.5)
    fuel, q = np.zeros((h, w), np.int32), np.zeros((h, w))
    for i, codes in enumerate((GRASS, SHRUB, TIMBER)):
        cells = form == i
        q[cells] = _rank(sub[cells])
        fuel[cells] = np.asarray(codes)[np.minimum((q[cells] * len(codes)).astype(int), len(codes) - 1)]
    return fuel, q


def synthetic(key: jax.Array, shape: tuple[int, int], *, cell_size_m: float = 30.0, relief_m: float = 200.0,
              base_elevation_m: float = 500.0, roughness: float = 0.5, patchiness: float = 0.5,
              fuel_fractions: tuple[float, float, float] = (0.3, 0.3, 0.4), roads: int = 2, rivers: int = 2,
              lakes: int = 1, lake_fraction: float = 0.01) -> Landscape:
    """A random, realistic test landscape (see the module docstring for the generator and fuel mapping).

    Deterministic for ``key`` (bit-identical arrays); not jittable.

    Args:
      key: a ``jax.random`` key.
      shape: ``(H, W)``, both >= 2.
      cell_size_m: cell side, metres.
      relief_m: elevation range (max - min), metres.
      base_elevation_m: minimum elevation, metres.
      roughness: in [0, 1]; fractal dimension minus 2 (0 smooth hills, 1 rugged).
      patchiness: weight of the independent noise in the fuel moisture index (0: fuel follows terrain only).
      fuel_fractions: ``(grass, shrub, timber)`` shares of the landscape before features (normalised).
      roads, rivers, lakes: how many of each feature (0 disables).
      lake_fraction: mean area of one lake as a fraction of the grid.

    Returns:
      A validated :class:`~jaxfire.landscape.core.Landscape` of ``shape``.
    """
    h, w = (int(n) for n in shape)
    fractions = _checked(shape, roughness, relief_m, patchiness, lake_fraction, fuel_fractions, roads, rivers, lakes)

    # One fixed-shape JAX draw seeds NumPy (no per-shape compilation); features are drawn last, so changing
    # their counts leaves the terrain, fuel mosaic and canopy jitter unchanged.
    rng = np.random.default_rng(np.asarray(jax.random.bits(key, (4,), np.uint32)))
    white = rng.standard_normal((3, h + h // 2, w + w // 2))
    jitter = 1.0 + 0.15 * rng.uniform(-1.0, 1.0, (4, h, w))
    u = rng.random((lakes + rivers + roads, 5))

    # 1. terrain; 2. fuel mosaic
    z = _fractal(white[0], (h, w), 4.0 - 2.0 * roughness)
    elevation = base_elevation_m + relief_m * (z - z.min()) / (z.max() - z.min())
    slope, aspect = slope_aspect(elevation, cell_size_m)

    fuel, q = _fuel_mosaic(white, z, slope, aspect, fractions, patchiness)

    # 3. non-burnable features
    water = np.zeros((h, w), bool)
    for row in u[:lakes]:
        _lake(elevation, water, row, max(4, round(lake_fraction * h * w * (0.5 + row[1]))))
    for row in u[lakes:lakes + rivers]:
        _river(elevation, water, row)
    fuel[water] = WATER
    for row in u[lakes + rivers:]:
        fuel[tuple(np.array(_road((h, w), row)).T)] = ROAD

    # 4. canopy in timber only
    timber = np.isin(fuel, TIMBER)
    cover, height, base, density = (np.where(timber, (lo + span * q) * j, 0.0) for (lo, span), j in
                                    zip(((0.3, 0.5), (12.0, 18.0), (1.0, 5.0), (0.05, 0.15)), jitter))
    return from_arrays(fuel, slope, aspect, canopy_cover=cover, canopy_height=height, canopy_base_height=base,
                       canopy_bulk_density=density, elevation=elevation, cell_size_m=cell_size_m)
