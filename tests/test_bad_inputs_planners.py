"""Bad input to every planner: refused with an error naming it before any planning fire is simulated.

Plans are boolean masks and cannot carry NaN, so planners must raise on everything they can see: out-of-grid or
fractional ignitions, NaN or negative caps, NaN or negative winds, fractional, negative, batched or oversized
budgets.  Every case fails before compilation (8x8 grids).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import landscape
from jaxfire.planners import PLANNERS
from jaxfire.weather import Weather

SHAPE = (8, 8)
NAN = float("nan")


@pytest.fixture(scope="module")
def land():
    return landscape.from_arrays(np.full(SHAPE, 102), np.zeros(SHAPE), np.zeros(SHAPE))


BAD = [  # (case, keyword overrides, error, message fragment)
    ("ignition off the grid", dict(ignitions=np.array([[1, 1], [8, 3]])), ValueError,
     "ignitions row 1 = (8, 3) is not a whole cell of the 8x8 grid"),
    ("negative ignition", dict(ignitions=np.array([[-1, 0]])), ValueError, "ignitions row 0 = (-1, 0)"),
    ("fractional ignition", dict(ignitions=np.array([[1.5, 2.0]])), ValueError, "(1.5, 2.0) is not a whole cell"),
    ("empty ignitions", dict(ignitions=np.zeros((0, 2), int)), ValueError, "ignitions is empty"),
    ("ignitions of the wrong shape", dict(ignitions=np.zeros((2, 3), int)), ValueError, "ignitions must be int[N, 2]"),
    ("NaN cap", dict(max_minutes=NAN), ValueError, "max_minutes must be a number (not NaN) >= 0, got nan"),
    ("negative cap", dict(max_minutes=-60.0), ValueError, "max_minutes must be a number (not NaN) >= 0, got -60.0"),
    ("batched cap", dict(max_minutes=np.array([60.0, 90.0])), ValueError, "max_minutes must be one number"),
    ("NaN wind", dict(weather=Weather(jnp.float32(NAN))), ValueError, "weather.wind_speed_kmh"),
    ("negative wind", dict(weather=Weather(jnp.float32(-3.0))), ValueError, "weather.wind_speed_kmh"),
    ("fractional budget", dict(budget_cells=2.5), ValueError, "budget_cells must be one whole number of cells"),
    ("float budget", dict(budget_cells=3.0), ValueError, "budget_cells must be one whole number of cells"),
    ("NaN budget", dict(budget_cells=NAN), ValueError, "budget_cells"),
    ("negative budget", dict(budget_cells=-1), ValueError, "budget_cells must be >= 0, got -1"),
    ("budget above the burnable cells", dict(budget_cells=65), ValueError, "exceeds the 64 burnable cells"),
    ("batched budget", dict(budget_cells=np.array([1, 2])), ValueError, "budget_cells must be one whole number"),
    ("budget None", dict(budget_cells=None), ValueError, "budget_cells"),
    ("no planning fires", dict(num_ignitions=0), ValueError, "count (the number of ignitions) must be a whole number"),
]


@pytest.mark.parametrize("name", sorted(PLANNERS))
@pytest.mark.parametrize("case,overrides,error,message", BAD, ids=[c[0] for c in BAD])
def test_planner_refuses_bad_input(land, name, case, overrides, error, message):
    if name in ("random", "domirank") and case == "no planning fires":
        pytest.skip(f"{name} plans without fires")
    kwargs = {"weather": Weather(20.0, 270.0), "budget_cells": 3, "num_ignitions": 4, "max_minutes": 60.0,
              **overrides}
    with pytest.raises(error) as raised:
        PLANNERS[name](jax.random.key(0), land, kwargs.pop("weather"), kwargs.pop("budget_cells"), **kwargs)
    assert message in str(raised.value)


def test_greedy_needs_candidates(land):
    with pytest.raises(ValueError, match="candidates must be a whole number >= 1, got 0"):
        PLANNERS["greedy"](jax.random.key(0), land, Weather(), 2, candidates=0)
