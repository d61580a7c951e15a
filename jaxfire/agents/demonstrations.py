"""Demonstrations (after DQfD, Hester et al. 2018): a planner's plans as transitions, then pre-training on them.

With ``demo_baseline`` set, a learner's ``init`` also fills the replay with ``demo_steps`` steps of every
environment placing a planner's plan (:mod:`jaxfire.planners`, planning with the fires behind the observation's
planning channels), one cell per step in the planner's own order (``ranked=True``), and takes ``pretrain_steps``
gradient steps.  On transitions marked as demonstrations the loss adds ``demo_weight`` times the cross-entropy of a
softmax over the valid cells' Q-values against the demonstrated cell (:func:`jaxfire.agents.losses.imitation_loss`).
(DQfD's large-margin term ``max_a [Q(s, a) + margin] - Q(s, a_demo)`` moves only two of ~10^3 actions per sample;
here it flattened the Q-map instead of ranking cells.)  Demonstrations stay in the ring buffer until training
overwrites them.

:func:`run` is the algorithm-independent part (environments placing their demonstrator's plans, each step handed to
the learner's ``step_fn``); :func:`demonstrate`, :func:`pretrain` and :func:`prefill` are DQN's replay path, and
:class:`~jaxfire.agents.pqn.PQN` pre-trains on a demonstrated rollout instead (it has no replay).

Conventions: ``E`` environments; a cell order is ``int32[E, H * W]`` flat indices, the planner's first pick first.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxfire import landscape as landscapes
from jaxfire.planners import PLANNERS


def cell_order(learner, key, env_state) -> jnp.ndarray:
    """``int32[H * W]``: the cells of one episode's landscape in the order the demonstrator picks them."""
    config, params = learner.config, learner.env_params
    plan_with = functools.partial(PLANNERS[config.demo_baseline], max_minutes=config.max_minutes,
                                  neighbours=config.neighbours)
    landscape = landscapes.take(params.pool, env_state.landscape_index)
    # The demonstrator plans with the fires behind the agent's planning channels (if any).
    fires = params.scenarios.planning_ignitions[env_state.landscape_index, env_state.scenario_index]
    rank = plan_with(key, landscape, env_state.weather, env_state.budget_cells, ranked=True,
                     ignitions=fires if config.planning_ignitions else None)
    return jnp.argsort(rank.ravel()).astype(jnp.int32)


def _replan(learner, key, env_state, order, fresh):
    """``order`` with the rows of the ``fresh`` episodes (``bool[E]``) replaced by their demonstrator's order."""
    keys = jax.random.split(key, learner.config.num_envs)
    planned = jax.vmap(functools.partial(cell_order, learner))(keys, env_state)
    return jnp.where(fresh[:, None], planned, order)


def run(learner, env_state, carry, plan_key, steps_key, step_fn):
    """``learner.config.demo_steps`` steps of every environment placing its demonstrator's plan.

    ``step_fn(key, env_state, carry, action) -> (next_env_state, carry, done, out)`` takes one step of every
    environment with the demonstrated ``action`` ``int32[E]`` (``done`` ``bool[E]``: episodes that ended, which get
    fresh plans).  ``plan_key`` draws the first plans, ``steps_key`` the steps (and the plans of later episodes).
    Returns ``(env_state, carry, outs)``, ``outs`` every step's ``out`` stacked along a leading step axis.
    """
    E = learner.config.num_envs

    def demo_step(state, key):
        env_state, order, carry = state
        plan_key, step_key = jax.random.split(key)
        action = order[jnp.arange(E), env_state.placed]
        next_state, carry, done, out = step_fn(step_key, env_state, carry, action)
        order = jax.lax.cond(done.any(), functools.partial(_replan, learner), lambda k, s, o, d: o, plan_key,
                             next_state, order, done)
        return (next_state, order, carry), out

    order = _replan(learner, plan_key, env_state, jnp.zeros((E, learner.env.num_actions), jnp.int32),
                    jnp.ones(E, bool))
    (env_state, _, carry), outs = jax.lax.scan(demo_step, (env_state, order, carry),
                                               jax.random.split(steps_key, learner.config.demo_steps))
    return env_state, carry, outs


def demonstrate(learner, env_state, replay, plan_key, steps_key):
    """DQN: ``demo_steps`` demonstration steps of every environment appended to ``replay``; returns the replay."""
    def store(key, env_state, replay, action):
        _, next_state, replay, _, done, _ = learner.step_and_store(key, env_state, replay, action, demo=True)
        return next_state, replay, done, None

    return run(learner, env_state, replay, plan_key, steps_key, store)[1]


def pretrain(learner, train, replay, key):
    """DQN: ``pretrain_steps`` gradient steps (the target network following) on ``replay``; returns the train state."""
    def pretrain_step(carry, inputs):
        key, step = inputs
        (train, replay), _ = learner.gradient_step(carry, key)
        return (train.replace(target_params=learner.follow(train.target_params, train.params, step)), replay), None

    steps = learner.config.pretrain_steps
    (train, _), _ = jax.lax.scan(pretrain_step, (train, replay), (jax.random.split(key, steps), jnp.arange(steps)))
    return train


def prefill(learner, state, key):
    """DQN: a runner state after demonstrations and pre-training, with fresh episodes to start training on."""
    plan_key, steps_key, pretrain_key, reset_key = jax.random.split(key, 4)
    replay = demonstrate(learner, state.envs.env_state, state.envs.replay, plan_key, steps_key)
    train = pretrain(learner, state.train, replay, pretrain_key)
    obs, env_state = learner.reset(reset_key)
    return state.replace(train=train, envs=state.envs.replace(env_state=env_state, obs=obs, replay=replay))
