"""The learning algorithms by name: ``ALGORITHMS = {"dqn": DQN, "pqn": PQN}``, and dispatch on a config's type.

The names are those ``config.json`` records (:data:`jaxfire.agents.config.CONFIGS` maps them to the config
classes); :func:`jaxfire.training.train` and ``python -m experiments.train_dqn --algo NAME`` go through here.
"""
from __future__ import annotations

from jaxfire.agents import base
from jaxfire.agents.config import CONFIGS, algorithm_of
from jaxfire.agents.dqn import DQN
from jaxfire.agents.pqn import PQN

ALGORITHMS = {"dqn": DQN, "pqn": PQN}
assert set(ALGORITHMS) == set(CONFIGS)


def build(config, env=None, env_params=None, test_params=None, batch_sharding=None):
    """The learner of ``config``'s algorithm (a :class:`DQN` for a ``DQNConfig``, a :class:`PQN` for a
    ``PQNConfig``)."""
    return ALGORITHMS[algorithm_of(config)](config, env, env_params, test_params, batch_sharding)


def make_train(config, env=None, env_params=None):
    """``train(key) -> {"runner_state", "metrics"}`` of ``config``'s algorithm, one jittable function
    (:func:`jaxfire.agents.base.make_train`)."""
    return base.make_train(ALGORITHMS[algorithm_of(config)], config, env, env_params)
