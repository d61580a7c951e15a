"""Deterministic fire spread: a minimum-travel-time cellular automaton on Rothermel spread rates.

Conventions: arrays ``[row, col]``, row 0 = NORTH edge, col increases east; cells ``landscape.cell_size_m`` metres;
times in minutes from ignition; ``inf`` where the fire has not arrived by ``max_minutes``.

Model.  Each burnable cell spreads fire as an ellipse whose rear focus is the ignition point: on the slope
plane the ray rate at angle ``psi`` from the heading is ``r(psi) = R_head (1 - e) / (1 - e cos psi)``
(:mod:`jaxfire.rothermel` gives ``R_head``, ``e`` and the heading).  A straight map step of length ``l`` in
direction ``theta`` covers ``l * stretch(theta)`` metres of ground on a slope, so a cell's *slowness*
(minutes per map metre) in that direction is ``stretch(theta) / r(psi(theta))``.  The travel time of a stencil
step (:mod:`jaxfire.stencil`) is the sum over the cells the step passes through of (length inside that cell x
that cell's slowness), so a fast cell cannot jump a strip of slow or non-burnable fuel.  Arrival times solve
``T[c] = min(T[c], T[n] + tau(n -> c))`` from ``T = 0`` on the ignited cells, which burn as whole cells from
t = 0: steps out of an ignited cell are charged only for the part outside it (a half-cell head start).  An
ignition is a point source: on a non-burnable cell (a road, a fuel break) it ignites the neighbouring fuel but
that cell itself never counts as burned, so treating an ignition point does not make its fire vanish.

Solver.  Everything fixed during a fire (the per-move step times) is computed once by :func:`spread_grid`;
:func:`solve` then runs Jacobi sweeps (every cell relaxed from every stencil neighbour, one fused whole-grid
pass) inside a ``lax.while_loop`` until a sweep changes nothing: the exact fixed point, equal to Dijkstra's
answer on the same graph.  Times past ``max_minutes`` are dropped to ``inf`` as they appear, so no sweep is spent
refining fire beyond the cap, and the loop ends as soon as the capped fire has settled.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import lax

from jaxfire import rothermel, stencil
from jaxfire.landscape import Landscape
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


def ignition_mask(ignition, shape: tuple[int, int]) -> jnp.ndarray:
    """``bool[H, W]`` from a ``(row, col)`` pair (``int[2]``) or a boolean ``[H, W]`` mask."""
    ignition = jnp.asarray(ignition)
    if ignition.shape == tuple(shape):
        return ignition.astype(bool)
    if ignition.shape != (2,):
        raise ValueError(f"ignition must be a (row, col) pair or a bool{list(shape)} mask, got shape {ignition.shape}")
    rows = jnp.arange(shape[0])[:, None]
    cols = jnp.arange(shape[1])[None, :]
    return (rows == ignition[0]) & (cols == ignition[1])


def slowness(fire: rothermel.SurfaceFire, slope_deg, aspect_deg, directions_deg) -> jnp.ndarray:
    """Minutes per map metre to cross each cell in each map direction.

    Args:
      fire: per-cell surface fire behaviour (fields ``[H, W]``).
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

    head_u, head_c = on_slope(jnp.deg2rad(fire.heading_deg))
    head_norm = jnp.sqrt(head_u ** 2 + head_c ** 2)
    e = fire.eccentricity
    burns = fire.R_head_m_min > 0

    def one_direction(azimuth_deg):
        step_u, step_c = on_slope(jnp.full_like(slope_deg, jnp.deg2rad(azimuth_deg)))
        ground = jnp.sqrt(step_u ** 2 + step_c ** 2)               # ground metres per map metre
        cos_psi = (step_u * head_u + step_c * head_c) / (ground * head_norm)
        rate = fire.R_head_m_min * (1 - e) / (1 - e * cos_psi)
        return jnp.where(burns, ground / jnp.where(burns, rate, 1.0), INF)

    return jax.vmap(one_direction)(jnp.asarray(directions_deg, jnp.float32))


def _shift(x, dr: int, dc: int, fill):
    """``out[i, j] = x[i - dr, j - dc]`` over the last two axes, ``fill`` off the grid."""
    H, W = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(max(dr, 0), max(-dr, 0)), (max(dc, 0), max(-dc, 0))]
    padded = jnp.pad(x, pad, constant_values=fill)
    r0, c0 = max(-dr, 0), max(-dc, 0)
    return padded[..., r0:r0 + H, c0:c0 + W]


def step_times(fire: rothermel.SurfaceFire, landscape: Landscape, neighbours: int = 16) -> SpreadGrid:
    """Step times of a ``neighbours``-stencil (8, 16 or 32) from per-cell fire behaviour ``fire`` (``[H, W]``)."""
    moves = stencil.moves(neighbours)
    azimuths = np.degrees(np.arctan2([m.dc for m in moves], [-m.dr for m in moves]))
    slow = slowness(fire, landscape.slope_deg, landscape.aspect_deg, azimuths)
    barrier = ~landscape.burnable
    full, first = [], []
    for m, s in zip(moves, slow):
        # Value at the destination (i, j) of the crossed cell at offset (r, c) from the source (i - dr, j - dc).
        parts = [frac * _shift(s, m.dr - r, m.dc - c, INF) for r, c, frac in m.crossed]
        blocked = jnp.zeros_like(barrier)
        for (r1, c1), (r2, c2) in m.corners:
            blocked |= _shift(barrier, m.dr - r1, m.dc - c1, False) & _shift(barrier, m.dr - r2, m.dc - c2, False)
        scale = landscape.cell_size_m * m.length
        full.append(jnp.where(blocked, INF, scale * sum(parts)))
        first.append(jnp.where(blocked, INF, scale * sum(parts[1:])))
    return SpreadGrid(jnp.stack(full), jnp.stack(first), landscape.burnable, moves)


@functools.partial(jax.jit, static_argnames="neighbours")
def spread_grid(landscape: Landscape, weather: Weather, neighbours: int = 16) -> SpreadGrid:
    """Rothermel behaviour of every cell under ``weather``, turned into stencil step times."""
    return step_times(rothermel.landscape_fire(landscape, weather), landscape, neighbours)


def _relax(times, sources, step_minutes, moves):
    """One Jacobi sweep: ``min(times, sources[c - m] + step_minutes[m, c])`` over every move ``m``.

    ``times``, ``sources``: ``[..., H, W]``; ``step_minutes``: ``[M, ..., H, W]`` broadcastable against them.
    """
    H, W = times.shape[-2:]
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    padded = jnp.pad(sources, [(0, 0)] * (sources.ndim - 2) + [(pad, pad), (pad, pad)], constant_values=INF)
    best = times
    for m, cost in zip(moves, step_minutes):
        best = jnp.minimum(best, padded[..., pad - m.dr:pad - m.dr + H, pad - m.dc:pad - m.dc + W] + cost)
    return best


@functools.lru_cache(maxsize=None)
def _grouped_solver(moves: tuple, max_sweeps: int | None, slots: int | None):
    """Solver for ``G`` step-time grids with a queue of ``N`` fires each.

    ``solver(step, first, burning, cap)``: ``step``, ``first`` ``float32[G, M, H, W]``, ``burning``
    ``bool[G, N, H, W]``, ``cap`` ``float32[G, N]`` -> arrival times ``float32[G, N, H, W]``.

    Work skips settled fires: each grid keeps ``S = min(N, slots)`` fires in flight; every iteration sweeps all
    slots at once (one fused pass), and a slot whose sweep changed nothing holds a finished fire: its times are
    written out and the slot takes the next fire of the queue.  Fires need from a few to ~``H + W`` sweeps, so
    this costs the mean rather than the maximum.  A ``custom_vmap`` rule folds any further ``vmap`` axis into
    ``G`` (when the step times are batched) or ``N`` (when they are shared), so vmapped callers share one loop.
    """

    @jax.custom_batching.custom_vmap
    def solver(step, first, burning, cap):
        G, N, H, W = burning.shape
        S = N if slots is None else min(N, slots)
        limit = H * W if max_sweeps is None else max_sweeps
        groups = jnp.arange(G)[:, None]
        step, first = jnp.moveaxis(step, 1, 0)[:, :, None], jnp.moveaxis(first, 1, 0)[:, :, None]  # [M, G, 1, H, W]
        cap = jnp.concatenate([cap, jnp.full((G, 1), -1.0, cap.dtype)], 1)[..., None, None]  # slot of id N: idle

        def capped(t, ids):
            return jnp.where(t <= cap[groups, ids], t, INF)

        queue = jnp.where(burning, 0.0, INF).astype(jnp.float32)
        queue = _relax(queue, queue, first, moves)                                   # [G, N, H, W]
        queue = jnp.concatenate([queue, jnp.full((G, 1, H, W), INF, queue.dtype)], 1)  # id N: an idle slot
        ids = jnp.broadcast_to(jnp.arange(S), (G, S))
        state = (ids, capped(queue[:, :S], ids), jnp.zeros((G, S), jnp.int32), jnp.full((G,), S),
                 jnp.full((G, N + 1, H, W), INF, queue.dtype))

        def body(state):
            ids, times, sweeps, next_id, out = state
            new = capped(_relax(times, times, step, moves), ids)
            sweeps = sweeps + 1
            done = (~jnp.any(new < times, axis=(2, 3)) | (sweeps >= limit)) & (ids < N)
            out = out.at[groups, jnp.where(done, ids, N)].set(new)
            rank = jnp.cumsum(done, axis=1) - 1
            ids = jnp.where(done, jnp.minimum(next_id[:, None] + rank, N), ids)
            next_id = next_id + done.sum(1)
            times = jnp.where(done[..., None, None], capped(queue[groups, ids], ids), new)
            return ids, times, jnp.where(done, 0, sweeps), next_id, out

        return lax.while_loop(lambda state: jnp.any(state[0] < N), body, state)[-1][:, :N]

    @solver.def_vmap
    def _fold(axis_size, in_batched, step, first, burning, cap):
        def with_axis(x, batched):
            return x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)

        step_batched = in_batched[0] or in_batched[1]
        burning, cap = with_axis(burning, in_batched[2]), with_axis(cap, in_batched[3])
        A, G, N = burning.shape[:3]
        if step_batched:  # a new axis of grids: fold into G
            step, first = with_axis(step, in_batched[0]), with_axis(first, in_batched[1])
            out = solver(step.reshape((A * G,) + step.shape[2:]), first.reshape((A * G,) + first.shape[2:]),
                         burning.reshape((A * G,) + burning.shape[2:]), cap.reshape(A * G, N))
            return out.reshape(burning.shape), True
        # a new axis of fires on the same grids: fold into N
        burning = jnp.swapaxes(burning, 0, 1).reshape((G, A * N) + burning.shape[3:])
        out = solver(step, first, burning, jnp.swapaxes(cap, 0, 1).reshape(G, A * N))
        return jnp.swapaxes(out.reshape((G, A, N) + out.shape[2:]), 0, 1), True

    return solver


def solve(grid: SpreadGrid, ignition, max_minutes, max_sweeps: int | None = None,
          slots: int | None = 32) -> jnp.ndarray:
    """Arrival times ``float32[H, W]`` (minutes; ``inf`` beyond ``max_minutes``) on a precomputed grid.

    ``vmap`` over ignitions, grids or caps runs as one batch (see :func:`_grouped_solver`).

    Args:
      grid: step times from :func:`spread_grid` or :func:`step_times`.
      ignition: ``(row, col)`` or ``bool[H, W]``.  An ignition is a point source: an ignited non-burnable cell
        (a road, a fuel break) does not burn itself but still ignites the fuel next to it.
      max_minutes: simulation cap in minutes (may be traced).
      max_sweeps: bound on Jacobi sweeps per fire (default ``H * W``, the longest possible path: the loop stops
        at the exact fixed point long before).
      slots: fires in flight at once when vmapped (``None``: all of them); see :func:`_grouped_solver`.
    """
    H, W = grid.step_minutes.shape[-2:]
    burning = ignition_mask(ignition, (H, W))
    cap = jnp.asarray(max_minutes, jnp.float32).reshape(1, 1)
    solver = _grouped_solver(grid.moves, max_sweeps, slots)
    times = solver(grid.step_minutes[None], grid.first_step_minutes[None], burning[None, None], cap)[0, 0]
    return jnp.where(grid.burnable, times, INF)


@functools.partial(jax.jit, static_argnames="neighbours")
def arrival_times(landscape: Landscape, weather: Weather, ignition, max_minutes, neighbours: int = 16):
    """Fire arrival time ``float32[H, W]`` in minutes from ignition; ``inf`` where not reached by ``max_minutes``.

    Args:
      landscape: the :class:`~jaxfire.landscape.Landscape` (fuel breaks = non-burnable cells).
      weather: uniform :class:`~jaxfire.weather.Weather` for this fire.
      ignition: ``(row, col)`` pair or ``bool[H, W]`` mask of cells burning at t = 0.
      max_minutes: simulation cap, minutes.
      neighbours: stencil size, 8, 16 (default) or 32.
    """
    return solve(spread_grid(landscape, weather, neighbours), ignition, max_minutes)


@functools.partial(jax.jit, static_argnames="neighbours")
def burn_probability(landscape: Landscape, weather: Weather, ignitions, max_minutes, neighbours: int = 16):
    """Fraction of ``N`` fires (one per row of ``ignitions``, ``int[N, 2]``) that burn each cell: ``float32[H, W]``."""
    ignitions = jnp.asarray(ignitions)
    if ignitions.ndim != 2 or ignitions.shape[1] != 2:
        raise ValueError(f"ignitions must be int[N, 2] (row, col) pairs, got shape {ignitions.shape}")
    grid = spread_grid(landscape, weather, neighbours)
    times = jax.vmap(solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)
    return jnp.isfinite(times).mean(0, dtype=jnp.float32)


@functools.partial(jax.jit, static_argnames="neighbours")
def expected_burned_fraction(landscape: Landscape, weather: Weather, ignitions, max_minutes, neighbours: int = 16):
    """Mean over the ``N`` ignitions (``int[N, 2]``) of the burned fraction of the landscape's cells (``H * W``)."""
    return burn_probability(landscape, weather, ignitions, max_minutes, neighbours).mean()
