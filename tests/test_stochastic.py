"""Tests of the Alexandridis et al. (2008) stochastic cellular automaton (jaxfire.stochastic)."""
import math

import jax
import numpy as np
import pytest

from jaxfire import Weather, landscape
from jaxfire.stochastic import (NEIGHBOURS, AlexandridisParams, arrival_times, burn_probability,
                                ignition_probabilities, slope_factor, vegetation_factors, wind_factor)

CALM = Weather(0.0, 270.0)
CERTAIN = AlexandridisParams(p_h=1.0, veg_values=(0.0, 0.0, 0.0))  # p_burn = 1 on flat calm ground
N = 200  # fires per burn-probability map (one shape, so one compilation)


def uniform(shape=(21, 21), code=101, **layers):
    return landscape.from_arrays(np.full(shape, code), np.zeros(shape), np.zeros(shape), **layers)


def k_of(dr, dc):
    return NEIGHBOURS.index((dr, dc))


def test_wind_and_slope_factors_match_hand_values():
    v = 5.0  # 18 km/h
    assert float(wind_factor(18.0, 270.0, 90.0)) == pytest.approx(math.exp(0.045 * v), rel=1e-5)  # downwind
    assert float(wind_factor(18.0, 270.0, 0.0)) == pytest.approx(math.exp(0.045 * v - 0.131 * v), rel=1e-5)
    assert float(wind_factor(18.0, 270.0, 270.0)) == pytest.approx(math.exp(0.045 * v - 2 * 0.131 * v), rel=1e-5)
    assert float(wind_factor(0.0, 123.0, 45.0)) == pytest.approx(1.0)
    assert float(slope_factor(10.0)) == pytest.approx(math.exp(0.78), rel=1e-6)
    assert float(slope_factor(-5.0)) == pytest.approx(math.exp(-0.39), rel=1e-6)


def test_ignition_probability_with_elevation_matches_hand_arithmetic():
    elevation = np.zeros((3, 3))
    elevation[1, 2] = 10.0  # east neighbour 10 m higher
    elevation[0, 2] = -20.0  # north-east neighbour 20 m lower
    fuel = np.full((3, 3), 101)  # GR: agricultural, normal density
    land = landscape.from_arrays(fuel, np.zeros((3, 3)), np.zeros((3, 3)), elevation=elevation, cell_size_m=30.0)
    probs = np.asarray(ignition_probabilities(land, Weather(18.0, 90.0)))  # east wind: travels west
    v = 5.0
    # East: theta = 180 deg between wind travel (west) and propagation (east); theta_s = atan(10 / 30).
    east = (0.58 * 0.7 * math.exp(0.045 * v) * math.exp(0.131 * v * -2)
            * math.exp(0.078 * math.degrees(math.atan(1 / 3))))
    assert probs[k_of(0, 1), 1, 1] == pytest.approx(east, rel=1e-5)
    assert east == pytest.approx(0.5777, abs=1e-3)
    # North-east diagonal: theta = 135 deg; theta_s = atan(-20 / (30 sqrt 2)).
    ne = (0.58 * 0.7 * math.exp(0.045 * v) * math.exp(0.131 * v * (math.cos(math.radians(135)) - 1))
          * math.exp(0.078 * math.degrees(math.atan(-20 / (30 * math.sqrt(2))))))
    assert probs[k_of(-1, 1), 1, 1] == pytest.approx(ne, rel=1e-5)
    # Neighbours outside the grid never ignite.
    assert probs[k_of(-1, 0), 0, :].max() == 0.0 and probs[k_of(0, 1), :, 2].max() == 0.0


def test_ignition_probability_from_slope_and_aspect_and_canopy():
    shape = (3, 3)
    land = landscape.from_arrays(np.full(shape, 165), np.full(shape, 20.0), np.full(shape, 180.0),
                                 canopy_cover=np.full(shape, 0.5))  # TU5, normal-density pine; upslope = north
    probs = np.asarray(ignition_probabilities(land, CALM))
    base = 0.58 * 1.4
    assert probs[k_of(-1, 0), 1, 1] == pytest.approx(min(1.0, base * math.exp(0.078 * 20.0)), rel=1e-5)
    assert probs[k_of(1, 0), 1, 1] == pytest.approx(base * math.exp(-0.078 * 20.0), rel=1e-5)
    assert probs[k_of(0, 1), 1, 1] == pytest.approx(base, rel=1e-5)  # across the slope
    theta_ne = math.degrees(math.atan(math.tan(math.radians(20.0)) / math.sqrt(2)))
    assert probs[k_of(-1, 1), 1, 1] == pytest.approx(min(1.0, base * math.exp(0.078 * theta_ne)), rel=1e-5)
    assert probs[k_of(1, 1), 1, 1] == pytest.approx(base * math.exp(-0.078 * theta_ne), rel=1e-5)


def test_vegetation_mapping_and_overrides():
    fuel = np.array([[1, 4, 8, 101], [121, 145, 183, 202]])
    cover = np.array([[0.0, 0.9, 0.5, 0.9], [0.9, 0.0, 0.2, 0.75]])
    land = landscape.from_arrays(fuel, np.zeros(fuel.shape), np.zeros(fuel.shape), canopy_cover=cover)
    p_veg, p_den = map(np.asarray, vegetation_factors(land))
    np.testing.assert_allclose(p_veg, [[-0.3, 0.0, 0.4, -0.3], [0.0, 0.0, 0.4, 0.4]], atol=1e-7)
    np.testing.assert_allclose(p_den, [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -0.4, 0.3]], atol=1e-7)
    override = AlexandridisParams(p_veg=np.full(fuel.shape, 0.1), p_den=np.full(fuel.shape, -0.2))
    p_veg, p_den = vegetation_factors(land, override)
    np.testing.assert_allclose(p_veg, 0.1, atol=1e-7)
    np.testing.assert_allclose(p_den, -0.2, atol=1e-7)


def test_same_key_same_fire_different_keys_differ():
    land = uniform()
    a = arrival_times(jax.random.key(0), land, CALM, (10, 10), 60.0)
    b = arrival_times(jax.random.key(0), land, CALM, (10, 10), 60.0)
    c = arrival_times(jax.random.key(1), land, CALM, (10, 10), 60.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_calm_flat_burn_probability_has_the_square_symmetries():
    land, ignitions = uniform(), np.tile([10, 10], (N, 1))
    prob = np.mean([burn_probability(jax.random.key(i), land, CALM, ignitions, 30.0) for i in range(10)], axis=0)
    assert prob[10, 10] == 1.0 and 0.05 < prob[10, 14] < 0.95  # informative: not all 0 or 1
    for image in (np.rot90(prob), np.fliplr(prob), np.flipud(prob), prob.T):
        assert np.abs(image - prob).max() < 0.08
        assert np.abs(image - prob).mean() < 0.015


def test_west_wind_pushes_the_fire_east():
    prob = np.asarray(burn_probability(jax.random.key(4), uniform(), Weather(20.0, 270.0), np.tile([10, 10], (N, 1)),
                                       30.0))
    east, west = prob[:, 11:].sum(), prob[:, :10].sum()
    assert east > 3 * west


def test_non_burnable_cells_never_burn():
    rng = np.random.default_rng(0)
    fuel = np.where(rng.random((21, 21)) < 0.2, 99, 102)
    fuel[10, 10], fuel[0, 0] = 102, 99
    land = landscape.from_arrays(fuel, np.zeros(fuel.shape), np.zeros(fuel.shape))
    prob = np.asarray(burn_probability(jax.random.key(5), land, Weather(15.0, 200.0), np.tile([10, 10], (N, 1)),
                                       120.0, CERTAIN))
    assert prob[fuel == 99].max() == 0.0 and prob[fuel != 99].max() == 1.0
    times = arrival_times(jax.random.key(5), land, CALM, (0, 0), 120.0, CERTAIN)
    assert np.isinf(np.asarray(times)).all()  # igniting a non-burnable cell burns nothing


def test_full_row_barrier_blocks_spread():
    land = uniform((21, 21)).with_fuel_breaks(np.arange(21)[:, None] == 12)
    times = np.asarray(arrival_times(jax.random.key(6), land, CALM, (3, 5), 1e4, CERTAIN))
    assert np.isfinite(times[:12]).all() and np.isinf(times[12:]).all()  # reaches the barrier everywhere, no further
    prob = burn_probability(jax.random.key(6), land, Weather(40.0, 0.0), np.tile([3, 5], (N, 1)), 1e4)
    assert np.asarray(prob)[12:].max() == 0.0


def test_diagonal_barrier_rule():
    rows, cols = np.indices((21, 21))
    land = uniform((21, 21)).with_fuel_breaks(rows == cols)  # cells touching only at corners
    times = np.asarray(arrival_times(jax.random.key(7), land, CALM, (2, 15), 1e4, CERTAIN))
    assert np.isfinite(times[rows < cols]).all() and np.isinf(times[rows >= cols]).all()
    # One non-burnable orthogonal cell does not block the diagonal; two do.
    one = uniform((3, 3)).with_fuel_breaks(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], bool))
    two = uniform((3, 3)).with_fuel_breaks(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], bool))
    k = k_of(-1, 1)
    assert ignition_probabilities(one, CALM)[k, 1, 1] > 0 and ignition_probabilities(two, CALM)[k, 1, 1] == 0


def test_arrival_times_are_whole_steps_and_zero_only_at_ignition():
    params = AlexandridisParams(step_minutes=2.5, p_h=0.9)
    times = np.asarray(arrival_times(jax.random.key(8), uniform(), Weather(10.0, 300.0), (10, 10), 40.0, params))
    finite = times[np.isfinite(times)]
    assert finite.size > 1 and finite.max() <= 40.0
    np.testing.assert_allclose(finite / 2.5, np.round(finite / 2.5), atol=1e-5)
    assert list(zip(*np.nonzero(times == 0))) == [(10, 10)]
    # With p_burn = 1 everywhere the front is the Chebyshev ball: arrival = steps * step_minutes.
    times = np.asarray(arrival_times(jax.random.key(8), uniform(), CALM, (10, 10), 1e4, CERTAIN))
    rows, cols = np.indices(times.shape)
    np.testing.assert_allclose(times, 3.0 * np.maximum(abs(rows - 10), abs(cols - 10)))


def test_batched_equals_looped():
    land, weather = uniform(), Weather(10.0, 250.0)
    ignitions = np.random.default_rng(1).integers(0, 21, (N, 2))
    key = jax.random.key(9)
    keys = jax.random.split(key, N)
    looped = np.stack([arrival_times(k, land, weather, i, 45.0) for k, i in zip(keys, ignitions)])
    batched = jax.vmap(arrival_times, (0, None, None, 0, None))(keys[:3], land, weather, ignitions[:3], 45.0)
    np.testing.assert_array_equal(batched, looped[:3])
    np.testing.assert_allclose(burn_probability(key, land, weather, ignitions, 45.0),
                               np.isfinite(looped).mean(0), atol=1e-6)
