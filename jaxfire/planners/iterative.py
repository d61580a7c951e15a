"""Iterative DPV: the plan in ``rounds`` rounds, each treating the cells of highest downstream protection value on
the landscape treated so far.

One-shot DPV (:func:`jaxfire.planners.dpv`) spends its budget along the same few fire trunks: the cells of a trunk
all protect the same subtree, and once one of them is treated the others protect little.  Recomputing DPV on the
treated landscape every round moves the next round's cells to the paths the fires take around the treatment, as
greedy search does one cell at a time, at ``rounds`` solves of the planning fires instead of ``budget x (1 +
candidates)``.  It scales to any landscape size (``rounds`` fixed; a 512x512 landscape at 5 % places ~13,000 cells).
Signature and conventions as in :mod:`jaxfire.planners.base`; ``weather`` may be a batch
(:mod:`jaxfire.planners.scoring`).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxfire.fire import SpreadGrid
from jaxfire.landscape import Landscape
from jaxfire.planners import scoring
from jaxfire.planners.base import order, planning_fires
from jaxfire.validation import Range, validated
from jaxfire.weather import Weather


@functools.partial(jax.jit, static_argnames="rounds")
def iterative_dpv_search(grids: SpreadGrid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0,
                         rounds: int = 20) -> jnp.ndarray:
    """Ranks ``int32[H, W]`` of :func:`iterative_dpv` (``H * W`` for untreated cells) from the step times ``grids``
    (leading ``[K]`` weather axis); round ``r`` treats the next ``ceil(budget_cells / rounds)`` cells of highest DPV
    on the landscape treated by the earlier rounds, in their DPV order."""
    H, W = burnable.shape
    per_round = -(-budget_cells // rounds)
    one_round = lambda _, rank: add_top_dpv(grids, burnable, ignitions, max_minutes, rank, per_round, budget_cells,
                                            tie_key)
    return jax.lax.fori_loop(0, rounds, one_round, jnp.full((H, W), H * W, jnp.int32))


def add_top_dpv(grids: SpreadGrid, burnable, ignitions, max_minutes, rank, count, budget_cells, tie_key):
    """``rank`` (``int32[H, W]``, ``H * W`` = untreated) with up to ``count`` more cells, the untreated burnable
    cells of highest DPV on the landscape it treats, ranked in DPV order after the cells placed, never past
    ``budget_cells`` in all."""
    H, W = burnable.shape
    index = jnp.arange(H * W)
    treated = rank < H * W
    cells = order(scoring.dpv(grids, ignitions, max_minutes, treated), burnable & ~treated, tie_key)
    placed = treated.sum()
    take = (index < count) & (placed + index < budget_cells) & (burnable & ~treated).ravel()[cells]
    return rank.ravel().at[cells].min(jnp.where(take, placed + index, H * W)).reshape(H, W)


@validated
def iterative_dpv(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
                  ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False,
                  rounds: int = 20) -> jnp.ndarray:
    """Treat the budget in ``rounds`` rounds of the highest-DPV cells on the landscape treated so far."""
    Range(1, integer=True).value(rounds, "rounds")
    ignitions, tie_key = planning_fires(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    grids = scoring.scenario_grids(landscape, weather, neighbours)
    rank = iterative_dpv_search(grids, landscape.burnable, ignitions, budget_cells, tie_key, max_minutes, rounds)
    return rank if ranked else rank < budget_cells
