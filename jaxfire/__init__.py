"""jaxfire: GPU-vectorized wildfire spread in JAX and reinforcement learning for fuel-break placement.

Data flow: ``landscape`` (rasters) -> ``rothermel`` and ``crown`` (per-cell surface and crown fire behaviour) ->
``fire`` (step times, arrival times, burn probability, fire analysis; ``stochastic`` is the alternative Alexandridis
CA) -> ``env`` (the gymnax environment) -> ``planners`` and ``agents`` -> ``training`` and ``evaluation``.
Devices: :func:`jaxfire.parallel.configure_devices`.
"""
from jaxfire import crown, fire, fuels, landscape, parallel, rothermel, stencil, stochastic
from jaxfire.landscape import Landscape
from jaxfire.weather import MOISTURE_SCENARIOS, Weather

__all__ = ["Landscape", "Weather", "MOISTURE_SCENARIOS", "crown", "fire", "fuels", "landscape", "parallel", "rothermel",
           "stencil", "stochastic"]
__version__ = "0.1.0"
