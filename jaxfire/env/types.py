"""The environment's data: parameters, episode state, the scenario bank and the named observation channels.

Conventions: cells are indexed ``row * W + col`` (row 0 = north); ``P`` landscapes in the pool, ``K`` scenarios per
landscape, ``N`` hidden ignitions per scenario, ``M`` planning ignitions; burned counts are cells summed over the
``N`` fires; times in minutes.
"""
from __future__ import annotations

import enum

import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment

from jaxfire.fire import SpreadGrid
from jaxfire.landscape import Landscape
from jaxfire.weather import Weather


class Channel(enum.IntEnum):
    """Observation channels (last axis of ``float32[H, W, C]``; :func:`jaxfire.env.observation.observation`)."""

    RATE_NORTH = 0          # spread rate toward north from each cell (ray rate of its ellipse), log1p(m/min) / 4
    RATE_EAST = 1
    RATE_SOUTH = 2
    RATE_WEST = 3
    INTENSITY = 4           # head fireline intensity, log1p(kW/m) / 10
    HEAD_RATE = 5           # head spread rate / the landscape's maximum
    SLOPE = 6               # slope / 45 degrees
    ASPECT_SIN = 7
    ASPECT_COS = 8
    CANOPY_COVER = 9        # fraction
    TREATED = 10            # 1 = fuel break
    VALID = 11              # 1 = burnable and not yet treated (the action mask)
    BUDGET_LEFT = 12        # remaining budget / total budget (a constant plane)
    PLANNING_BURN_PROBABILITY = 13  # untreated burn probability of the planning fires (when planning_ignitions > 0)
    PLANNING_DPV = 14       # their downstream protection value / its maximum (when planning_ignitions > 0)


OBS_CHANNELS = Channel.PLANNING_BURN_PROBABILITY       # 13 channels without the planning ones
PLANNING_CHANNELS = len(Channel) - OBS_CHANNELS        # 2


@struct.dataclass
class Scenarios:
    """A bank of ``K`` scenarios for each of ``P`` landscapes (leading axes ``[P, K]``)."""

    ignitions: jnp.ndarray           # int32[P, K, N, 2] the hidden fires burned after every step
    weather: Weather                 # fields [P, K] (moisture [P, K, 5])
    burned_count: jnp.ndarray        # int32[P, K] untreated burned cells summed over the N fires
    planning: jnp.ndarray            # float32[P, K, H, W, 2 or 0] planning channels
    fire_channels: jnp.ndarray       # float32[P, K, H, W, 6] observation.untreated_fire of each scenario
    planning_ignitions: jnp.ndarray  # int32[P, K, M, 2] the fires behind them (M may be 0)
    grid: SpreadGrid                 # arrays [P, K, ...]: the untreated landscape's step times under the scenario's
    #                                  weather (a step cuts its treated cells out, fire.treat_grid: no Rothermel per step)


@struct.dataclass
class EnvParams(environment.EnvParams):
    """Everything an episode needs; build it with :meth:`jaxfire.env.FuelBreakEnv.make_params`."""

    pool: Landscape = None                 # layers [P, H, W]
    scenarios: Scenarios = None
    budget_cells: jnp.ndarray = None       # int32[P] treated cells per episode on each landscape
    max_minutes: float = 480.0
    max_steps_in_episode: int = 1


@struct.dataclass
class EnvState(environment.EnvState):
    """One episode in progress."""

    landscape_index: jnp.ndarray     # int32
    scenario_index: jnp.ndarray      # int32
    treated: jnp.ndarray             # bool[H, W]
    ignitions: jnp.ndarray           # int32[N, 2]
    weather: Weather
    budget_cells: jnp.ndarray        # int32
    placed: jnp.ndarray              # int32 cells treated so far
    burned_count: jnp.ndarray        # int32 burned cells summed over the N fires, now
    initial_burned_count: jnp.ndarray  # int32 the same before any treatment
    times: jnp.ndarray               # float32[N, H, W] the N fires' arrival times now (-inf: not solved yet), so a
    #                                  step re-solves only what its new cells change (jaxfire.fire.incremental)

    @property
    def burned_fraction(self) -> jnp.ndarray:
        """Expected burned fraction of the landscape's cells over the episode's ignitions, now."""
        return burned_fraction(self.burned_count, self.ignitions.shape[-2], self.treated.shape[-2:])


def burned_fraction(burned_count, num_fires: int, shape) -> jnp.ndarray:
    """Burned cells summed over ``num_fires`` fires -> mean burned fraction of the ``shape`` landscape."""
    return burned_count.astype(jnp.float32) / (num_fires * shape[0] * shape[1])
