"""Incremental re-solve (jaxfire.fire.incremental): bit-for-bit equal to a full re-solve, in the solver, the
environment and greedy search; untouched fires cost nothing; NaN in, NaN out."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.bench.incremental import previous_greedy_search  # the plain implementation, every candidate re-solved
from jaxfire import fire, landscape
from jaxfire.fire import INF, jacobi
from jaxfire.weather import Weather

SHAPE = (18, 16)


def case(seed, neighbours, shape=SHAPE, fires=6):
    land = landscape.synthetic(jax.random.key(seed), shape)
    weather = Weather(8.0 + 4.0 * seed, 37.0 * seed, "D2L2")
    grid = fire.spread_grid(land, weather, neighbours)
    ignitions = jnp.asarray(np.random.default_rng(seed).integers(0, shape, (fires, 2)), jnp.int32)
    return land, grid, ignitions


FULL, INCREMENTAL, TREAT = jax.jit(fire.solve_many), jax.jit(fire.resolve_many), jax.jit(fire.treat_grid)


def check_random_treatments(neighbours, seeds, rounds=6):
    for seed in seeds:
        land, grid, ignitions = case(seed, neighbours)
        rng = np.random.default_rng(100 + seed)
        treated = np.zeros(SHAPE, bool)
        times = FULL(grid, ignitions, 200.0)
        for k in range(rounds):  # single cells and several at once, chained from the previous incremental times
            added = np.zeros(SHAPE, bool)
            added.flat[rng.choice(added.size, size=1 + k % 4, replace=False)] = True
            treated |= added
            treated_grid = TREAT(grid, land.burnable, jnp.asarray(treated))
            times = INCREMENTAL(treated_grid, ignitions, 200.0, times, jnp.asarray(added))
            np.testing.assert_array_equal(times, FULL(treated_grid, ignitions, 200.0), err_msg=f"{seed} {k}")


def test_equals_full_resolve_over_random_treatments():
    check_random_treatments(16, seeds=(0, 1))


@pytest.mark.slow
@pytest.mark.parametrize("neighbours", [8, 16, 32])
def test_equals_full_resolve_all_stencils(neighbours):
    check_random_treatments(neighbours, seeds=range(2, 7), rounds=10)


def test_unsolved_and_nothing_added():
    land, grid, ignitions = case(4, 16)
    times = FULL(grid, ignitions, 200.0)
    unsolved, nothing = jnp.full(times.shape, -INF), jnp.zeros(SHAPE, bool)
    np.testing.assert_array_equal(INCREMENTAL(grid, ignitions, 200.0, unsolved, nothing), times)
    np.testing.assert_array_equal(INCREMENTAL(grid, ignitions, 200.0, times, nothing), times)


def test_untouched_fires_are_not_swept():
    """An inactive fire never enters a slot: a start that is not a fixed point comes back as it is."""
    _, grid, ignitions = case(1, 16)
    times = FULL(grid, ignitions, 200.0)
    active = jnp.arange(len(ignitions)) % 2 == 0
    garbage = jnp.where(jnp.arange(SHAPE[1]) % 2 == 0, times, INF)  # far from a fixed point
    start = jnp.where(active[:, None, None], fire.incremental.ignition_bounds(grid, ignitions), garbage)
    out = jax.jit(jacobi.warm_solver(grid.moves))(grid.step_minutes[None], start[None],
                                                  jnp.full((1, len(ignitions)), 200.0), active[None])[0]
    np.testing.assert_array_equal(out[~active], garbage[~active])
    np.testing.assert_array_equal(jnp.where(grid.burnable, out[active], INF), times[active])


def test_one_slot_pool_across_grids():
    """vmapped over grids, the fires of every grid share one queue: with 3 slots for 3 x 6 fires (some inactive),
    each slot must sweep with its own fire's grid; the answer equals each grid solved alone."""
    cases = [case(seed, 16) for seed in (5, 6, 7)]
    grids = jax.tree.map(lambda *x: jnp.stack(x), *[grid for _, grid, _ in cases])
    ignitions = jnp.stack([ignitions for _, _, ignitions in cases])
    cold = jax.jit(jax.vmap(lambda g, i: fire.solve_many(g, i, 200.0, solver="jacobi")))(grids, ignitions)
    alone = [FULL(grid, fires, 200.0) for _, grid, fires in cases]
    for k in range(3):
        np.testing.assert_array_equal(cold[k], alone[k])
    active = jnp.array([[True, False, True, True, False, True], [False] * 6, [True] * 6])
    start = jnp.where(active[..., None, None], jax.vmap(fire.incremental.ignition_bounds)(grids, ignitions), cold)
    warm = jax.jit(jacobi.warm_solver(grids.moves, slots=3))(grids.step_minutes, start, jnp.full((3, 6), 200.0),
                                                            active)
    np.testing.assert_array_equal(jnp.where(grids.burnable[:, None], warm, INF), cold)
    # A GPU keeps a pool per grid; a CPU one for all, or one per host device when they divide the grids.
    assert jacobi.default_pools(64, "gpu") == 64
    assert jacobi.default_pools(3, "cpu") == (jax.local_device_count() if 3 % jax.local_device_count() == 0 else 1)


@pytest.mark.parametrize("grids_per_pool", [1, 2])
def test_pools_under_vmap_equal_one_pool(monkeypatch, grids_per_pool):
    """Several pools (a pool per grid as on a GPU, or per host device) run vmapped, writing out and refilling their
    slots all at once: the same times as one pool for all grids (one grid per pool: fires slots-last; two:
    slots-first), for cold solves and for bounded warm starts with inactive fires."""
    cases = [case(seed, 16) for seed in range(5, 9)]
    grids = jax.tree.map(lambda *x: jnp.stack(x), *[grid for _, grid, _ in cases])
    ignitions = jnp.stack([ignitions for _, _, ignitions in cases])
    active = jnp.array([[True, False, True, True, False, True], [False] * 6, [True] * 6, [False] * 5 + [True]])
    cap = jnp.full((4, 6), 200.0)

    def solve():
        jax.clear_caches()
        cold = jax.jit(jax.vmap(lambda g, i: fire.solve_many(g, i, 200.0, solver="jacobi")))(grids, ignitions)
        start = jnp.where(active[..., None, None], jax.vmap(fire.incremental.ignition_bounds)(grids, ignitions), cold)
        warm = jax.jit(jacobi.warm_solver(grids.moves, max_sweeps=7, slots=2))(grids.step_minutes, start, cap, active)
        return cold, warm

    one = solve()
    monkeypatch.setattr(jacobi, "default_pools", lambda grids, platform=None: max(grids // grids_per_pool, 1))
    split = solve()
    monkeypatch.undo()
    jax.clear_caches()
    for a, b in zip(one, split):
        np.testing.assert_array_equal(a, b)


def test_fire_that_never_reaches_the_cell_is_untouched():
    land, grid, ignitions = case(2, 16)
    times = FULL(grid, ignitions, 30.0)  # short fires
    unburned = np.argwhere(~np.isfinite(np.asarray(times)).any(0) & np.asarray(land.burnable))
    added = jnp.zeros(SHAPE, bool).at[tuple(unburned[0])].set(True)
    treated_grid = TREAT(grid, land.burnable, added)
    out = INCREMENTAL(treated_grid, ignitions, 30.0, times, added)
    np.testing.assert_array_equal(out, FULL(treated_grid, ignitions, 30.0))
    np.testing.assert_array_equal(out, times)


def test_nan_in_nan_out():
    land, grid, ignitions = case(3, 16)
    times = FULL(grid, ignitions, 200.0)
    added = jnp.zeros(SHAPE, bool).at[5, 5].set(True)
    treated_grid = TREAT(grid, land.burnable, added)
    assert np.isnan(INCREMENTAL(treated_grid, ignitions, 200.0, times.at[0, 0, 0].set(jnp.nan), added)).all()
    traced = INCREMENTAL(treated_grid, ignitions, jnp.float32(jnp.nan), times, added)
    assert np.isnan(traced).all()
    with pytest.raises(ValueError):
        fire.resolve_many(treated_grid, ignitions, float("nan"), times, added)


@pytest.mark.slow
@pytest.mark.parametrize("cells_per_step", [1, 3])
def test_env_episodes_equal_full_solves(cells_per_step):
    """Whole random episodes of a batch of environments: every reward and burned count equals the full solve's."""
    from jaxfire.env import FuelBreakEnv
    from jaxfire.env.types import burned_fraction
    from jaxfire.landscape import pool as pools

    shape, envs = (14, 14), 4
    env = FuelBreakEnv(shape, ignitions_per_evaluation=5, cells_per_step=cells_per_step, planning_ignitions=0)
    params = env.make_params(jax.random.key(0), landscape.synthetic_pool(jax.random.key(1), 3, shape),
                             budget_fraction=0.08, scenarios_per_landscape=2, max_minutes=240.0)
    step = jax.jit(jax.vmap(env.step_env, in_axes=(None, 0, 0, None)))

    @jax.jit
    @jax.vmap
    def full_count(state):  # what step_env computed before: every fire solved from scratch
        land = pools.take(params.pool, state.landscape_index).with_fuel_breaks(state.treated)
        times = fire.solve_many(fire.spread_grid(land, state.weather, env.neighbours), state.ignitions,
                                params.max_minutes)
        return fire.burned_summary(times)[1]

    _, state = jax.vmap(env.reset_env, in_axes=(0, None))(jax.random.split(jax.random.key(2), envs), params)
    rng = np.random.default_rng(cells_per_step)
    for t in range(int(params.max_steps_in_episode)):
        actions = rng.integers(0, shape[0] * shape[1], (envs, cells_per_step))
        before = state.burned_count
        _, state, reward, done, _ = step(jax.random.key(t), state, jnp.asarray(actions, jnp.int32), params)
        count = full_count(state)
        np.testing.assert_array_equal(state.burned_count, count, err_msg=f"step {t}")
        np.testing.assert_array_equal(reward, burned_fraction(before - count, 5, shape), err_msg=f"step {t}")
        if bool(done.all()):
            break
    assert bool(done.all())


@pytest.mark.slow
def test_greedy_plans_unchanged():
    from jaxfire.planners.base import planning_fires
    from jaxfire.planners.greedy import greedy_search

    for seed in (0, 5):
        land = landscape.synthetic(jax.random.key(seed), SHAPE)
        weather = Weather(15.0, 90.0 * seed)
        ignitions, tie_key = planning_fires(jax.random.key(seed), land, 10, None, 12, None)
        grid = fire.spread_grid(land, weather, 16)
        args = (grid, land.burnable, ignitions, 10, tie_key, 240.0, 12)
        np.testing.assert_array_equal(greedy_search(*args), jax.jit(previous_greedy_search, static_argnums=6)(*args))
