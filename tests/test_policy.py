"""A trained network as a planner: its cell-by-cell first convolution and its plans against a plain re-evaluation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire import fire, landscape
from jaxfire.agents.networks import DilatedConv3x3, FirstLayer, QNetwork, masked_argmax
from jaxfire.agents.policy import greedy_placement
from jaxfire.env import observation, untreated_fire
from jaxfire.env.types import Channel
from jaxfire.weather import Weather

SHAPE = (14, 11)
WEATHER = Weather(20.0, 270.0)
PLANNING = 8


@pytest.fixture(scope="module")
def land():
    return landscape.synthetic(jax.random.key(5), SHAPE)


def network_and_params(norm: bool):
    network = QNetwork((6, 5, 4), (2, 1, 3), norm=norm)  # dilation 2 first: taps that leave the grid near its sides
    params = network.init(jax.random.key(1), jnp.zeros((1,) + SHAPE + (len(Channel),)))
    return network, params


def planning_maps(land, key):
    ignitions = fire.sample_ignitions(key, land.burnable, PLANNING)
    return fire.planning_maps(fire.spread_grid(land, WEATHER, 16), ignitions, 480.0)


def test_first_layer_follows_single_cell_treatments_and_convolves_a_rescaled_channel_whole(land):
    """Along a sequence of treatments (corners and sides included, and the cell of the highest head rate, which
    rescales a whole channel), the kept-up layer equals the network's first convolution of each observation."""
    network, params = network_and_params(norm=False)
    planning, channels = planning_maps(land, jax.random.key(2)), untreated_fire(land, WEATHER)
    budget = jnp.int32(12)
    layer = FirstLayer(params, network, SHAPE)
    burnable = np.asarray(land.burnable)
    head = np.where(burnable, np.asarray(channels[..., 5]), -1).ravel()
    corners = [c for c in (0, SHAPE[1] - 1, (SHAPE[0] - 1) * SHAPE[1], SHAPE[0] * SHAPE[1] - 1) if burnable.ravel()[c]]
    cells = corners + [int(head.argmax())] + list(np.flatnonzero(burnable.ravel())[::17][:6])
    treated = jnp.zeros(SHAPE, bool)
    obs = observation(land, WEATHER, treated, 0, budget, planning, channels)
    state = layer.start(obs)
    for placed, cell in enumerate(cells, 1):
        treated = treated.reshape(-1).at[cell].set(True).reshape(SHAPE)
        new = observation(land, WEATHER, treated, placed, budget, planning, channels)
        state = layer.update(state, obs, new, jnp.int32(cell))
        obs = new
        np.testing.assert_allclose(layer.output(state, obs)[0], _first_conv(network, params, obs), rtol=1e-5,
                                   atol=1e-5)


def _first_conv(network, params, obs):
    """The network's first convolution of one observation ``[H, W, C]`` (before its ReLU), by Flax."""
    conv = DilatedConv3x3(network.features[0], network.dilations[0], context=True)
    return conv.apply({"params": params["params"]["DilatedConv3x3_0"]}, obs[None])[0]


@pytest.mark.parametrize("norm", [False, True])
def test_greedy_placement_equals_re_evaluating_the_whole_network_every_placement(land, norm):
    """The planner (advantages only, first layer kept up to date) places the cells that the best valid Q-value of
    the whole network, re-evaluated on every observation, picks one by one."""
    network, params = network_and_params(norm)
    key, budget = jax.random.key(3), 15
    plan = np.asarray(greedy_placement(params, network, key, land, WEATHER, budget, 16, PLANNING, 480.0))
    planning = planning_maps(land, key)  # the planner's own fires: drawn with its key
    channels, treated = untreated_fire(land, WEATHER), jnp.zeros(SHAPE, bool)
    for placed in range(budget):
        obs = observation(land, WEATHER, treated, placed, jnp.int32(budget), planning, channels)
        cell = masked_argmax(network.apply(params, obs[None])[0], land.burnable & ~treated)
        treated = treated.reshape(-1).at[cell].set(True).reshape(SHAPE)
    np.testing.assert_array_equal(plan, np.asarray(treated))
    assert plan.sum() == budget
