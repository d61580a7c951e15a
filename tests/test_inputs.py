"""Landscape and weather constructors reject bad input with errors that name the problem."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxfire
from jaxfire import landscape
from jaxfire.weather import MOISTURE_SCENARIOS

SHAPE = (4, 5)


def layers(**overrides):
    base = dict(fuel_model=np.full(SHAPE, 101), slope_deg=np.zeros(SHAPE), aspect_deg=np.zeros(SHAPE))
    base.update(overrides)
    return base


def test_valid_landscape_round_trip():
    land = landscape.from_arrays(**layers(aspect_deg=np.full(SHAPE, -90.0)), canopy_cover=np.full(SHAPE, 0.5),
                                 canopy_height=np.full(SHAPE, 20.0), canopy_base_height=np.full(SHAPE, 4.0))
    assert land.shape == SHAPE and land.fuel_model.dtype == jnp.int32
    assert float(land.aspect_deg[0, 0]) == 270.0
    assert int(land.burnable.sum()) == 20
    treated = land.with_fuel_breaks(jnp.zeros(SHAPE, bool).at[1, 2].set(True))
    assert int(treated.burnable.sum()) == 19 and int(land.burnable.sum()) == 20  # the original is untouched


@pytest.mark.parametrize("overrides,message", [
    (dict(fuel_model=np.full(SHAPE, 150)), r"unknown fuel-model code\(s\) \[150\]"),
    (dict(fuel_model=np.full((3, 5), 101)), "slope_deg has shape"),
    (dict(slope_deg=np.full((4, 4), 1.0)), "slope_deg has shape"),
    (dict(slope_deg=np.where(np.eye(4, 5) > 0, np.nan, 0.0)), "slope_deg contains NaN"),
    (dict(slope_deg=np.full(SHAPE, 95.0)), "slope_deg must be <="),
    (dict(slope_deg=np.full(SHAPE, -1.0)), "slope_deg must be >="),
    (dict(aspect_deg=np.full(SHAPE, np.inf)), "aspect_deg contains inf"),
    (dict(fuel_model=np.full(SHAPE, 101.5)), "whole-number"),
    (dict(fuel_model=np.full(SHAPE, "GR1")), "numeric"),
    (dict(fuel_model=np.full((5,), 101)), "2-D"),
])
def test_bad_landscape_layers(overrides, message):
    with pytest.raises(ValueError, match=message):
        landscape.from_arrays(**layers(**overrides))


def test_bad_canopy_and_cell_size():
    with pytest.raises(ValueError, match="divide percent cover by 100"):
        landscape.from_arrays(**layers(), canopy_cover=np.full(SHAPE, 60.0))
    with pytest.raises(ValueError, match="canopy_base_height exceeds canopy_height"):
        landscape.from_arrays(**layers(), canopy_height=np.full(SHAPE, 5.0), canopy_base_height=np.full(SHAPE, 8.0))
    with pytest.raises(ValueError, match="cell_size_m"):
        landscape.from_arrays(**layers(), cell_size_m=0.0)


def test_weather_scenarios_and_errors():
    assert MOISTURE_SCENARIOS["default"] == (0.05, 0.10, 0.25, 0.90, 0.60)
    np.testing.assert_allclose(jaxfire.Weather(10.0, 90.0).moisture, [0.05, 0.10, 0.25, 0.90, 0.60])
    np.testing.assert_allclose(jaxfire.Weather(10.0, 90.0, "D1L1").moisture, [0.03, 0.04, 0.05, 0.30, 0.60])
    with pytest.raises(ValueError, match="unknown moisture scenario 'wet'"):
        jaxfire.Weather(10.0, 0.0, "wet")
    with pytest.raises(ValueError, match="5 values"):
        jaxfire.Weather(10.0, 0.0, (0.1, 0.1))
    with pytest.raises(ValueError, match="wind_speed_kmh must be >= 0"):
        jaxfire.Weather(-3.0, 0.0)
    with pytest.raises(ValueError, match="wind_from_deg must be finite"):
        jaxfire.Weather(3.0, np.nan)


def test_weather_is_a_vmappable_pytree():
    batch = jax.vmap(lambda s: jaxfire.Weather(s, 0.0, jnp.full(5, 0.1)))(jnp.arange(3.0))
    assert batch.wind_speed_kmh.shape == (3,) and batch.moisture.shape == (3, 5)
