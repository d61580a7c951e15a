"""Command-line pieces shared by the experiments: device flags, fire flags, safe output folders, a machine
description and list parsers.

An experiment parses its arguments, validates everything, then calls :func:`setup_parallel` (which calls
:func:`jaxfire.parallel.configure_devices`) before it computes anything; modules import at the top as usual.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from jaxfire import parallel


def _env_cpu_devices() -> int | None:
    value = os.environ.get(parallel.CPU_DEVICES_ENV)
    return int(value) if value else None


def add_parallel_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--cpu-devices``, ``--coordinator``, ``--num-processes`` and ``--process-id`` to ``parser``."""
    group = parser.add_argument_group("devices and processes")
    group.add_argument("--cpu-devices", type=int, default=_env_cpu_devices(), metavar="N",
                       help=f"split the CPU into N XLA host devices (default: ${parallel.CPU_DEVICES_ENV} if set, "
                            "else JAX's default of one)")
    group.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                       help="jax.distributed coordinator (process 0's address) for a multi-process run; needs "
                            "--num-processes and --process-id")
    group.add_argument("--num-processes", type=int, default=None, metavar="N",
                       help="number of processes of a multi-process run (with --coordinator)")
    group.add_argument("--process-id", type=int, default=None, metavar="I",
                       help="this process's index, 0 .. N-1 (with --coordinator)")
    return parser


def _device_settings(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name, None) for name in ("cpu_devices", "coordinator", "num_processes", "process_id")}


def validate_parallel_args(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` for inconsistent device / process arguments."""
    parallel.validate_device_settings(**_device_settings(args))


def setup_parallel(args: argparse.Namespace) -> dict:
    """Apply the device / process arguments (:func:`jaxfire.parallel.configure_devices`); returns its device info."""
    return parallel.configure_devices(**_device_settings(args))


@contextlib.contextmanager
def replacing(path, overwrite: bool):
    """Write a new output folder at ``path`` without losing an existing one before the new one has started.

    Raises ``FileExistsError`` when ``path`` exists (and is not an empty folder) and ``overwrite`` is false.  An
    existing folder is moved aside; the body creates and fills ``path`` and calls the yielded ``started()`` once
    the new output has started successfully, which deletes the old folder.  If the body fails before that, the
    partial new folder is removed and the old one moved back; if it fails after, the new folder stays (it holds a
    usable, e.g. resumable, run).
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass --overwrite to replace it (or choose another name)")
    aside = path.with_name(f".{path.name}.replaced-{os.getpid()}") if path.exists() else None
    if aside is not None:
        path.rename(aside)
    state = {"started": False}

    def started():
        if not state["started"] and aside is not None:
            shutil.rmtree(aside)
        state["started"] = True

    try:
        yield started
    except BaseException:
        if not state["started"]:
            shutil.rmtree(path, ignore_errors=True)
            if aside is not None:
                aside.rename(path)
        raise
    started()


def add_fire_args(parser, neighbours: bool = True):
    """Add the fire settings every experiment shares: ``--neighbours`` (unless ``neighbours=False``),
    ``--wind-kmh``, ``--wind-from-deg`` and ``--max-minutes``; returns ``parser`` (a parser or argument group)."""
    if neighbours:
        parser.add_argument("--neighbours", type=int, default=16, choices=(8, 16, 32),
                            help="stencil size (default %(default)s)")
    parser.add_argument("--wind-kmh", type=float, default=20.0, help="10-m wind speed, km/h (default %(default)s)")
    parser.add_argument("--wind-from-deg", type=float, default=270.0,
                        help="direction the wind blows from, degrees (default %(default)s = west)")
    parser.add_argument("--max-minutes", type=float, default=480.0,
                        help="fire duration cap, minutes (default %(default)s)")
    return parser


def too_slow(seconds_per_fire, fires: int, calls: int, max_seconds: float, what: str, notes: list) -> bool:
    """Whether ``calls`` calls of ``fires`` fires at an estimated ``seconds_per_fire`` (``None``: unknown) would
    exceed ``max_seconds``; if so, the skip of ``what`` is appended to ``notes`` and printed."""
    if seconds_per_fire is None or seconds_per_fire * fires * calls <= max_seconds:
        return False
    notes.append(f"skipped {what}: estimated {seconds_per_fire * fires * calls:.0f} s > --max-seconds {max_seconds:g}")
    print(notes[-1], flush=True)
    return True


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2 ** 20, 1)
    except OSError:
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine_description() -> dict:
    """The machine and software: OS, CPU model, cores, memory, Python / NumPy / JAX versions, devices, date.

    Starts the JAX backend (``jax.devices()``), so call it after :func:`setup_parallel`.
    """
    import jax
    import jaxlib
    import numpy as np

    devices = jax.devices()
    accelerators = sorted({d.device_kind for d in devices if d.platform != "cpu"})
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gib": _memory_gib(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "backend": jax.default_backend(),
        "process_count": jax.process_count(),
        "device_count": len(devices),
        "devices": [f"{d} ({d.device_kind})" for d in devices],
        "device_kinds": sorted({d.device_kind for d in devices}),
        "gpu": ", ".join(accelerators) if accelerators else None,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def describe_machine_line(info: dict) -> str:
    """One line for a report header."""
    get = lambda key: info.get(key, "?")  # noqa: E731
    accel = f"; GPU {info['gpu']}" if info.get("gpu") else ""
    return (f"{get('processor')}, {get('cpu_count')} CPUs, {get('memory_gib')} GiB, {get('platform')}; "
            f"jax {get('jax')} ({get('backend')}, {get('device_count')} device(s)){accel}; {get('date')}")


def ints(text) -> list[int]:
    """Comma-separated integers (an argparse ``type``; a list of numbers passes through)."""
    if isinstance(text, (list, tuple)):
        return [int(v) for v in text]
    return [int(v) for v in str(text).split(",") if v.strip()]


def floats(text: str) -> list[float]:
    """Comma-separated numbers (an argparse ``type``)."""
    return [float(v) for v in str(text).split(",") if v.strip()]


def words(text: str) -> list[str]:
    """Comma-separated names (an argparse ``type``)."""
    return [v.strip() for v in str(text).split(",") if v.strip()]


def finite_or_none(value):
    """``value`` with every non-finite float (NaN, inf) inside dicts and lists replaced by ``None``."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def json_dumps(value) -> str:
    """Strict JSON (no NaN or inf tokens: they become ``null``), indented."""
    return json.dumps(finite_or_none(value), indent=2, allow_nan=False, default=str)
