"""Fully convolutional Q-network: one Q-value per cell, any grid size.

Input ``float32[B, H, W, C]`` observations (channels last, see :mod:`jaxfire.env`); output ``float32[B, H, W]``.
Dilated 3x3 convolutions see a neighbourhood of ``1 + 2 * sum(dilations)`` cells; every layer also receives
the mean of the previous layer over the whole grid, so distant fire paths inform each cell's value.  That mean is
the same at every cell, so its part of the convolution is computed once per tap on the ``[B, C]`` means and
spread over the cells whose tap lands inside the grid (:class:`DilatedConv3x3` with ``context``): the same layer
as convolving the concatenated ``[x, mean]`` channels, at half the cost (one gradient of the four-layer network,
16 channels, inside ``lax.scan`` on 2 cores: 4.0 -> 2.0 ms per 32 x 32 observation, 9.2 -> 4.9 ms per 50 x 50).

Each convolution runs forward as a native dilated convolution and differentiates as im2col (nine shifted copies of
the input, then a matrix product; :func:`dilated_conv3x3`): XLA:CPU runs the weight gradient of a native convolution
~8x slower inside ``lax.scan`` (the training loop; 50x50, batch 32, 16 channels, four layers: 3.49 s native vs
0.41 s im2col per gradient on 2 cores), while its forward pass is 2-5x faster than im2col's (0.14 s vs 0.03 s for
16 observations, 4.2 ms vs 2.4 ms for one; 2 cores).  On a CPU the gradient runs over chunks of the batch
(:func:`backward_chunks`), so the shifted copies stay in cache.  Parameters are the dense layer's of the im2col form
(``Dense_0/kernel`` ``[9 * C, F]``, shifts ``(dr, dc)`` row-major, then channels).

With ``norm`` every hidden layer (each convolution and the dueling value head's hidden layer) is followed by a
LayerNorm over its channels before the ReLU, as PQN (Gallici et al. 2024) uses to make TD learning stable without a
target network; off by default (the DQN network is unchanged).
"""
from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def im2col_conv3x3(x: jnp.ndarray, kernel: jnp.ndarray, dilation: int) -> jnp.ndarray:
    """3x3 'SAME' dilated convolution (cross-correlation, zero padding) as shifted copies + a matrix product:
    ``x`` ``[B, H, W, C]``, ``kernel`` ``[9 * C, F]`` -> ``[B, H, W, F]``."""
    d = dilation
    H, W = x.shape[1:3]
    padded = jnp.pad(x, ((0, 0), (d, d), (d, d), (0, 0)))
    patches = [padded[:, d + dr:d + dr + H, d + dc:d + dc + W] for dr in (-d, 0, d) for dc in (-d, 0, d)]
    return jnp.concatenate(patches, -1) @ kernel


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def dilated_conv3x3(x: jnp.ndarray, kernel: jnp.ndarray, dilation: int) -> jnp.ndarray:
    """:func:`im2col_conv3x3`, computed by ``lax.conv_general_dilated`` and differentiated as im2col."""
    hwio = kernel.reshape(3, 3, x.shape[-1], kernel.shape[-1])
    return jax.lax.conv_general_dilated(x, hwio, (1, 1), "SAME", rhs_dilation=(dilation, dilation),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _conv_forward(x, kernel, dilation):
    return dilated_conv3x3(x, kernel, dilation), (x, kernel)


#: Cells (observations x grid cells) per chunk of the im2col gradient on a CPU: the nine shifted copies of a whole
#: batch (9x the layer's input) stream through memory, those of a chunk stay in cache (one gradient of the
#: three-layer 16-channel network inside ``lax.scan``, batch 128 at 32 x 32, 2 cores: 1.53 ms per observation
#: whole, 1.16-1.23 / 1.21 / 1.28 ms in chunks of 8 / 16 / 32 observations; batch 32 at 50 x 50: 3.95 ms whole,
#: 3.07 / 3.01 in chunks of 4 / 2).
BACKWARD_CELLS = 8192


def backward_chunks(batch: int, cells: int, platform: str | None = None) -> int:
    """How many chunks the im2col gradient of ``batch`` observations of ``cells`` cells runs in, one after the
    other: the fewest (a divisor of ``batch``) with at most :data:`BACKWARD_CELLS` cells each on a CPU; one on
    accelerators (``platform``, default ``jax.default_backend()``), whose memory bandwidth the whole batch uses."""
    if (platform or jax.default_backend()) != "cpu":
        return 1
    per_chunk = max(1, BACKWARD_CELLS // cells)
    return next(n for n in range(1, batch + 1) if batch % n == 0 and batch // n <= per_chunk)


def _conv_backward(dilation, residuals, cotangent):
    """im2col's pullback, over :func:`backward_chunks` chunks (chunk ``j`` holds observations ``j, j + n, ...``,
    so a batch split over devices in blocks keeps each chunk's share on its own device)."""
    x, kernel = residuals

    def pullback(x, cotangent):
        return jax.vjp(lambda x, kernel: im2col_conv3x3(x, kernel, dilation), x, kernel)[1](cotangent)

    n = backward_chunks(x.shape[0], x.shape[1] * x.shape[2])
    if n == 1:
        return pullback(x, cotangent)
    strided = lambda a: jnp.swapaxes(a.reshape((a.shape[0] // n, n) + a.shape[1:]), 0, 1)  # noqa: E731
    dx, dkernel = jax.lax.map(lambda chunk: pullback(*chunk), (strided(x), strided(cotangent)))
    return jnp.swapaxes(dx, 0, 1).reshape(x.shape), dkernel.sum(0)


dilated_conv3x3.defvjp(_conv_forward, _conv_backward)


class _DenseParams(nn.Module):
    """The parameters of ``nn.Dense(features)`` on ``fan_in`` inputs (same names, shapes and initialisers)."""

    features: int

    @nn.compact
    def __call__(self, fan_in: int):
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (fan_in, self.features))
        return kernel, self.param("bias", nn.initializers.zeros_init(), (self.features,))


def taps_inside(height: int, width: int, dilation: int) -> np.ndarray:
    """``float32[H, W, 9]``: 1 where tap ``k`` (shifts ``(dr, dc)`` row-major) of a 3x3 'SAME' convolution with
    ``dilation`` reads a cell inside the grid, 0 where it reads the zero padding."""
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
    return np.stack([(0 <= rows + dr) & (rows + dr < height) & (0 <= cols + dc) & (cols + dc < width)
                     for dr in (-dilation, 0, dilation) for dc in (-dilation, 0, dilation)], -1).astype(np.float32)


@jax.custom_vjp
def spread_taps(inside: jnp.ndarray, per_tap: jnp.ndarray) -> jnp.ndarray:
    """``einsum("hwk,bkf->bhwf", inside, per_tap)``: each cell's sum of the per-tap values ``[B, 9, F]`` over its
    taps inside the grid (``inside`` ``[H, W, 9]``, :func:`taps_inside`).  Forward as nine broadcast products,
    which XLA fuses with the sums around them (as an ``[H * W, 9] x [9, F]`` product: 0.05 ms more per layer at
    50 x 50, one observation, 2 cores, a fifth of a planning step); differentiated as the product, whose pullback
    XLA:CPU runs faster (one gradient of the three-layer 16-channel network, batch 32 at 50 x 50, 2 cores: 67 ms;
    75 ms as the product both ways, 93 ms differentiating the nine products)."""
    return sum(inside[:, :, k, None] * per_tap[:, None, None, k] for k in range(9))


def _spread_forward(inside, per_tap):
    return spread_taps(inside, per_tap), inside


def _spread_backward(inside, cotangent):
    return None, jnp.einsum("hwk,bhwf->bkf", inside, cotangent)


spread_taps.defvjp(_spread_forward, _spread_backward)


class DilatedConv3x3(nn.Module):
    """A 3x3 'SAME' convolution with ``dilation`` (:func:`dilated_conv3x3`): ``[B, H, W, C] -> [B, H, W, F]``.

    With ``context`` it convolves ``[x, x.mean((1, 2))]`` (the grid mean broadcast to every cell, concatenated
    along channels; parameters as for those ``2 C`` channels) without forming the ``C`` constant channels: their
    part is the means times each tap's weights, summed over the taps that land inside the grid."""

    features: int
    dilation: int = 1
    context: bool = False

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        H, W, C = x.shape[1:]
        kernel, bias = _DenseParams(self.features, name="Dense_0")(9 * C * (2 if self.context else 1))
        if not self.context:
            return dilated_conv3x3(x, kernel, self.dilation) + bias
        taps = kernel.reshape(9, 2, C, self.features)     # [tap, (x, mean), C, F]
        local = dilated_conv3x3(x, taps[:, 0].reshape(9 * C, self.features), self.dilation)
        per_tap = jnp.einsum("bc,kcf->bkf", x.mean((1, 2)), taps[:, 1])
        return local + spread_taps(jnp.asarray(taps_inside(H, W, self.dilation)), per_tap) + bias


class QNetwork(nn.Module):
    """Per-cell Q-values; with ``dueling`` a grid-level value plus mean-centred per-cell advantages; with ``norm`` a
    LayerNorm after each hidden layer."""

    features: Sequence[int] = (32, 32, 32, 32)
    dilations: Sequence[int] = (1, 2, 4, 8)
    dueling: bool = True
    norm: bool = False

    def hidden(self, x: jnp.ndarray) -> jnp.ndarray:
        """ReLU of ``x``, layer-normalised over its last axis first when ``norm``."""
        return nn.relu(nn.LayerNorm()(x) if self.norm else x)

    @nn.compact
    def __call__(self, obs: jnp.ndarray, ranking_only: bool = False, first_layer=None) -> jnp.ndarray:
        """Q-values ``float32[B, H, W]`` of ``obs`` ``[B, H, W, C]``; with ``ranking_only`` (and ``dueling``) the
        advantages alone: Q less a constant per grid, so the same order of cells, for less work (planning).
        ``first_layer``: the first convolution's output ``[B, H, W, F]`` for ``obs`` if known (:class:`FirstLayer`)."""
        x = obs
        for i, (width, dilation) in enumerate(zip(self.features, self.dilations)):
            conv = DilatedConv3x3(width, dilation, context=True, name=f"DilatedConv3x3_{i}")
            x = self.hidden(first_layer if i == 0 and first_layer is not None else conv(x))
        advantage = nn.Dense(1)(x)[..., 0]
        if not self.dueling or ranking_only:
            return advantage
        value = nn.Dense(1)(self.hidden(nn.Dense(self.features[-1])(x.mean((1, 2)))))
        return value[:, :, None] + advantage - advantage.mean((1, 2), keepdims=True)


class FirstLayer:
    """The first convolution of a :class:`QNetwork`, kept up to date while a planner treats one cell at a time.

    A placement changes the observation at its own cell and, on constant planes, by the same amount everywhere
    (the remaining budget).  The convolution is affine, so its taps' part moves by the taps of the cell's change
    and by the planes' change times each tap's weights, summed over the taps inside the grid (carried as per-tap
    sums ``[9, F]``, spread once per evaluation with the grid-mean part, which is recomputed from the new means).
    Any other change (a channel rescaled, several cells at once) is convolved whole.  Equal to the whole
    convolution up to float rounding; it spares :func:`jaxfire.agents.policy.greedy_placement` one convolution per
    placement (the standard agent's plan on 50x50: 122 -> 111 ms, 2 idle cores).

    A state is ``(local [H, W, F], planes [9, F])``: the taps' part for the cell-by-cell changes, and the per-tap
    sums of the plane changes since :meth:`start`.
    """

    def __init__(self, params, network: QNetwork, shape):
        conv = params["params"]["DilatedConv3x3_0"]["Dense_0"]
        self.features, self.dilation = network.features[0], network.dilations[0]
        self.taps = conv["kernel"].reshape(9, 2, -1, self.features)     # [tap, (x, mean), C, F]
        self.bias = conv["bias"]
        self.inside = jnp.asarray(taps_inside(*shape, self.dilation))    # [H, W, 9]
        d = self.dilation
        self.shifts = np.array([(dr, dc) for dr in (-d, 0, d) for dc in (-d, 0, d)])

    def start(self, obs: jnp.ndarray):
        """The state of observation ``obs`` ``[H, W, C]``, convolved whole."""
        local = dilated_conv3x3(obs[None], self.taps[:, 0].reshape(-1, self.features), self.dilation)[0]
        return local, jnp.zeros((9, self.features), local.dtype)

    def output(self, state, obs: jnp.ndarray) -> jnp.ndarray:
        """The layer's output ``[1, H, W, F]`` (before the ReLU) for ``obs``, whose state is ``state``."""
        local, planes = state
        per_tap = jnp.einsum("c,kcf->kf", obs.mean((0, 1)), self.taps[:, 1]) + planes
        return local[None] + spread_taps(self.inside, per_tap[None]) + self.bias

    def update(self, state, old: jnp.ndarray, new: jnp.ndarray, cell):
        """The state of ``new`` from that of ``old`` (observations ``[H, W, C]``) after flat cell ``cell`` changed."""
        local, planes = state
        H, W, _ = old.shape
        change = (new - old).reshape(H * W, -1)
        plane = change[jnp.where(cell == 0, 1, 0)]                  # the change at another cell
        elsewhere = (jnp.arange(H * W) != cell)[:, None]
        only_planes = jnp.all(jnp.where(elsewhere, change == plane, True))

        def incremental():
            rows, cols = cell // W - self.shifts[:, 0], cell % W - self.shifts[:, 1]  # the cells whose tap k reads it
            inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
            values = jnp.einsum("c,kcf->kf", change[cell] - plane, self.taps[:, 0])
            return (local.at[jnp.where(inside, rows, H), cols].add(values, mode="drop"),
                    planes + jnp.einsum("c,kcf->kf", plane, self.taps[:, 0]))

        return jax.lax.cond(only_planes, incremental, lambda: self.start(new))


def make_network(config) -> QNetwork:
    """The Q-network of a run's config (any :class:`~jaxfire.agents.config.AgentConfig`)."""
    return QNetwork(tuple(config.features), tuple(config.dilations), config.dueling, norm=config.norm)


def masked_argmax(q: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Flat index of the best valid cell: ``q``, ``mask`` ``[..., H, W]`` -> ``int32[...]``."""
    flat = jnp.where(mask, q, -jnp.inf).reshape(q.shape[:-2] + (-1,))
    return jnp.argmax(flat, -1).astype(jnp.int32)


def masked_max(q: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Value of the best valid cell: ``q``, ``mask`` ``[..., H, W]`` -> ``float32[...]``, 0 where no cell is valid
    (an episode's end bootstraps nothing)."""
    best = jnp.where(mask, q, -jnp.inf).max((-2, -1))
    return jnp.where(mask.any((-2, -1)), best, 0.0)


def epsilon_greedy(act_key, explore_key, q: jnp.ndarray, mask: jnp.ndarray, epsilon) -> jnp.ndarray:
    """Epsilon-greedy masked actions ``int32[E]`` for Q-maps ``q`` and masks ``mask`` ``[E, H, W]``: with probability
    ``epsilon`` (drawn with ``explore_key``) a uniformly random valid cell (drawn with ``act_key``), else the best
    valid cell.  A masked cell is never chosen, exploring or not (unless a map has no valid cell at all)."""
    greedy = masked_argmax(q, mask)
    random = masked_argmax(jax.random.gumbel(act_key, mask.shape), mask)
    return jnp.where(jax.random.uniform(explore_key, mask.shape[:1]) < epsilon, random, greedy)
