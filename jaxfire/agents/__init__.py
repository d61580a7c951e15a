"""Learning agents that place fuel breaks.

* :mod:`~jaxfire.agents.config`: run settings (:class:`~jaxfire.agents.config.DQNConfig`,
  :class:`~jaxfire.agents.config.PQNConfig`, their shared :class:`~jaxfire.agents.config.AgentConfig`);
* :mod:`~jaxfire.agents.networks`: the fully convolutional Q-network (one value per cell, any grid size; optional
  LayerNorm), masked argmax / max and epsilon-greedy acting;
* :mod:`~jaxfire.agents.replay`: compact trajectory replay (DQN);
* :mod:`~jaxfire.agents.losses`: pure TD, Q(lambda) and imitation losses;
* :mod:`~jaxfire.agents.demonstrations`: a planner's plans as demonstrations, and pre-training on them;
* :mod:`~jaxfire.agents.base`: what the learners share (environment, runner state, acting, stepping);
* :mod:`~jaxfire.agents.dqn`: Double DQN; :mod:`~jaxfire.agents.pqn`: PQN (no replay, no target network, Q(lambda)
  over vectorized rollouts); each has ``make_train(config)(key)`` and a learner class with the ``init``/``update``
  pieces :func:`jaxfire.training.train` runs in chunks;
* :mod:`~jaxfire.agents.algorithms`: ``ALGORITHMS = {"dqn": DQN, "pqn": PQN}`` and dispatch on a config's type;
* :mod:`~jaxfire.agents.policy`: a trained network of either algorithm as a planner (:func:`load_policy`).

To add an algorithm: a config subclassing :class:`~jaxfire.agents.config.AgentConfig` (registered in
:data:`~jaxfire.agents.config.CONFIGS`) and a :class:`~jaxfire.agents.base.Learner` subclass with
``init(key) -> RunnerState`` (its per-environment data in the ``envs`` field, which
:func:`jaxfire.parallel.state_shardings` splits over devices) and a scan body ``update(state, _) -> (state,
metrics)`` (registered in :data:`~jaxfire.agents.algorithms.ALGORITHMS`); :func:`jaxfire.training.train` then gives
it chunks, checkpoints, resume and evaluation.
"""
from jaxfire.agents.policy import PlacementPolicy, load_policy

__all__ = ["PlacementPolicy", "load_policy"]
