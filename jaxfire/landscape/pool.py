"""Landscape pools: many landscapes of one shape stacked on a leading axis, split and sampled inside ``jit``.

A pool is simply a :class:`~jaxfire.landscape.Landscape` whose layers are ``[P, H, W]``; :func:`take` indexes it
(traced indices allowed) without copying the pool, so environments can hold a pool in their parameters and pick
a landscape per episode.  Conventions as in :mod:`jaxfire.landscape.core`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxfire.landscape.core import Landscape
from jaxfire.landscape.synthetic import synthetic


def stack(landscapes) -> Landscape:
    """Stack same-shape, same-cell-size landscapes into a pool (layers ``[P, H, W]``)."""
    landscapes = list(landscapes)
    if not landscapes:
        raise ValueError("cannot build a pool from no landscapes")
    shapes = {land.shape for land in landscapes}
    sizes = {land.cell_size_m for land in landscapes}
    if len(shapes) != 1 or len(sizes) != 1:
        raise ValueError(f"pool landscapes must share one shape and cell size, got shapes {sorted(shapes)} "
                         f"and cell sizes {sorted(sizes)}")
    return jax.tree.map(lambda *layers: jnp.stack(layers), *landscapes)


def size(pool: Landscape) -> int:
    """Number of landscapes ``P`` in a pool."""
    return pool.fuel_model.shape[0]


def take(pool: Landscape, index) -> Landscape:
    """Landscape ``index`` of the pool (``index`` may be traced; an ``int[K]`` index gives a smaller pool)."""
    return jax.tree.map(lambda layer: layer[index], pool)


def sample(key: jax.Array, pool: Landscape) -> tuple[jax.Array, Landscape]:
    """A uniformly drawn ``(index, landscape)`` from the pool; jittable."""
    index = jax.random.randint(key, (), 0, size(pool))
    return index, take(pool, index)


def synthetic_pool(key: jax.Array, count: int, shape: tuple[int, int], **synthetic_kwargs) -> Landscape:
    """A pool of ``count`` synthetic landscapes, landscape ``i`` drawn from ``jax.random.fold_in(key, i)``."""
    return stack(synthetic(jax.random.fold_in(key, i), shape, **synthetic_kwargs) for i in range(count))


def split_indices(count: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` sorted indices of :func:`split` of a ``count``-landscape pool."""
    n_test = int(round(test_fraction * count))
    if not 0 < n_test < count:
        raise ValueError(f"test_fraction {test_fraction} leaves an empty train or test set of a {count}-landscape pool")
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def split(pool: Landscape, test_fraction: float = 0.2, seed: int = 0) -> tuple[Landscape, Landscape]:
    """Deterministic ``(train, test)`` split of a pool: a seeded permutation, the first ``test_fraction`` held out.

    Landscape ``i`` of :func:`synthetic_pool` does not depend on the pool's size, so two pools of one seed share
    landscapes: a landscape held out of one may be a training landscape of the other (:func:`split_indices`)."""
    train, test = split_indices(size(pool), test_fraction, seed)
    return take(pool, jnp.asarray(train)), take(pool, jnp.asarray(test))
