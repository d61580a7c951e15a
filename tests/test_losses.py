"""Pure losses and the network's convolution, against hand computations and lax.conv_general_dilated."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfire.agents import losses
from jaxfire.agents.networks import DilatedConv3x3, QNetwork

# Two samples on a 1x3 grid: the first has valid cells 0 and 1 next, the second ended (no valid cell).
NEXT_TARGET = jnp.array([[[1.0, 5.0, 3.0]], [[2.0, 0.0, 7.0]]])
NEXT_ONLINE = jnp.array([[[4.0, 0.0, 9.0]], [[0.0, 9.0, 1.0]]])
NEXT_MASK = jnp.array([[[True, True, False]], [[False, False, False]]])
RETURN, DISCOUNT = jnp.array([0.5, 1.0]), jnp.array([0.81, 0.81])


def test_double_target_rates_the_online_choice_with_the_target_network():
    # online picks cell 0 among the valid {0: 4, 1: 0} (cell 2's 9 is masked); the target network rates it 1
    target = losses.bootstrap_target(NEXT_TARGET, NEXT_ONLINE, NEXT_MASK, RETURN, DISCOUNT)
    np.testing.assert_allclose(target, [0.5 + 0.81 * 1.0, 1.0])     # an ended episode bootstraps nothing


def test_plain_target_takes_the_target_networks_own_best_valid_cell():
    target = losses.bootstrap_target(NEXT_TARGET, NEXT_TARGET, NEXT_MASK, RETURN, DISCOUNT)
    np.testing.assert_allclose(target, [0.5 + 0.81 * 5.0, 1.0])


def test_target_carries_no_gradient():
    grad = jax.grad(lambda t: losses.bootstrap_target(t, t, NEXT_MASK, RETURN, DISCOUNT).sum())(NEXT_TARGET)
    assert not np.asarray(grad).any()


def test_td_loss_is_the_huber_loss_at_the_taken_action():
    q_all = jnp.array([[0.0, 2.0, 9.0], [1.5, 0.0, 0.0]])
    target = jnp.array([1.5, 4.0])
    # sample 0 took cell 1: error 0.5 -> 0.5 * 0.5^2; sample 1 took cell 0: error 2.5 -> 2.5 - 0.5
    loss = losses.td_loss(q_all, jnp.array([1, 0]), target)
    assert float(loss) == pytest.approx((0.125 + 2.0) / 2)


def test_imitation_loss_is_the_cross_entropy_over_valid_cells_on_demonstrations():
    q_all = jnp.array([[0.0, np.log(3.0), 50.0], [0.0, 0.0, 0.0]])
    mask = jnp.array([[True, True, False], [True, True, True]])
    # sample 0: softmax over cells {0, 1} gives cell 1 probability 3/4; sample 1 is not a demonstration
    one_cell = jax.nn.one_hot(jnp.array([1, 2]), 3, dtype=bool)
    loss = losses.imitation_loss(q_all, mask, one_cell, jnp.array([True, False]))
    assert float(loss) == pytest.approx(-np.log(0.75) / 2, rel=1e-6)


def test_imitation_loss_rewards_picking_any_accepted_cell_and_ignores_invalid_ones():
    q_all = jnp.array([[np.log(2.0), np.log(3.0), 0.0, 50.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    mask = jnp.array([[True, True, True, False], [True, True, True, True], [True, True, True, True]])
    # sample 0: softmax over cells {0, 1, 2} = (2, 3, 1) / 6; cells 1 and 3 accepted, cell 3 invalid: p = 3/6.
    # sample 1: two of four cells accepted: p = 1/2.  sample 2: a demonstration with no accepted valid cell adds 0.
    accepted = jnp.array([[False, True, False, True], [True, False, True, False], [False] * 4])
    demo = jnp.array([True, True, True])
    loss, grad = jax.value_and_grad(losses.imitation_loss)(q_all, mask, accepted, demo)
    assert float(loss) == pytest.approx(2 * -np.log(0.5) / 3, rel=1e-6)
    grad = np.asarray(grad)
    assert np.isfinite(grad).all() and not grad[2].any() and grad[0, 3] == 0
    # raising an accepted cell lowers the loss, raising a rejected one raises it
    assert grad[0, 1] < 0 < grad[0, 0] and grad[1, 0] < 0 < grad[1, 1]


@pytest.mark.parametrize("dilation", [1, 2, 3])
@pytest.mark.parametrize("chunk_cells", [None, 126], ids=["whole", "chunks"])
def test_convolution_and_its_gradient_equal_lax_conv(dilation, chunk_cells, monkeypatch):
    """The layer is a 3x3 'SAME' dilated convolution (cross-correlation, zero padding) of its im2col parameters, and
    its custom gradient (im2col's, whole or in chunks of the batch) equals the gradient of
    ``lax.conv_general_dilated``."""
    from jaxfire.agents import networks
    from jaxfire.agents.networks import dilated_conv3x3, im2col_conv3x3

    if chunk_cells:   # two observations of 9 x 7 cells per chunk: chunks {0, 2} and {1, 3}
        monkeypatch.setattr(networks, "BACKWARD_CELLS", chunk_cells)
        assert networks.backward_chunks(4, 63, "cpu") == 2
    x = jax.random.normal(jax.random.key(0), (4, 9, 7, 5))
    layer = DilatedConv3x3(features=4, dilation=dilation)
    params = layer.init(jax.random.key(1), x)
    kernel = params["params"]["Dense_0"]["kernel"]
    bias = params["params"]["Dense_0"]["bias"]

    def lax_conv(x, kernel):   # kernel rows: shifts (dr, dc) row-major, then channels
        return jax.lax.conv_general_dilated(x, kernel.reshape(3, 3, 5, 4), (1, 1), "SAME",
                                            rhs_dilation=(dilation, dilation),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    expected = lax_conv(x, kernel)
    np.testing.assert_allclose(layer.apply(params, x), expected + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(im2col_conv3x3(x, kernel, dilation), expected, rtol=1e-5, atol=1e-5)
    weights = jax.random.normal(jax.random.key(2), expected.shape)
    grad_layer = jax.jit(jax.grad(lambda x, k: (dilated_conv3x3(x, k, dilation) * weights).sum(), (0, 1)))(x, kernel)
    grad_lax = jax.jit(jax.grad(lambda x, k: (lax_conv(x, k) * weights).sum(), (0, 1)))(x, kernel)
    for ours, theirs in zip(grad_layer, grad_lax):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_backward_chunks_divide_the_batch_within_the_cell_budget():
    from jaxfire.agents.networks import BACKWARD_CELLS, backward_chunks

    for batch, cells in [(128, 32 * 32), (32, 50 * 50), (7, 64 * 64), (12, 100), (1, 512 * 512)]:
        n = backward_chunks(batch, cells, "cpu")
        fits = [m for m in range(1, batch + 1) if batch % m == 0 and (batch // m * cells <= BACKWARD_CELLS
                                                                      or batch // m == 1)]
        assert n == fits[0]   # the fewest chunks that divide the batch within the budget (one observation at least)
    assert backward_chunks(128, 32 * 32, "cpu") == 16 and backward_chunks(12, 100, "cpu") == 1
    assert backward_chunks(128, 32 * 32, "gpu") == 1


@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_context_convolution_equals_convolution_of_the_concatenated_mean(dilation):
    """With ``context`` the layer equals a 3x3 'SAME' dilated convolution of ``[x, grid mean of x]`` (the mean
    broadcast to every cell, zero padding outside the grid), in value and in the gradients of x and the kernel."""
    x = jax.random.normal(jax.random.key(0), (2, 9, 7, 5))
    layer = DilatedConv3x3(features=4, dilation=dilation, context=True)
    params = layer.init(jax.random.key(1), x)
    assert params["params"]["Dense_0"]["kernel"].shape == (9 * 2 * 5, 4)

    def reference(x, params):   # kernel rows: shifts (dr, dc) row-major, then the 2C channels
        p = params["params"]["Dense_0"]
        stacked = jnp.concatenate([x, jnp.broadcast_to(x.mean((1, 2), keepdims=True), x.shape)], -1)
        return jax.lax.conv_general_dilated(stacked, p["kernel"].reshape(3, 3, 10, 4), (1, 1), "SAME",
                                            rhs_dilation=(dilation, dilation),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["bias"]

    np.testing.assert_allclose(jax.jit(layer.apply)(params, x), reference(x, params), rtol=1e-5, atol=1e-5)
    weights = jax.random.normal(jax.random.key(2), (2, 9, 7, 4))
    ours = jax.jit(jax.grad(lambda x, p: (layer.apply(p, x) * weights).sum(), (0, 1)))(x, params)
    theirs = jax.jit(jax.grad(lambda x, p: (reference(x, p) * weights).sum(), (0, 1)))(x, params)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_ranking_only_orders_cells_as_the_dueling_q_values():
    """A planner ranks cells by the advantages alone: Q less one constant per grid (the value minus the mean
    advantage), so the same best cell, while the Q-values themselves differ between grids by more than that."""
    obs = jax.random.normal(jax.random.key(0), (3, 11, 9, 5))
    network = QNetwork((8, 8), (1, 2))
    params = network.init(jax.random.key(1), obs)
    q, ranking = network.apply(params, obs), network.apply(params, obs, ranking_only=True)
    offset = np.asarray(q - ranking)
    np.testing.assert_allclose(offset, offset[:, :1, :1].repeat(11, 1).repeat(9, 2), atol=1e-5)
    assert np.ptp(offset[:, 0, 0]) > 1e-3
    np.testing.assert_array_equal(np.asarray(q).reshape(3, -1).argmax(1), np.asarray(ranking).reshape(3, -1).argmax(1))


@pytest.mark.parametrize("whole_plan", [False, True])
def test_accepted_cells_are_the_next_cell_or_the_rest_of_the_plan(whole_plan):
    from jaxfire.agents.demonstrations import accepted_cells

    order = jnp.array([[3, 0, 4, 1, 2, 5], [5, 4, 3, 2, 1, 0]])  # cell indices, the teacher's first pick first
    placed, budget = jnp.array([1, 0]), jnp.array([4, 2])
    accepted = np.asarray(accepted_cells(order, placed, budget, whole_plan))
    expected = [{0, 4, 1}, {5, 4}] if whole_plan else [{0}, {5}]
    assert [set(np.flatnonzero(row)) for row in accepted] == expected
