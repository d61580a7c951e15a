"""DQN pieces: replay n-step returns, masking, seeds, and a probe environment with a known best cell."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import baselines, landscape, planners
from jaxfire.agents import dqn, replay as replay_lib
from jaxfire.agents.networks import QNetwork, masked_argmax
from jaxfire.env import FuelBreakEnv, ScenarioDistribution
from probes import first_state_q, optimal_first_q, probe

TINY = dict(landscape_side=12, num_landscapes=4, ignitions_per_evaluation=4, scenarios_per_landscape=2, num_envs=2, buffer_per_env=32,
            batch_size=8, learning_starts=4, features=(8, 8), dilations=(1, 2), total_updates=12)


def filled_replay(rewards, dones, capacity=8, cells=9):
    """A 1-environment buffer with the given reward/done sequence (placed = step index, to identify entries)."""
    replay = replay_lib.create(1, capacity, cells)
    for t, (r, d) in enumerate(zip(rewards, dones)):
        replay = replay_lib.add(replay, jnp.array([0]), jnp.array([0]), jnp.zeros((1, 3, 3), bool),
                                jnp.array([t]), jnp.array([t]), jnp.array([r], jnp.float32), jnp.array([d]))
    return replay


def test_n_step_return_by_hand():
    rewards, dones = [1.0, 2.0, 4.0, 8.0, 16.0], [False, False, True, False, False]
    replay = filled_replay(rewards, dones)
    start, end, action, ret, discount = replay_lib.sample(jax.random.key(0), replay, 256, 2, 0.5)
    for t0, r, d, t_end in zip(np.asarray(start["placed"]), np.asarray(ret), np.asarray(discount),
                               np.asarray(end["placed"])):
        expected = {0: (1 + 0.5 * 2, 0.25), 1: (2 + 0.5 * 4, 0.0), 2: (4.0, 0.0)}[t0]  # t=2 ends the episode
        assert (r, d) == pytest.approx(expected) and t_end == t0 + 2
    assert set(np.asarray(start["placed"])) == {0, 1, 2}  # entries 3, 4 lack two written successors


def test_buffer_wraps_around_and_samples_only_written_entries():
    replay = filled_replay([float(t) for t in range(11)], [False] * 11, capacity=8)
    assert int(replay.size) == 8 and int(replay.position) == 3
    start, end, action, ret, _ = replay_lib.sample(jax.random.key(1), replay, 512, 3, 1.0)
    starts = np.asarray(start["placed"])
    assert set(starts) == {3, 4, 5, 6, 7}     # entries 0-2 were overwritten; 8-10 lack 3 successors
    np.testing.assert_allclose(np.asarray(ret), 3 * starts + 3)  # t + (t+1) + (t+2)
    np.testing.assert_array_equal(np.asarray(end["placed"]), starts + 3)
    empty = replay_lib.create(2, 4, 2500)
    stored = sum(leaf.nbytes for leaf in jax.tree.leaves(empty) if leaf.ndim >= 2) / (2 * 4)
    assert replay_lib.bytes_per_transition(2500) == stored == 313 + 22


def test_masked_argmax_never_picks_a_masked_cell():
    key = jax.random.key(2)
    q = jax.random.normal(key, (64, 7, 9)) * 10
    mask = jax.random.uniform(jax.random.key(3), (64, 7, 9)) < 0.2
    mask = mask.at[:, 0, 0].set(True)
    best = np.asarray(masked_argmax(q, mask))
    flat_mask, flat_q = np.asarray(mask).reshape(64, -1), np.asarray(q).reshape(64, -1)
    assert flat_mask[np.arange(64), best].all()
    np.testing.assert_array_equal(flat_q[np.arange(64), best], np.where(flat_mask, flat_q, -np.inf).max(1))


def test_network_works_on_any_grid_size():
    net = QNetwork((8, 8), (1, 2))
    params = net.init(jax.random.key(0), jnp.zeros((1, 12, 12, 13)))
    assert net.apply(params, jnp.zeros((3, 20, 31, 13))).shape == (3, 20, 31)


@pytest.mark.slow
def test_training_takes_only_valid_actions_and_seeds_differ():
    config = dqn.DQNConfig(**TINY)
    learner = dqn.build(config)
    train = jax.jit(dqn.make_train(config, learner.env, learner.env_params))
    out = jax.vmap(train)(jax.random.split(jax.random.key(0), 2))
    params = out["runner_state"].params
    leaves = jax.tree.leaves(jax.tree.map(lambda p: np.asarray(p[0] - p[1]), params))
    assert max(np.abs(leaf).max() for leaf in leaves) > 0, "two seeds trained identical agents"
    replay = jax.tree.map(lambda x: x[0], out["runner_state"].envs.replay)
    # Every stored action was valid in its state: rebuild the states and check their masks.
    n = int(replay.size)
    compact = dict(landscape_index=replay.landscape_index[:, :n].ravel(), scenario_index=replay.scenario_index[:, :n].ravel(),
                   treated=jnp.unpackbits(replay.treated_bits[:, :n].reshape(-1, replay.treated_bits.shape[-1]), axis=-1)
                   .astype(bool), placed=replay.placed[:, :n].ravel())
    _, masks = dqn.observe(learner.env, learner.env_params, compact)
    actions = np.asarray(replay.action[:, :n]).ravel()
    assert np.asarray(masks).reshape(len(actions), -1)[np.arange(len(actions)), actions].all()
    assert np.isfinite(np.asarray(out["metrics"]["reward"])).all()


def corridor(shape=(9, 9), neck_row=4):
    """Two burnable halves joined by one burnable cell in a north-south wall of non-burnable cells."""
    fuel = np.full(shape, 102)
    wall = shape[1] // 2
    fuel[:, wall] = 91
    fuel[neck_row, wall] = 102
    return landscape.from_arrays(fuel, np.zeros(shape), np.zeros(shape)), (neck_row, wall)


def single_cell_gains(land, params) -> np.ndarray:
    """Brute force: the expected reward ``float[H, W]`` of treating each single cell, over the bank's scenarios."""
    from jaxfire import fire

    H, W = land.shape
    scenarios = params.scenarios
    weathers = jax.tree.map(lambda x: x[0], scenarios.weather)

    def burned(treated):
        per_scenario = jax.vmap(fire.expected_burned_fraction, in_axes=(None, 0, 0, None))(
            land.with_fuel_breaks(treated), weathers, scenarios.ignitions[0], 480.0)
        return per_scenario.mean()

    cells = jnp.eye(H * W, dtype=bool).reshape(-1, H, W)
    gains = float(burned(jnp.zeros((H, W), bool))) - np.asarray(jax.lax.map(burned, cells)).reshape(H, W)
    return np.where(np.asarray(land.burnable), gains, -np.inf)


@pytest.mark.slow
def test_probe_learns_the_known_best_cell():
    """Budget 1, ignitions only west of the wall: only cells at the neck cut the fires off the east half (the neck
    and its two neighbours in the corridor row gain ~40x any other cell); DQN must pick a near-best one."""
    land, neck = corridor()
    env = FuelBreakEnv(land.shape, ignitions_per_evaluation=4, planning_ignitions=0)
    west = np.zeros(land.shape)
    west[:, :3] = 1.0
    params = env.make_params(jax.random.key(0), land, budget_fraction=0.02, scenarios_per_landscape=4,
                             distribution=ScenarioDistribution(wind_speed_kmh=(15.0, 25.0), wind_from_deg=270.0,
                                                               wind_direction_spread_deg=10.0,
                                                               ignition_probability=west))
    assert int(params.budget_cells[0]) == 1
    config = dqn.DQNConfig(landscape_side=9, num_envs=8, total_updates=250, buffer_per_env=64, batch_size=32, n_step=1,
                           learning_starts=4, features=(16, 16, 16), dilations=(1, 2, 4), epsilon_fraction=0.6,
                           learning_rate=1e-3, target_tau=0.05, planning_ignitions=0)
    out = jax.jit(dqn.make_train(config, env, params))(jax.random.key(1))
    policy = dqn.PlacementPolicy(out["runner_state"].params, dqn.QNetwork(config.features, config.dilations),
                                 config)
    weather = jax.tree.map(lambda x: x[0, 0], params.scenarios.weather)
    placed = np.asarray(policy(None, land, weather, 1))
    gains = single_cell_gains(land, params)
    ordinary = np.median(gains[np.isfinite(gains)])
    assert gains[neck] > 20 * ordinary, "the probe lost its bottleneck"
    assert placed.sum() == 1 and gains[placed][0] >= 0.9 * gains.max(), \
        f"placed {np.argwhere(placed).tolist()} (gain {gains[placed][0]:.3f}); best gain {gains.max():.3f}"


@pytest.mark.slow
def test_demonstrations_replay_the_baseline_plan_and_pretraining_imitates_it():
    config = dqn.DQNConfig(**{**TINY, "buffer_per_env": 64}, demo_baseline="dpv", demo_steps=40,
                           pretrain_steps=300, learning_rate=1e-3, planning_ignitions=16)
    learner = dqn.build(config)
    state = jax.jit(learner.init)(jax.random.key(0))
    replay = state.envs.demos  # the demonstration buffer; the training replay starts empty
    assert int(replay.size) == 40 and bool(replay.demo[:, :40].all()) and int(state.update) == 0
    assert int(state.envs.replay.size) == 0
    # The first episode of environment 0 placed the DPV plan of its landscape, weather and planning fires, in DPV order.
    end = int(np.argmax(np.asarray(replay.done[0])))
    index, scenario = int(replay.landscape_index[0, 0]), int(replay.scenario_index[0, 0])
    land = landscape.take(learner.env_params.pool, index)
    weather = jax.tree.map(lambda x: x[index, scenario], learner.env_params.scenarios.weather)
    budget = int(learner.env_params.budget_cells[index])
    assert end + 1 == budget
    fires = learner.env_params.scenarios.planning_ignitions[index, scenario]
    scores = np.asarray(baselines.dpv_scores(land, weather, fires, config.max_minutes))
    acted = np.asarray(replay.action[0, :end + 1])
    assert len(set(acted.tolist())) == budget and np.asarray(land.burnable).ravel()[acted].all()
    top = np.sort(np.where(np.asarray(land.burnable), scores, -1).ravel())[::-1][:budget]
    np.testing.assert_array_equal(scores.ravel()[acted], top)  # the top cells, highest DPV first
    plan = np.asarray(baselines.dpv(jax.random.key(9), land, weather, budget, ignitions=fires))
    # Every demonstrated step stores the teacher's accepted cells (demo_target "next": the cell it placed).
    accepted = np.unpackbits(np.asarray(replay.accepted_bits[0, :end + 1]), axis=-1)[:, :land.burnable.size]
    np.testing.assert_array_equal(accepted.astype(bool), np.eye(land.burnable.size, dtype=bool)[acted])
    # Pre-training with the imitation loss: the greedy policy on that scenario's observations now mostly
    # places the demonstrator's cells (random placement: 5 %).
    greedy = jax.jit(lambda p, treated, placed: masked_argmax(learner.network.apply(p, dqn.observe(
        learner.env, learner.env_params, dict(landscape_index=jnp.array([index]), scenario_index=jnp.array([scenario]),
                                              treated=treated.reshape(1, -1), placed=placed[None]))[0])[0],
        ~treated.reshape(land.shape) & land.burnable))
    treated = np.zeros(land.shape, bool)
    for placed in range(budget):
        treated.ravel()[int(greedy(state.params, jnp.asarray(treated), jnp.int32(placed)))] = True
    assert (treated & plan).sum() >= budget / 2, f"{(treated & plan).sum()} of {budget} cells agree with DPV"


@pytest.mark.slow
def test_dagger_labels_every_visited_state_with_the_teachers_next_cut():
    """With dagger every transition in the training replay carries the cut-lines teacher's answer at the agent's
    state (recomputed here with jaxfire.planners.next_cut from the stored state) and is imitated when replayed."""
    config = dqn.DQNConfig(**{**TINY, "total_updates": 6}, demo_baseline="cut_lines", demo_steps=8, pretrain_steps=2,
                           planning_ignitions=8, dagger=True)
    learner = dqn.build(config)
    state = jax.jit(learner.init)(jax.random.key(0))
    state, _ = jax.jit(lambda s: jax.lax.scan(learner.update, s, None, 6))(state)
    replay = state.envs.replay
    assert int(replay.size) == 6 and bool(replay.demo[:, :6].all())
    cells = learner.env.num_actions
    checked = 0
    for env in range(config.num_envs):
        for t in range(6):
            index, scenario = int(replay.landscape_index[env, t]), int(replay.scenario_index[env, t])
            treated = np.unpackbits(np.asarray(replay.treated_bits[env, t]))[:cells].astype(bool).reshape(12, 12)
            land = landscape.take(learner.env_params.pool, index)
            weather = jax.tree.map(lambda x: x[index, scenario], learner.env_params.scenarios.weather)
            fires = learner.env_params.scenarios.planning_ignitions[index, scenario]
            grids = planners.scoring.scenario_grids(land, weather, config.neighbours)
            expected = np.asarray(planners.next_cut(grids, land.burnable, fires, jnp.asarray(treated),
                                                    learner.env_params.budget_cells[index], config.max_minutes))
            stored = np.unpackbits(np.asarray(replay.accepted_bits[env, t]))[:cells].astype(bool).reshape(12, 12)
            np.testing.assert_array_equal(stored, expected)
            checked += expected.any()
    assert checked >= 6
    with pytest.raises(ValueError, match="dagger needs demo_baseline cut_lines"):
        dqn.DQNConfig(**TINY, demo_baseline="dpv", demo_steps=8, dagger=True).validate()
    with pytest.raises(ValueError, match="dagger needs planning_ignitions > 0"):
        dqn.DQNConfig(**TINY, demo_baseline="cut_lines", demo_steps=8, planning_ignitions=0, dagger=True).validate()


def test_bad_demonstration_settings_are_named():
    with pytest.raises(ValueError, match="demo_baseline 'domirang'"):
        dqn.DQNConfig(demo_baseline="domirang", demo_steps=4).validate()
    with pytest.raises(ValueError, match="demo_steps > 0 and demo_baseline"):
        dqn.DQNConfig(demo_baseline="dpv").validate()


@pytest.mark.slow
@pytest.mark.parametrize("budget_cells, variant", [
    (1, dict(double=True)), (2, dict(double=False, target_period=10)),
    pytest.param(2, dict(double=True, gradient_steps=2), marks=pytest.mark.slow)])
def test_probe_environments_learn_their_known_q_values(budget_cells, variant):
    """Rejax-style probes: after training with uniform exploration, the learned Q-map of the first state matches
    the brute-force optimal Q-values (one step: the rewards; two steps: reward + gamma x best next reward)."""
    land, env, params = probe(budget_cells)
    config = dqn.DQNConfig(landscape_side=4, num_envs=8, total_updates=400 if budget_cells == 1 else 1200,
                           buffer_per_env=128, batch_size=32, n_step=1, gamma=0.9, learning_starts=8,
                           features=(32, 32), dilations=(1, 1), learning_rate=3e-3, epsilon_start=1.0,
                           epsilon_end=1.0, reward_scale=10.0, planning_ignitions=0, target_tau=0.05, **variant)
    out = jax.jit(dqn.make_train(config, env, params))(jax.random.key(3))
    state = out["runner_state"]
    learned = first_state_q(dqn.QNetwork(config.features, config.dilations), state.params, env, params)
    expected = optimal_first_q(land, params, budget_cells, config.gamma, config.reward_scale)
    valid = np.isfinite(expected)
    error = np.abs(learned[valid] - expected[valid]).max()
    assert error <= 0.1 * np.abs(expected[valid]).max() + 0.02, (learned[valid].round(3), expected[valid].round(3))
    if variant.get("gradient_steps", 1) > 1:  # every learning update took that many Adam steps
        learning_updates = int(np.asarray(out["metrics"]["learning"]).sum())
        counts = [leaf for leaf in jax.tree.leaves(state.train.opt_state) if np.ndim(leaf) == 0]
        assert int(counts[0]) == variant["gradient_steps"] * learning_updates


def test_target_period_copies_the_network_exactly_every_period():
    no_env = dict(env="unused", env_params=None, test_params=None)  # following the network needs no environment
    learner = dqn.DQN(dqn.DQNConfig(**{**TINY, "target_period": 3}), **no_env)
    params, target = {"w": jnp.ones(2)}, {"w": jnp.zeros(2)}
    for update, copied in [(0, False), (1, False), (2, True), (3, False), (5, True)]:
        np.testing.assert_array_equal(learner.follow(target, params, update)["w"], 1.0 if copied else 0.0)
    polyak = dqn.DQN(dqn.DQNConfig(**{**TINY, "target_tau": 0.25}), **no_env)
    np.testing.assert_allclose(polyak.follow(target, params, 0)["w"], 0.25)


def test_fine_tuning_steps_at_a_scaled_learning_rate_after_pre_training():
    """Adam's steps on a constant gradient are ~learning_rate each; after ``pretrain_steps`` they shrink by
    ``finetune_lr_scale`` (the schedule counts pre-training steps)."""
    config = dqn.DQNConfig(**TINY, demo_baseline="dpv", demo_steps=8, pretrain_steps=3, learning_rate=1e-2,
                           finetune_lr_scale=0.1)
    learner = dqn.DQN(config, env="unused", env_params=None, test_params=None)
    params = {"w": jnp.zeros(4)}
    state, steps = learner.optimizer.init(params), []
    for _ in range(6):
        updates, state = learner.optimizer.update({"w": jnp.ones(4)}, state, params)
        steps.append(float(jnp.abs(updates["w"]).max()))
    np.testing.assert_allclose(steps, [1e-2] * 3 + [1e-3] * 3, rtol=1e-3)
