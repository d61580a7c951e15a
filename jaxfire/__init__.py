"""jaxfire: GPU-vectorized wildfire spread in JAX and reinforcement learning for fuel-break placement.

Data flow: ``landscape`` (rasters) -> ``rothermel`` (per-cell surface fire behaviour) -> ``fire`` (arrival times,
burn probability; ``stochastic`` is the alternative Alexandridis CA) -> environment -> agent -> training.
"""
from jaxfire import fire, fuels, landscape, rothermel, stencil, stochastic
from jaxfire.landscape import Landscape
from jaxfire.weather import MOISTURE_SCENARIOS, Weather

__all__ = ["Landscape", "Weather", "MOISTURE_SCENARIOS", "fire", "fuels", "landscape", "rothermel", "stencil",
           "stochastic"]
__version__ = "0.1.0"
