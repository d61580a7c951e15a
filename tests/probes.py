"""Rejax-style probe environments with known optimal Q-values, shared by the tests of every learner."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxfire import fire, landscape
from jaxfire.env import FuelBreakEnv, ScenarioDistribution


def probe(budget_cells: int, seed: int = 5):
    """A rejax-style probe: one 4x4 landscape of mixed fuels, one scenario with one fixed ignition and a steady
    wind, so the optimal Q-values of the first state are known by brute force over every placement."""
    fuel = np.asarray(jax.random.choice(jax.random.key(seed), jnp.array([101, 102, 121, 141, 161]), (4, 4)))
    land = landscape.from_arrays(fuel, np.zeros((4, 4)), np.zeros((4, 4)))
    corner = np.zeros((4, 4))
    corner[0, 0] = 1.0
    env = FuelBreakEnv((4, 4), ignitions_per_evaluation=1, planning_ignitions=0)
    params = env.make_params(jax.random.key(0), land, budget_fraction=budget_cells / 16, scenarios_per_landscape=1,
                             max_minutes=60.0, distribution=ScenarioDistribution(
                                 wind_speed_kmh=(10.0, 10.0), wind_from_deg=270.0, wind_direction_spread_deg=0.0,
                                 ignition_probability=corner))
    assert int(params.budget_cells[0]) == budget_cells
    return land, env, params


def optimal_first_q(land, params, budget_cells: int, gamma: float, scale: float) -> np.ndarray:
    """``Q*(s0, a)`` of every cell (``-inf`` on invalid ones) by brute force: rewards are reductions of the burned
    fraction, so a plan's return is scale x (untreated - treated burned fraction) summed with discounts."""
    weather = jax.tree.map(lambda x: x[0, 0], params.scenarios.weather)
    ignitions = params.scenarios.ignitions[0, 0]

    def burned(cells):
        treated = np.zeros(16, bool)
        treated[list(cells)] = True
        treated = jnp.asarray(treated.reshape(4, 4))
        return float(fire.expected_burned_fraction(land.with_fuel_breaks(treated), weather, ignitions, 60.0))

    valid = np.flatnonzero(np.asarray(land.burnable).ravel())  # the ignition cell too: treating it gains nothing
    base = burned(())
    q = np.full(16, -np.inf)
    for a in valid:
        first = base - burned((a,))
        later = max((burned((a,)) - burned((a, b)) for b in valid if b != a), default=0.0) if budget_cells == 2 else 0.0
        q[a] = scale * (first + gamma * later)
    return q


def first_state_q(network, params, env, env_params) -> np.ndarray:
    """``float[16]``: the learned Q-map of the probe's first state (nothing treated yet)."""
    first = env.state_from(env_params, jnp.int32(0), jnp.int32(0), jnp.zeros((4, 4), bool), jnp.int32(0))
    return np.asarray(network.apply(params, env.get_obs(first, env_params)[None])[0]).ravel()
