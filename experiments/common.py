"""Command-line pieces shared by the experiments: device / multi-process set-up and a machine description.

Order matters: JAX fixes its CPU device count when its backend starts, and ``gymnax`` (imported by
``jaxfire.env`` and ``jaxfire.agents``) starts it on import.  An experiment therefore parses its arguments, calls
:func:`setup_parallel`, and only then imports ``jaxfire.env`` / ``jaxfire.agents``::

    parser = argparse.ArgumentParser()
    add_parallel_args(parser)
    args = parser.parse_args(argv)
    info = setup_parallel(args)          # before importing jaxfire.env
    from jaxfire.agents import dqn
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys

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


def validate_parallel_args(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` for inconsistent device / process arguments."""
    cpu_devices = getattr(args, "cpu_devices", None)
    coordinator = getattr(args, "coordinator", None)
    num_processes = getattr(args, "num_processes", None)
    process_id = getattr(args, "process_id", None)
    if cpu_devices is not None and cpu_devices < 1:
        raise ValueError(f"--cpu-devices must be >= 1, got {cpu_devices}")
    if coordinator is None:
        if num_processes is not None or process_id is not None:
            raise ValueError("--num-processes and --process-id need --coordinator HOST:PORT")
        return
    if num_processes is None or process_id is None:
        raise ValueError("--coordinator needs both --num-processes and --process-id")
    host, _, port = coordinator.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--coordinator must be HOST:PORT, got {coordinator!r}")
    if num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {num_processes}")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"--process-id must be in 0 .. {num_processes - 1}, got {process_id}")


def setup_parallel(args: argparse.Namespace) -> dict:
    """Apply the device / process arguments; call before importing ``jaxfire.env`` or ``jaxfire.agents``.

    Sets the CPU host-device count (``--cpu-devices``), joins a ``jax.distributed`` run (``--coordinator``), then
    starts the backend and returns ``{"process_index", "process_count", "local_device_count", "device_count",
    "platform"}``.  Raises ``ValueError`` for inconsistent arguments and ``RuntimeError`` when the backend already
    started with another CPU device count.
    """
    validate_parallel_args(args)
    if getattr(args, "cpu_devices", None) is not None:
        parallel.set_cpu_devices(args.cpu_devices)
    if getattr(args, "coordinator", None) is not None:
        parallel.initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    import jax

    return {"process_index": jax.process_index(), "process_count": jax.process_count(),
            "local_device_count": jax.local_device_count(), "device_count": jax.device_count(),
            "platform": jax.default_backend()}


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
