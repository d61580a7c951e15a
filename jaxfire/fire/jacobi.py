"""The Jacobi solver of arrival times: whole-grid relaxation sweeps with a slot-refill queue of fires.

Conventions: step times ``float32[G, M, H, W]`` (``G`` grids, ``M`` stencil moves; :mod:`jaxfire.fire.grid`),
fires ``bool[G, N, H, W]`` (cells burning at t = 0) with caps ``float32[G, N]`` minutes; arrival times
``float32[G, N, H, W]`` minutes, ``inf`` beyond the cap.

A sweep relaxes every cell from every stencil neighbour in one fused pass,
``T[c] = min(T[c], T[c - m] + step[m, c])``; repeated until a sweep changes nothing it gives the exact fixed point,
Dijkstra's answer on the same graph.  Times past the cap are dropped to ``inf`` as they appear, so no sweep is
spent refining fire beyond the cap.  A fire needs as many sweeps as its longest shortest path has hops.

Work skips settled fires: the fires of a batch form a queue and ``slots`` of them are in flight at once; every
iteration sweeps all slots twice, and a slot whose second sweep changed nothing holds a finished fire: its times
are written out and the slot takes the next fire of the queue, so a batch costs the mean number of sweeps rather
than the maximum.  Fires on one grid are swept with the slots as the minor axis (:func:`relax_slots`, ``[H, W,
S]``), fires on several grids with the slots as the major axis (:func:`relax`, ``[S, H, W]``); see :func:`_pool`
for why and for what was measured.
A ``vmap`` over grids folds into the batch (:func:`fold_vmap`) and, on a CPU, its grids share one pool, each slot
sweeping with its own fire's grid (:func:`default_pools`; on accelerators each grid keeps a pool of its own).  One
pool matters where most fires need few sweeps: the incremental re-solves of an environment step (most fires
untouched) or of greedy search's candidates, which per-grid pools swept idle (measured on 2 cores at 50 x 50, 64
environments x 32 fires, one vmapped step's grids and re-solves: 1.37 s with 32 slots per grid, 0.42 s with 32 in
all, ~0.3 s of each the grids' Rothermel).

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


#: Fires in flight at once in a slot pool (measured on 2 CPU cores: one 50 x 50 grid, 256 fires, slots-last sweeps
#: in pairs, 16 / 24 / 32 / 48 / 64 slots gave 8,212 / 7,953 / 8,900 / 8,360 / 7,950 sims/s; before, one sweep per
#: iteration, slots-first, 8 / 16 / 32 / 64 / 128 / all slots: 4,578 / 5,170 / 6,343 / 5,759 / 5,026 / 3,896; an
#: environment step's grids and incremental re-solves, 64 grids x 32 fires in one pool, 16 / 32 / 64 / 128 / 256
#: slots: 0.46 / 0.42 / 0.46 / 0.72 / 0.91 s, of which the grids' Rothermel ~0.3 s).
SLOTS = 32


def default_pools(grids: int, platform: str | None = None) -> int:
    """How many slot pools the ``grids`` grids of a folded batch are split into (in equal groups of grids), on
    ``platform`` (default ``jax.default_backend()``): one per grid on accelerators (as measured on the H200,
    ``results/throughput-gpu``: a chip needs many fires in flight); on a CPU one per local device when they divide
    the grids (a batch sharded over host devices keeps its pools on their devices), else one for all."""
    if (platform or jax.default_backend()) != "cpu":
        return grids
    devices = jax.local_device_count()
    return devices if grids % devices == 0 else 1


def _slot_refill(step, queue, cap, active, moves, max_sweeps: int | None, slots: int | None):
    """Arrival times of ``N`` queued fires on each of ``G`` grids, in :func:`default_pools` pools of ``slots``
    (default :data:`SLOTS`) fires in flight.

    ``queue`` ``[G, N, H, W]`` holds each fire's initial upper bounds (capped when the fire enters a slot);
    ``active`` ``bool[G, N]`` (``None``: all) the fires to relax: the others never enter a slot and come out as
    their ``queue`` entry.
    """
    G, N, H, W = queue.shape
    Q = default_pools(G)
    active = jnp.ones((G, N), bool) if active is None else active
    pool = functools.partial(_pool, moves=moves, limit=max_sweeps, slots=SLOTS if slots is None else slots,
                             refill_all=Q > 1 or jax.default_backend() != "cpu")  # see _retire
    if Q == 1:
        return pool(step, queue, cap, active)
    out = jax.vmap(pool)(*[x.reshape((Q, G // Q) + x.shape[1:]) for x in (step, queue, cap, active)])
    return out.reshape(G, N, H, W)


def relax_slots(times, step_minutes, moves):
    """One Jacobi sweep of fires laid out slots-last: ``times`` ``[H, W, S]``; ``step_minutes`` ``[H, W, M, 1]``
    (one grid for every slot) or ``[H, W, M, S]``.

    The same arithmetic as :func:`relax` (so the same times bit for bit), with the fires as the minor axis: a
    neighbour read is a whole contiguous row of fires, and one step time serves every fire of a shared grid.
    """
    H, W = times.shape[:2]
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    padded = jnp.pad(times, ((pad, pad), (pad, pad), (0, 0)), constant_values=INF)
    best = times
    for k, m in enumerate(moves):
        best = jnp.minimum(best, padded[pad - m.dr:pad - m.dr + H, pad - m.dc:pad - m.dc + W] + step_minutes[:, :, k])
    return best


def _pool(step, queue, cap, active, moves, limit: int | None, slots: int, refill_all: bool):
    """One slot pool: the ``F = G * N`` fires of its ``G`` grids form one queue (the active ones first), ``S``
    in flight, each slot sweeping with the step times of its own fire's grid.

    Layout and rhythm (measured on 2 CPU cores, 50 x 50; ``results/throughput-cpu/jacobi-slots-last``): on one
    grid the slots are the minor axis of the swept times (``[H, W, S]``, :func:`relax_slots`: 1.5x faster sweeps
    than ``[S, H, W]``); with several grids they stay the major axis (``[S, H, W]``), each slot reading its grid's
    step times, because copying a grid into a slots-last slot is a strided copy of all ``M x H x W`` step times
    (it doubled an environment step's solve).  Each iteration sweeps twice and then tests for fires that changed
    nothing in their second sweep (the test, write-out and refill cost about a sweep; a fire spends at most one
    sweep more than it needs); then :func:`_retire`.  ``limit``: bound on sweeps per fire (``None``: none beyond
    convergence).
    """
    G, N, H, W = queue.shape
    F = G * N
    S = min(F, slots)
    axis = 2 if G == 1 else 0  # the slot axis of the swept times
    shared = jnp.transpose(step, (2, 3, 1, 0)) if axis == 2 else None  # the one grid's step times [H, W, M, 1]
    step = jnp.moveaxis(step, 1, 0)  # [M, G, H, W]
    cap = jnp.concatenate([cap.reshape(F), jnp.full((1,), -1.0, cap.dtype)])  # fire id F: idle
    queue = jnp.concatenate([queue.reshape(F, H, W), jnp.full((1, H, W), INF, queue.dtype)])  # id F: an idle slot
    active = active.reshape(F)
    order, count = jnp.argsort(~active, stable=True), active.sum()

    def fire_at(position):  # the id of the fire at a queue position; F (idle) past the active ones
        return jnp.where(position < count, order[jnp.minimum(position, F - 1)], F)

    def per_slot(x):  # [S] -> broadcastable against the swept times
        return x if axis == 2 else x[:, None, None]

    def entry(fire):  # a fire's capped queue entry [H, W]
        return jnp.where(queue[fire] <= cap[fire], queue[fire], INF)

    def sweep(times, ids):
        if axis == 2:
            new = relax_slots(times, shared, moves)
        else:
            new = relax(times, times, step[:, jnp.minimum(ids, F - 1) // N], moves)
        return jnp.where(new <= per_slot(cap[ids]), new, INF)

    def body(state):
        ids, times, sweeps, next_position, out = state
        first = sweep(times, ids)
        second = sweep(first, ids)
        if limit is None:
            new, previous, sweeps = second, first, sweeps + 2
        else:  # the second sweep only where the bound allows it
            both = sweeps + 2 <= limit
            new, previous = jnp.where(per_slot(both), second, first), jnp.where(per_slot(both), first, times)
            sweeps = sweeps + jnp.where(both, 2, 1)
        done = ~jnp.any(new < previous, axis=tuple(a for a in range(3) if a != axis))
        if limit is not None:
            done = done | (sweeps >= limit)
        done = done & (ids < F)
        ids, times, out = _retire(done, ids, new, out, next_position, fire_at, entry, axis, refill_all)
        return ids, times, jnp.where(done, 0, sweeps), next_position + done.sum(), out

    ids = fire_at(jnp.arange(S))
    state = (ids, jnp.moveaxis(jax.vmap(entry)(ids), 0, axis), jnp.zeros(S, jnp.int32), jnp.int32(S),
             queue)  # out: starts as the queue
    return lax.while_loop(lambda state: jnp.any(state[0] < F), body, state)[-1][:F].reshape(G, N, H, W)


def _retire(done, ids, times, out, next_position, fire_at, entry, axis: int, all_at_once: bool):
    """The slots marked ``done`` (``bool[S]``) write their fires' ``times`` (slot axis ``axis``) into ``out``
    ``[F + 1, H, W]`` (row ``F``: discarded) and take the next fires of the queue from ``next_position``
    (``fire_at``: position -> fire id; ``entry``: fire id -> its start ``[H, W]``).  Returns ``(ids, times, out)``.

    One by one (the default): only the finished slots are touched, in a loop over them (a scatter and a gather of
    every slot cost ~75 us per iteration at 50 x 50).  ``all_at_once``: one scatter and one gather, as vmapped
    pools must (a vmapped loop over the finished slots runs to the longest pool's count and copies every buffer)
    and accelerators should (the loop launches kernels per slot; not measured on a GPU since this change).
    """
    F = out.shape[0] - 1
    if all_at_once:
        out = out.at[jnp.where(done, ids, F)].set(jnp.moveaxis(times, axis, 0))
        ids = jnp.where(done, fire_at(next_position + jnp.cumsum(done) - 1), ids)
        done = done if axis == 2 else done[:, None, None]
        return ids, jnp.where(done, jnp.moveaxis(jax.vmap(entry)(ids), 0, axis), times), out
    finished, finishing = jnp.nonzero(done, size=done.shape[0], fill_value=0)[0], done.sum()

    def write_out(j, out):
        s = finished[j]
        return lax.dynamic_update_slice(out, jnp.moveaxis(lax.dynamic_slice_in_dim(times, s, 1, axis), axis, 0),
                                        (ids[s], 0, 0))

    def refill(j, slots):
        ids, times = slots
        s, fire = finished[j], fire_at(next_position + j)
        return ids.at[s].set(fire), lax.dynamic_update_slice_in_dim(times, jnp.expand_dims(entry(fire), axis), s,
                                                                     axis)

    out = lax.fori_loop(0, finishing, write_out, out)
    ids, times = lax.fori_loop(0, finishing, refill, (ids, times))
    return ids, times, out


def _cold(step, first, burning, cap, moves, max_sweeps, slots):
    """The module's contract: each fire's queue entry is its burning cells at 0 and one relax of first steps."""
    queue = jnp.where(burning, 0.0, INF).astype(jnp.float32)
    queue = relax(queue, queue, jnp.moveaxis(first, 1, 0)[:, :, None], moves)  # [G, N, H, W]
    return _slot_refill(step, queue, cap, None, moves, max_sweeps, slots)


@functools.lru_cache(maxsize=None)
def solver(moves: tuple, max_sweeps: int | None = None, slots: int | None = None):
    """The Jacobi solver for a stencil: ``solver(step, first, burning, cap) -> times`` (the module's contract).

    Args:
      moves: the stencil (:func:`jaxfire.stencil.moves`), static.
      max_sweeps: bound on sweeps per fire (default none: each fire stops at the exact fixed point; times only
        fall, so it gets there).
      slots: fires in flight at once in each slot pool (``None``: :data:`SLOTS`; pools: :func:`default_pools`).
    """
    return fold_vmap(functools.partial(_cold, moves=moves, max_sweeps=max_sweeps, slots=slots))


@functools.lru_cache(maxsize=None)
def warm_solver(moves: tuple, max_sweeps: int | None = None, slots: int | None = None):
    """The Jacobi solver from given upper bounds: ``warm_solver(...)(step, start, cap, active) -> times``.

    ``step`` ``float32[G, M, H, W]``; ``start`` ``float32[G, N, H, W]`` each fire's initial times, upper bounds of
    its fixed point (the relaxation only lowers them; :mod:`jaxfire.fire.incremental` builds them); ``cap``
    ``float32[G, N]``; ``active`` ``bool[G, N]``: the fires to relax, the others are returned as ``start``
    without a sweep.  Arguments as for :func:`solver`.
    """
    return fold_vmap(functools.partial(_slot_refill, moves=moves, max_sweeps=max_sweeps, slots=slots), grid_args=1)
