"""Cut lines: a fuel-break network built from straight line segments that cut the planning fires, chosen by the
burned area they remove, a few rounds of fire simulation in all.

Why lines.  A treated cell on a fire's path only delays it: the fire goes around, which is why cell scores (burn
probability, DPV) protect little, and why greedy search, one simulated cell at a time, finds better plans by
closing gaps in barriers.  A fire is stopped only by a *cut*: a segment of a row or column across every cell where
the fire crossed that line.  Cuts can be valued exactly from one solve, without simulating them:

* For fire ``g`` and column ``c`` (ignition west of ``c``), let ``[top, bottom]`` be the rows ``g`` burned in
  column ``c``.  Treating column ``c`` over any row range containing ``[top, bottom]`` stops ``g`` at ``c``: the
  cells of column ``c`` outside it were not reached within the cap, treatment only delays fires, so they stay
  unreached, and every stencil move from west of ``c`` to east of it crosses a cell of column ``c``.  It saves
  ``g``'s burned cells in columns ``>= c`` (``<= c`` for an ignition east of ``c``; a fire ignited in column
  ``c`` is not counted: an ignition is a point source), and sometimes more (near-side cells the fire reached
  across the line and back), so this *saved* area is a lower bound, exact in most cases.
* The candidate cuts are the tight ones, ``(fire f, column c) -> rows [top_f, bottom_f]`` of column ``c`` (and the
  same on rows, transposed): a candidate's *gain* is the saved area of every fire whose crossing interval it
  covers, its *cost* the untreated burnable cells in it (non-burnable cells are free, so a cut that closes the gap
  in a road, river or earlier cut is cheap: the gap-closing that greedy search finds one cell at a time).

Each of ``rounds`` rounds solves the planning fires on the landscape treated so far, then picks cuts by gain per
treated cell until the round's share of the budget (``ceil(budget / rounds)``) is spent, or no cut saves anything;
a fire already cut this round counts for no later cut of the round (the next round's solve sees where it goes
now).  Budget left when no cut saves anything (e.g. every fire already cut at its ignition) is spent on the
cells of highest DPV of the final landscape, so every plan treats exactly ``budget_cells`` cells.

Cost: ``rounds + 1`` solves of the planning fires (as :func:`~jaxfire.planners.iterative_dpv`), plus
``O(N^2 (H + W))`` arithmetic per cut picked (``N`` planning fires).  Signature and conventions as in
:mod:`jaxfire.planners.base` (``weather`` may be a batch, :mod:`jaxfire.planners.scoring`); cells ``[row, col]``.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from jaxfire import fire
from jaxfire.fire import SpreadGrid
from jaxfire.landscape import Landscape
from jaxfire.planners import scoring
from jaxfire.planners.base import order, planning_fires
from jaxfire.validation import Range, validated
from jaxfire.weather import Weather


def crossings(burned, ignition_line) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Where each fire crosses each column, and what cutting it there saves.

    Args:
      burned: ``bool[N, H, W]``, the cells each fire burned.
      ignition_line: ``int32[N]``, the column of each fire's ignition.

    Returns:
      ``(top, bottom, saved)``, each ``[N, W]``: the first and last row fire ``n`` burned in column ``c``
      (``top = H``, ``bottom = -1`` where it burned none) and its burned cells in the columns from ``c`` away from
      its ignition (0 in its ignition column).
    """
    N, H, W = burned.shape
    in_column = burned.sum(1, dtype=jnp.int32)                                  # [N, W]
    rows = jnp.arange(H)[None, :, None]
    top = jnp.where(burned, rows, H).min(1)
    bottom = jnp.where(burned, rows, -1).max(1)
    east = jnp.cumsum(in_column[:, ::-1], 1)[:, ::-1]                           # columns >= c
    west = jnp.cumsum(in_column, 1)                                             # columns <= c
    column = jnp.arange(W)[None]
    line = ignition_line[:, None]
    saved = jnp.where(line < column, east, jnp.where(line > column, west, 0))
    return top, bottom, saved


def best_cut(crossing, weight, opened, remaining) -> tuple:
    """The tight cut of highest gain per treated cell, in one orientation.

    Args:
      crossing: ``(top, bottom, saved)`` of :func:`crossings`, each ``[N, W]``.
      weight: ``float32[N]``, what each fire's saved area counts (0 for fires already cut).
      opened: ``bool[H, W]``, the untreated burnable cells.
      remaining: budget cells left; a cut must fit in it.

    Returns:
      ``(score, cells bool[H, W], covered bool[N])``: the best cut's gain per cell (-1 when no cut that fits saves
      anything), its untreated burnable cells, and the fires it stops.  Fire ``g`` is stopped by the tight cut of
      fire ``f`` at column ``c`` when ``top_f <= top_g`` and ``bottom_g <= bottom_f`` there; the cut costs the
      untreated burnable cells of column ``c`` in rows ``[top_f, bottom_f]``.
    """
    top, bottom, saved = crossing
    (N, W), H = top.shape, opened.shape[0]
    crossed = top <= bottom                                                     # [N, W]
    covers = (top[:, None] <= top[None]) & (bottom[None] <= bottom[:, None]) & crossed[None]   # [f, g, W]
    gain = jnp.einsum("fgc,gc->fc", covers.astype(jnp.float32), saved * weight[:, None])
    prefix = jnp.concatenate([jnp.zeros((1, W), jnp.int32), jnp.cumsum(opened, 0, dtype=jnp.int32)])
    column = jnp.arange(W)[None]
    cost = prefix[jnp.clip(bottom + 1, 0, H), column] - prefix[jnp.clip(top, 0, H), column]
    fits = crossed & (gain > 0) & (cost > 0) & (cost <= remaining)
    score = jnp.where(fits, gain / jnp.maximum(cost, 1), -1.0)
    best = jnp.argmax(score)
    f, c = best // W, best % W
    rows = jnp.arange(H)[:, None]
    cells = opened & (column == c) & (rows >= top[f, c]) & (rows <= bottom[f, c])
    return score.ravel()[best], cells, covers[f, :, c]


@functools.partial(jax.jit, static_argnames="rounds")
def cut_lines_search(grids: SpreadGrid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0,
                     rounds: int = 16) -> jnp.ndarray:
    """Ranks ``int32[H, W]`` of :func:`cut_lines` (``H * W`` for cells never treated) from the step times
    ``grids`` (leading ``[K]`` weather axis) and fuel mask ``burnable``; ``budget_cells`` may be traced."""
    H, W = burnable.shape
    ignitions = jnp.asarray(ignitions, jnp.int32)
    groups = scoring.grouped(ignitions, grids.step_minutes.shape[0])
    quota = -(-budget_cells // rounds)

    def place(rank, cells):  # ranks for ``cells`` after the cells placed so far, in flat-index order
        placed = (rank < H * W).sum()
        return jnp.where(cells, placed + jnp.cumsum(cells.ravel()).reshape(H, W) - 1, rank)

    def one_round(_, rank):
        treated = rank < H * W
        treat = jax.vmap(fire.treat_grid, in_axes=(0, None, None))(grids, burnable, treated)
        burned = jnp.isfinite(jax.vmap(fire.solve_many, in_axes=(0, 0, None))(treat, groups, max_minutes))
        burned = burned.reshape(-1, H, W)
        by_column = crossings(burned, ignitions[:, 1])
        by_row = crossings(burned.transpose(0, 2, 1), ignitions[:, 0])       # rows = columns of the transpose

        def pick(state):
            rank, spent, weight, _ = state
            opened, remaining = burnable & (rank == H * W), budget_cells - (rank < H * W).sum()
            col_score, col_cells, col_covered = best_cut(by_column, weight, opened, remaining)
            row_score, row_cells, row_covered = best_cut(by_row, weight, opened.T, remaining)
            use_row = row_score > col_score
            found = jnp.maximum(row_score, col_score) > 0
            cells = found & jnp.where(use_row, row_cells.T, col_cells)
            weight = jnp.where(found & jnp.where(use_row, row_covered, col_covered), 0.0, weight)
            return place(rank, cells), spent + cells.sum(), weight, found

        def more(state):
            rank, spent, _, found = state
            return found & (spent < quota) & ((rank < H * W).sum() < budget_cells)

        weight = jnp.ones(ignitions.shape[0], jnp.float32)
        return lax.while_loop(more, pick, (rank, 0, weight, True))[0]

    rank = lax.fori_loop(0, rounds, one_round, jnp.full((H, W), H * W, jnp.int32))
    # budget no cut could use: the cells of highest DPV on the final landscape
    treated = rank < H * W
    cells = order(scoring.dpv(grids, ignitions, max_minutes, treated), burnable & ~treated, tie_key)
    index = jnp.arange(H * W)
    take = (treated.sum() + index < budget_cells) & (burnable & ~treated).ravel()[cells]
    return rank.ravel().at[cells].min(jnp.where(take, treated.sum() + index, H * W)).reshape(H, W)


@validated
def cut_lines(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
              ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False,
              rounds: int = 16) -> jnp.ndarray:
    """A fuel-break network of row and column segments, each the tight cut of planning fires with the most burned
    area saved per treated cell, in ``rounds`` rounds of simulation (module docstring)."""
    Range(1, integer=True).value(rounds, "rounds")
    ignitions, tie_key = planning_fires(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    grids = scoring.scenario_grids(landscape, weather, neighbours)
    rank = cut_lines_search(grids, landscape.burnable, ignitions, budget_cells, tie_key, max_minutes, rounds)
    return rank if ranked else rank < budget_cells
