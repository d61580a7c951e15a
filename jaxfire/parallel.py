"""Devices: the one place that sets them up, a data mesh, sharded simulation and training, multi-host start-up.

jaxfire scales on JAX's own machinery, not process pools:

* **Set-up** (:func:`configure_devices`): call it first thing in a program (the experiments do, from their
  ``--cpu-devices`` / ``--coordinator`` flags).  It splits a CPU into N XLA host devices (``jax_num_cpu_devices``)
  and joins a ``jax.distributed`` run.  Importing jaxfire (or gymnax, which creates arrays on import) may already
  have started JAX's backend; then the backend is cleared and restarted with the requested devices
  (``jax.extend.backend.clear_backends``), so modules import at the top as usual.  Arrays made before the call
  stay on the old devices: make none that you need.
* **Simulation** (:func:`burn_probability`): ignitions are split over the devices of a mesh with
  ``jax.shard_map``; each device runs its own fires and the burned-cell counts are summed with ``psum`` (integers,
  so the result equals the single-device one exactly).
* **Training** (:func:`state_shardings`): a learner's jitted program runs unchanged with its per-environment state
  (the runner state's ``envs`` field: environment states, observations, replay rows) sharded over the mesh's
  ``data`` axis, each sampled batch split over it (:func:`batch_sharding`) and everything else replicated; XLA
  partitions the environment steps and the gradient computation and inserts the gradient all-reduce, so N devices
  give the one-device result up to floating-point reduction order.
"""
from __future__ import annotations

import functools

import jax
import jax.extend.backend
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxfire.validation import validated

CPU_DEVICES_ENV = "JAXFIRE_CPU_DEVICES"   # the experiments' default for --cpu-devices
AXIS = "data"


def validate_device_settings(cpu_devices=None, coordinator=None, num_processes=None, process_id=None) -> None:
    """Raise ``ValueError`` naming the inconsistent device or process setting."""
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


def configure_devices(cpu_devices: int | None = None, coordinator: str | None = None,
                      num_processes: int | None = None, process_id: int | None = None,
                      timeout_s: int = 300) -> dict:
    """Set up this process's devices; returns ``{"process_index", "process_count", "local_device_count",
    "device_count", "platform"}``.

    Args:
      cpu_devices: split the CPU into this many XLA host devices (``None``: JAX's default of one).
      coordinator: ``HOST:PORT`` of process 0 of a multi-process run (which binds exactly that address, so
        ``127.0.0.1:PORT`` listens on loopback only); CPU collectives use gloo.
      num_processes, process_id: the run's size and this process's index (with ``coordinator``).
      timeout_s: how long to wait for the other processes.
    """
    validate_device_settings(cpu_devices, coordinator, num_processes, process_id)
    if cpu_devices is not None:
        try:
            jax.config.update("jax_num_cpu_devices", cpu_devices)
        except RuntimeError:  # the backend has started: restart it unless it already has these devices
            if jax.local_device_count("cpu") != cpu_devices:
                jax.extend.backend.clear_backends()
                jax.config.update("jax_num_cpu_devices", cpu_devices)
    if coordinator is not None:
        jax.extend.backend.clear_backends()
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id, coordinator_bind_address=coordinator,
                                   initialization_timeout=timeout_s)
    return {"process_index": jax.process_index(), "process_count": jax.process_count(),
            "local_device_count": jax.local_device_count(), "device_count": jax.device_count(),
            "platform": jax.default_backend()}


def data_mesh(devices=None) -> Mesh:
    """A one-axis mesh (axis ``"data"``) over ``devices`` (default: every device of every process)."""
    return Mesh(np.asarray(jax.devices() if devices is None else devices), (AXIS,))


@validated
def burn_probability(landscape, weather, ignitions, max_minutes, mesh: Mesh | None = None, neighbours: int = 16):
    """:func:`jaxfire.fire.burn_probability` with the ``N`` ignitions split over the mesh's devices.

    ``ignitions`` ``int[N, 2]`` (same on every process); ``N`` need not divide the device count (padding fires
    start off the grid: :func:`jaxfire.fire.solve` makes their times NaN, not counted as burned).  Returns
    ``float32[H, W]``, replicated.
    """
    from jaxfire import fire

    mesh = data_mesh() if mesh is None else mesh
    ignitions = np.asarray(ignitions, np.int32)
    count = len(ignitions)
    devices = mesh.devices.size
    padded = np.concatenate([ignitions, np.full((-count % devices, 2), -1, np.int32)])
    grid = fire.spread_grid(landscape, weather, neighbours)
    counts = _sharded_counts(mesh)(grid, padded, jnp.float32(max_minutes))
    return counts / jnp.float32(count)


@functools.lru_cache(maxsize=None)
def _sharded_counts(mesh: Mesh):
    """Jitted ``(grid, ignitions, max_minutes) -> int32[H, W]`` burned counts, ignitions split over ``mesh``."""
    from jaxfire import fire

    def local(grid, ignitions, max_minutes):
        times = jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)  # per fire: padding
        return jax.lax.psum(jnp.isfinite(times).sum(0, dtype=jnp.int32), AXIS)

    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P(), P(AXIS), P()), out_specs=P(), check_vma=False))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Arrays split along their leading (batch) axis over the mesh: a learner's sampled batches."""
    return NamedSharding(mesh, P(AXIS))


def state_shardings(state, mesh: Mesh, num_envs: int):
    """Shardings for a runner state: the leaves of its ``envs`` field whose leading axis is the ``num_envs``
    environments are split over the mesh, everything else (network, optimizer, counters, keys) is replicated."""
    if num_envs % mesh.devices.size:
        raise ValueError(f"num_envs {num_envs} must be divisible by the {mesh.devices.size} devices")

    def sharding(leaf, split: bool):
        spec = P(AXIS) if split and jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == num_envs else P()
        return NamedSharding(mesh, spec)

    replicated = jax.tree.map(lambda leaf: sharding(leaf, False), state)
    return replicated.replace(envs=jax.tree.map(lambda leaf: sharding(leaf, True), state.envs))
