"""Pure losses of the value-based learners, on batches of per-cell Q-maps.

Conventions: ``B`` samples; Q-maps ``float32[B, H, W]`` (one value per cell, :mod:`jaxfire.agents.networks`);
masks ``bool[B, H, W]`` (valid cells); actions flat cell indices ``int32[B]`` (``row * W + col``); returns and
discounts ``float32[B]`` (``discount`` = ``gamma ** n``, 0 when the episode ended within the n steps); rollouts
(PQN) have leading axes ``[T, ...]``, ``T`` steps in time order.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxfire.agents.networks import masked_argmax


def bootstrap_target(next_q_target, next_q_chooser, next_mask, n_step_return, discount) -> jnp.ndarray:
    """n-step TD targets ``float32[B]``: ``return + discount * Q_target(s', argmax_valid Q_chooser(s'))``.

    Double DQN passes the online network's ``next_q_chooser`` (it picks the action, the target network rates it);
    plain DQN passes the target network's map twice.  A next state with no valid cell (the episode's end)
    bootstraps 0.  The target carries no gradient.
    """
    B = next_q_target.shape[0]
    best = masked_argmax(next_q_chooser, next_mask)
    bootstrap = next_q_target.reshape(B, -1)[jnp.arange(B), best]
    value = jnp.where(next_mask.any((1, 2)), bootstrap, 0.0)
    return n_step_return + discount * jax.lax.stop_gradient(value)


def lambda_returns(rewards, dones, next_values, gamma: float, lam: float) -> jnp.ndarray:
    """Peng's Q(lambda) returns over a rollout, computed backward (PQN's targets): ``float32[T, ...]``.

    ``G_t = r_t + gamma * (1 - done_t) * ((1 - lam) * v_t + lam * G_{t+1})`` with ``G_T = v_{T-1}`` (the rollout's
    last step bootstraps fully from its next value), where ``v_t = next_values[t]`` is the value of the state after
    step ``t`` (max over its valid cells, 0 with none).  An episode end (``done_t``) cuts both the bootstrap and the
    return that follows (it belongs to the next episode).  ``lam = 0``: one-step Q-learning targets; ``lam = 1``:
    discounted rewards to the episode's end or the rollout's last bootstrap.

    Args:
      rewards, next_values: ``float32[T, ...]``; dones: ``bool[T, ...]`` (the episode ended with step ``t``).
    The returns carry no gradient.
    """
    def backward(following, step):
        reward, done, value = step
        ret = reward + gamma * (1.0 - done) * ((1.0 - lam) * value + lam * following)
        return ret, ret

    inputs = (rewards, dones.astype(rewards.dtype), jax.lax.stop_gradient(next_values))
    _, returns = jax.lax.scan(backward, inputs[2][-1], inputs, reverse=True)
    return jax.lax.stop_gradient(returns)


def td_loss(q_all, action, target, huber: bool = True) -> jnp.ndarray:
    """Mean regression loss ``float32[]`` between ``Q(s, a)`` of ``q_all`` (``[B, H * W]``) at ``action`` and
    ``target``: Huber (delta 1, DQN's) or, with ``huber=False``, half the squared error (PQN's, as purejaxql)."""
    q = q_all[jnp.arange(q_all.shape[0]), action]
    return (optax.huber_loss(q, target) if huber else 0.5 * jnp.square(q - target)).mean()


def imitation_loss(q_all, mask, accepted, demo) -> jnp.ndarray:
    """Negative log-probability ``float32[]`` that a softmax over the valid cells' Q-values (``q_all`` ``[B, H * W]``,
    ``mask`` ``[B, H * W]``) picks one of the teacher's ``accepted`` cells (``bool[B, H * W]``), on the samples where
    ``demo`` (``bool[B]``); averaged over the whole batch.

    With one accepted cell (the demonstrated action) this is the cross-entropy against it; with the cells of the
    teacher's plan not yet placed it rewards ranking any of them first, whatever order the teacher listed them in
    (the greedy policy places its best cell, so that cell has to be in the plan, not every plan cell equally high).
    """
    log_policy = jax.nn.log_softmax(jnp.where(mask, q_all, -jnp.inf))
    imitated = demo & (accepted & mask).any(-1)
    # Rows not imitated sum the whole policy (log 1 = 0) so that no -inf reaches the gradient.
    picked = jnp.where((accepted & mask) | ~imitated[:, None], log_policy, -jnp.inf)
    return jnp.where(imitated, -jax.nn.logsumexp(picked, axis=-1), 0.0).mean()
