"""Fuel-break planners: which ``budget_cells`` cells of a landscape to treat so that future fires burn least.

Every planner has one signature (:mod:`jaxfire.planners.base`): ``name(key, landscape, weather, budget_cells,
*, ignitions=None, num_ignitions=64, ignition_probability=None, max_minutes=480.0, neighbours=16, ranked=False,
**method_specific) -> bool[H, W]`` (or ``int32[H, W]`` ranks with ``ranked=True``); :data:`PLANNERS` names them.

* :func:`random`: uniformly random burnable cells.
* :func:`burn_probability`: the cells most often burned by the planning fires.
* :func:`domirank`: DomiRank centrality of the fire-spread graph (structural; ignores the ignitions).
* :func:`dpv`: downstream protection value, the mean number of burned cells downstream of each cell.
* :func:`iterative_dpv`: DPV recomputed on the treated landscape every round (``rounds`` rounds); scales to any size.
* :func:`greedy`: one cell at a time, the top-DPV candidate that most lowers the expected burned fraction.
* :func:`cut_lines`: row and column segments that cut the planning fires, by burned area saved per treated cell, in
  ``rounds`` rounds of simulation; scales to any size (the default of ``python -m experiments.plan``).
  :func:`next_cut` is its answer from any partial plan (a teacher for learned planners).

A trained agent is a planner too: :func:`jaxfire.agents.load_policy` returns one with this signature.  To add a
planner, write the function in a module of this package and add it to :data:`PLANNERS`.
"""
from jaxfire.planners.base import cell_ranks, check_budget, top_cells
from jaxfire.planners.domirank import domirank, domirank_scores, spread_weights
from jaxfire.planners.greedy import greedy, greedy_search
from jaxfire.planners.heuristics import burn_probability, dpv, random
from jaxfire.planners.iterative import iterative_dpv
from jaxfire.planners.lines import cut_lines, cut_lines_search, next_cut

PLANNERS = {"random": random, "burn_probability": burn_probability, "domirank": domirank, "dpv": dpv,
            "iterative_dpv": iterative_dpv, "greedy": greedy, "cut_lines": cut_lines}

__all__ = ["PLANNERS", "burn_probability", "cell_ranks", "check_budget", "cut_lines", "cut_lines_search", "domirank",
           "domirank_scores", "dpv", "greedy", "greedy_search", "iterative_dpv", "next_cut", "random",
           "spread_weights", "top_cells"]
