"""Deprecated alias of :mod:`jaxfire.planners` (and of the fire analysis that moved to :mod:`jaxfire.fire`), kept so
research code written against ``jaxfire.baselines.<name>`` and ``BASELINES`` keeps working."""
from jaxfire.fire import (arrival_tree, dpv_from_times, dpv_scores, subtree_sizes,  # noqa: F401
                          treat_grid)
from jaxfire.planners import *  # noqa: F401,F403
from jaxfire.planners import PLANNERS as BASELINES  # noqa: F401
from jaxfire.fire import sample_ignitions as _sample_ignitions


def sample_ignitions(key, landscape, n: int, ignition_probability=None):
    """``int32[n, 2]`` ignitions over ``landscape``'s burnable cells: :func:`jaxfire.fire.sample_ignitions`."""
    return _sample_ignitions(key, landscape.burnable, n, ignition_probability)
