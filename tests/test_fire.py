"""The spread engine against an independent Dijkstra, the pyretechnics scenarios, and its invariants."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import jaxfire
from jaxfire import fire, landscape, rothermel
from conftest import load_reference
import reference_spread

BURNABLE = [1, 2, 4, 8, 10, 101, 102, 122, 142, 145, 161, 165, 183, 188, 202]


def random_landscape(rng, shape, barrier_fraction=0.12):
    """Heterogeneous fuel mosaic with scattered non-burnable cells, random slope and aspect."""
    fuel = rng.choice(BURNABLE, size=shape)
    fuel[rng.random(shape) < barrier_fraction] = 91
    return landscape.from_arrays(fuel, rng.uniform(0, 35, shape), rng.uniform(0, 360, shape))


def toa_grid(scenario):
    return np.array([[np.inf if v is None else v for v in row] for row in scenario["toa"]], float)


def run_scenario(scenario, neighbours=16):
    H, W = scenario["grid"]
    fuel = np.array(scenario["fuel_grid"]) if "fuel_grid" in scenario else np.full((H, W), scenario["fuel"])
    land = landscape.from_arrays(fuel, np.full((H, W), scenario["slope_deg"]), np.full((H, W), scenario["aspect_deg"]))
    weather = jaxfire.Weather(scenario["wind_kmh"], scenario["wind_from_deg"], scenario["moisture"])
    return np.asarray(fire.arrival_times(land, weather, jnp.array(scenario["ignition"]), float(scenario["minutes"]),
                                         neighbours))


@pytest.mark.parametrize("neighbours,seed", [(8, 0), (16, 1), (16, 2), (32, 3)])
def test_matches_independent_dijkstra(neighbours, seed):
    rng = np.random.default_rng(seed)
    land = random_landscape(rng, (13, 17))
    weather = jaxfire.Weather(float(rng.uniform(5, 30)), float(rng.uniform(0, 360)))
    burnable = np.asarray(land.burnable)
    ignitions = [tuple(c) for c in np.argwhere(burnable)[rng.choice(burnable.sum(), 2, replace=False)]]
    mask = np.zeros(burnable.shape, bool)
    mask[tuple(np.array(ignitions).T)] = True
    behaviour = rothermel.landscape_fire(land, weather)
    expected = reference_spread.arrival_times(
        np.asarray(behaviour.R_head_m_min, float), np.asarray(behaviour.eccentricity, float),
        np.asarray(behaviour.heading_deg, float), np.asarray(land.slope_deg, float),
        np.asarray(land.aspect_deg, float), burnable, ignitions, 400.0, land.cell_size_m, neighbours)
    got = np.asarray(fire.arrival_times(land, weather, jnp.asarray(mask), 400.0, neighbours))
    finite = np.isfinite(expected)
    assert finite.sum() > 20, "degenerate case: the fire barely spread"
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-4, atol=1e-4)


def test_barrier_verdicts_match_pyretechnics():
    for scenario in load_reference("pyretechnics_scenarios.json")["barriers"]:
        toa = run_scenario(scenario)
        H, W = scenario["grid"]
        row, col = np.mgrid[0:H, 0:W]
        beyond = eval(scenario["beyond_barrier"], {"row": row, "col": col})  # expressions like "row < 15"
        burned_beyond = int((np.isfinite(toa) & beyond).sum())
        assert (burned_beyond == 0) == scenario["blocked"], scenario["name"]
        if not scenario["blocked"]:
            assert burned_beyond == pytest.approx(scenario["burned_beyond_barrier"], rel=0.1), scenario["name"]


def axis_rate(toa, row, cols, origin):
    """Least-squares spread rate (m/min) along ``row`` over ``cols`` (distance from ``origin`` vs arrival time)."""
    t = toa[row, cols]
    ok = np.isfinite(t)
    return np.polyfit(t[ok], np.abs(cols[ok] - origin) * 30.0, 1)[0]


@pytest.mark.parametrize("index", range(4))
def test_wind_ellipse_matches_pyretechnics(index):
    scenario = load_reference("pyretechnics_scenarios.json")["wind_ellipse"][index]
    toa = run_scenario(scenario)
    r0, c0 = scenario["ignition"]
    W = scenario["grid"][1]
    burned = np.isfinite(toa)
    rows, cols = np.where(burned.any(1))[0], np.where(burned.any(0))[0]
    north_south = (rows.max() - rows.min() + 1) * 30.0
    east_west = (cols.max() - cols.min() + 1) * 30.0
    sim = scenario["simulated"]
    assert axis_rate(toa, r0, np.arange(c0 + 2, W), c0) == pytest.approx(sim["R_head"], rel=0.05)
    assert axis_rate(toa, r0, np.arange(0, c0 - 1), c0) == pytest.approx(sim["R_back"], rel=0.05)
    assert (north_south / 2 - 15) / scenario["minutes"] == pytest.approx(sim["R_flank"], rel=0.05)
    assert east_west / north_south == pytest.approx(sim["LW"], rel=0.05)


def test_burned_counts_match_pyretechnics():
    data = load_reference("pyretechnics_scenarios.json")
    checked = 0
    for scenario in data["homogeneous"] + data["slope"] + data["wind_ellipse"]:
        if scenario["burned_count"] < 50:
            continue
        burned = int(np.isfinite(run_scenario(scenario)).sum())
        assert burned == pytest.approx(scenario["burned_count"], rel=0.15 if "ellipse" in scenario["name"] else 0.10), \
            scenario["name"]
        checked += 1
    assert checked >= 20


@pytest.mark.slow
def test_32_neighbours_tighten_wind_ellipses():
    for scenario in load_reference("pyretechnics_scenarios.json")["wind_ellipse"]:
        burned = int(np.isfinite(run_scenario(scenario, neighbours=32)).sum())
        assert burned == pytest.approx(scenario["burned_count"], rel=0.07), scenario["name"]


def test_head_start_of_the_ignited_cell():
    """Flat GS2, 20 km/h west wind: the east neighbour burns after half a cell at the head rate."""
    land = landscape.from_arrays(np.full((9, 9), 122), np.zeros((9, 9)), np.zeros((9, 9)))
    weather = jaxfire.Weather(20.0, 270.0)
    head = float(rothermel.landscape_fire(land, weather).R_head_m_min[4, 4])
    toa = fire.arrival_times(land, weather, (4, 4), 600.0)
    assert float(toa[4, 4]) == 0.0
    assert float(toa[4, 5]) == pytest.approx(15.0 / head, rel=1e-5)
    assert float(toa[4, 6]) == pytest.approx(45.0 / head, rel=1e-5)


def test_isotropic_without_wind_and_slope():
    land = landscape.from_arrays(np.full((15, 15), 145), np.zeros((15, 15)), np.zeros((15, 15)))
    toa = np.asarray(fire.arrival_times(land, jaxfire.Weather(0.0, 0.0), (7, 7), 1e4))
    for sym in (np.rot90(toa), toa.T, toa[::-1], toa[:, ::-1]):
        np.testing.assert_allclose(sym, toa, rtol=1e-6)


def test_fuel_breaks_never_make_fire_earlier():
    rng = np.random.default_rng(7)
    land = random_landscape(rng, (20, 20), barrier_fraction=0.05)
    weather = jaxfire.Weather(25.0, 200.0)
    before = np.asarray(fire.arrival_times(land, weather, (10, 10), 600.0))
    breaks = rng.random((20, 20)) < 0.1
    breaks[10, 10] = False
    after = np.asarray(fire.arrival_times(land.with_fuel_breaks(jnp.asarray(breaks)), weather, (10, 10), 600.0))
    assert np.all(after >= before)
    assert np.all(np.isinf(after[breaks]))
    assert np.isfinite(after).sum() < np.isfinite(before).sum()


@pytest.mark.slow
def test_batched_equals_looped_and_per_fire_weather():
    land = landscape.synthetic(jax.random.key(3), (24, 24))
    cells = np.argwhere(np.asarray(land.burnable))[::37][:5]
    weathers = jaxfire.Weather(jnp.array([0.0, 10.0, 20.0, 30.0, 15.0]), jnp.array([0.0, 90.0, 180.0, 270.0, 45.0]),
                               jnp.tile(jaxfire.weather.moisture("default"), (5, 1)))
    batched = jax.vmap(fire.arrival_times, in_axes=(None, 0, 0, None))(land, weathers, jnp.asarray(cells), 300.0)
    for i in range(5):  # batched Rothermel may round differently: same burned cells, times to float32 precision
        single = np.asarray(fire.arrival_times(land, jax.tree.map(lambda x: x[i], weathers), tuple(cells[i]), 300.0))
        np.testing.assert_array_equal(np.isfinite(batched[i]), np.isfinite(single))
        np.testing.assert_allclose(np.asarray(batched[i]), single, rtol=1e-6)
    # Batched over ignitions only: bit-identical to single runs.
    west = jaxfire.Weather(20.0, 270.0)
    by_ignition = jax.vmap(fire.arrival_times, in_axes=(None, None, 0, None))(land, west, jnp.asarray(cells), 300.0)
    for i in range(5):
        np.testing.assert_array_equal(np.asarray(by_ignition[i]),
                                      np.asarray(fire.arrival_times(land, west, tuple(cells[i]), 300.0)))
    # Batched over landscapes and ignitions at once (nested vmap).
    lands = jax.tree.map(lambda *x: jnp.stack(x), land, landscape.synthetic(jax.random.key(4), (24, 24)))
    nested = jax.vmap(jax.vmap(fire.arrival_times, in_axes=(None, None, 0, None)), in_axes=(0, None, None, None))(
        lands, west, jnp.asarray(cells), 300.0)
    other = jax.tree.map(lambda x: x[1], lands)
    np.testing.assert_allclose(np.asarray(nested[1, 2]), np.asarray(fire.arrival_times(other, west, tuple(cells[2]), 300.0)),
                               rtol=1e-6)


def test_burn_probability_and_expected_fraction():
    land = landscape.synthetic(jax.random.key(5), (20, 20))
    weather = jaxfire.Weather(20.0, 300.0)
    ignitions = jnp.asarray(np.argwhere(np.asarray(land.burnable))[::23])
    one_fire = jax.jit(lambda ignition: fire.arrival_times(land, weather, ignition, 240.0))  # compiled once
    burned = np.stack([np.isfinite(np.asarray(one_fire(i))) for i in ignitions])
    probability = np.asarray(fire.burn_probability(land, weather, ignitions, 240.0))
    np.testing.assert_allclose(probability, burned.mean(0), atol=1e-6)
    assert float(fire.expected_burned_fraction(land, weather, ignitions, 240.0)) == pytest.approx(burned.mean(), abs=1e-6)


def test_time_cap_and_ignition_on_a_fuel_break():
    land = landscape.synthetic(jax.random.key(6), (20, 20), roads=0, rivers=0, lakes=0)
    weather = jaxfire.Weather(30.0, 90.0)
    toa = np.asarray(fire.arrival_times(land, weather, (10, 10), 37.5))
    assert np.all(toa[np.isfinite(toa)] <= 37.5)
    # An ignition is a point source: on a treated cell it still ignites the neighbouring fuel, but that cell never
    # burns, and nothing arrives earlier than with the cell untreated.
    open_fire = np.asarray(fire.arrival_times(land, weather, (10, 10), 600.0))
    treated = land.with_fuel_breaks(jnp.zeros((20, 20), bool).at[10, 10].set(True))
    break_fire = np.asarray(fire.arrival_times(treated, weather, (10, 10), 600.0))
    assert np.isinf(break_fire[10, 10]) and open_fire[10, 10] == 0.0
    np.testing.assert_allclose(break_fire[9:12, 11], open_fire[9:12, 11], rtol=1e-6)  # first steps unchanged
    assert np.all(break_fire >= open_fire) and np.isfinite(break_fire).sum() > 100
    water = land.with_fuel_breaks(jnp.ones((20, 20), bool).at[10, 10].set(False), code=98)
    assert np.isfinite(np.asarray(fire.arrival_times(water, weather, (10, 10), 600.0))).sum() == 1


def test_same_key_same_fire():
    a = landscape.synthetic(jax.random.key(11), (18, 18))
    b = landscape.synthetic(jax.random.key(11), (18, 18))
    weather = jaxfire.Weather(20.0, 270.0)
    np.testing.assert_array_equal(np.asarray(fire.arrival_times(a, weather, (9, 9), 300.0)),
                                  np.asarray(fire.arrival_times(b, weather, (9, 9), 300.0)))


def test_bad_inputs_raise_clear_errors():
    land = landscape.synthetic(jax.random.key(0), (10, 10))
    weather = jaxfire.Weather(10.0, 0.0)
    with pytest.raises(ValueError, match="ignition"):
        fire.arrival_times(land, weather, jnp.zeros((3,), int), 60.0)
    with pytest.raises(ValueError, match="ignitions"):
        fire.burn_probability(land, weather, jnp.zeros((4, 3), int), 60.0)
    with pytest.raises(ValueError, match="8, 16 or 32"):
        fire.arrival_times(land, weather, (1, 1), 60.0, neighbours=12)


def numpy_jacobi(step, first, burning, cap, moves, sweeps):
    """``sweeps`` plain Jacobi sweeps (NumPy, one fire) from the solver contract's start: ``burning`` cells at 0, one
    relaxation of the first steps, times past ``cap`` dropped to inf after every sweep."""
    H, W = burning.shape

    def relax(times, sources, cost):
        best = times.copy()
        for m, c in zip(moves, cost):
            shifted = np.full((H, W), np.inf, np.float32)
            shifted[max(m.dr, 0):H + min(m.dr, 0), max(m.dc, 0):W + min(m.dc, 0)] = \
                sources[max(-m.dr, 0):H - max(m.dr, 0), max(-m.dc, 0):W - max(m.dc, 0)]
            best = np.minimum(best, shifted + c)
        return best

    def capped(times):
        return np.where(times <= cap, times, np.float32(np.inf))

    start = np.where(burning, np.float32(0), np.float32(np.inf))
    times = capped(relax(start, start, first))
    for _ in range(sweeps):
        times = capped(relax(times, times, step))
    return times


@pytest.mark.parametrize("sweeps", [1, 2, 5])
def test_sweep_bound_on_one_and_several_grids(sweeps):
    """``max_sweeps`` stops every fire after exactly that many Jacobi sweeps (odd bounds included: the solver sweeps
    in pairs), on one grid (fires laid out slots-last) and on two (slots-first), with fewer slots than fires."""
    from jaxfire.fire import jacobi
    rng = np.random.default_rng(sweeps)
    lands = [random_landscape(rng, (9, 11)) for _ in range(2)]
    grids = [fire.spread_grid(land, jaxfire.Weather(25.0, 250.0)) for land in lands]
    burning = np.zeros((2, 5, 9, 11), bool)
    for g in range(2):
        for k in range(5):
            burning[g, k, rng.integers(9), rng.integers(11)] = True
    caps = np.array([[480.0, 480.0, 30.0, 480.0, 60.0]] * 2, np.float32)
    solve = jax.jit(jacobi.solver(grids[0].moves, max_sweeps=sweeps, slots=3))
    step = jnp.stack([g.step_minutes for g in grids])
    first = jnp.stack([g.first_step_minutes for g in grids])
    both = np.asarray(solve(step, first, jnp.asarray(burning), jnp.asarray(caps)))
    for g in range(2):
        one = np.asarray(solve(step[g:g + 1], first[g:g + 1], jnp.asarray(burning[g:g + 1]),
                               jnp.asarray(caps[g:g + 1])))
        for k in range(5):
            expected = numpy_jacobi(np.asarray(step[g]), np.asarray(first[g]), burning[g, k], caps[g, k],
                                    grids[g].moves, sweeps)
            np.testing.assert_array_equal(one[0, k], expected)
            np.testing.assert_array_equal(both[g, k], expected)
    if sweeps == 1:  # one sweep is short of the fixed point here: the bound really binds
        full = np.asarray(jax.jit(jacobi.solver(grids[0].moves))(step, first, jnp.asarray(burning), jnp.asarray(caps)))
        assert not np.array_equal(full, both)
