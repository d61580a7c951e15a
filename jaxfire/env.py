"""Fuel-break placement as a gymnax environment.

An episode places fuel breaks on one landscape of a pool until a budget is spent.  After each step the episode's
fixed set of ignitions (common random numbers: drawn once per episode with its weather) is burned on the treated
landscape, and the reward is the reduction of the expected burned fraction that step caused, so rewards sum to the
total reduction of the episode.

Conventions: cells are indexed ``row * W + col`` (row 0 = north); burned fractions are fractions of the
landscape's ``H * W`` cells, averaged over the episode's ignitions; times in minutes; areas in cells and hectares.

Scenario bank.  gymnax auto-reset evaluates ``reset_env`` on every step, so reset must be cheap; a reset that
simulated the untreated landscape would double the cost of every step.  :meth:`FuelBreakEnv.make_params`
therefore draws, once, ``scenarios_per_landscape`` scenarios per pool landscape (weather + ignition set) and
burns them untreated; a reset picks a landscape and one of its scenarios by index.

Observation ``float32[H, W, C]`` (channels last):

==  ===========================================================================================
0   spread rate toward NORTH from each cell (ray rate of its fire ellipse), ``log1p(m/min) / 4``
1   spread rate toward EAST, same scaling
2   spread rate toward SOUTH, same scaling
3   spread rate toward WEST, same scaling
4   head fireline intensity, ``log1p(kW/m) / 10``
5   head spread rate divided by the landscape's maximum
6   slope / 45 degrees
7   sin(aspect)
8   cos(aspect)
9   canopy cover fraction
10  treatment mask (1 = fuel break)
11  valid-action mask (1 = burnable and not yet treated)
12  remaining budget / total budget (a constant plane)
13  planning burn probability: untreated burn probability of ``planning_ignitions`` fires (if > 0)
14  planning downstream protection value (DPV) of the same fires, divided by its maximum (if > 0)
==  ===========================================================================================

The planning channels carry what a planner's simulations give before any treatment, the information the
``burn_probability`` and ``dpv`` heuristics (:mod:`jaxfire.baselines`) work from.  Their fires are drawn
independently of the episode's ignitions, which stay hidden: the reward is judged on fires the agent never sees,
as a plan is judged on future fires.  Planning maps are computed once per scenario (:func:`planning_maps`).

Treated cells are non-burnable, so their rate and intensity channels are 0.  Action: a cell index in
``[0, H * W)`` (``cells_per_step == 1``) or ``int[cells_per_step]`` indices.  Invalid cells (non-burnable, already
treated, or beyond the remaining budget) are skipped: they cost no budget and change nothing, but the step is
still counted; an episode is truncated after ``max_steps_in_episode`` steps.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

from jaxfire import baselines, fire, rothermel
from jaxfire.landscape import Landscape, pool as pools
from jaxfire.weather import Weather, moisture as moisture_vector

OBS_CHANNELS = 13     # without the two planning channels
PLANNING_CHANNELS = 2


@dataclasses.dataclass(frozen=True)
class ScenarioDistribution:
    """Where episode weather and ignitions come from.

    Attributes:
      wind_speed_kmh: ``(low, high)`` 10-m wind speed range, km/h, drawn uniformly.
      wind_from_deg: prevailing direction the wind blows FROM, degrees clockwise from north.
      wind_direction_spread_deg: standard deviation of a normal perturbation of the direction (``None``: uniform).
      moisture: moisture scenario name or five fractions.
      ignition_probability: ``float[H, W]`` relative ignition likelihood (``None``: uniform over burnable cells),
        one map for every landscape of the pool.
    """

    wind_speed_kmh: tuple[float, float] = (10.0, 30.0)
    wind_from_deg: float = 270.0
    wind_direction_spread_deg: float | None = None
    moisture: str | tuple = "default"
    ignition_probability: np.ndarray | None = None


@struct.dataclass
class Scenarios:
    """A bank of ``K`` scenarios for each of ``P`` landscapes (leading axes ``[P, K]``)."""

    ignitions: jnp.ndarray          # int32[P, K, N, 2]
    weather: Weather                # fields [P, K] (moisture [P, K, 5])
    burned_count: jnp.ndarray       # int32[P, K] untreated burned cells summed over the N fires
    burn_probability: jnp.ndarray   # float32[P, K, H, W] untreated burn probability
    planning: jnp.ndarray           # float32[P, K, H, W, 2 or 0] planning channels (see the module docstring)
    planning_ignitions: jnp.ndarray  # int32[P, K, M, 2] the fires behind them (M = planning_ignitions, may be 0)


@struct.dataclass
class EnvParams(environment.EnvParams):
    """Everything an episode needs; build it with :meth:`FuelBreakEnv.make_params`."""

    pool: Landscape = None                 # layers [P, H, W]
    scenarios: Scenarios = None
    budget_cells: jnp.ndarray = None       # int32[P] treated cells per episode on each landscape
    max_minutes: float = 480.0
    max_steps_in_episode: int = 1


@struct.dataclass
class EnvState(environment.EnvState):
    """One episode in progress."""

    landscape_index: jnp.ndarray
    scenario_index: jnp.ndarray
    treated: jnp.ndarray             # bool[H, W]
    ignitions: jnp.ndarray           # int32[N, 2]
    weather: Weather
    budget_cells: jnp.ndarray        # int32
    placed: jnp.ndarray              # int32 cells treated so far
    burned_count: jnp.ndarray        # int32 burned cells summed over the N fires, now
    initial_burned_count: jnp.ndarray
    burn_probability: jnp.ndarray    # float32[H, W] now

    @property
    def burned_fraction(self) -> jnp.ndarray:
        """Expected burned fraction of the landscape's cells over the episode's ignitions, now."""
        return _fraction(self.burned_count, self.ignitions.shape[-2], self.burn_probability.shape[-2:])


def _draw_weather(key, distribution: ScenarioDistribution, count: int) -> Weather:
    speed_key, direction_key = jax.random.split(key)
    low, high = distribution.wind_speed_kmh
    speed = jax.random.uniform(speed_key, (count,), minval=low, maxval=high)
    if distribution.wind_direction_spread_deg is None:
        direction = jax.random.uniform(direction_key, (count,), maxval=360.0)
    else:
        noise = jax.random.normal(direction_key, (count,)) * distribution.wind_direction_spread_deg
        direction = (distribution.wind_from_deg + noise) % 360.0
    return Weather(speed, direction, jnp.tile(moisture_vector(distribution.moisture), (count, 1)))


def draw_ignitions(key, burnable, count: int, ignition_probability=None) -> jnp.ndarray:
    """``int32[count, 2]`` ignition cells drawn with replacement over burnable cells (weighted by the map if given)."""
    weights = burnable.astype(jnp.float32)
    if ignition_probability is not None:
        weights = weights * jnp.asarray(ignition_probability, jnp.float32)
    flat = jax.random.choice(key, weights.size, (count,), p=weights.ravel() / weights.sum())
    return jnp.stack(jnp.divmod(flat, burnable.shape[1]), -1).astype(jnp.int32)


class FuelBreakEnv(environment.Environment[EnvState, EnvParams]):
    """Place fuel breaks on a pool of ``[H, W]`` landscapes (see the module docstring for the spaces)."""

    def __init__(self, shape: tuple[int, int], ignitions_per_evaluation: int = 32, cells_per_step: int = 1,
                 neighbours: int = 16, planning_ignitions: int = 64):
        super().__init__()
        if planning_ignitions < 0:
            raise ValueError(f"planning_ignitions must be >= 0, got {planning_ignitions}")
        self.shape = tuple(shape)
        self.ignitions_per_evaluation = ignitions_per_evaluation
        self.cells_per_step = cells_per_step
        self.neighbours = neighbours
        self.planning_ignitions = planning_ignitions

    # ------------------------------------------------------------------ parameters
    def make_params(self, key, pool: Landscape, *, budget_fraction: float = 0.05, max_minutes: float = 480.0,
                    scenarios_per_landscape: int = 16,
                    distribution: ScenarioDistribution = ScenarioDistribution()) -> EnvParams:
        """Validate a pool, draw its scenario bank (burning each scenario untreated) and size the budgets.

        Args:
          key: PRNG key for the scenario bank.
          pool: landscapes ``[P, H, W]`` (see :mod:`jaxfire.landscape.pool`) or a single ``[H, W]`` landscape.
          budget_fraction: fuel-break cells per episode as a fraction of each landscape's burnable cells.
          max_minutes: fire duration cap, minutes.
          scenarios_per_landscape: ``K`` weather + ignition-set draws per landscape (each with its own planning
            fires when ``planning_ignitions > 0``).
          distribution: weather and ignition distribution.
        """
        if pool.fuel_model.ndim == 2:
            pool = pools.stack([pool])
        if pool.shape != self.shape:
            raise ValueError(f"pool landscapes are {pool.shape}, the environment was built for {self.shape}")
        if not 0.0 < budget_fraction <= 1.0:
            raise ValueError(f"budget_fraction must be in (0, 1], got {budget_fraction}")
        burnable = np.asarray(pool.burnable).reshape(pools.size(pool), -1).sum(1)
        if np.any(burnable == 0):
            raise ValueError(f"landscape(s) {np.flatnonzero(burnable == 0).tolist()} of the pool have no burnable cells")
        budget = np.maximum(1, np.floor(budget_fraction * burnable)).astype(np.int32)
        scenarios = _scenario_bank(key, pool, distribution, scenarios_per_landscape, self.ignitions_per_evaluation,
                                   float(max_minutes), self.neighbours, self.planning_ignitions)
        steps = int(np.ceil(budget.max() / self.cells_per_step))
        return EnvParams(pool=pool, scenarios=scenarios, budget_cells=jnp.asarray(budget),
                         max_minutes=float(max_minutes), max_steps_in_episode=2 * steps + 8)

    @functools.cached_property
    def default_params(self) -> EnvParams:
        """Eight synthetic landscapes of the environment's shape (key 0), default budget and weather."""
        return self.make_params(jax.random.key(0), pools.synthetic_pool(jax.random.key(0), 8, self.shape))

    # ------------------------------------------------------------------ dynamics
    def reset_env(self, key, params: EnvParams):
        landscape_key, scenario_key = jax.random.split(key)
        landscape_index = jax.random.randint(landscape_key, (), 0, pools.size(params.pool))
        scenario_index = jax.random.randint(scenario_key, (), 0, params.scenarios.burned_count.shape[1])
        bank = jax.tree.map(lambda x: x[landscape_index, scenario_index], params.scenarios)
        state = EnvState(
            landscape_index=landscape_index, scenario_index=scenario_index,
            treated=jnp.zeros(self.shape, bool), ignitions=bank.ignitions, weather=bank.weather,
            budget_cells=params.budget_cells[landscape_index], placed=jnp.int32(0),
            burned_count=bank.burned_count, initial_burned_count=bank.burned_count,
            burn_probability=bank.burn_probability, time=0)
        return self.get_obs(state, params), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        treated, placed = self._place(state, jnp.atleast_1d(action), params)
        landscape = pools.take(params.pool, state.landscape_index).with_fuel_breaks(treated)
        grid = fire.spread_grid(landscape, state.weather, self.neighbours)
        times = jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, state.ignitions, params.max_minutes)
        burn_probability, burned_count = _burn_summary(times)
        reward = _fraction(state.burned_count - burned_count, len(state.ignitions), self.shape)
        state = state.replace(treated=treated, placed=placed, burned_count=burned_count,
                              burn_probability=burn_probability, time=state.time + 1)
        terminated = self.is_terminated(state, params)
        cells = burned_count / jnp.float32(len(state.ignitions))
        info = {"burned_cells": cells, "burned_hectares": cells * landscape.cell_size_m ** 2 / 1e4,
                "burned_fraction": state.burned_fraction,
                "reduction": _fraction(state.initial_burned_count - burned_count, len(state.ignitions), self.shape)}
        return self.get_obs(state, params), state, reward, terminated, info

    def state_from(self, params: EnvParams, landscape_index, scenario_index, treated, placed) -> EnvState:
        """Rebuild an episode state from its compact description (e.g. a replay-buffer entry).

        The scenario comes back from the bank; the burned counts and the burn-probability map are not stored, so
        they are zero (observations do not use them).
        """
        bank = jax.tree.map(lambda x: x[landscape_index, scenario_index], params.scenarios)
        return EnvState(
            landscape_index=landscape_index, scenario_index=scenario_index, treated=treated,
            ignitions=bank.ignitions, weather=bank.weather, budget_cells=params.budget_cells[landscape_index],
            placed=placed, burned_count=jnp.int32(0), initial_burned_count=jnp.int32(0),
            burn_probability=jnp.zeros(self.shape, jnp.float32), time=0)

    def _place(self, state: EnvState, cells, params: EnvParams):
        """Treat the valid cells of ``cells`` in order until the budget is spent; returns (treated, placed)."""
        valid = self.action_mask(state, params).ravel()

        def place_one(carry, cell):
            treated, placed = carry
            ok = valid[cell] & ~treated[cell] & (placed < state.budget_cells)
            return (treated.at[cell].set(treated[cell] | ok), placed + ok), None

        (treated, placed), _ = jax.lax.scan(place_one, (state.treated.ravel(), state.placed), cells)
        return treated.reshape(self.shape), placed

    def is_terminated(self, state: EnvState, params: EnvParams):
        return state.placed >= state.budget_cells

    def action_mask(self, state: EnvState, params: EnvParams) -> jnp.ndarray:
        """``bool[H, W]``: burnable (in the untreated landscape) and not yet treated."""
        return pools.take(params.pool, state.landscape_index).burnable & ~state.treated

    # ------------------------------------------------------------------ observation
    def get_obs(self, state: EnvState, params: EnvParams, key=None) -> jnp.ndarray:
        landscape = pools.take(params.pool, state.landscape_index).with_fuel_breaks(state.treated)
        behaviour = rothermel.landscape_fire(landscape, state.weather)
        slowness = fire.slowness(behaviour, landscape.slope_deg, landscape.aspect_deg, jnp.array([0.0, 90.0, 180.0, 270.0]))
        rates = jnp.where(jnp.isfinite(slowness), 1.0 / slowness, 0.0)                     # [4, H, W] m/min
        head = behaviour.R_head_m_min
        aspect = jnp.deg2rad(landscape.aspect_deg)
        channels = [*(jnp.log1p(rates) / 4.0),
                    jnp.log1p(behaviour.I_head_kW_m) / 10.0,
                    head / jnp.maximum(head.max(), 1e-6),
                    landscape.slope_deg / 45.0, jnp.sin(aspect), jnp.cos(aspect),
                    landscape.canopy_cover,
                    state.treated.astype(jnp.float32),
                    self.action_mask(state, params).astype(jnp.float32),
                    jnp.full(self.shape, 1.0 - state.placed / jnp.maximum(state.budget_cells, 1)),
                    ]
        planning = params.scenarios.planning[state.landscape_index, state.scenario_index]
        return jnp.concatenate([jnp.stack(channels, -1), planning], -1).astype(jnp.float32)

    # ------------------------------------------------------------------ spaces
    @property
    def name(self) -> str:
        return "FuelBreak-v0"

    @property
    def num_actions(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def num_channels(self) -> int:
        return OBS_CHANNELS + PLANNING_CHANNELS * (self.planning_ignitions > 0)

    def action_space(self, params: EnvParams | None = None):
        if self.cells_per_step == 1:
            return spaces.Discrete(self.num_actions)
        return spaces.Box(0, self.num_actions - 1, (self.cells_per_step,), jnp.int32)

    def observation_space(self, params: EnvParams | None = None):
        return spaces.Box(-1.0, 2.0, self.shape + (self.num_channels,), jnp.float32)


def _burn_summary(times):
    """Burn probability ``float32[H, W]`` and total burned cells ``int32`` of ``[N, H, W]`` arrival times."""
    burned = jnp.isfinite(times)
    return burned.mean(0, dtype=jnp.float32), burned.sum(dtype=jnp.int32)


def _fraction(burned_count, num_fires: int, shape) -> jnp.ndarray:
    """Burned cells summed over ``num_fires`` fires -> mean burned fraction of the ``shape`` landscape."""
    return burned_count.astype(jnp.float32) / (num_fires * shape[0] * shape[1])


def planning_maps(grid: fire.SpreadGrid, ignitions, max_minutes: float):
    """The planning channels ``float32[H, W, 2]`` of fires from ``ignitions`` ``int[M, 2]`` on an untreated landscape's
    step times ``grid`` (:func:`jaxfire.fire.spread_grid`): burn probability and downstream protection value divided
    by its maximum (:func:`jaxfire.baselines.dpv_scores`), from one solve of the fires."""
    times = jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)
    probability, _ = _burn_summary(times)
    dpv = baselines.dpv_from_times(grid, ignitions, times)
    return jnp.stack([probability, dpv / jnp.maximum(dpv.max(), 1.0)], -1)


def _scenario_bank(key, pool, distribution, count, num_ignitions, max_minutes, neighbours,
                   planning_ignitions) -> Scenarios:
    """Draw ``count`` scenarios per landscape, burn each on the untreated landscape, add its planning maps."""

    def one_landscape(args):
        land_key, landscape = args
        weather_key, ignition_key, planning_key = jax.random.split(land_key, 3)
        weather = _draw_weather(weather_key, distribution, count)

        def ignition_sets(key, n):
            return jax.vmap(lambda k: draw_ignitions(k, landscape.burnable, n, distribution.ignition_probability))(
                jax.random.split(key, count))

        ignitions = ignition_sets(ignition_key, num_ignitions)
        grids = jax.vmap(fire.spread_grid, in_axes=(None, 0, None))(landscape, weather, neighbours)
        times = jax.vmap(jax.vmap(fire.solve, in_axes=(None, 0, None)), in_axes=(0, 0, None))(
            grids, ignitions, max_minutes)
        probability, burned_count = jax.vmap(_burn_summary)(times)
        planning_fires = ignition_sets(planning_key, planning_ignitions)
        if planning_ignitions:
            planning = jax.vmap(planning_maps, in_axes=(0, 0, None))(grids, planning_fires, max_minutes)
        else:
            planning = jnp.zeros(probability.shape + (0,), jnp.float32)
        return Scenarios(ignitions, weather, burned_count, probability, planning, planning_fires)

    keys = jax.random.split(key, pools.size(pool))
    return jax.jit(lambda keys, pool: jax.lax.map(one_landscape, (keys, pool)))(keys, pool)
