"""Bad input to the fuel-break environment: constructor, parameters, scenario distribution and actions.

Parameters are validated eagerly (``ValueError``/``TypeError`` naming the argument); invalid actions are skipped
at no cost (as the README promises); parameters made invalid inside ``jit`` give NaN rewards.  One 8x8 pool of one
landscape, one scenario bank and one compiled step shared by the module.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import landscape
from jaxfire.env import FuelBreakEnv, ScenarioDistribution
from jaxfire.env import scenarios as scenarios_module

SHAPE = (8, 8)
NAN = float("nan")


def grass(shape=SHAPE):
    return landscape.from_arrays(np.full(shape, 102), np.zeros(shape), np.zeros(shape))


@pytest.fixture(scope="module")
def setup():
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=2, planning_ignitions=0)
    params = env.make_params(jax.random.key(0), grass(), budget_fraction=0.1, scenarios_per_landscape=1,
                             max_minutes=60.0)
    step = jax.jit(env.step)
    _, state = jax.jit(env.reset)(jax.random.key(1), params)
    return env, params, step, state


ENV_ARGS = [  # (case, kwargs of FuelBreakEnv, error, message fragment)
    ("zero rows", dict(shape=(0, 8)), ValueError, "shape (H, W) must be a whole number >= 1, got 0"),
    ("one axis", dict(shape=(8,)), ValueError, "shape must be (H, W)"),
    ("no ignitions", dict(ignitions_per_evaluation=0), ValueError, "ignitions_per_evaluation must be a whole number"),
    ("fractional ignitions", dict(ignitions_per_evaluation=2.5), ValueError, "ignitions_per_evaluation"),
    ("no cells per step", dict(cells_per_step=0), ValueError, "cells_per_step must be a whole number >= 1, got 0"),
    ("12 neighbours", dict(neighbours=12), ValueError, "neighbours must be 8, 16 or 32, got 12"),
    ("negative planning fires", dict(planning_ignitions=-1), ValueError, "planning_ignitions must be a whole number"),
]


@pytest.mark.parametrize("kwargs,error,message", [c[1:] for c in ENV_ARGS], ids=[c[0] for c in ENV_ARGS])
def test_bad_environment_arguments(kwargs, error, message):
    with pytest.raises(error) as raised:
        FuelBreakEnv(**{"shape": SHAPE, **kwargs})
    assert message in str(raised.value)


PARAMS = [  # (case, kwargs of make_params, error, message fragment): all refused before the scenario bank is drawn
    ("budget 0", dict(budget_fraction=0.0), ValueError, "budget_fraction must be a finite number in (0, 1], got 0.0"),
    ("budget 150 %", dict(budget_fraction=1.5), ValueError, "budget_fraction"),
    ("budget NaN", dict(budget_fraction=NAN), ValueError, "budget_fraction"),
    ("budget a string", dict(budget_fraction="0.05"), TypeError, "budget_fraction"),
    ("cap NaN", dict(max_minutes=NAN), ValueError, "max_minutes must be a finite number > 0, got nan"),
    ("cap 0", dict(max_minutes=0.0), ValueError, "max_minutes"),
    ("cap infinite", dict(max_minutes=float("inf")), ValueError, "max_minutes"),
    ("no scenarios", dict(scenarios_per_landscape=0), ValueError, "scenarios_per_landscape must be a whole number"),
    ("1.5 scenarios", dict(scenarios_per_landscape=1.5), ValueError, "scenarios_per_landscape"),
    ("pool of another shape", dict(pool=grass((6, 6))), ValueError, "the environment was built for (8, 8)"),
    ("pool without fuel", dict(pool=grass().with_fuel_breaks(jnp.ones(SHAPE, bool))), ValueError, "no burnable cells"),
    ("pool not a landscape", dict(pool=np.zeros(SHAPE)), TypeError, "pool must be a jaxfire Landscape"),
    ("distribution a dict", dict(distribution={"wind_speed_kmh": (1, 2)}), TypeError,
     "distribution must be a ScenarioDistribution"),
    ("ignition map of the wrong shape", dict(distribution=ScenarioDistribution(ignition_probability=np.ones((4, 4)))),
     ValueError, "ignition_probability has shape (4, 4), expected (8, 8)"),
    ("ignition map only on non-burnable cells", dict(
        pool=grass().with_fuel_breaks(jnp.zeros(SHAPE, bool).at[0].set(True)),
        distribution=ScenarioDistribution(ignition_probability=(np.arange(8)[:, None] == np.zeros(8)) * 1.0)),
     ValueError,
     "zero on every burnable cell"),
]


@pytest.mark.parametrize("kwargs,error,message", [c[1:] for c in PARAMS], ids=[c[0] for c in PARAMS])
def test_bad_parameters_raise_before_drawing_scenarios(kwargs, error, message):
    env = FuelBreakEnv(SHAPE, ignitions_per_evaluation=2, planning_ignitions=0)
    kwargs = {"pool": grass(), "scenarios_per_landscape": 1, **kwargs}
    with pytest.raises(error) as raised:
        env.make_params(jax.random.key(0), **kwargs)
    assert message in str(raised.value)


DISTRIBUTIONS = [  # (case, kwargs of ScenarioDistribution, error, message fragment)
    ("negative wind", dict(wind_speed_kmh=(-1.0, 5.0)), ValueError, "wind_speed_kmh (low, high) must be a finite "
                                                                      "number >= 0, got -1.0"),
    ("reversed range", dict(wind_speed_kmh=(30.0, 10.0)), ValueError, "0 <= low <= high"),
    ("NaN wind", dict(wind_speed_kmh=(NAN, 5.0)), ValueError, "wind_speed_kmh"),
    ("one number", dict(wind_speed_kmh=20.0), ValueError, "wind_speed_kmh must be a (low, high) range"),
    ("three numbers", dict(wind_speed_kmh=(1, 2, 3)), ValueError, "wind_speed_kmh must be a (low, high) range"),
    ("NaN direction", dict(wind_from_deg=NAN), ValueError, "wind_from_deg must be a finite number"),
    ("negative spread", dict(wind_direction_spread_deg=-1.0), ValueError, "wind_direction_spread_deg"),
    ("unknown moisture", dict(moisture="wet"), ValueError, "unknown moisture scenario 'wet'"),
    ("negative moisture", dict(moisture=(0.05, 0.1, -0.2, 0.9, 0.6)), ValueError, "moisture fractions"),
    ("ignition map all zero", dict(ignition_probability=np.zeros(SHAPE)), ValueError,
     "ignition_probability is zero everywhere"),
    ("ignition map negative", dict(ignition_probability=-np.ones(SHAPE)), ValueError,
     "ignition_probability must be a finite number >= 0"),
    ("ignition map NaN", dict(ignition_probability=np.full(SHAPE, NAN)), ValueError, "ignition_probability"),
    ("ignition map 1-D", dict(ignition_probability=np.ones(8)), ValueError,
     "ignition_probability must be a float[H, W]"),
]


@pytest.mark.parametrize("kwargs,error,message", [c[1:] for c in DISTRIBUTIONS], ids=[c[0] for c in DISTRIBUTIONS])
def test_bad_scenario_distribution(kwargs, error, message):
    with pytest.raises(error) as raised:
        ScenarioDistribution(**kwargs)
    assert message in str(raised.value)


@pytest.mark.parametrize("action", [-1, -65, 64, 64 + 5, 2 ** 31 - 1], ids=str)
def test_out_of_range_actions_cost_nothing(setup, action):
    """An index outside [0, H * W) is invalid: it neither wraps around nor spends budget, nor changes the fire."""
    env, params, step, state = setup
    _, after, reward, *_ = step(jax.random.key(0), state, action, params)
    assert int(after.placed) == 0 and not bool(after.treated.any()) and float(reward) == 0.0
    assert int(after.time) == int(state.time) + 1  # the step still counts toward truncation


@pytest.mark.parametrize("action,message", [
    (3.0, "integer cell index"), (np.float32(3), "integer cell index"), (True, "integer cell index"),
    (np.array([1, 2]), "of shape (2,)"), (np.zeros((1, 1), np.int32), "of shape (1, 1)"),
], ids=["float", "float32", "bool", "two cells", "2-D"])
def test_malformed_actions_raise(setup, action, message):
    env, params, step, state = setup
    with pytest.raises(ValueError, match="action must be 1 integer cell index") as raised:
        step(jax.random.key(0), state, action, params)
    assert message in str(raised.value)


def test_parameters_made_invalid_inside_jit_give_nan_rewards(setup):
    env, params, step, state = setup
    cell = int(np.flatnonzero(np.asarray(env.action_mask(state, params)).ravel())[0])
    _, _, reward, _, _, info = step(jax.random.key(0), state, cell, params)
    assert np.isfinite(float(reward)) and np.isfinite(float(info["burned_fraction"]))
    _, _, reward, _, _, info = step(jax.random.key(0), state, cell, params.replace(max_minutes=jnp.float32(NAN)))
    assert np.isnan(float(reward))
    assert all(np.isnan(float(info[name])) for name in ("burned_cells", "burned_hectares", "burned_fraction",
                                                         "reduction"))


def test_make_params_compiles_its_scenario_bank_once_per_shape(setup):
    env, params, _, _ = setup
    compiled = scenarios_module._bank._cache_size()
    again = env.make_params(jax.random.key(5), grass(), budget_fraction=0.2, scenarios_per_landscape=1,
                            max_minutes=90.0, distribution=ScenarioDistribution(wind_speed_kmh=(1.0, 2.0)))
    assert scenarios_module._bank._cache_size() == compiled  # new key, budget, cap and winds: no new program
    assert again.scenarios.burned_count.shape == params.scenarios.burned_count.shape
