"""A trained Q-network as a planner: the signature of :mod:`jaxfire.planners`, on any landscape and grid size.

The policy places one cell at a time, each the best valid cell of the network's Q-map on the observation of the
treatment so far (:func:`jaxfire.env.observation`), until the budget is spent.  It simulates its own planning fires
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
from jaxfire.agents.networks import FirstLayer, QNetwork, make_network, masked_argmax
from jaxfire.env import observation, place_cells, untreated_fire
from jaxfire.planners import check_budget
from jaxfire.validation import check_finite_tree, validated


@struct.dataclass
class PlacementPolicy:
    """A trained Q-network as a placement policy with the planners' signature.

    ``config`` holds the environment settings the network was trained with (``neighbours``, ``planning_ignitions``,
    ``max_minutes``).
    """

    params: Any
    network: QNetwork = struct.field(pytree_node=False)
    config: AgentConfig = struct.field(pytree_node=False, default=DQNConfig())

    @validated
    def __call__(self, key, landscape, weather, budget_cells, **unused) -> jnp.ndarray:
        """Greedy masked placement of exactly ``budget_cells`` cells (``bool[H, W]``) on any landscape and grid size.

        Planner keywords (``num_ignitions``, ``max_minutes``, ...) are accepted and ignored: the policy plans with
        the settings it was trained with."""
        check_budget(landscape, budget_cells)
        check_finite_tree(self.params, "the policy's network parameters")
        return greedy_placement(self.params, self.network, key, landscape, weather, budget_cells,
                                self.config.neighbours, self.config.planning_ignitions, self.config.max_minutes)


@functools.partial(jax.jit, static_argnames=("network", "neighbours", "planning_ignitions", "max_minutes"))
def greedy_placement(params, network, key, landscape, weather, budget_cells, neighbours, planning_ignitions,
                     max_minutes) -> jnp.ndarray:
    """``bool[H, W]``: ``budget_cells`` cells placed one at a time, each the best valid cell of ``network`` (ranked
    by its advantages, the first convolution kept up to date cell by cell: :class:`~jaxfire.agents.networks.FirstLayer`)."""
    planning = jnp.zeros(landscape.shape + (0,), jnp.float32)
    if planning_ignitions:
        ignitions = fire.sample_ignitions(key, landscape.burnable, planning_ignitions)
        planning = fire.planning_maps(fire.spread_grid(landscape, weather, neighbours), ignitions, max_minutes)
    budget_cells = jnp.asarray(budget_cells, jnp.int32)
    fire_channels = untreated_fire(landscape, weather)
    first = FirstLayer(params, network, landscape.shape)

    def place(_, carry):
        treated, placed, obs, state = carry
        valid = landscape.burnable & ~treated
        q = network.apply(params, obs[None], ranking_only=True, first_layer=first.output(state, obs))[0]
        cell = masked_argmax(q, valid)
        treated, placed = place_cells(treated, placed, cell[None], valid, budget_cells)
        new = observation(landscape, weather, treated, placed, budget_cells, planning, fire_channels)
        return treated, placed, new, first.update(state, obs, new, cell)

    treated = jnp.zeros(landscape.shape, bool)
    obs = observation(landscape, weather, treated, 0, budget_cells, planning, fire_channels)
    return jax.lax.fori_loop(0, budget_cells, place, (treated, jnp.int32(0), obs, first.start(obs)))[0]


def load_policy(run_dir) -> PlacementPolicy:
    """The greedy policy of a run's latest checkpoint, of either algorithm (:func:`jaxfire.training.train` writes
    run folders; ``config.json`` names the algorithm, and with it the network).

    Reads ``config.json`` and only the checkpoint's ``params`` item (:func:`jaxfire.checkpoint.restore_params`), so
    no environment or scenario bank is rebuilt; the policy works on any grid size.  Raises ``ValueError`` naming the
    file for a damaged config or checkpoint and for non-finite parameters, ``FileNotFoundError`` without them.
    """
    from jaxfire import checkpoint

    config = checkpoint.load_config(run_dir)
    params = checkpoint.restore_params(run_dir)
    check_finite_tree(params, f"the network parameters of the latest checkpoint in {run_dir}")
    return PlacementPolicy(params, make_network(config), config)
