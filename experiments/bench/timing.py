"""Timing of one measurement: a first (compiling) call, then the median of timed calls and how busy the CPU was.

Units: seconds of wall time; ``cpu_busy`` and ``system_busy`` are fractions of all the machine's cores
(1.0 = every core busy for the whole timed interval).
"""
from __future__ import annotations

import os
import resource
import statistics
import time
from typing import Callable


def _process_cpu_s() -> float:
    """CPU seconds used so far by this process, all threads, user + system (``getrusage``)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _system_jiffies() -> tuple[int, int] | None:
    """``(busy, total)`` CPU jiffies of the whole machine from ``/proc/stat`` (``None`` elsewhere)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def measure(fn: Callable[[], object], repeats: int) -> tuple[dict, object]:
    """Call ``fn`` (which must block until its work is done) once, then ``repeats`` timed times.

    Returns ``({"first_call_s", "median_s", "compile_s", "cpu_busy", "system_busy"}, last result)``:
    ``compile_s`` = first - median (the first call compiles), ``cpu_busy`` = this process's CPU seconds over the
    timed calls / their wall time / ``os.cpu_count()``, ``system_busy`` the same for the whole machine (other
    processes included, to show contention; ``None`` without ``/proc/stat``).
    """
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    cpu_before, jiffies_before, wall_before = _process_cpu_s(), _system_jiffies(), time.perf_counter()
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    wall = time.perf_counter() - wall_before
    cpu, jiffies_after = _process_cpu_s() - cpu_before, _system_jiffies()
    median = statistics.median(times)
    system = None
    if jiffies_before is not None and jiffies_after is not None and jiffies_after[1] > jiffies_before[1]:
        system = (jiffies_after[0] - jiffies_before[0]) / (jiffies_after[1] - jiffies_before[1])
    return {"first_call_s": first, "median_s": median, "compile_s": max(first - median, 0.0),
            "cpu_busy": cpu / wall / (os.cpu_count() or 1), "system_busy": system}, result


def describe_busy(stats: dict) -> str:
    """``"CPU busy 0.91 (machine 0.95)"`` from :func:`measure`'s stats (``n/a`` where unknown)."""
    cpu, system = stats["cpu_busy"], stats["system_busy"]
    return (f"CPU busy {'n/a' if cpu is None else f'{cpu:.2f}'}"
            f" (machine {'n/a' if system is None else f'{system:.2f}'})")
