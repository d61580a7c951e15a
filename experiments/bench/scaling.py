"""Scaling with the device count: for each count ``k`` a subprocess (``python -m experiments.throughput --worker
SPEC --cpu-devices k``; on GPU machines ``CUDA_VISIBLE_DEVICES`` = the first ``k`` GPUs) reruns the sharded burn
probability and the sharded training chunk of :mod:`experiments.bench.measure` on its ``k`` devices; speed-up =
rate / the 1-device rate.  A fresh process per count because a process's device set is fixed once JAX computes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments import common
from experiments.bench import measure
from jaxfire import parallel

ROOT = Path(__file__).resolve().parents[2]
# Arguments of the parent that a worker must not inherit: its devices come from its own command line.
NOT_FORWARDED = ("cpu_devices", "coordinator", "num_processes", "process_id", "worker", "compare", "out", "overwrite")


def default_counts(info: dict) -> list[int]:
    """Device counts measured when ``--scaling`` is not given: 1 and 2 host devices on a CPU; 1 and every GPU
    on a machine with several (``info`` from :func:`jaxfire.parallel.configure_devices`)."""
    if info["platform"] == "cpu":
        return [1, 2]
    count = info["local_device_count"]
    return [1, count] if count > 1 else []


def run_worker(spec_path: str) -> dict:
    """In the subprocess (devices already set up): both measurements on every device; writes the result file the
    spec names and returns the result."""
    import jax

    spec = json.loads(Path(spec_path).read_text())
    args = argparse.Namespace(**spec["args"])
    result = {"devices": jax.device_count(), "platform": jax.default_backend(),
              "burn_probability": measure.sharded_burn_probability(args),
              "train": measure.training(args, parallel.data_mesh())}
    Path(spec["result"]).write_text(common.json_dumps(result))
    return result


def _command(k: int, spec: Path, info: dict) -> tuple[list[str], dict]:
    """The worker's command line and environment for ``k`` devices."""
    command = [sys.executable, "-m", "experiments.throughput", "--worker", str(spec)]
    if info["platform"] == "cpu":
        return command + ["--cpu-devices", str(k)], dict(os.environ)
    return command, {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(k))}


def _skip_reason(k: int, args, info: dict) -> str | None:
    if args.train_envs % k:
        return f"scaling: skipped {k} devices (--train-envs {args.train_envs} not divisible)"
    if info["platform"] != "cpu" and k > info["local_device_count"]:
        return f"scaling: skipped {k} devices (only {info['local_device_count']} {info['platform']})"
    return None


def one_count(k: int, args, info: dict, notes: list) -> dict | None:
    """The worker's result for ``k`` devices plus ``requested_devices`` and ``subprocess_s`` (wall seconds, start-up
    and compilation included), or ``None`` with a note when it was skipped or failed."""
    reason = _skip_reason(k, args, info)
    if reason:
        notes.append(reason)
        print(reason, flush=True)
        return None
    spec_args = {name: value for name, value in vars(args).items() if name not in NOT_FORWARDED}
    with tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec.write_text(common.json_dumps({"args": spec_args, "result": str(out)}))
        command, env = _command(k, spec, info)
        print(f"[scaling] subprocess with {k} device(s) ...", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - start
        for line in proc.stdout.splitlines():
            if line.startswith("["):
                print(f"    {line}", flush=True)
        if proc.returncode != 0 or not out.exists():
            notes.append(f"scaling: {k}-device subprocess failed (exit {proc.returncode}): {proc.stdout[-1500:]}")
            print(notes[-1], flush=True)
            return None
        return {"requested_devices": k, "subprocess_s": wall, **json.loads(out.read_text())}


def scaling(args, info: dict, notes: list) -> list[dict]:
    """One row per device count of ``args.scaling`` (:func:`one_count`), with ``burn_speedup`` and
    ``train_speedup`` relative to the 1-device row when there is one."""
    rows = [row for row in (one_count(k, args, info, notes) for k in args.scaling) if row is not None]
    one = next((row for row in rows if row["devices"] == 1), None)
    for row in rows if one is not None else []:
        row["burn_speedup"] = row["burn_probability"]["sims_per_s"] / one["burn_probability"]["sims_per_s"]
        row["train_speedup"] = row["train"]["steps_per_s"] / one["train"]["steps_per_s"]
    return rows
