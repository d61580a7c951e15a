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


def fold_vmap(solver):
    """``solver`` with a ``custom_vmap`` rule that folds any further ``vmap`` axis into its own batch.

    ``solver(step, first, burning, cap)`` has the module's contract (``[G, M, H, W]``, ``[G, M, H, W]``,
    ``[G, N, H, W]``, ``[G, N]`` -> ``[G, N, H, W]``).  A new axis over the step times folds into ``G`` (more
    grids); a new axis over fires only folds into ``N`` (more fires on the same grids), so vmapped callers share one
    loop instead of XLA's batched ``while_loop`` that runs every element to the slowest one.
    """
    @jax.custom_batching.custom_vmap
    def folded(step, first, burning, cap):
        return solver(step, first, burning, cap)

    @folded.def_vmap
    def _fold(axis_size, in_batched, step, first, burning, cap):
        def with_axis(x, batched):
            return x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)

        burning, cap = with_axis(burning, in_batched[2]), with_axis(cap, in_batched[3])
        A, G, N = burning.shape[:3]
        if in_batched[0] or in_batched[1]:  # a new axis of grids: fold into G
            step, first = with_axis(step, in_batched[0]), with_axis(first, in_batched[1])
            out = folded(step.reshape((A * G,) + step.shape[2:]), first.reshape((A * G,) + first.shape[2:]),
                         burning.reshape((A * G,) + burning.shape[2:]), cap.reshape(A * G, N))
            return out.reshape(burning.shape), True
        # a new axis of fires on the same grids: fold into N
        burning = jnp.swapaxes(burning, 0, 1).reshape((G, A * N) + burning.shape[3:])
        out = folded(step, first, burning, jnp.swapaxes(cap, 0, 1).reshape(G, A * N))
        return jnp.swapaxes(out.reshape((G, A, N) + out.shape[2:]), 0, 1), True

    return folded


def _slot_refill(step, first, burning, cap, moves, max_sweeps: int | None, slots: int | None):
    """Arrival times of ``N`` queued fires on each of ``G`` grids (the module's contract), ``S`` in flight."""
    G, N, H, W = burning.shape
    S = N if slots is None else min(N, slots)
    limit = H * W if max_sweeps is None else max_sweeps
    groups = jnp.arange(G)[:, None]
    step, first = jnp.moveaxis(step, 1, 0)[:, :, None], jnp.moveaxis(first, 1, 0)[:, :, None]  # [M, G, 1, H, W]
    cap = jnp.concatenate([cap, jnp.full((G, 1), -1.0, cap.dtype)], 1)[..., None, None]  # slot of id N: idle

    def capped(t, ids):
        return jnp.where(t <= cap[groups, ids], t, INF)

    queue = jnp.where(burning, 0.0, INF).astype(jnp.float32)
    queue = relax(queue, queue, first, moves)                                      # [G, N, H, W]
    queue = jnp.concatenate([queue, jnp.full((G, 1, H, W), INF, queue.dtype)], 1)  # id N: an idle slot
    ids = jnp.broadcast_to(jnp.arange(S), (G, S))
    state = (ids, capped(queue[:, :S], ids), jnp.zeros((G, S), jnp.int32), jnp.full((G,), S),
             jnp.full((G, N + 1, H, W), INF, queue.dtype))

    def body(state):
        ids, times, sweeps, next_id, out = state
        new = capped(relax(times, times, step, moves), ids)
        sweeps = sweeps + 1
        done = (~jnp.any(new < times, axis=(2, 3)) | (sweeps >= limit)) & (ids < N)
        out = out.at[groups, jnp.where(done, ids, N)].set(new)
        rank = jnp.cumsum(done, axis=1) - 1
        ids = jnp.where(done, jnp.minimum(next_id[:, None] + rank, N), ids)
        next_id = next_id + done.sum(1)
        times = jnp.where(done[..., None, None], capped(queue[groups, ids], ids), new)
        return ids, times, jnp.where(done, 0, sweeps), next_id, out

    return lax.while_loop(lambda state: jnp.any(state[0] < N), body, state)[-1][:, :N]


@functools.lru_cache(maxsize=None)
def solver(moves: tuple, max_sweeps: int | None = None, slots: int | None = 32):
    """The Jacobi solver for a stencil: ``solver(step, first, burning, cap) -> times`` (the module's contract).

    Args:
      moves: the stencil (:func:`jaxfire.stencil.moves`), static.
      max_sweeps: bound on sweeps per fire (default ``H * W``, the longest possible path: the loop stops at the
        exact fixed point long before).
      slots: fires in flight at once per grid (``None``: all of them).
    """
    return fold_vmap(functools.partial(_slot_refill, moves=moves, max_sweeps=max_sweeps, slots=slots))
