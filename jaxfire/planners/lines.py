"""Cut lines: a fuel-break network built from straight line segments that cut the planning fires, chosen by the
burned area they remove, a few rounds of fire simulation in all.

Why lines.  A treated cell on a fire's path only delays it: the fire goes around, which is why cell scores (burn
probability, DPV) protect little, and why greedy search, one simulated cell at a time, finds better plans by
closing gaps in barriers.  A fire is stopped only by a *cut*: a segment of a row or column across every cell where
the fire crossed that line.  Cuts can be valued from one solve, without simulating them:

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
``O(N^2 (H + W))`` integer arithmetic per round to value every tight cut (``N`` planning fires; a fire's saved
area leaves the gains once, when a cut stops it) and ``O(H W)`` per cut picked.  Signature and conventions as in
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
from jaxfire.planners.base import planning_fires
from jaxfire.planners.iterative import add_top_dpv
from jaxfire.validation import Range, validated
from jaxfire.weather import Weather

DRAIN = 8  # fires whose saved area is removed from the cuts' gains at a time, after a cut stops them


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


def cover_gains(crossing, fires) -> jnp.ndarray:
    """``int32[N, W]``: the saved area of the fires ``fires`` (``int32[M]`` indices; ``-1`` = none) covered by the
    tight cut of each fire ``f`` at each column ``c``.

    Fire ``g`` is covered (stopped) by the tight cut of fire ``f`` at column ``c`` when both crossed column ``c``,
    ``top_f <= top_g`` and ``bottom_g <= bottom_f`` there.  ``O(M N W)``.
    """
    top, bottom, saved = crossing
    g = jnp.maximum(fires, 0)
    value = jnp.where((fires >= 0)[:, None] & (top[g] <= bottom[g]), saved[g], 0)          # [M, W]
    covers = (top[:, None] <= top[g][None]) & (bottom[g][None] <= bottom[:, None])          # [f, M, W]
    return jnp.where(covers & (top <= bottom)[:, None], value[None], 0).sum(1)


def all_gains(crossing, block: int = 64) -> jnp.ndarray:
    """:func:`cover_gains` of every fire, ``block`` fires at a time (memory ``N x block x W``)."""
    N, W = crossing[0].shape
    block = min(block, N)

    def add(i, total):
        fires = i * block + jnp.arange(block, dtype=jnp.int32)
        return total + cover_gains(crossing, jnp.where(fires < N, fires, -1))

    return lax.fori_loop(0, -(-N // block), add, jnp.zeros((N, W), jnp.int32))


def best_cut(crossing, gain, opened, remaining) -> tuple:
    """The tight cut of highest gain per treated cell, in one orientation.

    Args:
      crossing: ``(top, bottom, saved)`` of :func:`crossings`, each ``[N, W]``.
      gain: ``int32[N, W]``, the area each fire's tight cut at each column saves (:func:`cover_gains` of the fires
        not cut yet).
      opened: ``bool[H, W]``, the untreated burnable cells.
      remaining: budget cells left; a cut must fit in it.

    Returns:
      ``(score, cells bool[H, W], (f, c))``: the best cut's gain per cell (-1 when no cut that fits saves
      anything), its untreated burnable cells (the cut costs those of column ``c`` in rows ``[top_f, bottom_f]``),
      and which fire's cut at which column it is.
    """
    top, bottom, _ = crossing
    (N, W), H = top.shape, opened.shape[0]
    prefix = jnp.concatenate([jnp.zeros((1, W), jnp.int32), jnp.cumsum(opened, 0, dtype=jnp.int32)])
    column = jnp.arange(W)[None]
    cost = prefix[jnp.clip(bottom + 1, 0, H), column] - prefix[jnp.clip(top, 0, H), column]
    fits = (top <= bottom) & (gain > 0) & (cost > 0) & (cost <= remaining)
    score = jnp.where(fits, gain / jnp.maximum(cost, 1), -1.0)
    best = jnp.argmax(score)
    f, c = best // W, best % W
    rows = jnp.arange(H)[:, None]
    cells = opened & (column == c) & (rows >= top[f, c]) & (rows <= bottom[f, c])
    return score.ravel()[best], cells, (f, c)


def covered_by(crossing, f, c) -> jnp.ndarray:
    """``bool[N]``: the fires the tight cut of fire ``f`` at column ``c`` stops (see :func:`cover_gains`)."""
    top, bottom, _ = crossing
    return (top[f, c] <= top[:, c]) & (bottom[:, c] <= bottom[f, c]) & (top[:, c] <= bottom[:, c])


def solve_treated(grids: SpreadGrid, burnable, ignitions, treated, max_minutes) -> tuple:
    """The planning fires ``ignitions`` (``int[N, 2]``, split evenly over the ``K`` weathers of ``grids``) solved
    after treating ``treated`` (``bool[H, W]``): ``(treated grids, fires int32[K, N / K, 2], times float32[K, N / K,
    H, W])``."""
    treat = jax.vmap(fire.treat_grid, in_axes=(0, None, None))(grids, burnable, treated)
    groups = scoring.grouped(jnp.asarray(ignitions, jnp.int32), grids.step_minutes.shape[0])
    return treat, groups, jax.vmap(fire.solve_many, in_axes=(0, 0, None))(treat, groups, max_minutes)


def both_crossings(times, ignitions) -> tuple:
    """``(by_column, by_row)``: :func:`crossings` of the fires ``ignitions`` (``int[N, 2]``) whose arrival times are
    ``times`` (``[..., H, W]``, ``N`` fires in all); ``by_row`` is that of the transposed grid (rows as columns)."""
    burned = jnp.isfinite(times).reshape((-1,) + times.shape[-2:])
    ignitions = jnp.asarray(ignitions, jnp.int32)
    return crossings(burned, ignitions[:, 1]), crossings(burned.transpose(0, 2, 1), ignitions[:, 0])


def best_of_both(orientations, gains, opened, remaining) -> tuple:
    """The cut of highest gain per treated cell over both orientations (:func:`best_cut` of each).

    Returns ``(found, cells bool[H, W], stopped bool[N])``: whether a cut that fits ``remaining`` saves anything,
    its untreated burnable cells (none when not found) and the fires it stops."""
    by_column, by_row = orientations
    col_score, col_cells, col_cut = best_cut(by_column, gains[0], opened, remaining)
    row_score, row_cells, row_cut = best_cut(by_row, gains[1], opened.T, remaining)
    use_row = row_score > col_score
    found = jnp.maximum(row_score, col_score) > 0
    cells = found & jnp.where(use_row, row_cells.T, col_cells)
    return found, cells, jnp.where(use_row, covered_by(by_row, *row_cut), covered_by(by_column, *col_cut))


@jax.jit
def next_cut(grids: SpreadGrid, burnable, ignitions, treated, budget_cells, max_minutes=480.0) -> jnp.ndarray:
    """What the cut-lines teacher treats next from any partial plan: ``bool[H, W]``, the untreated cells of the
    best tight cut (highest burned area saved per treated cell, fitting the budget left) of the planning fires
    ``ignitions`` solved on the landscape after ``treated`` (``bool[H, W]``, the cells placed so far, counted in
    ``budget_cells``), or the single untreated cell of highest DPV there when no cut saves anything (empty when the
    budget is spent).

    From an untreated landscape this is the first cut :func:`cut_lines` places.  From a state a policy reached, it
    is the teacher's answer there (DAgger, Ross et al. 2011): a cut the policy left half-done is cheap to finish
    (its treated cells are free), so the teacher finishes it.  One solve of the fires (the DPV reuses it).
    """
    H, W = burnable.shape
    treat, groups, times = solve_treated(grids, burnable, ignitions, treated, max_minutes)
    orientations = both_crossings(times, ignitions)
    gains = tuple(all_gains(crossing) for crossing in orientations)
    opened, remaining = burnable & ~treated, budget_cells - treated.sum()
    found, cells, _ = best_of_both(orientations, gains, opened, remaining)
    dpv = jax.vmap(fire.dpv_from_times)(treat, groups, times).mean(0)  # scoring.dpv's, from the same solve
    value = jnp.where(opened, dpv, -jnp.inf)
    top = (jnp.arange(H * W) == jnp.argmax(value)).reshape(H, W) & opened & (remaining > 0)
    return jnp.where(found, cells, top)


@functools.partial(jax.jit, static_argnames="rounds")
def cut_lines_search(grids: SpreadGrid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0,
                     rounds: int = 16) -> jnp.ndarray:
    """Ranks ``int32[H, W]`` of :func:`cut_lines` (``H * W`` for cells never treated) from the step times
    ``grids`` (leading ``[K]`` weather axis) and fuel mask ``burnable``; ``budget_cells`` may be traced."""
    H, W = burnable.shape
    ignitions = jnp.asarray(ignitions, jnp.int32)
    quota = -(-budget_cells // rounds)
    drain = min(DRAIN, ignitions.shape[0])  # fires forgotten at a time: no more than there are

    def place(rank, cells):  # ranks for ``cells`` after the cells placed so far, in flat-index order
        placed = (rank < H * W).sum()
        return jnp.where(cells, placed + jnp.cumsum(cells.ravel()).reshape(H, W) - 1, rank)

    def one_round(_, rank):
        orientations = both_crossings(solve_treated(grids, burnable, ignitions, rank < H * W, max_minutes)[2],
                                      ignitions)
        by_column, by_row = orientations
        gains = tuple(all_gains(crossing) for crossing in orientations)

        def forget(state):  # remove the saved area of up to ``drain`` newly cut fires from every cut's gain
            gains, pending = state
            fires = jnp.where(jnp.arange(drain) < pending.sum(), jnp.argsort(~pending)[:drain], -1)
            gains = tuple(gain - cover_gains(crossing, fires) for gain, crossing in zip(gains, orientations))
            return gains, pending.at[jnp.where(fires >= 0, fires, pending.size)].set(False, mode="drop")

        def pick(state):
            rank, spent, gains, cut, _ = state
            opened, remaining = burnable & (rank == H * W), budget_cells - (rank < H * W).sum()
            found, cells, stopped = best_of_both(orientations, gains, opened, remaining)
            stopped = found & ~cut & stopped
            gains = lax.while_loop(lambda state: state[1].any(), forget, (gains, stopped))[0]
            return place(rank, cells), spent + cells.sum(), gains, cut | stopped, found

        def more(state):
            rank, spent, _, _, found = state
            return found & (spent < quota) & ((rank < H * W).sum() < budget_cells)

        cut = jnp.zeros(ignitions.shape[0], bool)
        return lax.while_loop(more, pick, (rank, 0, gains, cut, True))[0]

    rank = lax.fori_loop(0, rounds, one_round, jnp.full((H, W), H * W, jnp.int32))
    # budget no cut could use: the cells of highest DPV on the final landscape
    return add_top_dpv(grids, burnable, ignitions, max_minutes, rank, H * W, budget_cells, tie_key)


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
