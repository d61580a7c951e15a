"""Greedy simulation search: one cell per round, the top-DPV candidate that most lowers the burned area.

Conventions and signature as in :mod:`jaxfire.planners.base`.  Greedy optimises the burned area of its planning
fires themselves, so judge it on held-out ignitions; an ignition is a point source, so greedy gains nothing from
treating ignition cells.  The landscape's step times are computed once and treated cells cut out of them
(:func:`jaxfire.fire.treat_grid`), so no Rothermel computation is repeated per candidate plan, and a candidate's
fires are re-solved from the round's times only where its cell can change them
(:func:`jaxfire.fire.resolve_many`, exact); the chosen candidate's times carry to the next round.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from jaxfire import fire
from jaxfire.fire import INF, SpreadGrid
from jaxfire.landscape import Landscape
from jaxfire.planners.base import order, planning_fires
from jaxfire.validation import Range, validated
from jaxfire.weather import Weather


@functools.partial(jax.jit, static_argnames="candidates")
def greedy_search(grid: SpreadGrid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0,
                  candidates: int = 32) -> jnp.ndarray:
    """The ranks ``int32[H, W]`` of :func:`greedy` from a landscape's step times ``grid`` and fuel mask
    ``burnable``: the round that treated each cell, ``H * W`` for cells never treated.  ``budget_cells`` may be
    traced (a ``lax.fori_loop`` over rounds)."""
    H, W = burnable.shape
    K = min(candidates, H * W)

    def evaluate(times, treated, cell):  # burned fraction and times with one more cell, re-solving what it changes
        added = (jnp.arange(H * W) == cell).reshape(H, W)
        times = fire.resolve_many(fire.treat_grid(grid, burnable, treated | added), ignitions, max_minutes, times,
                                  added)
        return jnp.isfinite(times).mean(), times

    def add_one(round_, carry):
        rank, times = carry  # times: the planning fires on the landscape treated so far
        treated = rank < H * W
        score = fire.dpv_from_times(fire.treat_grid(grid, burnable, treated), ignitions, times)
        open_cells = burnable & ~treated
        cells = order(score, open_cells, tie_key)[:K]
        valid = open_cells.ravel()[cells]
        fractions, candidate_times = jax.vmap(evaluate, in_axes=(None, None, 0))(times, treated, cells)
        best = jnp.argmin(jnp.where(valid, fractions, INF))
        rank = rank.ravel().at[cells[best]].min(jnp.where(valid[best], round_, H * W)).reshape(H, W)
        return rank, jnp.where(valid[best], candidate_times[best], times)

    start = fire.solve_many(fire.treat_grid(grid, burnable, jnp.zeros_like(burnable)), ignitions, max_minutes)
    return lax.fori_loop(0, budget_cells, add_one, (jnp.full((H, W), H * W, jnp.int32), start))[0]


@validated
def greedy(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
           ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False,
           candidates: int = 32) -> jnp.ndarray:
    """Greedy simulation search: ``budget_cells`` rounds, each treating one more cell.

    Each round recomputes DPV (:func:`jaxfire.fire.dpv_scores`) on the landscape treated so far, takes the
    ``candidates`` untreated burnable cells of highest DPV, evaluates the expected burned fraction of the planning
    fires with each one added (all candidates in one ``vmap``ped batch of ``candidates x N`` fires) and keeps the
    best (ties: higher DPV).  Recomputing DPV every round costs ``1 / candidates`` of the evaluation.
    """
    Range(1, integer=True).value(candidates, "candidates")
    ignitions, tie_key = planning_fires(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    grid = fire.spread_grid(landscape, weather, neighbours)
    rank = greedy_search(grid, landscape.burnable, ignitions, budget_cells, tie_key, max_minutes, candidates)
    return rank if ranked else rank < budget_cells
