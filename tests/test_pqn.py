"""PQN: Q(lambda) returns by hand, masked epsilon-greedy acting, probe environments with known Q-values, and a PQN
run through jaxfire.training / the training CLI (exact resume, config.json, load_policy on a larger grid)."""
import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import train_dqn
from jaxfire import baselines, checkpoint, landscape
from jaxfire.agents import algorithms, dqn, load_policy, losses, pqn
from jaxfire.agents.config import DQNConfig, PQNConfig
from jaxfire.agents.networks import epsilon_greedy, make_network, masked_argmax
from jaxfire.env import Channel
from jaxfire.weather import Weather
from probes import first_state_q, optimal_first_q, probe
from test_train_dqn import records, saved_state

pytestmark = pytest.mark.usefixtures("persistent_compilation_cache")

TINY = dict(landscape_side=12, num_landscapes=4, ignitions_per_evaluation=4, scenarios_per_landscape=2, num_envs=4,
            rollout_steps=8, minibatches=4, features=(8, 8), dilations=(1, 2), total_updates=2, planning_ignitions=8)

# Two environments, four steps; the first environment's episode ends with step 1.
REWARDS = jnp.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 1.0]])
DONES = jnp.array([[False, False], [True, False], [False, False], [False, False]])
NEXT_VALUES = jnp.array([[10.0, 1.0], [20.0, 1.0], [30.0, 1.0], [40.0, 1.0]])


@pytest.mark.parametrize("lam, expected", [
    # G_t = r_t + gamma (1 - done_t) ((1 - lam) v_t + lam G_{t+1}), G_T = v_{T-1}; gamma = 0.5.
    # env 0: G3 = 4 + .5*40 = 24; G2 = 3 + .5(.5*30 + .5*24) = 16.5; G1 = 2 (episode end); G0 = 1 + .5(.5*10 + .5*2)
    # env 1: G3 = 1 + .5*1 = 1.5; G2 = .5(.5 + .75) = .625; G1 = .5(.5 + .3125); G0 = .5(.5 + .203125)
    (0.5, [[4.0, 0.3515625], [2.0, 0.40625], [16.5, 0.625], [24.0, 1.5]]),
    (0.0, [[6.0, 0.5], [2.0, 0.5], [18.0, 0.5], [24.0, 1.5]]),       # one-step targets r + gamma v
    (1.0, [[2.0, 0.1875], [2.0, 0.375], [15.0, 0.75], [24.0, 1.5]]),  # discounted rewards to the end / last bootstrap
])
def test_lambda_returns_by_hand(lam, expected):
    returns = losses.lambda_returns(REWARDS, DONES, NEXT_VALUES, 0.5, lam)
    np.testing.assert_allclose(returns, expected, rtol=1e-6)


def test_lambda_returns_are_the_lambda_mixture_of_n_step_returns():
    """Without episode ends, ``G_t = (1 - lam) sum_n lam^(n-1) G_t^(n) + lam^(T-t-1) G_t^(T-t)``, ``G_t^(n)`` the n-step
    return bootstrapped from ``v_{t+n-1}``: an independent check of the backward recursion."""
    T, gamma, lam = 6, 0.9, 0.7
    rewards, values = np.random.default_rng(0).normal(size=(2, T))
    returns = np.asarray(losses.lambda_returns(jnp.asarray(rewards), jnp.zeros(T, bool), jnp.asarray(values), gamma,
                                               lam))
    for t in range(T):
        n_step = [sum(gamma ** k * rewards[t + k] for k in range(n)) + gamma ** n * values[t + n - 1]
                  for n in range(1, T - t + 1)]
        mixture = (1 - lam) * sum(lam ** (n - 1) * g for n, g in enumerate(n_step[:-1], 1)) + lam ** (T - t - 1) * \
            n_step[-1]
        assert returns[t] == pytest.approx(mixture, rel=1e-5)


def test_lambda_returns_carry_no_gradient():
    grad = jax.grad(lambda v: losses.lambda_returns(REWARDS, DONES, v, 0.5, 0.5).sum())(NEXT_VALUES)
    assert not np.asarray(grad).any()


def test_td_loss_mse_is_half_the_squared_error():
    q_all = jnp.array([[0.0, 2.0, 9.0], [1.5, 0.0, 0.0]])
    loss = losses.td_loss(q_all, jnp.array([1, 0]), jnp.array([1.5, 4.0]), huber=False)
    assert float(loss) == pytest.approx((0.5 * 0.25 + 0.5 * 6.25) / 2)


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0])
def test_epsilon_greedy_never_picks_a_masked_cell(epsilon):
    E = 512
    q = jax.random.normal(jax.random.key(0), (E, 6, 7)) * 10
    mask = (jax.random.uniform(jax.random.key(1), (E, 6, 7)) < 0.1).at[:, 5, 6].set(True)
    action = np.asarray(epsilon_greedy(jax.random.key(2), jax.random.key(3), q, mask, epsilon))
    flat_mask, flat_q = np.asarray(mask).reshape(E, -1), np.asarray(q).reshape(E, -1)
    assert flat_mask[np.arange(E), action].all()
    greedy = np.argmax(np.where(flat_mask, flat_q, -np.inf), 1)
    explored = (action != greedy).mean()
    assert explored == 0 if epsilon == 0 else 0.5 * epsilon < explored <= epsilon  # random picks may hit the best


@pytest.fixture(scope="module")
def tiny_learner():
    return pqn.PQN(PQNConfig(**TINY))


def test_rollouts_take_only_valid_actions_exploring_or_not(tiny_learner):
    learner = tiny_learner
    state = jax.jit(learner.init)(jax.random.key(0))
    rollout = jax.jit(learner.rollout)
    for epsilon in (1.0, 0.0):
        envs, steps, episodes = rollout(jax.random.key(1), state.params, state.envs, epsilon)
        mask = np.asarray(steps.mask).reshape(-1, learner.env.num_actions)
        assert mask[np.arange(len(mask)), np.asarray(steps.action).ravel()].all()
        # The mask is the observation's valid-cell channel, and the rollout crossed episode ends (auto-reset).
        np.testing.assert_array_equal(np.asarray(steps.mask), np.asarray(steps.obs[..., Channel.VALID]) > 0.5)
        assert int(episodes["episodes"]) > 0 and not np.asarray(steps.demo).any()


def test_dagger_rollouts_carry_the_teachers_next_cut_and_updates_imitate_it(tiny_learner):
    """With ``dagger`` every rollout step is flagged and carries the cut-lines teacher's next cut at the state it
    acted from (:func:`demonstrations.teacher_cells`), a non-empty set of valid cells; the update's loss then adds
    the imitation term to the TD loss of the same rollout."""
    from jaxfire.agents import demonstrations

    config = dataclasses.replace(tiny_learner.config, demo_baseline="cut_lines", demo_steps=8, pretrain_steps=4,
                                 dagger=True)
    learner = pqn.PQN(config, tiny_learner.env, tiny_learner.env_params, tiny_learner.test_params)
    state = jax.jit(tiny_learner.init)(jax.random.key(0))   # no demonstrations or pre-training needed here
    _, steps, _ = jax.jit(learner.rollout)(jax.random.key(1), state.params, state.envs, 0.5)
    accepted, mask = np.asarray(steps.accepted), np.asarray(steps.mask).reshape(steps.accepted.shape)
    assert np.asarray(steps.demo).all() and not (accepted & ~mask).any()
    assert (accepted.any(-1) == mask.any(-1)).all()
    first = jax.jit(demonstrations.teacher_cells, static_argnums=0)(learner, state.envs.env_state)
    np.testing.assert_array_equal(accepted[0], np.asarray(first).reshape(accepted[0].shape))
    # The same update (same key, so the same rollout and returns) with and without the imitation term.
    _, with_teacher = jax.jit(learner.update)(state, None)
    _, without = jax.jit(tiny_learner.update)(state, None)
    assert float(with_teacher["loss"]) > float(without["loss"]) > 0


@pytest.mark.slow
def test_make_train_vmaps_over_seeds():
    config = PQNConfig(**TINY)
    out = jax.jit(jax.vmap(algorithms.make_train(config)))(jax.random.split(jax.random.key(0), 2))
    leaves = jax.tree.leaves(jax.tree.map(lambda p: np.abs(np.asarray(p[0] - p[1])).max(), out["runner_state"].params))
    assert max(leaves) > 0, "two seeds trained identical agents"
    metrics = {name: np.asarray(value) for name, value in out["metrics"].items()}
    assert metrics["loss"].shape == (2, config.total_updates) and np.isfinite(metrics["loss"]).all()
    assert (metrics["episodes"] > 0).all() and (metrics["epsilon"][:, 0] == config.epsilon_start).all()


@pytest.mark.slow
def test_demonstrations_replay_the_planners_plan_and_pretraining_imitates_it():
    config = PQNConfig(**{**TINY, "num_envs": 2, "minibatches": 2, "planning_ignitions": 16}, demo_baseline="dpv",
                       demo_steps=10, pretrain_steps=2 * 150, learning_rate=1e-3, demo_target="plan")
    learner = pqn.PQN(config)
    plain = pqn.PQN(dataclasses.replace(config, demo_baseline="", demo_steps=0, pretrain_steps=0), learner.env,
                    learner.env_params, learner.test_params)
    state = jax.jit(plain.init)(jax.random.key(0))
    _, rollout = jax.jit(learner.demonstrate)(jax.random.key(1), state.envs)
    assert rollout.action.shape == (10, 2) and bool(rollout.demo.all())
    # Environment 0's first episode placed the DPV plan of its landscape, weather and planning fires, best first.
    index, scenario = int(state.envs.env_state.landscape_index[0]), int(state.envs.env_state.scenario_index[0])
    budget = int(learner.env_params.budget_cells[index])
    done = np.asarray(rollout.done[:, 0])
    assert done[budget - 1] and not done[:budget - 1].any()
    land = landscape.take(learner.env_params.pool, index)
    weather = jax.tree.map(lambda x: x[index, scenario], learner.env_params.scenarios.weather)
    fires = learner.env_params.scenarios.planning_ignitions[index, scenario]
    scores = np.asarray(baselines.dpv_scores(land, weather, fires, config.max_minutes)).ravel()
    acted = np.asarray(rollout.action[:budget, 0])
    top = np.sort(np.where(np.asarray(land.burnable).ravel(), scores, -1))[::-1][:budget]
    assert len(set(acted.tolist())) == budget and np.asarray(rollout.mask[:budget, 0]).reshape(budget, -1)[
        np.arange(budget), acted].all()
    np.testing.assert_array_equal(scores[acted], top)
    # Each step's accepted cells (the imitation targets; demo_target "plan") are the plan's cells not placed yet.
    accepted = np.asarray(rollout.accepted[:budget, 0])
    np.testing.assert_array_equal(accepted.sum(1), budget - np.arange(budget))
    assert all(set(np.flatnonzero(accepted[step])) == set(acted[step:].tolist()) for step in range(budget))
    # Pre-training (TD on the lambda-returns + imitation) on those demonstrations: the greedy policy on that
    # scenario's observations now mostly places the demonstrator's cells (random placement: ~5 %).
    params = jax.jit(learner.pretrain)(state, jax.random.key(1)).params
    observe = jax.jit(lambda treated, placed: dqn.observe(learner.env, learner.env_params, dict(
        landscape_index=jnp.array([index]), scenario_index=jnp.array([scenario]), treated=treated.reshape(1, -1),
        placed=placed[None])))
    q_map = jax.jit(learner.network.apply)
    treated = np.zeros(land.shape, bool)
    for placed in range(budget):
        obs, mask = observe(jnp.asarray(treated), jnp.int32(placed))
        treated.ravel()[int(masked_argmax(q_map(params, obs)[0], mask[0]))] = True
    agree = treated.ravel()[acted].sum()
    assert agree >= budget / 2, f"{agree} of {budget} cells agree with DPV"


@pytest.mark.parametrize("budget_cells, lam, updates", [  # the two-step probe (~50 s on a fresh checkout) is slow
    (1, 0.65, 300), pytest.param(2, 0.0, 1000, marks=pytest.mark.slow)])
def test_probe_environments_learn_their_known_q_values(budget_cells, lam, updates):
    """Rejax-style probes (:mod:`probes`): after training with uniform exploration, the learned Q-map of the first
    state matches the brute-force optimal Q-values.  One step: lambda is irrelevant (every target is the reward);
    two steps: lambda = 0, since with uniform exploration lambda > 0 mixes the random second action's return into
    the target (Peng's Q(lambda) learns the behaviour's values there, not Q*)."""
    land, env, params = probe(budget_cells)
    config = PQNConfig(landscape_side=4, num_envs=32, rollout_steps=2, minibatches=2, epochs=1, lam=lam,
                       total_updates=updates, gamma=0.9, features=(32, 32), dilations=(1, 1), learning_rate=3e-3,
                       epsilon_start=1.0, epsilon_end=1.0, reward_scale=10.0, planning_ignitions=0)
    out = jax.jit(pqn.make_train(config, env, params))(jax.random.key(3))
    learned = first_state_q(make_network(config), out["runner_state"].params, env, params)
    expected = optimal_first_q(land, params, budget_cells, config.gamma, config.reward_scale)
    valid = np.isfinite(expected)
    error = np.abs(learned[valid] - expected[valid]).max()
    assert error <= 0.1 * np.abs(expected[valid]).max() + 0.02, (learned[valid].round(3), expected[valid].round(3))


# ---------------------------------------------------------------- the training CLI and jaxfire.training with PQN
CLI = ["--algo", "pqn", "--grid", "12", "--num-landscapes", "4", "--ignitions", "4", "--scenarios-per-landscape", "2",
       "--num-envs", "4", "--rollout-steps", "3", "--minibatches", "2", "--features", "8,8", "--dilations", "1,2",
       "--planning-ignitions", "8", "--total-updates", "6", "--chunk", "2", "--checkpoint-every", "2",
       "--eval-every", "1000", "--eval-ignitions", "8", "--eval-landscapes", "1", "--no-plots"]


@pytest.fixture(scope="module")
def pqn_run(tmp_path_factory):
    """A 6-update PQN run in 3 chunks through ``python -m experiments.train_dqn --algo pqn``."""
    runs = tmp_path_factory.mktemp("pqn-runs")
    summary = train_dqn.main([*CLI, "--runs-dir", str(runs), "--name", "a"])
    return runs / "a", summary


@pytest.mark.slow
def test_cli_runs_pqn_and_records_the_algorithm(pqn_run):
    run_dir, summary = pqn_run
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["algorithm"] == "pqn" and "dqn" not in saved and saved["pqn"]["rollout_steps"] == 3
    config = checkpoint.load_config(run_dir)
    assert isinstance(config, PQNConfig) and config.norm and checkpoint.load_settings(run_dir)["chunk"] == 2
    chunks = records(run_dir)
    assert [r["update"] for r in chunks] == [2, 4, 6]
    # An update is a rollout of 3 steps x 4 environments and 1 epoch x 2 minibatches of 6 transitions.
    assert all(r["env_steps"] == 12 * r["update"] and r["gradient_steps"] == 2 * 2 for r in chunks)
    assert all(np.isfinite(r["loss"]) for r in chunks)
    assert summary["algorithm"] == "pqn" and summary["env_steps"] == 72 and "bytes_per_transition" not in summary
    assert set(train_dqn.METHODS) <= set(summary["evaluation"])


@pytest.mark.slow
def test_a_killed_pqn_run_resumes_bit_identical_to_an_uninterrupted_one(pqn_run, tmp_path):
    run_dir, summary = pqn_run
    killed = tmp_path / "killed"   # as if killed after logging update 6, before its checkpoint
    shutil.copytree(run_dir, killed)
    shutil.rmtree(killed / "checkpoints" / "6")
    assert checkpoint.latest_step(killed) == 4
    resumed = train_dqn.main(["--runs-dir", str(tmp_path), "--name", "killed", "--resume", "--no-plots"])
    assert resumed["algorithm"] == "pqn" and resumed["evaluation"] == summary["evaluation"]
    jax.tree.map(np.testing.assert_array_equal, saved_state(killed, 6), saved_state(run_dir, 6))
    timing = ("chunk_s", "steps_per_s", "wall_s", "eval_s")
    assert [{k: v for k, v in r.items() if k not in timing} for r in records(killed)] == \
           [{k: v for k, v in r.items() if k not in timing} for r in records(run_dir)]


@pytest.mark.slow
def test_load_policy_of_a_pqn_run_places_the_budget_on_a_twice_larger_grid(pqn_run):
    policy = load_policy(pqn_run[0])
    assert policy.network.norm and policy.config.landscape_side == 12
    land = landscape.synthetic(jax.random.key(3), (24, 24))
    budget = int(0.05 * np.asarray(land.burnable).sum())
    plan = np.asarray(policy(jax.random.key(0), land, Weather(20.0, 270.0), budget))
    assert plan.shape == (24, 24) and plan.sum() == budget and not (plan & ~np.asarray(land.burnable)).any()


@pytest.mark.slow
def test_cli_rejects_the_other_algorithms_flags_and_a_resume_as_another_algorithm(pqn_run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_dqn.main([*CLI, "--batch-size", "8", "--runs-dir", str(tmp_path), "--name", "x"])
    assert "--algo pqn does not use --batch-size (a dqn setting)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_dqn.main(["--rollout-steps", "4", "--runs-dir", str(tmp_path), "--name", "x"])
    assert "--algo dqn does not use --rollout-steps (a pqn setting)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_dqn.main(["--runs-dir", str(pqn_run[0].parent), "--name", "a", "--resume", "--algo", "dqn"])
    assert "is a pqn run, not --algo dqn" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_config_files_name_their_algorithm_and_old_dqn_files_still_load(tmp_path):
    config = PQNConfig(num_envs=16, lam=0.3, features=(4, 4), dilations=(1, 2))
    checkpoint.save_config(tmp_path, config, seed=3)
    assert checkpoint.load_config(tmp_path) == config and checkpoint.algorithm(tmp_path) == "pqn"
    assert checkpoint.load_settings(tmp_path) == {"seed": 3}
    old = {"dqn": {k: v for k, v in dataclasses.asdict(DQNConfig(batch_size=7)).items() if k != "norm"}, "chunk": 5}
    (tmp_path / "config.json").write_text(json.dumps(old))   # written before PQN (and the norm field) existed
    assert checkpoint.load_config(tmp_path) == DQNConfig(batch_size=7) and checkpoint.algorithm(tmp_path) == "dqn"
    assert checkpoint.load_settings(tmp_path) == {"chunk": 5}


def test_throughput_suite_reports_both_algorithms(tmp_path, capsys):
    """The train section's rows (as :func:`experiments.bench.measure.training` writes them) reach the flat measurement
    list and the markdown table; an unknown algorithm is a usage error."""
    from experiments import throughput
    from experiments.bench import report

    common = dict(grid=32, features=[16, 16], devices=1, first_call_s=9.0, median_s=2.0, cpu_busy=0.9,
                  system_busy=0.95, ignitions=8)
    results = {"train": dict(common, algorithm="dqn", num_envs=8, batch_size=32, chunk_updates=10,
                             env_steps_per_update=8, updates_per_s=5.0, steps_per_s=40.0, gradient_steps_per_s=5.0),
               "train_pqn": dict(common, algorithm="pqn", num_envs=128, batch_size=128, chunk_updates=2,
                                 env_steps_per_update=1024, updates_per_s=1.0, steps_per_s=1024.0,
                                 gradient_steps_per_s=8.0)}
    measured = report.measurements(results)
    names = {m["name"]: m["value"] for m in measured}
    assert len(names) == len(measured)    # --compare matches measurements by name
    assert names["pqn training 32x32 x128 envs, 1 device(s)"] == 1024.0
    assert names["pqn training gradient steps 32x32 x128 envs, 1 device(s)"] == 8.0
    assert names["dqn training gradient steps 32x32 x8 envs, 1 device(s)"] == 5.0
    assert names["training 32x32 x8 envs, 1 device(s)"] == 40.0         # DQN env steps/s under its former name
    table = report._train([results["train"], results["train_pqn"]])
    assert any(line.startswith("| pqn | 32x32 | 128 | 1024 | 128 |") for line in "\n".join(table).splitlines())
    with pytest.raises(SystemExit):
        throughput.main(["--quick", "--sections", "train", "--train-algos", "dqn,sac", "--out", str(tmp_path / "t")])
    assert "unknown --train-algos ['sac']" in capsys.readouterr().err and not (tmp_path / "t").exists()
