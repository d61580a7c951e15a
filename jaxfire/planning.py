"""Plan a real landscape at full size: fire regimes, burn statistics of thousands of fires, plans compared on the
same fresh fires.

A *fire regime* is what the fires of a plan look like: ``K`` weather scenarios (fire ``i`` burns under scenario
``i mod K``), where fires start (uniform over burnable cells or an ignition-probability raster), how long they burn,
and the fire model (stencil, crown fire).  :func:`burn_statistics` burns a set of fires on a (treated) landscape in
batches, with a progress callback, and returns the burn probability map and each fire's burned fraction without
holding every arrival-time grid at once.  :func:`plan_and_evaluate` runs planners on a landscape and judges every
plan on the same fresh fires (a paired comparison), as ``python -m experiments.plan`` does.

Conventions: arrays ``[row, col]``, row 0 = north; burned fractions are fractions of the landscape's ``H * W`` cells
(cells outside the data are non-burnable and count in ``H * W``); areas in hectares (cell side ``cell_size_m``);
times in minutes; seconds of wall clock.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxfire import crown, fire
from jaxfire.evaluation import summarize
from jaxfire.landscape import Landscape
from jaxfire.planners import scoring
from jaxfire.weather import Weather


@dataclasses.dataclass(frozen=True)
class FireRegime:
    """The fires of a plan: ``weathers`` (fields ``[K]``), ignition likelihood (``float[H, W]`` or ``None``:
    uniform over burnable cells), duration cap (minutes), stencil and crown fire."""

    weathers: Weather
    max_minutes: float = 480.0
    ignition_probability: np.ndarray | None = None
    neighbours: int = 16
    crown_fire: bool = True

    @property
    def scenarios(self) -> int:
        return scoring.weather_count(self.weathers)

    def grids(self, landscape: Landscape) -> fire.SpreadGrid:
        """Step times of ``landscape`` under every weather (leading ``[K]`` axis)."""
        return jax.vmap(fire.spread_grid, in_axes=(None, 0, None, None))(landscape, self.weathers, self.neighbours,
                                                                          self.crown_fire)

    def ignitions(self, key, landscape: Landscape, count: int) -> jnp.ndarray:
        """``int32[count, 2]`` fresh ignitions (``count`` a multiple of the scenario count)."""
        if count < 1 or count % self.scenarios:
            raise ValueError(f"the number of fires ({count}) must be a positive multiple of the {self.scenarios} "
                             "weather scenarios")
        return fire.sample_ignitions(key, landscape.burnable, count, self.ignition_probability)


@jax.jit
def _batch_counts(grids, ignitions, max_minutes):
    """Burned counts ``int32[H, W]`` and per-fire burned cells ``int32[K, B]`` of ``ignitions`` ``[K, B, 2]``."""
    burned = jnp.isfinite(jax.vmap(fire.solve_many, in_axes=(0, 0, None))(grids, ignitions, max_minutes))
    return burned.sum((0, 1), dtype=jnp.int32), burned.sum((2, 3), dtype=jnp.int32)


def burn_statistics(landscape: Landscape, regime: FireRegime, ignitions, treated=None, *, batch: int = 128,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Burn probability ``float32[H, W]`` and burned fraction per fire ``float64[N]`` of ``ignitions``
    (``int[N, 2]``, fire ``i`` under weather ``i mod K``) on ``landscape`` with the cells ``treated`` treated.

    Fires run in batches of ``batch`` (rounded to a multiple of ``K``) so memory stays ``batch x H x W``;
    ``progress(fires_done)`` is called after each batch.
    """
    K, ignitions = regime.scenarios, np.asarray(ignitions, np.int32)
    if len(ignitions) % K:
        raise ValueError(f"{len(ignitions)} fires cannot be split evenly over the {K} weather scenarios")
    land = landscape if treated is None else landscape.with_fuel_breaks(jnp.asarray(treated))
    grids = regime.grids(land)
    per_scenario = ignitions.reshape(-1, K, 2).transpose(1, 0, 2)            # [K, N / K, 2]
    step = max(1, batch // K)
    counts, fires = np.zeros(landscape.shape, np.int64), []
    for start in range(0, per_scenario.shape[1], step):
        chunk = per_scenario[:, start:start + step]
        batch_counts, per_fire = _batch_counts(grids, jnp.asarray(chunk), jnp.float32(regime.max_minutes))
        counts += np.asarray(batch_counts)
        fires.append(np.asarray(per_fire).T.ravel())                       # back to fire order i = j * K + k
        if progress:
            progress(min(start + step, per_scenario.shape[1]) * K)
    size = landscape.shape[0] * landscape.shape[1]
    return (counts / len(ignitions)).astype(np.float32), np.concatenate(fires) / size


def fire_type_map(landscape: Landscape, regime: FireRegime) -> np.ndarray:
    """``uint8[H, W]``: the most severe fire type a head fire would have in each cell under any of the weather
    scenarios (0 non-burnable, 1 surface, 2 passive crown, 3 active crown; FlamMap's crown fire activity)."""
    def one(weather):
        _, crown_behaviour = fire.fire_behaviour(landscape, weather, True)
        return jnp.where(landscape.burnable, crown_behaviour.fire_type if regime.crown_fire else crown.SURFACE, 0)

    return np.asarray(jax.vmap(one)(regime.weathers).max(0), np.uint8)


@dataclasses.dataclass
class MethodResult:
    """One planner's plan (``bool[H, W]``), planning seconds, the burned fraction of each evaluation fire and the
    burn probability of those fires on the treated landscape (``float32[H, W]``)."""

    plan: np.ndarray
    plan_seconds: float
    fires: np.ndarray
    burn_probability: np.ndarray


def plan_and_evaluate(landscape: Landscape, methods: dict[str, Callable], regime: FireRegime, budget_cells: int, key,
                      *, plan_fires: int, eval_fires: int, progress: Callable[[str, int, int], None] | None = None
                      ) -> tuple[dict, np.ndarray, np.ndarray]:
    """Plan ``budget_cells`` cells with every method and burn the same ``eval_fires`` fresh fires on each plan.

    ``methods``: name -> planner (``(key, landscape, weather, budget_cells, *, num_ignitions, ignition_probability,
    max_minutes, neighbours)``); every planner plans with ``plan_fires`` fires of the regime drawn from ``key``'s
    ``fold_in(key, 0)``, the evaluation fires come from ``fold_in(key, 1)``.  ``progress(stage, done, total)``
    reports fires burned.  Returns ``({name: MethodResult}, untreated burned fraction per fire, untreated burn
    probability)``.
    """
    plan_key, eval_key = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
    ignitions = regime.ignitions(eval_key, landscape, eval_fires)
    report = (lambda stage: (lambda done: progress(stage, done, eval_fires))) if progress else (lambda stage: None)
    before, untreated = burn_statistics(landscape, regime, ignitions, progress=report("untreated"))
    options = dict(num_ignitions=plan_fires, ignition_probability=regime.ignition_probability,
                   max_minutes=regime.max_minutes, neighbours=regime.neighbours)
    results = {}
    for name, method in methods.items():
        tic = time.perf_counter()
        plan = np.asarray(method(plan_key, landscape, regime.weathers, budget_cells, **options))
        seconds = time.perf_counter() - tic
        probability, fires = burn_statistics(landscape, regime, ignitions, plan, progress=report(name))
        results[name] = MethodResult(plan, seconds, fires, probability)
    return results, untreated, before


def summary(result: MethodResult, cell_hectares: float, cells: int) -> dict:
    """Mean burned fraction with its 95 % interval, mean burned hectares per fire, planning seconds."""
    stats = summarize(result.fires)
    return {"burned_fraction": stats["mean"], "ci95": stats["ci95"], "fires": stats["n"],
            "burned_ha": stats["mean"] * cells * cell_hectares, "plan_seconds": result.plan_seconds,
            "treated_cells": int(result.plan.sum()), "treated_ha": float(result.plan.sum()) * cell_hectares}
