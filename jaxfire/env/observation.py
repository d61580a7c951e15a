"""What the agent sees: per-cell fire behaviour, terrain, the treatment so far and the planning maps.

:func:`observation` is a pure function of a landscape, a weather and an episode's treatment, so the environment,
the replay (which rebuilds observations from compact states) and a trained planner (:mod:`jaxfire.agents.policy`)
build exactly the same input.  Channels are :class:`jaxfire.env.types.Channel`; treated cells are non-burnable, so
their rate and intensity channels are 0 (:func:`untreated_fire` computes the fire channels once per landscape and
weather; the scenario bank stores them).
"""
from __future__ import annotations

import jax.numpy as jnp

from jaxfire import fire, rothermel
from jaxfire.landscape import Landscape
from jaxfire.weather import Weather

COMPASS_DEG = (0.0, 90.0, 180.0, 270.0)  # the directions of the four rate channels: N, E, S, W


def untreated_fire(landscape: Landscape, weather: Weather) -> jnp.ndarray:
    """``float32[H, W, 6]``: the fire channels of the untreated ``landscape`` under ``weather``.

    The first five are the observation's :class:`~jaxfire.env.types.Channel` ``RATE_NORTH`` .. ``INTENSITY``; the
    sixth is the head spread rate in m/min.  Surface fire is a property of each cell alone and a treated cell does
    not burn (rate and intensity 0), so the fire channels of any treatment are these with its cells zeroed: compute
    them once per landscape and weather and pass them to :func:`observation` to spare a Rothermel evaluation per
    placement.
    """
    behaviour = rothermel.landscape_fire(landscape, weather)
    slowness = fire.slowness(behaviour, landscape.slope_deg, landscape.aspect_deg, jnp.array(COMPASS_DEG))
    rates = jnp.where(jnp.isfinite(slowness), 1.0 / slowness, 0.0)                     # [4, H, W] m/min
    return jnp.stack([*(jnp.log1p(rates) / 4.0), jnp.log1p(behaviour.I_head_kW_m) / 10.0, behaviour.R_head_m_min],
                     -1).astype(jnp.float32)


def observation(landscape: Landscape, weather: Weather, treated, placed, budget_cells, planning,
                fire_channels=None) -> jnp.ndarray:
    """Observation ``float32[H, W, C]`` of an episode on ``landscape`` (untreated) under ``weather``.

    Args:
      landscape: the untreated landscape, layers ``[H, W]``.
      weather: the episode's weather.
      treated: ``bool[H, W]`` fuel breaks placed so far.
      placed: cells treated so far (``int32[]``).
      budget_cells: cells the episode may treat (``int32[]``).
      planning: ``float32[H, W, 2 or 0]`` planning channels (:func:`jaxfire.fire.planning_maps`).
      fire_channels: :func:`untreated_fire` of ``landscape`` and ``weather`` if already computed, else ``None``.
    """
    if fire_channels is None:
        fire_channels = untreated_fire(landscape, weather)
    burning = jnp.where(treated[..., None], 0.0, fire_channels)
    head = burning[..., 5]
    aspect = jnp.deg2rad(landscape.aspect_deg)
    channels = [*jnp.moveaxis(burning[..., :5], -1, 0),
                head / jnp.maximum(head.max(), 1e-6),
                landscape.slope_deg / 45.0, jnp.sin(aspect), jnp.cos(aspect),
                landscape.canopy_cover,
                treated.astype(jnp.float32),
                (landscape.burnable & ~treated).astype(jnp.float32),
                jnp.full(treated.shape, 1.0 - placed / jnp.maximum(budget_cells, 1))]
    return jnp.concatenate([jnp.stack(channels, -1), planning], -1).astype(jnp.float32)
