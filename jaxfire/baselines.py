"""Fuel-break placement baselines: which ``budget_cells`` cells to treat (make non-burnable).

Conventions: arrays ``[row, col]``, row 0 = north; times in minutes; a treatment plan is a ``bool[H, W]`` mask
(:meth:`~jaxfire.landscape.Landscape.with_fuel_breaks` applies it).

Every baseline has the signature ``name(key, landscape, weather, budget_cells, *, ignitions=None,
num_ignitions=64, ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False, **method_specific)``
and returns exactly ``budget_cells`` distinct burnable cells.  With ``ranked=True`` it returns instead the order
in which it picks cells, ``int32[H, W]`` ranks (0 = first; the plan is ``rank < budget_cells``), as
demonstrations replay a plan (:mod:`jaxfire.agents.dqn`).  ``budget_cells`` is validated when concrete
(``ValueError`` when negative, above the number of burnable cells, or when no cell is burnable); a traced
budget also works (cells are picked by ``rank < budget_cells``).  Without ``ignitions`` (``int[N, 2]``) the
fires start at ``num_ignitions`` cells drawn with ``key`` by :func:`sample_ignitions`.  Ties between equal
scores are broken by a uniform draw from ``key``, so each baseline is deterministic for a key.

* :func:`random`: uniformly random burnable cells.
* :func:`burn_probability`: the cells most often burned by the sampled fires.
* :func:`domirank`: DomiRank centrality of the fire-spread graph (structural; ignores the ignitions).
* :func:`dpv`: downstream protection value, the mean number of burned cells downstream of each cell (its
  subtree in the fires' arrival-time trees).
* :func:`greedy`: one cell at a time, the top-DPV candidate that most lowers the expected burned fraction.

DPV and greedy optimise the burned area of the sampled fires themselves, so judge them on held-out ignitions.
An ignition is a point source (:func:`jaxfire.fire.solve`): treating an ignition cell does not remove its fire, so
DPV scores ignition cells 0 and greedy gains nothing from them.

The step times of a landscape (:func:`jaxfire.fire.spread_grid`) are computed once and treated cells are cut out
of them by :func:`treat_grid`, so no Rothermel computation is repeated per candidate plan.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxfire import fire
from jaxfire.fire import INF, SpreadGrid, _shift
from jaxfire.landscape import Landscape
from jaxfire.weather import Weather


def _concrete(x):
    """``x`` as a NumPy array, or ``None`` when it is traced."""
    try:
        return np.asarray(x)
    except jax.errors.TracerArrayConversionError:
        return None


def check_budget(landscape: Landscape, budget_cells) -> None:
    """Raise ``ValueError`` unless ``0 <= budget_cells <= burnable cells`` (checks what is concrete)."""
    burnable, budget = _concrete(landscape.burnable), _concrete(budget_cells)
    if burnable is not None and not burnable.any():
        raise ValueError("the landscape has no burnable cells to treat")
    if budget is None:
        return
    if budget.ndim or budget != np.round(budget):
        raise ValueError(f"budget_cells must be a whole number of cells, got {budget_cells}")
    if budget < 0:
        raise ValueError(f"budget_cells must be >= 0, got {int(budget)}")
    if burnable is not None and budget > burnable.sum():
        raise ValueError(f"budget_cells={int(budget)} exceeds the {int(burnable.sum())} burnable cells")


def sample_ignitions(key: jax.Array, landscape: Landscape, n: int, ignition_probability=None) -> jnp.ndarray:
    """``int32[n, 2]`` ignition cells ``(row, col)``, drawn independently (with replacement); jittable.

    Args:
      key: ``jax.random`` key.
      landscape: cells are drawn among its burnable cells.
      n: number of ignitions (static, >= 1).
      ignition_probability: optional ``float[H, W]`` relative ignition likelihood (normalised here, zeroed on
        non-burnable cells); uniform over burnable cells when ``None``.

    Raises:
      ValueError: (when concrete) ``n < 1``, no burnable cell, or a map of the wrong shape, with negative or
        non-finite values, or zero on every burnable cell.
    """
    if n < 1:
        raise ValueError(f"the number of ignitions must be >= 1, got {n}")
    burnable, p = _concrete(landscape.burnable), _concrete(ignition_probability)
    if burnable is not None and not burnable.any():
        raise ValueError("the landscape has no burnable cells to ignite")
    if ignition_probability is not None and p is not None:
        if p.shape != landscape.shape:
            raise ValueError(f"ignition_probability has shape {p.shape}, expected {landscape.shape}")
        if not (np.all(np.isfinite(p)) and np.all(p >= 0)):
            raise ValueError("ignition_probability must be finite and >= 0")
        if burnable is not None and not (p * burnable).sum() > 0:
            raise ValueError("ignition_probability is zero on every burnable cell")
    return _sample_ignitions(key, landscape, n, ignition_probability)


@functools.partial(jax.jit, static_argnames="n")
def _sample_ignitions(key, landscape, n, ignition_probability):
    weights = landscape.burnable.astype(jnp.float32)
    if ignition_probability is not None:
        weights = weights * jnp.asarray(ignition_probability, jnp.float32)
    flat = jax.random.choice(key, weights.size, (n,), p=(weights / weights.sum()).ravel())
    return jnp.stack(jnp.divmod(flat, landscape.shape[1]), axis=1).astype(jnp.int32)


def _setup(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability):
    """Validate the inputs; return ``(ignitions int32[N, 2], key for tie-breaking)``."""
    check_budget(landscape, budget_cells)
    ignition_key, tie_key = jax.random.split(key)
    if ignitions is None:
        return sample_ignitions(ignition_key, landscape, num_ignitions, ignition_probability), tie_key
    ignitions = jnp.asarray(ignitions, jnp.int32)
    if ignitions.ndim != 2 or ignitions.shape[1] != 2 or not ignitions.shape[0]:
        raise ValueError(f"ignitions must be int[N, 2] (row, col) pairs with N >= 1, got shape {ignitions.shape}")
    return ignitions, tie_key


def _order(score, eligible, tie_key=None) -> jnp.ndarray:
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
    ineligible cells after every eligible one; ties broken as in :func:`_order`)."""
    return jnp.zeros(score.size, jnp.int32).at[_order(score, eligible, tie_key)].set(
        jnp.arange(score.size, dtype=jnp.int32)).reshape(score.shape)


@jax.jit
def top_cells(score, eligible, budget_cells, tie_key=None) -> jnp.ndarray:
    """``bool[H, W]``: the ``budget_cells`` ``eligible`` cells with the highest ``score`` (``[H, W]``).

    Rank-based, so ``budget_cells`` may be traced; fewer cells come back only when fewer are eligible.
    """
    return (cell_ranks(score, eligible, tie_key) < budget_cells) & eligible


def _pick(score, eligible, budget_cells, tie_key, ranked: bool) -> jnp.ndarray:
    """A score-based baseline's answer: :func:`cell_ranks` when ``ranked``, else :func:`top_cells`."""
    return cell_ranks(score, eligible, tie_key) if ranked else top_cells(score, eligible, budget_cells, tie_key)


# ----------------------------------------------------------------------------------------------------------------
# Fires on a grid of step times


@jax.jit
def treat_grid(grid: SpreadGrid, burnable, treated) -> SpreadGrid:
    """The step times after treating the cells ``treated`` (``bool[H, W]``) of a landscape whose fuel mask is
    ``burnable``: equal to ``spread_grid(landscape.with_fuel_breaks(treated), ...)`` computed from
    ``grid = spread_grid(landscape, ...)`` by blocking every step that crosses a treated cell or passes
    between two non-burnable corner cells (the rules of :func:`jaxfire.fire.step_times`)."""
    barrier = ~burnable | treated
    step, first = [], []
    for m, full, from_fire in zip(grid.moves, grid.step_minutes, grid.first_step_minutes):
        crossed = [_shift(treated, m.dr - r, m.dc - c, False) for r, c, _ in m.crossed]  # [0] is the source
        cut = functools.reduce(jnp.logical_or, crossed[1:] + [
            _shift(barrier, m.dr - r1, m.dc - c1, False) & _shift(barrier, m.dr - r2, m.dc - c2, False)
            for (r1, c1), (r2, c2) in m.corners])
        step.append(jnp.where(cut | crossed[0], INF, full))
        first.append(jnp.where(cut, INF, from_fire))  # the first step is not charged for its source cell
    return grid.replace(step_minutes=jnp.stack(step), first_step_minutes=jnp.stack(first),
                        burnable=burnable & ~treated)


def _fire_times(grid: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    """Arrival times ``float32[N, H, W]`` of one fire per ignition cell (``int[N, 2]``)."""
    return jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)


@jax.jit
def _burn_probability(grid: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    """Fraction ``float32[H, W]`` of the fires (one per ignition, ``int[N, 2]``) that burn each cell."""
    return jnp.isfinite(_fire_times(grid, ignitions, max_minutes)).mean(0, dtype=jnp.float32)


# ----------------------------------------------------------------------------------------------------------------
# 1-2. random and burn probability


def random(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
           ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False) -> jnp.ndarray:
    """``budget_cells`` burnable cells uniformly at random (weather and ignition arguments unused)."""
    check_budget(landscape, budget_cells)
    return _pick(jnp.zeros(landscape.shape), landscape.burnable, budget_cells, key, ranked)


def burn_probability(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None,
                     num_ignitions=64, ignition_probability=None, max_minutes=480.0, neighbours=16,
                     ranked=False) -> jnp.ndarray:
    """The cells burned by the most fires (as :func:`jaxfire.fire.burn_probability`)."""
    ignitions, tie_key = _setup(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    score = _burn_probability(fire.spread_grid(landscape, weather, neighbours), ignitions, max_minutes)
    return _pick(score, landscape.burnable, budget_cells, tie_key, ranked)


# ----------------------------------------------------------------------------------------------------------------
# 3. DomiRank


def spread_weights(grid: SpreadGrid) -> jnp.ndarray:
    """Edge weights ``float32[M, H, W]`` of the spread graph of ``grid``, 1/min.

    ``weights[m, i, j]`` = 1 / (minutes to spread from ``(i - dr, j - dc)`` into ``(i, j)``) for move
    ``m = (dr, dc)``; 0 where the step is blocked (non-burnable cells have no edges).
    """
    finite = jnp.isfinite(grid.step_minutes)
    return jnp.where(finite, 1.0 / jnp.where(finite, grid.step_minutes, 1.0), 0.0)


def _spread_out(weights, moves, x):
    """``A @ x`` on the grid: ``(A x)[i] = sum_j A[i, j] x[j]`` with ``A[i, j]`` the weight of edge ``i -> j``."""
    return sum(_shift(w * x, -m.dr, -m.dc, 0.0) for m, w in zip(moves, weights))


def _spread_in(weights, moves, x):
    """``A.T @ x`` on the grid: ``sum_i A[i, j] x[i]``."""
    return sum(w * _shift(x, m.dr, m.dc, 0.0) for m, w in zip(moves, weights))


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
    reverse = jnp.stack([_shift(weights[index[-m.dr, -m.dc]], m.dr, m.dc, 0.0) for m in moves])  # A[j, i] at j
    mutual = (weights > 0) & (reverse > 0)
    ratio = jnp.where(mutual, reverse, 1.0) / jnp.where(mutual, weights, 1.0)

    def diff(u):  # u[source] - u[destination] of every edge, at the destination: [M, H, W]
        return jnp.stack([_shift(u, m.dr, m.dc, 0.0) for m in moves]) - u

    def diff_T(e):  # transpose of diff
        return sum(_shift(e_m, -m.dr, -m.dc, 0.0) for m, e_m in zip(moves, e)) - e.sum(0)

    u, _ = jax.scipy.sparse.linalg.cg(lambda u: diff_T(jnp.where(mutual, diff(u), 0.0)), diff_T(0.5 * jnp.log(ratio)),
                                      tol=1e-5, maxiter=1000)
    return weights * jnp.exp(diff(u))


def _min_symmetric_eigenvalue(weights, moves, iterations: int) -> jnp.ndarray:
    """Smallest eigenvalue of ``(A + A.T) / 2`` by power iteration on ``rho I - (A + A.T) / 2``.

    ``rho`` is the largest row sum (Gershgorin), so the shifted matrix is positive semi-definite and its top
    eigenvalue is ``rho - lambda_min``.  Returns the Rayleigh quotient (0 for a graph without edges).
    """
    sym = lambda x: 0.5 * (_spread_out(weights, moves, x) + _spread_in(weights, moves, x))  # noqa: E731
    rho = sym(jnp.ones(weights.shape[1:])).max()
    shifted = lambda x: rho * x - sym(x)  # noqa: E731
    unit = lambda x: x / jnp.maximum(jnp.linalg.norm(x), 1e-30)  # noqa: E731
    x = unit(jax.random.normal(jax.random.key(0), weights.shape[1:]))
    x = lax.fori_loop(0, iterations, lambda _, x: unit(shifted(x)), x)
    return jnp.minimum(rho - jnp.vdot(x, shifted(x)), 0.0)


def domirank_scores(landscape: Landscape, weather: Weather, sigma=None, *, dense_max_cells: int = 4096,
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
    so the bound is negative unless ``A = 0``; then ``sigma = 1`` (and ``Gamma = 0``).

    Solver: dense LU on the ``H * W`` cells when ``H * W <= dense_max_cells``, else GMRES (restart 50,
    relative tolerance 1e-6) with a matrix-free matvec built from grid shifts.

    Returns:
      ``(gamma float32[H, W], sigma float32[])``; ``gamma`` is 0 on non-burnable cells.
    """
    return _domirank(fire.spread_grid(landscape, weather, 8), sigma, dense_max_cells, power_iterations)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _domirank(grid: SpreadGrid, sigma, dense_max_cells: int, power_iterations: int):
    weights, moves, shape = spread_weights(grid), grid.moves, grid.step_minutes.shape[1:]
    if sigma is None:
        lam = _min_symmetric_eigenvalue(_balanced(weights, moves), moves, power_iterations)
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


def domirank(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
             ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False, sigma=None,
             dense_max_cells: int = 4096) -> jnp.ndarray:
    """The cells of highest DomiRank (:func:`domirank_scores`; ignition, cap and stencil arguments unused)."""
    check_budget(landscape, budget_cells)
    gamma, _ = domirank_scores(landscape, weather, sigma, dense_max_cells=dense_max_cells)
    return _pick(gamma, landscape.burnable, budget_cells, key, ranked)


# ----------------------------------------------------------------------------------------------------------------
# 4. downstream protection value


@jax.jit
def arrival_tree(grid: SpreadGrid, times, ignition_mask) -> jnp.ndarray:
    """Shortest-path (arrival-time) tree of one fire: ``int32[H, W]`` parent flat index (``row * W + col``).

    A burned cell's parent is the stencil neighbour ``n`` minimising ``times[n] + step(n -> c)`` (the first
    step out of an ignited cell charged ``grid.first_step_minutes``), i.e. the cell the fire came from; the
    first such move in stencil order wins ties.  ``-1`` for ignited and unburned cells.

    Args:
      grid: step times from :func:`jaxfire.fire.spread_grid`.
      times: ``float32[H, W]`` arrival times from :func:`jaxfire.fire.solve` on ``grid``.
      ignition_mask: ``bool[H, W]`` cells burning at t = 0.
    """
    H, W = times.shape
    burned = jnp.isfinite(times)
    roots = ignition_mask & burned
    index = jnp.arange(H * W, dtype=jnp.int32).reshape(H, W)
    arrival = jnp.stack([_shift(times, m.dr, m.dc, INF) + jnp.where(_shift(roots, m.dr, m.dc, False), first, step)
                         for m, step, first in zip(grid.moves, grid.step_minutes, grid.first_step_minutes)])
    source = jnp.stack([_shift(index, m.dr, m.dc, -1) for m in grid.moves])
    parent = jnp.take_along_axis(source, jnp.argmin(arrival, axis=0)[None], axis=0)[0]
    return jnp.where(burned & ~roots, parent, -1)


@jax.jit
def subtree_sizes(parent, times) -> jnp.ndarray:
    """``int32[H, W]``: burned cells in each cell's subtree of the arrival tree (itself + descendants; 0 unburned).

    One pass over the cells in decreasing arrival time (a ``lax.scan``): each cell adds its count to its
    parent's, which arrived earlier, so every subtree is complete before it is passed up.
    """
    n = times.size
    burned = jnp.isfinite(times).ravel()
    up = jnp.where(parent.ravel() < 0, n, parent.ravel())  # roots pass their count to a sink slot
    order = jnp.argsort(jnp.where(burned, -times.ravel(), INF))

    def add_to_parent(count, cell):
        return count.at[up[cell]].add(count[cell]), None

    count, _ = lax.scan(add_to_parent, jnp.append(burned.astype(jnp.int32), 0), order)
    return count[:n].reshape(times.shape)


def dpv_from_times(grid: SpreadGrid, ignitions, times) -> jnp.ndarray:
    """:func:`dpv_scores` from fires already solved: ``times`` ``[N, H, W]`` of ``ignitions`` ``int[N, 2]`` on
    ``grid`` (for callers that also need the fires' burn probability)."""
    def one_fire(ignition, times):
        source = fire.ignition_mask(ignition, times.shape)
        times = jnp.where(source, 0.0, times)  # the point source burns from t = 0, even on a non-burnable cell
        sizes = subtree_sizes(arrival_tree(grid, times, source), times)
        return jnp.where(source, 0, sizes)  # treating an ignition point does not stop its fire

    return jax.vmap(one_fire)(jnp.asarray(ignitions, jnp.int32), times).mean(0, dtype=jnp.float32)


@jax.jit
def _dpv(grid: SpreadGrid, ignitions, max_minutes) -> jnp.ndarray:
    ignitions = jnp.asarray(ignitions, jnp.int32)
    return dpv_from_times(grid, ignitions, _fire_times(grid, ignitions, max_minutes))


def dpv_scores(landscape: Landscape, weather: Weather, ignitions, max_minutes=480.0, neighbours: int = 16):
    """Downstream protection value ``float32[H, W]``: mean over the fires (``ignitions`` ``int[N, 2]``) of
    each cell's subtree size in the fire's :func:`arrival_tree` (the burned cells it would have protected had
    it not burned; 0 where no fire arrives)."""
    return _dpv(fire.spread_grid(landscape, weather, neighbours), ignitions, max_minutes)


def dpv(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
        ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False) -> jnp.ndarray:
    """The cells of highest downstream protection value (:func:`dpv_scores`)."""
    ignitions, tie_key = _setup(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    score = dpv_scores(landscape, weather, ignitions, max_minutes, neighbours)
    return _pick(score, landscape.burnable, budget_cells, tie_key, ranked)


# ----------------------------------------------------------------------------------------------------------------
# 5. greedy simulation search


@functools.partial(jax.jit, static_argnames="candidates")
def greedy_search(grid: SpreadGrid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0,
                  candidates: int = 32) -> jnp.ndarray:
    """The ranks ``int32[H, W]`` of :func:`greedy` from a landscape's step times ``grid`` and fuel mask
    ``burnable``: the round that treated each cell, ``H * W`` for cells never treated.  ``budget_cells`` may be
    traced (a ``lax.fori_loop`` over rounds)."""
    H, W = burnable.shape
    K = min(candidates, H * W)

    def burned_fraction(treated):
        return jnp.isfinite(_fire_times(treat_grid(grid, burnable, treated), ignitions, max_minutes)).mean()

    def add_one(round_, rank):
        treated = rank < H * W
        score = _dpv(treat_grid(grid, burnable, treated), ignitions, max_minutes)
        open_cells = burnable & ~treated
        cells = _order(score, open_cells, tie_key)[:K]
        masks = treated | (jnp.arange(H * W) == cells[:, None]).reshape(K, H, W)
        valid = open_cells.ravel()[cells]
        best = jnp.argmin(jnp.where(valid, jax.vmap(burned_fraction)(masks), INF))
        return rank.ravel().at[cells[best]].min(jnp.where(valid[best], round_, H * W)).reshape(H, W)

    return lax.fori_loop(0, budget_cells, add_one, jnp.full((H, W), H * W, jnp.int32))


def greedy(key, landscape: Landscape, weather: Weather, budget_cells, *, ignitions=None, num_ignitions=64,
           ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False,
           candidates: int = 32) -> jnp.ndarray:
    """Greedy simulation search: ``budget_cells`` rounds, each treating one more cell.

    Each round recomputes DPV (:func:`dpv_scores`) on the landscape treated so far, takes the ``candidates``
    untreated burnable cells of highest DPV, evaluates the expected burned fraction of the ignition set with
    each one added (all candidates in one ``vmap``ped batch of ``candidates x N`` fires) and keeps the best
    (ties: higher DPV).  Recomputing DPV every round costs ``1 / candidates`` of the evaluation.
    """
    ignitions, tie_key = _setup(key, landscape, budget_cells, ignitions, num_ignitions, ignition_probability)
    grid = fire.spread_grid(landscape, weather, neighbours)
    rank = greedy_search(grid, landscape.burnable, ignitions, budget_cells, tie_key, max_minutes, candidates)
    return rank if ranked else rank < budget_cells


BASELINES = {"random": random, "burn_probability": burn_probability, "domirank": domirank, "dpv": dpv,
             "greedy": greedy}
