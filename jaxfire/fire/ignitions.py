"""Where fires start: ignition masks and the one ignition sampler every part of jaxfire uses.

Conventions: an ignition is a cell ``(row, col)`` (row 0 = north) or a ``bool[H, W]`` mask of cells burning at
t = 0; a batch of ignitions is ``int32[N, 2]``.  An ignition is a point source: on a non-burnable cell (a road, a
fuel break) it still ignites the fuel next to it.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfire.validation import Range, concrete


def ignition_mask(ignition, shape: tuple[int, int]) -> jnp.ndarray:
    """``bool[H, W]`` from a ``(row, col)`` pair (``int[2]``) or a boolean ``[H, W]`` mask (a pair off the grid gives
    an empty mask: the callers validate ignitions, :mod:`jaxfire.validation`)."""
    if ignition is None or isinstance(ignition, (str, bytes)):
        raise TypeError(f"ignition must be a (row, col) pair or a bool{list(shape)} mask, got {ignition!r}")
    ignition = jnp.asarray(ignition)
    if ignition.shape == tuple(shape):
        return ignition.astype(bool)
    if ignition.shape != (2,):
        raise ValueError(f"ignition must be a (row, col) pair or a bool{list(shape)} mask, got shape {ignition.shape}")
    rows = jnp.arange(shape[0])[:, None]
    cols = jnp.arange(shape[1])[None, :]
    return (rows == ignition[0]) & (cols == ignition[1])


def sample_ignitions(key: jax.Array, burnable, count: int, ignition_probability=None) -> jnp.ndarray:
    """``int32[count, 2]`` ignition cells ``(row, col)``, drawn independently (with replacement); jittable.

    Args:
      key: ``jax.random`` key.
      burnable: ``bool[H, W]`` cells that may ignite (a landscape's ``burnable``).
      count: number of ignitions (static, >= 1).
      ignition_probability: optional ``float[H, W]`` relative ignition likelihood (normalised here, zeroed on
        non-burnable cells); uniform over burnable cells when ``None``.

    Raises:
      ValueError: (on what is concrete) ``count < 1``, no burnable cell, or a map of the wrong shape, with
        negative or non-finite values, or zero on every burnable cell.
    """
    Range(1, integer=True).value(count, "count (the number of ignitions)")
    mask, p = concrete(burnable), concrete(ignition_probability)
    if mask is not None and not mask.any():
        raise ValueError("the landscape has no burnable cells to ignite")
    if ignition_probability is not None and p is not None:
        shape = tuple(jnp.shape(burnable))
        if p.shape != shape:
            raise ValueError(f"ignition_probability has shape {p.shape}, expected {shape}")
        if not (np.all(np.isfinite(p)) and np.all(p >= 0)):
            raise ValueError("ignition_probability must be finite and >= 0")
        if mask is not None and not (p * mask).sum() > 0:
            raise ValueError("ignition_probability is zero on every burnable cell")
    return _sample(key, burnable, count, ignition_probability)


@functools.partial(jax.jit, static_argnames="count")
def _sample(key, burnable, count, ignition_probability):
    weights = burnable.astype(jnp.float32)
    if ignition_probability is not None:
        weights = weights * jnp.asarray(ignition_probability, jnp.float32)
    flat = jax.random.choice(key, weights.size, (count,), p=(weights / weights.sum()).ravel())
    return jnp.stack(jnp.divmod(flat, burnable.shape[-1]), axis=1).astype(jnp.int32)
