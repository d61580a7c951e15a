"""Compact trajectory replay: per-environment ring buffers of episode states, not observations.

Each entry stores what rebuilds the state (landscape and scenario indices into the environment's bank, the
treatment mask packed to bits, cells placed) plus the action, reward, episode end and whether the entry has
imitation targets: ``ceil(H * W / 8) + 22`` bytes, 335 B for a 50x50 grid, so 10^6 transitions take ~0.34 GB (a
stored pair of 12x50x50 float observations took 240 KB).  Observations are rebuilt from the environment's parameters when a batch is sampled.

A demonstration buffer (``create(..., accepted=True)``) also stores, per entry, the cells the teacher accepts at
that state (the rest of its plan, packed to bits), the targets of the imitation loss
(:func:`jaxfire.agents.losses.imitation_loss`); other buffers hold ``None`` there.

Layout: every field has leading axes ``[E, T]`` (``E`` environments, ``T`` entries each, written in step order),
so an n-step return is read along a row.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Replay:
    landscape_index: jnp.ndarray   # int32[E, T]
    scenario_index: jnp.ndarray    # int32[E, T]
    treated_bits: jnp.ndarray      # uint8[E, T, ceil(H*W/8)]
    placed: jnp.ndarray            # int32[E, T]
    action: jnp.ndarray            # int32[E, T]
    reward: jnp.ndarray            # float32[E, T]
    done: jnp.ndarray              # bool[E, T] the episode ended with this transition
    demo: jnp.ndarray              # bool[E, T] the entry has imitation targets: a demonstrator's step (or, with
    #                                DQN's dagger, the teacher's answer at the agent's state)
    accepted_bits: jnp.ndarray | None  # uint8[E, T, ceil(H*W/8)] cells the teacher accepts (demonstration buffers)
    position: jnp.ndarray          # int32 next column written
    size: jnp.ndarray              # int32 columns filled (<= T)

    @property
    def capacity(self) -> int:
        return self.action.shape[1]


def create(num_envs: int, capacity_per_env: int, num_cells: int, accepted: bool = False) -> Replay:
    """An empty buffer of ``num_envs * capacity_per_env`` transitions for ``num_cells``-cell grids (with room for
    the teacher's accepted cells when ``accepted``: a demonstration buffer)."""
    shape, packed = (num_envs, capacity_per_env), -(-num_cells // 8)
    zeros = lambda dtype: jnp.zeros(shape, dtype)  # noqa: E731
    return Replay(zeros(jnp.int32), zeros(jnp.int32), jnp.zeros(shape + (packed,), jnp.uint8),
                  zeros(jnp.int32), zeros(jnp.int32), zeros(jnp.float32), zeros(bool), zeros(bool),
                  jnp.zeros(shape + (packed,), jnp.uint8) if accepted else None, jnp.int32(0), jnp.int32(0))


def bytes_per_transition(num_cells: int) -> int:
    """Storage of one transition (all fields) for a ``num_cells``-cell grid (a demonstration buffer's entry takes
    ``ceil(num_cells / 8)`` more)."""
    return -(-num_cells // 8) + 4 * 5 + 2


def add(replay: Replay, landscape_index, scenario_index, treated, placed, action, reward, done,
        demo: bool = False, accepted=None) -> Replay:
    """Append one step of every environment (each argument has leading axis ``E``; ``treated`` is ``bool[E, H, W]``;
    ``demo`` marks every action as a demonstrator's; ``accepted`` ``bool[E, H, W]``, the teacher's accepted cells,
    is required by a demonstration buffer and refused by others)."""
    if (accepted is None) != (replay.accepted_bits is None):
        raise ValueError("accepted cells go to a demonstration buffer (create(..., accepted=True)), and only there")
    column = replay.position
    pack = lambda mask: jnp.packbits(mask.reshape(mask.shape[0], -1), axis=-1)  # noqa: E731
    fields = dict(landscape_index=landscape_index, scenario_index=scenario_index, treated_bits=pack(treated),
                  placed=placed, action=action, reward=reward, done=done, demo=jnp.full(action.shape, demo))
    if accepted is not None:
        fields["accepted_bits"] = pack(accepted)
    replay = replay.replace(**{name: getattr(replay, name).at[:, column].set(value) for name, value in fields.items()})
    return replay.replace(position=(column + 1) % replay.capacity, size=jnp.minimum(replay.size + 1, replay.capacity))


def sample(key, replay: Replay, batch_size: int, n_step: int, gamma: float):
    """``batch_size`` n-step transitions drawn uniformly over the entries whose successors are written.

    Returns ``(start, end, action, n_step_return, discount)``: ``start`` and ``end`` are dicts of the compact states
    at ``t`` and ``t + n`` (``landscape_index``, ``scenario_index``, ``treated`` ``bool[B, cells]``, ``placed``,
    ``demo``: the action taken there was a demonstrator's);
    ``discount`` is ``gamma ** n`` or 0 when the episode ended within the n steps (its return then stops there).
    """
    env_key, offset_key = jax.random.split(key)
    rows = jax.random.randint(env_key, (batch_size,), 0, replay.action.shape[0])
    oldest = (replay.position - replay.size) % replay.capacity
    offsets = jax.random.randint(offset_key, (batch_size,), 0, jnp.maximum(replay.size - n_step, 1))
    columns = (oldest + offsets[:, None] + jnp.arange(n_step + 1)) % replay.capacity    # [B, n + 1]
    rewards = replay.reward[rows[:, None], columns[:, :n_step]]
    dones = replay.done[rows[:, None], columns[:, :n_step]]
    alive = jnp.cumprod(1.0 - jnp.concatenate([jnp.zeros((batch_size, 1)), dones[:, :-1]], 1), 1)  # before any end
    n_step_return = (rewards * alive * gamma ** jnp.arange(n_step)).sum(1)
    discount = gamma ** n_step * (1.0 - dones.any(1))

    def state_at(column):
        treated = jnp.unpackbits(replay.treated_bits[rows, column], axis=-1).astype(bool)
        accepted = (jnp.unpackbits(replay.accepted_bits[rows, column], axis=-1).astype(bool)
                    if replay.accepted_bits is not None else jnp.zeros_like(treated))
        return dict(landscape_index=replay.landscape_index[rows, column],
                    scenario_index=replay.scenario_index[rows, column], treated=treated,
                    placed=replay.placed[rows, column], demo=replay.demo[rows, column], accepted=accepted)

    return state_at(columns[:, 0]), state_at(columns[:, n_step]), replay.action[rows, columns[:, 0]], \
        n_step_return, discount
