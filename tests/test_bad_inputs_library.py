"""Bad input to the fire, landscape and weather library (the rule of :mod:`jaxfire.validation`).

Every visible bad value raises an error naming the argument (first table); the same values given as traced values
inside ``jit``/``vmap`` give NaN results, never a plausible fire (second table).  Valid traced input gives exactly
the eager answer.  8x8 grids; the traced cases share one compiled program per function.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import fire, landscape, stochastic, validation
from jaxfire.evaluation import burned_fractions
from jaxfire.weather import Weather

SHAPE = (8, 8)
NAN = float("nan")


@pytest.fixture(scope="module")
def land():
    return landscape.from_arrays(np.full(SHAPE, 102), np.zeros(SHAPE), np.zeros(SHAPE))


GOOD = dict(weather=Weather(20.0, 270.0), ignition=(4, 4), ignitions=np.array([[4, 4], [1, 2]]), max_minutes=60.0)


def arrival(land, **bad):
    kw = {**GOOD, **bad}
    return fire.arrival_times(land, kw["weather"], kw["ignition"], kw["max_minutes"])


def probability(land, **bad):
    kw = {**GOOD, **bad}
    return fire.burn_probability(land, kw["weather"], kw["ignitions"], kw["max_minutes"])


def layers(**overrides):
    return {**dict(fuel_model=np.full(SHAPE, 102), slope_deg=np.zeros(SHAPE), aspect_deg=np.zeros(SHAPE)), **overrides}


# (case, call(land), error, message fragment)
EAGER = [
    # weather given as JAX values: not validated by the constructor, refused where it is used
    ("wind NaN (jax)", lambda l: arrival(l, weather=Weather(jnp.float32(NAN), 0.0)), ValueError,
     "weather.wind_speed_kmh must be a finite number >= 0, got nan"),
    ("wind negative (jax)", lambda l: probability(l, weather=Weather(jnp.float32(-5.0), 0.0)), ValueError,
     "weather.wind_speed_kmh must be a finite number >= 0, got -5.0"),
    ("wind inf", lambda l: arrival(l, weather=Weather(float("inf"), 0.0)), ValueError, "wind_speed_kmh must be finite"),
    ("wind a string", lambda l: arrival(l, weather=Weather("20", 0.0)), TypeError, "weather.wind_speed_kmh"),
    ("direction NaN (jax)", lambda l: arrival(l, weather=Weather(20.0, jnp.float32(NAN))), ValueError,
     "weather.wind_from_deg must be a finite number"),
    ("moisture negative (jax)", lambda l: arrival(l, weather=Weather(20.0, 0.0, jnp.array([.05, .1, .25, .9, -.6]))),
     ValueError, "weather.moisture must be a finite number in (0, 5]"),
    ("moisture NaN (jax)", lambda l: arrival(l, weather=Weather(20.0, 0.0, jnp.full(5, NAN))), ValueError,
     "weather.moisture must be a finite number in (0, 5]"),
    ("moisture wrong length (jax)", lambda l: arrival(l, weather=Weather(20.0, 0.0, jnp.full(4, 0.1))), ValueError,
     "weather.moisture must have 5 values"),
    ("moisture wrong length", lambda l: arrival(l, weather=Weather(20.0, 0.0, (0.1, 0.1))), ValueError, "5 values"),
    ("moisture unknown name", lambda l: arrival(l, weather=Weather(20.0, 0.0, "wet")), ValueError,
     "unknown moisture scenario 'wet'"),
    ("weather None", lambda l: arrival(l, weather=None), TypeError, "weather must be a jaxfire.Weather"),
    # the cap
    ("cap NaN", lambda l: arrival(l, max_minutes=NAN), ValueError, "max_minutes must be a number (not NaN) >= 0"),
    ("cap negative", lambda l: probability(l, max_minutes=-1.0), ValueError, "max_minutes must be a number"),
    ("cap NaN (jax)", lambda l: probability(l, max_minutes=jnp.float32(NAN)), ValueError, "max_minutes"),
    ("cap a string", lambda l: arrival(l, max_minutes="480"), TypeError, "max_minutes must be"),
    ("cap None", lambda l: arrival(l, max_minutes=None), TypeError, "max_minutes must be"),
    ("cap batched", lambda l: arrival(l, max_minutes=jnp.array([60.0, 120.0])), ValueError,
     "max_minutes must be one number of minutes, got shape (2,)"),
    # one ignition
    ("ignition north of the grid", lambda l: arrival(l, ignition=(-1, 5)), ValueError,
     "ignition = (-1, 5) is not a whole cell of the 8x8 grid"),
    ("ignition past the corner", lambda l: arrival(l, ignition=(8, 8)), ValueError, "ignition = (8, 8)"),
    ("ignition not a whole cell", lambda l: arrival(l, ignition=(4.5, 4.0)), ValueError, "(4.5, 4.0) is not a whole"),
    ("ignition NaN (jax)", lambda l: arrival(l, ignition=jnp.array([NAN, 1.0])), ValueError, "is not a whole cell"),
    ("ignition None", lambda l: arrival(l, ignition=None), TypeError, "ignition must be a (row, col) pair"),
    ("ignition a string", lambda l: arrival(l, ignition="a1"), TypeError, "ignition must be a (row, col) pair"),
    ("ignition three numbers", lambda l: arrival(l, ignition=(1, 2, 3)), ValueError,
     "ignition must be a (row, col) pair or a bool[8, 8] mask, got shape (3,)"),
    ("ignition mask of the wrong shape", lambda l: arrival(l, ignition=np.ones((3, 3), bool)), ValueError,
     "got shape (3, 3)"),
    ("ignition mask with no cell", lambda l: arrival(l, ignition=np.zeros(SHAPE, bool)), ValueError,
     "ignition has no burning cell"),
    ("ignition pair of booleans", lambda l: arrival(l, ignition=np.array([True, False])), TypeError,
     "integer (row, col)"),
    # a batch of ignitions
    ("ignitions empty", lambda l: probability(l, ignitions=np.zeros((0, 2), int)), ValueError,
     "ignitions is empty (shape (0, 2))"),
    ("one bad row among good ones", lambda l: probability(l, ignitions=np.array([[1, 1], [2, 2], [8, 0]])), ValueError,
     "ignitions row 2 = (8, 0) is not a whole cell"),
    ("ignitions not whole cells", lambda l: probability(l, ignitions=np.array([[1.5, 1.0]])), ValueError,
     "ignitions row 0 = (1.5, 1.0)"),
    ("ignitions wrong shape", lambda l: probability(l, ignitions=np.zeros((3, 3), int)), ValueError,
     "ignitions must be int[N, 2]"),
    ("ignitions None", lambda l: probability(l, ignitions=None), TypeError, "ignitions must be int[N, 2]"),
    ("expected fraction, bad row", lambda l: fire.expected_burned_fraction(l, Weather(), np.array([[0, -1]]), 60.0),
     ValueError, "ignitions row 0 = (0, -1)"),
    ("DPV, NaN cap", lambda l: fire.dpv_scores(l, Weather(), np.array([[1, 1]]), NAN), ValueError, "max_minutes"),
    ("spread grid, negative wind (jax)", lambda l: fire.spread_grid(l, Weather(jnp.float32(-1.0))), ValueError,
     "weather.wind_speed_kmh"),
    ("solve_many, out of grid", lambda l: fire.solve_many(fire.spread_grid(l, Weather()), np.array([[9, 9]]), 60.0),
     ValueError, "ignitions row 0 = (9, 9)"),
    ("planning maps, empty", lambda l: fire.planning_maps(fire.spread_grid(l, Weather()), np.zeros((0, 2), int), 9.0),
     ValueError, "ignitions is empty"),
    ("evaluation fires, bad row", lambda l: burned_fractions(l, Weather(), np.array([[0, 99]]), 60.0,
                                                             np.zeros(SHAPE, bool)), ValueError, "(0, 99)"),
    ("stochastic, NaN wind (jax)", lambda l: stochastic.arrival_times(jax.random.key(0), l, Weather(jnp.float32(NAN)),
                                                                      (1, 1), 60.0), ValueError, "wind_speed_kmh"),
    ("stochastic, empty batch", lambda l: stochastic.burn_probability(
        jax.random.key(0), l, Weather(), np.zeros((0, 2), int), 60.0), ValueError, "empty"),
    # sampling ignitions
    ("sample no ignitions", lambda l: fire.sample_ignitions(jax.random.key(0), l.burnable, 0), ValueError,
     "count (the number of ignitions) must be a whole number >= 1, got 0"),
    ("sample 2.5 ignitions", lambda l: fire.sample_ignitions(jax.random.key(0), l.burnable, 2.5), ValueError,
     "whole number"),
    ("ignition map of the wrong shape", lambda l: fire.sample_ignitions(
        jax.random.key(0), l.burnable, 3, np.ones((4, 4))), ValueError, "has shape (4, 4)"),
    ("ignition map all zero", lambda l: fire.sample_ignitions(jax.random.key(0), l.burnable, 3, np.zeros(SHAPE)),
     ValueError, "zero on every burnable cell"),
    ("ignition map negative", lambda l: fire.sample_ignitions(jax.random.key(0), l.burnable, 3, -np.ones(SHAPE)),
     ValueError, "finite and >= 0"),
    # landscapes: from_arrays names the cell; a Landscape changed afterwards is checked where it is used
    ("NaN slope (jax)", lambda l: arrival(l.replace(slope_deg=l.slope_deg.at[2, 2].set(NAN))), ValueError,
     "landscape.slope_deg must hold a finite number in [0, 89.9] in every cell"),
    ("cover in percent (jax)", lambda l: probability(l.replace(canopy_cover=l.canopy_cover + 50.0)), ValueError,
     "landscape.canopy_cover must hold a finite number in [0, 1]"),
    ("unknown fuel code (jax)", lambda l: fire.spread_grid(l.replace(fuel_model=l.fuel_model.at[0, 0].set(150)),
                                                           Weather()), ValueError,
     "landscape.fuel_model must hold known fuel-model codes"),
    ("landscape None", lambda l: fire.spread_grid(None, Weather()), TypeError, "landscape must be a jaxfire Landscape"),
    ("cell size a string", lambda l: landscape.from_arrays(**layers(), cell_size_m="30"), TypeError,
     "cell_size_m (metres) must be a finite number > 0, got '30'"),
    ("cell size NaN", lambda l: landscape.from_arrays(**layers(), cell_size_m=NAN), ValueError, "cell_size_m"),
    ("cell size negative", lambda l: landscape.from_arrays(**layers(), cell_size_m=-30), ValueError, "cell_size_m"),
    ("from_arrays inside jit", lambda l: jax.jit(landscape.from_arrays)(**layers()), TypeError,
     "cannot run inside jax.jit/vmap: fuel_model is traced"),
    ("canopy cover in percent", lambda l: landscape.from_arrays(**layers(), canopy_cover=np.full(SHAPE, 60.0)),
     ValueError, "divide percent cover by 100"),
    ("slope NaN", lambda l: landscape.from_arrays(**layers(slope_deg=np.full(SHAPE, NAN))), ValueError,
     "slope_deg contains NaN"),
]


@pytest.mark.parametrize("call,error,message", [case[1:] for case in EAGER], ids=[case[0] for case in EAGER])
def test_visible_bad_input_raises_naming_it(land, call, error, message):
    with pytest.raises(error) as raised:
        call(land)
    assert message in str(raised.value)


def test_a_nan_grid_is_refused_where_it_is_visible(land):
    """A grid computed inside jit from a bad weather is NaN; solving on it outside jit raises."""
    grid = jax.jit(fire.spread_grid)(land, Weather(jnp.float32(-1.0)))
    assert np.isnan(np.asarray(grid.step_minutes)).all()
    with pytest.raises(ValueError, match="grid has NaN step times"):
        fire.solve(grid, (1, 1), 60.0)
    with pytest.raises(ValueError, match="grid has NaN step times"):
        fire.grid_burn_probability(grid, np.array([[1, 1]]), 60.0)


@pytest.fixture(scope="module")
def traced_probability(land):
    """One compiled program: burn probability with every input traced."""
    return jax.jit(lambda wind, direction, moisture, cap, ignitions: fire.burn_probability(
        land, Weather(wind, direction, moisture), ignitions, cap))


MOISTURE = np.array([0.05, 0.10, 0.25, 0.90, 0.60], np.float32)
TRACED = {  # case -> (wind, direction, moisture, cap, ignitions)
    "wind NaN": (NAN, 0.0, MOISTURE, 60.0, [[4, 4], [1, 2]]),
    "wind negative": (-5.0, 0.0, MOISTURE, 60.0, [[4, 4], [1, 2]]),
    "direction NaN": (20.0, NAN, MOISTURE, 60.0, [[4, 4], [1, 2]]),
    "moisture negative": (20.0, 0.0, -MOISTURE, 60.0, [[4, 4], [1, 2]]),
    "moisture NaN": (20.0, 0.0, MOISTURE * NAN, 60.0, [[4, 4], [1, 2]]),
    "moisture above 5": (20.0, 0.0, MOISTURE * 100, 60.0, [[4, 4], [1, 2]]),
    "cap NaN": (20.0, 0.0, MOISTURE, NAN, [[4, 4], [1, 2]]),
    "cap negative": (20.0, 0.0, MOISTURE, -1.0, [[4, 4], [1, 2]]),
    "ignition out of grid": (20.0, 0.0, MOISTURE, 60.0, [[4, 4], [8, 8]]),
    "ignition negative": (20.0, 0.0, MOISTURE, 60.0, [[-1, 5], [1, 2]]),
}


def traced_arguments(wind, direction, moisture, cap, ignitions):
    return (jnp.float32(wind), jnp.float32(direction), jnp.asarray(moisture, jnp.float32), jnp.float32(cap),
            jnp.asarray(ignitions, jnp.int32))


@pytest.mark.parametrize("case", list(TRACED))
def test_traced_bad_input_gives_nan_not_a_plausible_fire(traced_probability, case):
    result = np.asarray(traced_probability(*traced_arguments(*TRACED[case])))
    assert np.isnan(result).all(), case


def test_traced_valid_input_gives_the_eager_answer(land, traced_probability):
    traced = traced_probability(*traced_arguments(20.0, 0.0, MOISTURE, 60.0, [[4, 4], [1, 2]]))
    eager = fire.burn_probability(land, Weather(20.0, 0.0, tuple(MOISTURE.tolist())), np.array([[4, 4], [1, 2]]), 60.0)
    np.testing.assert_array_equal(np.asarray(traced), np.asarray(eager))
    assert np.isfinite(np.asarray(traced)).all() and np.asarray(traced).max() == 1.0


@pytest.mark.slow
def test_nan_reaches_every_result_inside_jit(land):
    """Arrival times, burned counts (-1), expected fraction, DPV and planning maps, per-fire fractions, a vmapped
    weather batch (only its bad member), a NaN landscape layer and the stochastic model."""
    grid = fire.spread_grid(land, Weather())
    times = jax.jit(lambda cap: fire.solve_many(grid, jnp.array([[1, 1], [5, 5]]), cap))(jnp.float32(NAN))
    assert np.isnan(np.asarray(times)).all()
    probability, count = fire.burned_summary(times)
    assert np.isnan(np.asarray(probability)).all() and int(count) == -1
    fraction = jax.jit(lambda w: fire.expected_burned_fraction(land, Weather(w), jnp.array([[1, 1]]), 60.0))(-1.0)
    assert np.isnan(float(fraction))
    maps = jax.jit(lambda cap: fire.planning_maps(grid, jnp.array([[1, 1]]), cap))(jnp.float32(-3.0))
    assert np.isnan(np.asarray(maps)).all()
    per_fire = jax.jit(lambda ig: burned_fractions(land, Weather(), ig, 60.0, jnp.zeros(SHAPE, bool)))(
        jnp.array([[1, 1], [2, 20]]))
    assert np.isnan(np.asarray(per_fire)).all()
    batch = jax.vmap(lambda w: fire.arrival_times(land, Weather(w, 0.0), (4, 4), 60.0))(jnp.array([10.0, NAN]))
    assert np.isfinite(np.asarray(batch[0])).any() and np.isnan(np.asarray(batch[1])).all()
    on = jax.jit(lambda s, f: fire.arrival_times(land.replace(slope_deg=s, fuel_model=f), Weather(), (4, 4), 60.0))
    assert np.isnan(np.asarray(on(land.slope_deg.at[2, 2].set(NAN), land.fuel_model))).all()
    assert np.isnan(np.asarray(on(land.slope_deg, land.fuel_model.at[0, 0].set(150)))).all()
    np.testing.assert_array_equal(np.asarray(on(land.slope_deg, land.fuel_model)),
                                  np.asarray(fire.arrival_times(land, Weather(), (4, 4), 60.0)))
    stochastic_times = jax.jit(lambda w: stochastic.arrival_times(jax.random.key(0), land, Weather(w), (1, 1), 60.0))(
        jnp.float32(NAN))
    assert np.isnan(np.asarray(stochastic_times)).all()


def test_checked_entry_point_raises_on_traced_bad_input(land):
    run = validation.checked(lambda wind: fire.burn_probability(land, Weather(wind), jnp.array([[1, 1]]), 60.0))
    assert np.isfinite(np.asarray(run(jnp.float32(10.0)))).all()
    with pytest.raises(ValueError, match="invalid input to <lambda>: its result is NaN"):
        run(jnp.float32(-10.0))
