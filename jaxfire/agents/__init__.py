"""Learning agents that place fuel breaks (see :mod:`jaxfire.agents.dqn`)."""
