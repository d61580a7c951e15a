"""Device parallelism: CPU host devices, a data mesh, sharded simulation and training, multi-host start-up.

jaxfire scales on JAX's own machinery, not process pools:

* **Simulation** (:func:`burn_probability`): ignitions are split over the devices of a mesh with
  ``jax.shard_map``; each device runs its own fires and the burned-cell counts are summed with ``psum`` (integers,
  so the result equals the single-device one exactly).
* **Training** (:func:`state_shardings`): the jitted DQN program runs unchanged with its per-environment state
  (environment states, observations, replay rows) sharded over the mesh's ``data`` axis, each sampled batch split
  over it (:func:`batch_sharding`) and the network replicated; XLA partitions the environment steps and the
  gradient computation and inserts the gradient all-reduce, so N devices give the one-device result up to
  floating-point reduction order.
* **CPU-only machines** (:func:`set_cpu_devices`, or the environment variable ``JAXFIRE_CPU_DEVICES`` read by
  ``import jaxfire``) split the CPU into N XLA host devices; this must happen before JAX starts its backend
  (``gymnax`` starts it on import, so set it before importing ``jaxfire.env``).
* **Many machines** (:func:`initialize_distributed`): ``jax.distributed`` with CPU collectives over gloo; the
  mesh then spans every process's devices.
"""
from __future__ import annotations

import functools
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

CPU_DEVICES_ENV = "JAXFIRE_CPU_DEVICES"
AXIS = "data"


def set_cpu_devices(count: int) -> None:
    """Ask XLA for ``count`` CPU host devices (``--xla_force_host_platform_device_count``).

    Raises ``RuntimeError`` if the JAX backend has already started with another device count.
    """
    if count < 1:
        raise ValueError(f"CPU device count must be >= 1, got {count}")
    from jax._src import xla_bridge  # the only way to know whether the backend has started

    if xla_bridge._backends:
        if jax.local_device_count() != count:
            raise RuntimeError(f"JAX already started with {jax.local_device_count()} device(s); set the CPU device "
                               f"count ({CPU_DEVICES_ENV}={count} or --cpu-devices) before importing jaxfire.env")
        return
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", os.environ.get("XLA_FLAGS", ""))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def initialize_distributed(coordinator: str, num_processes: int, process_id: int, timeout_s: int = 300) -> None:
    """Join a multi-process run; ``coordinator`` is ``HOST:PORT`` of process 0, which binds exactly that address
    (so ``127.0.0.1:PORT`` listens on loopback only).  CPU collectives use gloo."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id,
                               coordinator_bind_address=coordinator, initialization_timeout=timeout_s)


def data_mesh(devices=None) -> Mesh:
    """A one-axis mesh (axis ``"data"``) over ``devices`` (default: every device of every process)."""
    return Mesh(np.asarray(jax.devices() if devices is None else devices), (AXIS,))


def burn_probability(landscape, weather, ignitions, max_minutes, mesh: Mesh | None = None, neighbours: int = 16):
    """:func:`jaxfire.fire.burn_probability` with the ``N`` ignitions split over the mesh's devices.

    ``ignitions`` ``int[N, 2]`` (same on every process); ``N`` need not divide the device count (padding fires
    start off the grid and burn nothing).  Returns ``float32[H, W]``, replicated.
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
        times = jax.vmap(fire.solve, in_axes=(None, 0, None))(grid, ignitions, max_minutes)
        return jax.lax.psum(jnp.isfinite(times).sum(0, dtype=jnp.int32), AXIS)

    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P(), P(AXIS), P()), out_specs=P(), check_vma=False))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Arrays split along their leading (batch) axis over the mesh: the learner's sampled batches
    (``jaxfire.agents.dqn.build(..., batch_sharding=...)``)."""
    return NamedSharding(mesh, P(AXIS))


def state_shardings(state, mesh: Mesh, num_envs: int):
    """Shardings for a DQN ``RunnerState``: leaves whose leading axis is the ``num_envs`` environments are split
    over the mesh, everything else (network, optimizer, counters, keys) is replicated."""
    if num_envs % mesh.devices.size:
        raise ValueError(f"num_envs {num_envs} must be divisible by the {mesh.devices.size} devices")
    per_env = (state.env_state, state.obs, state.replay, state.episode_return)

    def sharding(leaf, split: bool):
        spec = P(AXIS) if split and jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == num_envs else P()
        return NamedSharding(mesh, spec)

    split_tree = state._replace(**{name: jax.tree.map(lambda leaf: sharding(leaf, True), value)
                                   for name, value in zip(("env_state", "obs", "replay", "episode_return"), per_env)})
    return jax.tree.map(lambda leaf: leaf if isinstance(leaf, NamedSharding) else sharding(leaf, False), split_tree,
                        is_leaf=lambda leaf: isinstance(leaf, NamedSharding))
