"""Rothermel (1972) surface fire behaviour with Albini's (1976) revisions, as computed by pyretechnics.

Units and conventions of the public API (the project's, see :mod:`jaxfire.landscape.core` and :mod:`jaxfire.weather`):
  * rates in m/min, intensities in kW/m (fireline) and kW/m^2 (reaction), flame length in m;
  * slope in degrees; aspect = DOWNSLOPE azimuth, degrees clockwise from north (upslope is ``aspect + 180``);
  * wind = 10-m open wind in km/h blowing FROM ``wind_from_deg`` (degrees clockwise from north);
  * fuel moisture fractions ``(dead 1 h, dead 10 h, dead 100 h, live herbaceous, live woody)``;
  * canopy cover a fraction in [0, 1], canopy height in m;
  * fuel codes: Anderson (1982) 1-13, Scott & Burgan (2005) 101-204, non-burnable 91-99 (any other code is treated
    as non-burnable; validate codes with :func:`jaxfire.fuels.validate_codes`).

Model (the reference is pyretechnics 2026.10.20, matched to float32 accuracy):
  * the equations run internally in Rothermel's US units (lb, ft, Btu, min) with pyretechnics' conversion constants;
  * Scott & Burgan models with a live herbaceous load are dynamic: the herbaceous load is split into a cured (dead,
    taking the 1-h moisture) part and a green part, green fraction ``clip(M_herb / 0.9 - 1/3, 0, 1)``;
  * live moisture of extinction: Rothermel eq. 88 with Albini's fine-fuel loading weights, never below the dead one;
  * the 10-m wind is reduced to 20 ft (/1.15) then to midflame with the Albini-Baughman wind adjustment factor
    (unsheltered, from fuel-bed depth; sheltered by the canopy where its crown fill, cover / 3 with crown ratio 1,
    is at least 0.05 and it stands at least 6 ft tall, as in pyretechnics 2026.10.20);
  * wind and slope are combined as vectors on the slope-tangential plane: the horizontal midflame wind is lifted onto
    the slope plane (its upslope component stretched by 1/cos(slope)), ``phi_E = phi_W w_hat + phi_S u_hat``;
  * the effective wind is capped at 0.9 x reaction intensity (ft/min) when ``use_wind_limit``; then the head rate
    (ON THE SLOPE PLANE) is ``R0 (1 + phi_E)``, the Behave length-to-width ratio
    ``min(8, 0.936 exp(0.1147 U) + 0.461 exp(-0.0692 U) - 0.397)`` (U effective wind, mi/h), and the fire is an
    ellipse with the ignition at its rear focus: back ``R (1-e)/(1+e)``, flank ``(R + R_back) / (2 LW)``;
  * Byram fireline intensity at the head and flame length ``0.0775 I^0.46``.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxfire import fuels

# pyretechnics' unit-conversion constants, kept so float32 results agree with it as closely as possible.
M_TO_FT = 3.281
FT_TO_M = 1.0 / M_TO_FT
M_MIN_TO_MPH = 0.0372840909091
BTU_FT_S_TO_KW_M = 3.46165186
BTU_FT2_MIN_TO_KW_M2 = 1055.05585 / 0.09290304 / 60.0 / 1000.0
KMH_TO_M_MIN = 1000.0 / 60.0
WIND_10M_TO_20FT = 1.0 / 1.15
TONS_ACRE_TO_LB_FT2 = 2000.0 / 43560.0

# Fuel-particle constants shared by every standard model.
PARTICLE_DENSITY = 32.0      # lb/ft^3
TOTAL_MINERAL = 0.0555       # S_T
EFFECTIVE_MINERAL = 0.01     # S_e
SAV_10H, SAV_100H = 109.0, 30.0   # 1/ft


class FuelModel(NamedTuple):
    """One standard fire-behaviour fuel model, in the published (US customary) units.

    Size classes are ordered ``(dead 1 h, dead 10 h, dead 100 h, live herbaceous, live woody)``.
    Anderson models 2, 4, 5, 7 and 10 keep their live load in the live HERBACEOUS slot, as pyretechnics does.
    """

    code: int
    name: str                       # "FM1".."FM13" (Anderson) or "GR1".."SB4" (Scott & Burgan)
    depth_ft: float                 # fuel-bed depth
    mx_dead: float                  # dead moisture of extinction, fraction
    heat_btu_lb: float              # low heat content
    load_tons_acre: tuple           # oven-dry load per size class, as published
    load_lb_ft2: tuple              # the same in lb/ft^2 as the equations use it (see below)
    sav_ft: tuple                   # surface-area-to-volume ratio per size class, 1/ft
    dynamic: bool                   # herbaceous load transfers to dead with curing


def _model(code, name, depth_ft, mx_pct, loads, sav_1h, sav_herb=0.0, sav_woody=0.0, heat=8000.0):
    # The classic lb/ft^2 tables (and pyretechnics) round Anderson loads to 0.001 and Scott & Burgan loads to 0.0001.
    load_lb_ft2 = tuple(round(t * TONS_ACRE_TO_LB_FT2, 3 if code < 100 else 4) for t in loads)
    return code, FuelModel(code, name, depth_ft, mx_pct / 100.0, heat, loads, load_lb_ft2,
                           (sav_1h, SAV_10H, SAV_100H, sav_herb, sav_woody), code > 100 and loads[3] > 0)


# Anderson (1982) and Scott & Burgan (2005, RMRS-GTR-153) models.
# Columns: code, name, depth ft, dead moisture of extinction %, loads t/ac (1h, 10h, 100h, herb, woody), SAVs 1/ft.
FUEL_MODELS: dict[int, FuelModel] = dict([
    _model(1, "FM1", 1.0, 12, (0.74, 0, 0, 0, 0), 3500),
    _model(2, "FM2", 1.0, 15, (2.00, 1.00, 0.50, 0.50, 0), 3000, 1500),
    _model(3, "FM3", 2.5, 25, (3.01, 0, 0, 0, 0), 1500),
    _model(4, "FM4", 6.0, 20, (5.01, 4.01, 2.00, 5.01, 0), 2000, 1500),
    _model(5, "FM5", 2.0, 20, (1.00, 0.50, 0, 2.00, 0), 2000, 1500),
    _model(6, "FM6", 2.5, 25, (1.50, 2.50, 2.00, 0, 0), 1750),
    _model(7, "FM7", 2.5, 40, (1.13, 1.87, 1.50, 0.37, 0), 1750, 1550),
    _model(8, "FM8", 0.2, 30, (1.50, 1.00, 2.50, 0, 0), 2000),
    _model(9, "FM9", 0.2, 25, (2.92, 0.41, 0.15, 0, 0), 2500),
    _model(10, "FM10", 1.0, 25, (3.01, 2.00, 5.01, 2.00, 0), 2000, 1500),
    _model(11, "FM11", 1.0, 15, (1.50, 4.51, 5.51, 0, 0), 1500),
    _model(12, "FM12", 2.3, 20, (4.01, 14.03, 16.53, 0, 0), 1500),
    _model(13, "FM13", 3.0, 25, (7.01, 23.04, 28.05, 0, 0), 1500),
    _model(101, "GR1", 0.4, 15, (0.10, 0, 0, 0.30, 0), 2200, 2000),
    _model(102, "GR2", 1.0, 15, (0.10, 0, 0, 1.00, 0), 2000, 1800),
    _model(103, "GR3", 2.0, 30, (0.10, 0.40, 0, 1.50, 0), 1500, 1300),
    _model(104, "GR4", 2.0, 15, (0.25, 0, 0, 1.90, 0), 2000, 1800),
    _model(105, "GR5", 1.5, 40, (0.40, 0, 0, 2.50, 0), 1800, 1600),
    _model(106, "GR6", 1.5, 40, (0.10, 0, 0, 3.40, 0), 2200, 2000, heat=9000.0),
    _model(107, "GR7", 3.0, 15, (1.00, 0, 0, 5.40, 0), 2000, 1800),
    _model(108, "GR8", 4.0, 30, (0.50, 1.00, 0, 7.30, 0), 1500, 1300),
    _model(109, "GR9", 5.0, 40, (1.00, 1.00, 0, 9.00, 0), 1800, 1600),
    _model(121, "GS1", 0.9, 15, (0.20, 0, 0, 0.50, 0.65), 2000, 1800, 1800),
    _model(122, "GS2", 1.5, 15, (0.50, 0.50, 0, 0.60, 1.00), 2000, 1800, 1800),
    _model(123, "GS3", 1.8, 40, (0.30, 0.25, 0, 1.45, 1.25), 1800, 1600, 1600),
    _model(124, "GS4", 2.1, 40, (1.90, 0.30, 0.10, 3.40, 7.10), 1800, 1600, 1600),
    _model(141, "SH1", 1.0, 15, (0.25, 0.25, 0, 0.15, 1.30), 2000, 1800, 1600),
    _model(142, "SH2", 1.0, 15, (1.35, 2.40, 0.75, 0, 3.85), 2000, 0, 1600),
    _model(143, "SH3", 2.4, 40, (0.45, 3.00, 0, 0, 6.20), 1600, 0, 1400),
    _model(144, "SH4", 3.0, 30, (0.85, 1.15, 0.20, 0, 2.55), 2000, 1800, 1600),
    _model(145, "SH5", 6.0, 15, (3.60, 2.10, 0, 0, 2.90), 750, 0, 1600),
    _model(146, "SH6", 2.0, 30, (2.90, 1.45, 0, 0, 1.40), 750, 0, 1600),
    _model(147, "SH7", 6.0, 15, (3.50, 5.30, 2.20, 0, 3.40), 750, 0, 1600),
    _model(148, "SH8", 3.0, 40, (2.05, 3.40, 0.85, 0, 4.35), 750, 0, 1600),
    _model(149, "SH9", 4.4, 40, (4.50, 2.45, 0, 1.55, 7.00), 750, 1800, 1500),
    _model(161, "TU1", 0.6, 20, (0.20, 0.90, 1.50, 0.20, 0.90), 2000, 1800, 1600),
    _model(162, "TU2", 1.0, 30, (0.95, 1.80, 1.25, 0, 0.20), 2000, 0, 1600),
    _model(163, "TU3", 1.3, 30, (1.10, 0.15, 0.25, 0.65, 1.10), 1800, 1600, 1400),
    _model(164, "TU4", 0.5, 12, (4.50, 0, 0, 0, 2.00), 2300, 0, 2000),
    _model(165, "TU5", 1.0, 25, (4.00, 4.00, 3.00, 0, 3.00), 1500, 0, 750),
    _model(181, "TL1", 0.2, 30, (1.00, 2.20, 3.60, 0, 0), 2000),
    _model(182, "TL2", 0.2, 25, (1.40, 2.30, 2.20, 0, 0), 2000),
    _model(183, "TL3", 0.3, 20, (0.50, 2.20, 2.80, 0, 0), 2000),
    _model(184, "TL4", 0.4, 25, (0.50, 1.50, 4.20, 0, 0), 2000),
    _model(185, "TL5", 0.6, 25, (1.15, 2.50, 4.40, 0, 0), 2000, 0, 1600),
    _model(186, "TL6", 0.3, 25, (2.40, 1.20, 1.20, 0, 0), 2000),
    _model(187, "TL7", 0.4, 25, (0.30, 1.40, 8.10, 0, 0), 2000),
    _model(188, "TL8", 0.3, 35, (5.80, 1.40, 1.10, 0, 0), 1800),
    _model(189, "TL9", 0.6, 35, (6.65, 3.30, 4.15, 0, 0), 1800, 0, 1600),
    _model(201, "SB1", 1.0, 25, (1.50, 3.00, 11.00, 0, 0), 2000),
    _model(202, "SB2", 1.0, 25, (4.50, 4.25, 4.00, 0, 0), 2000),
    _model(203, "SB3", 1.2, 25, (5.50, 2.75, 3.00, 0, 0), 2000),
    _model(204, "SB4", 2.7, 25, (5.25, 3.50, 5.25, 0, 0), 2000),
])


def fuel_name(code: int) -> str:
    """Short name of a fuel code: ``"FM4"``, ``"GS2"``, ``"NB9"`` (non-burnable 91-99 are ``NB1``-``NB9``)."""
    code = int(code)
    if code in FUEL_MODELS:
        return FUEL_MODELS[code].name
    if code in fuels.NONBURNABLE_CODES:
        return f"NB{code - 90}"
    raise ValueError(f"unknown fuel-model code {code}")


def _dense_table():
    """Per-code parameter arrays, indexed directly by the fuel code (rows of unused codes are all zero)."""
    n = max(FUEL_MODELS) + 1
    table = {k: np.zeros((n, 5) if k in ("load", "sav") else n, np.float32)
             for k in ("load", "sav", "depth", "mx", "heat", "dynamic")}
    for code, fm in FUEL_MODELS.items():
        table["load"][code] = fm.load_lb_ft2
        table["sav"][code] = fm.sav_ft
        table["depth"][code], table["mx"][code] = fm.depth_ft, fm.mx_dead
        table["heat"][code], table["dynamic"][code] = fm.heat_btu_lb, fm.dynamic
    return table


_TABLE = _dense_table()
# Internally there are six particle classes: (d1, d10, d100, cured herbaceous, live herbaceous, live woody);
# the first four are dead, the last two live.
_N_DEAD = 4
_SAME_CATEGORY = np.equal.outer(np.arange(6) < _N_DEAD, np.arange(6) < _N_DEAD)
_FIREMOD_SAV_LIMITS = (1200.0, 192.0, 96.0, 48.0, 16.0)   # Albini's size-class bounds for the g_ij weights


@struct.dataclass
class SurfaceFire:
    """Surface fire behaviour per cell; every field has the cells' shape.

    Attributes:
      R0_m_min: no-wind, no-slope spread rate, m/min.
      R_head_m_min: head (maximum) spread rate on the slope plane, m/min (map-plane upslope rate is x cos(slope)).
      heading_deg: map azimuth (degrees clockwise from north) of the horizontal projection of the direction of
        maximum spread; 0 when there is neither wind nor slope.
      length_to_width: ellipse length-to-width ratio (>= 1).
      eccentricity: ``sqrt(LW^2 - 1) / LW``.
      R_back_m_min: backing rate ``R_head (1 - e) / (1 + e)``, m/min.
      R_flank_m_min: ellipse half-width growth rate ``(R_head + R_back) / (2 LW)``, m/min.
      reaction_intensity_kW_m2: Rothermel reaction intensity, kW/m^2.
      I_head_kW_m: Byram fireline intensity at the head, kW/m.
      flame_length_m: Byram flame length at the head, m.
      midflame_wind_m_min: horizontal midflame wind speed, m/min.
      wind_adjustment_factor: 20-ft to midflame wind ratio.
      wind_limited: whether the effective wind speed was capped.
    """

    R0_m_min: jnp.ndarray
    R_head_m_min: jnp.ndarray
    heading_deg: jnp.ndarray
    length_to_width: jnp.ndarray
    eccentricity: jnp.ndarray
    R_back_m_min: jnp.ndarray
    R_flank_m_min: jnp.ndarray
    reaction_intensity_kW_m2: jnp.ndarray
    I_head_kW_m: jnp.ndarray
    flame_length_m: jnp.ndarray
    midflame_wind_m_min: jnp.ndarray
    wind_adjustment_factor: jnp.ndarray
    wind_limited: jnp.ndarray


def _div(a, b):
    """``a / b`` where ``b > 0``, else 0 (no NaN or inf, in values or gradients)."""
    ok = b > 0
    return jnp.where(ok, a / jnp.where(ok, b, 1.0), 0.0)


def _by_category(x):
    """Sum a ``[..., 6]`` per-class array into ``[..., 2]`` (dead, live)."""
    return jnp.stack([x[..., :_N_DEAD].sum(-1), x[..., _N_DEAD:].sum(-1)], -1)


def _to_classes(category_values):
    """Spread a ``[..., 2]`` (dead, live) array back over the six classes."""
    return jnp.repeat(category_values, np.array([_N_DEAD, 6 - _N_DEAD]), axis=-1, total_repeat_length=6)


def _fuel_bed(code, moisture, dtype):
    """No-wind, no-slope Rothermel fuel-bed quantities (US units) for cells of fuel ``code`` at ``moisture``.

    Args:
      code: ``int[...]`` fuel codes; moisture: ``float[..., 5]`` fractions.

    Returns:
      dict of ``[...]`` arrays: ``R0`` (ft/min), ``I_R`` (Btu/ft^2/min), ``sigma`` (1/ft), ``beta`` and
      ``beta_ratio`` (packing ratio and its ratio to the optimum), ``depth`` (ft).
    """
    index = jnp.where((code >= 0) & (code < len(_TABLE["depth"])), code, 0)   # row 0 is empty: no fuel
    row = {k: jnp.asarray(v, dtype)[index] for k, v in _TABLE.items()}
    load, sav, depth, mx_dead = row["load"], row["sav"], row["depth"], row["mx"]
    # Dynamic models: the cured part of the herbaceous load becomes dead fuel with the 1-h moisture.
    green = jnp.where(row["dynamic"] > 0, jnp.clip(moisture[..., 3] / 0.9 - 1.0 / 3.0, 0.0, 1.0), 1.0)
    herb = load[..., 3]
    w = jnp.stack([load[..., 0], load[..., 1], load[..., 2], herb * (1 - green), herb * green, load[..., 4]], -1)
    sigma_ij = jnp.concatenate([sav[..., :4], sav[..., 3:]], -1)
    m_f = jnp.concatenate([moisture[..., :3], moisture[..., :1], moisture[..., 3:]], -1)

    # Weights: surface-area fractions within each category (f_ij) and of each category (f_i); g_ij pools the
    # f_ij of the same category and Albini size class (used for the net loading).
    area = sigma_ij * w / PARTICLE_DENSITY
    area_i = _by_category(area)
    f_ij = _div(area, _to_classes(area_i))
    f_i = _div(area_i, area_i.sum(-1, keepdims=True))
    size_class = sum((sigma_ij < limit).astype(jnp.int32) for limit in _FIREMOD_SAV_LIMITS)
    pooled = (size_class[..., :, None] == size_class[..., None, :]) & _SAME_CATEGORY
    g_ij = (pooled * f_ij[..., None, :]).sum(-1)

    # Live moisture of extinction (Rothermel eq. 88, Albini 1976).
    # (Classes without SAV carry no load, so the exp(-A / 0 -> 0) = 1 placeholders below never count.)
    fine = w * jnp.exp(_div(jnp.asarray([-138.0] * _N_DEAD + [-500.0] * 2, dtype), sigma_ij))
    fine_i = _by_category(fine)
    dead_moisture = _div((m_f * fine)[..., :_N_DEAD].sum(-1), fine_i[..., 0])
    mx_live = 2.9 * _div(fine_i[..., 0], fine_i[..., 1]) * (1 - _div(dead_moisture, mx_dead)) - 0.226
    mx_live = jnp.where(fine_i[..., 1] > 0, jnp.maximum(mx_dead, mx_live), mx_dead)
    m_x = _to_classes(jnp.stack([mx_dead, mx_live], -1))

    # Characteristic SAV, packing ratio, reaction intensity.
    sigma = (f_i * _by_category(f_ij * sigma_ij)).sum(-1)
    safe_sigma = jnp.where(sigma > 0, sigma, 1.0)
    beta = _div(w.sum(-1) / PARTICLE_DENSITY, depth)
    beta_ratio = beta / (3.348 * safe_sigma ** -0.8189)
    r_m = jnp.minimum(1.0, _div(_by_category(f_ij * m_f), _by_category(f_ij * m_x)))
    eta_m = jnp.where(_by_category(f_ij * m_x) > 0, 1 - 2.59 * r_m + 5.11 * r_m ** 2 - 3.52 * r_m ** 3, 0.0)
    eta_s = 0.174 * EFFECTIVE_MINERAL ** -0.19
    net_load = _by_category(g_ij * w) * (1 - TOTAL_MINERAL)
    a = 133.0 * safe_sigma ** -0.7913
    gamma_max = safe_sigma ** 1.5 / (495.0 + 0.0594 * safe_sigma ** 1.5)
    gamma = gamma_max * beta_ratio ** a * jnp.exp(a * (1 - beta_ratio))
    i_r = gamma * row["heat"] * eta_s * (net_load * eta_m).sum(-1)

    # Propagating flux ratio over heat sink.
    xi = jnp.exp((0.792 + 0.681 * jnp.sqrt(sigma)) * (beta + 0.1)) / (192.0 + 0.2595 * sigma)
    epsilon = jnp.exp(_div(jnp.asarray(-138.0, dtype), sigma_ij))
    q_ig = jnp.where(m_f > 0, 250.0 + 1116.0 * m_f, 0.0)
    heat_sink = _div(w.sum(-1), depth) * (f_i * _by_category(f_ij * epsilon * q_ig)).sum(-1)
    return dict(R0=_div(i_r * xi, heat_sink), I_R=i_r, sigma=sigma, beta=beta, beta_ratio=beta_ratio, depth=depth)


@partial(jax.jit, static_argnames="use_wind_limit")
def surface_fire(fuel_model, slope_deg, aspect_deg, wind_speed_kmh, wind_from_deg, moisture,
                 canopy_cover=0.0, canopy_height_m=0.0, use_wind_limit=True) -> SurfaceFire:
    """Rothermel surface fire behaviour per cell (pure ``jnp``: jittable and vmappable).

    Args:
      fuel_model: ``int[...]`` fuel codes (Anderson 1-13, Scott & Burgan 101-204, non-burnable 91-99).
      slope_deg: ``float[...]`` slope, degrees.
      aspect_deg: ``float[...]`` downslope azimuth, degrees clockwise from north.
      wind_speed_kmh: ``float[...]`` 10-m open wind speed, km/h.
      wind_from_deg: ``float[...]`` direction the wind blows FROM, degrees clockwise from north.
      moisture: ``float[..., 5]`` fractions (d1, d10, d100, live herbaceous, live woody).
      canopy_cover: ``float[...]`` canopy cover fraction in [0, 1] (shelters the midflame wind from 0.15 up, under
        a canopy at least 6 ft tall).
      canopy_height_m: ``float[...]`` stand height, m.
      use_wind_limit: cap the effective wind speed at 0.9 x reaction intensity (static bool).

    All arguments broadcast together (``moisture`` over its leading axes); the function is jitted (one compile per
    input shape).  Non-burnable cells get zero rates and intensities, LW 1 and eccentricity 0.

    Why one long function: it is Rothermel's (1972) and Albini's equations in the order of the reference (fuel-bed
    properties, reaction intensity, wind and slope factors, effective wind, rates, ellipse), each line one equation
    reading the intermediates of the lines above; split into pieces it would pass a dozen arrays between them and
    lose the one-to-one reading against the paper.

    Returns:
      :class:`SurfaceFire` with every field of the broadcast cell shape.
    """
    dtype = jnp.result_type(float)
    moisture = jnp.asarray(moisture, dtype)
    code = jnp.asarray(fuel_model).astype(jnp.int32)
    slope, aspect, wind, wind_from, cover, height = (
        jnp.asarray(x, dtype) for x in (slope_deg, aspect_deg, wind_speed_kmh, wind_from_deg, canopy_cover,
                                        canopy_height_m))
    shape = jnp.broadcast_shapes(code.shape, slope.shape, aspect.shape, wind.shape, wind_from.shape,
                                 cover.shape, height.shape, moisture.shape[:-1])
    code, slope, aspect, wind, wind_from, cover, height = (
        jnp.broadcast_to(x, shape) for x in (code, slope, aspect, wind, wind_from, cover, height))
    bed = _fuel_bed(code, jnp.broadcast_to(moisture, shape + (5,)), dtype)
    burnable = fuels.is_burnable(code) & (bed["R0"] > 0)

    # Midflame wind (horizontal), m/min.
    depth = bed["depth"]
    safe_depth = jnp.where(depth > 0, depth, 1.0)
    open_waf = jnp.where(depth > 0, 1.83 / jnp.log((20.0 + 0.36 * safe_depth) / (0.13 * safe_depth)), 0.0)
    height_ft = height * M_TO_FT
    sheltered = (cover / 3.0 >= 0.05) & (height_ft >= 6.0)
    safe_height, safe_cover = jnp.where(sheltered, height_ft, 1.0), jnp.where(sheltered, cover, 1.0)
    shelter_waf = 0.555 / (jnp.sqrt(safe_cover / 3.0 * safe_height)
                           * jnp.log((20.0 + 0.36 * safe_height) / (0.13 * safe_height)))
    waf = jnp.where(sheltered, shelter_waf, open_waf)
    midflame = wind * KMH_TO_M_MIN * WIND_10M_TO_20FT * waf

    # Wind and slope factors; B, C, E of Rothermel's wind function (wind in ft/min).
    sigma, ratio = jnp.where(burnable, bed["sigma"], 1.0), jnp.where(burnable, bed["beta_ratio"], 1.0)
    b = 0.02526 * sigma ** 0.54
    c_over_f = 7.47 * jnp.exp(-0.133 * sigma ** 0.55) / ratio ** (0.715 * jnp.exp(-3.59e-4 * sigma))

    def phi_w_of(u_ft_min):
        """Rothermel wind factor for a wind of ``u_ft_min`` ft/min."""
        return c_over_f * u_ft_min ** b

    slope_rad = jnp.deg2rad(slope)
    phi_s = 5.275 * jnp.where(burnable, bed["beta"], 1.0) ** -0.3 * jnp.tan(slope_rad) ** 2

    # Slope-plane frame: u = along the upslope surface direction, c = horizontal, 90 deg clockwise of upslope.
    cos_slope = jnp.cos(slope_rad)
    relative = jnp.deg2rad(wind_from - aspect)       # downwind azimuth minus upslope azimuth
    wind_u = midflame * jnp.cos(relative) / cos_slope
    wind_c = midflame * jnp.sin(relative)
    wind_on_slope = jnp.hypot(wind_u, wind_c)
    phi_w = phi_w_of(wind_on_slope * M_TO_FT)
    phi_u = _div(phi_w * wind_u, wind_on_slope) + phi_s
    phi_c = _div(phi_w * wind_c, wind_on_slope)
    phi_e = jnp.hypot(phi_u, phi_c)

    # Effective wind speed and the wind limit.
    u_eff_ft = (phi_e / c_over_f) ** (1.0 / b)
    u_max_ft = 0.9 * bed["I_R"]
    wind_limited = burnable & use_wind_limit & (u_eff_ft > u_max_ft)
    phi_e = jnp.where(wind_limited, phi_w_of(u_max_ft), phi_e)
    u_eff_mph = jnp.where(wind_limited, u_max_ft, u_eff_ft) * FT_TO_M * M_MIN_TO_MPH

    # Head fire and its ellipse.
    r0 = jnp.where(burnable, bed["R0"] * FT_TO_M, 0.0)
    r_head = r0 * (1 + phi_e)
    lw = jnp.minimum(8.0, 0.936 * jnp.exp(0.1147 * u_eff_mph) + 0.461 * jnp.exp(-0.0692 * u_eff_mph) - 0.397)
    lw = jnp.where(burnable, jnp.maximum(lw, 1.0), 1.0)
    ecc = jnp.sqrt(lw ** 2 - 1) / lw
    r_back = r_head * (1 - ecc) / (1 + ecc)
    heading = jnp.mod(aspect + 180.0 + jnp.rad2deg(jnp.arctan2(phi_c, phi_u * cos_slope)), 360.0)

    # Intensity: Byram I = I_R x flame depth (R x residence time 384/sigma) / 60, Btu/ft/s.
    i_r = jnp.where(burnable, bed["I_R"], 0.0)
    i_head = i_r * (r_head * M_TO_FT) * (384.0 / sigma) / 60.0 * BTU_FT_S_TO_KW_M
    return SurfaceFire(
        R0_m_min=r0,
        R_head_m_min=r_head,
        heading_deg=jnp.where(burnable & (phi_e > 0), heading, 0.0),
        length_to_width=lw,
        eccentricity=ecc,
        R_back_m_min=r_back,
        R_flank_m_min=(r_head + r_back) / (2 * lw),
        reaction_intensity_kW_m2=i_r * BTU_FT2_MIN_TO_KW_M2,
        I_head_kW_m=i_head,
        flame_length_m=0.07747042253266703 * i_head ** 0.46,
        midflame_wind_m_min=midflame,
        wind_adjustment_factor=waf,
        wind_limited=wind_limited,
    )


def landscape_fire(landscape, weather, use_wind_limit=True) -> SurfaceFire:
    """:func:`surface_fire` for every cell of a :class:`jaxfire.Landscape` (``[H, W]``) under a
    :class:`jaxfire.Weather` with scalar wind and ``float[5]`` moisture; fields are ``[H, W]``."""
    return surface_fire(landscape.fuel_model, landscape.slope_deg, landscape.aspect_deg, weather.wind_speed_kmh,
                        weather.wind_from_deg, weather.moisture, landscape.canopy_cover, landscape.canopy_height_m,
                        use_wind_limit)
