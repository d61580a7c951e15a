"""What the value-based learners share: the environment and its train/test split, the runner-state protocol, the
epsilon schedule, masked epsilon-greedy acting, environment stepping and episode statistics.

A learner (:class:`Learner` subclass: :class:`~jaxfire.agents.dqn.DQN`, :class:`~jaxfire.agents.pqn.PQN`) provides
``init(key) -> RunnerState`` and the scan body ``update(state, _) -> (state, metrics)``; the runner state keeps
everything with a leading axis of ``E`` environments in its ``envs`` field, which
:func:`jaxfire.parallel.state_shardings` splits over devices, so :func:`jaxfire.training.train` (chunks,
checkpoints, exact resume, evaluation) and :func:`make_train` run any of them unchanged.

Conventions: ``E`` environments; rewards are the environment's (reduction of the expected burned fraction) times
``reward_scale``; actions are flat cell indices ``row * W + col``.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxfire import landscape as landscapes
from jaxfire.agents.networks import epsilon_greedy, make_network
from jaxfire.env import EnvParams, FuelBreakEnv, ScenarioDistribution


@struct.dataclass
class RunnerState:
    """Everything a training loop carries (a pytree; checkpointed whole): the learner's ``train`` state (with the
    online ``params``), the per-environment ``envs``, the PRNG ``key`` and the ``update`` counter."""

    train: Any
    envs: Any
    key: jax.Array
    update: jnp.ndarray             # int32 updates done

    @property
    def params(self):
        """The online network parameters."""
        return self.train.params


def make_env(config) -> tuple[FuelBreakEnv, EnvParams, EnvParams]:
    """The environment and its train/test parameters (pool split and scenario banks) from ``config``."""
    side = config.landscape_side
    env = FuelBreakEnv((side, side), ignitions_per_evaluation=config.ignitions_per_evaluation,
                       neighbours=config.neighbours, planning_ignitions=config.planning_ignitions)
    seed = jax.random.key(config.landscape_seed)
    pool = landscapes.synthetic_pool(seed, config.num_landscapes, (side, side))
    train_pool, test_pool = landscapes.split(pool, config.test_fraction, config.landscape_seed)
    distribution = ScenarioDistribution(wind_speed_kmh=(config.wind_kmh_low, config.wind_kmh_high))
    kwargs = dict(budget_fraction=config.budget_fraction, max_minutes=config.max_minutes,
                  scenarios_per_landscape=config.scenarios_per_landscape, distribution=distribution)
    train_params = env.make_params(jax.random.fold_in(seed, 1), train_pool, **kwargs)
    test_params = env.make_params(jax.random.fold_in(seed, 2), test_pool, **kwargs)
    return env, train_params, test_params


def episode_metrics(returns, done, burned_fraction) -> dict:
    """Statistics of the episodes that ended: ``returns`` (each environment's return so far, this step's reward
    included), ``done`` and the ``burned_fraction`` after the step, all of one shape (``[E]`` or ``[T, E]``).

    Returns ``{"episodes": count, "episode_return": mean return, "final_burned_fraction": mean}`` (means 0 when no
    episode ended)."""
    finished = done.sum()
    return {"episodes": finished,
            "episode_return": jnp.where(done, returns, 0.0).sum() / jnp.maximum(finished, 1),
            "final_burned_fraction": jnp.where(done, burned_fraction, 0.0).sum() / jnp.maximum(finished, 1)}


class Learner:
    """The pieces every value-based learner shares (subclasses add ``init`` and ``update``).

    Args:
      config: the run settings (an :class:`~jaxfire.agents.config.AgentConfig`; validated here).
      env, env_params, test_params: the environment and its train / held-out parameters (default:
        :func:`make_env`).
      batch_sharding: e.g. :func:`jaxfire.parallel.batch_sharding`; splits each gradient batch over devices, so
        the gradient computation is data-parallel (XLA averages the gradients).
    """

    def __init__(self, config, env=None, env_params=None, test_params=None, batch_sharding=None):
        self.config = config.validate()
        if env is None:
            env, env_params, test_params = make_env(config)
        self.env, self.env_params, self.test_params = env, env_params, test_params
        self.network = make_network(config)
        # Adam counts pre-training steps too: the rate drops to finetune_lr_scale x learning_rate after them.
        rate = optax.piecewise_constant_schedule(config.learning_rate,
                                                 {config.pretrain_steps: config.finetune_lr_scale})
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(rate))
        self.batch_sharding = batch_sharding
        self.decay_updates = max(1, int(config.epsilon_fraction * config.total_updates))

    # Sizes of an update (throughput records): env steps, and gradient steps when the update learns.
    env_steps_per_update: int
    gradient_steps_per_update: int

    @property
    def batch_size(self) -> int:
        """Samples per gradient step (split over the devices)."""
        return self.config.batch_size

    def reset(self, key):
        """``(obs, env_state)`` of ``E`` fresh episodes."""
        keys = jax.random.split(key, self.config.num_envs)
        return jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.env_params)

    def epsilon(self, update) -> jnp.ndarray:
        """Exploration probability at ``update``: linear from ``epsilon_start`` to ``epsilon_end`` over the first
        ``epsilon_fraction`` of ``total_updates``, then constant."""
        config = self.config
        return config.epsilon_start + jnp.minimum(update / self.decay_updates, 1.0) * (
            config.epsilon_end - config.epsilon_start)

    def masks(self, env_state) -> jnp.ndarray:
        """``bool[E, H, W]`` valid cells of every environment."""
        return jax.vmap(self.env.action_mask, in_axes=(0, None))(env_state, self.env_params)

    def act(self, act_key, explore_key, params, obs, mask, epsilon) -> jnp.ndarray:
        """Epsilon-greedy masked actions ``int32[E]`` of the network ``params`` on ``obs`` ``[E, H, W, C]``
        (:func:`jaxfire.agents.networks.epsilon_greedy`)."""
        return epsilon_greedy(act_key, explore_key, self.network.apply(params, obs), mask, epsilon)

    def step(self, key, env_state, action):
        """Step every environment with ``action`` ``int32[E]`` (auto-reset at episode ends).

        Returns ``(obs, env_state, reward, done, info)``, the reward scaled by ``reward_scale``, ``done`` =
        terminated or truncated."""
        keys = jax.random.split(key, self.config.num_envs)
        obs, next_state, reward, terminated, truncated, info = jax.vmap(self.env.step, in_axes=(0, 0, 0, None))(
            keys, env_state, action, self.env_params)
        return obs, next_state, reward * self.config.reward_scale, terminated | truncated, info


def make_train(learner_class, config, env=None, env_params=None):
    """``train(key) -> {"runner_state", "metrics"}``: ``config.total_updates`` updates of ``learner_class`` in one
    jittable (and vmappable) function, on ``env`` / ``env_params`` when given (also as the held-out parameters),
    else on :func:`make_env`'s training split."""
    learner = learner_class(config, env, env_params, env_params if env is not None else None)

    def train(key):
        state, metrics = jax.lax.scan(learner.update, learner.init(key), None, config.total_updates)
        return {"runner_state": state, "metrics": metrics}

    return train
