"""The fuel-break environment (gymnax 1.0 API), as a package in the manner of Jumanji's environments.

* :mod:`~jaxfire.env.types`: :class:`EnvParams`, :class:`EnvState`, the scenario bank :class:`Scenarios` and the
  named observation channels :class:`Channel`;
* :mod:`~jaxfire.env.scenarios`: the weather and ignition distribution and the scenario bank;
* :mod:`~jaxfire.env.observation`: the observation, a pure function of a landscape, a weather and a treatment;
* :mod:`~jaxfire.env.env`: :class:`FuelBreakEnv`, the dynamics.

The environment depends on :mod:`jaxfire.fire` and :mod:`jaxfire.landscape`, not on the planners.
"""
from jaxfire.env.env import FuelBreakEnv, place_cells
from jaxfire.env.observation import observation, untreated_fire
from jaxfire.env.scenarios import ScenarioDistribution, draw_weather, scenario_bank
from jaxfire.env.types import OBS_CHANNELS, PLANNING_CHANNELS, Channel, EnvParams, EnvState, Scenarios
from jaxfire.fire import planning_maps, sample_ignitions as draw_ignitions  # noqa: F401 (former jaxfire.env names)

__all__ = ["Channel", "EnvParams", "EnvState", "FuelBreakEnv", "OBS_CHANNELS", "PLANNING_CHANNELS",
           "ScenarioDistribution", "Scenarios", "draw_weather", "observation", "place_cells", "scenario_bank",
           "untreated_fire"]
