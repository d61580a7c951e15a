"""Resume survives a damaged checkpoint: restore falls back to the newest intact one, says so, and moves the
damaged step aside (never deletes it); a checkpoint of another configuration is not mistaken for damage.

The first tests save small pytrees; the last trains a tiny run, truncates its latest checkpoint and resumes it, and
must end bit-identical to the uninterrupted run.
"""
import logging
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax import struct

from jaxfire import checkpoint, training
from jaxfire.agents.config import DQNConfig


@struct.dataclass
class State:
    params: dict
    key: jax.Array
    update: jnp.ndarray


def state(step: int) -> State:
    return State({"w": jnp.full((16, 16), float(step))}, jax.random.key(step), jnp.int32(step))


def truncate(folder):
    for path in folder.rglob("*"):
        if path.is_file() and path.parent.name == "d":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty_metadata(folder):
    for path in folder.rglob("*METADATA*"):
        path.write_text("")


def empty(folder):
    shutil.rmtree(folder)
    folder.mkdir()


DAMAGE = {"truncated data file": truncate, "empty metadata": empty_metadata, "emptied step folder": empty}


def tree(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_restore_falls_back_to_the_newest_intact_checkpoint(tmp_path, caplog, damage):
    for step in (10, 20, 30):
        checkpoint.save(tmp_path, step, state(step))
    latest = tmp_path / "checkpoints" / "30"
    DAMAGE[damage](latest)
    damaged = tree(latest)
    with caplog.at_level(logging.WARNING, logger="jaxfire.checkpoint"):
        restored = checkpoint.restore(tmp_path, state(0))
    assert int(restored.update) == 20 and float(restored.params["w"][0, 0]) == 20.0
    np.testing.assert_array_equal(jax.random.key_data(restored.key), jax.random.key_data(jax.random.key(20)))
    assert "checkpoint 30" in caplog.text and "is damaged" in caplog.text and "damaged-checkpoints" in caplog.text
    assert not latest.exists() and tree(tmp_path / "damaged-checkpoints" / "30") == damaged  # moved, not deleted
    assert checkpoint.latest_step(tmp_path) == 20
    checkpoint.save(tmp_path, 30, state(30))  # the run goes on: a new step 30 does not collide with the old one
    assert int(checkpoint.restore(tmp_path, state(0)).update) == 30


def test_every_checkpoint_damaged_is_an_error_and_nothing_is_deleted(tmp_path):
    for step in (10, 20):
        checkpoint.save(tmp_path, step, state(step))
        truncate(tmp_path / "checkpoints" / str(step))
    with pytest.raises(FileNotFoundError, match="no intact checkpoint"):
        checkpoint.restore(tmp_path, state(0))
    assert sorted(p.name for p in (tmp_path / "damaged-checkpoints").iterdir()) == ["10", "20"]


def test_another_configuration_is_not_damage(tmp_path):
    """A template of other shapes fails to restore, but the checkpoint is intact: raise, move nothing."""
    checkpoint.save(tmp_path, 10, state(10))
    other = State({"w": jnp.zeros((4, 4))}, jax.random.key(0), jnp.int32(0))
    with pytest.raises(Exception):
        checkpoint.restore(tmp_path, other)
    assert (tmp_path / "checkpoints" / "10").is_dir() and not (tmp_path / "damaged-checkpoints").exists()


def test_an_explicit_damaged_step_raises_without_moving_it(tmp_path):
    for step in (10, 20):
        checkpoint.save(tmp_path, step, state(step))
    truncate(tmp_path / "checkpoints" / "20")
    with pytest.raises(Exception):
        checkpoint.restore(tmp_path, state(0), step=20)
    assert (tmp_path / "checkpoints" / "20").is_dir()


pytestmark = pytest.mark.usefixtures("persistent_compilation_cache")


CONFIG = DQNConfig(landscape_side=8, num_landscapes=3, test_fraction=0.34, ignitions_per_evaluation=2,
                   scenarios_per_landscape=1, num_envs=2, buffer_per_env=32, batch_size=4, learning_starts=4,
                   features=(4,), dilations=(1,), planning_ignitions=0, total_updates=20)
SETTINGS = training.RunSettings(chunk=10, checkpoint_every=10, eval_every=1000, eval_ignitions=2, eval_landscapes=1)


def no_evaluation(params):
    return {}, []


def saved_state(run_dir, step: int) -> dict:
    return ocp.StandardCheckpointer().restore((run_dir / "checkpoints" / str(step) / "state").absolute())


@pytest.mark.slow  # ~80 s on a fresh checkout; the fallback itself is tested above without training
def test_resume_with_a_truncated_latest_checkpoint_is_bit_identical(tmp_path, caplog):
    run = tmp_path / "run"
    training.train(CONFIG, run, settings=SETTINGS, eval_fn=no_evaluation)
    uninterrupted = saved_state(run, 20)
    truncate(run / "checkpoints" / "20")
    with open(run / "metrics.jsonl", "a") as metrics:
        metrics.write('{"update": 30, "env_st')  # a record cut short by a kill: dropped with a warning
    with caplog.at_level(logging.WARNING):
        result = training.train(CONFIG, run, settings=SETTINGS, resume=True, eval_fn=no_evaluation)
    assert "checkpoint 20" in caplog.text and "falling back" in caplog.text and "cut short" in caplog.text
    assert (run / "damaged-checkpoints" / "20").is_dir()
    assert [record["update"] for record in result.records] == [10, 20]  # the metrics were cut back to update 10
    assert int(training.local(result.state.update)) == 20
    jax.tree.map(np.testing.assert_array_equal, saved_state(run, 20), uninterrupted)
