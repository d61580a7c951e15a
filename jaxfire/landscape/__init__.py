"""Landscapes: the raster layers a fire burns on (see :mod:`jaxfire.landscape.core` for conventions)."""
from jaxfire.landscape import lcp, names, raster  # rasterio is imported only when a raster function runs
from jaxfire.landscape.core import Landscape, from_arrays
from jaxfire.landscape.pool import sample, size, split, split_indices, stack, synthetic_pool, take
from jaxfire.landscape.synthetic import synthetic

__all__ = ["raster", "lcp", "names", "Landscape", "from_arrays", "synthetic", "stack", "take", "size", "sample",
           "split", "split_indices", "synthetic_pool"]
