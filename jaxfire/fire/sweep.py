"""The ordered-sweep solver of arrival times: sweeps in growing windows around each fire, Jacobi's answer bit for bit.

Conventions: the contract of :func:`jaxfire.fire.jacobi.solver`: step times ``float32[G, M, H, W]`` (``G`` grids,
``M`` stencil moves; :mod:`jaxfire.fire.grid`), fires ``bool[G, N, H, W]`` (cells burning at t = 0) with caps
``float32[G, N]`` minutes -> arrival times ``float32[G, N, H, W]`` minutes, ``inf`` beyond the cap; arrays
``[row, col]``, row 0 = NORTH; a move ``(dr, dc)`` goes ``dr`` rows south and ``dc`` columns east.  ``vmap`` folds
into the batch exactly as for Jacobi (:func:`jaxfire.fire.jacobi.fold_vmap`, shared).  Pick a solver with
``solver=`` on any public entry point (:func:`jaxfire.fire.spread.choose_solver` states the ``"auto"`` rule).

Algorithm: ordered sweeps (fast sweeping, Zhao 2005, in row/column orderings).  A sweep visits the lines (rows, or
columns) of a window in order and relaxes each line, all its cells and all fires at once, from the moves whose
source lies on a line already visited (``dr > 0`` going down, ``dr < 0`` going up, ``dc > 0`` / ``dc < 0`` for
column sweeps; 3 of 8, 7 of 16, 15 of 32 moves, sources 1-3 lines back), in place.  One sweep carries a fire along
any path whose moves all point that way; a round of the four sweeps (down, up, right, left) relaxes every move.  A
fire has settled once four sweeps in a row changed nothing: then ``T[c] <= T[n] + tau(n -> c)`` holds for every
move, the fixed point.  Every update is ``min(T[c], fl(T[n] + tau))`` with the same step times as Jacobi's and the
fixed point is unique (each value is the left-to-right float sum along a best path), so the result is bit for bit
the Jacobi solver's (the tests assert ``array_equal``).  No within-line recurrence is needed (moves along a line
belong to the other orientation), so no ``associative_scan`` (which would reassociate the sums and lose the bit
equality).  Fires need 12-16 directional sweeps (3-4 rounds, the last one quiet) on the heterogeneous synthetic
landscapes, against one Jacobi sweep per hop of the longest path (20-40 at 50x50, hundreds on big fires).

Work follows the fire, with static shapes: windows.  Each fire starts in the smallest window of :func:`levels`
(32x32 cells, then 64, 128, ... while a window covers at most a quarter of the grid, then the whole grid) that
holds its ignited cells, centred on them.  Every level has a static window size and a static number of slots, so
every array shape is known at trace time; what is dynamic is only *where* each window sits (a traced origin, read
with ``dynamic_slice``) and *which* fire a slot holds.  A window's answer is exact unless a finite time lies within
the stencil's reach (1-3 cells) of a window side inside the grid (a better path leaving the window would leave
from there); such a fire goes up a level, into a window placed around what it burned (all the spare room on the
side(s) it ran out of), and starts there from its times so far (upper bounds, each the time of a real path, so the
sweeps still end at the exact fixed point).  Windows of a level are solved ``slots`` at a time with their own step
times, cut as contiguous slices of whole-grid copies in the sweeps' layouts; on the whole-grid level with one grid
the slots share the grid's step times (no copies, broadcast over slots).  A fire whose slot settled is retired
after each round and the slot takes the next fire of the level's queue (so a level costs the mean sweeps, not the
maximum).  Cost per fire ~ window cells x 28 relaxations per round x 3-4 rounds (+ restarts), independent of the
grid size; what is left that grows with the grid is the ``float32[N, H, W]`` output itself.  First steps out of a
point ignition are computed in a 16x16 patch (:func:`jaxfire.fire.jacobi.relax`), not the whole window.

How it maps onto XLA:CPU (jax 0.10, measured on branch ``sweep``): a sweep is a ``fori_loop`` over blocks of up to 4
lines, and each thunk costs microseconds (more under load), so the loop body is kept to few, vectorised kernels:
see :func:`_sweep` (a ``cond`` materialises the fetched lines: a dynamic slice inside the relaxation kernel defeats
LLVM's vectoriser; an optimisation barrier stops XLA fusing consecutive lines; the write-back lags one
iteration), :func:`_round` (both directions of an orientation share one loop body: half the kernels to compile,
two transposes per round), :func:`_retire` and :func:`_refill` (no ``cond`` around buffers, which XLA copies).
Compiling a solver takes ~5-15 s per level set (a few hundred kernels), against ~3 s for Jacobi.

NaN: the public entry points never hand a solver a NaN step time or cap (:mod:`jaxfire.validation` raises on a
visible one and makes the arrival times NaN for a traced one, whichever solver runs; tested).  At this raw level a
NaN cap gives ``inf`` everywhere, as in Jacobi (``t <= NaN`` is false); the sweeps' ``where(a < b, a, b)`` would
ignore a NaN step time (the move acts as blocked) where Jacobi's ``minimum`` drops the cell to ``inf``: neither
is a meaningful answer, which is why validation stops NaN step times first.

Measured on the 2-core development VM while other jobs kept it loaded (load average 7-9, this process got about a
third of the two cores), so absolute sims/s are several times below an idle machine's and only the ratios carry
over: ``python -m experiments.throughput --sections solvers --solver-grids 32,50,64,128,256,512 --solver-fires 64
--repeats 3 --max-seconds 150 --solver-work`` (synthetic ``n x n`` landscape, seed 0, 20 km/h west wind, 8 h cap,
16 neighbours, crown fire on, 64 fires per batch, both solvers interleaved in one process, medians after
compilation; arrival times ``array_equal`` at every size):

    grid     Jacobi sims/s  sweep sims/s  sweep/Jacobi  burned  sweeps/fire  active  compile s (J / S)
    32x32        2759          5024          1.8        0.314      14.1      1.00       3 / 10
    50x50        1257          1313          1.04       0.103      13.4      1.00       3 / 9
    64x64         603           530          0.88       0.136      23.0      0.55       4 / 27
    128x128        97.6         307          3.1        0.075      29.2      0.29       3 / 30
    256x256        13.8         123          8.9        0.031      34.3      0.11       4 / 39
    512x512         3.06         56.2       18.3        0.017      37.6      0.060     17 / 57

(active: cells swept / (directional sweeps x grid cells); sweeps/fire counts restarts in larger windows.)  Time per
batch grows as cells^0.75 for the sweeps against cells^1.27 for Jacobi.  What bounds the sweeps: from 128x128 up the
fires are small and what grows is the window they end in (their extent is unknown in advance, so most climb to
64x64 or 128x128 windows and restart there: 38 of 64 fires reached 128x128 windows at 256x256) and the
``[N, H, W]`` output; at 64x64 most fires (49 of 64) outgrow the first 32x32 window and start again on the whole
grid, which is the weak spot (0.9-1.5x in three measurements: 1.2x with 16 fires and 1.5x with 256 on branch
``sweep``'s tiled landscape).  With one or a few fires the line loops are overhead-bound (0.6x for one fire at
64x64 and 128x128), hence the ``"auto"`` rule's fires x cells threshold
(:func:`jaxfire.fire.spread.choose_solver`).  Not reached on this machine: the issue's 10,000 sims/s at 50x50.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
from flax import struct
from jax import lax

from jaxfire.fire import jacobi

INF = jnp.inf


class Direction(NamedTuple):
    """One ordered sweep: lines are rows (``columns=False``) or columns, visited forward or in reverse.

    ``moves``: indices into the stencil of the moves this sweep relaxes: those whose source lies on an earlier line
    in visiting order; ``cross``: ``(lag, dx)`` of each: the source is ``lag >= 1`` lines earlier and ``dx`` cells
    earlier along the line.
    """

    columns: bool
    reverse: bool
    moves: tuple[int, ...]
    cross: tuple[tuple[int, int], ...]


def directions(moves) -> tuple[Direction, ...]:
    """The four sweeps (down, up, right, left) of a stencil; together they relax every move at least once
    (a diagonal move in two of them).  Moves are listed by ``(lag, dx)``: the stencils are symmetric under
    reflections and transposition, so all four sweeps then have the same ``cross`` and share one loop body."""
    out = []
    for columns in (False, True):
        for sign in (1, -1):
            along = [(m.dc, m.dr) if columns else (m.dr, m.dc) for m in moves]  # (across lines, along the line)
            picked = sorted((along[k][0] * sign, along[k][1], k) for k in range(len(moves)) if along[k][0] * sign > 0)
            out.append(Direction(columns, sign < 0, tuple(k for *_, k in picked), tuple((a, b) for a, b, _ in picked)))
    if len({d.cross for d in out}) != 1:
        raise ValueError("the stencil is not symmetric under reflections and transposition")
    return tuple(out)


def _block(L: int, most: int = 4) -> int:
    """Lines relaxed per loop iteration: the largest of ``most, ..., 1`` dividing ``L``."""
    return next(u for u in range(most, 0, -1) if L % u == 0)


def _sweep(times, cost, cap, cross, back):
    """One ordered sweep over the lines of ``times``: each line relaxed from the ``lag`` lines before it.

    Args:
      times: ``float32[L, S, X]`` arrival times (minutes), lines leading (rows of ``S`` windows, or columns).
      cost: ``float32[2, L, K, S or 1, X]`` step times (minutes) of the moves into each cell, forward and
        reverse sweeps (``1``: the same for every window).
      cap: ``float32[S, 1]`` time caps, minutes; later times become ``inf``.
      cross: ``(lag, dx)`` of the ``K`` moves (:class:`Direction`).
      back: traced ``bool``: visit the lines last to first (one loop body serves both orders).

    Returns:
      ``(times, changed)``: the swept times and ``bool[S]``, whether any time of a window decreased.

    How it maps onto XLA:CPU (measured, jax 0.10; see the module docstring): each loop iteration relaxes a block
    of ``U`` lines.  Their old times and step times are fetched inside a ``cond`` (on the order), which
    materialises them: a dynamic slice fused into the relaxation reloads its index per element and keeps LLVM
    from vectorising it (3-5x slower).  The last ``reach`` new lines ride in the loop state padded with ``inf``
    along the line, so the ``dx`` shifts are static slices; an optimisation barrier keeps XLA from fusing
    consecutive lines (which recomputes each line once per move that reads it); and a block is written back one
    iteration later, from the loop state, so that the write does not absorb (and de-vectorise) the relaxation.
    ``where(a < b, a, b)`` is ``min`` without NaN handling (about 30 % faster): times are never NaN given NaN-free
    step times (see the module docstring, NaN).  These pieces share the loop state and are kept in one function
    because each depends on the layout the others chose; split, the reasons above would be spread over helpers.
    """
    L, S, X = times.shape
    U = _block(L)
    reach = max(lag for lag, _ in cross)
    pad = max(max(abs(dx) for _, dx in cross), 1)

    def start(b):
        """First line of block ``b`` (block -1 is block 0: iteration 0 writes block 0's old lines back)."""
        b = jnp.maximum(b, 0)
        return jnp.where(back, L - (b + 1) * U, b * U)

    def fetch(order, b):
        """Block ``b``'s old times and step times, in visiting order."""
        return (order(lax.dynamic_slice_in_dim(times, start(b), U)),
                order(lax.dynamic_slice(cost, (back.astype(jnp.int32), start(b), 0, 0, 0), (1, U) + cost.shape[2:])[0]))

    def relax(old, c, recent):
        new = old
        for m, (lag, dx) in enumerate(cross):
            candidate = recent[reach - lag][:, pad - dx:pad - dx + X] + c[m]
            new = jnp.where(candidate < new, candidate, new)
        new = jnp.where(new <= cap, new, INF)
        return lax.optimization_barrier(jnp.pad(new, [(0, 0), (pad, pad)], constant_values=INF))

    def block(b, state):
        out, recent, previous = state                   # previous: block b - 1's new lines, in line order
        out = lax.dynamic_update_slice_in_dim(out, previous, start(b - 1), 0)
        old, c = lax.cond(back, functools.partial(fetch, lambda x: x[::-1]), functools.partial(fetch, lambda x: x), b)
        new = []
        for u in range(U):
            new.append(relax(old[u], c[u], recent))
            recent = recent[1:] + (new[-1],)
        new = jnp.stack([line[:, pad:pad + X] for line in new])
        return out, recent, jnp.where(back, new[::-1], new)

    blank = jnp.full((S, X + 2 * pad), INF, times.dtype)
    state = (times, (blank,) * reach, lax.dynamic_slice_in_dim(times, start(0), U))
    out, _, last = lax.fori_loop(0, L // U, block, state)
    out = lax.dynamic_update_slice_in_dim(out, last, start(L // U - 1), 0)
    return out, jnp.any(out < times, axis=(0, 2))


class Level(NamedTuple):
    """A window size ``(h, w)``, how many fires (``slots``) are solved together in it, and whether they share
    one step-time array (``shared``: the window is the whole grid and there is one grid)."""

    h: int
    w: int
    slots: int
    shared: bool


def levels(shape: tuple[int, int], fires: int, grids: int, min_window: int, batch_cells: int,
           shared_cells: int, min_slots: int = 8) -> tuple[Level, ...]:
    """Windows of ``min_window * 2**k`` cells a side (clipped to the grid ``shape``) while they cover at most a
    quarter of the grid, then the whole grid.

    Slots per level: ``batch_cells // (h * w)`` windows with their own step times (at least ``min_slots``),
    ``shared_cells // (H * W)`` fires on a shared whole grid (at least 1); never more than ``fires``.
    """
    H, W = shape
    sizes, size = [], min_window
    while 4 * min(size, H) * min(size, W) <= H * W:
        sizes.append((min(size, H), min(size, W)))
        size *= 2
    out = [Level(h, w, min(fires, max(min_slots, batch_cells // (h * w))), False) for h, w in sizes]
    shared = grids == 1
    slots = max(1, shared_cells // (H * W)) if shared else max(min_slots, batch_cells // (H * W))
    out.append(Level(H, W, min(fires, slots), shared))
    return tuple(out)


@struct.dataclass
class Queue:
    """Where each of ``F`` fires stands.

    Attributes:
      level: ``int32[F]`` index of the window level the fire waits for; ``len(levels)`` once solved.
      origin: ``int32[F, 2]`` top-left cell ``(row, col)`` of its window at that level.
      out: ``float32[F + 1, H, W]`` arrival times of the solved fires (``inf`` elsewhere; row ``F`` is scratch).
    """

    level: jnp.ndarray
    origin: jnp.ndarray
    out: jnp.ndarray


@struct.dataclass
class Fires:
    """The inputs of a solve, flattened to ``F`` fires on ``G`` step-time grids.

    Attributes:
      step, first: ``float32[G, M, H, W]`` step times (minutes) of each move into each cell; ``first`` out of an
        ignited cell.
      burning: ``bool[F, H, W]`` ignited cells of each fire.
      cap: ``float32[F]`` time caps, minutes.
      group: ``int32[F]`` the grid of each fire.
      lines: ``step`` in the layouts of the row and column sweeps (:func:`_layouts`), filled in by
        :func:`solve_fires`.
      box: ``int32[F, 4]`` first and last ignited row and column of each fire, filled in by :func:`solve_fires`.
    """

    step: jnp.ndarray
    first: jnp.ndarray
    burning: jnp.ndarray
    cap: jnp.ndarray
    group: jnp.ndarray
    lines: tuple = ()
    box: jnp.ndarray = None


@struct.dataclass
class Slots:
    """``S`` fires in flight at one level (window ``h x w``).

    Attributes:
      ids: ``int32[S]`` the fire in each slot (``F``: empty).
      origin: ``int32[S, 2]`` top-left cell of each window.
      times: ``float32[h, S, w]`` arrival times (minutes), rows leading.
      costs: ``float32[2, h, K, S, w]`` step times (minutes) of the ``K`` moves of the row sweeps (down, up)
        and ``float32[2, w, K, S, h]`` of the column sweeps (right, left), lines leading; ``S`` is 1 on a shared
        level.
      cap: ``float32[S, 1]`` time caps, minutes (``-1`` in an empty slot).
      quiet: ``int32[S]`` sweeps in a row that changed nothing.
      sweeps: ``int32[S]`` sweeps since the fire was loaded.
    """

    ids: jnp.ndarray
    origin: jnp.ndarray
    times: jnp.ndarray
    costs: tuple
    cap: jnp.ndarray
    quiet: jnp.ndarray
    sweeps: jnp.ndarray


def _layouts(step, dirs):
    """``float32[G, M, H, W]`` step times -> for the row sweeps ``float32[2, G, H, K, W]`` (down, up) and the
    column sweeps ``float32[2, G, W, K, H]`` (right, left): lines leading, the layout the sweeps read, so that a
    window is one contiguous slice."""
    def one(d):
        return jnp.transpose(jnp.stack([step[:, k] for k in d.moves], 1), (0, 3, 1, 2) if d.columns else (0, 2, 1, 3))
    return jnp.stack([one(dirs[0]), one(dirs[1])]), jnp.stack([one(dirs[2]), one(dirs[3])])


def _first_steps(fires: Fires, f, start, size, moves):
    """``T = 0`` on fire ``f``'s ignited cells in the box ``start + size`` and one pass of first steps out of
    them (``float32[size]``, :func:`jaxfire.fire.jacobi.relax`); exact for the cells the ignited cells of the box
    reach."""
    M = fires.first.shape[1]
    first = lax.dynamic_slice(fires.first, (fires.group[f], 0) + start, (1, M) + size)[0]
    ignited = jnp.where(lax.dynamic_slice(fires.burning, (f,) + start, (1,) + size)[0], 0.0, INF)
    return jacobi.relax(ignited, ignited, first, moves)


def _ignite(fires: Fires, fire, origin, level: Level, moves, patch: int):
    """Initial times ``float32[h, w]`` of ``fire`` in its window at ``origin`` (not capped yet), and its cap
    (``-1`` for ``fire == F``, an empty slot): ``T = 0`` on the ignited cells, then one pass of first steps out
    of them.

    The pass runs in a ``patch x patch`` box inside the window around the ignited cells when they fit in it with
    the stencil's reach to spare (a point ignition), else in the whole window.
    """
    F, H, W = fires.burning.shape
    f = jnp.minimum(fire, F - 1)
    reach = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    size = (level.h, level.w)
    box = fires.box[f]                                                             # first/last ignited row, col
    fits = (box[1] - box[0] + 1 + 2 * reach <= patch) & (box[3] - box[2] + 1 + 2 * reach <= patch)
    corner = (jnp.clip(box[0] - reach, origin[0], origin[0] + level.h - patch),
              jnp.clip(box[2] - reach, origin[1], origin[1] + level.w - patch))

    def in_patch():
        part = _first_steps(fires, f, corner, (patch, patch), moves)
        return lax.dynamic_update_slice(jnp.full(size, INF), part, (corner[0] - origin[0], corner[1] - origin[1]))

    times = lax.cond(fits, in_patch, lambda: _first_steps(fires, f, (origin[0], origin[1]), size, moves))
    return times, jnp.where(fire < F, fires.cap[f], -1.0)                          # empty: nothing is <= -1


def _load(slots: Slots, s, fire, origin, fires: Fires, level: Level, moves, dirs, seed) -> Slots:
    """Put ``fire`` (scalar; ``F`` empties the slot) with its window at ``origin`` into slot ``s``, starting from
    the lower of its first steps and ``seed`` (``float32[F + 1, H, W]``: its times in a smaller window, or
    ``inf``)."""
    times, cap = _ignite(fires, fire, origin, level, moves, min(16, level.h, level.w))
    times = jnp.minimum(times, lax.dynamic_slice(seed, (fire, origin[0], origin[1]), (1, level.h, level.w))[0])
    times = jnp.where(times <= cap, times, INF)
    costs = slots.costs
    if not level.shared:
        g = fires.group[jnp.minimum(fire, fires.burning.shape[0] - 1)]
        costs = []
        for columns, cost, lines in zip((False, True), slots.costs, fires.lines):
            _, L, K, _, X = cost.shape
            start = (0, g, origin[1], 0, origin[0]) if columns else (0, g, origin[0], 0, origin[1])
            window = jnp.moveaxis(lax.dynamic_slice(lines, start, (2, 1, L, K, X)), 1, 3)   # [2, L, K, 1, X]
            costs.append(lax.dynamic_update_slice(cost, window, (0, 0, 0, s, 0)))
        costs = tuple(costs)
    return Slots(slots.ids.at[s].set(fire), slots.origin.at[s].set(origin),
                 lax.dynamic_update_slice(slots.times, times[:, None], (0, s, 0)), costs,
                 slots.cap.at[s, 0].set(cap), slots.quiet.at[s].set(0), slots.sweeps.at[s].set(0))


def _round(slots: Slots, dirs) -> Slots:
    """Sweep every slot once in each of the four directions: rows down and up, then columns right and left (one
    loop body per orientation, two transposes per round)."""
    cross = dirs[0].cross

    def orientation(costs):
        def one(d, state):
            times, quiet, sweeps = state
            times, changed = _sweep(times, costs, slots.cap, cross, d == 1)
            return times, jnp.where(changed, 0, quiet + 1), sweeps + 1
        return one

    state = (slots.times, slots.quiet, slots.sweeps)
    times, quiet, sweeps = lax.fori_loop(0, 2, orientation(slots.costs[0]), state)
    times, quiet, sweeps = lax.fori_loop(0, 2, orientation(slots.costs[1]),
                                         (jnp.transpose(times, (2, 1, 0)), quiet, sweeps))
    return slots.replace(times=jnp.transpose(times, (2, 1, 0)), quiet=quiet, sweeps=sweeps)


def _extent(finite):
    """First and last index along the last axis where ``finite`` (``bool[S, n]``) holds (``n, -1`` if nowhere)."""
    idx = jnp.arange(finite.shape[-1])
    return jnp.min(jnp.where(finite, idx, finite.shape[-1]), -1), jnp.max(jnp.where(finite, idx, -1), -1)


def _place(first, last, start, size: int, grid: int, low_open, high_open):
    """Start of a window of ``size`` cells (along one axis of a ``grid``-cell grid) for fire found at
    ``start + [first, last]``: centred on it, or, when it ran out of only one side (``low_open``/``high_open``),
    with three quarters of the spare room on that side."""
    spare = (size - (last - first + 1)) // 4
    centred = start + (first + last) // 2 - size // 2
    new = jnp.where(high_open & ~low_open, start + first - spare,
                    jnp.where(low_open & ~high_open, start + last + spare + 1 - size, centred))
    return jnp.clip(new, 0, grid - size)


def _verdict(times, origin, index: int, lvls, reach: int, shape):
    """Whether a fire ran out of its window (``times`` ``float32[h, w]`` at ``origin``), and its window's origin
    one level up.

    A fire is exact in its window unless some finite time lies within ``reach`` cells (the stencil's longest
    offset) of a window side inside the grid: a better path leaving the window would leave from there.
    """
    (H, W), lv = shape, lvls[index]
    if index + 1 == len(lvls):
        return jnp.bool_(False), origin
    finite = jnp.isfinite(times)
    rows, cols = finite.any(1), finite.any(0)
    r0, c0 = origin[0], origin[1]
    top, bottom = rows[:reach].any() & (r0 > 0), rows[-reach:].any() & (r0 + lv.h < H)
    left, right = cols[:reach].any() & (c0 > 0), cols[-reach:].any() & (c0 + lv.w < W)
    up = lvls[index + 1]
    (a, b), (p, q) = _extent(rows), _extent(cols)
    origin = jnp.stack([_place(a, b, r0, up.h, H, top, bottom), _place(p, q, c0, up.w, W, left, right)])
    return top | bottom | left | right, origin


def _retire(queue: Queue, slots: Slots, s, done, index: int, lvls, reach: int) -> Queue:
    """Slot ``s``'s settled (``done``) fire: its window's times into ``queue.out`` and, when it ran out of its
    window (:func:`_verdict`), on to the next level, where those times (upper bounds, each the time of a path
    in the window) seed the sweeps.  Branch-free (a ``cond`` here makes XLA copy the buffers)."""
    F, H, W = queue.out.shape
    fire = jnp.where(done, slots.ids[s], F - 1)                           # F - 1: nothing to retire (scratch)
    times = lax.dynamic_index_in_dim(slots.times, s, axis=1, keepdims=False)          # [h, w]
    escaped, origin = _verdict(times, slots.origin[s], index, lvls, reach, (H, W))
    out = lax.dynamic_update_slice(queue.out, times[None], (fire, slots.origin[s, 0], slots.origin[s, 1]))
    level = queue.level.at[fire].set(jnp.where(escaped, index + 1, len(lvls)), mode="drop")
    return Queue(level, queue.origin.at[fire].set(origin, mode="drop"), out)


def _initial(box, lvls, reach: int, shape):
    """Smallest level whose window holds each fire's ignited cells (``box``, ``int32[F, 4]``) with ``reach``
    cells to spare, and the window's origin there (centred on them): ``int32[F]``, ``int32[F, 2]``."""
    (H, W), F = shape, box.shape[0]
    a, b, p, q = box.T
    level, origin = jnp.zeros(F, jnp.int32), jnp.zeros((F, 2), jnp.int32)
    for index in reversed(range(len(lvls))):
        lv = lvls[index]
        fits = (((b - a + 1 + 2 * reach <= lv.h) | (lv.h == H)) & ((q - p + 1 + 2 * reach <= lv.w) | (lv.w == W)))
        fits = fits | (index == len(lvls) - 1)
        here = jnp.stack([_place(a, b, 0, lv.h, H, False, False), _place(p, q, 0, lv.w, W, False, False)], -1)
        level, origin = jnp.where(fits, index, level), jnp.where(fits[:, None], here, origin)
    return level, origin


def _empty_slots(fires: Fires, level: Level, dirs) -> Slots:
    """``level.slots`` empty slots (step times shared from the grid on a shared level)."""
    S, h, w = level.slots, level.h, level.w
    K = len(dirs[0].moves)
    if level.shared:
        costs = tuple(lines[:, 0, :, :, None] for lines in fires.lines)
    else:
        costs = (jnp.zeros((2, h, K, S, w), jnp.float32), jnp.zeros((2, w, K, S, h), jnp.float32))
    F = fires.burning.shape[0]
    return Slots(jnp.full((S,), F, jnp.int32), jnp.zeros((S, 2), jnp.int32), jnp.full((h, S, w), INF, jnp.float32),
                 costs, jnp.full((S, 1), -1.0, jnp.float32), jnp.zeros((S,), jnp.int32), jnp.zeros((S,), jnp.int32))


def _refill(queue: Queue, slots: Slots, order, count, taken, fires: Fires, index: int, lvls, moves, done):
    """Retire the settled fires (``done``, ``bool[S]``, see :func:`_retire`), then load the next fires of the
    level's queue (``order[taken:count]``) into the free slots.  Returns ``(queue, slots, taken)``."""
    F = fires.burning.shape[0]
    reach = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    free = done | ((slots.ids >= F) & (taken < count))
    free_slots = jnp.nonzero(free, size=free.shape[0], fill_value=0)[0]
    # Two loops, so that neither carries what the other reads (XLA copies a carried buffer that is also read).
    queue = lax.fori_loop(0, free.sum(), lambda j, queue: _retire(
        queue, slots, free_slots[j], done[free_slots[j]], index, lvls, reach), queue)

    def load(j, state):
        slots, taken = state
        fire = jnp.where(taken < count, order[jnp.minimum(taken, F - 1)], F)
        origin = queue.origin[jnp.minimum(fire, F - 1)]
        slots = _load(slots, free_slots[j], fire, origin, fires, lvls[index], moves, directions(moves), queue.out)
        return slots, taken + (fire < F)

    slots, taken = lax.fori_loop(0, free.sum(), load, (slots, taken))
    return queue, slots, taken


def _run_level(queue: Queue, stats, fires: Fires, index: int, lvls, moves, max_sweeps: int):
    """Solve every fire waiting at level ``index``.

    Each iteration runs one round (:func:`_round`) over all slots; a fire has settled once four sweeps in a row
    changed nothing (then no move relaxes anything: the exact fixed point), and after the round its slot takes
    the next fire of the level's queue, so a level costs about the mean number of sweeps per fire, not the
    maximum.  ``stats`` ``float32[L, 3]`` adds up, per level: fires, rounds, and sweeps x fires in flight.
    """
    dirs = directions(moves)
    F = queue.level.shape[0]
    waiting = queue.level == index
    order, count = jnp.nonzero(waiting, size=F, fill_value=F)[0], waiting.sum()

    def body(state):
        queue, slots, taken, stats = state
        slots = _round(slots, dirs)
        stats = stats.at[index, 1:].add(jnp.stack([1, len(dirs) * (slots.ids < F).sum()]).astype(stats.dtype))
        settled = ((slots.quiet >= len(dirs)) | (slots.sweeps >= max_sweeps)) & (slots.ids < F)
        return _refill(queue, slots, order, count, taken, fires, index, lvls, moves, settled) + (stats,)

    slots = _empty_slots(fires, lvls[index], dirs)
    state = _refill(queue, slots, order, count, jnp.int32(0), fires, index, lvls, moves,
                    jnp.zeros(slots.ids.shape, bool)) + (stats.at[index, 0].add(count.astype(stats.dtype)),)
    queue, _, _, stats = lax.while_loop(lambda state: jnp.any(state[1].ids < F), body, state)
    return queue, stats


def solve_fires(fires: Fires, moves, lvls, max_sweeps: int):
    """Arrival times ``float32[F, H, W]`` of every fire, and ``float32[L, 3]`` work statistics per level (fires,
    rounds, sweeps x fires in flight; see :func:`_run_level`)."""
    F, H, W = fires.burning.shape
    reach = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    (a, b), (p, q) = _extent(fires.burning.any(2)), _extent(fires.burning.any(1))
    fires = fires.replace(lines=_layouts(fires.step, directions(moves)), box=jnp.stack([a, b, p, q], -1))
    level, origin = _initial(fires.box, lvls, reach, (H, W))
    state = Queue(level, origin, jnp.full((F + 1, H, W), INF, jnp.float32)), jnp.zeros((len(lvls), 3), jnp.float32)
    for index in range(len(lvls)):
        state = _run_level(*state, fires, index, lvls, moves, max_sweeps)
    return state[0].out[:F], state[1]


#: Defaults of :func:`solver`: smallest window side; cells per batch of windows with their own step times;
#: cells per batch of fires sharing the whole grid's step times (measured, see the module docstring).
MIN_WINDOW, BATCH_CELLS, SHARED_CELLS, MIN_SLOTS = 32, 1 << 14, 1 << 17, 8

def _solve(step, first, burning, cap, moves, max_sweeps, min_window, batch_cells, shared_cells, min_slots):
    """Arrival times of ``N`` fires on each of ``G`` grids (the module's contract), every fire in its windows."""
    G, N, H, W = burning.shape
    lvls = levels((H, W), G * N, G, min_window, batch_cells, shared_cells, min_slots)
    fires = Fires(step, first, burning.reshape(G * N, H, W), cap.reshape(G * N).astype(jnp.float32),
                  jnp.repeat(jnp.arange(G), N))
    limit = 4 * H * W if max_sweeps is None else max_sweeps
    return solve_fires(fires, moves, lvls, limit)[0].reshape(G, N, H, W)


@functools.lru_cache(maxsize=None)
def solver(moves: tuple, max_sweeps: int | None = None, min_window: int = MIN_WINDOW,
           batch_cells: int = BATCH_CELLS, shared_cells: int = SHARED_CELLS, min_slots: int = MIN_SLOTS):
    """The ordered-sweep solver for a stencil: ``solver(step, first, burning, cap) -> times``, the contract of
    :func:`jaxfire.fire.jacobi.solver` (``step``, ``first`` ``float32[G, M, H, W]``, ``burning``
    ``bool[G, N, H, W]``, ``cap`` ``float32[G, N]`` -> ``float32[G, N, H, W]`` minutes, ``inf`` past the cap),
    with the same ``vmap`` folding (:func:`jaxfire.fire.jacobi.fold_vmap`) and the same answer.

    Args:
      moves: the stencil (:func:`jaxfire.stencil.moves`), static.
      max_sweeps: bound on directional sweeps per window (default ``4 * H * W``: the loop stops at the exact
        fixed point long before).
      min_window: side of the smallest window, cells; windows double up to the whole grid.
      batch_cells: cells solved together per chunk (``slots = batch_cells // window cells``, at least
        ``min_slots``).
      shared_cells: the same on the whole grid when there is one grid (its step times are shared, not copied).
      min_slots: fewest windows per batch (small batches leave the sweeps' loops overhead-bound).
    """
    return jacobi.fold_vmap(functools.partial(_solve, moves=moves, max_sweeps=max_sweeps, min_window=min_window,
                                              batch_cells=batch_cells, shared_cells=shared_cells,
                                              min_slots=min_slots))
