"""Step times: what a fire needs to know of a landscape under one weather, as a grid of per-move minutes.

Conventions: arrays ``[row, col]``, row 0 = NORTH edge, col increases east; cells ``landscape.cell_size_m`` metres;
times in minutes; a move ``(dr, dc)`` goes ``dr`` rows south and ``dc`` columns east (:mod:`jaxfire.stencil`).

Model.  Each burnable cell spreads fire as an ellipse whose rear focus is the ignition point: on the slope
plane the ray rate at angle ``psi`` from the heading is ``r(psi) = R_head (1 - e) / (1 - e cos psi)``
(:mod:`jaxfire.rothermel` gives ``R_head``, ``e`` and the heading).  A straight map step of length ``l`` in
direction ``theta`` covers ``l * stretch(theta)`` metres of ground on a slope, so a cell's *slowness*
(minutes per map metre) in that direction is ``stretch(theta) / r(psi(theta))``.  The travel time of a stencil
step is the sum over the cells the step passes through of (length inside that cell x that cell's slowness), so a
fast cell cannot jump a strip of slow or non-burnable fuel.  A step crossing a non-burnable cell is blocked.

Corners.  A step that passes exactly through a grid corner (every diagonal step; the (1, 3) steps of the 32
stencil) is also charged to the faster of the two cells touching that corner: that cell takes ``CORNER_SHARE``
(1/3) of the length of the two crossed cells meeting there, which keep the rest.  The level set of pyretechnics
updates each cell from its four edge neighbours only, so its front cannot pass from one cell to a diagonal
neighbour without crossing one of the two corner cells; charging the step to its two end cells alone let a fire
run along a corner-touching chain of fast cells (or leak through the corner between two slow cells) 2-5 times
faster than pyretechnics, which over-burned fuel mosaics (``tests/test_fire_corners.py``, fixture
``tests/data/pyretechnics_corners.json``).  1/3 is fitted to pyretechnics' diagonal-chain runs (0.26-0.31) and
its mosaic burned areas.  In uniform fuel the step time is unchanged; both corner cells non-burnable make the
step infinite, i.e. a diagonal line of non-burnable cells blocks the fire, as in pyretechnics.  Steps out of an
ignited cell (``first_step_minutes``) are charged only for the part outside it: the ignited cell burns whole
from t = 0.

Crown fire (:mod:`jaxfire.crown`, on by default, ``crown_fire=False`` to switch it off): where the canopy lets a
front crown, a cell's ray rate is its crown ellipse's in the narrow cone of directions whose front crowns
(:func:`ray_rates`), so a crown run is a fast needle downwind that widens at surface rates, as in pyretechnics.
Elsewhere, and everywhere without canopy, the step times are the surface fire's bit for bit.

Everything fixed during a fire is computed once here (:func:`spread_grid`); treating cells afterwards only cuts
steps (:func:`treat_grid`), so planners never repeat the Rothermel computation per candidate plan.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import crown, rothermel, stencil
from jaxfire.landscape import Landscape
from jaxfire.validation import validated
from jaxfire.weather import Weather

INF = jnp.inf
CORNER_SHARE = 1.0 / 3.0  # length share of a corner cell, see the module doc


@struct.dataclass
class SpreadGrid:
    """Step times of every stencil move into every cell, for one landscape under one weather.

    Attributes:
      step_minutes: ``float32[M, H, W]`` minutes for move ``m`` from cell ``(i - dr, j - dc)`` into ``(i, j)``;
        ``inf`` when blocked (off-grid, non-burnable cell crossed, or both corner cells non-burnable).
      first_step_minutes: ``float32[M, H, W]`` the same when the source cell is an ignited (burning) cell: the
        part of the step inside the source cell is free.
      burnable: ``bool[H, W]`` cells whose fuel burns.
      corner_minutes: ``float32[K, 2, 2, H, W]`` for the ``K`` moves that pass through a grid corner (in stencil
        order), the step time charged via each of the corner's two cells (axis 1) as ``(full, first step)``
        (axis 2); ``step_minutes`` / ``first_step_minutes`` of such a move are their minimum over axis 1.  Kept so
        that :func:`treat_grid` can re-route a step whose faster corner cell is treated.
      moves: the stencil (static).
    """

    step_minutes: jnp.ndarray
    first_step_minutes: jnp.ndarray
    burnable: jnp.ndarray
    corner_minutes: jnp.ndarray
    moves: tuple = struct.field(pytree_node=False)


def slope_frame(slope_deg, aspect_deg):
    """Orthonormal frame of each cell's slope plane: ``(on_slope, heading_unit)``.

    ``on_slope(azimuth_rad)`` gives the slope-plane components (along upslope, across) of a horizontal unit vector
    (their norm is the ground metres per map metre; angles between them are true angles on the slope);
    ``heading_unit(azimuth_deg)`` the same normalized to a unit vector.
    """
    upslope = jnp.deg2rad(aspect_deg + 180.0)
    up = jnp.stack([jnp.sin(upslope), jnp.cos(upslope)])           # (east, north) unit vector upslope
    across = jnp.stack([jnp.cos(upslope), -jnp.sin(upslope)])      # horizontal, perpendicular to it
    cos_slope = jnp.cos(jnp.deg2rad(slope_deg))

    def on_slope(azimuth_rad):
        d = jnp.stack([jnp.sin(azimuth_rad), jnp.cos(azimuth_rad)])
        return (d * up).sum(0) / cos_slope, (d * across).sum(0)

    def heading_unit(azimuth_deg):
        u, c = on_slope(jnp.deg2rad(azimuth_deg))
        norm = jnp.sqrt(u ** 2 + c ** 2)
        return u / norm, c / norm

    return on_slope, heading_unit


def slowness(behaviour: rothermel.SurfaceFire, slope_deg, aspect_deg, directions_deg,
             crown_fire: crown.CrownFire | None = None) -> jnp.ndarray:
    """Minutes per map metre to cross each cell in each map direction.

    Args:
      behaviour: per-cell surface fire behaviour (fields ``[H, W]``).
      slope_deg, aspect_deg: ``[H, W]`` slope (degrees) and downslope azimuth (degrees clockwise from north).
      directions_deg: ``[M]`` map azimuths (degrees clockwise from north).
      crown_fire: per-cell crown fire behaviour (``[H, W]``) or ``None`` (surface fire only): see
        :func:`ray_rates` for where it replaces the surface rate.

    Returns:
      ``float32[M, H, W]``; ``inf`` where the cell does not burn.
    """
    ground, rate = ray_rates(behaviour, slope_deg, aspect_deg, directions_deg, crown_fire)
    burns = behaviour.R_head_m_min > 0
    return jnp.where(burns, ground / jnp.where(burns, rate, 1.0), INF)


def ray_rates(behaviour: rothermel.SurfaceFire, slope_deg, aspect_deg, directions_deg,
              crown_fire: crown.CrownFire | None = None):
    """Spread rate of each cell along each map direction (ray): the surface ellipse combined with the crown's.

    pyretechnics' level set moves a front with normal ``n`` at the surface normal rate ``S(n)``, or at
    ``max(S(n), C(n))`` (``C`` the crown ellipse's normal rate) where ``S(n)`` exceeds the crowning rate
    ``R_crowning``.  This automaton spreads along rays instead; a wavelet's point on the ray at ``theta`` moves
    with the front normal there.  So the crown ellipse's point on that ray belongs to the fire's wavelet only where
    the front through it, whose normal is the crown ellipse's normal ``n_C(theta)`` at that point, crowns:
    ``S(n_C(theta)) > R_crowning``; the ray rate is then the crown ray's where that holds and it is the longer,
    else the surface ray's.  Away from its head a narrow crown ellipse's normal turns sideways much faster than
    the ray, so only a narrow cone of rays around the crown head crowns: an active crown fire runs downwind as a
    needle and widens at surface rates, as in pyretechnics (whose flanks stay below ``R_crowning``).  A cone
    narrower than the stencil's angular spacing may hold none of its directions; so that crowning does not vanish
    with the wind direction, the direction nearest the crown head also crowns wherever the crown head itself does.

    Args:
      behaviour: surface fire behaviour (``[H, W]``); crown_fire: crown fire behaviour (``[H, W]``) or ``None``.
      slope_deg, aspect_deg: ``[H, W]``; directions_deg: ``[M]`` map azimuths.

    Returns:
      ``(ground, rate)``, each ``[M, H, W]``: ground metres per map metre and the ray rate on the slope plane
      (m/min; the surface value bit for bit wherever the crown is not used).
    """
    on_slope, heading_unit = slope_frame(slope_deg, aspect_deg)
    head_u, head_c = on_slope(jnp.deg2rad(behaviour.heading_deg))
    head_norm = jnp.sqrt(head_u ** 2 + head_c ** 2)
    e = behaviour.eccentricity
    directions = jnp.asarray(directions_deg, jnp.float32)
    step_u, step_c = jax.vmap(lambda a: on_slope(jnp.full_like(slope_deg, jnp.deg2rad(a))))(directions)
    ground = jnp.sqrt(step_u ** 2 + step_c ** 2)                   # ground metres per map metre
    cos_psi = (step_u * head_u + step_c * head_c) / (ground * head_norm)
    rate = behaviour.R_head_m_min * (1 - e) / (1 - e * cos_psi)    # [M, H, W]
    if crown_fire is not None:
        rate = _crown_ray_rate(behaviour, crown_fire, heading_unit(behaviour.heading_deg),
                               heading_unit(crown_fire.heading_deg), (step_u / ground, step_c / ground), rate)
    return ground, rate


def angle_from(head, u, c):
    """``(cos, sin)`` of the angle from the unit vector ``head`` (a ``(u, c)`` pair) to the unit vector ``(u, c)``."""
    return head[0] * u + head[1] * c, head[0] * c - head[1] * u


def _crown_ray_rate(surface, crown_fire, surface_head, crown_head, rays, rate):
    """Combined ray rates, m/min ``[M, H, W]`` (see :func:`ray_rates`): ``rate`` (the surface ray rates) where the
    crown is not used.  ``surface_head``, ``crown_head``: unit ``(u, c)`` slope-plane vectors ``[H, W]``; ``rays``:
    those of the ``M`` directions, ``[M, H, W]``."""
    e_crown = crown_fire.eccentricity
    cos_ray, sin_ray = angle_from(crown_head, *rays)
    crown_rate = crown_fire.R_crown_m_min * (1 - e_crown) / (1 - e_crown * cos_ray)
    cos_normal, sin_normal = crown.ellipse_ray_normal(e_crown, cos_ray, sin_ray)   # from the crown head
    normal = (crown_head[0] * cos_normal - crown_head[1] * sin_normal,
              crown_head[1] * cos_normal + crown_head[0] * sin_normal)
    crowns = crown.front_crowns(surface, crown_fire, angle_from(surface_head, *normal)[0])
    # The direction nearest the crown head crowns wherever the head does (a cone narrower than the stencil).
    head_crowns = crown.front_crowns(surface, crown_fire, angle_from(surface_head, *crown_head)[0])
    crowns |= head_crowns & (cos_ray >= cos_ray.max(0))
    return jnp.where(crowns & (crown_rate > rate), crown_rate, rate)


def shift(x, dr: int, dc: int, fill):
    """``out[i, j] = x[i - dr, j - dc]`` over the last two axes, ``fill`` off the grid."""
    H, W = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(max(dr, 0), max(-dr, 0)), (max(dc, 0), max(-dc, 0))]
    padded = jnp.pad(x, pad, constant_values=fill)
    r0, c0 = max(-dr, 0), max(-dc, 0)
    return padded[..., r0:r0 + H, c0:c0 + W]


def step_times(behaviour: rothermel.SurfaceFire, landscape: Landscape, neighbours: int = 16,
               crown_fire: crown.CrownFire | None = None) -> SpreadGrid:
    """Step times of a ``neighbours``-stencil (8, 16 or 32) from per-cell surface behaviour (``[H, W]``) and,
    unless ``None``, crown fire behaviour ``crown_fire`` (``[H, W]``, see :func:`ray_rates`)."""
    moves = stencil.moves(neighbours)
    slow = slowness(behaviour, landscape.slope_deg, landscape.aspect_deg, move_azimuths(moves), crown_fire)
    full, first, corner = [], [], []
    for m, s in zip(moves, slow):
        # Value at the destination (i, j) of the crossed cell at offset (r, c) from the source (i - dr, j - dc).
        at = lambda r, c: shift(s, m.dr - r, m.dc - c, INF)  # noqa: E731
        scale = landscape.cell_size_m * m.length
        if not m.corners:
            parts = [frac * at(r, c) for r, c, frac in m.crossed]
            full.append(scale * sum(parts))
            first.append(scale * sum(parts[1:]))
            continue
        fracs, corner_frac, corner_first = corner_geometry(m)
        parts = [frac * at(r, c) for (r, c, _), frac in zip(m.crossed, fracs)]
        via = []
        for cell in m.corners[0]:   # via either cell touching the corner (non-burnable: inf)
            via.append((scale * (sum(parts) + corner_frac * at(*cell)),
                        scale * (sum(parts[1:]) + corner_first * at(*cell))))
        corner.append(jnp.stack([jnp.stack(v) for v in via]))
        full.append(jnp.minimum(via[0][0], via[1][0]))
        first.append(jnp.minimum(via[0][1], via[1][1]))
    corner = jnp.stack(corner) if corner else jnp.zeros((0, 2, 2) + full[0].shape, full[0].dtype)
    return SpreadGrid(jnp.stack(full), jnp.stack(first), landscape.burnable, corner, moves)


def corner_geometry(move) -> tuple[list, float, float]:
    """``(fractions, corner_fraction, first_corner_fraction)`` of a move through one grid corner (see the module
    doc): the length fractions of its crossed cells once the corner cell has taken its share (the two crossed cells
    meeting at the corner keep ``1 - CORNER_SHARE`` of theirs), the corner cell's fraction, and the latter for a
    step out of an ignited cell (the share taken from the source, which burns whole, is not charged: in uniform
    fuel every step time, first steps included, is the same as without the corner rule)."""
    if len(move.corners) != 1:
        raise ValueError(f"move {move.dr, move.dc} passes through {len(move.corners)} corners; one is supported")
    (a, b) = move.corners[0]
    rows, cols = {a[0], b[0]}, {a[1], b[1]}
    meet = [k for k, (r, c, _) in enumerate(move.crossed) if r in rows and c in cols]
    assert len(meet) == 2, move
    fractions = [frac * (1 - CORNER_SHARE) if k in meet else frac for k, (_, _, frac) in enumerate(move.crossed)]
    return (fractions, CORNER_SHARE * sum(move.crossed[k][2] for k in meet),
            CORNER_SHARE * sum(move.crossed[k][2] for k in meet if k > 0))


def move_azimuths(moves) -> np.ndarray:
    """Map azimuths (degrees clockwise from north) of stencil moves, ``float64[M]``."""
    return np.degrees(np.arctan2([m.dc for m in moves], [-m.dr for m in moves]))


def fire_behaviour(landscape: Landscape, weather: Weather, crown_fire: bool = True):
    """Surface and (when ``crown_fire``, else ``None``) crown fire behaviour of every cell."""
    surface = rothermel.landscape_fire(landscape, weather)
    return surface, (crown.landscape_crown_fire(landscape, weather, surface) if crown_fire else None)


@validated
@functools.partial(jax.jit, static_argnames=("neighbours", "crown_fire"))
def spread_grid(landscape: Landscape, weather: Weather, neighbours: int = 16, crown_fire: bool = True) -> SpreadGrid:
    """Rothermel surface (and, when ``crown_fire``, crown) behaviour of every cell under ``weather``, turned into
    stencil step times.  Without canopy (or with ``crown_fire=False``) the times are the surface fire's exactly."""
    surface, crown_behaviour = fire_behaviour(landscape, weather, crown_fire)
    return step_times(surface, landscape, neighbours, crown_behaviour)


@jax.jit
def treat_grid(grid: SpreadGrid, burnable, treated) -> SpreadGrid:
    """The step times after treating the cells ``treated`` (``bool[H, W]``) of a landscape whose fuel mask is
    ``burnable``: equal to ``spread_grid(landscape.with_fuel_breaks(treated), ...)`` computed from
    ``grid = spread_grid(landscape, ...)`` by blocking every step that crosses a treated cell and re-routing a step
    through a grid corner via the other corner cell where one is treated (blocked where both are treated or
    non-burnable: the rules of :func:`step_times`)."""
    step, first, corner, k = [], [], [], 0
    for m, full, from_fire in zip(grid.moves, grid.step_minutes, grid.first_step_minutes):
        crossed = [shift(treated, m.dr - r, m.dc - c, False) for r, c, _ in m.crossed]  # [0] is the source
        cut = functools.reduce(jnp.logical_or, crossed[1:])
        if m.corners:  # re-route through the other corner cell where one is treated (both: blocked)
            via = grid.corner_minutes[k]
            k += 1
            open_ = [~shift(treated, m.dr - r, m.dc - c, False) for r, c in m.corners[0]]
            via = jnp.stack([jnp.where(open_[0], via[0], INF), jnp.where(open_[1], via[1], INF)])
            corner.append(via)
            full, from_fire = jnp.minimum(via[0, 0], via[1, 0]), jnp.minimum(via[0, 1], via[1, 1])
        step.append(jnp.where(cut | crossed[0], INF, full))
        first.append(jnp.where(cut, INF, from_fire))  # the first step is not charged for its source cell
    return grid.replace(step_minutes=jnp.stack(step), first_step_minutes=jnp.stack(first),
                        corner_minutes=jnp.stack(corner) if corner else grid.corner_minutes,
                        burnable=burnable & ~treated)
