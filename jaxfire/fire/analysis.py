"""Fire analysis: arrival-time trees, subtree sizes and downstream protection value (DPV), planning maps.

Conventions: arrays ``[row, col]``, row 0 = north; flat cell indices ``row * W + col``; times in minutes (``inf``
= unburned); ignitions ``int[N, 2]``.  A fire's arrival-time tree links every burned cell to the neighbour the
fire came from; a cell's subtree is what burns downstream of it, so its size is what treating the cell would
protect from that fire (the DPV of Cell2Fire, averaged over fires).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxfire.fire.grid import INF, SpreadGrid, shift, spread_grid
from jaxfire.fire.ignitions import ignition_mask
from jaxfire.fire.spread import burned_summary, solve_many
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

    One pass over the cells in decreasing arrival time (a ``lax.scan``): each cell adds its count to its
    parent's, which arrived earlier, so every subtree is complete before it is passed up.
    """
    n = times.size
    burned = jnp.isfinite(times).ravel()
    up = jnp.where(parent.ravel() < 0, n, parent.ravel())  # roots pass their count to a sink slot
    order = jnp.argsort(jnp.where(burned, -times.ravel(), INF))

    def add_to_parent(count, cell):
        return count.at[up[cell]].add(count[cell]), None

    count, _ = lax.scan(add_to_parent, jnp.append(burned.astype(jnp.int32), 0), order)
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

