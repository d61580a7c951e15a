"""The ordered-sweep solver (:mod:`jaxfire.fire.sweep`) against the Jacobi solver (bit for bit), the independent heapq
Dijkstra of ``tests/reference_spread.py``, and its invariants; the ``solver=`` choice on every public entry point.

Property tests draw landscapes (synthetic mosaics with roads, rivers and lakes, plus random non-burnable cells),
weather, ignitions (burnable or not, points or scattered masks) and caps (some small enough that the fire hits
them) per seed, on a non-square grid larger than the smallest window (16x16 here), so that fires cross window borders
and climb levels.  Every shape is compiled once per stencil; the seeds only change values.
"""
import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import jaxfire
import reference_spread
from jaxfire import fire, landscape, rothermel, stencil
from jaxfire.fire import jacobi, spread, sweep

SHAPE = (32, 36)          # two levels: 16x16 windows, then the whole grid
WINDOW = 16
FIRES = 6                 # fires per seed, solved in one batch
LEVELS = sweep.levels(SHAPE, FIRES, 1, WINDOW, WINDOW * WINDOW * 4, 1 << 16)


def draw(seed: int, neighbours: int = 16, crown_fire: bool = True):
    """A random landscape, weather, ``FIRES`` ignition masks and caps for ``seed``.

    Returns ``(land, weather, grid, burning bool[FIRES, H, W], caps float32[FIRES], ignitions)`` where
    ``ignitions[k]`` lists fire k's ignited cells.  Fire 0 starts on a non-burnable cell when there is one,
    fire 1 has two ignited cells farther apart than the 16x16 ignition patch, the others are points.
    """
    rng = np.random.default_rng(seed)
    base = landscape.synthetic(jax.random.key(seed), SHAPE, roads=int(rng.integers(0, 3)),
                               rivers=int(rng.integers(0, 2)), lakes=int(rng.integers(0, 2)))
    fuel = np.asarray(base.fuel_model).copy()
    fuel[rng.random(SHAPE) < rng.uniform(0.0, 0.15)] = 91                       # random barriers
    land = landscape.from_arrays(fuel, base.slope_deg, base.aspect_deg, base.canopy_cover, base.canopy_height_m,
                                 base.canopy_base_height_m, base.canopy_bulk_density_kg_m3, base.elevation_m)
    weather = jaxfire.Weather(float(rng.uniform(0, 35)), float(rng.uniform(0, 360)))
    grid = fire.spread_grid(land, weather, neighbours, crown_fire)
    burnable = np.asarray(land.burnable)
    cells = np.argwhere(burnable)
    ignitions = [[tuple(cells[i])] for i in rng.choice(len(cells), FIRES, replace=False)]
    if (~burnable).any():
        ignitions[0] = [tuple(np.argwhere(~burnable)[rng.integers((~burnable).sum())])]
    ignitions[1] = [(1, 2), (SHAPE[0] - 2, SHAPE[1] - 3)]
    burning = np.zeros((FIRES,) + SHAPE, bool)
    for k, cells_k in enumerate(ignitions):
        for r, c in cells_k:
            burning[k, r, c] = True
    caps = rng.choice([15.0, 45.0, 120.0, 480.0, 2000.0], FIRES).astype(np.float32)
    return land, weather, grid, burning, caps, ignitions


@functools.lru_cache(maxsize=None)
def _jitted(moves):
    """Jitted Jacobi solver and sweep ``solve_fires`` for a stencil (one compile per stencil and shape)."""
    return (jax.jit(jacobi.solver(moves, None, 32)),
            jax.jit(functools.partial(sweep.solve_fires, moves=moves, lvls=LEVELS, max_sweeps=10 ** 6)))


def both(grid, burning, caps):
    """Jacobi and ordered-sweep arrival times ``float32[F, H, W]`` of one batch on the test levels (16x16 windows),
    and the sweeps' work statistics (:func:`jaxfire.fire.sweep.solve_fires`)."""
    run_jacobi, run_sweep = _jitted(grid.moves)
    args = (grid.step_minutes[None], grid.first_step_minutes[None], jnp.asarray(burning)[None], jnp.asarray(caps)[None])
    fires = sweep.Fires(*args[:2], jnp.asarray(burning), jnp.asarray(caps), jnp.zeros(len(caps), jnp.int32))
    times, stats = run_sweep(fires)
    return np.asarray(run_jacobi(*args))[0], np.asarray(times), np.asarray(stats)


@pytest.mark.parametrize("neighbours,seeds", [pytest.param(8, range(0, 3), marks=pytest.mark.slow), (16, range(10, 16)),
                                              pytest.param(32, range(30, 32), marks=pytest.mark.slow)])
def test_identical_to_jacobi(neighbours, seeds):
    climbed = 0
    for seed in seeds:
        _, _, grid, burning, caps, _ = draw(seed, neighbours)
        by_jacobi, ordered, stats = both(grid, burning, caps)
        np.testing.assert_array_equal(ordered, by_jacobi, err_msg=f"seed {seed}")
        finite = np.isfinite(ordered)
        assert finite.sum() > FIRES * 10, "degenerate draw: the fires barely spread"
        assert np.all(ordered[finite] <= caps[np.nonzero(finite)[0]]), "a time past its cap"
        assert stats[0, 0] == FIRES - 1, "fire 1's ignitions do not fit a 16x16 window: it starts on the whole grid"
        climbed += int(stats[1, 0]) - 1
    assert climbed > 0, "no fire outgrew its 16x16 window"


def dijkstra(land, weather, ignition, cap, neighbours):
    """``tests/reference_spread.py`` arrival times for one fire (surface fire: the reference has no crown fire)."""
    b = rothermel.landscape_fire(land, weather)
    return reference_spread.arrival_times(
        np.asarray(b.R_head_m_min, float), np.asarray(b.eccentricity, float), np.asarray(b.heading_deg, float),
        np.asarray(land.slope_deg, float), np.asarray(land.aspect_deg, float), np.asarray(land.burnable),
        ignition, float(cap), land.cell_size_m, neighbours)


@pytest.mark.parametrize("neighbours,seed", [(8, 40), (16, 41), pytest.param(32, 43, marks=pytest.mark.slow)])
def test_matches_independent_dijkstra(neighbours, seed):
    land, weather, grid, burning, caps, ignitions = draw(seed, neighbours, crown_fire=False)
    _, ordered, _ = both(grid, burning, caps)
    ordered = np.where(np.asarray(land.burnable), ordered, np.inf)        # as fire.solve reports them
    for k in (0, 1):                                                  # a non-burnable and a two-cell ignition
        expected = dijkstra(land, weather, ignitions[k], caps[k], neighbours)
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(np.isfinite(ordered[k]), finite)
        np.testing.assert_allclose(ordered[k][finite], expected[finite], rtol=1e-4, atol=1e-4)


def test_levels_and_work_statistics():
    assert [(lv.h, lv.w, lv.shared) for lv in LEVELS] == [(16, 16, False), (32, 36, True)]
    assert [(lv.h, lv.w, lv.shared) for lv in sweep.levels((40, 300), 8, 2, 16, 1 << 14, 1 << 16)] == [
        (16, 16, False), (32, 32, False), (40, 64, False), (40, 300, False)]
    assert [lv.h for lv in sweep.levels((50, 50), 8, 1, 32, 1 << 14, 1 << 16)] == [50]
    _, _, grid, burning, _, _ = draw(11)
    caps = np.full(FIRES, 2000.0, np.float32)
    by_jacobi, ordered, stats = both(grid, burning, caps)
    np.testing.assert_array_equal(ordered, by_jacobi)
    assert stats[1, 0] >= 2, "some fires outgrow their 16x16 window"
    assert stats[:, 2].sum() >= 8 * FIRES, "every fire needs a round that changes it and a quiet one"


def test_no_ignition_and_negative_cap_burn_nothing():
    _, _, grid, burning, caps, _ = draw(12)
    burning[2] = False
    caps[3] = -1.0
    by_jacobi, ordered, _ = both(grid, burning, caps)
    assert np.isinf(ordered[2]).all() and np.isinf(ordered[3]).all()
    np.testing.assert_array_equal(ordered, by_jacobi)


# One compile each, shared by the batching and NaN tests: a nested vmap of sweeps (grids outside, ignitions and caps
# inside: folded into one batch by jacobi.fold_vmap, into G and N at once) and single Jacobi fires.
NESTED_SWEEPS = jax.jit(jax.vmap(jax.vmap(lambda g, i, c: fire.solve(g, i, c, solver="sweep"), in_axes=(None, 0, 0)),
                                 in_axes=(0, None, None)))
SINGLE_JACOBI = jax.jit(lambda g, i, c: fire.solve(g, i, c, solver="jacobi"))


def small_batch():
    """Two 20x26 grids (``SpreadGrid`` stacked), five ignition cells and five caps."""
    land = landscape.synthetic(jax.random.key(5), (20, 26))
    other = landscape.synthetic(jax.random.key(6), (20, 26))
    weather = jaxfire.Weather(25.0, 250.0)
    grids = jax.tree.map(lambda *x: jnp.stack(x), fire.spread_grid(land, weather), fire.spread_grid(other, weather))
    cells = jnp.asarray(np.argwhere(np.asarray(land.burnable))[::41][:5])
    return grids, cells, jnp.asarray([30.0, 90.0, 240.0, 480.0, 10.0])


def loop_of_single_fires(grids, cells, caps):
    """``float32[2, 5, H, W]``: every (grid, fire) solved alone by Jacobi."""
    return np.stack([np.stack([np.asarray(SINGLE_JACOBI(jax.tree.map(lambda x: x[g], grids), cells[i], caps[i]))
                               for i in range(len(cells))]) for g in range(2)])


@pytest.mark.slow
def test_vmap_over_ignitions_grids_and_caps_equals_a_loop():
    """Batched sweeps against a loop of single fires (Jacobi's, bit-identical to single sweeps by the tests above:
    this keeps the compiles down)."""
    grids, cells, caps = small_batch()
    batched = np.asarray(NESTED_SWEEPS(grids, cells, caps))
    assert batched.shape == (2, 5, 20, 26) and np.isfinite(batched).sum() > 100
    np.testing.assert_array_equal(batched, loop_of_single_fires(grids, cells, caps))


def test_nan_cap_and_step_times_match_jacobi():
    """Raw solvers: a NaN cap burns nothing in both (``t <= NaN`` is false).  Public entry points: a traced NaN cap
    or NaN step times make that fire's times NaN whichever solver runs, and only that fire's in a batch
    (:mod:`jaxfire.validation`), never a plausible finite answer; visible ones raise."""
    _, _, grid, burning, caps, _ = draw(13)
    caps[4] = np.nan
    by_jacobi, ordered, _ = both(grid, burning, caps)
    assert np.isinf(ordered[4]).all()
    np.testing.assert_array_equal(ordered, by_jacobi)

    grids, cells, caps = small_batch()
    grids = grids.replace(step_minutes=grids.step_minutes.at[1, :, 5:7, 5:7].set(jnp.nan))   # grid 1 poisoned
    caps = caps.at[2].set(jnp.nan)
    batched = np.asarray(NESTED_SWEEPS(grids, cells, caps))
    assert np.isnan(batched[1]).all() and np.isnan(batched[:, 2]).all()
    assert not np.isnan(batched[0, [0, 1, 3, 4]]).any() and np.isfinite(batched[0]).sum() > 50
    np.testing.assert_array_equal(batched, loop_of_single_fires(grids, cells, caps))       # NaN where Jacobi's are
    clean, poisoned = (jax.tree.map(lambda x: x[g], grids) for g in range(2))
    for kind in ("sweep", "jacobi"):
        with pytest.raises(ValueError, match="NaN step times"):
            fire.solve_many(poisoned, cells, 300.0, solver=kind)
        with pytest.raises(ValueError, match="max_minutes"):
            fire.solve_many(clean, cells, float("nan"), solver=kind)


def test_auto_rule_and_bad_names():
    assert fire.SOLVERS == ("auto", "sweep", "jacobi")
    assert (spread.SWEEP_FROM_CELLS, spread.SWEEP_FROM_FIRE_CELLS) == (128 * 128, 1 << 16)
    auto = functools.partial(fire.choose_solver, "auto", platform="cpu")
    assert auto((127, 129), 10 ** 6) == "jacobi" and auto((128, 128), 3) == "jacobi" and auto((128, 128), 4) == "sweep"
    assert auto((64, 64), 10 ** 6) == "jacobi" and auto((96, 96), 10 ** 6) == "jacobi"
    assert auto((256, 256), 1) == "sweep" and auto((16, 4096), 1) == "sweep"
    assert fire.choose_solver("auto", (512, 512), 1024, platform="gpu") == "jacobi"  # sweeps lose on GPUs
    assert fire.choose_solver("auto", (64, 64), 64) == fire.choose_solver("auto", (64, 64), 64, jax.default_backend())
    assert fire.choose_solver("jacobi", (512, 512), 99) == "jacobi"
    assert fire.choose_solver("sweep", (8, 8), 1) == "sweep"
    land = landscape.synthetic(jax.random.key(7), (12, 12))
    weather = jaxfire.Weather(15.0, 90.0)
    grid = fire.spread_grid(land, weather)
    cells = jnp.asarray([[3, 3], [8, 8]])
    calls = [lambda s: fire.solve(grid, (3, 3), 60.0, solver=s), lambda s: fire.solve_many(grid, cells, 60.0, s),
             lambda s: fire.arrival_times(land, weather, (3, 3), 60.0, solver=s),
             lambda s: fire.burn_probability(land, weather, cells, 60.0, solver=s),
             lambda s: fire.grid_burn_probability(grid, cells, 60.0, solver=s),
             lambda s: fire.expected_burned_fraction(land, weather, cells, 60.0, solver=s),
             lambda s: fire.choose_solver(s, (12, 12), 2)]
    for call in calls:
        with pytest.raises(ValueError, match="'auto', 'sweep', 'jacobi'.*'dijkstra'"):
            call("dijkstra")


@pytest.mark.slow
def test_public_api_threads_the_solver():
    """``solver=`` reaches the solver from every public entry point, and ``"auto"`` follows :func:`choose_solver` on
    the batch as it runs, ``vmap`` folded in (traced, not compiled: only the sweeps use an optimisation barrier)."""
    weather = jaxfire.Weather(15.0, 90.0)
    for shape, batch_sweeps in (((20, 26), False), ((128, 128), True)):    # 64 fires of 128x128 sweep
        land = landscape.synthetic(jax.random.key(7), shape)
        grid = fire.spread_grid(land, weather)
        cells = jnp.asarray(np.argwhere(np.asarray(land.burnable))[::3][:64])
        assert len(cells) == 64
        batches = {"burn_probability": lambda k: fire.burn_probability(land, weather, cells, 240.0, solver=k),
                   "expected_burned_fraction": lambda k: fire.expected_burned_fraction(land, weather, cells, 240.0,
                                                                                        solver=k),
                   "grid_burn_probability": lambda k: fire.grid_burn_probability(grid, cells, 240.0, solver=k),
                   "solve_many": lambda k: fire.solve_many(grid, cells, 240.0, solver=k),
                   "vmap(arrival_times)": lambda k: jax.vmap(
                       lambda c: fire.arrival_times(land, weather, c, 240.0, solver=k))(cells)}
        single = {"arrival_times": lambda k: fire.arrival_times(land, weather, cells[0], 240.0, solver=k),
                  "solve": lambda k: fire.solve(grid, cells[0], 240.0, solver=k)}
        # Each entry point once with the solver that "auto" does not pick (the name is threaded) and once with "auto".
        other = "jacobi" if batch_sweeps else "sweep"
        cases = [("auto", batches, batch_sweeps), (other, batches, not batch_sweeps), ("auto", single, False)]
        if batch_sweeps:
            cases.append(("sweep", single, True))
        for kind, entries, sweeps in cases:
            for name, entry in entries.items():
                traced = str(jax.make_jaxpr(lambda: entry(kind))())
                assert ("optimization_barrier" in traced) == sweeps, (shape, kind, name)
    land = landscape.synthetic(jax.random.key(7), (128, 128))
    default = jax.make_jaxpr(lambda c: fire.solve_many(fire.spread_grid(land, weather), c, 240.0))(cells)
    assert "optimization_barrier" in str(default), "solve_many's default is 'auto'"


def test_directions_cover_every_move_from_an_earlier_line():
    for size in (8, 16, 32):
        moves = stencil.moves(size)
        dirs = sweep.directions(moves)
        covered = set()
        for d in dirs:
            for k, (lag, dx) in zip(d.moves, d.cross):
                m = moves[k]
                along = (m.dc, m.dr) if d.columns else (m.dr, m.dc)
                assert lag >= 1 and lag == (-along[0] if d.reverse else along[0]) and dx == along[1]
                covered.add(k)
        assert covered == set(range(len(moves)))


@pytest.mark.slow
@pytest.mark.parametrize("neighbours", [8, 16, 32])
def test_identical_to_jacobi_on_a_larger_grid(neighbours):
    """100x140 cells, 32x32 windows: four levels, long fires, the full default solver, through ``solve_many``."""
    rng = np.random.default_rng(neighbours)
    land = landscape.synthetic(jax.random.key(neighbours), (100, 140))
    weather = jaxfire.Weather(30.0, float(rng.uniform(0, 360)))
    grid = fire.spread_grid(land, weather, neighbours)
    cells = jnp.asarray(np.argwhere(np.asarray(land.burnable))[rng.choice(int(land.burnable.sum()), 24)])
    run = jax.jit(fire.solve_many, static_argnames="solver")
    np.testing.assert_array_equal(np.asarray(run(grid, cells, 1500.0, solver="sweep")),
                                  np.asarray(run(grid, cells, 1500.0, solver="jacobi")))
