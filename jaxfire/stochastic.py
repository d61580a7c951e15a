"""Stochastic fire spread: the cellular automaton of Alexandridis et al. (2008).

A. Alexandridis, D. Vakalis, C.I. Siettos, G.V. Bafas, "A cellular automata model for forest fire spread
prediction: the case of the wildfire that swept through Spetses Island in 1990", Applied Mathematics and
Computation 204 (2008) 191-201.

Conventions (as in :mod:`jaxfire.landscape` and :mod:`jaxfire.fire`): arrays ``[row, col]``, row 0 = north, col
increasing east; azimuths in degrees clockwise from north; times in minutes from ignition, ``inf`` = not burned by
the time cap.

Model.  Cells are unburned, burning or burned.  At every CA step each burning cell tries, independently, to ignite
each of its 8 (Moore) neighbours that is unburned and burnable, with probability

    p_burn = clip(p_h (1 + p_veg)(1 + p_den) p_w p_s, 0, 1)

where ``p_veg``, ``p_den`` belong to the neighbour (the cell being ignited), then becomes burned (burned cells never
reignite).  Wind: ``p_w = exp(c1 V) exp(c2 V (cos(theta) - 1))`` with ``V`` the 10-m wind speed in m/s and
``theta`` the angle between the direction the wind blows TOWARD and the direction of propagation.  Slope:
``p_s = exp(a theta_s)`` with ``theta_s = atan(dz / d)`` in degrees, ``d`` the centre distance (cell size, or
sqrt(2) cell sizes for diagonals) and ``dz`` the rise from source to neighbour: the elevation difference when the
landscape has a non-zero elevation layer, otherwise ``tan(slope) * (displacement . upslope unit vector)`` from the
source cell's slope and aspect.  Fuel moisture (``Weather.moisture``) is not used: the model has no moisture term.

Time step.  One CA step lasts ``AlexandridisParams.step_minutes`` (default 3 min).  The fire front advances at most
one cell per step (about one where p_burn is near 1, i.e. downwind), so a step is the time the head fire takes to
cross a cell: the default is a 30 m cell crossed by a ~10 m/min head fire, a moderate shrub/timber wildfire.
Calibrate it as ``step_minutes = cell_size_m * h / R_head``, where ``R_head`` (m/min) is a representative head-fire
rate for the scenario (observed, or the deterministic engine's Rothermel head rate) and ``h`` (cells/step, <= 1)
the CA's own mean head advance, measured from simulated arrival times; or fit it so that simulated fronts match
observed perimeters at known times.

Non-burnable cells (codes 91-99, including fuel breaks made by ``Landscape.with_fuel_breaks``) never ignite, even
when given as the ignition.  Barrier rule (as in the deterministic engine, see :mod:`jaxfire.stencil`): a diagonal
ignition is blocked when both orthogonal cells it passes between are non-burnable, so a 4-connected line of
non-burnable cells (and even a diagonal line touching at corners) stops the fire.  Cells outside the grid do not
burn.

Fuel mapping onto the paper's vegetation types and densities (``p_veg``: agricultural -0.3, thickets 0, pine 0.4;
``p_den``: sparse -0.4, normal 0, dense 0.3):

    ==========================  ==============  ======================  ==========================================
    fuel family                 codes           vegetation type         density
    ==========================  ==============  ======================  ==========================================
    Anderson grass              1-3             agricultural (-0.3)     normal
    Anderson shrub              4-7             thickets (0)            normal
    Anderson timber             8-10            pine (0.4)              from canopy cover
    Anderson slash              11-13           pine (0.4)              from canopy cover
    S&B grass GR                101-109         agricultural (-0.3)     normal
    S&B grass-shrub GS          121-124         thickets (0)            normal
    S&B shrub SH                141-149         thickets (0)            normal
    S&B timber-understory TU    161-165         pine (0.4)              from canopy cover
    S&B timber litter TL        181-189         pine (0.4)              from canopy cover
    S&B slash-blowdown SB       201-204         pine (0.4)              from canopy cover
    ==========================  ==============  ======================  ==========================================

"From canopy cover": sparse below ``cover_thresholds[0]`` (0.4, open forest), dense from ``cover_thresholds[1]``
(0.7), normal between; a timber cell with no canopy-cover data (cover 0) counts as sparse.  The type and density
values are ``AlexandridisParams.veg_values`` / ``den_values``; per-cell ``p_veg`` / ``p_den`` arrays, when given,
replace the mapping entirely.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import stencil
from jaxfire.fire import ignition_mask
from jaxfire.landscape import Landscape
from jaxfire.validation import validated
from jaxfire.weather import Weather

_MOVES = stencil.moves(8)
NEIGHBOURS: tuple[tuple[int, int], ...] = tuple((m.dr, m.dc) for m in _MOVES)
"""``(dr, dc)`` of the 8 neighbours, in the order of the leading axis of :func:`ignition_probabilities`."""

AGRICULTURAL, THICKETS, PINE = 0, 1, 2
_VEG_TYPE = np.full(205, THICKETS, np.int32)  # by fuel code (the table above); non-burnable codes never ignite
_VEG_TYPE[1:4] = _VEG_TYPE[101:110] = AGRICULTURAL  # Anderson grass, GR
_VEG_TYPE[8:14] = _VEG_TYPE[161:205] = PINE  # Anderson timber and slash, TU, TL, SB


@struct.dataclass
class AlexandridisParams:
    """Model parameters; defaults are the paper's calibrated values (a pytree: fields may be traced or batched).

    Attributes:
      p_h: base probability that a burning cell ignites a neighbour with no wind, slope or fuel effect.
      c1: wind coefficient, s/m (overall wind effect).
      c2: wind coefficient, s/m (directional wind effect).
      a: slope coefficient, 1/degree.
      step_minutes: physical duration of one CA step, minutes (see the module docstring for calibration).
      veg_values: ``p_veg`` of (agricultural, thickets, pine).
      den_values: ``p_den`` of (sparse, normal, dense).
      cover_thresholds: canopy-cover fractions (sparse below, dense from) for timber cells.
      p_veg: optional ``float32[H, W]`` per-cell ``p_veg`` replacing the fuel mapping.
      p_den: optional ``float32[H, W]`` per-cell ``p_den`` replacing the canopy-cover mapping.
    """

    p_h: float = 0.58
    c1: float = 0.045
    c2: float = 0.131
    a: float = 0.078
    step_minutes: float = 3.0
    veg_values: tuple = (-0.3, 0.0, 0.4)
    den_values: tuple = (-0.4, 0.0, 0.3)
    cover_thresholds: tuple = (0.4, 0.7)
    p_veg: jnp.ndarray | None = None
    p_den: jnp.ndarray | None = None


def wind_factor(wind_speed_kmh, wind_from_deg, direction_deg, params: AlexandridisParams = AlexandridisParams()):
    """``p_w`` for spread toward azimuth ``direction_deg`` under a 10-m wind (km/h) blowing from ``wind_from_deg``."""
    speed = jnp.asarray(wind_speed_kmh, jnp.float32) / 3.6
    cos_theta = jnp.cos(jnp.deg2rad(jnp.asarray(wind_from_deg, jnp.float32) + 180.0 - direction_deg))
    return jnp.exp(params.c1 * speed) * jnp.exp(params.c2 * speed * (cos_theta - 1.0))


def slope_factor(theta_s_deg, params: AlexandridisParams = AlexandridisParams()):
    """``p_s`` for a slope angle ``theta_s_deg`` (degrees, positive uphill) between source and neighbour."""
    return jnp.exp(params.a * jnp.asarray(theta_s_deg, jnp.float32))


def vegetation_factors(landscape: Landscape, params: AlexandridisParams = AlexandridisParams()):
    """Per-cell ``(p_veg, p_den)``, each ``float32[H, W]``, from the fuel mapping (or the per-cell overrides)."""
    veg_type = jnp.asarray(_VEG_TYPE)[jnp.clip(landscape.fuel_model, 0, 204)]
    if params.p_veg is None:
        p_veg = jnp.asarray(params.veg_values, jnp.float32)[veg_type]
    else:
        p_veg = jnp.broadcast_to(jnp.asarray(params.p_veg, jnp.float32), landscape.shape)
    if params.p_den is None:
        cover = landscape.canopy_cover
        density = (cover >= params.cover_thresholds[0]).astype(jnp.int32) + (cover >= params.cover_thresholds[1])
        p_den = jnp.asarray(params.den_values, jnp.float32)[jnp.where(veg_type == PINE, density, 1)]
    else:
        p_den = jnp.broadcast_to(jnp.asarray(params.p_den, jnp.float32), landscape.shape)
    return p_veg, p_den


def _at(x, dr: int, dc: int, fill):
    """``y[r, c] = x[r + dr, c + dc]`` (``fill`` outside the grid)."""
    h, w = x.shape
    padded = jnp.pad(x, 1, constant_values=fill)
    return padded[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]


@jax.jit
def ignition_probabilities(landscape: Landscape, weather: Weather,
                           params: AlexandridisParams = AlexandridisParams()) -> jnp.ndarray:
    """``float32[8, H, W]``: ``[k, r, c]`` is the probability that a burning cell ``(r, c)`` ignites its neighbour
    ``(r + dr, c + dc)``, ``(dr, dc) = NEIGHBOURS[k]``, in one step (0 where that neighbour is outside the grid,
    non-burnable, or behind a corner barrier)."""
    p_veg, p_den = vegetation_factors(landscape, params)
    fuel_factor = params.p_h * (1.0 + p_veg) * (1.0 + p_den)
    burnable = landscape.burnable
    elevation = landscape.elevation_m
    use_elevation = jnp.any(elevation != 0)
    tan_slope = jnp.tan(jnp.deg2rad(landscape.slope_deg))
    upslope = jnp.deg2rad(landscape.aspect_deg + 180.0)
    size = landscape.cell_size_m
    out = []
    for move in _MOVES:
        dr, dc = move.dr, move.dc
        distance = size * math.hypot(dr, dc)
        rise_estimate = tan_slope * size * (dc * jnp.sin(upslope) - dr * jnp.cos(upslope))  # east = dc, north = -dr
        rise = jnp.where(use_elevation, _at(elevation, dr, dc, 0.0) - elevation, rise_estimate)
        theta_s = jnp.rad2deg(jnp.arctan(rise / distance))
        direction = math.degrees(math.atan2(dc, -dr))
        p = (_at(fuel_factor, dr, dc, 0.0) * wind_factor(weather.wind_speed_kmh, weather.wind_from_deg, direction,
                                                         params) * slope_factor(theta_s, params))
        open_ = _at(burnable, dr, dc, False)
        for (r0, c0), (r1, c1) in move.corners:
            open_ &= _at(burnable, r0, c0, False) | _at(burnable, r1, c1, False)
        out.append(jnp.where(open_, jnp.clip(p, 0.0, 1.0), 0.0))
    return jnp.stack(out).astype(jnp.float32)


@validated
def arrival_times(key, landscape: Landscape, weather: Weather, ignition, max_minutes,
                  params: AlexandridisParams = AlexandridisParams()) -> jnp.ndarray:
    """Simulate one fire; ``float32[H, W]`` arrival times in minutes (step index * ``step_minutes``).

    Args:
      key: PRNG key (the whole fire is a deterministic function of it).
      landscape, weather: the fire's landscape and (uniform) weather.
      ignition: ``(row, col)`` or ``bool[H, W]`` mask of cells burning at time 0 (non-burnable ones are dropped).
      max_minutes: time cap; cells not reached by then are ``inf``.
      params: model parameters.
    """
    return _arrival_times(key, landscape, weather, jnp.asarray(ignition), jnp.asarray(max_minutes, jnp.float32),
                          params)


@validated
def burn_probability(key, landscape: Landscape, weather: Weather, ignitions, max_minutes,
                     params: AlexandridisParams = AlexandridisParams()) -> jnp.ndarray:
    """``float32[H, W]``: fraction of the ``N`` fires (``ignitions`` ``int[N, 2]``, or ``bool[N, H, W]`` masks) that
    burned each cell by ``max_minutes``; fire ``i`` uses ``jax.random.split(key, N)[i]``."""
    return _burn_probability(key, landscape, weather, jnp.asarray(ignitions), jnp.asarray(max_minutes, jnp.float32),
                             params)


@jax.jit
def _arrival_times(key, landscape, weather, ignition, max_minutes, params):
    probs = ignition_probabilities(landscape, weather, params)
    start = ignition_mask(ignition, landscape.shape) & landscape.burnable
    last_step = jnp.floor(max_minutes / params.step_minutes + 1e-6)

    def cond(state):
        step, _, burning, _ = state
        return jnp.any(burning) & (step < last_step)

    def body(state):
        step, key, burning, arrival = state
        key, sub = jax.random.split(key)
        spreads = burning[None] & (jax.random.uniform(sub, probs.shape) < probs)
        ignited = jnp.zeros_like(burning)
        for k, (dr, dc) in enumerate(NEIGHBOURS):
            ignited |= _at(spreads[k], -dr, -dc, False)
        new = ignited & jnp.isinf(arrival)
        return step + 1, key, new, jnp.where(new, (step + 1) * params.step_minutes, arrival)

    arrival = jnp.where(start, 0.0, jnp.inf).astype(jnp.float32)
    return jax.lax.while_loop(cond, body, (jnp.int32(0), key, start, arrival))[3]


@jax.jit
def _burn_probability(key, landscape, weather, ignitions, max_minutes, params):
    keys = jax.random.split(key, ignitions.shape[0])
    times = jax.vmap(_arrival_times, (0, None, None, 0, None, None))(keys, landscape, weather, ignitions,
                                                                    max_minutes, params)
    return jnp.mean(jnp.isfinite(times), axis=0)
