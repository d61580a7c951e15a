"""DomiRank centrality of the fire-spread graph as a planner (the original fuel-break system's expert).

Conventions: the spread graph of a landscape has an edge from each burnable cell to each king neighbour it can
ignite, weighted 1/min (:func:`spread_weights`); arrays ``[row, col]``, row 0 = north; flat cells ``row * W + col``.
Structural: it ignores ignitions, caps and the stencil size of the other planners.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from jaxfire import fire
from jaxfire.fire import SpreadGrid, shift
from jaxfire.landscape import Landscape
from jaxfire.planners.base import check_budget, pick
from jaxfire.validation import validated
from jaxfire.weather import Weather


def spread_weights(grid: SpreadGrid) -> jnp.ndarray:
    """Edge weights ``float32[M, H, W]`` of the spread graph of ``grid``, 1/min.

    ``weights[m, i, j]`` = 1 / (minutes to spread from ``(i - dr, j - dc)`` into ``(i, j)``) for move
    ``m = (dr, dc)``; 0 where the step is blocked (non-burnable cells have no edges).
    """
    finite = jnp.isfinite(grid.step_minutes)
    return jnp.where(finite, 1.0 / jnp.where(finite, grid.step_minutes, 1.0), 0.0)


def _spread_out(weights, moves, x):
    """``A @ x`` on the grid: ``(A x)[i] = sum_j A[i, j] x[j]`` with ``A[i, j]`` the weight of edge ``i -> j``."""
    return sum(shift(w * x, -m.dr, -m.dc, 0.0) for m, w in zip(moves, weights))


def _spread_in(weights, moves, x):
    """``A.T @ x`` on the grid: ``sum_i A[i, j] x[i]``."""
    return sum(w * shift(x, m.dr, m.dc, 0.0) for m, w in zip(moves, weights))


def _dense_adjacency(weights, moves) -> jnp.ndarray:
    """``float32[H * W, H * W]`` adjacency, ``A[i, j]`` = weight of edge from flat cell ``i`` to ``j``."""
    _, H, W = weights.shape
    rows, cols = jnp.mgrid[0:H, 0:W]
    A = jnp.zeros((H * W, H * W), jnp.float32)
    for m, w in zip(moves, weights):
        src_r, src_c = rows - m.dr, cols - m.dc
        inside = (src_r >= 0) & (src_r < H) & (src_c >= 0) & (src_c < W)
        src = jnp.where(inside, src_r * W + src_c, H * W)  # out of range: dropped
        A = A.at[src.ravel(), (rows * W + cols).ravel()].add(w.ravel(), mode="drop")
    return A


def _balanced(weights, moves) -> jnp.ndarray:
    """Weights of ``D A D^-1`` (same eigenvalues as ``A``) with ``D = exp(u)`` making it as symmetric as possible.

    ``u`` is the least-squares fit of ``u_i - u_j = log(A[j, i] / A[i, j]) / 2`` over the edges present both
    ways (a graph-Laplacian system, solved by conjugate gradients); then ``(D A D^-1)[i, j]`` equals
    ``sqrt(A[i, j] A[j, i])`` wherever the fit is exact.
    """
    index = {(m.dr, m.dc): k for k, m in enumerate(moves)}
    reverse = jnp.stack([shift(weights[index[-m.dr, -m.dc]], m.dr, m.dc, 0.0) for m in moves])  # A[j, i] at j
    mutual = (weights > 0) & (reverse > 0)
    ratio = jnp.where(mutual, reverse, 1.0) / jnp.where(mutual, weights, 1.0)

    def diff(u):  # u[source] - u[destination] of every edge, at the destination: [M, H, W]
        return jnp.stack([shift(u, m.dr, m.dc, 0.0) for m in moves]) - u

    def diff_T(e):  # transpose of diff
        return sum(shift(e_m, -m.dr, -m.dc, 0.0) for m, e_m in zip(moves, e)) - e.sum(0)

    u, _ = jax.scipy.sparse.linalg.cg(lambda u: diff_T(jnp.where(mutual, diff(u), 0.0)), diff_T(0.5 * jnp.log(ratio)),
                                      tol=1e-5, maxiter=1000)
    return weights * jnp.exp(diff(u))


def _min_symmetric_eigenvalue(key, weights, moves, iterations: int) -> jnp.ndarray:
    """Smallest eigenvalue of ``(A + A.T) / 2`` by power iteration on ``rho I - (A + A.T) / 2``.

    ``rho`` is the largest row sum (Gershgorin), so the shifted matrix is positive semi-definite and its top
    eigenvalue is ``rho - lambda_min``.  The start vector is drawn from ``key``.  Returns the Rayleigh quotient
    (0 for a graph without edges).
    """
    sym = lambda x: 0.5 * (_spread_out(weights, moves, x) + _spread_in(weights, moves, x))  # noqa: E731
    rho = sym(jnp.ones(weights.shape[1:])).max()
    shifted = lambda x: rho * x - sym(x)  # noqa: E731
    unit = lambda x: x / jnp.maximum(jnp.linalg.norm(x), 1e-30)  # noqa: E731
    x = unit(jax.random.normal(key, weights.shape[1:]))
    x = lax.fori_loop(0, iterations, lambda _, x: unit(shifted(x)), x)
    return jnp.minimum(rho - jnp.vdot(x, shifted(x)), 0.0)


def domirank_scores(key, landscape: Landscape, weather: Weather, sigma=None, *, dense_max_cells: int = 4096,
                    power_iterations: int = 1000) -> tuple[jnp.ndarray, jnp.ndarray]:
    """DomiRank centrality (Engsig et al. 2024) of every cell on the fire-spread graph.

    ``Gamma = sigma (sigma A + I)^-1 A 1``, where ``A[i, j]`` = 1 / (minutes to spread from cell ``i`` into
    its king neighbour ``j``) (:func:`spread_weights` of the 8-neighbour grid).  Orientation: row ``i`` holds
    the cells that a fire burning in ``i`` ignites, so ``i`` dominates the cells it spreads into, and its
    score grows with how fast it ignites neighbours that do not themselves dominate.

    ``sigma`` defaults to ``0.95 / |lambda|``, ``lambda`` a lower bound on the real parts of the eigenvalues
    of the non-symmetric ``A`` (DomiRank's ``lambda_min``): by Bendixson's theorem, the smallest eigenvalue
    of the symmetric part of any ``D A D^-1`` (positive diagonal ``D``); :func:`_balanced` picks ``D`` to
    make that bound tight (within ~20 % of the exact ``min Re(eig(A))`` under strong wind, against 2-3x for
    ``D = I``), and power iteration finds the eigenvalue.  So every eigenvalue of ``sigma A + I`` has real
    part >= 0.05: the DomiRank dynamics are stable and the system is solvable.  ``A`` has a zero diagonal,
    so the bound is negative unless ``A = 0``; then ``sigma = 1`` (and ``Gamma = 0``).  ``key`` draws the power
    iteration's start vector (unused when ``sigma`` is given).

    Solver: dense LU on the ``H * W`` cells when ``H * W <= dense_max_cells``, else GMRES (restart 50,
    relative tolerance 1e-6) with a matrix-free matvec built from grid shifts.

    Returns:
      ``(gamma float32[H, W], sigma float32[])``; ``gamma`` is 0 on non-burnable cells.
    """
    return _domirank(key, fire.spread_grid(landscape, weather, 8), sigma, dense_max_cells, power_iterations)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _domirank(key, grid: SpreadGrid, sigma, dense_max_cells: int, power_iterations: int):
    weights, moves, shape = spread_weights(grid), grid.moves, grid.step_minutes.shape[1:]
    if sigma is None:
        lam = _min_symmetric_eigenvalue(key, _balanced(weights, moves), moves, power_iterations)
        sigma = jnp.where(lam < 0, -0.95 / jnp.where(lam < 0, lam, -1.0), 1.0)
    sigma = jnp.asarray(sigma, jnp.float32)
    degree = _spread_out(weights, moves, jnp.ones(shape))  # A 1
    if shape[0] * shape[1] <= dense_max_cells:
        A = _dense_adjacency(weights, moves)
        x = jnp.linalg.solve(sigma * A + jnp.eye(A.shape[0]), degree.ravel()).reshape(shape)
    else:
        matvec = lambda x: sigma * _spread_out(weights, moves, x) + x  # noqa: E731
        x, _ = jax.scipy.sparse.linalg.gmres(matvec, degree, tol=1e-6, atol=0.0, restart=50, maxiter=100)
    return jnp.where(degree > 0, sigma * x, 0.0), sigma


@validated
def domirank(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
             ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False, sigma=None,
             dense_max_cells: int = 4096) -> jnp.ndarray:
    """The cells of highest DomiRank (:func:`domirank_scores`; ignition, cap and stencil arguments unused)."""
    check_budget(landscape, budget_cells)
    gamma, _ = domirank_scores(jax.random.fold_in(key, 1), landscape, weather, sigma, dense_max_cells=dense_max_cells)
    return pick(gamma, landscape.burnable, budget_cells, key, ranked)

