"""What the agent sees: per-cell fire behaviour, terrain, the treatment so far and the planning maps.

:func:`observation` is a pure function of a landscape, a weather and an episode's treatment, so the environment,
the replay (which rebuilds observations from compact states) and a trained planner (:mod:`jaxfire.agents.policy`)
build exactly the same input.  Channels are :class:`jaxfire.env.types.Channel`; treated cells are non-burnable, so
their rate and intensity channels are 0.
"""
from __future__ import annotations

import jax.numpy as jnp

from jaxfire import fire, rothermel
from jaxfire.landscape import Landscape
from jaxfire.weather import Weather

COMPASS_DEG = (0.0, 90.0, 180.0, 270.0)  # the directions of the four rate channels: N, E, S, W


def observation(landscape: Landscape, weather: Weather, treated, placed, budget_cells, planning) -> jnp.ndarray:
    """Observation ``float32[H, W, C]`` of an episode on ``landscape`` (untreated) under ``weather``.

    Args:
      landscape: the untreated landscape, layers ``[H, W]``.
      weather: the episode's weather.
      treated: ``bool[H, W]`` fuel breaks placed so far.
      placed: cells treated so far (``int32[]``).
      budget_cells: cells the episode may treat (``int32[]``).
      planning: ``float32[H, W, 2 or 0]`` planning channels (:func:`jaxfire.fire.planning_maps`).
    """
    treated_landscape = landscape.with_fuel_breaks(treated)
    behaviour = rothermel.landscape_fire(treated_landscape, weather)
    slowness = fire.slowness(behaviour, treated_landscape.slope_deg, treated_landscape.aspect_deg,
                             jnp.array(COMPASS_DEG))
    rates = jnp.where(jnp.isfinite(slowness), 1.0 / slowness, 0.0)                     # [4, H, W] m/min
    head = behaviour.R_head_m_min
    aspect = jnp.deg2rad(treated_landscape.aspect_deg)
    channels = [*(jnp.log1p(rates) / 4.0),
                jnp.log1p(behaviour.I_head_kW_m) / 10.0,
                head / jnp.maximum(head.max(), 1e-6),
                treated_landscape.slope_deg / 45.0, jnp.sin(aspect), jnp.cos(aspect),
                treated_landscape.canopy_cover,
                treated.astype(jnp.float32),
                (landscape.burnable & ~treated).astype(jnp.float32),
                jnp.full(treated.shape, 1.0 - placed / jnp.maximum(budget_cells, 1))]
    return jnp.concatenate([jnp.stack(channels, -1), planning], -1).astype(jnp.float32)
