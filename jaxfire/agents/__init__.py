"""Learning agents that place fuel breaks.

* :mod:`~jaxfire.agents.networks`: the fully convolutional Q-network (one value per cell, any grid size);
* :mod:`~jaxfire.agents.replay`: compact trajectory replay;
* :mod:`~jaxfire.agents.losses`: pure TD and imitation losses;
* :mod:`~jaxfire.agents.demonstrations`: a planner's plans as demonstrations, and pre-training on them;
* :mod:`~jaxfire.agents.dqn`: Double DQN (``make_train(config)(key)``, and the :class:`~jaxfire.agents.dqn.DQN`
  pieces :func:`jaxfire.training.train` runs in chunks);
* :mod:`~jaxfire.agents.policy`: a trained network as a planner (:func:`load_policy`).

To add an algorithm: a module with a config, ``init(key) -> runner state`` (its per-environment data in an ``envs``
field, which :func:`jaxfire.parallel.state_shardings` splits over devices) and a scan body ``update(state, _) ->
(state, metrics)``; :func:`jaxfire.training.train` then gives it chunks, checkpoints, resume and evaluation.
"""
from jaxfire.agents.policy import PlacementPolicy, load_policy

__all__ = ["PlacementPolicy", "load_policy"]
