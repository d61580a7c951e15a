"""The placement policy's rounds: a budget of B cells in at most ``max_evaluations`` network evaluations.

An untrained network (random parameters, no planning fires) is enough: what is checked is which cells of which
Q-maps the policy places, against the Q-map computed here from the public observation, and how many times the
network runs (counted by a wrapper around it).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import landscape
from jaxfire.agents import PlacementPolicy, load_policy
from jaxfire.agents.config import DQNConfig
from jaxfire.agents.networks import QNetwork
from jaxfire.agents.policy import cells_per_evaluation
from jaxfire.env import observation, untreated_fire
from jaxfire.weather import Weather

CONFIG = DQNConfig(features=(8, 8), dilations=(1, 2), planning_ignitions=0, max_minutes=60.0)
WEATHER = Weather(20.0, 270.0)


class Counted:
    """``network`` whose ``apply`` counts its calls as they run (inside ``jit``, via a host callback)."""

    def __init__(self, network):
        self.network, self.calls = network, 0

    def apply(self, params, obs):
        jax.debug.callback(self._count)
        return self.network.apply(params, obs)

    def _count(self):
        self.calls += 1


@pytest.fixture(scope="module")
def land():
    return landscape.synthetic(jax.random.key(5), (20, 20))


@pytest.fixture(scope="module")
def params(land):
    network = QNetwork(CONFIG.features, CONFIG.dilations, CONFIG.dueling)
    obs = observation(land, WEATHER, jnp.zeros(land.shape, bool), 0, 1, jnp.zeros(land.shape + (0,)))
    return network.init(jax.random.key(0), obs[None])


def plan(params, land, budget, max_evaluations):
    """``(plan bool[H, W], network evaluations)`` of a fresh policy."""
    network = Counted(QNetwork(CONFIG.features, CONFIG.dilations, CONFIG.dueling))
    treated = np.asarray(PlacementPolicy(params, network, CONFIG, max_evaluations)(jax.random.key(1), land, WEATHER,
                                                                                    budget))
    jax.effects_barrier()
    return treated, network.calls


@pytest.mark.parametrize("budget,max_evaluations,k", [(1, 128, 1), (128, 128, 1), (129, 128, 2), (2000, 128, 16),
                                                      (30, None, 1), (30, 1, 30), (0, 4, 1)])
def test_cells_per_evaluation_is_the_budget_over_the_evaluations_rounded_up(budget, max_evaluations, k):
    assert cells_per_evaluation(budget, max_evaluations) == k


def test_a_traced_budget_places_one_cell_per_evaluation():
    assert jax.jit(lambda b: jnp.int32(cells_per_evaluation(b, 4)))(100) == 1


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_a_bad_max_evaluations_is_refused_by_name(bad, tmp_path):
    with pytest.raises(ValueError, match="max_evaluations must be a whole number >= 1"):
        cells_per_evaluation(10, bad)
    with pytest.raises(ValueError, match="max_evaluations"):
        load_policy(tmp_path / "not-read", max_evaluations=bad)


def test_one_round_places_the_best_valid_cells_of_the_first_q_map(params, land):
    budget = 30
    treated, calls = plan(params, land, budget, max_evaluations=1)
    obs = observation(land, WEATHER, jnp.zeros(land.shape, bool), 0, budget, jnp.zeros(land.shape + (0,)),
                      untreated_fire(land, WEATHER))
    q = np.asarray(QNetwork(CONFIG.features, CONFIG.dilations, CONFIG.dueling).apply(params, obs[None])[0])
    q = np.where(np.asarray(land.burnable), q, -np.inf).ravel()
    best = np.zeros(q.size, bool)
    best[np.argsort(-q, kind="stable")[:budget]] = True
    assert calls == 1 and treated.sum() == budget
    np.testing.assert_array_equal(treated.ravel(), best)


@pytest.mark.parametrize("budget,max_evaluations,rounds", [(30, 4, 4), (30, 7, 6), (31, 128, 31), (64, 8, 8)])
def test_the_budget_is_placed_exactly_in_ceil_budget_over_k_rounds(params, land, budget, max_evaluations, rounds):
    treated, calls = plan(params, land, budget, max_evaluations)
    assert calls == rounds and treated.sum() == budget
    assert not (treated & ~np.asarray(land.burnable)).any()


def test_a_budget_within_max_evaluations_plans_as_one_cell_at_a_time(params, land):
    one_at_a_time, calls = plan(params, land, 25, max_evaluations=None)
    default, default_calls = plan(params, land, 25, max_evaluations=128)
    assert calls == default_calls == 25
    np.testing.assert_array_equal(default, one_at_a_time)
