"""Double DQN with n-step returns for fuel-break placement, jit-compiled end to end (PureJaxRL style).

``make_train(config)(key)`` runs the whole loop inside one ``jit``: vmapped environments step (their fire
simulations included), transitions go to a compact replay buffer (:mod:`jaxfire.agents.replay`), the learner
samples, rebuilds observations and takes a gradient step (:mod:`jaxfire.agents.losses`), and the target network
follows.  ``jax.vmap(train)`` over keys trains independent agents.  :class:`DQN` exposes the pieces (``init``,
``update``) that :func:`jaxfire.training.train` runs in chunks with checkpoints between them; what it shares with
:mod:`jaxfire.agents.pqn` (environment, acting, stepping, runner state) is :mod:`jaxfire.agents.base`.

Demonstrations (``demo_baseline``, :mod:`jaxfire.agents.demonstrations`): ``init`` also fills a demonstration
buffer of its own with a planner's plans and pre-trains on it; afterwards ``demo_fraction`` of every batch comes from
it, and demonstrated transitions add an imitation loss; with ``dagger`` every transition the agent makes also
carries the teacher's answer at its state, imitated when it is replayed.

Conventions: an *update* is one step of every environment plus, once the buffer holds ``learning_starts``
entries per environment, ``gradient_steps`` gradient steps; rewards are the environment's (reduction of expected
burned fraction) times ``reward_scale``; actions are flat cell indices ``row * W + col``; ``E`` environments,
``B`` samples per gradient step.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxfire.agents import base, demonstrations, losses, replay as replay_lib
from jaxfire.agents.base import RunnerState, episode_metrics, make_env  # noqa: F401 (make_env: its former home)
from jaxfire.agents.config import DQNConfig
from jaxfire.agents.networks import QNetwork  # noqa: F401 (its former import path)
from jaxfire.agents.policy import PlacementPolicy, load_policy  # noqa: F401 (their former home)
from jaxfire.env import EnvParams, FuelBreakEnv


@struct.dataclass
class TrainState:
    """The learner: online and target network parameters and the optimizer state."""

    params: Any
    target_params: Any
    opt_state: Any


@struct.dataclass
class EnvBatch:
    """Everything with a leading axis of ``E`` environments (what :func:`jaxfire.parallel.state_shardings` splits)."""

    env_state: Any
    obs: jnp.ndarray                # float32[E, H, W, C]
    replay: replay_lib.Replay
    demos: replay_lib.Replay        # the demonstrations (never overwritten; one empty entry per env without them)
    episode_return: jnp.ndarray     # float32[E] running return of the current episodes


def observe(env: FuelBreakEnv, env_params: EnvParams, compact: dict):
    """Observations ``[B, H, W, C]`` and action masks ``[B, H, W]`` of compact replay states."""
    H, W = env.shape

    def one(landscape_index, scenario_index, treated, placed):
        state = env.state_from(env_params, landscape_index, scenario_index, treated[:H * W].reshape(H, W), placed)
        return env.get_obs(state, env_params), env.action_mask(state, env_params)

    return jax.vmap(one)(compact["landscape_index"], compact["scenario_index"], compact["treated"], compact["placed"])


class DQN(base.Learner):
    """The algorithm on one environment: ``init(key) -> RunnerState`` and the scan body ``update(state, _)``.

    Constructor arguments: :class:`jaxfire.agents.base.Learner`.
    """

    @property
    def env_steps_per_update(self) -> int:
        return self.config.num_envs

    @property
    def gradient_steps_per_update(self) -> int:
        return self.config.gradient_steps

    def init(self, key) -> RunnerState:
        """A fresh runner: network, environments reset, empty replay (demonstrations and pre-training when
        ``demo_steps``)."""
        E = self.config.num_envs
        net_key, env_key, demo_key, key = jax.random.split(key, 4)
        obs, env_state = self.reset(env_key)
        params = self.network.init(net_key, obs[:1])
        replay = replay_lib.create(E, self.config.buffer_per_env, self.env.num_actions, accepted=self.config.dagger)
        demos = replay_lib.create(E, max(self.config.demo_steps, 1), self.env.num_actions, accepted=True)
        state = RunnerState(TrainState(params, params, self.optimizer.init(params)),
                            EnvBatch(env_state, obs, replay, demos, jnp.zeros(E, jnp.float32)), key, jnp.int32(0))
        return demonstrations.prefill(self, state, demo_key) if self.config.demo_steps else state

    def step_and_store(self, key, env_state, replay, action, demo: bool = False, accepted=None):
        """Step every environment with ``action`` and append the transitions to ``replay`` (a demonstration buffer
        takes the teacher's ``accepted`` cells too, :func:`jaxfire.agents.replay.add`).

        Returns ``(obs, env_state, replay, reward, done, info)`` with the reward scaled by ``reward_scale``."""
        obs, next_state, reward, done, info = self.step(key, env_state, action)
        replay = replay_lib.add(replay, env_state.landscape_index, env_state.scenario_index, env_state.treated,
                                env_state.placed, action, reward, done, demo,
                                None if accepted is None else accepted.reshape(env_state.treated.shape))
        return obs, next_state, replay, reward, done, info

    def loss(self, params, target_params, batch) -> jnp.ndarray:
        """TD loss (+ ``demo_weight`` x imitation loss on demonstrated samples) of a sampled ``batch``."""
        config, B = self.config, self.config.batch_size
        q_all = self.network.apply(params, batch["obs"]).reshape(B, -1)
        next_target = self.network.apply(target_params, batch["next_obs"])
        chooser = self.network.apply(params, batch["next_obs"]) if config.double else next_target
        target = losses.bootstrap_target(next_target, chooser, batch["next_mask"], batch["return"],
                                         batch["discount"])
        loss = losses.td_loss(q_all, batch["action"], target)
        if config.demo_steps and config.demo_weight > 0:
            imitation = losses.imitation_loss(q_all, batch["mask"].reshape(B, -1), batch["accepted"], batch["demo"])
            loss = loss + config.demo_weight * imitation
        return loss

    @property
    def demo_batch(self) -> int:
        """Samples of every training batch drawn from the demonstrations (``demo_fraction`` of ``batch_size``)."""
        return round(self.config.demo_fraction * self.config.batch_size) if self.config.demo_steps else 0

    def sample(self, key, replay, demos, from_demos: int) -> dict:
        """A batch of ``B`` n-step transitions, ``from_demos`` of them (static) from the demonstration buffer
        ``demos`` and the rest from ``replay``, with their observations rebuilt (split over devices if asked)."""
        config, cells = self.config, self.env.num_actions
        replay_key, demo_key = jax.random.split(key)
        parts = [replay_lib.sample(k, buffer, size, config.n_step, config.gamma)
                 for k, buffer, size in ((replay_key, replay, config.batch_size - from_demos),
                                         (demo_key, demos, from_demos)) if size]
        start, end, action, n_step_return, discount = jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)
        if self.batch_sharding is not None:
            start, end, action, n_step_return, discount = jax.lax.with_sharding_constraint(
                (start, end, action, n_step_return, discount), self.batch_sharding)
        # Observations are rebuilt outside the differentiated function: inside it XLA made a step ~30x slower.
        obs, mask = observe(self.env, self.env_params, start)
        next_obs, next_mask = observe(self.env, self.env_params, end)
        return dict(obs=obs, mask=mask, action=action, demo=start["demo"], accepted=start["accepted"][:, :cells],
                    next_obs=next_obs, next_mask=next_mask, discount=discount, **{"return": n_step_return})

    def gradient_step(self, train: TrainState, key, replay, demos, from_demos: int):
        """One optimizer step on a batch sampled as :meth:`sample` does; returns ``(train, loss)``."""
        batch = self.sample(key, replay, demos, from_demos)
        loss, grads = jax.value_and_grad(self.loss)(train.params, train.target_params, batch)
        updates, opt_state = self.optimizer.update(grads, train.opt_state, train.params)
        return train.replace(params=optax.apply_updates(train.params, updates), opt_state=opt_state), loss

    def follow(self, target_params, params, update):
        """The target network after ``update`` (0-based) has changed the online network to ``params``: a hard copy
        every ``target_period`` updates, else Polyak averaging with ``target_tau``."""
        if self.config.target_period > 0:
            refresh = (update + 1) % self.config.target_period == 0
            return jax.tree.map(lambda p, t: jnp.where(refresh, p, t), params, target_params)
        return optax.incremental_update(params, target_params, self.config.target_tau)

    def update(self, state: RunnerState, _):
        """One update: every environment steps, then (once ready) ``gradient_steps`` gradient steps; the scan body."""
        config, envs = self.config, state.envs
        key, act_key, explore_key, step_key, learn_key = jax.random.split(state.key, 5)
        epsilon = self.epsilon(state.update)
        mask = self.masks(envs.env_state)
        action = self.act(act_key, explore_key, state.train.params, envs.obs, mask, epsilon)
        # DAgger: the teacher's answer at every state the agent acts from, imitated when the transition is replayed.
        accepted = demonstrations.teacher_cells(self, envs.env_state) if config.dagger else None
        obs, env_state, replay, reward, done, info = self.step_and_store(step_key, envs.env_state, envs.replay, action,
                                                                          config.dagger, accepted)

        def learn(train):
            step = lambda train, key: self.gradient_step(train, key, replay, envs.demos, self.demo_batch)  # noqa: E731
            train, step_losses = jax.lax.scan(step, train, jax.random.split(learn_key, config.gradient_steps))
            return train, step_losses.mean()

        ready = replay.size > max(config.learning_starts, config.n_step)
        train, loss = jax.lax.cond(ready, learn, lambda train: (train, jnp.float32(0.0)), state.train)
        train = train.replace(target_params=self.follow(state.train.target_params, train.params, state.update))
        episode_return = envs.episode_return + reward
        metrics = {"epsilon": epsilon, "loss": loss, "learning": ready, "reward": reward.mean(),
                   **episode_metrics(episode_return, done, info["burned_fraction"])}
        envs = EnvBatch(env_state, obs, replay, envs.demos, jnp.where(done, 0.0, episode_return))
        return RunnerState(train, envs, key, state.update + 1), metrics


def build(config: DQNConfig, env=None, env_params=None, test_params=None, batch_sharding=None) -> DQN:
    """:class:`DQN` (the name earlier code used)."""
    return DQN(config, env, env_params, test_params, batch_sharding)


def make_train(config: DQNConfig, env=None, env_params=None):
    """``train(key) -> {"runner_state", "metrics"}``: ``config.total_updates`` updates in one jittable function
    (on ``env`` / ``env_params`` when given, else on :func:`make_env`'s training split)."""
    return base.make_train(DQN, config, env, env_params)
