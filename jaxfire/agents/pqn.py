"""PQN (Gallici et al. 2024, "Simplifying deep temporal difference learning") for fuel-break placement, jit-compiled
end to end (PureJaxRL / purejaxql style).

No replay buffer and no target network: many vectorized environments act epsilon-greedily (masked: an invalid cell
is never chosen, exploring or not) with the current LayerNorm Q-network for ``rollout_steps`` steps; the rollout's
Q(lambda) returns are computed backward (:func:`jaxfire.agents.losses.lambda_returns`: bootstrapping from the max
over the VALID cells of the next state, as the acting network rated it, cut at episode ends); then ``epochs``
passes over the shuffled rollout, each ``minibatches`` gradient steps of the regression loss on those returns
(``td_loss``: ``mse`` = half the squared error as in purejaxql, or ``huber``), with DQN's optimizer (global-norm
clip + Adam).

``make_train(config)(key)`` runs the whole loop inside one ``jit`` (``jax.vmap`` over keys trains independent
agents); :class:`PQN` exposes ``init`` and ``update``, which :func:`jaxfire.training.train` runs in chunks with
checkpoints, exactly as for DQN (the runner state is :class:`jaxfire.agents.base.RunnerState`, its ``envs`` the
per-environment state that :func:`jaxfire.parallel.state_shardings` splits).

Demonstrations (``demo_baseline``, ``demo_steps``, ``pretrain_steps``): ``init`` runs ``demo_steps`` steps of every
environment placing its demonstrator's plan (:func:`jaxfire.agents.demonstrations.run`), then pre-trains on that
rollout for ``pretrain_steps`` gradient steps, in epochs of ``minibatches`` steps whose lambda-returns are recomputed
with the current network before each epoch, adding ``demo_weight`` x the imitation loss
(:func:`jaxfire.agents.losses.imitation_loss`: pick one of the teacher's accepted cells, ``demo_target``). Every
rollout transition carries a ``demo`` flag and the teacher's accepted cells, and :meth:`PQN.learn` applies the
imitation term to flagged samples.  With ``dagger`` (Ross et al. 2011, as DQN's) every state a training rollout
visits is labelled with the cut-lines teacher's answer there (:func:`jaxfire.agents.demonstrations.teacher_cells`:
its next cut from the partial plan) and flagged, so every gradient step also imitates the teacher at the agent's
own states; without it the demonstrations serve only pre-training and are gone once RL starts.

Conventions: an *update* is one rollout plus its ``epochs x minibatches`` gradient steps, so env steps per update
= ``rollout_steps x num_envs``; ``T`` rollout steps, ``E`` environments, ``N = T x E`` transitions, minibatches of
``N / minibatches``; rewards are the environment's times ``reward_scale``; actions flat cell indices.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxfire.agents import base, demonstrations, losses
from jaxfire.agents.base import RunnerState, episode_metrics
from jaxfire.agents.config import PQNConfig
from jaxfire.agents.networks import epsilon_greedy, masked_max


@struct.dataclass
class TrainState:
    """The learner: network parameters and optimizer state (no target network)."""

    params: Any
    opt_state: Any


@struct.dataclass
class EnvBatch:
    """Everything with a leading axis of ``E`` environments (what :func:`jaxfire.parallel.state_shardings` splits)."""

    env_state: Any
    obs: jnp.ndarray                # float32[E, H, W, C]
    episode_return: jnp.ndarray     # float32[E] running return of the current episodes


@struct.dataclass
class Rollout:
    """``T`` steps of ``E`` environments, every field with leading axes ``[T, E]``."""

    obs: jnp.ndarray                # float32[T, E, H, W, C] observation before the step
    mask: jnp.ndarray               # bool[T, E, H, W] valid cells before the step
    action: jnp.ndarray             # int32[T, E]
    reward: jnp.ndarray             # float32[T, E] scaled
    done: jnp.ndarray               # bool[T, E] the episode ended with this step
    value: jnp.ndarray              # float32[T, E] max over valid cells of Q(obs) (acting network; 0 if unrated)
    demo: jnp.ndarray               # bool[T, E] the action was a demonstrator's
    accepted: jnp.ndarray           # bool[T, E, H * W] the teacher's accepted cells (demonstrations; else False)


class PQN(base.Learner):
    """The algorithm on one environment: ``init(key) -> RunnerState`` and the scan body ``update(state, _)``.

    Constructor arguments: :class:`jaxfire.agents.base.Learner` (``batch_sharding`` splits each minibatch).
    """

    @property
    def env_steps_per_update(self) -> int:
        return self.config.rollout_size

    @property
    def gradient_steps_per_update(self) -> int:
        return self.config.epochs * self.config.minibatches

    def init(self, key) -> RunnerState:
        """A fresh runner: network, optimizer, environments reset (pre-trained on demonstrations when
        ``demo_steps``)."""
        net_key, env_key, demo_key, key = jax.random.split(key, 4)
        obs, env_state = self.reset(env_key)
        params = self.network.init(net_key, obs[:1])
        state = RunnerState(TrainState(params, self.optimizer.init(params)),
                            EnvBatch(env_state, obs, jnp.zeros(self.config.num_envs, jnp.float32)), key, jnp.int32(0))
        return self.pretrain(state, demo_key) if self.config.demo_steps else state

    def transition(self, key, envs: EnvBatch, action, mask, value, accepted=None):
        """Step every environment with ``action``; ``accepted`` ``bool[E, H * W]``, when given, are the teacher's
        cells at these states (a demonstration's, or DAgger's labels), which flags the steps ``demo`` so that
        learning imitates them.  Returns ``(envs, (Rollout step, returns so far, burned fraction))`` (the last two for
        :func:`jaxfire.agents.base.episode_metrics`)."""
        obs, env_state, reward, done, info = self.step(key, envs.env_state, action)
        episode_return = envs.episode_return + reward
        demo = accepted is not None
        accepted = jnp.zeros((done.shape[0], self.env.num_actions), bool) if accepted is None else accepted
        step = Rollout(envs.obs, mask, action, reward, done, value, jnp.full(done.shape, demo), accepted)
        envs = EnvBatch(env_state, obs, jnp.where(done, 0.0, episode_return))
        return envs, (step, episode_return, info["burned_fraction"])

    def rollout(self, key, params, envs: EnvBatch, epsilon):
        """``rollout_steps`` epsilon-greedy steps of every environment: ``(envs, Rollout, episode metrics)``; with
        ``dagger`` every step carries the teacher's answer at its state (flagged ``demo``)."""
        def one(envs, key):
            act_key, explore_key, step_key = jax.random.split(key, 3)
            mask = self.masks(envs.env_state)
            q = self.network.apply(params, envs.obs)
            action = epsilon_greedy(act_key, explore_key, q, mask, epsilon)
            accepted = None
            if self.config.dagger:
                accepted = demonstrations.teacher_cells(self, envs.env_state).reshape(action.shape[0], -1)
            return self.transition(step_key, envs, action, mask, masked_max(q, mask), accepted)

        envs, (rollout, returns, burned) = jax.lax.scan(one, envs, jax.random.split(key, self.config.rollout_steps))
        return envs, rollout, episode_metrics(returns, rollout.done, burned)

    def value(self, params, envs: EnvBatch) -> jnp.ndarray:
        """``float32[E]``: max over the valid cells of Q at the environments' current observations."""
        return masked_max(self.network.apply(params, envs.obs), self.masks(envs.env_state))

    def targets(self, rollout: Rollout, last_value) -> jnp.ndarray:
        """The rollout's Q(lambda) returns ``float32[T, E]``; ``last_value`` ``[E]`` rates the state after the last
        step (the others come from ``rollout.value``)."""
        next_values = jnp.concatenate([rollout.value[1:], last_value[None]])
        return losses.lambda_returns(rollout.reward, rollout.done, next_values, self.config.gamma, self.config.lam)

    def loss(self, params, batch: dict, imitate: bool) -> jnp.ndarray:
        """Regression of ``Q(s, a)`` on the lambda-returns (+ ``demo_weight`` x the imitation cross-entropy on
        demonstrated samples when ``imitate``) of a minibatch ``{"obs", "mask", "action", "demo", "accepted",
        "target"}``."""
        B = batch["action"].shape[0]
        q_all = self.network.apply(params, batch["obs"]).reshape(B, -1)
        loss = losses.td_loss(q_all, batch["action"], batch["target"], huber=self.config.td_loss == "huber")
        if imitate:
            imitation = losses.imitation_loss(q_all, batch["mask"].reshape(B, -1), batch["accepted"], batch["demo"])
            loss = loss + self.config.demo_weight * imitation
        return loss

    def gradient_step(self, train: TrainState, batch: dict, imitate: bool):
        """One optimizer step on ``batch``: ``(train, loss)``."""
        loss, grads = jax.value_and_grad(self.loss)(train.params, batch, imitate)
        updates, opt_state = self.optimizer.update(grads, train.opt_state, train.params)
        return train.replace(params=optax.apply_updates(train.params, updates), opt_state=opt_state), loss

    def learn(self, key, train: TrainState, rollout: Rollout, targets, epochs: int, imitate: bool = False):
        """``epochs`` passes over the shuffled rollout, ``minibatches`` gradient steps each: ``(train, mean loss)``.

        A minibatch is gathered inside its step (no shuffled copy of the observations is made)."""
        N, M = rollout.action.size, self.config.minibatches
        flat = jax.tree.map(lambda x: x.reshape((N,) + x.shape[2:]),
                            dict(obs=rollout.obs, mask=rollout.mask, action=rollout.action, demo=rollout.demo,
                                 accepted=rollout.accepted, target=targets))

        def minibatch(train, index):
            batch = jax.tree.map(lambda x: x[index], flat)
            if self.batch_sharding is not None:
                batch = jax.lax.with_sharding_constraint(batch, self.batch_sharding)
            return self.gradient_step(train, batch, imitate)

        def epoch(train, key):
            return jax.lax.scan(minibatch, train, jax.random.permutation(key, N).reshape(M, N // M))

        train, step_losses = jax.lax.scan(epoch, train, jax.random.split(key, epochs))
        return train, step_losses.mean()

    def update(self, state: RunnerState, _):
        """One update: a rollout of every environment, its lambda-returns, then ``epochs x minibatches`` gradient
        steps; the scan body."""
        key, rollout_key, learn_key = jax.random.split(state.key, 3)
        epsilon = self.epsilon(state.update)
        params = state.train.params
        envs, rollout, episodes = self.rollout(rollout_key, params, state.envs, epsilon)
        targets = self.targets(rollout, self.value(params, envs))
        train, loss = self.learn(learn_key, state.train, rollout, targets, self.config.epochs,
                                 imitate=self.config.dagger and self.config.demo_weight > 0)
        metrics = {"epsilon": epsilon, "loss": loss, "learning": jnp.bool_(True), "reward": rollout.reward.mean(),
                   "q_value": rollout.value.mean(), **episodes}
        return RunnerState(train, envs, key, state.update + 1), metrics

    def demonstrate(self, key, envs: EnvBatch) -> tuple[EnvBatch, Rollout]:
        """``demo_steps`` steps of every environment placing its demonstrator's plan, in the planner's order
        (:func:`jaxfire.agents.demonstrations.run`): ``(envs, Rollout)``, every step flagged ``demo``, ``value`` 0
        (unrated)."""
        plan_key, steps_key = jax.random.split(key)
        no_value = jnp.zeros(self.config.num_envs, jnp.float32)

        def demonstrated(key, env_state, envs, action, accepted):
            envs, (step, _, _) = self.transition(key, envs, action, self.masks(env_state), no_value, accepted)
            return envs.env_state, envs, step.done, step

        _, envs, rollout = demonstrations.run(self, envs.env_state, envs, plan_key, steps_key, demonstrated)
        return envs, rollout

    def pretrain(self, state: RunnerState, key) -> RunnerState:
        """Demonstrations and pre-training (module docstring), then fresh episodes to start training on."""
        demo_key, learn_key, reset_key = jax.random.split(key, 3)
        envs, rollout = self.demonstrate(demo_key, state.envs)

        def epoch(train, key):
            values = jax.lax.map(lambda step: masked_max(self.network.apply(train.params, step[0]), step[1]),
                                 (rollout.obs, rollout.mask))
            targets = self.targets(rollout.replace(value=values), self.value(train.params, envs))
            return self.learn(key, train, rollout, targets, 1, imitate=self.config.demo_weight > 0)

        epochs = self.config.pretrain_steps // self.config.minibatches
        train, _ = jax.lax.scan(epoch, state.train, jax.random.split(learn_key, epochs))
        obs, env_state = self.reset(reset_key)
        return state.replace(train=train, envs=EnvBatch(env_state, obs, jnp.zeros_like(state.envs.episode_return)))


def make_train(config: PQNConfig, env=None, env_params=None):
    """``train(key) -> {"runner_state", "metrics"}``: ``config.total_updates`` updates in one jittable function
    (on ``env`` / ``env_params`` when given, else on :func:`jaxfire.agents.base.make_env`'s training split)."""
    return base.make_train(PQN, config, env, env_params)
