"""Landscapes: the raster layers a fire burns on (see :mod:`jaxfire.landscape.core` for conventions)."""
from jaxfire.landscape.core import Landscape, from_arrays
from jaxfire.landscape.synthetic import synthetic

__all__ = ["Landscape", "from_arrays", "synthetic"]
