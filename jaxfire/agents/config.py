"""The settings of a DQN run (:class:`DQNConfig`), importable without starting JAX's backend.

Experiments parse their flags into a :class:`DQNConfig` before they choose the devices (``--cpu-devices``,
``--coordinator``); :mod:`jaxfire.agents.dqn` (through ``gymnax``) starts the backend on import, so the config
lives here.  Field meanings: ``python -m experiments.train_dqn --help``.
"""
from __future__ import annotations

import dataclasses

from jaxfire import baselines


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """Every setting of a run (see ``python -m experiments.train_dqn --help`` for their meaning)."""

    # Landscapes and environment.
    grid: int = 32
    num_landscapes: int = 32
    test_fraction: float = 0.25
    landscape_seed: int = 0
    budget: float = 0.05
    ignitions: int = 16
    scenarios_per_landscape: int = 8
    max_minutes: float = 480.0
    wind_kmh_low: float = 10.0
    wind_kmh_high: float = 30.0
    neighbours: int = 16
    planning_ignitions: int = 64
    # Agent.
    features: tuple[int, ...] = (32, 32, 32, 32)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dueling: bool = True
    double: bool = True
    # Learning.
    num_envs: int = 8
    total_updates: int = 2000
    buffer_per_env: int = 4096
    batch_size: int = 64
    learning_rate: float = 3e-4
    max_grad_norm: float = 10.0
    gamma: float = 0.99
    n_step: int = 3
    reward_scale: float = 100.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5
    learning_starts: int = 64
    gradient_steps: int = 1
    target_tau: float = 0.01
    target_period: int = 0
    # Demonstrations.
    demo_baseline: str = ""
    demo_steps: int = 0
    pretrain_steps: int = 0
    demo_weight: float = 1.0

    def validate(self) -> "DQNConfig":
        """Raise ``ValueError`` naming the first inconsistent setting; returns ``self``."""
        checks = [
            (self.grid >= 4, "grid must be >= 4"),
            (self.planning_ignitions >= 0, "planning_ignitions must be >= 0"),
            (0 < self.budget <= 1, "budget must be a fraction in (0, 1]"),
            (self.num_landscapes >= 2, "num_landscapes must be >= 2 (train and test)"),
            (self.n_step >= 1, "n_step must be >= 1"),
            (self.buffer_per_env > self.n_step + 1, "buffer_per_env must exceed n_step + 1"),
            (self.batch_size >= 1 and self.num_envs >= 1, "batch_size and num_envs must be >= 1"),
            (0 <= self.epsilon_end <= self.epsilon_start <= 1, "need 0 <= epsilon_end <= epsilon_start <= 1"),
            (0 < self.target_tau <= 1 or self.target_period > 0, "need target_tau in (0, 1] or target_period > 0"),
            (len(self.features) == len(self.dilations), "features and dilations need the same length"),
            (self.demo_baseline in ("", *baselines.BASELINES),
             f"demo_baseline {self.demo_baseline!r} is not one of {sorted(baselines.BASELINES)} (or empty)"),
            (bool(self.demo_baseline) == (self.demo_steps > 0), "demo_steps > 0 and demo_baseline go together"),
            (self.demo_steps <= self.buffer_per_env, "demo_steps must fit in buffer_per_env"),
            (self.pretrain_steps == 0 or self.demo_steps > self.n_step, "pretrain_steps need demo_steps > n_step"),
            (self.demo_weight >= 0, "demo_weight must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid DQN config: {message}")
        return self
