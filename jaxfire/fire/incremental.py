"""Incremental re-solve: arrival times after fuel breaks are added, from the times before.

Conventions as in :mod:`jaxfire.fire.spread`: ``[row, col]``, times in minutes from ignition, ``inf`` beyond the
cap; a batch of fires is ``ignitions`` ``int[N, 2]`` on one grid, its times ``float32[N, H, W]``.  ``previous``
are the times of the same fires (same ignitions, cap and weather) on the landscape before the cells ``added`` were
treated, exactly as :func:`~jaxfire.fire.solve_many` (or this function) returned them; ``-inf`` everywhere in a
fire means "not solved yet" and solves it from scratch.  Only the Jacobi solver
(:func:`jaxfire.fire.jacobi.warm_solver`) has the warm start this needs.

What is re-solved.  Treating cells only removes steps (every step crossing a treated cell, or passing the corner
of a treated cell and another non-burnable one, becomes ``inf``; nothing gets faster), and every removed step
leaves a source cell within the stencil's reach ``r`` (Chebyshev distance; 1, 2 or 3 for 8, 16, 32 neighbours) of
an added cell.  Let ``theta`` be a fire's earliest old time over that window (an ignition point counts as 0).

* Cells with ``T_old < theta`` keep their times: every path through a removed step reaches its end no earlier
  than the step's source time ``>= theta`` (step times are non-negative and float addition is monotone), so the
  old best path to such a cell used no removed step and is still there, with the same float sum.
* Every other cell restarts from its ignition-derived upper bound (``inf`` unless a first step from the ignition
  reaches it) and is relaxed again from the kept cells.  The Jacobi fixed point from that start is the minimum,
  over the new graph's paths, of the float sum along the path taken left to right, i.e. the full re-solve's
  value bit for bit (a kept cell's value is itself such a sum, so extending it adds no new value).
* A fire with no finite time ``>= theta`` (it never reaches the window, or reaches it after the cap) cannot
  change: it is not relaxed at all (it never enters a solver slot).

So this equals a full :func:`~jaxfire.fire.solve_many` on the treated grid exactly (``tests/test_incremental.py``
checks ``array_equal`` on random landscapes, treatments and whole environment episodes).  The window threshold is
deliberately not ``T_old`` at the treated cell: with 16/32 neighbours a long step crosses cells it does not stop
in, and a diagonal step is cut by a corner, so a cell can lose its best path through a treated cell it reached
before that cell burned.

Cost: one elementwise pass over the fires' times (threshold, reset mask) plus the sweeps needed to re-relax the
reset part of the touched fires, which is the part of the fire later than the window: ~ the number of hops from
the window's arrival front to the fire's last cells, instead of from the ignition.  Untouched fires cost nothing.
Treating a cell late in a fire's spread is cheap; treating one next to its ignition costs a full solve.

Measured (``python -m experiments.bench.incremental env greedy --greedy-side 64``, 2 idle AMD EPYC cores, medians
after compilation; "before" is the same bench on the previous commit, 644de95, run right after):
``jit(vmap(env.step))`` at 50x50, 32 fires a step, 64 envs: 245.5 env steps/s incremental, 91.3 full (before: 48.4
and 45.8), so 5.4x the full re-solve of before; greedy on 64x64 at 5 % (188 rounds, 64 fires, 32 candidates): 57.4 s
incremental, 214.9 s full (before: 140.2 and 229.1 s), 4.0x, same plan.  Two changes made the per-fire savings
batch savings: the Jacobi solver's one slot pool for all grids of a vmapped batch (before, each environment's or
candidate's grid had its own 32 slots, so the batch ran until its slowest fire settled and swept idle slots too),
and the environment's step times cut from the scenario's stored grid (:func:`jaxfire.fire.treat_grid`, 0.02 s per
64 environments) instead of Rothermel on the treated landscape (0.27 s).  What bounds it now: a step whose new cell
is next to an ignition, and every episode's first step, still re-solves whole fires; greedy's 0.3 s per round is
its 32 candidates' re-solves plus the round's DPV.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxfire.fire import jacobi
from jaxfire.fire.grid import INF, SpreadGrid, shift
from jaxfire.fire.ignitions import ignition_mask
from jaxfire.validation import nan_if, validated


def reach(added, moves) -> jnp.ndarray:
    """``bool[H, W]``: cells within the stencil's reach (Chebyshev distance) of a cell of ``added``: the sources of
    every step that treating ``added`` can remove."""
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    rows = functools.reduce(jnp.logical_or, [shift(added, d, 0, False) for d in range(-pad, pad + 1)])
    return functools.reduce(jnp.logical_or, [shift(rows, 0, d, False) for d in range(-pad, pad + 1)])


def ignition_bounds(grid: SpreadGrid, ignitions) -> jnp.ndarray:
    """``float32[N, H, W]``: each fire's start before any sweep: 0 on its ignition cell, the first step out of it on
    the cells one move away, ``inf`` elsewhere (the cold solver's queue, built by a gather instead of a sweep)."""
    H, W = grid.burnable.shape
    N = ignitions.shape[0]
    dr = jnp.array([m.dr for m in grid.moves])
    dc = jnp.array([m.dc for m in grid.moves])
    rows, cols = ignitions[:, :1] + dr, ignitions[:, 1:] + dc                   # [N, M]
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    rows, cols = jnp.clip(rows, 0, H - 1), jnp.clip(cols, 0, W - 1)
    first = grid.first_step_minutes[jnp.arange(len(grid.moves)), rows, cols]      # [N, M]
    bounds = jnp.full((N, H, W), INF, jnp.float32)
    bounds = bounds.at[jnp.arange(N)[:, None], jnp.where(inside, rows, H), cols].min(first, mode="drop")
    return jnp.where(jax.vmap(lambda i: ignition_mask(i, (H, W)))(ignitions), 0.0, bounds)


@validated
def resolve_many(grid: SpreadGrid, ignitions, max_minutes, previous, added, max_sweeps: int | None = None,
                 slots: int | None = None) -> jnp.ndarray:
    """Arrival times ``float32[N, H, W]`` of the fires ``ignitions`` (``int[N, 2]``) on ``grid``, equal to
    ``solve_many(grid, ignitions, max_minutes)``, re-solving only what treating ``added`` can change.

    Args:
      grid: step times after the treatment (e.g. :func:`jaxfire.fire.treat_grid` or ``spread_grid`` of the
        treated landscape).
      ignitions, max_minutes: as for :func:`~jaxfire.fire.solve_many` (the same as ``previous`` was solved with).
      previous: ``float32[N, H, W]``, the fires' times before ``added`` was treated (``-inf``: not solved yet).
      added: ``bool[H, W]`` cells treated since (extra cells only cost time; a missing one gives wrong times).
      max_sweeps, slots: as for :func:`jaxfire.fire.solve`.

    NaN anywhere in ``previous`` (an invalid input earlier, :mod:`jaxfire.validation`) makes the result NaN.
    """
    ignitions = jnp.asarray(ignitions, jnp.int32)
    H, W = grid.burnable.shape
    N = ignitions.shape[0]
    burning = jax.vmap(lambda i: ignition_mask(i, (H, W)))(ignitions)
    old = jnp.where(burning, 0.0, previous)  # the solver's times: an ignition point burns from 0, even when treated
    theta = jnp.min(jnp.where(reach(added, grid.moves), old, INF), axis=(1, 2))
    theta = jnp.where(jnp.isneginf(previous).any((1, 2)), -INF, theta)
    reset = old >= theta[:, None, None]
    active = jnp.any(reset & (old < INF), axis=(1, 2))
    start = jnp.where(reset & active[:, None, None], ignition_bounds(grid, ignitions), old)
    cap = jnp.broadcast_to(jnp.asarray(max_minutes, jnp.float32), (N,))
    times = jacobi.warm_solver(grid.moves, max_sweeps, slots)(grid.step_minutes[None], start[None], cap[None],
                                                              active[None])[0]
    return nan_if(jnp.isnan(previous).any(), jnp.where(grid.burnable, times, INF))
