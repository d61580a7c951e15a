"""The Jacobi solver of arrival times: whole-grid relaxation sweeps with a slot-refill queue of fires.

Conventions: step times ``float32[G, M, H, W]`` (``G`` grids, ``M`` stencil moves; :mod:`jaxfire.fire.grid`),
fires ``bool[G, N, H, W]`` (cells burning at t = 0) with caps ``float32[G, N]`` minutes; arrival times
``float32[G, N, H, W]`` minutes, ``inf`` beyond the cap.

A sweep relaxes every cell from every stencil neighbour in one fused pass,
``T[c] = min(T[c], T[c - m] + step[m, c])``; repeated until a sweep changes nothing it gives the exact fixed point,
Dijkstra's answer on the same graph.  Times past the cap are dropped to ``inf`` as they appear, so no sweep is
spent refining fire beyond the cap.  A fire needs as many sweeps as its longest shortest path has hops.

Work skips settled fires: each grid keeps ``S = min(N, slots)`` fires in flight; every iteration sweeps all slots
at once, and a slot whose sweep changed nothing holds a finished fire: its times are written out and the slot
takes the next fire of the queue, so a batch costs the mean number of sweeps rather than the maximum.

Warm start (:func:`warm_solver`): the same loop from given upper bounds instead of the ignition-derived queue, and
only for the fires marked active (the others cost nothing); :mod:`jaxfire.fire.incremental` uses it to re-solve
fires after fuel breaks are added.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

INF = jnp.inf


def relax(times, sources, step_minutes, moves):
    """One Jacobi sweep: ``min(times, sources[c - m] + step_minutes[m, c])`` over every move ``m``.

    ``times``, ``sources``: ``[..., H, W]``; ``step_minutes``: ``[M, ..., H, W]`` broadcastable against them.
    """
    H, W = times.shape[-2:]
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    padded = jnp.pad(sources, [(0, 0)] * (sources.ndim - 2) + [(pad, pad), (pad, pad)], constant_values=INF)
    best = times
    for m, cost in zip(moves, step_minutes):
        best = jnp.minimum(best, padded[..., pad - m.dr:pad - m.dr + H, pad - m.dc:pad - m.dc + W] + cost)
    return best


def fold_vmap(solver, grid_args: int = 2):
    """``solver`` with a ``custom_vmap`` rule that folds any further ``vmap`` axis into its own batch.

    ``solver``'s first ``grid_args`` arguments are per grid (``[G, ...]``: step times), the rest per fire
    (``[G, N, ...]``); it returns ``[G, N, H, W]``.  The cold solver is ``(step, first, burning, cap)`` (two per
    grid), the warm one ``(step, start, cap, active)`` (one).  A new axis over any per-grid argument folds into ``G``
    (more grids); a new axis over per-fire arguments only folds into ``N`` (more fires on the same grids), so vmapped
    callers share one loop instead of XLA's batched ``while_loop`` that runs every element to the slowest one.
    """
    @jax.custom_batching.custom_vmap
    def folded(*args):
        return solver(*args)

    @folded.def_vmap
    def _fold(axis_size, in_batched, *args):
        def with_axis(x, batched):
            return x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)

        grids, fires = args[:grid_args], [with_axis(x, b) for x, b in zip(args[grid_args:], in_batched[grid_args:])]
        A, G, N = fires[0].shape[:3]
        if any(in_batched[:grid_args]):  # a new axis of grids: fold into G
            grids = [with_axis(x, b) for x, b in zip(grids, in_batched[:grid_args])]
            out = folded(*[x.reshape((A * G,) + x.shape[2:]) for x in grids + fires])
            return out.reshape((A, G, N) + out.shape[2:]), True
        # a new axis of fires on the same grids: fold into N
        out = folded(*grids, *[jnp.swapaxes(x, 0, 1).reshape((G, A * N) + x.shape[3:]) for x in fires])
        return jnp.swapaxes(out.reshape((G, A, N) + out.shape[2:]), 0, 1), True

    return folded


def _slot_refill(step, queue, cap, active, moves, max_sweeps: int | None, slots: int | None):
    """Arrival times of ``N`` queued fires on each of ``G`` grids, ``S`` in flight.

    ``queue`` ``[G, N, H, W]`` holds each fire's initial upper bounds (capped when the fire enters a slot);
    ``active`` ``bool[G, N]`` (``None``: all) the fires to relax: the others never enter a slot and come out as
    their ``queue`` entry.
    """
    G, N, H, W = queue.shape
    S = N if slots is None else min(N, slots)
    limit = H * W if max_sweeps is None else max_sweeps
    groups = jnp.arange(G)[:, None]
    step = jnp.moveaxis(step, 1, 0)[:, :, None]  # [M, G, 1, H, W]
    cap = jnp.concatenate([cap, jnp.full((G, 1), -1.0, cap.dtype)], 1)[..., None, None]  # slot of id N: idle
    if active is None:
        order, count = jnp.broadcast_to(jnp.arange(N), (G, N)), jnp.full((G, 1), N)
    else:  # the active fires first, in their order
        order, count = jnp.argsort(~active, axis=1, stable=True), active.sum(1, keepdims=True)

    def fire_at(position):  # the id of the fire at a queue position; N (idle) past the active ones
        return jnp.where(position < count, jnp.take_along_axis(order, jnp.minimum(position, N - 1), 1), N)

    def capped(t, ids):
        return jnp.where(t <= cap[groups, ids], t, INF)

    queue = jnp.concatenate([queue, jnp.full((G, 1, H, W), INF, queue.dtype)], 1)  # id N: an idle slot
    ids = fire_at(jnp.broadcast_to(jnp.arange(S), (G, S)))
    state = (ids, capped(queue[groups, ids], ids), jnp.zeros((G, S), jnp.int32), jnp.full((G, 1), S), queue)

    def body(state):
        ids, times, sweeps, next_position, out = state
        new = capped(relax(times, times, step, moves), ids)
        sweeps = sweeps + 1
        done = (~jnp.any(new < times, axis=(2, 3)) | (sweeps >= limit)) & (ids < N)
        out = out.at[groups, jnp.where(done, ids, N)].set(new)
        rank = jnp.cumsum(done, axis=1) - 1
        ids = jnp.where(done, fire_at(next_position + rank), ids)
        next_position = next_position + done.sum(1, keepdims=True)
        times = jnp.where(done[..., None, None], capped(queue[groups, ids], ids), new)
        return ids, times, jnp.where(done, 0, sweeps), next_position, out

    return lax.while_loop(lambda state: jnp.any(state[0] < N), body, state)[-1][:, :N]


def _cold(step, first, burning, cap, moves, max_sweeps, slots):
    """The module's contract: each fire's queue entry is its burning cells at 0 and one relax of first steps."""
    queue = jnp.where(burning, 0.0, INF).astype(jnp.float32)
    queue = relax(queue, queue, jnp.moveaxis(first, 1, 0)[:, :, None], moves)  # [G, N, H, W]
    return _slot_refill(step, queue, cap, None, moves, max_sweeps, slots)


@functools.lru_cache(maxsize=None)
def solver(moves: tuple, max_sweeps: int | None = None, slots: int | None = 32):
    """The Jacobi solver for a stencil: ``solver(step, first, burning, cap) -> times`` (the module's contract).

    Args:
      moves: the stencil (:func:`jaxfire.stencil.moves`), static.
      max_sweeps: bound on sweeps per fire (default ``H * W``, the longest possible path: the loop stops at the
        exact fixed point long before).
      slots: fires in flight at once per grid (``None``: all of them).
    """
    return fold_vmap(functools.partial(_cold, moves=moves, max_sweeps=max_sweeps, slots=slots))


@functools.lru_cache(maxsize=None)
def warm_solver(moves: tuple, max_sweeps: int | None = None, slots: int | None = 32):
    """The Jacobi solver from given upper bounds: ``warm_solver(...)(step, start, cap, active) -> times``.

    ``step`` ``float32[G, M, H, W]``; ``start`` ``float32[G, N, H, W]`` each fire's initial times, upper bounds of
    its fixed point (the relaxation only lowers them; :mod:`jaxfire.fire.incremental` builds them); ``cap``
    ``float32[G, N]``; ``active`` ``bool[G, N]``: the fires to relax, the others are returned as ``start``
    without a sweep.  Arguments as for :func:`solver`.
    """
    return fold_vmap(functools.partial(_slot_refill, moves=moves, max_sweeps=max_sweeps, slots=slots), grid_args=1)
