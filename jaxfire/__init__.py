"""jaxfire: GPU-vectorized wildfire spread in JAX and reinforcement learning for fuel-break placement.

Data flow: ``landscape`` (rasters) -> ``rothermel`` (per-cell surface fire behaviour) -> ``fire`` (arrival times,
burn probability; ``stochastic`` is the alternative Alexandridis CA) -> environment -> agent -> training.
"""
import os as _os

if _os.environ.get("JAXFIRE_CPU_DEVICES"):  # split the CPU into XLA host devices before JAX starts
    from jaxfire.parallel import set_cpu_devices as _set_cpu_devices

    _set_cpu_devices(int(_os.environ["JAXFIRE_CPU_DEVICES"]))

from jaxfire import fire, fuels, landscape, parallel, rothermel, stencil, stochastic  # noqa: E402
from jaxfire.landscape import Landscape  # noqa: E402
from jaxfire.weather import MOISTURE_SCENARIOS, Weather  # noqa: E402

__all__ = ["Landscape", "Weather", "MOISTURE_SCENARIOS", "fire", "fuels", "landscape", "parallel", "rothermel",
           "stencil", "stochastic"]
__version__ = "0.1.0"
