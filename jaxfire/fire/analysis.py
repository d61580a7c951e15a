"""Fire analysis: arrival-time trees, subtree sizes and downstream protection value (DPV), planning maps.

Conventions: arrays ``[row, col]``, row 0 = north; flat cell indices ``row * W + col``; times in minutes (``inf``
= unburned); ignitions ``int[N, 2]``.  A fire's arrival-time tree links every burned cell to the neighbour the
fire came from; a cell's subtree is what burns downstream of it, so its size is what treating the cell would
protect from that fire (the DPV of Cell2Fire, averaged over fires).  :func:`fire_type` tells which cells burned as
surface, passive crown or active crown fire.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from jaxfire import crown
from jaxfire.fire.grid import INF, SpreadGrid, angle_from, fire_behaviour, shift, slope_frame, spread_grid, step_times
from jaxfire.fire.ignitions import ignition_mask
from jaxfire.fire.spread import burned_summary, solve, solve_many
from jaxfire.landscape import Landscape
from jaxfire.validation import nan_if, validated
from jaxfire.weather import Weather


@jax.jit
def arrival_tree(grid: SpreadGrid, times, ignition_mask) -> jnp.ndarray:
    """Shortest-path (arrival-time) tree of one fire: ``int32[H, W]`` parent flat index (``row * W + col``).

    A burned cell's parent is the stencil neighbour ``n`` minimising ``times[n] + step(n -> c)`` (the first
    step out of an ignited cell charged ``grid.first_step_minutes``), i.e. the cell the fire came from; the
    first such move in stencil order wins ties.  ``-1`` for ignited and unburned cells.

    Args:
      grid: step times from :func:`jaxfire.fire.spread_grid`.
      times: ``float32[H, W]`` arrival times from :func:`jaxfire.fire.solve` on ``grid``.
      ignition_mask: ``bool[H, W]`` cells burning at t = 0.
    """
    H, W = times.shape
    burned = jnp.isfinite(times)
    roots = ignition_mask & burned
    index = jnp.arange(H * W, dtype=jnp.int32).reshape(H, W)
    arrival = jnp.stack([shift(times, m.dr, m.dc, INF) + jnp.where(shift(roots, m.dr, m.dc, False), first, step)
                         for m, step, first in zip(grid.moves, grid.step_minutes, grid.first_step_minutes)])
    source = jnp.stack([shift(index, m.dr, m.dc, -1) for m in grid.moves])
    parent = jnp.take_along_axis(source, jnp.argmin(arrival, axis=0)[None], axis=0)[0]
    return jnp.where(burned & ~roots, parent, -1)


@jax.jit
def subtree_sizes(parent, times) -> jnp.ndarray:
    """``int32[H, W]``: burned cells in each cell's subtree of the arrival tree (itself + descendants; 0 unburned).

    By pointer doubling, in ``ceil(log2(depth + 1))`` rounds for a tree ``depth`` hops deep rather than one step per
    cell: after round ``j`` a cell's count holds its descendants fewer than ``2**j`` hops below it, and its pointer
    its ancestor ``2**j`` hops up; round ``j + 1`` adds every cell's count to that ancestor's (the cells exactly
    ``2**j`` below a cell hold, between them, its descendants ``2**j`` to ``2**(j+1) - 1`` hops down) and squares
    the pointers.  It stops when every pointer has left the tree (64 fires on 50 x 50, 2 idle cores: 5.0 ms, 30 ms as
    a cell-by-cell ``lax.scan`` in decreasing arrival time; 128 x 128: 38 vs 206 ms).

    Args:
      parent: ``int32[H, W]`` parent flat index (:func:`arrival_tree`), ``-1`` for roots and unburned cells.
      times: ``float32[H, W]`` arrival times (``inf`` unburned).
    """
    n = times.size
    burned = jnp.isfinite(times).ravel()
    up = jnp.append(jnp.where(parent.ravel() < 0, n, parent.ravel()), n)  # roots point to a sink slot, it to itself
    max_rounds = max(1, (n - 1).bit_length())  # a tree of n cells is at most n - 1 hops deep

    def unfinished(carry):
        _, up, rounds = carry
        return (up[:n] != n).any() & (rounds < max_rounds)

    def double(carry):
        count, up, rounds = carry
        return count.at[up].add(count), up[up], rounds + 1

    count, _, _ = lax.while_loop(unfinished, double, (jnp.append(burned.astype(jnp.int32), 0), up, 0))
    return count[:n].reshape(times.shape)


def dpv_from_times(grid: SpreadGrid, ignitions, times) -> jnp.ndarray:
    """:func:`dpv_scores` from fires already solved: ``times`` ``[N, H, W]`` of ``ignitions`` ``int[N, 2]`` on
    ``grid`` (for callers that also need the fires' burn probability)."""
    def one_fire(ignition, times):
        source = ignition_mask(ignition, times.shape)
        times = jnp.where(source, 0.0, times)  # the point source burns from t = 0, even on a non-burnable cell
        sizes = subtree_sizes(arrival_tree(grid, times, source), times)
        return jnp.where(source, 0, sizes)  # treating an ignition point does not stop its fire

    dpv = jax.vmap(one_fire)(jnp.asarray(ignitions, jnp.int32), times).mean(0, dtype=jnp.float32)
    return nan_if(jnp.isnan(times).any(), dpv)  # NaN times come from invalid input inside jit


@validated
@jax.jit
def grid_dpv(grid: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    """:func:`dpv_scores` on precomputed step times ``grid``: ``float32[H, W]``."""
    ignitions = jnp.asarray(ignitions, jnp.int32)
    return dpv_from_times(grid, ignitions, solve_many(grid, ignitions, max_minutes))


@validated
def dpv_scores(landscape: Landscape, weather: Weather, ignitions, max_minutes=480.0, neighbours: int = 16):
    """Downstream protection value ``float32[H, W]``: mean over the fires (``ignitions`` ``int[N, 2]``) of
    each cell's subtree size in the fire's :func:`arrival_tree` (the burned cells it would have protected had
    it not burned; 0 where no fire arrives)."""
    return grid_dpv(spread_grid(landscape, weather, neighbours), ignitions, max_minutes)


@validated
def planning_maps(grid: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    """What a planner's simulations show before any treatment, ``float32[H, W, 2]``: the burn probability of the
    fires from ``ignitions`` (``int[M, 2]``) on an untreated landscape's step times ``grid`` and their DPV divided
    by its maximum, from one solve of the fires (the environment's planning channels)."""
    times = solve_many(grid, ignitions, max_minutes)
    probability, _ = burned_summary(times)
    dpv = dpv_from_times(grid, ignitions, times)
    return jnp.stack([probability, dpv / jnp.maximum(dpv.max(), 1.0)], -1)


@functools.partial(jax.jit, static_argnames=("neighbours", "crown_fire"))
def fire_type(landscape: Landscape, weather: Weather, ignition, max_minutes, neighbours: int = 16,
              crown_fire: bool = True, times=None) -> jnp.ndarray:
    """Type of fire that burned each cell, ``int32[H, W]``: 0 unburned (and the ignited cells), 1 surface,
    2 passive crown, 3 active crown (pyretechnics' codes).

    As in pyretechnics, a cell's type is that of the front crossing it when it burns
    (:func:`jaxfire.crown.front_type` of the cell's behaviour), the front normal being the upwind gradient of the
    arrival times there (from the earlier neighbour along each axis, as the level set takes it from ``phi``).
    So the cells along a crown run are crowned while those its flanks burn sideways stay surface fire.

    Args:
      landscape, weather, ignition, max_minutes, neighbours, crown_fire: as for :func:`arrival_times`.
      times: this fire's arrival times ``float32[H, W]`` if already computed (else they are solved here).
    """
    surface, crown_behaviour = fire_behaviour(landscape, weather, crown_fire)
    if times is None:
        times = solve(step_times(surface, landscape, neighbours, crown_behaviour), ignition, max_minutes)
    burned = jnp.isfinite(times) & ~ignition_mask(ignition, landscape.shape)
    if crown_behaviour is None:
        return jnp.where(burned, crown.SURFACE, 0).astype(jnp.int32)

    def upwind(before, after):  # arrival-time slope along one axis (min/cell) from its earlier neighbour, else 0
        earlier = jnp.minimum(before, after)
        slope = jnp.where(before <= after, times - before, after - times)
        return jnp.where(earlier < times, slope, 0.0)

    east = upwind(shift(times, 0, 1, INF), shift(times, 0, -1, INF))      # west neighbour, east neighbour
    north = upwind(shift(times, -1, 0, INF), shift(times, 1, 0, INF))     # south neighbour, north neighbour
    _, heading_unit = slope_frame(landscape.slope_deg, landscape.aspect_deg)
    upslope = jnp.deg2rad(landscape.aspect_deg + 180.0)
    # The front normal on the slope plane: the map gradient's upslope component shrinks by cos(slope).
    normal_u = (east * jnp.sin(upslope) + north * jnp.cos(upslope)) * jnp.cos(jnp.deg2rad(landscape.slope_deg))
    normal_c = east * jnp.cos(upslope) - north * jnp.sin(upslope)
    norm = jnp.hypot(normal_u, normal_c)
    normal = (normal_u / jnp.where(norm > 0, norm, 1.0), normal_c / jnp.where(norm > 0, norm, 1.0))
    types = crown.front_type(surface, crown_behaviour, angle_from(heading_unit(surface.heading_deg), *normal)[0],
                             angle_from(heading_unit(crown_behaviour.heading_deg), *normal)[0])
    types = jnp.where(norm > 0, types, crown_behaviour.fire_type)   # no earlier axis neighbour: as a head fire
    return jnp.where(burned, types, 0).astype(jnp.int32)
