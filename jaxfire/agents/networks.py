"""Fully convolutional Q-network: one Q-value per cell, any grid size.

Input ``float32[B, H, W, C]`` observations (channels last, see :mod:`jaxfire.env`); output ``float32[B, H, W]``.
Dilated 3x3 convolutions see a neighbourhood of ``1 + 2 * sum(dilations)`` cells; every layer also receives
the mean of the previous layer over the whole grid, so distant fire paths inform each cell's value.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class QNetwork(nn.Module):
    """Per-cell Q-values; with ``dueling`` a grid-level value plus mean-centred per-cell advantages."""

    features: Sequence[int] = (32, 32, 32, 32)
    dilations: Sequence[int] = (1, 2, 4, 8)
    dueling: bool = True

    @nn.compact
    def __call__(self, obs: jnp.ndarray) -> jnp.ndarray:
        x = obs
        for width, dilation in zip(self.features, self.dilations):
            context = jnp.broadcast_to(x.mean((1, 2), keepdims=True), x.shape)
            x = nn.Conv(width, (3, 3), kernel_dilation=dilation, padding="SAME")(jnp.concatenate([x, context], -1))
            x = nn.relu(x)
        advantage = nn.Conv(1, (1, 1))(x)[..., 0]
        if not self.dueling:
            return advantage
        value = nn.Dense(1)(nn.relu(nn.Dense(self.features[-1])(x.mean((1, 2)))))
        return value[:, :, None] + advantage - advantage.mean((1, 2), keepdims=True)


def masked_argmax(q: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Flat index of the best valid cell: ``q``, ``mask`` ``[..., H, W]`` -> ``int32[...]``."""
    flat = jnp.where(mask, q, -jnp.inf).reshape(q.shape[:-2] + (-1,))
    return jnp.argmax(flat, -1).astype(jnp.int32)
