"""Step times: what a fire needs to know of a landscape under one weather, as a grid of per-move minutes.

Conventions: arrays ``[row, col]``, row 0 = NORTH edge, col increases east; cells ``landscape.cell_size_m`` metres;
times in minutes; a move ``(dr, dc)`` goes ``dr`` rows south and ``dc`` columns east (:mod:`jaxfire.stencil`).

Model.  Each burnable cell spreads fire as an ellipse whose rear focus is the ignition point: on the slope
plane the ray rate at angle ``psi`` from the heading is ``r(psi) = R_head (1 - e) / (1 - e cos psi)``
(:mod:`jaxfire.rothermel` gives ``R_head``, ``e`` and the heading).  A straight map step of length ``l`` in
direction ``theta`` covers ``l * stretch(theta)`` metres of ground on a slope, so a cell's *slowness*
(minutes per map metre) in that direction is ``stretch(theta) / r(psi(theta))``.  The travel time of a stencil
step is the sum over the cells the step passes through of (length inside that cell x that cell's slowness), so a
fast cell cannot jump a strip of slow or non-burnable fuel.  A diagonal step is blocked when both cells at the
corner it passes are non-burnable; a step crossing a non-burnable cell is blocked.  Steps out of an ignited cell
(``first_step_minutes``) are charged only for the part outside it: the ignited cell burns whole from t = 0.

Everything fixed during a fire is computed once here (:func:`spread_grid`); treating cells afterwards only cuts
steps (:func:`treat_grid`), so planners never repeat the Rothermel computation per candidate plan.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import rothermel, stencil
from jaxfire.landscape import Landscape
from jaxfire.validation import validated
from jaxfire.weather import Weather

INF = jnp.inf


@struct.dataclass
class SpreadGrid:
    """Step times of every stencil move into every cell, for one landscape under one weather.

    Attributes:
      step_minutes: ``float32[M, H, W]`` minutes for move ``m`` from cell ``(i - dr, j - dc)`` into ``(i, j)``;
        ``inf`` when blocked (off-grid, non-burnable cell crossed, or both corner cells non-burnable).
      first_step_minutes: ``float32[M, H, W]`` the same when the source cell is an ignited (burning) cell: the
        part of the step inside the source cell is free.
      burnable: ``bool[H, W]`` cells whose fuel burns.
      moves: the stencil (static).
    """

    step_minutes: jnp.ndarray
    first_step_minutes: jnp.ndarray
    burnable: jnp.ndarray
    moves: tuple = struct.field(pytree_node=False)


def slowness(behaviour: rothermel.SurfaceFire, slope_deg, aspect_deg, directions_deg) -> jnp.ndarray:
    """Minutes per map metre to cross each cell in each map direction.

    Args:
      behaviour: per-cell surface fire behaviour (fields ``[H, W]``).
      slope_deg, aspect_deg: ``[H, W]`` slope (degrees) and downslope azimuth (degrees clockwise from north).
      directions_deg: ``[M]`` map azimuths (degrees clockwise from north).

    Returns:
      ``float32[M, H, W]``; ``inf`` where the cell does not burn.
    """
    upslope = jnp.deg2rad(aspect_deg + 180.0)
    up = jnp.stack([jnp.sin(upslope), jnp.cos(upslope)])           # (east, north) unit vector upslope
    across = jnp.stack([jnp.cos(upslope), -jnp.sin(upslope)])      # horizontal, perpendicular to it
    cos_slope = jnp.cos(jnp.deg2rad(slope_deg))

    def on_slope(azimuth_rad):
        """Slope-plane components (along upslope, across) of a horizontal unit vector at ``azimuth_rad``."""
        d = jnp.stack([jnp.sin(azimuth_rad), jnp.cos(azimuth_rad)])
        return (d * up).sum(0) / cos_slope, (d * across).sum(0)

    head_u, head_c = on_slope(jnp.deg2rad(behaviour.heading_deg))
    head_norm = jnp.sqrt(head_u ** 2 + head_c ** 2)
    e = behaviour.eccentricity
    burns = behaviour.R_head_m_min > 0

    def one_direction(azimuth_deg):
        step_u, step_c = on_slope(jnp.full_like(slope_deg, jnp.deg2rad(azimuth_deg)))
        ground = jnp.sqrt(step_u ** 2 + step_c ** 2)               # ground metres per map metre
        cos_psi = (step_u * head_u + step_c * head_c) / (ground * head_norm)
        rate = behaviour.R_head_m_min * (1 - e) / (1 - e * cos_psi)
        return jnp.where(burns, ground / jnp.where(burns, rate, 1.0), INF)

    return jax.vmap(one_direction)(jnp.asarray(directions_deg, jnp.float32))


def shift(x, dr: int, dc: int, fill):
    """``out[i, j] = x[i - dr, j - dc]`` over the last two axes, ``fill`` off the grid."""
    H, W = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(max(dr, 0), max(-dr, 0)), (max(dc, 0), max(-dc, 0))]
    padded = jnp.pad(x, pad, constant_values=fill)
    r0, c0 = max(-dr, 0), max(-dc, 0)
    return padded[..., r0:r0 + H, c0:c0 + W]


def step_times(behaviour: rothermel.SurfaceFire, landscape: Landscape, neighbours: int = 16) -> SpreadGrid:
    """Step times of a ``neighbours``-stencil (8, 16 or 32) from per-cell fire behaviour (fields ``[H, W]``)."""
    moves = stencil.moves(neighbours)
    azimuths = np.degrees(np.arctan2([m.dc for m in moves], [-m.dr for m in moves]))
    slow = slowness(behaviour, landscape.slope_deg, landscape.aspect_deg, azimuths)
    barrier = ~landscape.burnable
    full, first = [], []
    for m, s in zip(moves, slow):
        # Value at the destination (i, j) of the crossed cell at offset (r, c) from the source (i - dr, j - dc).
        parts = [frac * shift(s, m.dr - r, m.dc - c, INF) for r, c, frac in m.crossed]
        blocked = jnp.zeros_like(barrier)
        for (r1, c1), (r2, c2) in m.corners:
            blocked |= shift(barrier, m.dr - r1, m.dc - c1, False) & shift(barrier, m.dr - r2, m.dc - c2, False)
        scale = landscape.cell_size_m * m.length
        full.append(jnp.where(blocked, INF, scale * sum(parts)))
        first.append(jnp.where(blocked, INF, scale * sum(parts[1:])))
    return SpreadGrid(jnp.stack(full), jnp.stack(first), landscape.burnable, moves)


@validated
@functools.partial(jax.jit, static_argnames="neighbours")
def spread_grid(landscape: Landscape, weather: Weather, neighbours: int = 16) -> SpreadGrid:
    """Rothermel behaviour of every cell under ``weather``, turned into stencil step times."""
    return step_times(rothermel.landscape_fire(landscape, weather), landscape, neighbours)


@jax.jit
def treat_grid(grid: SpreadGrid, burnable, treated) -> SpreadGrid:
    """The step times after treating the cells ``treated`` (``bool[H, W]``) of a landscape whose fuel mask is
    ``burnable``: equal to ``spread_grid(landscape.with_fuel_breaks(treated), ...)`` computed from
    ``grid = spread_grid(landscape, ...)`` by blocking every step that crosses a treated cell or passes
    between two non-burnable corner cells (the rules of :func:`step_times`)."""
    barrier = ~burnable | treated
    step, first = [], []
    for m, full, from_fire in zip(grid.moves, grid.step_minutes, grid.first_step_minutes):
        crossed = [shift(treated, m.dr - r, m.dc - c, False) for r, c, _ in m.crossed]  # [0] is the source
        cut = functools.reduce(jnp.logical_or, crossed[1:] + [
            shift(barrier, m.dr - r1, m.dc - c1, False) & shift(barrier, m.dr - r2, m.dc - c2, False)
            for (r1, c1), (r2, c2) in m.corners])
        step.append(jnp.where(cut | crossed[0], INF, full))
        first.append(jnp.where(cut, INF, from_fire))  # the first step is not charged for its source cell
    return grid.replace(step_minutes=jnp.stack(step), first_step_minutes=jnp.stack(first),
                        burnable=burnable & ~treated)
