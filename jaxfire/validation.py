"""Bad input: the one rule every part of jaxfire follows, and the small helpers that apply it.

The rule:

1. **Raise where the value can be seen.**  A public entry point checks every argument whose value it can see
   (Python numbers, NumPy arrays and concrete JAX arrays outside ``jit``) and raises ``ValueError`` naming the
   argument and its allowed range (``TypeError`` for the wrong kind of value: a string, ``None``).  Shapes and
   dtypes are always visible, so they are checked inside ``jit`` too.
2. **NaN where it cannot.**  Inside ``jit``/``vmap``/``grad`` a traced value cannot raise, so a bad value makes the
   result NaN instead: a NaN or negative wind speed, a NaN wind direction, a fuel or foliar moisture outside
   (0, 5] (or NaN), a NaN or negative ``max_minutes``, an ignition off the grid or not a whole cell, an ignition mask with no
   burning cell, or a landscape layer out of range (NaN, a slope above 89.9 degrees, an unknown fuel code) give
   NaN arrival times, and from them NaN burn probabilities, expected burned fractions, DPV, planning maps, per-fire
   burned fractions and environment rewards.  Burned *counts* are integers and cannot be NaN: they are ``-1``.  A
   bad input never yields a plausible number.  Plans (boolean masks) cannot carry NaN: planners and policies raise
   on what they can see; inside ``jit`` they trust their inputs (the environment validates its scenario bank when
   it draws it).
3. **A checked entry point.**  :func:`checked` compiles a function with ``jax.experimental.checkify`` so that a NaN
   result raises ``ValueError`` even when the bad value was traced.

Valid input is never touched: the checks only read it, and a poisoned result is ``jnp.where(ok, result, nan)``,
which is the result itself when ``ok``.

The helpers: :func:`concrete` (a value or ``None`` when traced), :class:`Range` (a named range with its message),
:func:`validated` (the decorator that applies the rule by argument name: ``landscape``, ``weather``,
``max_minutes``, ``ignition``, ``ignitions``, ``grid``), :func:`poison`, :func:`check_finite_tree` and
:func:`checked`.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxfire.fuels import KNOWN_CODES


def _hidden(x) -> bool:
    """Whether ``x``'s value cannot be seen here: traced, deleted (donated) or spread over processes."""
    return is_traced(x) or (isinstance(x, jax.Array) and (x.is_deleted() or not x.is_fully_addressable))


def concrete(x) -> np.ndarray | None:
    """``x`` as a NumPy array, or ``None`` when its value cannot be seen here (traced, or spread over processes)."""
    if _hidden(x):
        return None
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def is_traced(x) -> bool:
    """Whether ``x`` is a tracer (its value cannot be seen: inside ``jit``, ``vmap``, ``grad``)."""
    return isinstance(x, jax.core.Tracer)


def _is_numeric(array: np.ndarray) -> bool:
    return array.dtype != bool and (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))


@dataclasses.dataclass(frozen=True)
class Range:
    """Allowed values of a number (or of every element of an array): bounds (``None``: unbounded), open or closed,
    whole numbers only, finite only (``finite=False`` still refuses NaN but allows ``inf``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    finite: bool = True

    def describe(self) -> str:
        """E.g. ``"a finite number in (0, 1]"``, ``"a whole number >= 1"``."""
        kind = "a whole number" if self.integer else "a finite number" if self.finite else "a number (not NaN)"
        low = None if self.low is None else ("(" if self.low_open else "[") + f"{self.low:g}"
        high = None if self.high is None else f"{self.high:g}" + (")" if self.high_open else "]")
        if low and high:
            return f"{kind} in {low}, {high}"
        if low:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        if high:
            return f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
        return kind

    def inside(self, x, xp=np):
        """Elementwise: whether ``x`` (NumPy or JAX, ``xp`` its module) lies in the range (NaN never does)."""
        ok = xp.isfinite(x) if self.finite else ~xp.isnan(x)
        if self.integer:
            ok = ok & (x == xp.round(x))
        if self.low is not None:
            ok = ok & ((x > self.low) if self.low_open else (x >= self.low))
        if self.high is not None:
            ok = ok & ((x < self.high) if self.high_open else (x <= self.high))
        return ok

    def check(self, value, name: str):
        """Raise (naming ``name``) when ``value`` is visible and outside the range; ``True`` when it is visible and
        inside; a traced ``bool[]`` when it is traced."""
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be {self.describe()}, got {value!r}")
        array = concrete(value)
        if array is None:
            return jnp.all(self.inside(jnp.asarray(value), jnp))
        if not _is_numeric(array):
            raise TypeError(f"{name} must be {self.describe()}, got {value!r} (dtype {array.dtype})")
        bad = ~self.inside(array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64))
        if bad.any():
            where = f" at index {np.argwhere(bad)[0].tolist()}" if array.ndim else ""
            raise ValueError(f"{name} must be {self.describe()}, got {array[bad].ravel()[0].item()!r}{where}")
        return True

    def value(self, value, name: str):
        """The visible ``value`` checked and returned as an ``int`` (``integer``) or ``float``."""
        if self.check(value, name) is not True:
            raise TypeError(f"{name} must be a concrete number, not a traced value")
        return int(value) if self.integer else float(value)


def all_of(oks):
    """``True`` when every check passed eagerly, else a traced ``bool[]`` of the traced ones."""
    traced = [ok for ok in oks if ok is not True]
    return True if not traced else functools.reduce(jnp.logical_and, [jnp.asarray(ok) for ok in traced])


# --------------------------------------------------------------------------- the library's inputs
WEATHER = {  # Weather field -> allowed values (fields absent from a weather are skipped)
    "wind_speed_kmh": Range(0.0),
    "wind_from_deg": Range(),
    "moisture": Range(0.0, 5.0, low_open=True),
    "foliar_moisture": Range(0.0, 5.0, low_open=True),
}
MINUTES = Range(0.0, finite=False)  # max_minutes: NaN and negative refused; inf = no cap
LANDSCAPE = {  # Landscape layer -> allowed values in every cell (the ranges landscape.from_arrays enforces)
    "slope_deg": Range(0.0, 89.9), "aspect_deg": Range(), "canopy_cover": Range(0.0, 1.0),
    "canopy_height_m": Range(0.0, 150.0), "canopy_base_height_m": Range(0.0, 150.0),
    "canopy_bulk_density_kg_m3": Range(0.0, 5.0), "elevation_m": Range(-500.0, 9000.0),
}


@jax.jit
def _layer_flags(landscape) -> dict:
    """``{layer: bool[]}``: whether every cell of each layer is allowed (fuel codes: known ones)."""
    flags = {name: jnp.all(rule.inside(getattr(landscape, name), jnp))
             for name, rule in LANDSCAPE.items() if hasattr(landscape, name)}
    flags["fuel_model"] = jnp.all(jnp.isin(landscape.fuel_model, jnp.asarray(KNOWN_CODES)))
    return flags


def landscape_ok(landscape, name: str = "landscape"):
    """Check a :class:`jaxfire.landscape.Landscape`'s layers (:data:`LANDSCAPE`, known fuel codes) in one compiled
    reduction; ``True``, a traced ``bool[]``, or raises naming the layer."""
    if not hasattr(landscape, "fuel_model"):
        raise TypeError(f"{name} must be a jaxfire Landscape, got {type(landscape).__name__}")
    flags = _layer_flags(landscape)
    if any(_hidden(flag) for flag in flags.values()):
        return functools.reduce(jnp.logical_and, flags.values())
    for layer, ok in jax.device_get(flags).items():
        if not ok:
            allowed = "known fuel-model codes" if layer == "fuel_model" else LANDSCAPE[layer].describe()
            raise ValueError(f"{name}.{layer} must hold {allowed} in every cell (landscape.from_arrays validates "
                             "rasters and names the cell)")
    return True


def weather_ok(weather, name: str = "weather"):
    """Check a :class:`jaxfire.weather.Weather` (:data:`WEATHER`); ``True``, a traced ``bool[]``, or raises."""
    if not hasattr(weather, "wind_speed_kmh"):
        raise TypeError(f"{name} must be a jaxfire.Weather, got {type(weather).__name__}")
    shape = jnp.shape(weather.moisture)
    if shape[-1:] != (5,):
        raise ValueError(f"{name}.moisture must have 5 values (d1, d10, d100, live herb, live woody) on its last "
                         f"axis, got shape {shape}")
    return all_of(rule.check(getattr(weather, field), f"{name}.{field}")
                  for field, rule in WEATHER.items() if hasattr(weather, field))


def cap_ok(max_minutes, name: str = "max_minutes"):
    """Check a fire duration cap (:data:`MINUTES`, one number); ``True``, a traced ``bool[]``, or raises."""
    if max_minutes is None or isinstance(max_minutes, (str, bytes)):
        raise TypeError(f"{name} must be {MINUTES.describe()} of minutes, got {max_minutes!r}")
    if jnp.ndim(max_minutes) != 0:
        raise ValueError(f"{name} must be one number of minutes, got shape {jnp.shape(max_minutes)} (vmap over caps "
                         "to run several)")
    return MINUTES.check(max_minutes, name)


def _cells_inside(cells, shape, xp):
    """``bool[N]``: rows of ``cells`` ``[N, 2]`` that are whole cells of a ``shape`` grid (any grid when ``None``)."""
    cells = cells.astype(xp.float32 if xp is jnp else np.float64)
    ok = (xp.isfinite(cells) & (cells == xp.round(cells))).all(-1)
    if shape is not None:
        ok = ok & (cells >= 0).all(-1) & (cells[:, 0] < shape[0]) & (cells[:, 1] < shape[1])
    return ok


def _cells_ok(cells, shape, name: str, pair: bool):
    array = concrete(cells)
    if array is None:
        dtype = jnp.result_type(cells)
        if dtype == jnp.bool_:
            raise TypeError(f"{name} must hold integer (row, col) cells, got dtype bool")
        return jnp.all(_cells_inside(jnp.reshape(jnp.asarray(cells), (-1, 2)), shape, jnp))
    if not _is_numeric(array):
        raise TypeError(f"{name} must hold integer (row, col) cells, got {cells!r} (dtype {array.dtype})")
    bad = ~_cells_inside(array.reshape(-1, 2), shape, np)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = tuple(array.reshape(-1, 2)[row].tolist())
        grid = "" if shape is None else f" of the {shape[0]}x{shape[1]} grid (rows 0..{shape[0] - 1}, columns " \
                                        f"0..{shape[1] - 1})"
        raise ValueError(f"{name}{'' if pair else f' row {row}'} = {cell} is not a whole cell{grid}")
    return True


def _masks_ok(masks, name: str):
    """Ignition masks ``[..., H, W]`` must each ignite at least one cell."""
    array = concrete(masks)
    if array is None:
        return jnp.all(jnp.asarray(masks).astype(bool).any((-2, -1)))
    empty = ~array.astype(bool).any((-2, -1))
    if empty.any():
        where = f" (mask {np.argwhere(empty)[0].tolist()})" if empty.ndim else ""
        raise ValueError(f"{name} has no burning cell{where}: an ignition mask needs at least one True cell")
    return True


def _array(x):
    """A list or tuple (possibly of tracers) as one array; other values unchanged."""
    if not isinstance(x, (list, tuple)):
        return x
    array = concrete(x)
    return jnp.asarray(x) if array is None else array


def ignition_ok(ignition, shape, name: str = "ignition"):
    """Check one ignition, a ``(row, col)`` pair or a ``bool[H, W]`` mask on a ``shape`` grid."""
    if ignition is None or isinstance(ignition, (str, bytes)):
        raise TypeError(f"{name} must be a (row, col) pair or a bool[H, W] mask, got {ignition!r}")
    ignition = _array(ignition)
    given = jnp.shape(ignition)
    if shape is not None and given == tuple(shape):
        return _masks_ok(ignition, name)
    if given != (2,):
        raise ValueError(f"{name} must be a (row, col) pair or a bool{list(shape) if shape else '[H, W]'} mask, got "
                         f"shape {given}")
    return _cells_ok(ignition, shape, name, pair=True)


def ignitions_ok(ignitions, shape, name: str = "ignitions"):
    """Check a batch of ignitions: ``int[N, 2]`` cells (or ``bool[N, H, W]`` masks), ``N >= 1``."""
    if ignitions is None or isinstance(ignitions, (str, bytes)):
        raise TypeError(f"{name} must be int[N, 2] (row, col) pairs, got {ignitions!r}")
    ignitions = _array(ignitions)
    given = jnp.shape(ignitions)
    if shape is not None and len(given) == 3 and given[1:] == tuple(shape):
        if not given[0]:
            raise ValueError(f"{name} is empty (shape {given}): give at least one ignition")
        return _masks_ok(ignitions, name)
    if len(given) != 2 or given[1] != 2:
        raise ValueError(f"{name} must be int[N, 2] (row, col) pairs, got shape {given}")
    if not given[0]:
        raise ValueError(f"{name} is empty (shape {given}): give at least one (row, col) ignition")
    return _cells_ok(ignitions, shape, name, pair=False)


def grid_ok(grid, name: str = "grid"):
    """Step times (:class:`jaxfire.fire.SpreadGrid`) must not be NaN: NaN comes from an invalid weather or
    landscape inside ``jit`` (rule 2)."""
    step = grid.step_minutes
    has_nan = jnp.isnan(step).any()  # reduced where the array lives: only a bool comes to the host
    if _hidden(step) or is_traced(has_nan):  # traced, or a constant inside a jit trace
        return ~has_nan
    if bool(has_nan):
        raise ValueError(f"{name} has NaN step times: it was computed from an invalid weather or landscape (inside "
                         "jit, where bad input becomes NaN)")
    return True


def _grid_shape(arguments: dict):
    """``(H, W)`` of the landscape or grid among ``arguments`` (``None`` without either)."""
    landscape, grid = arguments.get("landscape"), arguments.get("grid")
    if hasattr(landscape, "fuel_model"):
        return tuple(jnp.shape(landscape.fuel_model)[-2:])
    if hasattr(grid, "step_minutes"):
        return tuple(jnp.shape(grid.step_minutes)[-2:])
    return None


def arguments_ok(arguments: dict):
    """Apply the checks to the arguments named ``landscape``, ``weather``, ``max_minutes``, ``ignition``,
    ``ignitions`` and ``grid`` (the caller leaves out optional ones given as ``None``)."""
    shape, oks = _grid_shape(arguments), []
    if "landscape" in arguments:
        oks.append(landscape_ok(arguments["landscape"]))
    if "grid" in arguments:
        oks.append(grid_ok(arguments["grid"]))
    if "weather" in arguments:
        oks.append(weather_ok(arguments["weather"]))
    if "max_minutes" in arguments:
        oks.append(cap_ok(arguments["max_minutes"]))
    if "ignition" in arguments:
        oks.append(ignition_ok(arguments["ignition"], shape))
    if "ignitions" in arguments:
        oks.append(ignitions_ok(arguments["ignitions"], shape))
    return all_of(oks)


_CHECKED = ("landscape", "grid", "weather", "max_minutes", "ignition", "ignitions")


def validated(function):
    """``function`` with the rule applied to its arguments named ``landscape``, ``weather``, ``max_minutes``,
    ``ignition``, ``ignitions`` (skipped when ``None`` is its default and it is ``None``) and ``grid``: visible bad
    values raise before ``function`` runs; when any of them is traced, the floating outputs become NaN unless all
    are valid."""
    signature = inspect.signature(function)
    optional = {name for name, p in signature.parameters.items() if p.default is None}

    @functools.wraps(function)
    def checked_call(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = {name: value for name, value in bound.arguments.items()
                 if name in _CHECKED and not (value is None and name in optional)}
        ok = arguments_ok(given)
        out = function(*args, **kwargs)
        return out if ok is True else poison(out, ok)

    return checked_call


def _floating(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.floating)


def poison(tree, ok):
    """``tree`` with every floating leaf NaN where ``ok`` is false (``ok`` broadcasts); other leaves unchanged."""
    return jax.tree.map(lambda x: jnp.where(ok, x, jnp.nan).astype(x.dtype) if _floating(x) else x, tree)


def nan_if(bad, x):
    """``x`` (floating) with NaN where ``bad``."""
    return jnp.where(bad, jnp.nan, x).astype(jnp.result_type(x))


def check_finite_tree(tree, name: str) -> None:
    """Raise ``ValueError`` naming the first leaf of ``tree`` (e.g. network parameters) holding NaN or inf; leaves
    that cannot be seen (traced) are skipped."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if not _floating(leaf) or _hidden(leaf):
            continue
        finite = jnp.isfinite(leaf).all()  # reduced where the array lives: only a bool comes to the host
        if not is_traced(finite) and not bool(finite):
            raise ValueError(f"{name} are not finite: {jax.tree_util.keystr(path)} holds NaN or inf")


def _any_nan(tree):
    flags = [jnp.isnan(x).any() for x in jax.tree.leaves(tree) if _floating(x)]
    return functools.reduce(jnp.logical_or, flags, jnp.bool_(False))


def checked(function, **jit_kwargs):
    """``function`` compiled with ``jax.experimental.checkify``: it raises ``ValueError`` (``JaxRuntimeError``)
    when any floating result is NaN, i.e. when an input was invalid, even one given as a traced value.

    ``jit_kwargs`` go to ``jax.jit`` (e.g. ``static_argnames="neighbours"``).  Example:
    ``validation.checked(fire.burn_probability, static_argnames="neighbours")(land, weather, ignitions, 480.0)``.
    """
    name = getattr(function, "__name__", "function")

    def with_check(*args, **kwargs):
        out = function(*args, **kwargs)
        checkify.check(~_any_nan(out), f"invalid input to {name}: its result is NaN (a NaN or out-of-range weather, "
                                       "cap, ignition or landscape value)")
        return out

    program = jax.jit(checkify.checkify(with_check), **jit_kwargs)

    @functools.wraps(function)
    def run(*args, **kwargs):
        error, out = program(*args, **kwargs)
        error.throw()
        return out

    return run
