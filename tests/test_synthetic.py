"""Tests for the synthetic landscape generator (jaxfire.landscape.synthetic)."""
import jax
import numpy as np
import pytest

from jaxfire import fuels
from jaxfire.landscape import Landscape, synthetic
from jaxfire.landscape.synthetic import GRASS, ROAD, SHRUB, TIMBER, WATER, slope_aspect

LAYERS = ("fuel_model", "slope_deg", "aspect_deg", "canopy_cover", "canopy_height_m", "canopy_base_height_m",
          "canopy_bulk_density_kg_m3", "elevation_m")
NO_FEATURES = dict(roads=0, rivers=0, lakes=0)


def _np(landscape, name):
    return np.asarray(getattr(landscape, name))


@pytest.mark.parametrize("key", [jax.random.key(3), jax.random.PRNGKey(3)])
def test_same_key_gives_bit_identical_landscapes(key):
    a, b = synthetic(key, (40, 30)), synthetic(key, (40, 30))
    for name in LAYERS:
        np.testing.assert_array_equal(_np(a, name), _np(b, name), err_msg=name)


def test_different_keys_differ():
    a, b = synthetic(jax.random.key(0), (40, 40)), synthetic(jax.random.key(1), (40, 40))
    assert not np.array_equal(_np(a, "elevation_m"), _np(b, "elevation_m"))
    assert not np.array_equal(_np(a, "fuel_model"), _np(b, "fuel_model"))


def test_shape_relief_and_cell_size_respected():
    ls = synthetic(jax.random.key(0), (37, 53), cell_size_m=10.0, relief_m=150.0, base_elevation_m=1000.0)
    assert isinstance(ls, Landscape) and ls.shape == (37, 53) and ls.cell_size_m == 10.0
    for name in LAYERS:
        assert _np(ls, name).shape == (37, 53), name
    elevation = _np(ls, "elevation_m")
    assert elevation.min() == pytest.approx(1000.0) and elevation.max() == pytest.approx(1150.0)


@pytest.mark.parametrize("dz_drow, dz_dcol, aspect", [
    (0.0, -0.1, 90.0),    # descends toward the east
    (0.1, 0.0, 0.0),      # rises toward the south = descends toward the north
    (-0.1, 0.0, 180.0),   # descends toward the south
    (0.0, 0.1, 270.0),    # descends toward the west
    (0.1, -0.1, 45.0),    # descends toward the north-east
])
def test_slope_aspect_on_analytic_planes(dz_drow, dz_dcol, aspect):
    cell = 30.0
    rows, cols = np.mgrid[0:6, 0:7] * cell
    slope, got = slope_aspect(500.0 + dz_drow * rows + dz_dcol * cols, cell)
    np.testing.assert_allclose(slope, np.degrees(np.arctan(np.hypot(dz_drow, dz_dcol))), atol=1e-9)
    np.testing.assert_allclose(got, aspect, atol=1e-9)


def test_slope_aspect_flat_and_stored_layers_consistent():
    slope, aspect = slope_aspect(np.full((4, 5), 7.0), 30.0)
    assert np.all(slope == 0) and np.all(aspect == 0)
    ls = synthetic(jax.random.key(5), (30, 40), cell_size_m=25.0)
    slope, aspect = slope_aspect(_np(ls, "elevation_m"), 25.0)
    np.testing.assert_allclose(_np(ls, "slope_deg"), slope, atol=1e-2)
    steep = slope > 1.0
    diff = (_np(ls, "aspect_deg")[steep] - aspect[steep] + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() < 0.1
    assert _np(ls, "aspect_deg").min() >= 0 and _np(ls, "aspect_deg").max() < 360


def test_features_disabled_gives_all_burnable_and_keeps_terrain():
    key = jax.random.key(2)
    bare, full = synthetic(key, (48, 48), **NO_FEATURES), synthetic(key, (48, 48))
    assert bool(bare.burnable.all())
    np.testing.assert_array_equal(_np(bare, "elevation_m"), _np(full, "elevation_m"))
    kept = np.asarray(full.burnable)
    np.testing.assert_array_equal(_np(bare, "fuel_model")[kept], _np(full, "fuel_model")[kept])


@pytest.mark.parametrize("feature, code", [("roads", ROAD), ("rivers", WATER), ("lakes", WATER)])
def test_each_feature_makes_its_nonburnable_cells(feature, code):
    ls = synthetic(jax.random.key(4), (48, 48), **{**NO_FEATURES, feature: 2})
    fuel = _np(ls, "fuel_model")
    assert np.any(fuel == code)
    assert set(np.unique(fuel[~np.asarray(ls.burnable)])) == {code}


def test_lakes_lie_low():
    for seed in range(3):
        ls = synthetic(jax.random.key(seed), (64, 64), roads=0, rivers=0, lakes=1, lake_fraction=0.03)
        elevation = _np(ls, "elevation_m")
        assert elevation[_np(ls, "fuel_model") == WATER].mean() < np.median(elevation)


def test_defaults_are_mostly_burnable():
    for seed in range(5):
        assert float(synthetic(jax.random.key(seed), (64, 64)).burnable.mean()) >= 0.7


def test_fuel_codes_valid():
    fuel = _np(synthetic(jax.random.key(0), (50, 50), roads=3, rivers=3, lakes=2), "fuel_model")
    fuels.validate_codes(fuel)
    assert set(np.unique(fuel)) <= set(GRASS + SHRUB + TIMBER + (ROAD, WATER))


def test_fuel_follows_terrain():
    for seed in range(4):
        ls = synthetic(jax.random.key(seed), (64, 64), **NO_FEATURES)
        fuel, elevation = _np(ls, "fuel_model"), _np(ls, "elevation_m")
        grass, timber = np.isin(fuel, GRASS), np.isin(fuel, TIMBER)
        assert elevation[timber].mean() > elevation[grass].mean()
        aspect, steep = _np(ls, "aspect_deg"), _np(ls, "slope_deg") > 10.0
        south = steep & (np.abs(aspect - 180.0) < 45.0)
        north = steep & ((aspect < 45.0) | (aspect > 315.0))
        assert grass[south].mean() > grass[north].mean()


def test_canopy_only_in_timber():
    ls = synthetic(jax.random.key(1), (50, 50))
    timber = np.isin(_np(ls, "fuel_model"), TIMBER)
    cover, height = _np(ls, "canopy_cover"), _np(ls, "canopy_height_m")
    base, density = _np(ls, "canopy_base_height_m"), _np(ls, "canopy_bulk_density_kg_m3")
    for layer in (cover, height, base, density):
        assert np.all(layer[~timber] == 0)
        assert np.all(layer[timber] > 0)
    assert cover.max() <= 1.0 and np.all(base[timber] < height[timber])


def test_roads_are_4_connected_lines():
    for seed in range(3):
        road = _np(synthetic(jax.random.key(seed), (40, 60), roads=3, rivers=0, lakes=0), "fuel_model") == ROAD
        padded = np.pad(road, 1)
        neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
        assert road.any() and np.all(neighbours[road])


@pytest.mark.parametrize("kwargs", [dict(shape=(1, 5)), dict(roughness=1.5), dict(relief_m=-1.0),
                                    dict(fuel_fractions=(1.0, 0.0)), dict(roads=-1)])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        synthetic(jax.random.key(0), **{"shape": (10, 10), **kwargs})
