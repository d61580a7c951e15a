"""Throughput suite: spread simulations, environment steps and DQN training on the devices at hand (CPU or GPU).

Run ``python -m experiments.throughput`` on each machine, then ``--compare cpu.json gpu.json`` to merge the runs.

What is measured (every time is a median of ``--repeats`` calls made after a first call that compiles; the first
call and ``compile s`` = first call - median are reported separately; ``CPU busy`` = process CPU time (all threads,
``getrusage``) / wall time / ``os.cpu_count()`` over the timed calls, so 1.0 means every core busy; ``machine
busy`` is the same from ``/proc/stat`` for the whole machine, other processes included, to show contention):

1. **Spread engine** (``grid``): ``jax.jit(jax.vmap(fire.solve, in_axes=(None, 0, None)))`` on one synthetic
   ``n x n`` landscape (``--grids``) for each batch of fires (``--batches``), 16-neighbour stencil, 20 km/h wind from
   the west, 8 h cap; single-cell ignitions uniform over burnable cells.  simulations/s = fires / median and
   cells/s = fires x H x W / median: the engine exposes no sweep counter, so cells are counted once per fire, not
   once per Jacobi sweep.  A combination whose estimated time (``--repeats`` + 1 calls, from the previous batch on
   the same grid, or the previous grid scaled by (n / n_prev)^3) exceeds ``--max-seconds`` is skipped with a note.
2. **Environment** (``env``): ``jax.jit(jax.vmap(env.step))`` of :class:`jaxfire.env.FuelBreakEnv` on
   ``--num-envs`` environments over a pool of ``--env-landscapes`` ``--env-grid``-square landscapes
   (``--env-scenarios`` scenarios of ``--env-ignitions`` fires each); random valid actions, states chained.
3. **Training** (``train``): env steps/s inside the jitted DQN loop, a chunk
   ``jax.lax.scan(learner.update, state, None, --train-chunk)`` of :mod:`jaxfire.agents.dqn` for a small config
   (``--train-*``), with gradient steps in every timed chunk; reports the fraction of cores busy.
4. **Scaling** (``scaling``): for each device count k of ``--scaling`` a subprocess with ``JAXFIRE_CPU_DEVICES=k``
   (``XLA_FLAGS`` cleared; on GPU machines ``CUDA_VISIBLE_DEVICES`` = the first k GPUs) reruns the burn
   probability (:func:`jaxfire.parallel.burn_probability`, fires split over devices with ``shard_map``, called as
   a user would, its ``spread_grid`` included) and the training chunk sharded over the devices
   (:func:`jaxfire.parallel.state_shardings`); speed-up vs 1 device.
5. **Baseline** (``baseline``): the seed-style baseline, :func:`experiments.bench_spread.numpy_arrival_times`
   (the same model on the same step times in NumPy, one fire at a time) serially, in a ``ThreadPoolExecutor`` and
   a ``ProcessPoolExecutor`` (``os.cpu_count()`` workers, as the original system did), against one JAX batch on
   the same ``--baseline-fires`` fires; arrival times are checked equal before timing.

Writes ``--out`` (default ``results/throughput-<platform>``): ``throughput.json`` (every row, a flat list of
``measurements`` and the machine), ``throughput.md`` (the printed tables) and ``throughput.png``.
``--compare A.json B.json ...`` merges earlier runs instead (each value and its ratio to the first file).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments import common
from experiments.bench_spread import _check_same, _fire, _init_worker, _table, _worker_fire

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("grid", "env", "train", "scaling", "baseline")
FULL = dict(grids="32,64,128,256,512", batches="64,256,1024", repeats=3, num_envs=64, env_grid=50,
            train_grid=24, train_envs=16, train_chunk=10, scaling_grid=64, scaling_fires=256, baseline_grids="50,100",
            baseline_fires=32)
QUICK = dict(grids="32,64", batches="64,256", repeats=2, num_envs=16, env_grid=32, train_grid=16, train_envs=8,
             train_chunk=6, scaling_grid=32, scaling_fires=64, baseline_grids="50", baseline_fires=8)


# ---------------------------------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    full, quick = FULL, QUICK

    def default(name):
        return f"default {full[name]}; --quick: {quick[name]}"

    p = argparse.ArgumentParser(prog="python -m experiments.throughput", description=__doc__.split("\n\n")[0],
                                epilog="Sizes left unset take the full defaults, or the --quick ones with --quick.")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default results/throughput-<platform>, or results/throughput-compare "
                        "with --compare)")
    p.add_argument("--overwrite", action="store_true", help="write into an existing non-empty --out (default: refuse)")
    p.add_argument("--compare", nargs="+", metavar="JSON", default=None,
                   help="merge throughput.json files of earlier runs (first = reference) into one table and plot; "
                        "no measurement runs")
    p.add_argument("--quick", action="store_true", help="small fast configuration for CI and tests")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help="comma-separated measurements to run (default %(default)s)")
    p.add_argument("--repeats", type=int, default=None, help=f"timed calls after the first ({default('repeats')})")
    p.add_argument("--seed", type=int, default=0, help="landscape keys and ignition RNG seed (default %(default)s)")
    p.add_argument("--max-seconds", type=float, default=90.0,
                   help="skip a grid x batch combination whose estimated time (repeats + 1 calls, compilation "
                        "excluded) exceeds this (default %(default)s)")

    g = p.add_argument_group("spread engine and fire settings")
    g.add_argument("--grids", default=None, help=f"square grid sides, comma-separated ({default('grids')})")
    g.add_argument("--batches", default=None, help=f"fires per batch, comma-separated ({default('batches')})")
    common.add_fire_args(g)

    g = p.add_argument_group("environment steps")
    g.add_argument("--num-envs", type=int, default=None, help=f"vmapped environments ({default('num_envs')})")
    g.add_argument("--env-grid", type=int, default=None, help=f"landscape side ({default('env_grid')})")
    g.add_argument("--env-landscapes", type=int, default=4, help="landscapes in the pool (default %(default)s)")
    g.add_argument("--env-scenarios", type=int, default=4, help="scenarios per landscape (default %(default)s)")
    g.add_argument("--env-ignitions", type=int, default=32, help="fires burned per step (default %(default)s)")

    g = p.add_argument_group("training (small DQN config)")
    g.add_argument("--train-grid", type=int, default=None, help=f"landscape side ({default('train_grid')})")
    g.add_argument("--train-envs", type=int, default=None,
                   help=f"environments; divisible by every --scaling count ({default('train_envs')})")
    g.add_argument("--train-chunk", type=int, default=None,
                   help=f"updates per timed scan chunk ({default('train_chunk')})")
    g.add_argument("--train-batch", type=int, default=16, help="gradient batch size (default %(default)s)")
    g.add_argument("--train-features", default="16,16,16",
                   help="Q-network conv widths; dilations 1, 2, 4, ... (default %(default)s)")
    g.add_argument("--train-landscapes", type=int, default=4, help="landscapes in the pool (default %(default)s)")
    g.add_argument("--train-ignitions", type=int, default=8, help="fires per evaluation (default %(default)s)")

    g = p.add_argument_group("scaling with device count")
    g.add_argument("--scaling", default=None,
                   help="device counts, comma-separated, each run in a subprocess (default 1,2 on CPU; on GPU 1 and "
                        "the GPU count when > 1); empty string: none")
    g.add_argument("--scaling-grid", type=int, default=None,
                   help=f"burn-probability landscape side ({default('scaling_grid')})")
    g.add_argument("--scaling-fires", type=int, default=None,
                   help=f"burn-probability fires ({default('scaling_fires')})")

    g = p.add_argument_group("seed-style NumPy baseline")
    g.add_argument("--baseline-grids", default=None,
                   help=f"grid sides, comma-separated, empty: none ({default('baseline_grids')})")
    g.add_argument("--baseline-fires", type=int, default=None, help=f"fires per method ({default('baseline_fires')})")
    g.add_argument("--no-process-pool", action="store_true", help="skip the ProcessPoolExecutor baseline")

    common.add_parallel_args(p)
    p.add_argument("--worker", metavar="SPEC", default=None,
                   help="internal: run the scaling measurements described by the JSON file SPEC (written by the "
                        "parent run) and write their result where it says")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill unset sizes from the full or quick defaults and parse the comma lists."""
    preset = QUICK if args.quick else FULL
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("grids", "batches", "baseline_grids", "train_features"):
        setattr(args, name, common.ints(getattr(args, name)))
    if isinstance(args.scaling, str):
        args.scaling = common.ints(args.scaling)
    sections = [s.strip() for s in str(args.sections).split(",") if s.strip()] \
        if isinstance(args.sections, str) else list(args.sections)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown --sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = sections
    if args.repeats < 1:
        raise ValueError("--repeats must be >= 1")
    return args


# ---------------------------------------------------------------------------------------------------- timing
def _process_cpu_s() -> float:
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


def measure(fn, repeats: int) -> tuple[dict, object]:
    """Call ``fn`` (which must block until its work is done) once, then ``repeats`` timed times.

    Returns ``({"first_call_s", "median_s", "compile_s", "cpu_busy", "system_busy"}, last result)``:
    ``compile_s`` = first - median (the first call compiles), ``cpu_busy`` = this process's CPU seconds over the
    timed calls / their wall time / ``os.cpu_count()``, ``system_busy`` the same for the whole machine (other
    processes included; ``None`` without ``/proc/stat``).
    """
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    cpu0, sys0, wall0 = _process_cpu_s(), _system_jiffies(), time.perf_counter()
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    wall = time.perf_counter() - wall0
    cpu, sys1 = _process_cpu_s() - cpu0, _system_jiffies()
    median = statistics.median(times)
    system = None
    if sys0 is not None and sys1 is not None and sys1[1] > sys0[1]:
        system = (sys1[0] - sys0[0]) / (sys1[1] - sys0[1])
    return {"first_call_s": first, "median_s": median, "compile_s": max(first - median, 0.0),
            "cpu_busy": cpu / wall / (os.cpu_count() or 1), "system_busy": system}, result


def _busy(stats: dict) -> str:
    cpu, system = stats["cpu_busy"], stats["system_busy"]
    return (f"CPU busy {'n/a' if cpu is None else f'{cpu:.2f}'}"
            f" (machine {'n/a' if system is None else f'{system:.2f}'})")


# ---------------------------------------------------------------------------------------------------- measurements
def _ignitions(landscape, count: int, seed: int) -> np.ndarray:
    burnable = np.argwhere(np.asarray(landscape.burnable))
    return burnable[np.random.default_rng(seed).integers(len(burnable), size=count)].astype(np.int32)


def spread_table(args, notes: list) -> tuple[list, list]:
    """Simulations/s for every grid x batch: ``(rows, spread_grid rows)``."""
    import jax
    import jax.numpy as jnp

    import jaxfire
    from jaxfire import fire

    weather = jaxfire.Weather(args.wind_kmh, args.wind_from_deg)
    make_grid = jax.jit(functools.partial(fire.spread_grid, neighbours=args.neighbours))
    solve_batch = jax.jit(jax.vmap(fire.solve, in_axes=(None, 0, None)))
    rows, grid_rows, previous = [], [], None  # previous: (n, seconds per fire) of the last measured grid
    for n in args.grids:
        per_fire = None if previous is None else previous[1] * (n / previous[0]) ** 3
        landscape = None
        for batch in args.batches:
            if common.too_slow(per_fire, batch, args.repeats + 1, args.max_seconds, f"spread {n}x{n} batch {batch}",
                               notes):
                continue
            if landscape is None:
                landscape = jaxfire.landscape.synthetic(jax.random.key(args.seed), (n, n))
                stats, grid = measure(lambda: jax.block_until_ready(make_grid(landscape, weather)), args.repeats)
                grid_rows.append({"grid": n, **stats})
                ignitions = _ignitions(landscape, max(args.batches), args.seed)
                print(f"[spread {n}x{n}] spread_grid first call {stats['first_call_s']:.2f} s, "
                      f"median {stats['median_s'] * 1e3:.2f} ms", flush=True)
            ign = jnp.asarray(ignitions[:batch])
            stats, times = measure(lambda: solve_batch(grid, ign, args.max_minutes).block_until_ready(), args.repeats)
            per_fire = stats["median_s"] / batch
            previous = (n, per_fire)
            rows.append({"grid": n, "batch": batch, **stats, "sims_per_s": batch / stats["median_s"],
                         "cells_per_s": batch * n * n / stats["median_s"],
                         "burned_fraction": float(np.isfinite(np.asarray(times)).mean())})
            print(f"[spread {n}x{n}] batch {batch}: first call {stats['first_call_s']:.2f} s, median "
                  f"{stats['median_s']:.3f} s, {rows[-1]['sims_per_s']:.1f} sims/s, {_busy(stats)}",
                  flush=True)
    return rows, grid_rows


def env_steps(args) -> dict:
    """Steps/s of ``jit(vmap(env.step))`` on ``--num-envs`` environments."""
    import jax

    from jaxfire.agents.networks import masked_argmax
    from jaxfire.env import FuelBreakEnv
    from jaxfire.landscape import pool as pools

    n, E = args.env_grid, args.num_envs
    env = FuelBreakEnv((n, n), ignitions_per_evaluation=args.env_ignitions, neighbours=args.neighbours)
    start = time.perf_counter()
    pool = pools.synthetic_pool(jax.random.key(args.seed), args.env_landscapes, (n, n))
    params = env.make_params(jax.random.key(args.seed + 1), pool, max_minutes=args.max_minutes,
                             scenarios_per_landscape=args.env_scenarios)
    jax.block_until_ready(params)
    make_params_s = time.perf_counter() - start
    _, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(args.seed), E), params)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))

    @jax.jit
    def random_actions(key, state):
        mask = jax.vmap(env.action_mask, in_axes=(0, None))(state, params)
        return masked_argmax(jax.random.gumbel(key, mask.shape), mask)

    carry = {"state": state, "key": jax.random.key(args.seed + 2)}

    def one_step():
        key, action_key, step_key = jax.random.split(carry["key"], 3)
        action = random_actions(action_key, carry["state"])  # timed too: a tiny call next to the step
        _, carry["state"], *_ = step(jax.random.split(step_key, E), carry["state"], action, params)
        carry["key"] = key
        return jax.block_until_ready(carry["state"])

    stats, _ = measure(one_step, args.repeats)
    result = {"grid": n, "num_envs": E, "landscapes": args.env_landscapes, "scenarios": args.env_scenarios,
              "ignitions": args.env_ignitions, "make_params_s": make_params_s, **stats,
              "steps_per_s": E / stats["median_s"], "fires_per_s": E * args.env_ignitions / stats["median_s"]}
    print(f"[env {n}x{n} x{E}] make_params {make_params_s:.2f} s; step first call {stats['first_call_s']:.2f} s, "
          f"median {stats['median_s']:.3f} s, {result['steps_per_s']:.1f} steps/s, {_busy(stats)}",
          flush=True)
    return result


def train_config(args):
    from jaxfire.agents import dqn

    features = tuple(args.train_features)
    return dqn.DQNConfig(grid=args.train_grid, num_landscapes=args.train_landscapes,
                         ignitions=args.train_ignitions, scenarios_per_landscape=4, max_minutes=args.max_minutes,
                         neighbours=args.neighbours, features=features,
                         dilations=tuple(2 ** i for i in range(len(features))), num_envs=args.train_envs,
                         total_updates=100_000, buffer_per_env=max(64, 4 * args.train_chunk),
                         batch_size=args.train_batch, learning_starts=4)


def training(args, mesh=None) -> dict:
    """Env steps/s inside the jitted DQN loop, the state sharded over ``mesh`` (default: every device)."""
    import jax

    from jaxfire import parallel
    from jaxfire.agents import dqn

    from jaxfire.env import FuelBreakEnv, ScenarioDistribution
    from jaxfire.landscape import pool as pools

    mesh = parallel.data_mesh() if mesh is None else mesh
    config = train_config(args)
    start = time.perf_counter()
    # The environment of dqn.make_env on the whole pool: no held-out test pool (its scenario bank would be one
    # more compilation that a throughput measurement never uses).
    env = FuelBreakEnv((config.grid, config.grid), ignitions_per_evaluation=config.ignitions,
                       neighbours=config.neighbours, planning_ignitions=config.planning_ignitions)
    pool = pools.synthetic_pool(jax.random.key(config.landscape_seed), config.num_landscapes, (config.grid,) * 2)
    env_params = env.make_params(
        jax.random.key(config.landscape_seed + 1), pool, budget_fraction=config.budget,
        max_minutes=config.max_minutes, scenarios_per_landscape=config.scenarios_per_landscape,
        distribution=ScenarioDistribution(wind_speed_kmh=(config.wind_kmh_low, config.wind_kmh_high)))
    learner = dqn.build(config, env, env_params, env_params, batch_sharding=parallel.batch_sharding(mesh))
    build_s = time.perf_counter() - start
    key = jax.random.key(args.seed)
    shardings = parallel.state_shardings(jax.eval_shape(learner.init, key), mesh, config.num_envs)
    state = jax.jit(learner.init, out_shardings=shardings)(key)
    chunk = jax.jit(lambda s: jax.lax.scan(learner.update, s, None, args.train_chunk), in_shardings=(shardings,),
                    out_shardings=(shardings, None), donate_argnums=0)
    carry = {"state": state}

    def run_chunk():
        carry["state"], metrics = chunk(carry["state"])
        return jax.block_until_ready(metrics)

    stats, metrics = measure(run_chunk, args.repeats)
    losses = np.asarray(metrics["loss"])
    steps = args.train_chunk * config.num_envs
    result = {"grid": config.grid, "num_envs": config.num_envs, "batch_size": config.batch_size,
              "features": list(config.features), "ignitions": config.ignitions, "chunk_updates": args.train_chunk,
              "devices": int(mesh.devices.size), "build_s": build_s, **stats,
              "updates_per_s": args.train_chunk / stats["median_s"], "steps_per_s": steps / stats["median_s"],
              "gradient_steps_in_last_chunk": int(np.isfinite(losses).sum())}
    print(f"[train {config.grid}x{config.grid} x{config.num_envs} on {result['devices']} device(s)] build "
          f"{build_s:.1f} s; chunk of {args.train_chunk} updates: first call {stats['first_call_s']:.1f} s, median "
          f"{stats['median_s']:.2f} s, {result['steps_per_s']:.1f} env steps/s, {_busy(stats)}",
          flush=True)
    return result


def sharded_burn_probability(args) -> dict:
    """Sims/s of :func:`jaxfire.parallel.burn_probability` over every device."""
    import jax

    import jaxfire
    from jaxfire import parallel

    n, fires = args.scaling_grid, args.scaling_fires
    landscape = jaxfire.landscape.synthetic(jax.random.key(args.seed), (n, n))
    ignitions = _ignitions(landscape, fires, args.seed)
    weather = jaxfire.Weather(args.wind_kmh, args.wind_from_deg)
    mesh = parallel.data_mesh()

    stats, probability = measure(lambda: jax.block_until_ready(parallel.burn_probability(
        landscape, weather, ignitions, args.max_minutes, mesh, args.neighbours)), args.repeats)
    result = {"grid": n, "fires": fires, "devices": int(mesh.devices.size), **stats,
              "sims_per_s": fires / stats["median_s"],
              "mean_burn_probability": float(np.asarray(probability.addressable_data(0)).mean())}
    print(f"[burn_probability {n}x{n}, {fires} fires on {result['devices']} device(s)] median "
          f"{stats['median_s']:.3f} s, {result['sims_per_s']:.1f} sims/s, {_busy(stats)}", flush=True)
    return result


def worker(spec_path: str) -> dict:
    """Scaling subprocess: the sharded burn probability and training chunk on this process's devices."""
    spec = json.loads(Path(spec_path).read_text())
    args = argparse.Namespace(**spec["args"])
    import jax

    result = {"devices": jax.device_count(), "platform": jax.default_backend()}
    result["burn_probability"] = sharded_burn_probability(args)
    result["train"] = training(args)
    Path(spec["result"]).write_text(json.dumps(result, indent=2))
    return result


def default_scaling(info: dict) -> list[int]:
    if info["platform"] == "cpu":
        return [1, 2]
    count = info["local_device_count"]
    return [1, count] if count > 1 else []


_PARALLEL_KEYS = ("cpu_devices", "coordinator", "num_processes", "process_id", "worker", "compare", "out")


def scaling(args, info: dict, notes: list) -> list:
    """Rerun the sharded burn probability and training in one subprocess per device count."""
    rows = []
    spec_args = {k: v for k, v in vars(args).items() if k not in _PARALLEL_KEYS}
    for k in args.scaling:
        if args.train_envs % k:
            notes.append(f"scaling: skipped {k} devices (--train-envs {args.train_envs} not divisible)")
            print(notes[-1], flush=True)
            continue
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        if info["platform"] == "cpu":
            env.update({"JAXFIRE_CPU_DEVICES": str(k), "XLA_FLAGS": ""})
        else:
            if k > info["local_device_count"]:
                notes.append(f"scaling: skipped {k} devices (only {info['local_device_count']} {info['platform']})")
                continue
            env.pop("JAXFIRE_CPU_DEVICES", None)
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(k))
        with tempfile.TemporaryDirectory() as tmp:
            spec, out = Path(tmp) / "spec.json", Path(tmp) / "result.json"
            spec.write_text(json.dumps({"args": spec_args, "result": str(out)}))
            print(f"[scaling] subprocess with {k} device(s) ...", flush=True)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "experiments.throughput", "--worker", str(spec)], env=env,
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wall = time.perf_counter() - start
            for line in proc.stdout.splitlines():
                if line.startswith("["):
                    print(f"    {line}", flush=True)
            if proc.returncode != 0 or not out.exists():
                notes.append(f"scaling: {k}-device subprocess failed (exit {proc.returncode}): "
                             f"{proc.stdout[-1500:]}")
                print(notes[-1], flush=True)
                continue
            result = json.loads(out.read_text())
        rows.append({"requested_devices": k, "subprocess_s": wall, **result})
    one = next((r for r in rows if r["devices"] == 1), None)
    for row in rows:
        if one is not None:
            row["burn_speedup"] = row["burn_probability"]["sims_per_s"] / one["burn_probability"]["sims_per_s"]
            if "train" in row and "train" in one:
                row["train_speedup"] = row["train"]["steps_per_s"] / one["train"]["steps_per_s"]
    return rows


def baseline(args, notes: list) -> tuple[list, list]:
    """The seed-style NumPy baseline (serial, threads, processes) against one JAX batch on the same fires."""
    import jax
    import jax.numpy as jnp

    import jaxfire
    from jaxfire import fire

    rows, summaries = [], []
    weather = jaxfire.Weather(args.wind_kmh, args.wind_from_deg)
    solve_batch = jax.jit(jax.vmap(fire.solve, in_axes=(None, 0, None)))
    workers = os.cpu_count() or 1
    for n in args.baseline_grids:
        landscape = jaxfire.landscape.synthetic(jax.random.key(args.seed), (n, n))
        grid = fire.spread_grid(landscape, weather, args.neighbours)
        ignitions = _ignitions(landscape, args.baseline_fires, args.seed)
        fires = [tuple(int(v) for v in ij) for ij in ignitions]
        same = jnp.asarray(ignitions)
        stats, reference = measure(lambda: solve_batch(grid, same, args.max_minutes).block_until_ready(),
                                   args.repeats)
        reference = np.asarray(reference)
        summary = {"grid": n, "fires": len(fires)}

        def add(method, stats, burned):
            rows.append({"grid": n, "method": method, "fires": len(fires), **stats,
                         "sims_per_s": len(fires) / stats["median_s"], "burned_fraction": burned})
            summary[method.split(" (")[0].replace(" ", "_") + "_sims_per_s"] = rows[-1]["sims_per_s"]
            print(f"[baseline {n}x{n}] {method}: {len(fires)} fires, median {stats['median_s']:.3f} s, "
                  f"{rows[-1]['sims_per_s']:.1f} sims/s, {_busy(stats)}", flush=True)

        add("jax vmap", stats, float(np.isfinite(reference).mean()))
        arrays = (np.asarray(grid.step_minutes), np.asarray(grid.first_step_minutes), np.asarray(grid.burnable),
                  grid.moves, args.max_minutes)  # what bench_spread's _fire takes
        one_fire = functools.partial(_fire, arrays)
        with contextlib.ExitStack() as stack:
            threads = stack.enter_context(concurrent.futures.ThreadPoolExecutor(workers))
            runs = {"numpy serial": lambda: list(map(one_fire, fires)),
                    f"numpy threads ({workers})": lambda: list(threads.map(one_fire, fires))}
            if not args.no_process_pool:
                processes = stack.enter_context(concurrent.futures.ProcessPoolExecutor(  # spawn: JAX is threaded
                    workers, multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(arrays,)))
                runs[f"numpy processes ({workers})"] = lambda: list(processes.map(_worker_fire, fires))
            for method, run in runs.items():
                stats, result = measure(run, args.repeats)
                result = np.stack(result)
                _check_same(result, reference, f"{method} on {n}x{n}")
                if "processes" in method:
                    stats["cpu_busy"] = None  # the work runs in child processes
                add(method, stats, float(np.isfinite(result).mean()))
        jax_rate = summary["jax_vmap_sims_per_s"]
        for name in ("numpy_serial", "numpy_threads", "numpy_processes"):
            rate = summary.get(f"{name}_sims_per_s")
            summary[f"jax_over_{name.removeprefix('numpy_')}"] = jax_rate / rate if rate else None
        summaries.append(summary)
    return rows, summaries


# ---------------------------------------------------------------------------------------------------- report
def measurements(results: dict) -> list[dict]:
    """Flat ``{"name", "unit", "value"}`` list of the headline numbers (what ``--compare`` merges)."""
    out = []

    def add(name, unit, value):
        if value is not None:
            out.append({"name": name, "unit": unit, "value": float(value)})

    for r in results.get("spread", []):
        add(f"spread {r['grid']}x{r['grid']} batch {r['batch']}", "sims/s", r["sims_per_s"])
    if results.get("env"):
        e = results["env"]
        add(f"env.step {e['grid']}x{e['grid']} x{e['num_envs']} envs, {e['ignitions']} fires", "steps/s",
            e["steps_per_s"])
    if results.get("train"):
        t = results["train"]
        add(f"training {t['grid']}x{t['grid']} x{t['num_envs']} envs, {t['devices']} device(s)", "env steps/s",
            t["steps_per_s"])
        add("training CPU busy fraction", "fraction", t["cpu_busy"])
    for r in results.get("scaling", []):
        b = r["burn_probability"]
        add(f"burn_probability {b['grid']}x{b['grid']}, {b['fires']} fires, {r['devices']} device(s)", "sims/s",
            b["sims_per_s"])
        if "train" in r:
            add(f"sharded training, {r['devices']} device(s)", "env steps/s", r["train"]["steps_per_s"])
            add(f"sharded training CPU busy fraction, {r['devices']} device(s)", "fraction", r["train"]["cpu_busy"])
    for r in results.get("baseline", []):
        add(f"baseline {r['grid']}x{r['grid']} {r['method'].split(' (')[0]}, {r['fires']} fires", "sims/s",
            r["sims_per_s"])
    return out


def markdown(results: dict) -> str:
    info, args = results["machine"], results["args"]
    lines = [f"# Throughput on {info['backend']} ({info.get('gpu') or info['processor']})", "",
             f"Machine: {common.describe_machine_line(info)}", "",
             f"Devices used: {results['parallel']}. Settings: {args['neighbours']}-neighbour stencil, wind "
             f"{args['wind_kmh']:g} km/h from {args['wind_from_deg']:g} deg, cap {args['max_minutes']:g} min, "
             f"synthetic landscapes (seed {args['seed']}); medians of {args['repeats']} timed calls after a first "
             "(compiling) call; compile s = first call - median. CPU busy = process CPU time / wall / "
             f"{info['cpu_count']} cores (1.0 = all cores busy); machine busy = whole machine incl. other processes.",
             ""]
    if results.get("spread"):
        lines += ["## Spread engine: simulations/s by grid and batch", "",
                  "cells/s = fires x H x W / median: the engine exposes no sweep counter, so each cell counts once "
                  "per fire, not once per Jacobi sweep.", "",
                  _table(["grid", "fires", "first call s", "compile s", "median s", "sims/s", "cells/s", "CPU busy",
                          "machine busy", "burned frac"],
                         [[f"{r['grid']}x{r['grid']}", r["batch"], r["first_call_s"], r["compile_s"], r["median_s"],
                           r["sims_per_s"], r["cells_per_s"], r["cpu_busy"], r["system_busy"], r["burned_fraction"]]
                          for r in results["spread"]]), "",
                  "spread_grid (per-landscape precomputation):", "",
                  _table(["grid", "first call s", "median ms"],
                         [[f"{r['grid']}x{r['grid']}", r["first_call_s"], r["median_s"] * 1e3]
                          for r in results["spread_grid"]]), ""]
    if results.get("env"):
        e = results["env"]
        lines += ["## Environment steps: jit(vmap(env.step))", "",
                  _table(["grid", "envs", "fires/step", "pool", "make_params s", "first call s", "median s",
                          "steps/s", "fires/s", "CPU busy", "machine busy"],
                         [[f"{e['grid']}x{e['grid']}", e["num_envs"], e["ignitions"],
                           f"{e['landscapes']} x {e['scenarios']} scenarios", e["make_params_s"], e["first_call_s"],
                           e["median_s"], e["steps_per_s"], e["fires_per_s"], e["cpu_busy"], e["system_busy"]]]), ""]
    if results.get("train"):
        t = results["train"]
        lines += ["## End-to-end DQN training: scan(learner.update) chunk", "",
                  _table(["grid", "envs", "batch", "features", "devices", "updates/chunk", "first call s", "median s",
                          "updates/s", "env steps/s", "CPU busy", "machine busy"],
                         [[f"{t['grid']}x{t['grid']}", t["num_envs"], t["batch_size"],
                           ",".join(map(str, t["features"])), t["devices"], t["chunk_updates"], t["first_call_s"],
                           t["median_s"], t["updates_per_s"], t["steps_per_s"], t["cpu_busy"], t["system_busy"]]]),
                  ""]
    if results.get("scaling"):
        rows = results["scaling"]
        b0, t0 = rows[0]["burn_probability"], rows[0].get("train", {})
        lines += ["## Scaling with device count", "",
                  f"One subprocess per device count: parallel.burn_probability on {b0['grid']}x{b0['grid']} with "
                  f"{b0['fires']} fires split over the devices; the DQN chunk ({t0.get('grid')}x{t0.get('grid')}, "
                  f"{t0.get('num_envs')} envs, batch {t0.get('batch_size')}, {t0.get('chunk_updates')} updates) with "
                  "its per-environment state sharded over them. Speed-up = rate / the 1-device rate (burn sims/s "
                  "includes the call's spread_grid).", "",
                  _table(["devices", "burn sims/s", "speed-up", "burn CPU busy", "burn machine busy",
                          "train env steps/s", "speed-up", "train CPU busy", "train machine busy"],
                         [[r["devices"], r["burn_probability"]["sims_per_s"], r.get("burn_speedup"),
                           r["burn_probability"]["cpu_busy"], r["burn_probability"]["system_busy"],
                           r.get("train", {}).get("steps_per_s"),
                           r.get("train_speedup"), r.get("train", {}).get("cpu_busy"),
                           r.get("train", {}).get("system_busy")] for r in rows]), ""]
    if results.get("baseline"):
        lines += ["## Seed-style baseline vs JAX on the same fires", "",
                  "NumPy: the same model on the same step times, one fire at a time (arrival times checked equal "
                  "to JAX's).", "",
                  _table(["grid", "method", "fires", "first call s", "median s", "sims/s", "CPU busy",
                          "machine busy"],
                         [[f"{r['grid']}x{r['grid']}", r["method"], r["fires"], r["first_call_s"], r["median_s"],
                           r["sims_per_s"], r["cpu_busy"], r["system_busy"]] for r in results["baseline"]]), "",
                  _table(["grid", "fires", "NumPy sims/s", "threads sims/s", "processes sims/s", "JAX sims/s",
                          "JAX/NumPy", "JAX/threads", "JAX/processes"],
                         [[f"{s['grid']}x{s['grid']}", s["fires"], s.get("numpy_serial_sims_per_s"),
                           s.get("numpy_threads_sims_per_s"), s.get("numpy_processes_sims_per_s"),
                           s["jax_vmap_sims_per_s"], s.get("jax_over_serial"), s.get("jax_over_threads"),
                           s.get("jax_over_processes")] for s in results["baseline_summary"]]), ""]
    if results.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in results["notes"]] + [""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 (matplotlib.ticker.NullFormatter)

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for batch in sorted({r["batch"] for r in results.get("spread", [])}):
        rows = [r for r in results["spread"] if r["batch"] == batch]
        left.plot([r["grid"] for r in rows], [r["sims_per_s"] for r in rows], "o-", label=f"batch {batch}")
    left.set(xscale="log", yscale="log", xlabel="grid side (cells)", ylabel="simulations / s",
             title=f"Spread engine on {results['machine']['backend']}")
    left.grid(True, which="both", alpha=0.3)
    if results.get("spread"):
        left.legend()
        sides = sorted({r["grid"] for r in results["spread"]})
        left.set_xticks(sides, [str(s) for s in sides])
        left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    summaries = results.get("baseline_summary", [])
    methods = [("numpy_serial", "NumPy serial"), ("numpy_threads", "NumPy threads"),
               ("numpy_processes", "NumPy processes"), ("jax_vmap", "JAX vmap")]
    width = 0.8 / len(methods)
    for i, (key, label) in enumerate(methods):
        values = [s.get(f"{key}_sims_per_s") or 0.0 for s in summaries]
        right.bar(np.arange(len(summaries)) + (i - (len(methods) - 1) / 2) * width, values, width, label=label)
    right.set_xticks(range(len(summaries)), [f"{s['grid']}x{s['grid']}\n{s['fires']} fires" for s in summaries])
    right.set(yscale="log", ylabel="simulations / s", title="Seed-style baseline vs JAX, same fires")
    if summaries:
        right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite or another --out")
    out.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------------------------------------------- compare
def _label(machine: dict) -> str:
    device = machine.get("gpu") or machine.get("processor") or "?"
    return f"{machine.get('backend', '?')}: {device}"


def compare(paths: list[str], out: Path) -> dict:
    """Merge several ``throughput.json`` files: each measurement's value per machine and its ratio to the first."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    labels = [_label(r.get("machine", {})) for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label} [{Path(p).parent.name or Path(p).stem}]" for label, p in zip(labels, paths)]
    values = [{m["name"]: m for m in r.get("measurements", [])} for r in runs]
    names = list(dict.fromkeys(name for v in values for name in v))
    rows = []
    for name in names:
        present = [v.get(name) for v in values]
        unit = next(m["unit"] for m in present if m is not None)
        vals = [None if m is None else m["value"] for m in present]
        ratios = [None if v is None or not vals[0] else v / vals[0] for v in vals]
        rows.append({"name": name, "unit": unit, "values": vals, "ratios_to_first": ratios})
    header = ["measurement", "unit", labels[0]]
    for label in labels[1:]:
        header += [label, "ratio"]
    table = _table(header, [[r["name"], r["unit"], r["values"][0]]
                            + [x for v, q in zip(r["values"][1:], r["ratios_to_first"][1:]) for x in (v, q)]
                            for r in rows])
    md = "\n".join(["# Throughput comparison", "", "Machines (ratio = value / first machine's value):", ""]
                   + [f"- {label}: {common.describe_machine_line(r.get('machine', {}))} ({p})"
                      for label, r, p in zip(labels, runs, paths)]
                   + ["", table, ""])
    print(md)
    merged = {"machines": [r.get("machine") for r in runs], "labels": labels, "sources": [str(p) for p in paths],
              "rows": rows}
    (out / "throughput.json").write_text(json.dumps(merged, indent=2))
    (out / "throughput.md").write_text(md)
    _plot_compare(runs, labels, rows, out / "throughput.png")
    return merged


def _plot_compare(runs, labels, rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 (matplotlib.ticker.NullFormatter)

    compared = [r for r in rows if all(v is not None for v in r["values"]) and r["unit"] != "fraction"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, max(5, 0.3 * len(compared) + 1.5)))
    styles = ["-", "--", ":", "-."]
    for color, (run, label) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], zip(runs, labels)):
        for i, batch in enumerate(sorted({r["batch"] for r in run.get("spread", [])})):
            pts = [r for r in run["spread"] if r["batch"] == batch]
            left.plot([r["grid"] for r in pts], [r["sims_per_s"] for r in pts], "o", linestyle=styles[i % 4],
                      color=color, label=f"{label}, batch {batch}")
    left.set(xscale="log", yscale="log", xlabel="grid side (cells)", ylabel="simulations / s",
             title="Spread engine")
    sides = sorted({r["grid"] for run in runs for r in run.get("spread", [])})
    if sides:
        left.set_xticks(sides, [str(s) for s in sides])
        left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.grid(True, which="both", alpha=0.3)
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7)
    height = 0.8 / max(1, len(labels) - 1)
    for j, label in enumerate(labels[1:], 1):
        right.barh(np.arange(len(compared)) + (j - 1) * height, [r["ratios_to_first"][j] for r in compared], height,
                   label=f"{label} / {labels[0]}")
    right.set_yticks(range(len(compared)), [r["name"] for r in compared], fontsize=7)
    right.axvline(1.0, color="k", lw=0.8)
    right.set(xscale="log", xlabel="ratio to first machine", title="Per measurement")
    if len(labels) > 1:
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    """Run the suite (or ``--compare``); returns the results dict written to ``throughput.json``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker:
        common.setup_parallel(argparse.Namespace(cpu_devices=None, coordinator=None, num_processes=None,
                                                 process_id=None))
        return worker(args.worker)
    if args.compare:
        if len(args.compare) < 2:
            parser.error("--compare needs at least two JSON files")
        out = Path(args.out or ROOT / "results" / "throughput-compare")
        _prepare_out(out, args.overwrite)
        return compare(args.compare, out)
    try:
        args = resolve(args)
        common.validate_parallel_args(args)
    except ValueError as error:
        parser.error(str(error))
    parallel_info = common.setup_parallel(args)  # before jaxfire.env / jaxfire.agents are imported
    out = Path(args.out or ROOT / "results" / f"throughput-{parallel_info['platform']}")
    writer = parallel_info["process_index"] == 0
    if writer:  # refuse before any measurement
        _prepare_out(out, args.overwrite)
    info = common.machine_description()
    if args.scaling is None:
        args.scaling = default_scaling(parallel_info)
    print(f"machine: {common.describe_machine_line(info)}\ndevices: {parallel_info}", flush=True)

    notes = []
    results = {"machine": info, "parallel": parallel_info, "args": vars(args), "notes": notes}
    start = time.perf_counter()
    if "grid" in args.sections:
        results["spread"], results["spread_grid"] = spread_table(args, notes)
    if "env" in args.sections:
        results["env"] = env_steps(args)
    if "train" in args.sections:
        from jaxfire import parallel

        mesh = None
        if args.train_envs % parallel_info["device_count"]:
            import jax

            count = max(k for k in range(1, jax.device_count() + 1) if args.train_envs % k == 0)
            mesh = parallel.data_mesh(jax.devices()[:count])
            notes.append(f"training used {count} of {jax.device_count()} devices (--train-envs {args.train_envs})")
        results["train"] = training(args, mesh)
    if "scaling" in args.sections:
        if parallel_info["process_count"] > 1:
            notes.append("scaling subprocesses skipped in a multi-process run")
        elif not args.scaling:
            notes.append("no scaling measured (--scaling empty or a single accelerator)")
        else:
            results["scaling"] = scaling(args, parallel_info, notes)
    if "baseline" in args.sections:
        results["baseline"], results["baseline_summary"] = baseline(args, notes)
    results["total_s"] = time.perf_counter() - start
    results["measurements"] = measurements(results)

    md = markdown(results)
    print("\n" + md, flush=True)
    if writer:
        (out / "throughput.json").write_text(json.dumps(results, indent=2, default=str))
        (out / "throughput.md").write_text(md)
        plot(results, out / "throughput.png")
        print(f"wrote {out}/throughput.json, throughput.md, throughput.png ({results['total_s']:.0f} s)", flush=True)
    results["out"] = str(out)
    return results


if __name__ == "__main__":
    try:
        main()
    except FileExistsError as error:
        sys.exit(f"error: {error}")
