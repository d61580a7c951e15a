"""Incremental re-solve vs full re-solve: environment steps/s and greedy search time (issue 10 section 2).

    python -m experiments.bench.incremental [env] [greedy] [--greedy-side 64] [--calls 15]

``env``: ``jit(vmap(env.step))`` at 50x50, 32 fires a step, 64 envs, random valid actions, mid-episode (auto-reset
included), the same process timing an environment forced to solve every fire from scratch each step (the previous
behaviour) and the incremental one; medians after compilation.  ``greedy``: ``greedy_search`` on a synthetic
``side x side`` landscape at 5 % budget, previous implementation (every candidate solved from scratch) vs
incremental, and whether the plans are identical.
"""
from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxfire import fire, landscape
from jaxfire.env import FuelBreakEnv
from jaxfire.fire import INF
from jaxfire.landscape import pool as pools
from jaxfire.weather import Weather


class FullSolveEnv(FuelBreakEnv):
    """The previous step: every fire solved from scratch (the state's times forgotten before each step)."""

    def step_env(self, key, state, action, params):
        return super().step_env(key, state.replace(times=jnp.full_like(state.times, -jnp.inf)), action, params)


def bench_env(calls: int, envs: int = 64, side: int = 50, fires: int = 32, warmup: int = 12):
    pool = pools.synthetic_pool(jax.random.key(0), 4, (side, side))
    out = {}
    for name, cls in (("full", FullSolveEnv), ("incremental", FuelBreakEnv)):
        env = cls((side, side), ignitions_per_evaluation=fires, planning_ignitions=0)
        params = env.make_params(jax.random.key(1), pool, scenarios_per_landscape=4)

        @jax.jit
        def act(key, state):  # a random valid cell per env
            logits = jnp.where(jax.vmap(env.action_mask, in_axes=(0, None))(state, params).reshape(envs, -1), 0.0, -INF)
            return jax.random.categorical(key, logits).astype(jnp.int32)

        step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
        _, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(2), envs), params)
        times = []
        for t in range(warmup + calls):
            keys = jax.random.split(jax.random.key(100 + t), envs)
            action = act(jax.random.key(t), state)
            start = time.perf_counter()
            _, state, reward, *_ = step(keys, state, action, params)
            reward.block_until_ready()
            times.append(time.perf_counter() - start)
        median = float(np.median(times[warmup:]))
        out[name] = envs / median
        print(f"env {name}: {median * 1e3:.0f} ms per vmapped step of {envs} envs -> {envs / median:.1f} env steps/s "
              f"(compile+first {times[0]:.1f} s)", flush=True)
    print(f"env speed-up: {out['incremental'] / out['full']:.2f}x", flush=True)
    return out


def previous_greedy_search(grid, burnable, ignitions, budget_cells, tie_key, max_minutes=480.0, candidates=32):
    """greedy_search before incremental re-solves (every candidate solved from scratch)."""
    from jaxfire.planners.base import order

    H, W = burnable.shape
    K = min(candidates, H * W)

    def burned(treated):
        return jnp.isfinite(fire.solve_many(fire.treat_grid(grid, burnable, treated), ignitions, max_minutes)).mean()

    def add_one(round_, rank):
        treated = rank < H * W
        score = fire.grid_dpv(fire.treat_grid(grid, burnable, treated), ignitions, max_minutes)
        open_cells = burnable & ~treated
        cells = order(score, open_cells, tie_key)[:K]
        masks = treated | (jnp.arange(H * W) == cells[:, None]).reshape(K, H, W)
        valid = open_cells.ravel()[cells]
        best = jnp.argmin(jnp.where(valid, jax.vmap(burned)(masks), INF))
        return rank.ravel().at[cells[best]].min(jnp.where(valid[best], round_, H * W)).reshape(H, W)

    return lax.fori_loop(0, budget_cells, add_one, jnp.full((H, W), H * W, jnp.int32))


def bench_greedy(side: int = 64, budget_fraction: float = 0.05):
    from jaxfire.planners.base import planning_fires
    from jaxfire.planners.greedy import greedy_search

    land = landscape.synthetic(jax.random.key(0), (side, side))
    budget = int(np.floor(budget_fraction * int(land.burnable.sum())))
    ignitions, tie_key = planning_fires(jax.random.key(1), land, budget, None, 64, None)
    grid = fire.spread_grid(land, Weather(20.0, 270.0), 16)
    args = (grid, land.burnable, ignitions, budget, tie_key, 480.0, 32)
    ranks = {}
    for name, search in (("full", jax.jit(previous_greedy_search, static_argnums=6)), ("incremental", greedy_search)):
        search(grid, land.burnable, ignitions, 1, tie_key, 480.0, 32).block_until_ready()  # compile
        start = time.perf_counter()
        ranks[name] = np.asarray(search(*args))
        print(f"greedy {name}: {time.perf_counter() - start:.1f} s for {budget} rounds on {side}x{side}", flush=True)
    print(f"greedy plans identical: {np.array_equal(ranks['full'], ranks['incremental'])}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["env", "greedy"])
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--greedy-side", type=int, default=64)
    args = parser.parse_args(argv)
    print(f"devices: {jax.devices()}", flush=True)
    if "env" in args.parts:
        bench_env(args.calls)
    if "greedy" in args.parts:
        bench_greedy(args.greedy_side)


if __name__ == "__main__":
    main()
