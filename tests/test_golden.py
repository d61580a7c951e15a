"""Golden behaviour: recorded numbers must not change unless a change of behaviour is intended and named.

``tests/golden/golden.npz`` holds, for fixed keys on small grids: arrival times (three stencils) and burn
probability, a whole environment episode (rewards, burned counts, final observation), each planner's plan and ranks,
and a 20-update DQN run with DPV demonstrations (final parameters and per-update metrics).  History:

* recorded by ``python tests/test_golden.py`` on the pre-redesign tree (commit cfde9d1); the layout redesign
  (issue 9) passed against that record unchanged;
* crown fire (issue 12) changes every fire on a landscape with a canopy that crowns, so the episode, planner and DQN
  entries were re-recorded with it (``python tests/test_golden.py episode planners dqn_run``); the arrival times
  and burn probability are computed with ``crown_fire=False`` and are still the pre-redesign record: without crown
  fire the engine is unchanged bit for bit.
* the corner rule (a step through a grid corner also crosses the faster corner cell, as pyretechnics' level set;
  merge of branch ``physics``) changes step times on every mosaic, so every part was re-recorded with it
  (``python tests/test_golden.py``).  Before that, the incremental re-solve, the ordered-sweep solver, PQN and the
  bad-input rule had passed against the record, except ``dqn_run``'s reported ``metric_loss``, 1 ulp off at 2 of
  20 updates since the PQN and bad-input merges (the reduction order of the reported mean loss; every
  parameter and every other metric bitwise equal).
* demonstrations moved to a buffer of their own with a fixed share of every batch, and the imitation loss to a set
  of accepted cells (default: the teacher's next cell, as before) (issue 11): ``dqn_run`` re-recorded
  (``python tests/test_golden.py dqn_run``); the other parts passed unchanged.
* the scenario bank stores each scenario's untreated fire channels (computed vmapped over its weathers, which
  rounds a few rate channels 1 ulp differently from the per-step computation) and the network's convolutions run
  forward natively (differentiated as im2col, as before): ``episode`` (its observations only: rewards, burned
  counts and actions equal) and ``dqn_run`` re-recorded (``python tests/test_golden.py episode dqn_run``).
* the grid-mean context channels of every convolution are applied per tap to the means instead of being convolved
  as constant channels (the same layer and parameters, half the work; float rounding differs, at most ~1e-8 in the
  recorded parameters but for the advantage head's bias, whose gradient is ~0: 8e-5): ``dqn_run`` re-recorded
  (``python tests/test_golden.py dqn_run``).
* that per-tap context is spread over the grid by nine fused products (``networks.spread_taps``) instead of an
  ``[H*W, 9] x [9, F]`` product (the same sum in another order; its gradient still the product's): float rounding
  differs, at most 1.5e-8 in the recorded parameters but for the advantage head's bias (7.7e-6, its gradient ~0) and
  1 ulp in one reported loss: ``dqn_run`` re-recorded (``python tests/test_golden.py dqn_run``).

A part is re-recorded only in the commit that changes its behaviour on purpose, and that commit says why.
Tolerance: exact equality.  Everything here is deterministic on one CPU device (integer burned counts, a unique
min-plus fixed point, XLA:CPU reductions in a fixed order), so any difference is a behaviour change.
"""
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden" / "golden.npz"


def fires():
    from jaxfire import fire, landscape
    from jaxfire.weather import Weather

    land = landscape.synthetic(jax.random.key(3), (24, 20))
    weather = Weather(18.0, 250.0, "D2L2")
    out = {}
    for neighbours in (8, 16, 32):
        for k, ignition in enumerate([(12, 10), (0, 0), (23, 19)]):
            out[f"times_{neighbours}_{k}"] = fire.arrival_times(land, weather, ignition, 300.0, neighbours,
                                                                crown_fire=False)
    ignitions = jnp.array([[3, 4], [12, 10], [20, 2], [7, 17]])
    out["burn_probability"] = fire.burn_probability(land, weather, ignitions, 240.0, crown_fire=False)
    return out


def episode():
    from jaxfire import landscape
    from jaxfire.env import FuelBreakEnv, ScenarioDistribution

    env = FuelBreakEnv((16, 16), ignitions_per_evaluation=6, planning_ignitions=8)
    pool = landscape.synthetic_pool(jax.random.key(1), 3, (16, 16))
    params = env.make_params(jax.random.key(0), pool, budget_fraction=0.04, scenarios_per_landscape=3,
                             max_minutes=240.0, distribution=ScenarioDistribution(wind_speed_kmh=(5.0, 25.0)))
    step, reset = jax.jit(env.step), jax.jit(env.reset)
    obs, state = reset(jax.random.key(5), params)
    out = {"reset_obs": obs}
    rewards, burned, actions = [], [], []
    rng = np.random.default_rng(0)
    for t in range(int(params.max_steps_in_episode)):
        valid = np.flatnonzero(np.asarray(env.action_mask(state, params)).ravel())
        action = int(rng.choice(valid)) if t % 3 else int(np.flatnonzero(~np.isin(np.arange(256), valid))[0])
        obs, state, reward, terminated, truncated, info = step(jax.random.key(t), state, action, params)
        rewards.append(float(reward))
        burned.append(float(info["burned_fraction"]))
        actions.append(action)
        if bool(terminated) or bool(truncated):
            break
    out.update(rewards=np.array(rewards), burned=np.array(burned), actions=np.array(actions), final_obs=obs,
               bank_burned=params.scenarios.burned_count, bank_planning=params.scenarios.planning)
    return out


def planners():
    from jaxfire import baselines, landscape
    from jaxfire.weather import Weather

    land = landscape.synthetic(jax.random.key(7), (16, 16))
    weather = Weather(20.0, 270.0)
    out = {}
    for name in ("random", "burn_probability", "domirank", "dpv", "greedy"):  # the planners recorded
        plan, options = baselines.BASELINES[name], dict(num_ignitions=16, max_minutes=240.0)
        out[f"plan_{name}"] = plan(jax.random.key(11), land, weather, 12, **options)
        out[f"rank_{name}"] = plan(jax.random.key(11), land, weather, 12, ranked=True, **options)
    return out


def dqn_run():
    from jaxfire import landscape
    from jaxfire.agents import dqn
    from jaxfire.env import FuelBreakEnv

    config = dqn.DQNConfig(landscape_side=12, num_landscapes=4, ignitions_per_evaluation=4, scenarios_per_landscape=2, num_envs=2,
                           buffer_per_env=32, batch_size=8, learning_starts=4, features=(8, 8), dilations=(1, 2),
                           total_updates=20, planning_ignitions=8, demo_baseline="dpv", demo_steps=8,
                           pretrain_steps=5)
    env = FuelBreakEnv((12, 12), ignitions_per_evaluation=4, planning_ignitions=8)
    pool = landscape.synthetic_pool(jax.random.key(2), 3, (12, 12))
    params = env.make_params(jax.random.key(4), pool, budget_fraction=0.05, scenarios_per_landscape=2)
    out = jax.jit(dqn.make_train(config, env, params))(jax.random.key(6))
    leaves = jax.tree_util.tree_flatten_with_path(out["runner_state"].params)[0]
    result = {f"param_{jax.tree_util.keystr(path, simple=True, separator='.')}": leaf for path, leaf in leaves}
    result.update({f"metric_{name}": value for name, value in out["metrics"].items()})
    return result


PARTS = {part.__name__: part for part in (fires, episode, planners, dqn_run)}


def compute(parts) -> dict:
    return {name: np.asarray(value) for part in parts for name, value in PARTS[part]().items()}


@pytest.fixture(scope="module")
def recorded():
    return dict(np.load(GOLDEN))


SLOW_PARTS = ("episode", "planners", "dqn_run")  # 1-2 minutes each on 2 cores: `make test-all` checks them


@pytest.mark.parametrize("part", [pytest.param(part, marks=pytest.mark.slow) if name in SLOW_PARTS else part
                                  for name, part in PARTS.items()], ids=list(PARTS))
def test_behaviour_unchanged(recorded, part):
    now = {name: np.asarray(value) for name, value in part().items()}
    expected = {name: value for name, value in recorded.items() if name in now}
    assert sorted(now) == sorted(expected), "the golden record and this part name different quantities"
    for name, value in now.items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


if __name__ == "__main__":  # python tests/test_golden.py [PART ...]: (re-)record those parts (default: all)
    import sys

    fresh = compute(sys.argv[1:] or list(PARTS))
    kept = dict(np.load(GOLDEN)) if GOLDEN.exists() else {}
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, **{**kept, **fresh})
    print(f"wrote {GOLDEN}: {', '.join(sys.argv[1:] or PARTS)}")
