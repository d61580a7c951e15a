"""What every planner shares: the signature, budget checks, planning fires and turning scores into plans.

A *planner* places fuel breaks: ``name(key, landscape, weather, budget_cells, *, ignitions=None,
num_ignitions=64, ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False, **method_specific)``
returns a plan, a ``bool[H, W]`` mask of exactly ``budget_cells`` distinct burnable cells to treat (make
non-burnable; :meth:`~jaxfire.landscape.Landscape.with_fuel_breaks` applies it).  With ``ranked=True`` it returns
instead the order in which it picks cells, ``int32[H, W]`` ranks (0 = first; the plan is ``rank < budget_cells``),
as demonstrations replay a plan.  ``budget_cells`` is validated when concrete (``ValueError`` when negative, above
the number of burnable cells, or when no cell is burnable); a traced budget also works (cells are picked by
``rank < budget_cells``).  Every planner is :func:`jaxfire.validation.validated`: a visible bad weather, cap or
ignition raises ``ValueError`` naming it.  Without ``ignitions`` (``int[N, 2]``) the planning fires start at
``num_ignitions`` cells drawn with ``key`` (:func:`jaxfire.fire.sample_ignitions`).  Ties between equal scores are
broken by a uniform draw from ``key``, so each planner is deterministic for a key.

Conventions: arrays ``[row, col]``, row 0 = north; flat cell indices ``row * W + col``; times in minutes.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxfire.fire import sample_ignitions
from jaxfire.landscape import Landscape
from jaxfire.validation import concrete


def check_budget(landscape: Landscape, budget_cells) -> None:
    """Raise ``ValueError`` unless ``budget_cells`` is one integer with ``0 <= budget_cells <= burnable cells`` (the
    kind and shape are checked even when traced, the value when concrete)."""
    if (budget_cells is None or isinstance(budget_cells, (bool, str, bytes))
            or not jnp.issubdtype(jnp.result_type(budget_cells), jnp.integer) or jnp.ndim(budget_cells)):
        raise ValueError(f"budget_cells must be one whole number of cells (an integer), got {budget_cells!r}")
    burnable, budget = concrete(landscape.burnable), concrete(budget_cells)
    if burnable is not None and not burnable.any():
        raise ValueError("the landscape has no burnable cells to treat")
    if budget is None:
        return
    if budget < 0:
        raise ValueError(f"budget_cells must be >= 0, got {int(budget)}")
    if burnable is not None and budget > burnable.sum():
        raise ValueError(f"budget_cells={int(budget)} exceeds the {int(burnable.sum())} burnable cells")


def planning_fires(key, landscape: Landscape, budget_cells, ignitions, num_ignitions, ignition_probability):
    """Validate a planner's inputs; return ``(ignitions int32[N, 2], key for tie-breaking)``."""
    check_budget(landscape, budget_cells)
    ignition_key, tie_key = jax.random.split(key)
    if ignitions is None:
        return sample_ignitions(ignition_key, landscape.burnable, num_ignitions, ignition_probability), tie_key
    ignitions = jnp.asarray(ignitions, jnp.int32)
    if ignitions.ndim != 2 or ignitions.shape[1] != 2 or not ignitions.shape[0]:
        raise ValueError(f"ignitions must be int[N, 2] (row, col) pairs with N >= 1, got shape {ignitions.shape}")
    return ignitions, tie_key


def order(score, eligible, tie_key=None) -> jnp.ndarray:
    """Flat cell indices ``int32[H * W]``: eligible cells by decreasing ``score`` first (NaN lowest).

    Equal scores are ordered by a uniform draw from ``tie_key`` (by flat index when ``None``).
    """
    keys = [-jnp.nan_to_num(score.ravel().astype(jnp.float32), nan=-jnp.inf), ~eligible.ravel()]
    if tie_key is not None:
        keys.insert(0, jax.random.uniform(tie_key, (score.size,)))
    return jnp.lexsort(keys).astype(jnp.int32)


@jax.jit
def cell_ranks(score, eligible, tie_key=None) -> jnp.ndarray:
    """``int32[H, W]``: each cell's place when ``eligible`` cells are taken by decreasing ``score`` (0 = first;
    ineligible cells after every eligible one; ties broken as in :func:`order`)."""
    return jnp.zeros(score.size, jnp.int32).at[order(score, eligible, tie_key)].set(
        jnp.arange(score.size, dtype=jnp.int32)).reshape(score.shape)


@jax.jit
def top_cells(score, eligible, budget_cells, tie_key=None) -> jnp.ndarray:
    """``bool[H, W]``: the ``budget_cells`` ``eligible`` cells with the highest ``score`` (``[H, W]``).

    Rank-based, so ``budget_cells`` may be traced; fewer cells come back only when fewer are eligible.
    """
    return (cell_ranks(score, eligible, tie_key) < budget_cells) & eligible


def pick(score, eligible, budget_cells, tie_key, ranked: bool) -> jnp.ndarray:
    """A score-based planner's answer: :func:`cell_ranks` when ``ranked``, else :func:`top_cells`."""
    return cell_ranks(score, eligible, tie_key) if ranked else top_cells(score, eligible, budget_cells, tie_key)
