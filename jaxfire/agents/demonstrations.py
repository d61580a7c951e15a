"""Demonstrations (after DQfD, Hester et al. 2018): a planner's plans as transitions, then pre-training on them.

With ``demo_baseline`` set, a learner's ``init`` also runs ``demo_steps`` steps of every environment placing a
planner's plan (:mod:`jaxfire.planners`, planning with the fires behind the observation's planning channels), one
cell per step in the planner's own order (``ranked=True``), and takes ``pretrain_steps`` gradient steps on them.
Every demonstrated step carries the teacher's *accepted* cells (``demo_target``): its next cell (``"next"``) or
every cell of its plan not placed yet (``"plan"``).  On demonstrated transitions the loss adds ``demo_weight``
times the negative log-probability that a softmax over the valid cells' Q-values picks an accepted cell
(:func:`jaxfire.agents.losses.imitation_loss`).  ``"plan"`` asks only that the policy's best cell belong to the
plan, whatever order the teacher listed it in; for a teacher of lines that was worse (at 50x50 the agent
pre-trained on cut_lines with it burned more than burn_probability): a segment stops fires only when it is whole,
and the teacher's order, segment by segment, is what teaches the policy to finish the line it started.  (DQfD's
large-margin term ``max_a [Q(s, a) + margin] - Q(s, a_demo)`` moves only two of ~10^3 actions per sample; here it
flattened the Q-map instead of ranking cells.) DQN keeps the demonstrations in a buffer of their own, never
overwritten, and draws a fixed share (``demo_fraction``) of every batch from it (DQfD's separate buffer: without it
the agent drifted away from its teacher as the demonstrations became a vanishing share of the replay).

The teacher's plans show only the states the teacher reaches; a policy that errs once (a cut left half-done) is
somewhere it never saw.  With ``dagger`` (``cut_lines`` teacher; Ross et al. 2011) every state the agent visits
is labelled with the teacher's answer there (:func:`teacher_cells`: its next cut from that partial plan, one
simulation of the planning fires per environment step) and imitated, so the imitation follows the agent's own
states: DQN stores the label with the transition in the replay and imitates it whenever that transition is
replayed, PQN in the gradient steps on the rollout that visited the state.

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
from jaxfire.planners import PLANNERS, next_cut


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


def teacher_cells(learner, env_state) -> jnp.ndarray:
    """``bool[E, H, W]``: the cut-lines teacher's answer at every environment's state (DAgger's labels,
    :func:`jaxfire.planners.next_cut`): the cells of its next cut on the landscape treated so far, with the fires
    behind the episode's planning channels."""
    config, params = learner.config, learner.env_params

    def one(state):
        landscape = landscapes.take(params.pool, state.landscape_index)
        grids = jax.tree.map(lambda x: x[None], learner.env.untreated_grid(state, params))  # one weather: [1, ...]
        fires = params.scenarios.planning_ignitions[state.landscape_index, state.scenario_index]
        return next_cut(grids, landscape.burnable, fires, state.treated, state.budget_cells, config.max_minutes)

    return jax.vmap(one)(env_state)


def _replan(learner, key, env_state, order, fresh):
    """``order`` with the rows of the ``fresh`` episodes (``bool[E]``) replaced by their demonstrator's order."""
    keys = jax.random.split(key, learner.config.num_envs)
    planned = jax.vmap(functools.partial(cell_order, learner))(keys, env_state)
    return jnp.where(fresh[:, None], planned, order)


def accepted_cells(order, placed, budget_cells, whole_plan: bool) -> jnp.ndarray:
    """``bool[E, H * W]``: the imitation targets of each environment after it placed the first ``placed`` cells of
    ``order``: the next cell, ``order[e, placed[e]]``, or with ``whole_plan`` every cell of the plan not placed yet,
    ``order[e, placed[e]:budget_cells[e]]``."""
    position = jnp.argsort(order, axis=-1)   # position of every cell in its environment's order
    end = budget_cells if whole_plan else placed + 1
    return (position >= placed[:, None]) & (position < end[:, None])


def run(learner, env_state, carry, plan_key, steps_key, step_fn):
    """``learner.config.demo_steps`` steps of every environment placing its demonstrator's plan.

    ``step_fn(key, env_state, carry, action, accepted) -> (next_env_state, carry, done, out)`` takes one step of
    every environment with the demonstrated ``action`` ``int32[E]`` (``accepted`` ``bool[E, H * W]``: the imitation
    targets of ``demo_target``, :func:`accepted_cells`; ``done`` ``bool[E]``: episodes that ended, which get fresh
    plans).  ``plan_key`` draws the first plans, ``steps_key`` the steps (and the plans of later episodes).
    Returns ``(env_state, carry, outs)``, ``outs`` every step's ``out`` stacked along a leading step axis.
    """
    E = learner.config.num_envs

    def demo_step(state, key):
        env_state, order, carry = state
        plan_key, step_key = jax.random.split(key)
        action = order[jnp.arange(E), env_state.placed]
        accepted = accepted_cells(order, env_state.placed, env_state.budget_cells,
                                  learner.config.demo_target == "plan")
        next_state, carry, done, out = step_fn(step_key, env_state, carry, action, accepted)
        order = jax.lax.cond(done.any(), functools.partial(_replan, learner), lambda k, s, o, d: o, plan_key,
                             next_state, order, done)
        return (next_state, order, carry), out

    order = _replan(learner, plan_key, env_state, jnp.zeros((E, learner.env.num_actions), jnp.int32),
                    jnp.ones(E, bool))
    (env_state, _, carry), outs = jax.lax.scan(demo_step, (env_state, order, carry),
                                               jax.random.split(steps_key, learner.config.demo_steps))
    return env_state, carry, outs


def demonstrate(learner, env_state, demos, plan_key, steps_key):
    """DQN: ``demo_steps`` demonstration steps of every environment appended to the demonstration buffer ``demos``
    (:func:`jaxfire.agents.replay.create` with ``accepted=True``); returns it."""
    def store(key, env_state, demos, action, accepted):
        _, next_state, demos, _, done, _ = learner.step_and_store(key, env_state, demos, action, demo=True,
                                                                  accepted=accepted)
        return next_state, demos, done, None

    return run(learner, env_state, demos, plan_key, steps_key, store)[1]


def pretrain(learner, train, demos, key):
    """DQN: ``pretrain_steps`` gradient steps (the target network following) on the demonstrations alone; returns
    the train state."""
    def pretrain_step(train, inputs):
        key, step = inputs
        train, _ = learner.gradient_step(train, key, demos, demos, learner.config.batch_size)
        return train.replace(target_params=learner.follow(train.target_params, train.params, step)), None

    steps = learner.config.pretrain_steps
    train, _ = jax.lax.scan(pretrain_step, train, (jax.random.split(key, steps), jnp.arange(steps)))
    return train


def prefill(learner, state, key):
    """DQN: a runner state after demonstrations (in ``state.envs.demos``) and pre-training, with fresh episodes to
    start training on."""
    plan_key, steps_key, pretrain_key, reset_key = jax.random.split(key, 4)
    demos = demonstrate(learner, state.envs.env_state, state.envs.demos, plan_key, steps_key)
    train = pretrain(learner, state.train, demos, pretrain_key)
    obs, env_state = learner.reset(reset_key)
    return state.replace(train=train, envs=state.envs.replace(env_state=env_state, obs=obs, demos=demos))
