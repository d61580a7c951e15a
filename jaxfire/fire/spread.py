"""Deterministic fire spread: arrival times of one fire or a batch, and burn probability.

Conventions: arrays ``[row, col]``, row 0 = NORTH edge, col increases east; times in minutes from ignition, ``inf``
where the fire has not arrived by ``max_minutes``; ignitions ``(row, col)`` pairs or ``bool[H, W]`` masks (a batch
is ``int[N, 2]``); burn probability is the fraction of fires reaching a cell.

Arrival times solve ``T[c] = min(T[c], T[n] + tau(n -> c))`` from ``T = 0`` on the ignited cells on the step
times of :func:`jaxfire.fire.grid.spread_grid`: the exact fixed point, equal to Dijkstra's answer on the same
graph.  The ignited cell burns as a whole cell from t = 0; an ignition on a non-burnable cell ignites the fuel next
to it but never counts as burned.  :func:`solve_many` is the one batched solve every part of jaxfire uses.

Two solvers reach that fixed point bit for bit: Jacobi sweeps over the whole grid (:mod:`jaxfire.fire.jacobi`) and
ordered sweeps in windows that follow the fire (:mod:`jaxfire.fire.sweep`); every solve takes ``solver="auto"``
(default; :func:`choose_solver` states the rule), ``"sweep"`` or ``"jacobi"``.

Bad input (:mod:`jaxfire.validation`): a visible bad weather, cap or ignition raises ``ValueError`` naming it; a
traced one (inside ``jit``) makes the arrival times and everything computed from them NaN.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxfire.fire import jacobi, sweep
from jaxfire.fire.grid import INF, SpreadGrid, spread_grid
from jaxfire.fire.ignitions import ignition_mask
from jaxfire.landscape import Landscape
from jaxfire.validation import validated
from jaxfire.weather import Weather


#: The solvers :func:`solve` and every entry point accept (``solver=``); see :func:`choose_solver`.
SOLVERS = ("auto", "sweep", "jacobi")

#: The ``"auto"`` rule's thresholds (:func:`choose_solver`): grid cells, and fires x cells per batch, from which the
#: ordered sweeps are faster (measured, :mod:`jaxfire.fire.sweep`).
SWEEP_FROM_CELLS, SWEEP_FROM_FIRE_CELLS = 128 * 128, 1 << 16


def choose_solver(solver: str, shape: tuple[int, int], fires: int, platform: str | None = None) -> str:
    """The solver that ``solver`` (one of :data:`SOLVERS`) names for a batch of ``fires`` fires (all grids
    together) on ``H x W`` grids (``shape``) on ``platform`` (``"cpu"``, ``"gpu"``, ...; default
    ``jax.default_backend()``): ``"sweep"`` or ``"jacobi"``.

    The ``"auto"`` rule: Jacobi on accelerators (measured on an H200, 1,024 fires: the sweeps run at 0.07x Jacobi's
    rate at 50 x 50 and 0.03x at 128 x 128 and 256 x 256; a GPU relaxes a whole grid of fires in one kernel per
    sweep, while the sweeps' line loops launch kernels per line; ``results/throughput-gpu/solvers``).  On a CPU:
    ordered sweeps (:mod:`jaxfire.fire.sweep`) on grids of at least :data:`SWEEP_FROM_CELLS`
    (128 x 128) cells for batches of at least :data:`SWEEP_FROM_FIRE_CELLS` (65,536) fires x cells (4 fires of
    128 x 128, any batch from 256 x 256 up), Jacobi otherwise.  The sweeps' cost follows the fire, not the grid,
    so they pull ahead with the grid (measured on 2 idle cores, 256 fires, sweep / Jacobi with the Jacobi pool
    sweeping fires-minor in pairs, up to three runs: 0.67-0.70 at 64 x 64, 0.92-1.02 at 96 x 96, 0.87 at
    112 x 112, 0.95-1.23 at 128 x 128; ``results/throughput-cpu/jacobi-slots-last``; before that change the
    crossover was near 80 x 80, and 4.4 at 256 x 256), but each of their line loops costs a few kernel launches per
    line whatever the batch, so a few fires alone leave them overhead-bound (measured on the loaded 2-core machine:
    0.6 for 1 fire at 64 x 64 and at 128 x 128, 1.3 for 4 and 2.2 for 16 at 128 x 128, 1.4 for 1 at 256 x 256),
    and on small grids a fire needs few Jacobi hops.  Both give the same times bit for bit, so the rule only moves cost.  It is
    applied to the batch as it finally runs (after ``vmap`` folding, :func:`jaxfire.fire.jacobi.fold_vmap`), so a
    ``vmap`` of single fires counts all of them.  Raises ``ValueError`` for any other name.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(repr(s) for s in SOLVERS)}; got {solver!r}")
    if solver == "auto":
        cells = shape[0] * shape[1]
        on_cpu = (platform or jax.default_backend()) == "cpu"
        return "sweep" if on_cpu and cells >= SWEEP_FROM_CELLS and fires * cells >= SWEEP_FROM_FIRE_CELLS else "jacobi"
    return solver


def _auto(step, first, burning, cap, moves, max_sweeps, slots):
    """``solver="auto"`` on one (folded) batch: the solver :func:`choose_solver` picks for its shape."""
    G, N, H, W = burning.shape
    return grouped_solver(moves, choose_solver("auto", (H, W), G * N), max_sweeps, slots)(step, first, burning, cap)


@functools.lru_cache(maxsize=None)
def grouped_solver(moves: tuple, solver: str = "auto", max_sweeps: int | None = None, slots: int | None = None):
    """The solver function (contract of :func:`jaxfire.fire.jacobi.solver`) named by ``solver`` (one of
    :data:`SOLVERS`; ``"auto"`` decides per batch, after ``vmap`` folding, by :func:`choose_solver`); ``slots`` only
    concerns Jacobi."""
    if solver == "auto":
        return jacobi.fold_vmap(functools.partial(_auto, moves=moves, max_sweeps=max_sweeps, slots=slots))
    if choose_solver(solver, (0, 0), 0) == "sweep":
        return sweep.solver(moves, max_sweeps)
    return jacobi.solver(moves, max_sweeps, slots)


@validated
def solve(grid: SpreadGrid, ignition, max_minutes, max_sweeps: int | None = None,
          slots: int | None = None, solver: str = "auto") -> jnp.ndarray:
    """Arrival times ``float32[H, W]`` (minutes; ``inf`` beyond ``max_minutes``) on a precomputed grid.

    ``vmap`` over ignitions, grids or caps runs as one batch (:func:`jaxfire.fire.jacobi.fold_vmap`, for both
    solvers).

    Args:
      grid: step times from :func:`jaxfire.fire.grid.spread_grid` or :func:`jaxfire.fire.grid.step_times`.
      ignition: ``(row, col)`` or ``bool[H, W]``.  An ignition is a point source: an ignited non-burnable cell
        (a road, a fuel break) does not burn itself but still ignites the fuel next to it.
      max_minutes: simulation cap in minutes (may be traced).
      max_sweeps: bound on sweeps per fire (Jacobi sweeps, or directional sweeps per window; default: enough that
        the loop stops at the exact fixed point long before).
      slots: Jacobi fires in flight at once in each slot pool (``None``: 32); a vmapped batch of grids shares one
        pool on a CPU, one per grid on accelerators (:func:`jaxfire.fire.jacobi.default_pools`).
      solver: ``"auto"`` (default, :func:`choose_solver`), ``"sweep"`` (:mod:`jaxfire.fire.sweep`) or
        ``"jacobi"`` (:mod:`jaxfire.fire.jacobi`); static.  Same answer from either.
    """
    H, W = grid.step_minutes.shape[-2:]
    burning = ignition_mask(ignition, (H, W))
    cap = jnp.asarray(max_minutes, jnp.float32).reshape(1, 1)
    run = grouped_solver(grid.moves, solver, max_sweeps, slots)
    times = run(grid.step_minutes[None], grid.first_step_minutes[None], burning[None, None], cap)[0, 0]
    return jnp.where(grid.burnable, times, INF)


@validated
def solve_many(grid: SpreadGrid, ignitions, max_minutes, solver: str = "auto") -> jnp.ndarray:
    """Arrival times ``float32[N, H, W]`` of one fire per ignition cell (``int[N, 2]``) on one grid, one batch
    (``solver``: see :func:`solve`)."""
    return jax.vmap(functools.partial(solve, solver=solver), in_axes=(None, 0, None))(grid, ignitions, max_minutes)


def burned_summary(times) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Burn probability ``float32[H, W]`` and total burned cells ``int32[]`` of arrival times ``[N, H, W]``: NaN and
    -1 when any time is NaN (an invalid input inside ``jit``, :mod:`jaxfire.validation`)."""
    burned, invalid = jnp.isfinite(times), jnp.isnan(times).any()
    return (jnp.where(invalid, jnp.nan, burned.mean(0, dtype=jnp.float32)),
            jnp.where(invalid, -1, burned.sum(dtype=jnp.int32)))


@validated
@functools.partial(jax.jit, static_argnames=("neighbours", "crown_fire", "solver"))
def arrival_times(landscape: Landscape, weather: Weather, ignition, max_minutes, neighbours: int = 16,
                  crown_fire: bool = True, solver: str = "auto"):
    """Fire arrival time ``float32[H, W]`` in minutes from ignition; ``inf`` where not reached by ``max_minutes``.

    Args:
      landscape: the :class:`~jaxfire.landscape.Landscape` (fuel breaks = non-burnable cells).
      weather: uniform :class:`~jaxfire.weather.Weather` for this fire.
      ignition: ``(row, col)`` pair or ``bool[H, W]`` mask of cells burning at t = 0.
      max_minutes: simulation cap, minutes.
      neighbours: stencil size, 8, 16 (default) or 32.
      crown_fire: let fronts crown where the canopy allows (static; ``False``: surface fire only).
      solver: ``"auto"`` (default), ``"sweep"`` or ``"jacobi"`` (static; see :func:`solve`).
    """
    return solve(spread_grid(landscape, weather, neighbours, crown_fire), ignition, max_minutes, solver=solver)


@validated
@functools.partial(jax.jit, static_argnames=("neighbours", "crown_fire", "solver"))
def burn_probability(landscape: Landscape, weather: Weather, ignitions, max_minutes, neighbours: int = 16,
                     crown_fire: bool = True, solver: str = "auto"):
    """Fraction of ``N`` fires (one per row of ``ignitions``, ``int[N, 2]``) that burn each cell: ``float32[H, W]``
    (``solver``: see :func:`solve`)."""
    ignitions = jnp.asarray(ignitions)
    if ignitions.ndim != 2 or ignitions.shape[1] != 2:
        raise ValueError(f"ignitions must be int[N, 2] (row, col) pairs, got shape {ignitions.shape}")
    return grid_burn_probability(spread_grid(landscape, weather, neighbours, crown_fire), ignitions, max_minutes,
                                 solver)


@validated
@functools.partial(jax.jit, static_argnames="solver")
def grid_burn_probability(grid: SpreadGrid, ignitions, max_minutes, solver: str = "auto") -> jnp.ndarray:
    """:func:`burn_probability` on precomputed step times ``grid``: ``float32[H, W]``."""
    return burned_summary(solve_many(grid, ignitions, max_minutes, solver))[0]


@validated
@functools.partial(jax.jit, static_argnames=("neighbours", "crown_fire", "solver"))
def expected_burned_fraction(landscape: Landscape, weather: Weather, ignitions, max_minutes, neighbours: int = 16,
                             crown_fire: bool = True, solver: str = "auto"):
    """Mean over the ``N`` ignitions (``int[N, 2]``) of the burned fraction of the landscape's cells (``H * W``)."""
    return burn_probability(landscape, weather, ignitions, max_minutes, neighbours, crown_fire, solver).mean()
