"""Double DQN with n-step returns for fuel-break placement, jit-compiled end to end (PureJaxRL style).

``make_train(config)(key)`` runs the whole loop inside one ``jit``: vmapped environments step (their fire
simulations included), transitions go to a compact replay buffer (:mod:`jaxfire.agents.replay`), the learner
samples, rebuilds observations and takes a gradient step, and the target network follows.  ``jax.vmap(train)``
over keys trains independent agents.  :func:`build` exposes the pieces (``init``, ``update``) for chunked runs
with checkpoints between chunks (``experiments.train_dqn``).

Demonstrations (after DQfD, Hester et al. 2018): with ``demo_baseline`` set, ``init`` also prefills the replay
with ``demo_steps`` steps of every environment placing the baseline's plan (:mod:`jaxfire.baselines`, planning
with the fires behind the observation's planning channels), one cell per step in the baseline's own order
(``ranked``), and takes ``pretrain_steps`` gradient steps.  On transitions marked as demonstrations the loss adds
``demo_weight`` times the cross-entropy of a softmax over the valid cells' Q-values against the demonstrated cell.
(DQfD's large-margin term ``max_a [Q(s, a) + margin] - Q(s, a_demo)`` moves only two of ~10^3 actions per sample;
here it flattened the Q-map instead of ranking cells.)  Demonstrations stay in the ring buffer until training
overwrites them.

Conventions: an *update* is one step of every environment plus, once the buffer holds ``learning_starts``
entries per environment, ``gradient_steps`` gradient steps; rewards are the environment's (reduction of expected
burned fraction) times ``reward_scale``; actions are flat cell indices ``row * W + col``.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxfire import baselines, fire, landscape as landscapes
from jaxfire.agents import replay as replay_lib
from jaxfire.agents.config import DQNConfig
from jaxfire.agents.networks import QNetwork, masked_argmax
from jaxfire.env import EnvParams, FuelBreakEnv, ScenarioDistribution, Scenarios, draw_ignitions, planning_maps


class RunnerState(NamedTuple):
    """Everything the training loop carries (a pytree; checkpointed whole)."""

    params: Any
    target_params: Any
    opt_state: Any
    env_state: Any
    obs: jnp.ndarray
    replay: replay_lib.Replay
    episode_return: jnp.ndarray     # float32[E] running return of the current episodes
    key: jax.Array
    update: jnp.ndarray             # int32 updates done


class Learner(NamedTuple):
    """The pieces of a run: ``init(key) -> RunnerState`` and the scan body ``update(state, _) -> (state, metrics)``."""

    config: DQNConfig
    env: FuelBreakEnv
    env_params: EnvParams
    test_params: EnvParams
    network: QNetwork
    init: Any
    update: Any


def make_env(config: DQNConfig) -> tuple[FuelBreakEnv, EnvParams, EnvParams]:
    """The environment and its train/test parameters (pool split and scenario banks) from ``config``."""
    env = FuelBreakEnv((config.grid, config.grid), ignitions_per_evaluation=config.ignitions,
                       neighbours=config.neighbours, planning_ignitions=config.planning_ignitions)
    pool = landscapes.synthetic_pool(jax.random.key(config.landscape_seed), config.num_landscapes,
                                     (config.grid, config.grid))
    train_pool, test_pool = landscapes.split(pool, config.test_fraction, config.landscape_seed)
    distribution = ScenarioDistribution(wind_speed_kmh=(config.wind_kmh_low, config.wind_kmh_high))
    kwargs = dict(budget_fraction=config.budget, max_minutes=config.max_minutes,
                  scenarios_per_landscape=config.scenarios_per_landscape, distribution=distribution)
    train_params = env.make_params(jax.random.key(config.landscape_seed + 1), train_pool, **kwargs)
    test_params = env.make_params(jax.random.key(config.landscape_seed + 2), test_pool, **kwargs)
    return env, train_params, test_params


def observe(env: FuelBreakEnv, env_params: EnvParams, compact: dict):
    """Observations ``[B, H, W, C]`` and action masks ``[B, H, W]`` of compact replay states."""
    H, W = env.shape

    def one(landscape_index, scenario_index, treated, placed):
        state = env.state_from(env_params, landscape_index, scenario_index, treated[:H * W].reshape(H, W), placed)
        return env.get_obs(state, env_params), env.action_mask(state, env_params)

    return jax.vmap(one)(compact["landscape_index"], compact["scenario_index"], compact["treated"], compact["placed"])


def build(config: DQNConfig, env=None, env_params=None, test_params=None, batch_sharding=None) -> Learner:
    """Construct the environment (unless given), network, optimizer and the jittable ``init``/``update``.

    ``batch_sharding`` (e.g. :func:`jaxfire.parallel.batch_sharding`) splits each sampled batch over devices, so
    the gradient computation is data-parallel (XLA averages the gradients); without it a sharded run may compute
    the whole batch on every device."""
    config = config.validate()
    if env is None:
        env, env_params, test_params = make_env(config)
    network = QNetwork(config.features, config.dilations, config.dueling)
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
    E, B = config.num_envs, config.batch_size
    vmap_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def step_and_store(key, env_state, replay, action, demo: bool = False):
        """Step every environment with ``action`` and append the transitions to ``replay``.

        Returns ``(obs, env_state, replay, reward, done, info)`` with the reward scaled by ``reward_scale``."""
        obs, next_state, reward, terminated, truncated, info = vmap_step(
            jax.random.split(key, E), env_state, action, env_params)
        done = terminated | truncated
        reward = reward * config.reward_scale
        replay = replay_lib.add(replay, env_state.landscape_index, env_state.scenario_index, env_state.treated,
                                env_state.placed, action, reward, done, demo)
        return obs, next_state, replay, reward, done, info
    vmap_mask = jax.vmap(env.action_mask, in_axes=(0, None))
    decay_updates = max(1, int(config.epsilon_fraction * config.total_updates))

    def init(key) -> RunnerState:
        net_key, env_key, demo_key, key = jax.random.split(key, 4)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(env_key, E), env_params)
        params = network.init(net_key, obs[:1])
        replay = replay_lib.create(E, config.buffer_per_env, env.num_actions)
        state = RunnerState(params, params, optimizer.init(params), env_state, obs, replay,
                            jnp.zeros(E, jnp.float32), key, jnp.int32(0))
        return demonstrate(state, demo_key) if config.demo_steps else state

    def loss_fn(params, target_params, obs, mask, action, demo, n_step_return, discount, next_obs, next_mask):
        q_all = network.apply(params, obs).reshape(B, -1)
        q = q_all[jnp.arange(B), action]
        next_target = network.apply(target_params, next_obs)
        chooser = network.apply(params, next_obs) if config.double else next_target
        best = masked_argmax(chooser, next_mask)
        bootstrap = next_target.reshape(B, -1)[jnp.arange(B), best]
        target = n_step_return + discount * jax.lax.stop_gradient(jnp.where(next_mask.any((1, 2)), bootstrap, 0.0))
        loss = optax.huber_loss(q, target).mean()
        if config.demo_steps and config.demo_weight > 0:
            log_policy = jax.nn.log_softmax(jnp.where(mask.reshape(B, -1), q_all, -jnp.inf))
            imitation = -log_policy[jnp.arange(B), action]
            loss = loss + config.demo_weight * jnp.where(demo, imitation, 0.0).mean()
        return loss

    def gradient_step(carry, key):
        params, opt_state, target_params, replay = carry
        start, end, action, n_step_return, discount = replay_lib.sample(key, replay, B, config.n_step, config.gamma)
        if batch_sharding is not None:
            start, end, action, n_step_return, discount = jax.lax.with_sharding_constraint(
                (start, end, action, n_step_return, discount), batch_sharding)
        # Observations are rebuilt outside the differentiated function: inside it XLA made a step ~30x slower.
        obs, mask = observe(env, env_params, start)
        next_obs, next_mask = observe(env, env_params, end)
        loss, grads = jax.value_and_grad(loss_fn)(params, target_params, obs, mask, action, start["demo"],
                                                  n_step_return, discount, next_obs, next_mask)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, target_params, replay), loss

    def follow(target_params, params, update):
        """The target network after ``update`` (0-based) has changed the online network to ``params``."""
        if config.target_period > 0:
            refresh = (update + 1) % config.target_period == 0
            return jax.tree.map(lambda p, t: jnp.where(refresh, p, t), params, target_params)
        return optax.incremental_update(params, target_params, config.target_tau)

    def demonstrate(state: RunnerState, key) -> RunnerState:
        """Prefill the replay with ``demo_steps`` demonstration steps per environment, then pre-train."""
        plan_with = functools.partial(baselines.BASELINES[config.demo_baseline],
                                      max_minutes=config.max_minutes, neighbours=config.neighbours)

        def cell_order(key, env_state):  # int32[H * W]: cells in the order the demonstrator picks them
            landscape = landscapes.take(env_params.pool, env_state.landscape_index)
            # The demonstrator plans with the fires behind the agent's planning channels (if any).
            fires = env_params.scenarios.planning_ignitions[env_state.landscape_index, env_state.scenario_index]
            rank = plan_with(key, landscape, env_state.weather, env_state.budget_cells, ranked=True,
                             ignitions=fires if config.planning_ignitions else None)
            return jnp.argsort(rank.ravel()).astype(jnp.int32)

        def replan(key, env_state, order, fresh):
            return jnp.where(fresh[:, None], jax.vmap(cell_order)(jax.random.split(key, E), env_state), order)

        def demo_step(carry, key):
            env_state, order, replay = carry
            plan_key, step_key = jax.random.split(key)
            action = order[jnp.arange(E), env_state.placed]
            _, next_state, replay, _, done, _ = step_and_store(step_key, env_state, replay, action, demo=True)
            order = jax.lax.cond(done.any(), replan, lambda k, s, o, d: o, plan_key, next_state, order, done)
            return (next_state, order, replay), None

        first_key, steps_key, pretrain_key, reset_key = jax.random.split(key, 4)
        order = replan(first_key, state.env_state, jnp.zeros((E, env.num_actions), jnp.int32), jnp.ones(E, bool))
        (_, _, replay), _ = jax.lax.scan(demo_step, (state.env_state, order, state.replay),
                                         jax.random.split(steps_key, config.demo_steps))

        def pretrain_step(carry, inputs):
            key, step = inputs
            (params, opt_state, target_params, replay), _ = gradient_step(carry, key)
            return (params, opt_state, follow(target_params, params, step), replay), None

        carry = (state.params, state.opt_state, state.target_params, replay)
        (params, opt_state, target_params, replay), _ = jax.lax.scan(
            pretrain_step, carry, (jax.random.split(pretrain_key, config.pretrain_steps),
                                   jnp.arange(config.pretrain_steps)))
        # Training starts on fresh episodes.
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(reset_key, E), env_params)
        return state._replace(params=params, target_params=target_params, opt_state=opt_state, replay=replay,
                              env_state=env_state, obs=obs)

    def update(state: RunnerState, _):
        key, act_key, explore_key, step_key, learn_key = jax.random.split(state.key, 5)
        fraction = jnp.minimum(state.update / decay_updates, 1.0)
        epsilon = config.epsilon_start + fraction * (config.epsilon_end - config.epsilon_start)
        mask = vmap_mask(state.env_state, env_params)
        greedy = masked_argmax(network.apply(state.params, state.obs), mask)
        random = masked_argmax(jax.random.gumbel(act_key, mask.shape), mask)
        action = jnp.where(jax.random.uniform(explore_key, (E,)) < epsilon, random, greedy)
        obs, env_state, replay, reward, done, info = step_and_store(step_key, state.env_state, state.replay, action)

        ready = (replay.size > max(config.learning_starts, config.n_step)) & replay_lib.can_sample(replay, config.n_step)

        def learn(carry):
            carry, losses = jax.lax.scan(gradient_step, carry, jax.random.split(learn_key, config.gradient_steps))
            return carry, losses.mean()

        carry = (state.params, state.opt_state, state.target_params, replay)
        (params, opt_state, _, _), loss = jax.lax.cond(ready, learn, lambda c: (c, jnp.float32(0.0)), carry)
        target_params = follow(state.target_params, params, state.update)

        episode_return = state.episode_return + reward
        finished = done.sum()
        metrics = {
            "epsilon": epsilon, "loss": loss, "learning": ready, "reward": reward.mean(),
            "episodes": finished,
            "episode_return": jnp.where(done, episode_return, 0.0).sum() / jnp.maximum(finished, 1),
            "final_burned_fraction": jnp.where(done, info["burned_fraction"], 0.0).sum() / jnp.maximum(finished, 1),
        }
        state = RunnerState(params, target_params, opt_state, env_state, obs, replay,
                            jnp.where(done, 0.0, episode_return), key, state.update + 1)
        return state, metrics

    return Learner(config, env, env_params, test_params, network, init, update)


def make_train(config: DQNConfig, env=None, env_params=None):
    """``train(key) -> {"runner_state", "metrics"}``: ``config.total_updates`` updates in one jittable function."""
    learner = build(config, env, env_params, env_params if env is not None else None)

    def train(key):
        state, metrics = jax.lax.scan(learner.update, learner.init(key), None, config.total_updates)
        return {"runner_state": state, "metrics": metrics}

    return train


@struct.dataclass
class PlacementPolicy:
    """A trained Q-network as a placement policy with the baselines' signature.

    ``config`` holds the environment settings the network was trained with (``neighbours``, ``planning_ignitions``,
    ``max_minutes``): the policy simulates its own planning fires, drawn with ``key`` uniformly over burnable cells,
    to build the planning channels, as the ``burn_probability`` and ``dpv`` baselines do.
    """

    params: Any
    network: QNetwork = struct.field(pytree_node=False)
    config: DQNConfig = struct.field(pytree_node=False, default=DQNConfig())

    def __call__(self, key, landscape, weather, budget_cells: int) -> jnp.ndarray:
        """Greedy masked placement of exactly ``budget_cells`` cells (``bool[H, W]``) on any landscape and grid size."""
        try:
            burnable, budget = int(landscape.burnable.sum()), int(budget_cells)
        except jax.errors.ConcretizationTypeError:  # traced inside jit: nothing to check eagerly
            burnable = budget = None
        if burnable is not None and not 0 <= budget <= burnable:
            raise ValueError(f"budget_cells {budget} is not within the {burnable} burnable cells of the landscape")
        return _greedy_placement(self.params, self.network, key, landscape, weather, budget_cells,
                                 self.config.neighbours, self.config.planning_ignitions, self.config.max_minutes)


@functools.partial(jax.jit, static_argnames=("network", "neighbours", "planning_ignitions", "max_minutes"))
def _greedy_placement(params, network, key, landscape, weather, budget_cells, neighbours, planning_ignitions,
                      max_minutes):
    env = FuelBreakEnv(landscape.shape, ignitions_per_evaluation=1, neighbours=neighbours,
                       planning_ignitions=planning_ignitions)
    planning = jnp.zeros(landscape.shape + (0,), jnp.float32)
    if planning_ignitions:
        ignitions = draw_ignitions(key, landscape.burnable, planning_ignitions)
        planning = planning_maps(fire.spread_grid(landscape, weather, neighbours), ignitions, max_minutes)
    env_params = single_landscape_params(landscape, weather, budget_cells, planning)
    state = env.state_from(env_params, jnp.int32(0), jnp.int32(0), jnp.zeros(landscape.shape, bool), jnp.int32(0))

    def place(_, state):
        q = network.apply(params, env.get_obs(state, env_params)[None])[0]
        cell = masked_argmax(q, env.action_mask(state, env_params))
        treated, placed = env._place(state, cell[None], env_params)
        return state.replace(treated=treated, placed=placed)

    return jax.lax.fori_loop(0, budget_cells, place, state).treated


def single_landscape_params(landscape, weather, budget_cells, planning) -> EnvParams:
    """Environment parameters holding one landscape and one scenario (``weather`` and the planning channels
    ``float32[H, W, 2 or 0]``; no ignitions needed)."""
    scenarios = Scenarios(ignitions=jnp.zeros((1, 1, 1, 2), jnp.int32),
                          weather=jax.tree.map(lambda x: jnp.asarray(x)[None, None], weather),
                          burned_count=jnp.zeros((1, 1), jnp.int32),
                          burn_probability=jnp.zeros((1, 1) + landscape.shape, jnp.float32),
                          planning=planning[None, None], planning_ignitions=jnp.zeros((1, 1, 0, 2), jnp.int32))
    return EnvParams(pool=landscapes.stack([landscape]), scenarios=scenarios,
                     budget_cells=jnp.asarray([budget_cells], jnp.int32), max_steps_in_episode=1)


def load_policy(run_dir) -> PlacementPolicy:
    """The greedy policy of a run's latest checkpoint (``experiments.train_dqn`` writes run folders).

    Reads ``config.json`` and only the checkpoint's ``params`` item (:func:`jaxfire.agents.checkpoint.restore_params`),
    so no environment or scenario bank is rebuilt; the policy works on any grid size.
    """
    from jaxfire.agents import checkpoint  # checkpoint imports this module

    config = checkpoint.load_config(run_dir)
    network = QNetwork(config.features, config.dilations, config.dueling)
    return PlacementPolicy(checkpoint.restore_params(run_dir), network, config)
