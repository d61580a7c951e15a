"""Where episodes come from: the weather and ignition distribution and the bank of scenarios drawn from it.

gymnax auto-reset evaluates ``reset_env`` on every step, so reset must be cheap; a reset that simulated the
untreated landscape would double the cost of every step.  :func:`scenario_bank` therefore draws, once,
``K`` scenarios per pool landscape (weather + a set of ``N`` hidden ignitions, and ``M`` independent planning
ignitions behind the observation's planning channels) and burns them untreated; a reset picks one by index.

Conventions: wind speeds in km/h (10-m open wind), directions the wind blows FROM in degrees clockwise from north,
moisture as fractions (:mod:`jaxfire.weather`); times in minutes.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfire import fire
from jaxfire.env.observation import untreated_fire
from jaxfire.env.types import Scenarios
from jaxfire.landscape import Landscape, pool as pools
from jaxfire.validation import Range
from jaxfire.weather import Weather, moisture as moisture_vector


@dataclasses.dataclass(frozen=True)
class ScenarioDistribution:
    """Where episode weather and ignitions come from.

    Attributes:
      wind_speed_kmh: ``(low, high)`` 10-m wind speed range, km/h, drawn uniformly (``0 <= low <= high``).
      wind_from_deg: prevailing direction the wind blows FROM, degrees clockwise from north.
      wind_direction_spread_deg: standard deviation of a normal perturbation of the direction (``None``: uniform).
      moisture: moisture scenario name or five fractions.
      foliar_moisture: canopy foliar moisture, a fraction (crown fire initiation).
      ignition_probability: ``float[H, W]`` relative ignition likelihood (``None``: uniform over burnable cells),
        one map for every landscape of the pool.
    """

    wind_speed_kmh: tuple[float, float] = (10.0, 30.0)
    wind_from_deg: float = 270.0
    wind_direction_spread_deg: float | None = None
    moisture: str | tuple = "default"
    foliar_moisture: float = 0.90
    ignition_probability: np.ndarray | None = None

    def __post_init__(self):
        if np.ndim(self.wind_speed_kmh) != 1 or len(self.wind_speed_kmh) != 2:
            raise ValueError(f"wind_speed_kmh must be a (low, high) range in km/h, got {self.wind_speed_kmh!r}")
        low, high = (Range(0.0).value(v, "wind_speed_kmh (low, high)") for v in self.wind_speed_kmh)
        if low > high:
            raise ValueError(f"wind_speed_kmh must be a (low, high) range with 0 <= low <= high, got "
                             f"{self.wind_speed_kmh}")
        Range().value(self.wind_from_deg, "wind_from_deg")
        if self.wind_direction_spread_deg is not None:
            Range(0.0).value(self.wind_direction_spread_deg, "wind_direction_spread_deg (or None)")
        moisture_vector(self.moisture)  # raises on an unknown scenario or bad fractions
        Weather(foliar_moisture=self.foliar_moisture)  # raises on a bad foliar moisture
        if self.ignition_probability is not None:
            check_ignition_map(self.ignition_probability)


def check_ignition_map(probability) -> None:
    """Raise ``ValueError`` unless ``probability`` is a 2-D map of finite values >= 0, not all zero (its shape and
    burnable cells are checked against the pool by :func:`scenario_bank`)."""
    if np.ndim(probability) != 2:
        raise ValueError(f"ignition_probability must be a float[H, W] map, got shape {np.shape(probability)}")
    Range(0.0).check(probability, "ignition_probability")
    if not np.any(np.asarray(probability) > 0):
        raise ValueError("ignition_probability is zero everywhere: no cell could ever ignite")


def draw_weather(key, distribution: ScenarioDistribution, count: int) -> Weather:
    """``count`` weathers (fields ``[count]``, moisture ``[count, 5]``) from ``distribution``."""
    return _draw_weather(key, *_weather_arguments(distribution), count)


def _weather_arguments(distribution: ScenarioDistribution) -> tuple:
    low, high = distribution.wind_speed_kmh
    return (jnp.float32(low), jnp.float32(high), jnp.float32(distribution.wind_from_deg),
            distribution.wind_direction_spread_deg, moisture_vector(distribution.moisture),
            jnp.float32(distribution.foliar_moisture))


def _draw_weather(key, low, high, wind_from_deg, spread_deg, moisture, foliar_moisture, count: int) -> Weather:
    speed_key, direction_key = jax.random.split(key)
    speed = jax.random.uniform(speed_key, (count,), minval=low, maxval=high)
    if spread_deg is None:
        direction = jax.random.uniform(direction_key, (count,), maxval=360.0)
    else:
        direction = (wind_from_deg + jax.random.normal(direction_key, (count,)) * spread_deg) % 360.0
    return Weather(speed, direction, jnp.tile(moisture, (count, 1)), jnp.full((count,), foliar_moisture))


def scenario_bank(key, pool: Landscape, distribution: ScenarioDistribution, count: int, num_ignitions: int,
                  max_minutes: float, neighbours: int, planning_ignitions: int) -> Scenarios:
    """Draw ``count`` scenarios per landscape of ``pool`` (layers ``[P, H, W]``), burn each untreated, add its
    planning maps and untreated fire channels; compiled once per pool shape and sizes (``ignition_probability`` ``[H, W]`` is checked here)."""
    probability = distribution.ignition_probability
    if probability is not None:
        burnable = np.asarray(pool.burnable)
        fire.sample_ignitions(key, burnable[0], 1, probability)  # validates the map against the pool
        if not np.all((np.asarray(probability) * burnable).reshape(len(burnable), -1).sum(1) > 0):
            raise ValueError("ignition_probability is zero on every burnable cell of some pool landscape")
        probability = jnp.asarray(probability, jnp.float32)
    keys = jax.random.split(key, pools.size(pool))
    return _bank(keys, pool, *_weather_arguments(distribution), probability, jnp.float32(max_minutes),
                 count=count, num_ignitions=num_ignitions, neighbours=neighbours,
                 planning_ignitions=planning_ignitions)


@functools.partial(jax.jit, static_argnames=("spread_deg", "count", "num_ignitions", "neighbours",
                                              "planning_ignitions"))
def _bank(keys, pool, low, high, wind_from_deg, spread_deg, moisture, foliar_moisture, probability, max_minutes, *,
          count, num_ignitions, neighbours, planning_ignitions) -> Scenarios:
    def one_landscape(args):
        land_key, landscape = args
        weather_key, ignition_key, planning_key = jax.random.split(land_key, 3)
        weather = _draw_weather(weather_key, low, high, wind_from_deg, spread_deg, moisture, foliar_moisture, count)

        def ignition_sets(key, n):
            return jax.vmap(lambda k: fire.sample_ignitions(k, landscape.burnable, n, probability))(
                jax.random.split(key, count))

        ignitions = ignition_sets(ignition_key, num_ignitions)
        grids = jax.vmap(fire.spread_grid, in_axes=(None, 0, None))(landscape, weather, neighbours)
        times = jax.vmap(fire.solve_many, in_axes=(0, 0, None))(grids, ignitions, max_minutes)
        _, burned_count = jax.vmap(fire.burned_summary)(times)
        if planning_ignitions:
            planning_fires = ignition_sets(planning_key, planning_ignitions)
            planning = jax.vmap(fire.planning_maps, in_axes=(0, 0, None))(grids, planning_fires, max_minutes)
        else:
            planning_fires = jnp.zeros((count, 0, 2), jnp.int32)
            planning = jnp.zeros((count,) + landscape.shape + (0,), jnp.float32)
        fire_channels = jax.vmap(untreated_fire, in_axes=(None, 0))(landscape, weather)
        return Scenarios(ignitions, weather, burned_count, planning, fire_channels, planning_fires, grids)

    return jax.lax.map(one_landscape, (keys, pool))
