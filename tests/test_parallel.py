"""Device parallelism: host devices, sharded simulation and training equal one device; 2-process jax.distributed."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(tmp_path, num_processes, cpu_devices=1):
    out = tmp_path / f"result_{num_processes}x{cpu_devices}.npz"
    env = {**os.environ, "XLA_FLAGS": ""}
    coordinator = f"127.0.0.1:{free_port()}"
    workers = [subprocess.Popen([sys.executable, str(WORKER), coordinator, str(num_processes), str(i),
                                 str(cpu_devices), str(out)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(num_processes)]
    try:
        logs = [w.communicate(timeout=600)[0] for w in workers]
    finally:
        for w in workers:
            w.kill()
    assert all(w.returncode == 0 for w in workers), "\n".join(logs)[-4000:]
    return dict(np.load(out))


@pytest.mark.slow
def test_two_host_devices_and_two_processes_equal_one_device(tmp_path):
    single = run_workers(tmp_path, 1)
    devices = run_workers(tmp_path, 1, cpu_devices=2)
    processes = run_workers(tmp_path, 2)
    assert int(single["devices"]) == 1 and int(devices["devices"]) == 2 and int(processes["devices"]) == 2
    for other in (devices, processes):
        np.testing.assert_array_equal(other["burn_probability"], single["burn_probability"])  # integer counts
        # Up to reduction order: Adam divides each gradient by its own running size, so summation-order noise in a
        # near-zero gradient moves that parameter by up to ~lr (3e-4) per update, and a few such updates add up:
        # every parameter within 1e-3, all but 0.1 % of them within 1e-4.
        np.testing.assert_allclose(other["params"], single["params"], rtol=1e-5, atol=1e-3)
        assert np.mean(np.abs(other["params"] - single["params"]) > 1e-4 + 1e-5 * np.abs(single["params"])) < 1e-3


def test_devices_are_configured_after_the_imports_and_bad_settings_are_named():
    """Importing every jaxfire module (gymnax among them starts JAX's backend) and computing on one device does not
    stop a later :func:`configure_devices` from giving two host devices: no import-order trap."""
    script = ("import jax, jax.numpy as jnp\n"
              "from jaxfire import parallel, training, evaluation\n"
              "from jaxfire.env import FuelBreakEnv\n"
              "assert jax.device_count() == 1 and float(jnp.ones(3).sum()) == 3.0\n"
              "info = parallel.configure_devices(cpu_devices=2)\n"
              "assert info['local_device_count'] == 2 == jax.device_count(), info\n"
              "print(jax.jit(lambda x: x * 2, out_shardings=parallel.batch_sharding(parallel.data_mesh()))("
              "jnp.arange(4.0)).sum())\n")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "XLA_FLAGS": ""}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "12.0", done.stderr[-3000:]
    from jaxfire import parallel

    for settings, message in [(dict(cpu_devices=0), "cpu-devices"), (dict(coordinator="x:1"), "needs both"),
                              (dict(num_processes=2, process_id=0), "need --coordinator")]:
        with pytest.raises(ValueError, match=message):
            parallel.configure_devices(**settings)
