"""Weather: wind and fuel moisture for one simulation.

Conventions:
  * wind speed is the 10-m open wind in km/h;
  * wind direction is where the wind blows FROM, degrees clockwise from north (270 = west wind, head fire runs east);
  * fuel moistures are fractions (kg water / kg dry fuel), in the order
    ``(dead 1 h, dead 10 h, dead 100 h, live herbaceous, live woody)``;
  * foliar moisture (of the canopy, for crown fire initiation) is a fraction too (0.90 = 90 %).

``Weather`` is a ``flax.struct`` pytree, so a batch of weathers (leading axis on every field) can be ``vmap``ped.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

# Named moisture scenarios (fractions: d1, d10, d100, live herbaceous, live woody).
# "default" is the original fuel-break system's; D*/L* are Scott & Burgan (2005, table 8) dead / live scenarios.
_DEAD = {"D1": (0.03, 0.04, 0.05), "D2": (0.06, 0.07, 0.08), "D3": (0.09, 0.10, 0.11), "D4": (0.12, 0.13, 0.14)}
_LIVE = {"L1": (0.30, 0.60), "L2": (0.60, 0.90), "L3": (0.90, 1.20), "L4": (1.20, 1.50)}
MOISTURE_SCENARIOS: dict[str, tuple[float, float, float, float, float]] = {
    "default": (0.05, 0.10, 0.25, 0.90, 0.60),
    **{d + l: _DEAD[d] + _LIVE[l] for d in _DEAD for l in _LIVE},
}


def moisture(scenario: str | tuple | np.ndarray = "default") -> jnp.ndarray:
    """Fuel moisture vector ``float32[5]`` from a scenario name (e.g. ``"D2L2"``) or 5 fractions."""
    if isinstance(scenario, str):
        if scenario not in MOISTURE_SCENARIOS:
            raise ValueError(f"unknown moisture scenario {scenario!r}; known: {sorted(MOISTURE_SCENARIOS)}")
        return jnp.asarray(MOISTURE_SCENARIOS[scenario], jnp.float32)
    values = np.asarray(scenario, np.float64)
    if values.shape[-1:] != (5,):
        raise ValueError(f"moisture must have 5 values (d1, d10, d100, live herb, live woody), got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0) or np.any(values > 5):
        raise ValueError(f"moisture fractions must be finite and in (0, 5], got {values}")
    return jnp.asarray(values, jnp.float32)


def _is_concrete(value) -> bool:
    """True for user-given numbers (validated); False for tracers and other pytree placeholders."""
    return isinstance(value, (int, float, list, tuple, np.ndarray, np.generic))


@struct.dataclass
class Weather:
    """Uniform weather for one fire (a pytree: give every field a leading axis for a batch of weathers).

    ``Weather(20.0, 270.0)`` is a 20 km/h west wind with the default moisture; ``moisture`` takes a scenario name
    from :data:`MOISTURE_SCENARIOS` or five fractions.

    Attributes:
      wind_speed_kmh: 10-m open wind speed, km/h; ``float32[]`` or ``[B]``.
      wind_from_deg: direction the wind blows FROM, degrees clockwise from north; ``float32[]`` or ``[B]``.
      moisture: fuel moisture fractions (d1, d10, d100, live herb, live woody); ``float32[5]`` or ``[B, 5]``.
      foliar_moisture: canopy foliar moisture fraction in (0, 5] (crown fire initiation); ``float32[]`` or ``[B]``.
        A number given with a batched ``wind_speed_kmh`` is broadcast to its shape.
    """

    wind_speed_kmh: jnp.ndarray = 0.0
    wind_from_deg: jnp.ndarray = 270.0
    moisture: jnp.ndarray = "default"
    foliar_moisture: jnp.ndarray = 0.90

    def __post_init__(self):
        if isinstance(self.moisture, str) or _is_concrete(self.moisture):
            object.__setattr__(self, "moisture", moisture(self.moisture))
        for name in ("wind_speed_kmh", "wind_from_deg", "foliar_moisture"):
            value = getattr(self, name)
            if _is_concrete(value):
                array = np.asarray(value, np.float64)
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"Weather.{name} must be finite, got {value}")
                if name == "wind_speed_kmh" and np.any(array < 0):
                    raise ValueError(f"Weather.wind_speed_kmh must be >= 0, got {value}")
                if name == "foliar_moisture" and (np.any(array <= 0) or np.any(array > 5)):
                    raise ValueError(f"Weather.foliar_moisture must be a fraction in (0, 5], got {value}")
                object.__setattr__(self, name, jnp.asarray(array, jnp.float32))
        speed_shape = getattr(self.wind_speed_kmh, "shape", ())
        if isinstance(self.foliar_moisture, jnp.ndarray) and self.foliar_moisture.ndim == 0 and speed_shape != ():
            object.__setattr__(self, "foliar_moisture", jnp.broadcast_to(self.foliar_moisture, speed_shape))
