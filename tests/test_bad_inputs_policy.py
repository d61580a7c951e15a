"""Loading a trained policy from a damaged or unsuitable run folder, and planning with bad input.

Every failure names the file or argument; a folder without checkpoints is left as it was (no ``checkpoints/`` is
created); a policy with non-finite parameters refuses to plan.  The run folders are written by hand (a tiny
network and :func:`jaxfire.checkpoint.save`), so nothing is trained.
"""
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from jaxfire import checkpoint, landscape
from jaxfire.agents import PlacementPolicy, load_policy
from jaxfire.agents.config import DQNConfig
from jaxfire.agents.networks import QNetwork
from jaxfire.weather import Weather

CONFIG = DQNConfig(features=(4, 4), dilations=(1, 2), planning_ignitions=0, max_minutes=60.0)
SHAPE = (8, 8)


@struct.dataclass
class Saved:
    """What :func:`jaxfire.checkpoint.save` needs of a runner state: its ``params`` (and a step counter)."""

    params: dict
    update: jnp.ndarray


@pytest.fixture(scope="module")
def params():
    network = QNetwork(CONFIG.features, CONFIG.dilations, CONFIG.dueling)
    return network.init(jax.random.key(0), jnp.zeros((1,) + SHAPE + (13,)))


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, params):
    run = tmp_path_factory.mktemp("runs") / "good"
    checkpoint.save_config(run, CONFIG, seed=0)
    for step in (10, 20):
        checkpoint.save(run, step, Saved(params, jnp.int32(step)))
    return run


def copy(run, tmp_path):
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


def truncate_data(run):
    for path in (run / "checkpoints" / "20" / "params").rglob("*"):
        if path.is_file() and path.parent.name == "d":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty_folder(run):
    shutil.rmtree(run / "checkpoints" / "20")
    (run / "checkpoints" / "20").mkdir()


def empty_metadata(run):
    for path in (run / "checkpoints" / "20").rglob("*METADATA*"):
        path.write_text("")


DAMAGE = [  # (case, damage(run), error, message fragment)
    ("truncated data file", truncate_data, ValueError, "checkpoints/20 is damaged and cannot be read"),
    ("emptied step folder", empty_folder, ValueError, "checkpoints/20 is damaged"),
    ("empty metadata", empty_metadata, ValueError, "checkpoints/20 is damaged"),
    ("truncated config.json", lambda r: (r / "config.json").write_text((r / "config.json").read_text()[:40]),
     ValueError, "config.json is not valid JSON"),
    ("config.json a list", lambda r: (r / "config.json").write_text("[]"), ValueError,
     "config.json does not hold a JSON object"),
    ("config.json unknown field", lambda r: (r / "config.json").write_text(json.dumps({"dqn": {"colour": 1}})),
     ValueError, "config.json: unknown DQNConfig field(s) ['colour']"),
    ("no config.json", lambda r: (r / "config.json").unlink(), FileNotFoundError, "config.json"),
    ("no checkpoints", lambda r: shutil.rmtree(r / "checkpoints"), FileNotFoundError, "no checkpoints in"),
]


@pytest.mark.parametrize("damage,error,message", [c[1:] for c in DAMAGE], ids=[c[0] for c in DAMAGE])
def test_load_policy_names_the_damaged_file(good_run, tmp_path, damage, error, message):
    run = copy(good_run, tmp_path)
    damage(run)
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    with pytest.raises(error) as raised:
        load_policy(run)
    assert message in str(raised.value)
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before  # nothing created, moved or removed


def test_load_policy_on_a_folder_without_checkpoints_creates_nothing(tmp_path):
    checkpoint.save_config(tmp_path, CONFIG)
    with pytest.raises(FileNotFoundError, match="no checkpoints in"):
        load_policy(tmp_path)
    assert not (tmp_path / "checkpoints").exists()
    with pytest.raises(FileNotFoundError):
        checkpoint.restore_params(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory, params):
    run = tmp_path_factory.mktemp("runs") / "nan"
    checkpoint.save_config(run, CONFIG)
    checkpoint.save(run, 5, Saved(jax.tree.map(lambda x: x.at[(0,) * x.ndim].set(jnp.nan), params), jnp.int32(5)))
    return run


def test_policy_with_non_finite_parameters_refuses_to_plan(nan_run, params):
    with pytest.raises(ValueError, match="network parameters of the latest checkpoint in .* are not finite"):
        load_policy(nan_run)
    network = QNetwork(CONFIG.features, CONFIG.dilations, CONFIG.dueling)
    policy = PlacementPolicy(checkpoint.restore_params(nan_run), network, CONFIG)
    land = landscape.from_arrays(np.full(SHAPE, 102), np.zeros(SHAPE), np.zeros(SHAPE))
    with pytest.raises(ValueError, match="the policy's network parameters are not finite"):
        policy(jax.random.key(0), land, Weather(), 3)


PLAN = [  # (case, budget, weather, error, message fragment)
    ("float budget", 3.0, Weather(), ValueError, "budget_cells must be one whole number of cells"),
    ("negative budget", -2, Weather(), ValueError, "budget_cells must be >= 0"),
    ("budget above the burnable cells", 100, Weather(), ValueError, "exceeds the 64 burnable cells"),
    ("NaN wind", 3, Weather(jnp.float32(float("nan"))), ValueError, "weather.wind_speed_kmh"),
    ("wrong moisture length", 3, Weather(0.0, 0.0, jnp.ones(3)), ValueError, "weather.moisture must have 5 values"),
]


@pytest.mark.parametrize("budget,weather,error,message", [c[1:] for c in PLAN], ids=[c[0] for c in PLAN])
def test_policy_refuses_bad_planning_input(good_run, budget, weather, error, message):
    policy = load_policy(good_run)
    land = landscape.from_arrays(np.full(SHAPE, 102), np.zeros(SHAPE), np.zeros(SHAPE))
    with pytest.raises(error) as raised:
        policy(jax.random.key(0), land, weather, budget)
    assert message in str(raised.value)
