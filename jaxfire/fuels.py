"""Fuel-model codes and the standard fuel-model table.

Conventions: Anderson (1982) 13 models are codes 1-13, Scott & Burgan (2005) 40 models are codes 101-204,
codes 91-99 are non-burnable (91 urban, 92 snow/ice, 93 agriculture, 98 water, 99 barren; 94-97 accepted as
non-burnable too).  Any other code is an error.
"""
from __future__ import annotations

import numpy as np

ANDERSON_13 = tuple(range(1, 14))
SCOTT_BURGAN_40 = (
    101, 102, 103, 104, 105, 106, 107, 108, 109,   # GR1-GR9   grass
    121, 122, 123, 124,                            # GS1-GS4   grass-shrub
    141, 142, 143, 144, 145, 146, 147, 148, 149,   # SH1-SH9   shrub
    161, 162, 163, 164, 165,                       # TU1-TU5   timber-understory
    181, 182, 183, 184, 185, 186, 187, 188, 189,   # TL1-TL9   timber litter
    201, 202, 203, 204,                            # SB1-SB4   slash-blowdown
)
NONBURNABLE_CODES = tuple(range(91, 100))
BURNABLE_CODES = ANDERSON_13 + SCOTT_BURGAN_40
KNOWN_CODES = BURNABLE_CODES + NONBURNABLE_CODES


def validate_codes(fuel_model: np.ndarray, name: str = "fuel_model") -> np.ndarray:
    """Return ``fuel_model`` as int32, raising ``ValueError`` naming any unknown code."""
    array = np.asarray(fuel_model)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must be numeric fuel-model codes, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or inf")
        if np.any(array != np.round(array)):
            raise ValueError(f"{name} must hold whole-number fuel-model codes")
    codes = array.astype(np.int64)
    unknown = np.setdiff1d(np.unique(codes), KNOWN_CODES)
    if unknown.size:
        raise ValueError(
            f"{name} has unknown fuel-model code(s) {unknown.tolist()[:10]}; known: Anderson 1-13, "
            "Scott & Burgan 101-204, non-burnable 91-99")
    return codes.astype(np.int32)


def is_burnable(fuel_model):
    """Boolean mask of burnable codes (works on NumPy and JAX arrays)."""
    return (fuel_model < 91) | (fuel_model > 99)
