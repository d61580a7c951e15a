"""Cell scores of the planning fires under one weather or a batch of weathers (a planning weather distribution).

A planner's ``weather`` is one :class:`~jaxfire.weather.Weather` (fields ``[]``) or ``K`` of them (fields ``[K]``,
moisture ``[K, 5]``); with ``K`` weathers the ``N`` planning fires are split into ``K`` equal groups, group ``k``
burning under weather ``k`` (``N`` must be a multiple of ``K``), and a score is the mean over all fires.
Conventions: scores ``float32[H, W]``; times in minutes.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxfire import fire
from jaxfire.fire import SpreadGrid
from jaxfire.weather import Weather


def weather_count(weather: Weather) -> int:
    """``K``, the number of weathers (1 for a single weather)."""
    return 1 if jnp.ndim(weather.wind_speed_kmh) == 0 else int(jnp.shape(weather.wind_speed_kmh)[0])


def scenario_grids(landscape, weather: Weather, neighbours: int = 16) -> SpreadGrid:
    """Step times under each weather, a grid with a leading ``[K]`` axis on its arrays."""
    weathers = weather if weather_count(weather) > 1 or jnp.ndim(weather.wind_speed_kmh) == 1 else \
        jax.tree.map(lambda x: jnp.asarray(x)[None], weather)
    return jax.vmap(fire.spread_grid, in_axes=(None, 0, None))(landscape, weathers, neighbours)


def grouped(ignitions, groups: int) -> jnp.ndarray:
    """``int32[K, N / K, 2]``: the planning fires split into ``K`` equal groups, one per weather."""
    count = ignitions.shape[0]
    if count % groups:
        raise ValueError(f"{count} planning fires cannot be split evenly over {groups} weathers")
    return jnp.asarray(ignitions, jnp.int32).reshape(groups, count // groups, 2)


@jax.jit
def dpv(grids: SpreadGrid, ignitions, max_minutes, treated=None) -> jnp.ndarray:
    """Mean DPV (:func:`jaxfire.fire.grid_dpv`) of the fires over the ``K`` grids (after treating ``treated``)."""
    if treated is not None:
        grids = jax.vmap(fire.treat_grid, in_axes=(0, None, None))(grids, grids.burnable[0], treated)
    groups = grouped(ignitions, grids.step_minutes.shape[0])
    return jax.vmap(fire.grid_dpv, in_axes=(0, 0, None))(grids, groups, max_minutes).mean(0)


@jax.jit
def burn_probability(grids: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    """Mean burn probability of the fires over the ``K`` grids."""
    groups = grouped(ignitions, grids.step_minutes.shape[0])
    return jax.vmap(fire.grid_burn_probability, in_axes=(0, 0, None))(grids, groups, max_minutes).mean(0)
