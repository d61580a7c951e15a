"""Deterministic fire spread on a landscape: a minimum-travel-time cellular automaton on Rothermel spread rates.

The package reads as the data flow of one fire:

* :mod:`~jaxfire.fire.grid`: per-cell surface and crown behaviour under a weather -> step times of every stencil move
  (:func:`spread_grid`), and treated cells cut out of them (:func:`treat_grid`);
* :mod:`~jaxfire.fire.ignitions`: ignition masks and the one ignition sampler (:func:`sample_ignitions`);
* :mod:`~jaxfire.fire.jacobi` and :mod:`~jaxfire.fire.sweep`: two solvers of the arrival-time fixed point, the
  same answer bit for bit (Jacobi whole-grid relaxation; ordered sweeps in windows that follow the fire), picked by
  ``solver=`` on every solve, ``"auto"`` by grid size (:func:`choose_solver`);
* :mod:`~jaxfire.fire.incremental`: times after fuel breaks are added, re-solving only what can change
  (:func:`resolve_many`; Jacobi warm start);
* :mod:`~jaxfire.fire.spread`: the public solves: :func:`arrival_times`, :func:`solve`, :func:`solve_many` (a batch
  of fires, used everywhere one is needed), :func:`burn_probability`, :func:`expected_burned_fraction`;
* :mod:`~jaxfire.fire.analysis`: what planners read off solved fires: arrival-time trees, subtree sizes, downstream
  protection value (:func:`dpv_scores`), :func:`planning_maps`, the fire type of each burned cell (:func:`fire_type`).

Conventions (every module): arrays ``[row, col]``, row 0 = NORTH edge, col increases east; cells
``landscape.cell_size_m`` metres; times in minutes from ignition, ``inf`` where the fire has not arrived by
``max_minutes``.  The stochastic alternative (Alexandridis et al. 2008) is :mod:`jaxfire.stochastic`.
"""
from jaxfire.fire.analysis import (arrival_tree, dpv_from_times, dpv_scores, fire_type, grid_dpv, planning_maps,
                                   subtree_sizes)
from jaxfire.fire.grid import (INF, SpreadGrid, fire_behaviour, move_azimuths, ray_rates, shift, slowness, spread_grid,
                               step_times, treat_grid)
from jaxfire.fire.ignitions import ignition_mask, sample_ignitions
from jaxfire.fire.incremental import resolve_many
from jaxfire.fire.spread import (SOLVERS, arrival_times, burn_probability, burned_summary, choose_solver,
                                 expected_burned_fraction, grid_burn_probability, solve, solve_many)

__all__ = ["INF", "SOLVERS", "SpreadGrid", "arrival_times", "arrival_tree", "burn_probability", "burned_summary",
           "choose_solver", "dpv_from_times", "dpv_scores", "expected_burned_fraction", "fire_behaviour", "fire_type",
           "grid_burn_probability", "grid_dpv", "ignition_mask", "move_azimuths", "planning_maps", "ray_rates",
           "resolve_many", "sample_ignitions", "shift", "slowness", "solve", "solve_many", "spread_grid", "step_times",
           "subtree_sizes", "treat_grid"]
