"""The one evaluation harness: planners on held-out landscapes, judged on fresh fires they never saw.

For every case (a landscape, its weather and a budget in cells) each method places its breaks (planning with its
own sampled fires), then one set of fresh ignitions, shared by all methods on that landscape, burns the treated
landscape.  A method's score is the mean burned fraction of the landscape's cells over all those fires (every
case x fire) with a 95 % normal confidence interval; the same fires make the comparison paired.

Keys: case ``i`` of a landscape draws its fresh fires from ``fold_in(fold_in(key, landscape_index), 0)`` and every
method plans with ``fold_in(fold_in(key, landscape_index), 1)``, so cases of one landscape (several budgets) share
fires.  Conventions: burned fractions are fractions of ``H * W`` cells; times in minutes; seconds of wall clock.
Used by training-time evaluation (:func:`held_out`) and by ``python -m experiments.evaluate``.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxfire import fire
from jaxfire.landscape import Landscape, pool as pools
from jaxfire.validation import nan_if, validated
from jaxfire.weather import Weather


@dataclasses.dataclass(frozen=True)
class Case:
    """One evaluation problem: plan ``budget_cells`` cells on ``landscape`` under ``weather``."""

    name: str
    landscape: Landscape
    weather: Weather
    budget_cells: int
    landscape_index: int          # cases of the same landscape share their fresh fires
    budget_fraction: float | None = None


@dataclasses.dataclass
class Evaluation:
    """Per-fire burned fractions (``float[N]``) of every (method, case), ``"none"`` for no treatment, with the plans
    (``bool[H, W]``), the planning seconds and each case's fresh ignitions (``int32[N, 2]``)."""

    cases: list
    fires: dict = dataclasses.field(default_factory=dict)          # (method, case name) -> float[N]
    plans: dict = dataclasses.field(default_factory=dict)          # (method, case name) -> bool[H, W]
    plan_seconds: dict = dataclasses.field(default_factory=dict)   # (method, case name) -> seconds
    ignitions: dict = dataclasses.field(default_factory=dict)      # case name -> int32[N, 2]

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(method for method, _ in self.fires))

    def summary(self, method: str, cases=None) -> dict:
        """:func:`summarize` of ``method``'s fires over ``cases`` (default: all)."""
        names = [case.name for case in (self.cases if cases is None else cases)]
        return summarize(np.concatenate([self.fires[(method, name)] for name in names]))


@validated
@functools.partial(jax.jit, static_argnames="neighbours")
def burned_fractions(landscape: Landscape, weather: Weather, ignitions, max_minutes, treated,
                     neighbours: int = 16) -> jnp.ndarray:
    """``float32[N]``: burned fraction of the landscape's cells for each ignition on the treated landscape."""
    grid = fire.spread_grid(landscape.with_fuel_breaks(treated), weather, neighbours)
    times = fire.solve_many(grid, ignitions, max_minutes)
    return nan_if(jnp.isnan(times).any((1, 2)), jnp.isfinite(times).mean((1, 2)))  # NaN: invalid input in jit


def summarize(values) -> dict:
    """Mean, 95 % normal interval half-width (``None`` for fewer than two values) and count of a 1-D sample."""
    values = np.asarray(values, np.float64)
    if not len(values):
        raise ValueError("cannot summarize an empty sample")
    half = float(1.96 * values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return {"mean": float(values.mean()), "ci95": half, "n": int(len(values))}


def evaluate(methods: dict[str, Callable], cases: list[Case], key, *, num_fires: int, max_minutes: float,
             neighbours: int = 16, log: Callable[[str], None] | None = None) -> Evaluation:
    """Plan every case with every method and burn ``num_fires`` fresh fires per landscape (module docstring).

    ``methods``: name -> planner ``(key, landscape, weather, budget_cells) -> bool[H, W]`` (bind planner options
    with ``functools.partial``).
    """
    result = Evaluation(list(cases))
    for case in cases:
        case_key = jax.random.fold_in(key, case.landscape_index)
        land, weather = case.landscape, case.weather
        ignitions = fire.sample_ignitions(jax.random.fold_in(case_key, 0), land.burnable, num_fires)
        result.ignitions[case.name] = np.asarray(ignitions)
        burn = functools.partial(burned_fractions, land, weather, ignitions, max_minutes, neighbours=neighbours)
        result.fires[("none", case.name)] = np.asarray(burn(jnp.zeros(land.shape, bool)))
        for name, place in methods.items():
            tic = time.perf_counter()
            plan = np.asarray(place(jax.random.fold_in(case_key, 1), land, weather, case.budget_cells))
            result.plan_seconds[(name, case.name)] = time.perf_counter() - tic
            result.plans[(name, case.name)] = plan
            result.fires[(name, case.name)] = np.asarray(burn(plan))
            if log:
                log(f"{case.name} ({case.budget_cells} cells) {name:>18s}: burned "
                    f"{result.fires[(name, case.name)].mean():.4f} (untreated "
                    f"{result.fires[('none', case.name)].mean():.4f}) in {result.plan_seconds[(name, case.name)]:.1f} s")
    return result


def held_out(learner, params, key, num_fires: int, num_landscapes: int,
             baselines=("random", "burn_probability", "dpv")) -> tuple[dict, list]:
    """Training-time evaluation of a learner's greedy policy ``params`` against ``baselines`` on its first
    ``num_landscapes`` held-out landscapes (``learner.test_params``; weather = the first scenario of the
    landscape's bank, budget = its ``budget_cells``), ``num_fires`` fresh fires each; baselines plan with as many.

    Returns ``(table, details)``: ``table`` the mean burned fraction per method (``"none"``, ``"agent"``, the
    baselines), ``agent_vs_<baseline>`` = 1 - agent / baseline (positive: the agent burns less) and
    ``per_landscape`` rows; ``details`` per landscape the landscape, weather, ignitions, plans and burned fractions.
    """
    from jaxfire.agents.policy import PlacementPolicy
    from jaxfire.planners import PLANNERS

    config, test = learner.config, learner.test_params
    options = dict(num_ignitions=num_fires, max_minutes=config.max_minutes, neighbours=config.neighbours)
    methods = {"agent": PlacementPolicy(params, learner.network, config),
               **{name: functools.partial(PLANNERS[name], **options) for name in baselines}}
    cases = [Case(f"test_{i}", pools.take(test.pool, i), jax.tree.map(lambda x: x[i, 0], test.scenarios.weather),
                  int(test.budget_cells[i]), i) for i in range(min(num_landscapes, pools.size(test.pool)))]
    result = evaluate(methods, cases, key, num_fires=num_fires, max_minutes=config.max_minutes,
                      neighbours=config.neighbours)
    names = ["none", *methods]
    rows = [{"landscape": case.landscape_index, "budget_cells": case.budget_cells,
             **{name: float(result.fires[(name, case.name)].mean()) for name in names}} for case in cases]
    table = {name: result.summary(name)["mean"] for name in names}
    for name in baselines:
        table[f"agent_vs_{name}"] = 1.0 - table["agent"] / table[name] if table[name] > 0 else None
    details = [dict(index=case.landscape_index, landscape=case.landscape, weather=case.weather,
                    ignitions=result.ignitions[case.name],
                    plans={name: result.plans[(name, case.name)] for name in methods}, burned=row)
               for case, row in zip(cases, rows)]
    return {**table, "per_landscape": rows}, details
