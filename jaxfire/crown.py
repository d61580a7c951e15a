"""Crown fire per cell, as computed by pyretechnics: initiation, spread rate, intensity, ellipse, combined head fire.

Units and conventions (the project's, see :mod:`jaxfire.rothermel`): rates in m/min, intensities in kW/m, lengths
in m, canopy bulk density in kg/m^3, canopy cover and moistures as fractions; wind = 10-m OPEN wind in km/h blowing
FROM ``wind_from_deg`` (degrees clockwise from north); slope in degrees, aspect = downslope azimuth.  Rates are
slope-plane rates, like :class:`jaxfire.rothermel.SurfaceFire`'s.

Model (reference: pyretechnics 2026.10.20, ``crown_fire.py`` and ``eulerian_level_set.py``):
  * initiation, Van Wagner (1977) eq. 4: critical surface intensity ``I0 = (0.01 CBH (460 + 2600 FMC))^1.5``
    (CBH m, FMC foliar moisture fraction); a cell may crown only where canopy cover > 0.4.  The spread model turns
    this into a RATE threshold ``R_crowning = R_surface_head I0 / I_surface_head`` on the surface fire's front-normal
    rate: a front crowns in the directions where its surface normal rate exceeds ``R_crowning`` (equivalently, where
    its surface intensity reaches ``I0``), so the head of a fire can crown while its flanks stay on the surface;
  * active crown spread rate, Cruz, Alexander & Wakimoto (2005): ``R_active = 11.02 U10^0.90 CBD^0.19 exp(-17 M1)``
    with U10 the 10-m open wind (km/h) lifted onto the slope plane and M1 the dead 1-h moisture; critical rate
    (Van Wagner 1977) ``R_critical = 3 / CBD``: active when ``R_active > R_critical``, else passive, spreading at
    ``R_active exp(-R_active / R_critical)``;
  * crown fireline intensity ``I_crown = R_crown CBD (CH - CBH) h / 60`` with h the surface fuel model's heat
    content (kJ/kg);
  * crown ellipse, Rothermel (1991) eq. 9: ``L/W = 1 + 0.125 U20`` (U20 = U10 / 1.15 in mi/h, no cap), ignition at
    the rear focus, heading DOWNWIND (upslope when there is no wind; no crown spread at all without wind);
  * combined head fire (``crown_fire.calc_combined_fire_behavior``): where the head crowns, rate
    ``max(R_surface, R_crown)``; intensity ``I_surface R_crown / R_surface + I_crown`` when the crown is faster,
    ``I_surface + I_crown R_surface / R_crown`` otherwise; Byram flame length ``0.07747 I^0.46`` of that intensity.

Fire types: 0 none, 1 surface, 2 passive crown, 3 active crown (pyretechnics' codes).

The per-direction combination used by the spread automaton is :func:`jaxfire.fire.ray_rates`; the front-normal
rules and ellipse helpers it needs are here (:func:`front_crowns`, :func:`front_type`, :func:`ellipse_normal_rate`,
:func:`ellipse_ray_normal`).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import rothermel

CROWN_COVER_MIN = 0.4            # canopy cover above which a cell may crown (strict), fraction
BTU_LB_TO_KJ_KG = 2.3259999996185   # pyretechnics' conversion constant
KMH_TO_MPH = 0.621371192237334
SURFACE, PASSIVE, ACTIVE = 1, 2, 3  # fire-type codes (0 = unburned)


def _heat_table() -> np.ndarray:
    """Heat content (kJ/kg) of each fuel model, indexed by its code (0 for codes without a model)."""
    table = np.zeros(max(rothermel.FUEL_MODELS) + 1, np.float32)
    for code, model in rothermel.FUEL_MODELS.items():
        table[code] = model.heat_btu_lb * BTU_LB_TO_KJ_KG
    return table


_HEAT_KJ_KG = _heat_table()


@struct.dataclass
class CrownFire:
    """Crown fire behaviour per cell; every field has the cells' shape (``[H, W]`` for a landscape).

    Attributes:
      I_critical_kW_m: Van Wagner critical surface fireline intensity, kW/m.
      R_crowning_m_min: surface front-normal rate above which the front crowns, m/min (``inf`` where the cover is
        <= 0.4 or the cell does not burn).
      initiates: whether the surface HEAD fire crowns (``I_surface_head >= I_critical``, cover > 0.4).
      R_active_m_min: Cruz active crown spread rate, m/min.
      R_critical_m_min: Van Wagner critical rate for active crowning ``3 / CBD``, m/min (``inf`` where CBD is 0).
      crown_type: 3 where ``R_active > R_critical`` (active), else 2 (passive): the type IF the cell crowns.
      R_crown_m_min: crown head rate (active or passive), m/min.
      I_crown_kW_m: crown fireline intensity at the crown head, kW/m.
      length_to_width: crown ellipse length-to-width ratio.
      eccentricity: crown ellipse eccentricity ``sqrt(LW^2 - 1) / LW``.
      heading_deg: map azimuth of the crown head (downwind; upslope without wind), degrees clockwise from north.
      fire_type: head-fire type: 0 (no fuel), 1 surface, 2 passive, 3 active.
      R_head_m_min: combined head rate, m/min.
      I_head_kW_m: combined head fireline intensity, kW/m.
      flame_length_m: combined head flame length, m.
    """

    I_critical_kW_m: jnp.ndarray
    R_crowning_m_min: jnp.ndarray
    initiates: jnp.ndarray
    R_active_m_min: jnp.ndarray
    R_critical_m_min: jnp.ndarray
    crown_type: jnp.ndarray
    R_crown_m_min: jnp.ndarray
    I_crown_kW_m: jnp.ndarray
    length_to_width: jnp.ndarray
    eccentricity: jnp.ndarray
    heading_deg: jnp.ndarray
    fire_type: jnp.ndarray
    R_head_m_min: jnp.ndarray
    I_head_kW_m: jnp.ndarray
    flame_length_m: jnp.ndarray


def critical_intensity(canopy_base_height_m, foliar_moisture):
    """Van Wagner (1977) critical surface fireline intensity for crown initiation, kW/m (any broadcast shape)."""
    v = 0.01 * canopy_base_height_m * (460.0 + 2600.0 * foliar_moisture)
    return v * jnp.sqrt(v)


def cruz_rates(wind_10m_kmh, canopy_bulk_density_kg_m3, moisture_1h):
    """Cruz et al. (2005) crown spread rates ``(R_active, R_critical, R_passive)`` in m/min (any broadcast shape).

    The fire is active where ``R_active > R_critical = 3 / CBD``, else passive at ``R_passive``.  ``R_critical`` is
    ``inf`` where CBD is 0 (no canopy fuel: both rates 0).
    """
    cbd = jnp.asarray(canopy_bulk_density_kg_m3)
    has_fuel = cbd > 0
    safe_cbd = jnp.where(has_fuel, cbd, 1.0)
    r_active = jnp.where(has_fuel, 11.02 * wind_10m_kmh ** 0.9 * safe_cbd ** 0.19 * jnp.exp(-17.0 * moisture_1h), 0.0)
    r_critical = jnp.where(has_fuel, 3.0 / safe_cbd, jnp.inf)
    return r_active, r_critical, r_active * jnp.exp(-r_active * safe_cbd / 3.0)


def combine_head(R_surface, I_surface, R_crown, I_crown, crowns):
    """Combined head rate (m/min) and intensity (kW/m) of ``calc_combined_fire_behavior`` where ``crowns``."""
    crown_faster = R_crown >= R_surface
    safe = lambda x: jnp.where(x > 0, x, 1.0)  # noqa: E731
    intensity = jnp.where(crown_faster, I_surface * R_crown / safe(R_surface) + I_crown,
                          I_surface + I_crown * R_surface / safe(R_crown))
    intensity = jnp.where((R_crown > 0) & (R_surface > 0), intensity, jnp.where(R_surface > 0, I_surface, I_crown))
    return (jnp.where(crowns, jnp.maximum(R_surface, R_crown), R_surface),
            jnp.where(crowns, intensity, I_surface))


def crown_fire(surface: rothermel.SurfaceFire, fuel_model, slope_deg, aspect_deg, wind_speed_kmh, wind_from_deg,
               moisture, canopy_cover, canopy_height_m, canopy_base_height_m, canopy_bulk_density_kg_m3,
               foliar_moisture) -> CrownFire:
    """Crown fire behaviour per cell (pure ``jnp``: jittable and vmappable).

    Args:
      surface: the cells' :class:`~jaxfire.rothermel.SurfaceFire` (from the same inputs).
      fuel_model: ``int[...]`` fuel codes (for the heat content).
      slope_deg, aspect_deg: ``float[...]`` slope (degrees) and downslope azimuth (degrees clockwise from north).
      wind_speed_kmh, wind_from_deg: ``float[...]`` 10-m open wind (km/h) and where it blows from (degrees).
      moisture: ``float[..., 5]`` fuel moisture fractions (only the dead 1-h one is used).
      canopy_cover: ``float[...]`` fraction; canopy_height_m, canopy_base_height_m: ``float[...]`` m;
      canopy_bulk_density_kg_m3: ``float[...]`` kg/m^3; foliar_moisture: ``float[...]`` fraction.

    All arguments broadcast to the shape of ``surface``'s fields.
    The body is the chain of equations of the module docstring in order (initiation, active and passive rates, type,
    intensity, L/W, the combined head fire), kept in one function so it reads against the papers line by line.

    Returns:
      :class:`CrownFire` with every field of that shape.
    """
    shape = surface.R_head_m_min.shape
    f = lambda x: jnp.broadcast_to(jnp.asarray(x, surface.R_head_m_min.dtype), shape)  # noqa: E731
    slope, aspect, wind, wind_from = f(slope_deg), f(aspect_deg), f(wind_speed_kmh), f(wind_from_deg)
    cover, height = f(canopy_cover), f(canopy_height_m)
    base, density = f(canopy_base_height_m), f(canopy_bulk_density_kg_m3)
    moisture_1h = f(jnp.asarray(moisture)[..., 0])
    burns = surface.R_head_m_min > 0

    # Initiation: the surface rate threshold, inf where the cell can never crown.
    i_critical = critical_intensity(base, f(foliar_moisture))
    can_crown = burns & (cover > CROWN_COVER_MIN) & (surface.I_head_kW_m > 0)
    r_crowning = jnp.where(can_crown, surface.R_head_m_min * i_critical
                           / jnp.where(can_crown, surface.I_head_kW_m, 1.0), jnp.inf)
    initiates = can_crown & (surface.I_head_kW_m >= i_critical)

    # The open wind on the slope plane (its upslope component stretched by 1 / cos(slope)), km/h.
    relative = jnp.deg2rad(wind_from - aspect)       # downwind azimuth minus upslope azimuth
    wind_on_slope = wind * jnp.hypot(jnp.cos(relative) / jnp.cos(jnp.deg2rad(slope)), jnp.sin(relative))
    r_active, r_critical, r_passive = cruz_rates(wind_on_slope, density, moisture_1h)
    active = r_active > r_critical
    r_crown = jnp.where(burns, jnp.where(active, r_active, r_passive), 0.0)
    code = jnp.clip(jnp.asarray(fuel_model, jnp.int32), 0, len(_HEAT_KJ_KG) - 1)
    heat = jnp.asarray(_HEAT_KJ_KG, r_crown.dtype)[code]
    i_crown = r_crown * density * (height - base) * heat / 60.0
    lw = 1.0 + 0.125 * wind_on_slope / 1.15 * KMH_TO_MPH
    heading = jnp.where(wind > 0, jnp.mod(wind_from + 180.0, 360.0), jnp.where(slope > 0, aspect + 180.0, 0.0))

    head_crowns = surface.R_head_m_min > r_crowning
    r_head, i_head = combine_head(surface.R_head_m_min, surface.I_head_kW_m, r_crown, i_crown, head_crowns)
    crown_type = jnp.where(active, ACTIVE, PASSIVE)
    return CrownFire(
        I_critical_kW_m=i_critical,
        R_crowning_m_min=r_crowning,
        initiates=initiates,
        R_active_m_min=r_active,
        R_critical_m_min=r_critical,
        crown_type=crown_type,
        R_crown_m_min=r_crown,
        I_crown_kW_m=i_crown,
        length_to_width=lw,
        eccentricity=jnp.sqrt(lw ** 2 - 1.0) / lw,
        heading_deg=jnp.mod(heading, 360.0),
        fire_type=jnp.where(burns, jnp.where(head_crowns, crown_type, SURFACE), 0),
        R_head_m_min=r_head,
        I_head_kW_m=i_head,
        flame_length_m=jnp.where(head_crowns, 0.07747042253266703 * i_head ** 0.46, surface.flame_length_m),
    )


def landscape_crown_fire(landscape, weather, surface: rothermel.SurfaceFire | None = None) -> CrownFire:
    """:func:`crown_fire` for every cell of a :class:`jaxfire.Landscape` under a :class:`jaxfire.Weather` (scalar
    wind and foliar moisture, ``float[5]`` moisture); ``surface`` defaults to
    :func:`jaxfire.rothermel.landscape_fire`.  Fields are ``[H, W]``."""
    if surface is None:
        surface = rothermel.landscape_fire(landscape, weather)
    return crown_fire(surface, landscape.fuel_model, landscape.slope_deg, landscape.aspect_deg,
                      weather.wind_speed_kmh, weather.wind_from_deg, weather.moisture, landscape.canopy_cover,
                      landscape.canopy_height_m, landscape.canopy_base_height_m, landscape.canopy_bulk_density_kg_m3,
                      weather.foliar_moisture)


def front_crowns(surface: rothermel.SurfaceFire, crown_fire: CrownFire, cos_to_surface_head):
    """Whether a front whose normal is at angle ``psi`` from the surface head crowns (pyretechnics'
    ``phi_aware_crowning_check``): its surface normal rate ``S(psi)`` exceeds ``R_crowning``.  ``[H, W]`` bool."""
    normal_rate = ellipse_normal_rate(surface.R_head_m_min, surface.length_to_width, cos_to_surface_head)
    return normal_rate > crown_fire.R_crowning_m_min


def front_type(surface: rothermel.SurfaceFire, crown_fire: CrownFire, cos_to_surface_head, cos_to_crown_head):
    """Fire type (1 surface, 2 passive, 3 active) of a front with normal ``n`` given by its angles to the surface and
    crown heads (pyretechnics' ``resolve_combined_spread_behavior``): surface unless it crowns
    (:func:`front_crowns`); then active where the crown ellipse's normal rate ``C(n)`` exceeds ``3 / CBD``."""
    crown_rate = ellipse_normal_rate(crown_fire.R_crown_m_min, crown_fire.length_to_width, cos_to_crown_head)
    crowned = jnp.where(crown_rate > crown_fire.R_critical_m_min, ACTIVE, PASSIVE)
    return jnp.where(front_crowns(surface, crown_fire, cos_to_surface_head), crowned, SURFACE)


def ellipse_normal_rate(R_head, length_to_width, cos_psi):
    """Front-normal rate (m/min) of an ellipse spreading from its rear focus, for a normal at angle ``psi`` from
    its heading: ``(R - R_back)/2 cos psi + R_flank sqrt(1 + (LW^2 - 1) cos^2 psi)`` (pyretechnics'
    ``calc_fireline_normal_behavior``); equals ``R_head`` at the head, ``R_back`` at the back."""
    e = jnp.sqrt(length_to_width ** 2 - 1.0) / length_to_width
    r_back = R_head * (1 - e) / (1 + e)
    r_flank = (R_head + r_back) / (2 * length_to_width)
    return 0.5 * (R_head - r_back) * cos_psi + r_flank * jnp.sqrt(1.0 + (length_to_width ** 2 - 1.0) * cos_psi ** 2)


def ellipse_ray_normal(eccentricity, cos_psi, sin_psi):
    """Unit outward normal ``(cos, sin)`` (angles from the heading) of a focus-centred ellipse at the point its ray
    at angle ``psi`` from the heading reaches; independent of the ellipse's size."""
    # Ellipse with semi-axes a = 1, b = sqrt(1 - e^2), centre e ahead of the focus: the ray point is r (cos, sin)
    # with r = (1 - e^2) / (1 - e cos psi); the normal is along ((x - e) / a^2, y / b^2).
    one_minus_e2 = 1.0 - eccentricity ** 2
    r = one_minus_e2 / (1.0 - eccentricity * cos_psi)
    nx, ny = r * cos_psi - eccentricity, r * sin_psi / one_minus_e2
    norm = jnp.hypot(nx, ny)
    return nx / norm, ny / norm
