"""Pure losses of the value-based learners, on batches of per-cell Q-maps.

Conventions: ``B`` samples; Q-maps ``float32[B, H, W]`` (one value per cell, :mod:`jaxfire.agents.networks`);
masks ``bool[B, H, W]`` (valid cells); actions flat cell indices ``int32[B]`` (``row * W + col``); returns and
discounts ``float32[B]`` (``discount`` = ``gamma ** n``, 0 when the episode ended within the n steps).
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


def td_loss(q_all, action, target) -> jnp.ndarray:
    """Mean Huber loss ``float32[]`` between ``Q(s, a)`` of ``q_all`` (``[B, H * W]``) at ``action`` and ``target``."""
    q = q_all[jnp.arange(q_all.shape[0]), action]
    return optax.huber_loss(q, target).mean()


def imitation_loss(q_all, mask, action, demo) -> jnp.ndarray:
    """Cross-entropy ``float32[]`` of a softmax over the valid cells' Q-values (``q_all`` ``[B, H * W]``, ``mask``
    ``[B, H * W]``) against the demonstrated ``action``, on the samples where ``demo`` (``bool[B]``); averaged over
    the whole batch."""
    log_policy = jax.nn.log_softmax(jnp.where(mask, q_all, -jnp.inf))
    imitation = -log_policy[jnp.arange(q_all.shape[0]), action]
    return jnp.where(demo, imitation, 0.0).mean()
