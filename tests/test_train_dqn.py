"""experiments.train_dqn, jaxfire.training and jaxfire.checkpoint: exact checkpoints and resumes, run-folder safety, metrics,
figures, load_policy on another grid size, and a NaN guard, all on tiny configurations."""
import fcntl
import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from experiments import train_dqn
from jaxfire import landscape
from jaxfire import checkpoint
from jaxfire.agents import dqn, replay as replay_lib
from jaxfire.weather import Weather

# Every run trains 30 updates in chunks of 10: one compiled program for all (see persistent_compilation_cache).
TINY = ["--grid", "12", "--num-landscapes", "4", "--ignitions", "4", "--scenarios-per-landscape", "2",
        "--num-envs", "2", "--buffer-per-env", "32", "--batch-size", "8", "--learning-starts", "4",
        "--features", "8,8", "--dilations", "1,2", "--total-updates", "30", "--chunk", "10",
        "--checkpoint-every", "10", "--eval-every", "1000", "--eval-ignitions", "8", "--eval-landscapes", "1"]


def train(runs_dir, name, *flags, plots=False) -> dict:
    plot_flags = [] if plots else ["--no-plots"]
    return train_dqn.main([*TINY, "--runs-dir", str(runs_dir), "--name", name, *flags, *plot_flags])


def records(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def saved_state(run_dir, step: int) -> dict:
    """The flat runner state of a checkpoint, read without a template."""
    return ocp.StandardCheckpointer().restore((run_dir / "checkpoints" / str(step) / "state").absolute())


def assert_identical(a, b):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            assert x.dtype == y.dtype
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert x.dtype == y.dtype and np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


# One worker runs the module (make test: --dist loadgroup), so the other never waits on the shared run's lock.
pytestmark = [pytest.mark.usefixtures("persistent_compilation_cache"), pytest.mark.xdist_group("train_dqn")]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A 30-update run in 3 chunks, with figures; trained once per session, also under pytest-xdist (the workers
    share it through their common temporary directory; tests only read it)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        runs = tmp_path_factory.mktemp("runs")
        train(runs, "a", plots=True)
        return runs / "a"
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "train_dqn.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "train_dqn" / "a" / "summary.json").exists():
            train(shared / "train_dqn", "a", plots=True)
    return shared / "train_dqn" / "a"


def test_checkpoint_round_trip_is_exact(tmp_path):
    state = dqn.RunnerState(
        train=dqn.TrainState(params={"params": {"w": jax.random.normal(jax.random.key(0), (3, 4))}},
                             target_params={"params": {"w": jnp.ones((3, 4))}}, opt_state=(jnp.int32(7), ())),
        envs=dqn.EnvBatch(env_state={"weather": Weather(jnp.array([10.0, 20.0]), jnp.array([0.0, 90.0]),
                                                        jnp.full((2, 5), 0.1)),
                                     "treated": jnp.eye(3, dtype=bool)},
                          obs=jnp.array([1.0, jnp.nan, -jnp.inf]), replay=replay_lib.create(2, 8, 20),
                          demos=replay_lib.create(2, 3, 20, accepted=True),
                          episode_return=jnp.array([0.5, 1e-30])),
        key=jax.random.key(42), update=jnp.int32(5))
    for step in (0, 5, 10, 15):
        checkpoint.save(tmp_path, step, state.replace(update=jnp.int32(step)))
    assert checkpoint.latest_step(tmp_path) == 15 and checkpoint.latest_step(tmp_path / "missing") is None
    assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir()) == [0, 5, 10, 15]  # 0 and the last 3
    assert_identical(checkpoint.restore(tmp_path, state), state.replace(update=jnp.int32(15)))
    abstract = jax.eval_shape(lambda: state)
    assert_identical(checkpoint.restore(tmp_path, abstract, step=5), state)
    assert_identical(checkpoint.restore_params(tmp_path), state.params)
    with pytest.raises(FileNotFoundError):
        checkpoint.restore(tmp_path, state, step=1)
    config = dqn.DQNConfig(features=(4, 5), dilations=(1, 3), dueling=False, budget_fraction=0.1)
    checkpoint.save_config(tmp_path, config, seed=3, chunk=7)
    assert checkpoint.load_config(tmp_path) == config
    assert checkpoint.load_settings(tmp_path) == {"seed": 3, "chunk": 7}


def test_exported_policy_holds_the_parameters_only_and_loads_as_the_run(tmp_path):
    from experiments import export_agent
    from jaxfire.agents import load_policy
    from jaxfire.agents.networks import make_network

    config = dqn.DQNConfig(features=(4,), dilations=(1,))
    params = make_network(config).init(jax.random.key(0), jnp.zeros((1, 8, 8, 15)))
    run, out = tmp_path / "run", tmp_path / "agent"
    checkpoint.save_config(run, config, seed=3)
    for step in (5, 9):  # the runner state carries a large "replay" the export leaves behind
        checkpoint.save(run, step, dqn.TrainState(params=jax.tree.map(lambda p: p + step, params),
                                                  target_params=params,
                                                  opt_state=jax.random.normal(jax.random.key(step), (200_000,))))
    assert export_agent.main([str(run), str(out), "--step", "5"]) == 5
    assert_identical(load_policy(out).params, jax.tree.map(lambda p: p + 5, params))
    assert checkpoint.load_config(out) == config and checkpoint.load_settings(out) == {"seed": 3}
    size = lambda folder: sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())  # noqa: E731
    assert size(out) < size(run) / 10
    with pytest.raises(SystemExit, match="already exists"):
        export_agent.main([str(run), str(out)])
    with pytest.raises(SystemExit, match="no checkpoint 7"):
        export_agent.main([str(run), str(tmp_path / "other"), "--step", "7"])
    assert not (tmp_path / "other").exists()


def test_run_folder_holds_config_metrics_checkpoints_and_figures(uninterrupted):
    chunks = records(uninterrupted)
    assert [r["update"] for r in chunks] == [10, 20, 30]
    assert all(r["env_steps"] == 2 * r["update"] and r["steps_per_s"] > 0 and r["wall_s"] > 0 for r in chunks)
    assert all(np.isfinite(r["loss"]) and r["learning_updates"] > 0 for r in chunks[1:])
    evaluation = chunks[-1]["eval"]
    assert set(train_dqn.METHODS) <= set(evaluation)
    assert all(0 <= evaluation[name] <= 1 for name in train_dqn.METHODS)
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert summary["updates"] == 30 and summary["bytes_per_transition"] == replay_lib.bytes_per_transition(144)
    assert summary["evaluation"]["agent"] == evaluation["agent"] and len(summary["evaluation"]["per_landscape"]) == 1
    config = checkpoint.load_config(uninterrupted)
    assert config.features == (8, 8) and config.landscape_side == 12 and config.total_updates == 30
    assert sorted(int(p.name) for p in (uninterrupted / "checkpoints").iterdir()) == [0, 10, 20, 30]  # 0 and the last 3
    assert {p.name for p in (uninterrupted / "plots").iterdir()} == {"learning_curves.png", "landscape_0.png"}


def test_a_killed_run_resumes_bit_identical_to_an_uninterrupted_one(uninterrupted, tmp_path):
    killed = tmp_path / "killed"  # the uninterrupted run as if killed after logging update 30, before checkpointing
    shutil.copytree(uninterrupted, killed)
    shutil.rmtree(killed / "checkpoints" / "30")
    assert checkpoint.latest_step(killed) == 20 and records(killed)[-1]["update"] == 30
    summary = train_dqn.main(["--runs-dir", str(tmp_path), "--name", "killed", "--resume", "--no-plots"])
    assert summary["updates"] == 30
    assert summary["evaluation"] == json.loads((uninterrupted / "summary.json").read_text())["evaluation"]
    jax.tree.map(np.testing.assert_array_equal, saved_state(killed, 30), saved_state(uninterrupted, 30))
    timing = ("chunk_s", "steps_per_s", "wall_s", "eval_s")
    assert [{k: v for k, v in r.items() if k not in timing} for r in records(killed)] == \
           [{k: v for k, v in r.items() if k not in timing} for r in records(uninterrupted)]


@pytest.mark.slow
def test_existing_runs_are_neither_overwritten_nor_resumed_with_other_flags(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        train(tmp_path, "x")
    assert "--overwrite" in capsys.readouterr().err and (tmp_path / "x" / "notes.txt").exists()
    summary = train(tmp_path, "x", "--overwrite")
    assert summary["updates"] == 30 and not (tmp_path / "x" / "notes.txt").exists()
    with pytest.raises(SystemExit):
        train_dqn.main(["--runs-dir", str(tmp_path), "--name", "x", "--resume", "--grid", "16"])
    assert "--landscape-side (saved 12, given 16)" in capsys.readouterr().err


def test_load_policy_places_the_budget_on_another_grid_size(uninterrupted):
    policy = dqn.load_policy(uninterrupted)
    land = landscape.synthetic(jax.random.key(3), (20, 20))
    plan = np.asarray(policy(jax.random.key(0), land, Weather(20.0, 270.0), 7))
    assert plan.shape == (20, 20) and plan.sum() == 7 and not (plan & ~np.asarray(land.burnable)).any()


@pytest.mark.slow
def test_training_with_demonstrations_raises_no_nan_and_ends_finite(tmp_path):
    previous = jax.config.jax_debug_nans
    jax.config.update("jax_debug_nans", True)
    try:
        train(tmp_path, "nan", "--eval-every", "10", "--demo-baseline", "dpv", "--demo-steps", "12",
              "--pretrain-steps", "5")
    finally:
        jax.config.update("jax_debug_nans", previous)
    params = checkpoint.restore_params(tmp_path / "nan")
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))
    first = records(tmp_path / "nan")[0]  # the evaluation after pre-training
    assert first["update"] == 0 and set(train_dqn.METHODS) <= set(first["eval"])
    # the pre-trained agent is checkpoint 0 (to export or resume from), besides the later ones
    assert 0 in (int(p.name) for p in (tmp_path / "nan" / "checkpoints").iterdir())
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(checkpoint.restore_params(tmp_path / "nan", 0)))


@pytest.mark.slow
def test_two_cpu_devices_train_the_same_agent(uninterrupted, tmp_path):
    """``--cpu-devices 2`` (a fresh process: the device count is fixed when JAX starts) splits the environments over
    two host devices; the parameters equal the one-device run's up to floating-point reduction order."""
    command = [sys.executable, "-m", "experiments.train_dqn", *TINY, "--runs-dir", str(tmp_path), "--name", "two",
               "--no-plots", "--cpu-devices", "2"]
    env = {**os.environ, "XLA_FLAGS": "", "JAXFIRE_CPU_DEVICES": ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["devices"]["local_device_count"] == 2
    # Parameters written by two devices load on this one-device process (as load_policy does on a laptop).
    two, one = checkpoint.restore_params(tmp_path / "two", 30), checkpoint.restore_params(uninterrupted, 30)
    differences = jax.tree.leaves(jax.tree.map(lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max()), two, one))
    print("largest parameter difference, 2 devices vs 1:", max(differences))
    assert max(differences) < 1e-3
    assert summary["evaluation"]["agent"] == pytest.approx(
        json.loads((uninterrupted / "summary.json").read_text())["evaluation"]["agent"], abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("agent", ["standard", "gpu"])
def test_a_committed_agent_places_exactly_the_budget_on_a_twice_larger_grid(agent):
    from pathlib import Path

    from jaxfire.agents import load_policy

    policy = load_policy(Path(__file__).parents[1] / "results" / "agents" / agent)
    assert policy.config.landscape_side == 50
    land = landscape.synthetic(jax.random.key(11), (100, 100))
    plan = np.asarray(policy(jax.random.key(0), land, Weather(20.0, 270.0), 25))
    assert plan.shape == (100, 100) and plan.sum() == 25 and not (plan & ~np.asarray(land.burnable)).any()
