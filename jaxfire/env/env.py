"""Fuel-break placement as a gymnax environment: the dynamics.

An episode places fuel breaks on one landscape of a pool until a budget is spent.  After each step the episode's
fixed set of ignitions (common random numbers: drawn once per scenario with its weather, :mod:`jaxfire.env.scenarios`)
is burned on the treated landscape, and the reward is the reduction of the expected burned fraction that step
caused, so rewards sum to the total reduction of the episode.

Conventions: cells are indexed ``row * W + col`` (row 0 = north); burned fractions are fractions of the
landscape's ``H * W`` cells, averaged over the episode's ignitions; times in minutes; areas in cells and hectares.

Action: a cell index in ``[0, H * W)`` (``cells_per_step == 1``) or ``int[cells_per_step]`` indices.  Invalid cells
(outside the grid, non-burnable, already treated, or beyond the remaining budget) are skipped: they cost no budget
and change nothing, but the step is still counted; an episode is truncated after ``max_steps_in_episode`` steps.
Observation: :func:`jaxfire.env.observation.observation`, channels :class:`jaxfire.env.types.Channel`.

Bad input (:mod:`jaxfire.validation`): the constructor and :meth:`FuelBreakEnv.make_params` raise ``ValueError``
naming a bad argument; an action of the wrong dtype or shape raises even inside ``jit``; parameters made invalid
inside ``jit`` (e.g. a NaN ``max_minutes``) give NaN rewards and ``info``.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import environment, spaces

from jaxfire import fire
from jaxfire.env.observation import observation
from jaxfire.env.scenarios import ScenarioDistribution, scenario_bank
from jaxfire.env.types import OBS_CHANNELS, PLANNING_CHANNELS, EnvParams, EnvState, burned_fraction
from jaxfire.landscape import Landscape, pool as pools
from jaxfire.validation import Range, nan_if


def place_cells(treated, placed, cells, valid, budget_cells):
    """Treat the valid cells of ``cells`` (flat indices ``int[K]``) in order until the budget is spent.

    Args:
      treated: ``bool[H, W]`` cells treated so far; ``placed``: their count (``int32[]``).
      cells: flat indices; indices outside ``[0, H * W)`` are invalid (they do not wrap around).
      valid: ``bool[H, W]`` cells that may be treated; ``budget_cells``: the episode's budget.

    Returns:
      ``(treated bool[H, W], placed int32[])``.
    """
    flat, valid = treated.ravel(), valid.ravel()

    def place_one(carry, cell):
        flat, placed = carry
        inside = (cell >= 0) & (cell < flat.size)
        cell = jnp.where(inside, cell, 0)
        ok = inside & valid[cell] & ~flat[cell] & (placed < budget_cells)
        return (flat.at[cell].set(flat[cell] | ok), placed + ok), None

    (flat, placed), _ = jax.lax.scan(place_one, (flat, placed), jnp.asarray(cells, jnp.int32))
    return flat.reshape(treated.shape), placed


class FuelBreakEnv(environment.Environment[EnvState, EnvParams]):
    """Place fuel breaks on a pool of ``[H, W]`` landscapes (see the module docstring for the spaces).

    Args:
      shape: ``(H, W)`` of the pool's landscapes.
      ignitions_per_evaluation: ``N`` hidden fires burned after every step.
      cells_per_step: cells an action places.
      neighbours: fire-spread stencil, 8, 16 or 32.
      planning_ignitions: ``M`` fires behind the planning channels (0 drops the channels).
    """

    def __init__(self, shape: tuple[int, int], ignitions_per_evaluation: int = 32, cells_per_step: int = 1,
                 neighbours: int = 16, planning_ignitions: int = 64):
        super().__init__()
        if np.ndim(shape) != 1 or len(shape) != 2:
            raise ValueError(f"shape must be (H, W) with H, W >= 1, got {shape!r}")
        if neighbours not in (8, 16, 32):
            raise ValueError(f"neighbours must be 8, 16 or 32, got {neighbours!r}")
        count, positive = Range(0, integer=True), Range(1, integer=True)
        self.shape = tuple(positive.value(n, "shape (H, W)") for n in shape)
        self.ignitions_per_evaluation = positive.value(ignitions_per_evaluation, "ignitions_per_evaluation")
        self.cells_per_step = positive.value(cells_per_step, "cells_per_step")
        self.neighbours = int(neighbours)
        self.planning_ignitions = count.value(planning_ignitions, "planning_ignitions")

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
        if not isinstance(pool, Landscape):
            raise TypeError(f"pool must be a jaxfire Landscape (layers [P, H, W] or [H, W]), got {type(pool).__name__}")
        if not isinstance(distribution, ScenarioDistribution):
            raise TypeError(f"distribution must be a ScenarioDistribution, got {type(distribution).__name__}")
        if pool.fuel_model.ndim == 2:
            pool = pools.stack([pool])
        if pool.shape != self.shape:
            raise ValueError(f"pool landscapes are {pool.shape}, the environment was built for {self.shape}")
        budget_fraction = Range(0.0, 1.0, low_open=True).value(budget_fraction, "budget_fraction")
        max_minutes = Range(0.0, low_open=True).value(max_minutes, "max_minutes")
        scenarios_per_landscape = Range(1, integer=True).value(scenarios_per_landscape, "scenarios_per_landscape")
        burnable = np.asarray(pool.burnable).reshape(pools.size(pool), -1).sum(1)
        if np.any(burnable == 0):
            raise ValueError(f"landscape(s) {np.flatnonzero(burnable == 0).tolist()} of the pool have no burnable cells")
        budget = np.maximum(1, np.floor(budget_fraction * burnable)).astype(np.int32)
        scenarios = scenario_bank(key, pool, distribution, scenarios_per_landscape, self.ignitions_per_evaluation,
                                  float(max_minutes), self.neighbours, self.planning_ignitions)
        steps = int(np.ceil(budget.max() / self.cells_per_step))
        return EnvParams(pool=pool, scenarios=scenarios, budget_cells=jnp.asarray(budget),
                         max_minutes=float(max_minutes), max_steps_in_episode=2 * steps + 8)

    @functools.cached_property
    def default_params(self) -> EnvParams:
        """Four synthetic landscapes of the environment's shape (key 0), four scenarios each, default budget and
        weather."""
        pool = pools.synthetic_pool(jax.random.key(0), 4, self.shape)
        return self.make_params(jax.random.fold_in(jax.random.key(0), 1), pool, scenarios_per_landscape=4)

    # ------------------------------------------------------------------ dynamics
    def reset_env(self, key, params: EnvParams):
        landscape_key, scenario_key = jax.random.split(key)
        landscape_index = jax.random.randint(landscape_key, (), 0, pools.size(params.pool))
        scenario_index = jax.random.randint(scenario_key, (), 0, params.scenarios.burned_count.shape[1])
        state = self.state_from(params, landscape_index, scenario_index, jnp.zeros(self.shape, bool), jnp.int32(0))
        burned = params.scenarios.burned_count[landscape_index, scenario_index]
        state = state.replace(burned_count=burned, initial_burned_count=burned)
        return self.get_obs(state, params), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        action = jnp.atleast_1d(jnp.asarray(action))
        if action.shape != (self.cells_per_step,) or not jnp.issubdtype(action.dtype, jnp.integer):
            raise ValueError(f"action must be {self.cells_per_step} integer cell index(es), got {action.dtype} "
                             f"of shape {action.shape}")
        treated, placed = place_cells(state.treated, state.placed, action, self.action_mask(state, params),
                                      state.budget_cells)
        landscape = pools.take(params.pool, state.landscape_index)
        grid = fire.treat_grid(self.untreated_grid(state, params), landscape.burnable, treated)
        # Only what the new cells can change is re-solved; equal to a full solve_many bit for bit.
        times = fire.resolve_many(grid, state.ignitions, params.max_minutes, state.times, treated & ~state.treated)
        _, burned_count = fire.burned_summary(times)
        fires = len(state.ignitions)
        # A count of -1 means NaN arrival times (parameters made invalid inside jit, jaxfire.validation): rewards and
        # info become NaN.  The reward gets + 0 (not a select) and info its NaN before any arithmetic, so that valid
        # steps keep exactly their compiled arithmetic (tests/test_golden.py).
        invalid = burned_count < 0
        counts = lambda count: nan_if(invalid, count.astype(jnp.float32))  # noqa: E731
        reward = burned_fraction(state.burned_count - burned_count, fires, self.shape) + nan_if(invalid, 0.0)
        state = state.replace(treated=treated, placed=placed, burned_count=burned_count, time=state.time + 1,
                              times=times)
        cells = counts(burned_count) / jnp.float32(fires)
        info = {"burned_cells": cells, "burned_hectares": cells * landscape.cell_size_m ** 2 / 1e4,
                "burned_fraction": burned_fraction(counts(burned_count), fires, self.shape),
                "reduction": burned_fraction(counts(state.initial_burned_count - burned_count), fires, self.shape)}
        return self.get_obs(state, params), state, reward, self.is_terminated(state, params), info

    def state_from(self, params: EnvParams, landscape_index, scenario_index, treated, placed) -> EnvState:
        """Rebuild an episode state from its compact description (e.g. a replay-buffer entry).

        The scenario comes back from the bank; the burned counts are not stored, so they are zero (observations do
        not use them), and the fires' times are not solved yet (``-inf``): the next step solves them in full.
        """
        bank = jax.tree.map(lambda x: x[landscape_index, scenario_index], params.scenarios)
        fires = bank.ignitions.shape[-2]
        return EnvState(
            landscape_index=landscape_index, scenario_index=scenario_index, treated=treated,
            ignitions=bank.ignitions, weather=bank.weather, budget_cells=params.budget_cells[landscape_index],
            placed=placed, burned_count=jnp.int32(0), initial_burned_count=jnp.int32(0), time=0,
            times=jnp.full((fires,) + self.shape, -jnp.inf, jnp.float32))

    def untreated_grid(self, state: EnvState, params: EnvParams) -> fire.SpreadGrid:
        """The episode's step times on its untreated landscape (from the scenario bank, computed once per scenario
        by :meth:`make_params`)."""
        return jax.tree.map(lambda x: x[state.landscape_index, state.scenario_index], params.scenarios.grid)

    def is_terminated(self, state: EnvState, params: EnvParams):
        return state.placed >= state.budget_cells

    def action_mask(self, state: EnvState, params: EnvParams) -> jnp.ndarray:
        """``bool[H, W]``: burnable (in the untreated landscape) and not yet treated."""
        return pools.take(params.pool, state.landscape_index).burnable & ~state.treated

    def get_obs(self, state: EnvState, params: EnvParams, key=None) -> jnp.ndarray:
        """:func:`jaxfire.env.observation.observation` of the episode."""
        scenario = (state.landscape_index, state.scenario_index)
        return observation(pools.take(params.pool, state.landscape_index), state.weather, state.treated, state.placed,
                           state.budget_cells, params.scenarios.planning[scenario],
                           params.scenarios.fire_channels[scenario])

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
