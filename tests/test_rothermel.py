"""Rothermel surface fire: agreement with pyretechnics reference values, heading convention, invariants."""
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import fuels, rothermel
from jaxfire.landscape import from_arrays
from jaxfire.weather import Weather

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "rothermel_ros.json"
DEFAULT_MOISTURE = (0.05, 0.10, 0.25, 0.90, 0.60)
BURNABLE = np.array(fuels.BURNABLE_CODES)
MATCHED_FIELDS = ["R0_m_min", "R_head_m_min", "R_back_m_min", "R_flank_m_min", "length_to_width", "eccentricity",
                  "I_head_kW_m", "flame_length_m", "midflame_wind_m_min", "wind_adjustment_factor"]


@pytest.fixture(scope="module")
def reference():
    """(rows, SurfaceFire computed for every row) from pyretechnics' rothermel_ros.json."""
    if not REFERENCE.exists():
        pytest.skip(f"pyretechnics reference data not found at {REFERENCE}")
    data = json.loads(REFERENCE.read_text())
    moisture = {name: [m["d1"], m["d10"], m["d100"], m["lh"], m["lw"]] for name, m in data["moisture_sets"].items()}
    rows = data["rows"]
    column = lambda key: np.array([r[key] for r in rows])  # noqa: E731
    fire = rothermel.surface_fire(column("fuel"), column("slope_deg"), column("aspect_deg"), column("wind_10m_kmh"),
                                  column("wind_from_deg"), np.array([moisture[r["moisture_set"]] for r in rows]))
    return rows, fire


@pytest.mark.parametrize("field", MATCHED_FIELDS)
def test_matches_pyretechnics_to_float32_precision(reference, field):
    """The README's claim: within 3e-6 relative of pyretechnics on every field (float32 arithmetic; 1e-5 allowed)."""
    rows, fire = reference
    known = np.array([r[field] is not None for r in rows])      # the wind adjustment factor is null without wind
    expected = np.array([r[field] if r[field] is not None else np.nan for r in rows])[known]
    got = np.asarray(getattr(fire, field))[known]
    rel = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-3)
    worst = int(np.argmax(rel))
    assert rel[worst] < 1e-5, f"{field}: {got[worst]} vs {expected[worst]} ({np.flatnonzero(known)[worst]}th row)"


def test_wind_limited_flag_and_horizontal_rate(reference):
    rows, fire = reference
    assert np.array_equal(np.asarray(fire.wind_limited), [r["wind_limited"] for r in rows])
    horizontal = np.asarray(fire.R_head_m_min) * np.cos(np.deg2rad([r["slope_deg"] for r in rows]))
    np.testing.assert_allclose(horizontal, [r["R_head_horizontal_m_min"] for r in rows], rtol=1e-5)


def test_reference_heading_is_north(reference):
    """Wind from the south blowing upslope on a south-facing slope: the head runs north (or anywhere with no drive)."""
    rows, fire = reference
    driven = np.array([r["wind_10m_kmh"] > 0 or r["slope_deg"] > 0 for r in rows])
    heading = np.asarray(fire.heading_deg)[driven]
    np.testing.assert_allclose(np.minimum(heading, 360 - heading), 0.0, atol=1e-3)


def test_fuel_names(reference):
    rows, _ = reference
    assert all(rothermel.fuel_name(r["fuel"]) == r["fuel_name"] for r in rows)
    assert set(rothermel.FUEL_MODELS) == set(fuels.BURNABLE_CODES)
    assert rothermel.fuel_name(98) == "NB8"
    with pytest.raises(ValueError):
        rothermel.fuel_name(50)


def test_matches_pyretechnics_scenario_theory():
    """The level-set scenarios' theoretical rates (west winds on flat ground, slopes without wind)."""
    path = REFERENCE.with_name("pyretechnics_scenarios.json")
    if not path.exists():
        pytest.skip(f"pyretechnics scenarios not found at {path}")
    data = json.loads(path.read_text())
    m = data["moisture_sets"]["default"]
    runs = [r for group in ("homogeneous", "wind_ellipse", "slope") for r in data[group]]
    column = lambda key: np.array([r[key] for r in runs])  # noqa: E731
    got = rothermel.surface_fire(column("fuel"), column("slope_deg"), column("aspect_deg"), column("wind_kmh"),
                                 column("wind_from_deg"), jnp.array([m["d1"], m["d10"], m["d100"], m["lh"], m["lw"]]))
    for key, field in [("R0", "R0_m_min"), ("R_head", "R_head_m_min"), ("R_back", "R_back_m_min"),
                       ("R_flank", "R_flank_m_min"), ("LW", "length_to_width"), ("eccentricity", "eccentricity")]:
        np.testing.assert_allclose(getattr(got, field), [r["theory"][key] for r in runs], rtol=0.01, atol=1e-4)
    driven = (column("wind_kmh") > 0) | (column("slope_deg") > 0)
    expected = (np.where(column("wind_kmh") > 0, column("wind_from_deg"), column("aspect_deg")) + 180) % 360
    np.testing.assert_allclose(np.asarray(got.heading_deg)[driven], expected[driven], atol=1e-3)


def fire(code=122, slope=0.0, aspect=180.0, wind=0.0, wind_from=270.0, moisture=DEFAULT_MOISTURE, **kw):
    return rothermel.surface_fire(code, slope, aspect, wind, wind_from, jnp.asarray(moisture), **kw)


def grid_fire(code=122, slope=0.0, wind=0.0, moisture=DEFAULT_MOISTURE, wind_from=270.0, use_wind_limit=True):
    """``fire`` on a [5, 53] grid (5 settings x every burnable model); one shape keeps jit compiles to a minimum."""
    shape = (5, BURNABLE.size)
    full = lambda x: np.broadcast_to(np.asarray(x, np.float32), shape)  # noqa: E731
    return rothermel.surface_fire(np.broadcast_to(code, shape).astype(np.int32), full(slope), full(180.0), full(wind),
                                  full(wind_from), np.broadcast_to(np.asarray(moisture, np.float32), shape + (5,)),
                                  use_wind_limit=use_wind_limit)


@pytest.mark.parametrize("wind_from, aspect, slope, heading", [
    (270.0, 0.0, 0.0, 90.0),      # flat, west wind: head runs east
    (0.0, 123.0, 0.0, 180.0),     # flat, north wind: head runs south whatever the aspect
    (0.0, 90.0, 20.0, 270.0),     # no wind (speed 0 below), east-facing slope: head runs upslope = west
])
def test_hand_headings(wind_from, aspect, slope, heading):
    wind = 0.0 if slope else 15.0
    got = float(fire(slope=slope, aspect=aspect, wind=wind, wind_from=wind_from).heading_deg)
    assert abs((got - heading + 180) % 360 - 180) < 1e-3


def test_cross_wind_heading_between_wind_and_upslope():
    # Upslope is north (0, aspect 180); a west wind blows east (90): the head runs between them on the map.
    heading = np.asarray(grid_fire(BURNABLE, slope=[[5.0], [15.0], [25.0], [35.0], [45.0]], wind=12.0).heading_deg)
    assert np.all((heading > 0.5) & (heading < 89.5)), heading


WINDS = [[0.0], [3.0], [8.0], [20.0], [40.0]]


def test_rates_increase_with_wind_and_slope():
    unlimited = np.asarray(grid_fire(BURNABLE, wind=WINDS, use_wind_limit=False).R_head_m_min)
    assert np.all(np.diff(unlimited, axis=0) > 0)
    limited = np.asarray(grid_fire(BURNABLE, wind=WINDS).R_head_m_min)
    assert np.all(np.diff(limited, axis=0) >= 0) and np.all(limited <= unlimited * (1 + 1e-6))
    by_slope = np.asarray(grid_fire(BURNABLE, slope=[[0.0], [5.0], [15.0], [30.0], [45.0]]).R_head_m_min)
    assert np.all(np.diff(by_slope, axis=0) > 0)


def test_rates_decrease_with_dead_moisture():
    dead = np.array([0.02, 0.04, 0.06, 0.09, 0.12])[:, None, None] * [1.0, 1.2, 1.5]
    moisture = np.concatenate([dead, np.broadcast_to([0.9, 1.2], (5, 1, 2))], -1)
    r0 = np.asarray(grid_fire(BURNABLE, moisture=moisture).R0_m_min)
    assert np.all(r0[0] > 0)
    assert np.all(np.diff(r0, axis=0) <= 0) and np.all(np.diff(r0[:3], axis=0) < 0)


def test_non_burnable_cells_do_not_burn():
    got = grid_fire(np.resize(fuels.NONBURNABLE_CODES, BURNABLE.size), slope=30.0, wind=30.0)
    for name in ("R0_m_min", "R_head_m_min", "R_back_m_min", "R_flank_m_min", "eccentricity", "I_head_kW_m",
                 "flame_length_m", "reaction_intensity_kW_m2"):
        assert np.all(np.asarray(getattr(got, name)) == 0), name
    assert np.all(np.asarray(got.length_to_width) == 1) and not np.any(np.asarray(got.wind_limited))


def test_canopy_shelters_wind():
    cover, height_m = 0.5, 20.0
    height_ft = height_m * rothermel.M_TO_FT
    expected = 0.555 / (np.sqrt(cover / 3 * height_ft) * np.log((20 + 0.36 * height_ft) / (0.13 * height_ft)))
    sheltered = fire(code=165, wind=20.0, canopy_cover=cover, canopy_height_m=height_m)
    open_ = fire(code=165, wind=20.0)
    np.testing.assert_allclose(float(sheltered.wind_adjustment_factor), expected, rtol=1e-5)
    assert float(sheltered.R_head_m_min) < float(open_.R_head_m_min)


def test_grid_vmap_and_per_cell_calls_agree():
    rng = np.random.default_rng(0)
    shape = (3, 4)
    codes = rng.choice(np.array(fuels.KNOWN_CODES), shape)
    slope, aspect, wind, wind_from = (rng.uniform(0, 40, shape), rng.uniform(0, 360, shape),
                                      rng.uniform(0, 40, shape), rng.uniform(0, 360, shape))
    grid = fire(codes, slope, aspect, wind, wind_from)
    mapped = jax.vmap(fire, in_axes=(0, 0, 0, 0, 0))(codes, slope, aspect, wind, wind_from)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), grid, mapped)
    for i, j in np.ndindex(shape):   # one cell at a time: scalar inputs, nothing broadcast
        cell = fire(int(codes[i, j]), float(slope[i, j]), float(aspect[i, j]), float(wind[i, j]),
                    float(wind_from[i, j]))
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i, j], b, rtol=1e-5, atol=1e-6), grid, cell)
    assert grid.R_head_m_min.shape == shape


def test_landscape_fire_matches_surface_fire():
    codes = np.array([[101, 122, 99], [165, 1, 183]])
    slope = np.array([[0.0, 10.0, 5.0], [20.0, 30.0, 0.0]])
    aspect = np.array([[0.0, 90.0, 180.0], [270.0, 45.0, 10.0]])
    cover = np.array([[0.0, 0.0, 0.0], [0.6, 0.0, 0.3]])
    height = np.array([[0.0, 0.0, 0.0], [25.0, 0.0, 15.0]])
    land = from_arrays(codes, slope, aspect, canopy_cover=cover, canopy_height=height)
    weather = Weather(18.0, 225.0, "D2L2")
    got = rothermel.landscape_fire(land, weather)
    want = rothermel.surface_fire(codes, slope, aspect, 18.0, 225.0, weather.moisture, cover, height)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), got, want)
    assert got.R_head_m_min.shape == (2, 3) and float(got.R_head_m_min[0, 2]) == 0
