"""Score-based planners: random placement, burn probability and downstream protection value (DPV).

Each scores every cell once and treats the ``budget_cells`` burnable cells of highest score (the signature and
conventions of :mod:`jaxfire.planners.base`).  Burn probability and DPV score the cells with the planning fires
themselves, so judge them on held-out ignitions.  An ignition is a point source: treating an ignition cell does not
remove its fire, so DPV scores ignition cells 0.
"""
from __future__ import annotations

import jax.numpy as jnp

from jaxfire.landscape import Landscape
from jaxfire.planners import scoring
from jaxfire.planners.base import check_budget, pick, planning_fires
from jaxfire.validation import validated
from jaxfire.weather import Weather


@validated
def random(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
           ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False) -> jnp.ndarray:
    """``budget_cells`` burnable cells uniformly at random (weather and ignition arguments unused)."""
    check_budget(landscape, budget_cells)
    return pick(jnp.zeros(landscape.shape), landscape.burnable, budget_cells, key, ranked)


@validated
def burn_probability(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None,
                     num_ignitions=64, ignition_probability=None, max_minutes=480.0, neighbours=16,
                     ranked=False) -> jnp.ndarray:
    """The cells burned by the most fires (as :func:`jaxfire.fire.burn_probability`; ``weather`` may be a batch,
    :mod:`jaxfire.planners.scoring`)."""
    ignitions, tie_key = planning_fires(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    score = scoring.burn_probability(scoring.scenario_grids(landscape, weather, neighbours), ignitions, max_minutes)
    return pick(score, landscape.burnable, budget_cells, tie_key, ranked)


@validated
def dpv(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
        ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False) -> jnp.ndarray:
    """The cells of highest downstream protection value (:func:`jaxfire.fire.dpv_scores`; ``weather`` may be a
    batch, :mod:`jaxfire.planners.scoring`)."""
    ignitions, tie_key = planning_fires(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    score = scoring.dpv(scoring.scenario_grids(landscape, weather, neighbours), ignitions, max_minutes)
    return pick(score, landscape.burnable, budget_cells, tie_key, ranked)
