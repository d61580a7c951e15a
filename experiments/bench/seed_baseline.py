"""The seed-style baseline: what the original fuel-break system did, one fire after another on the CPU.

:func:`numpy_arrival_times` is the engine's model on the SAME step times, in NumPy (Jacobi sweeps vectorized over
the cells until nothing changes), one fire per call; :func:`runners` runs a list of fires with it serially, in a
``ThreadPoolExecutor`` and in a ``ProcessPoolExecutor`` with ``os.cpu_count()`` workers, as the original system
did.  This module imports NumPy only, so the spawned pool workers start without JAX.

Conventions: arrays ``[row, col]``, row 0 = north; times in minutes from ignition, ``inf`` where the fire has not
arrived by the cap.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import multiprocessing
import os
from typing import Callable, Iterator

import numpy as np


@dataclasses.dataclass(frozen=True)
class StepTimes:
    """A :class:`jaxfire.fire.SpreadGrid` as NumPy (picklable, sent once to each pool worker) and the time cap.

    ``step_minutes``, ``first_step_minutes``: ``float32[M, H, W]`` minutes per stencil move into each cell;
    ``burnable``: ``bool[H, W]``; ``moves``: the stencil (``dr``, ``dc`` of each move); ``max_minutes``: the cap.
    """

    step_minutes: np.ndarray
    first_step_minutes: np.ndarray
    burnable: np.ndarray
    moves: tuple
    max_minutes: float

    @classmethod
    def of(cls, grid, max_minutes: float) -> "StepTimes":
        """The step times of a :class:`jaxfire.fire.SpreadGrid` ``grid`` with the cap ``max_minutes``."""
        return cls(np.asarray(grid.step_minutes), np.asarray(grid.first_step_minutes), np.asarray(grid.burnable),
                   tuple(grid.moves), float(max_minutes))


def numpy_arrival_times(step_minutes, first_step_minutes, burnable, moves, ignition, max_minutes) -> np.ndarray:
    """Arrival times ``float32[H, W]`` of one fire in NumPy: the engine's model, solved by Jacobi sweeps.

    Args:
      step_minutes, first_step_minutes, burnable: the fields of a :class:`jaxfire.fire.SpreadGrid` as NumPy.
      moves: the grid's stencil moves (``dr``, ``dc`` of each).
      ignition: ``(row, col)`` of the ignited cell (a point source: a non-burnable one ignites its neighbours
        but does not burn itself).
      max_minutes: cap; later times are ``inf``.
    """
    _, H, W = step_minutes.shape
    cap = np.float32(max_minutes)
    pad = max(max(abs(m.dr), abs(m.dc)) for m in moves)
    padded = np.full((H + 2 * pad, W + 2 * pad), np.inf, np.float32)
    times = np.full((H, W), np.inf, np.float32)
    times[tuple(ignition)] = 0.0

    def sweep(steps):
        """Capped ``min(times, times[c - m] + steps[m, c])`` over every move ``m``."""
        padded[pad:pad + H, pad:pad + W] = times
        best = times.copy()
        for m, cost in zip(moves, steps):
            np.minimum(best, padded[pad - m.dr:pad - m.dr + H, pad - m.dc:pad - m.dc + W] + cost, out=best)
        best[best > cap] = np.inf
        return best

    times = sweep(first_step_minutes)  # out-steps of the ignited cell start from its edge
    while True:
        new = sweep(step_minutes)
        if not (new < times).any():
            return np.where(burnable, new, np.float32(np.inf))
        times = new


def one_fire(problem: StepTimes, ignition) -> np.ndarray:
    """:func:`numpy_arrival_times` of the fire ignited at ``ignition`` ``(row, col)`` on ``problem``."""
    return numpy_arrival_times(problem.step_minutes, problem.first_step_minutes, problem.burnable, problem.moves,
                               ignition, problem.max_minutes)


_WORKER_PROBLEM: StepTimes | None = None  # the step times of a process-pool worker, set once by _init_worker


def _init_worker(problem: StepTimes) -> None:
    global _WORKER_PROBLEM
    _WORKER_PROBLEM = problem


def _worker_fire(ignition) -> np.ndarray:
    return one_fire(_WORKER_PROBLEM, ignition)


@contextlib.contextmanager
def runners(problem: StepTimes, process_pool: bool = True) -> Iterator[dict[str, Callable[[list], list]]]:
    """``{method: run}`` where ``run(fires)`` returns the arrival times of each ``(row, col)`` of ``fires``.

    Methods: ``numpy serial``, ``numpy threads (N)`` and, with ``process_pool``, ``numpy processes (N)``
    (``N = os.cpu_count()`` workers; processes are spawned, since JAX in the parent is threaded).  The pools live
    as long as the context.
    """
    workers = os.cpu_count() or 1
    fire = functools.partial(one_fire, problem)
    with contextlib.ExitStack() as stack:
        threads = stack.enter_context(concurrent.futures.ThreadPoolExecutor(workers))
        methods = {"numpy serial": lambda fires: list(map(fire, fires)),
                   f"numpy threads ({workers})": lambda fires: list(threads.map(fire, fires))}
        if process_pool:
            processes = stack.enter_context(concurrent.futures.ProcessPoolExecutor(
                workers, multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(problem,)))
            methods[f"numpy processes ({workers})"] = lambda fires: list(processes.map(_worker_fire, fires))
        yield methods


def check_same(numpy_times, jax_times, what: str) -> None:
    """Raise ``AssertionError`` unless the finite masks are identical and the finite times equal to rtol 1e-5."""
    finite = np.isfinite(jax_times)
    if not (np.array_equal(np.isfinite(numpy_times), finite)
            and np.allclose(numpy_times[finite], jax_times[finite], rtol=1e-5)):
        raise AssertionError(f"{what}: NumPy baseline arrival times differ from the JAX engine's")
