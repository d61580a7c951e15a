"""FuelBreakEnv: episode mechanics, rewards, batching and bad inputs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.wrappers.purerl import LogWrapper

from jaxfire import fire, landscape
from jaxfire.env import OBS_CHANNELS, PLANNING_CHANNELS, Channel, FuelBreakEnv, ScenarioDistribution
from jaxfire.fire import planning_maps
from jaxfire.weather import Weather

SHAPE = (16, 16)


@pytest.fixture(scope="module")
def setup():
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=6)
    pool = landscape.synthetic_pool(jax.random.key(1), 3, SHAPE, roads=1, rivers=0, lakes=0)
    params = env.make_params(jax.random.key(0), pool, budget_fraction=0.04, scenarios_per_landscape=3,
                             max_minutes=240.0)
    return env, params, jax.jit(env.step), jax.jit(env.reset)


def run_episode(env, params, step, reset, key, policy_seed=0, invalid_every=0):
    rng = np.random.default_rng(policy_seed)
    obs, state = reset(key, params)
    rewards, first = [], state
    for t in range(int(params.max_steps_in_episode)):
        if invalid_every and t % invalid_every == 0:
            action = int(np.flatnonzero(~np.asarray(env.action_mask(state, params)).ravel())[0])
        else:
            action = int(rng.choice(np.flatnonzero(np.asarray(env.action_mask(state, params)).ravel())))
        obs, next_state, reward, terminated, truncated, info = step(jax.random.key(t), state, action, params)
        rewards.append(float(reward))
        if bool(terminated) or bool(truncated):
            return first, state, rewards, info, bool(terminated)
        state = next_state
    raise AssertionError("episode never ended")


def test_episode_spends_budget_exactly_and_rewards_sum_to_reduction(setup):
    env, params, step, reset = setup
    first, last, rewards, info, terminated = run_episode(env, params, step, reset, jax.random.key(5), invalid_every=3)
    assert terminated
    budget = int(first.budget_cells)
    assert budget == int(params.budget_cells[int(first.landscape_index)])
    # The final state before auto-reset had budget - 1 placed; the terminal step placed the last one.
    assert int(last.placed) == budget - 1 and int(last.treated.sum()) == budget - 1
    assert sum(rewards) == pytest.approx(float(info["reduction"]), abs=1e-6)
    # Independent check of the final burned fraction: burn the episode's ignitions on the treated landscape.
    land = landscape.take(params.pool, int(first.landscape_index))
    assert float(first.burned_fraction) == pytest.approx(
        float(fire.expected_burned_fraction(land, first.weather, first.ignitions, 240.0)), abs=1e-6)
    # Invalid actions (every third step) earned exactly zero.
    assert all(r == 0.0 for r in rewards[::3])


def test_invalid_and_repeated_cells_cost_nothing(setup):
    env, params, step, reset = setup
    _, state = reset(jax.random.key(2), params)
    cell = int(np.flatnonzero(np.asarray(env.action_mask(state, params)).ravel())[0])
    _, once, *_ = step(jax.random.key(0), state, cell, params)
    _, twice, reward, *_ = step(jax.random.key(0), once, cell, params)
    assert int(once.placed) == 1 and int(twice.placed) == 1 and float(reward) == 0.0
    assert int(twice.treated.sum()) == 1 and not bool(env.action_mask(twice, params).ravel()[cell])


def test_observation_channels(setup):
    env, params, step, reset = setup
    obs, state = reset(jax.random.key(3), params)
    assert obs.shape == SHAPE + (OBS_CHANNELS + PLANNING_CHANNELS,) and env.observation_space(params).shape == obs.shape
    assert len(Channel) == OBS_CHANNELS + PLANNING_CHANNELS
    np.testing.assert_array_equal(obs[..., Channel.VALID], np.asarray(env.action_mask(state, params), np.float32))
    np.testing.assert_allclose(obs[..., Channel.BUDGET_LEFT], 1.0)
    # Planning channels: a burn probability and a DPV scaled to max 1, zero where nothing burns; drawn from fires
    # other than the episode's (whose burn probability the observation must not reveal).
    probability = np.asarray(obs[..., Channel.PLANNING_BURN_PROBABILITY])
    dpv = np.asarray(obs[..., Channel.PLANNING_DPV])
    land = landscape.take(params.pool, int(state.landscape_index))
    burnable = np.asarray(land.burnable)
    assert 0 < probability.max() <= 1 and np.all(probability[~burnable] == 0) and dpv.max() == pytest.approx(1.0)
    assert np.all(dpv[probability == 0] == 0)
    hidden = np.asarray(fire.burn_probability(land, state.weather, state.ignitions, 240.0))
    assert not np.allclose(probability, hidden)
    cell = int(np.argmax(np.asarray(obs[..., Channel.VALID]).ravel()))
    obs2, state2, *_ = step(jax.random.key(0), state, cell, params)
    r, c = divmod(cell, SHAPE[1])
    assert obs2[r, c, Channel.TREATED] == 1.0 and obs2[r, c, Channel.VALID] == 0.0
    assert np.all(obs2[r, c, :Channel.HEAD_RATE] == 0.0)  # a fuel break neither spreads nor burns
    assert float(obs2[0, 0, Channel.BUDGET_LEFT]) == pytest.approx(1 - 1 / int(state.budget_cells))
    planning = slice(Channel.PLANNING_BURN_PROBABILITY, None)
    np.testing.assert_array_equal(obs2[..., planning], obs[..., planning])  # planned before treatment: static


def test_observation_of_a_treatment_is_the_untreated_fire_masked():
    """The fire channels stored once per scenario, masked by the treatment, equal those of the treated landscape
    recomputed from Rothermel (a treated cell burns nothing, an untreated one is unaffected), bit for bit; and the
    head-rate channel is rescaled when the fastest cell is treated."""
    from jaxfire.env import observation, untreated_fire

    for seed in range(4):
        land = landscape.synthetic(jax.random.key(seed), (12, 15))
        weather = Weather(8.0 * seed, 97.0 * seed)
        untreated = untreated_fire(land, weather)
        treated = jax.random.uniform(jax.random.key(10 + seed), land.shape) < 0.3
        fastest = np.unravel_index(int(jnp.argmax(untreated[..., 5])), land.shape)
        treated = treated.at[fastest].set(True)
        obs = observation(land, weather, treated, 2, 9, jnp.zeros(land.shape + (0,)), untreated)
        recomputed = untreated_fire(land.with_fuel_breaks(treated), weather)
        np.testing.assert_array_equal(obs[..., :Channel.HEAD_RATE], recomputed[..., :5])
        head = np.asarray(recomputed[..., 5])
        np.testing.assert_allclose(obs[..., Channel.HEAD_RATE], head / head.max(), rtol=1e-6)
        assert head.max() < float(untreated[..., 5].max())
        np.testing.assert_array_equal(obs, observation(land, weather, treated, 2, 9, jnp.zeros(land.shape + (0,))))


def test_planning_maps_on_a_strip_by_hand():
    """A 1x6 strip of grass lit at its west end: every cell burns; cell c (c >= 1) protects the 6 - c cells from
    itself eastward, the ignition cell protects nothing (treating it does not stop its fire)."""
    strip = landscape.from_arrays(np.full((1, 6), 102), np.zeros((1, 6)), np.zeros((1, 6)))
    maps = np.asarray(planning_maps(fire.spread_grid(strip, Weather()), jnp.array([[0, 0]]), 10_000.0))
    np.testing.assert_allclose(maps[0, :, 0], 1.0)
    np.testing.assert_allclose(maps[0, :, 1], np.array([0, 5, 4, 3, 2, 1]) / 5)


@pytest.mark.slow
def test_no_planning_channels():
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=2, planning_ignitions=0)
    params = env.make_params(jax.random.key(0), landscape.synthetic(jax.random.key(2), SHAPE), scenarios_per_landscape=1)
    obs, _ = env.reset(jax.random.key(0), params)
    assert obs.shape == SHAPE + (OBS_CHANNELS,) == env.observation_space(params).shape
    with pytest.raises(ValueError, match="planning_ignitions"):
        FuelBreakEnv(SHAPE, planning_ignitions=-1)


@pytest.mark.slow
def test_same_key_same_episode_and_batched_equals_looped(setup):
    env, params, step, reset = setup
    keys = jax.random.split(jax.random.key(7), 4)
    obs, states = jax.vmap(reset, in_axes=(0, None))(keys, params)
    actions = jnp.array([int(np.flatnonzero(np.asarray(env.action_mask(jax.tree.map(lambda x: x[i], states), params))
                                            .ravel())[i]) for i in range(4)])
    batched = jax.vmap(step, in_axes=(0, 0, 0, None))(keys, states, actions, params)
    for i in range(4):
        single_obs, single_state = reset(keys[i], params)
        single = step(keys[i], single_state, actions[i], params)
        np.testing.assert_allclose(np.asarray(batched[0][i]), np.asarray(single[0]), rtol=1e-5, atol=1e-6)
        assert float(batched[2][i]) == float(single[2])
        np.testing.assert_array_equal(np.asarray(batched[1].treated[i]), np.asarray(single[1].treated))


@pytest.mark.slow
def test_log_wrapper_and_multi_cell_steps():
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=4, cells_per_step=3)
    params = env.make_params(jax.random.key(0), landscape.synthetic(jax.random.key(2), SHAPE), budget_fraction=0.03,
                             scenarios_per_landscape=2)
    wrapped = LogWrapper(env)
    obs, state = wrapped.reset(jax.random.key(1), params)
    valid = np.flatnonzero(np.asarray(env.action_mask(state.env_state, params)).ravel())
    action = jnp.array([valid[0], valid[0], valid[1]])          # a duplicate is placed once
    obs, state, reward, terminated, truncated, info = wrapped.step(jax.random.key(2), state, action, params)
    assert int(state.env_state.placed) == 2 and env.action_space(params).shape == (3,)
    assert "returned_episode_returns" in info


@pytest.mark.slow
def test_ignition_probability_map_and_directional_wind():
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=5)
    land = landscape.synthetic(jax.random.key(4), SHAPE, roads=0, rivers=0, lakes=0)
    weights = np.zeros(SHAPE)
    weights[:4, :4] = 1.0
    distribution = ScenarioDistribution(wind_speed_kmh=(5.0, 6.0), wind_from_deg=90.0, wind_direction_spread_deg=0.0,
                                        ignition_probability=weights)
    params = env.make_params(jax.random.key(0), land, scenarios_per_landscape=4, distribution=distribution)
    ignitions = np.asarray(params.scenarios.ignitions).reshape(-1, 2)
    assert ignitions.max() < 4
    np.testing.assert_allclose(params.scenarios.weather.wind_from_deg, 90.0)
    assert np.all((params.scenarios.weather.wind_speed_kmh >= 5.0) & (params.scenarios.weather.wind_speed_kmh <= 6.0))


def test_bad_parameters_raise():
    env = FuelBreakEnv(SHAPE)
    land = landscape.synthetic(jax.random.key(0), SHAPE)
    with pytest.raises(ValueError, match="budget_fraction"):
        env.make_params(jax.random.key(0), land, budget_fraction=1.5)
    with pytest.raises(ValueError, match="no burnable cells"):
        env.make_params(jax.random.key(0), land.with_fuel_breaks(jnp.ones(SHAPE, bool)))
    with pytest.raises(ValueError, match="built for"):
        env.make_params(jax.random.key(0), landscape.synthetic(jax.random.key(0), (12, 12)))
