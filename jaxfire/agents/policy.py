"""A trained Q-network as a planner: the signature of :mod:`jaxfire.planners`, on any landscape and grid size.

The policy places cells in rounds, each the best valid cells of the network's Q-map on the observation of the
treatment so far (:func:`jaxfire.env.observation`), until the budget is spent: one cell per round (as it was
trained) while the budget is at most ``max_evaluations`` cells, else the ``k = ceil(budget / max_evaluations)``
best cells of each Q-map, so a plan costs at most ``max_evaluations`` network evaluations on any grid (a 5 % budget
of a 200x200 grid is ~2,000 cells: ~65 s one cell at a time on 2 CPU cores).  It simulates its own planning fires
(drawn with its ``key`` uniformly over burnable cells) for the planning channels, as the ``burn_probability`` and
``dpv`` planners do.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxfire import fire
from jaxfire.agents.config import AgentConfig, DQNConfig
from jaxfire.agents.networks import QNetwork, make_network, masked_argmax
from jaxfire.env import observation, place_cells, untreated_fire
from jaxfire.planners import check_budget
from jaxfire.validation import check_finite_tree, concrete, validated

MAX_EVALUATIONS = 128  # default network evaluations per plan (a 5 % budget of a 50x50 grid is one cell per round)


def cells_per_evaluation(budget_cells, max_evaluations: int | None) -> int:
    """Cells placed per network evaluation: ``ceil(budget_cells / max_evaluations)``; 1 for ``max_evaluations``
    ``None`` or a budget traced under ``jit``/``vmap`` (its value is unknown when the plan's loop is built)."""
    if max_evaluations is not None and (isinstance(max_evaluations, bool) or int(max_evaluations) != max_evaluations
                                        or max_evaluations < 1):
        raise ValueError(f"max_evaluations must be a whole number >= 1 (or None: one cell per evaluation), got "
                         f"{max_evaluations!r}")
    budget = concrete(budget_cells)
    return 1 if max_evaluations is None or budget is None else max(1, -(-int(budget) // int(max_evaluations)))


@struct.dataclass
class PlacementPolicy:
    """A trained Q-network as a placement policy with the planners' signature.

    ``config`` holds the environment settings the network was trained with (``neighbours``, ``planning_ignitions``,
    ``max_minutes``); ``max_evaluations`` bounds the network evaluations per plan (module docstring; ``None``: one
    cell per evaluation, whatever the budget).
    """

    params: Any
    network: QNetwork = struct.field(pytree_node=False)
    config: AgentConfig = struct.field(pytree_node=False, default=DQNConfig())
    max_evaluations: int | None = struct.field(pytree_node=False, default=MAX_EVALUATIONS)

    @validated
    def __call__(self, key, landscape, weather, budget_cells, **unused) -> jnp.ndarray:
        """Greedy masked placement of exactly ``budget_cells`` cells (``bool[H, W]``) on any landscape and grid size.

        Planner keywords (``num_ignitions``, ``max_minutes``, ...) are accepted and ignored: the policy plans with
        the settings it was trained with."""
        check_budget(landscape, budget_cells)
        check_finite_tree(self.params, "the policy's network parameters")
        return greedy_placement(self.params, self.network, key, landscape, weather, budget_cells,
                                self.config.neighbours, self.config.planning_ignitions, self.config.max_minutes,
                                cells_per_evaluation(budget_cells, self.max_evaluations))


@functools.partial(jax.jit, static_argnames=("network", "neighbours", "planning_ignitions", "max_minutes",
                                             "cells_per_round"))
def greedy_placement(params, network, key, landscape, weather, budget_cells, neighbours, planning_ignitions,
                     max_minutes, cells_per_round: int = 1) -> jnp.ndarray:
    """``bool[H, W]``: ``budget_cells`` cells placed ``cells_per_round`` at a time, each round the best valid cells
    of ``network``'s Q-map (the last round only as many as the budget has left)."""
    planning = jnp.zeros(landscape.shape + (0,), jnp.float32)
    if planning_ignitions:
        ignitions = fire.sample_ignitions(key, landscape.burnable, planning_ignitions)
        planning = fire.planning_maps(fire.spread_grid(landscape, weather, neighbours), ignitions, max_minutes)
    budget_cells = jnp.asarray(budget_cells, jnp.int32)
    fire_channels = untreated_fire(landscape, weather)

    def place(_, carry):
        treated, placed = carry
        obs = observation(landscape, weather, treated, placed, budget_cells, planning, fire_channels)
        valid = landscape.burnable & ~treated
        q = network.apply(params, obs[None])[0]
        if cells_per_round == 1:
            cells = masked_argmax(q, valid)[None]
        else:  # the best cells, valid ones first (an invalid one is only drawn when fewer are valid: not placed)
            cells = jax.lax.top_k(jnp.where(valid, q, -jnp.inf).ravel(), cells_per_round)[1]
        return place_cells(treated, placed, cells, valid, budget_cells)

    rounds = (budget_cells + cells_per_round - 1) // cells_per_round
    treated, _ = jax.lax.fori_loop(0, rounds, place, (jnp.zeros(landscape.shape, bool), jnp.int32(0)))
    return treated


def load_policy(run_dir, max_evaluations: int | None = MAX_EVALUATIONS) -> PlacementPolicy:
    """The greedy policy of a run's latest checkpoint, of either algorithm (:func:`jaxfire.training.train` writes
    run folders; ``config.json`` names the algorithm, and with it the network), placing a budget in at most
    ``max_evaluations`` network evaluations (:class:`PlacementPolicy`).

    Reads ``config.json`` and only the checkpoint's ``params`` item (:func:`jaxfire.checkpoint.restore_params`), so
    no environment or scenario bank is rebuilt; the policy works on any grid size.  Raises ``ValueError`` naming the
    file for a damaged config or checkpoint and for non-finite parameters, ``FileNotFoundError`` without them.
    """
    from jaxfire import checkpoint

    cells_per_evaluation(1, max_evaluations)  # a bad max_evaluations is refused before anything is read
    config = checkpoint.load_config(run_dir)
    params = checkpoint.restore_params(run_dir)
    check_finite_tree(params, f"the network parameters of the latest checkpoint in {run_dir}")
    return PlacementPolicy(params, make_network(config), config, max_evaluations)
