"""The in-process measurements of the throughput suite: spread engine, environment steps, DQN and PQN training,
sharded burn probability, and the seed-style baseline against one JAX batch on the same fires.

Every function takes the suite's resolved arguments (:mod:`experiments.throughput`) and returns JSON-able rows.
Every time comes from :func:`experiments.bench.timing.measure` (a first, compiling call, then the median of
``args.repeats`` calls).  Units: seconds; rates per second of median wall time; grids are square, ``n`` cells a
side; fires are single-cell ignitions drawn uniformly over the burnable cells (:func:`jaxfire.fire.sample_ignitions`);
weather is ``args.wind_kmh`` from ``args.wind_from_deg``, cap ``args.max_minutes``.
"""
from __future__ import annotations

import time

import jax
import numpy as np

import jaxfire
from experiments import common
from experiments.bench import seed_baseline
from experiments.bench.timing import describe_busy, measure
from jaxfire import fire, landscape as landscapes, parallel
from jaxfire.agents import algorithms, dqn
from jaxfire.agents.config import PQNConfig
from jaxfire.agents.networks import masked_argmax
from jaxfire.env import FuelBreakEnv

jit_solve_many = jax.jit(fire.solve_many)
jit_spread_grid = jax.jit(fire.spread_grid, static_argnames="neighbours")


def weather(args) -> jaxfire.Weather:
    """The suite's uniform weather."""
    return jaxfire.Weather(args.wind_kmh, args.wind_from_deg)


def sample_fires(land, count: int, seed: int) -> jax.Array:
    """``int32[count, 2]`` ignition cells ``(row, col)`` drawn uniformly over the burnable cells of ``land``."""
    return fire.sample_ignitions(jax.random.fold_in(jax.random.key(seed), 1), land.burnable, count)


def spread_row(grid, ignitions, max_minutes: float, repeats: int) -> dict:
    """One batch of fires on one precomputed ``grid``: ``{"grid", "batch", timing..., "sims_per_s",
    "cells_per_s", "burned_fraction"}``; cells/s = fires x H x W / median (the engine exposes no sweep counter, so
    each cell counts once per fire, not once per Jacobi sweep)."""
    n, batch = grid.burnable.shape[0], len(ignitions)
    stats, times = measure(lambda: jit_solve_many(grid, ignitions, max_minutes).block_until_ready(), repeats)
    return {"grid": n, "batch": batch, **stats, "sims_per_s": batch / stats["median_s"],
            "cells_per_s": batch * n * n / stats["median_s"],
            "burned_fraction": float(np.isfinite(np.asarray(times)).mean())}


def spread_engine(args, notes: list) -> tuple[list, list]:
    """Sims/s for every ``args.grids`` x ``args.batches``: ``(rows of spread_row, spread_grid timing rows)``.

    A combination whose estimated time (``repeats + 1`` calls, from the previous batch on the same grid, or the
    previous grid's time per fire scaled by ``(n / n_previous)^3``) exceeds ``args.max_seconds`` is skipped with
    a note.
    """
    rows, grid_rows, previous = [], [], None  # previous: (n, seconds per fire) of the last measured batch
    for n in args.grids:
        per_fire = None if previous is None else previous[1] * (n / previous[0]) ** 3
        grid = None
        for batch in args.batches:
            if common.too_slow(per_fire, batch, args.repeats + 1, args.max_seconds, f"spread {n}x{n} batch {batch}",
                               notes):
                continue
            if grid is None:
                land = landscapes.synthetic(jax.random.key(args.seed), (n, n))
                stats, grid = measure(
                    lambda: jax.block_until_ready(jit_spread_grid(land, weather(args), args.neighbours)), args.repeats)
                grid_rows.append({"grid": n, **stats})
                ignitions = sample_fires(land, max(args.batches), args.seed)
                print(f"[spread {n}x{n}] spread_grid first call {stats['first_call_s']:.2f} s, "
                      f"median {stats['median_s'] * 1e3:.2f} ms", flush=True)
            rows.append(spread_row(grid, ignitions[:batch], args.max_minutes, args.repeats))
            per_fire = rows[-1]["median_s"] / batch
            previous = (n, per_fire)
            print(f"[spread {n}x{n}] batch {batch}: first call {rows[-1]['first_call_s']:.2f} s, median "
                  f"{rows[-1]['median_s']:.3f} s, {rows[-1]['sims_per_s']:.1f} sims/s, {describe_busy(rows[-1])}",
                  flush=True)
    return rows, grid_rows


def env_steps(args) -> dict:
    """Steps/s of ``jit(vmap(env.step))`` on ``args.num_envs`` environments, random valid actions, states chained.

    The pool: ``args.env_landscapes`` synthetic ``args.env_grid``-square landscapes, ``args.env_scenarios``
    scenarios of ``args.env_ignitions`` fires each (``make_params_s``: seconds to build it, compilation included).
    """
    n, E = args.env_grid, args.num_envs
    env = FuelBreakEnv((n, n), ignitions_per_evaluation=args.env_ignitions, neighbours=args.neighbours)
    start = time.perf_counter()
    pool = landscapes.synthetic_pool(jax.random.key(args.seed), args.env_landscapes, (n, n))
    params = jax.block_until_ready(env.make_params(jax.random.key(args.seed + 1), pool, max_minutes=args.max_minutes,
                                                   scenarios_per_landscape=args.env_scenarios))
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
          f"median {stats['median_s']:.3f} s, {result['steps_per_s']:.1f} steps/s, {describe_busy(stats)}", flush=True)
    return result


def train_config(args, algorithm: str = "dqn"):
    """The small config of the training measurement (``args.train_*``; dilations 1, 2, 4, ...): DQN with
    ``args.train_envs`` environments and batch ``args.train_batch``, or PQN with ``args.pqn_envs`` environments x
    ``args.pqn_rollout_steps`` steps per update, ``args.pqn_epochs`` x ``args.pqn_minibatches`` gradient steps.

    Half the pool is held out (``test_fraction`` 0.5): with an even ``args.train_landscapes`` the held-out scenario
    bank, which :func:`jaxfire.agents.base.make_env` builds and this measurement never uses, has the training bank's
    shape and reuses its compilation.
    """
    features = tuple(args.train_features)
    shared = dict(landscape_side=args.train_grid, num_landscapes=args.train_landscapes, test_fraction=0.5,
                  ignitions_per_evaluation=args.train_ignitions, scenarios_per_landscape=4,
                  max_minutes=args.max_minutes, neighbours=args.neighbours, features=features,
                  dilations=tuple(2 ** i for i in range(len(features))), total_updates=100_000)
    if algorithm == "pqn":
        return PQNConfig(**shared, num_envs=args.pqn_envs, rollout_steps=args.pqn_rollout_steps,
                         minibatches=args.pqn_minibatches, epochs=args.pqn_epochs)
    return dqn.DQNConfig(**shared, num_envs=args.train_envs, buffer_per_env=max(64, 4 * args.train_chunk),
                         batch_size=args.train_batch, learning_starts=4)


def training_mesh(num_envs: int, notes: list):
    """A data mesh over the most devices (of every process) that divide ``num_envs``; a note when not all."""
    count = max(k for k in range(1, jax.device_count() + 1) if num_envs % k == 0)
    if count < jax.device_count():
        notes.append(f"training used {count} of {jax.device_count()} devices (--train-envs {num_envs})")
    return parallel.data_mesh(jax.devices()[:count])


def training(args, mesh, algorithm: str = "dqn") -> dict:
    """Env steps/s and gradient steps/s inside the jitted training loop of ``algorithm``: chunks
    ``lax.scan(learner.update, state, None, length)`` of its learner on :func:`train_config` (``args.train_chunk``
    DQN updates, ``args.pqn_chunk`` PQN updates), the state sharded over ``mesh``
    (:func:`jaxfire.parallel.state_shardings`), each gradient batch split over it; gradient steps in every timed
    chunk.  ``build_s``: seconds to build the environment and learner (scenario banks included)."""
    start = time.perf_counter()
    learner = algorithms.build(train_config(args, algorithm), batch_sharding=parallel.batch_sharding(mesh))
    config, length = learner.config, args.pqn_chunk if algorithm == "pqn" else args.train_chunk
    build_s = time.perf_counter() - start
    key = jax.random.key(args.seed)
    shardings = parallel.state_shardings(jax.eval_shape(learner.init, key), mesh, config.num_envs)
    carry = {"state": jax.jit(learner.init, out_shardings=shardings)(key)}
    chunk = jax.jit(lambda s: jax.lax.scan(learner.update, s, None, length), in_shardings=(shardings,),
                    out_shardings=(shardings, None), donate_argnums=0)

    def run_chunk():
        carry["state"], metrics = chunk(carry["state"])
        return jax.block_until_ready(metrics)

    stats, metrics = measure(run_chunk, args.repeats)
    side, steps = config.landscape_side, length * learner.env_steps_per_update
    gradient_steps = int(np.asarray(metrics["learning"]).sum()) * learner.gradient_steps_per_update
    result = {"algorithm": algorithm, "grid": side, "num_envs": config.num_envs, "batch_size": learner.batch_size,
              "features": list(config.features), "ignitions": config.ignitions_per_evaluation,
              "chunk_updates": length, "env_steps_per_update": learner.env_steps_per_update,
              "devices": int(mesh.devices.size), "build_s": build_s, **stats,
              "updates_per_s": length / stats["median_s"], "steps_per_s": steps / stats["median_s"],
              "gradient_steps_in_last_chunk": gradient_steps, "gradient_steps_per_s": gradient_steps / stats["median_s"]}
    print(f"[train {algorithm} {side}x{side} x{config.num_envs} on {result['devices']} device(s)] build {build_s:.1f} s; "
          f"chunk of {length} updates: first call {stats['first_call_s']:.1f} s, median {stats['median_s']:.2f} s, "
          f"{result['steps_per_s']:.1f} env steps/s, {result['gradient_steps_per_s']:.1f} gradient steps/s, "
          f"{describe_busy(stats)}", flush=True)
    return result


def sharded_burn_probability(args) -> dict:
    """Sims/s of :func:`jaxfire.parallel.burn_probability` (``args.scaling_fires`` fires split over every
    device, called as a user would, its ``spread_grid`` included) on an ``args.scaling_grid``-square landscape."""
    n, fires = args.scaling_grid, args.scaling_fires
    land = landscapes.synthetic(jax.random.key(args.seed), (n, n))
    ignitions = sample_fires(land, fires, args.seed)
    mesh = parallel.data_mesh()
    stats, probability = measure(lambda: jax.block_until_ready(parallel.burn_probability(
        land, weather(args), ignitions, args.max_minutes, mesh, args.neighbours)), args.repeats)
    result = {"grid": n, "fires": fires, "devices": int(mesh.devices.size), **stats,
              "sims_per_s": fires / stats["median_s"],
              "mean_burn_probability": float(np.asarray(probability.addressable_data(0)).mean())}
    print(f"[burn_probability {n}x{n}, {fires} fires on {result['devices']} device(s)] median "
          f"{stats['median_s']:.3f} s, {result['sims_per_s']:.1f} sims/s, {describe_busy(stats)}", flush=True)
    return result


def baseline_grid(n: int, args) -> tuple[list, dict]:
    """The seed-style NumPy baseline (:mod:`experiments.bench.seed_baseline`) against one JAX batch
    (:func:`jaxfire.fire.solve_many`) on the same ``args.baseline_fires`` fires of one ``n x n`` landscape;
    arrival times are checked equal before the timings count.  Returns ``(rows, summary)``: a row per method and
    the sims/s of each with the JAX-over-NumPy ratios."""
    land = landscapes.synthetic(jax.random.key(args.seed), (n, n))
    grid = jit_spread_grid(land, weather(args), args.neighbours)
    ignitions = sample_fires(land, args.baseline_fires, args.seed)
    fires = [tuple(int(v) for v in ij) for ij in np.asarray(ignitions)]
    rows, summary = [], {"grid": n, "fires": len(fires)}

    def add(method, stats, times):
        rows.append({"grid": n, "method": method, "fires": len(fires), **stats,
                     "sims_per_s": len(fires) / stats["median_s"], "burned_fraction": float(np.isfinite(times).mean())})
        summary[method.split(" (")[0].replace(" ", "_") + "_sims_per_s"] = rows[-1]["sims_per_s"]
        print(f"[baseline {n}x{n}] {method}: {len(fires)} fires, median {stats['median_s']:.3f} s, "
              f"{rows[-1]['sims_per_s']:.1f} sims/s, {describe_busy(stats)}", flush=True)

    stats, reference = measure(lambda: jit_solve_many(grid, ignitions, args.max_minutes).block_until_ready(),
                               args.repeats)
    reference = np.asarray(reference)
    add("jax vmap", stats, reference)  # the name earlier runs used (--compare matches rows by name)
    problem = seed_baseline.StepTimes.of(grid, args.max_minutes)
    with seed_baseline.runners(problem, process_pool=not args.no_process_pool) as methods:
        for method, run in methods.items():
            stats, times = measure(lambda: run(fires), args.repeats)
            times = np.stack(times)
            seed_baseline.check_same(times, reference, f"{method} on {n}x{n}")
            if "processes" in method:
                stats["cpu_busy"] = None  # the work runs in child processes
            add(method, stats, times)
    for name in ("serial", "threads", "processes"):
        rate = summary.get(f"numpy_{name}_sims_per_s")
        summary[f"jax_over_{name}"] = summary["jax_vmap_sims_per_s"] / rate if rate else None
    return rows, summary
