"""The settings of a learning run: :class:`DQNConfig` (Double DQN) and :class:`PQNConfig` (PQN), both
:class:`AgentConfig` subclasses (environment, network, the learning settings both share, demonstrations).

Field meanings: :data:`HELP` (also ``python -m experiments.train_dqn --help``).  Counts are counts (``*_cells``,
``ignitions_per_evaluation``, ``planning_ignitions``), fractions say so (``budget_fraction``, ``test_fraction``),
``landscape_side`` is the side of the square landscapes in cells.  :data:`CONFIGS` maps an algorithm's name (as
``config.json`` records it) to its config class; :func:`algorithm_of` is the inverse.
"""
from __future__ import annotations

import dataclasses

from jaxfire.planners import PLANNERS
from jaxfire.validation import Range

HELP = {  # field -> meaning (the training CLI's flag help)
    "landscape_side": "landscape side, cells (square landscapes)",
    "num_landscapes": "synthetic landscapes in the pool (train + held-out test)",
    "test_fraction": "fraction of the pool held out for evaluation",
    "landscape_seed": "seed of the landscape pool, its train/test split and the scenario banks",
    "budget_fraction": "fuel-break cells per episode, fraction of the landscape's burnable cells",
    "ignitions_per_evaluation": "ignitions per scenario, all burned after every step",
    "scenarios_per_landscape": "weather + ignition-set scenarios drawn per landscape",
    "max_minutes": "fire duration cap, minutes",
    "wind_kmh_low": "lowest 10-m wind speed of the scenarios, km/h",
    "wind_kmh_high": "highest 10-m wind speed of the scenarios, km/h",
    "neighbours": "fire-spread stencil size: 8, 16 or 32",
    "planning_ignitions": "fires behind the planning channels (burn probability, DPV) of the observation; 0: none",
    "features": "channels of each dilated 3x3 convolution, comma-separated",
    "dilations": "dilation of each convolution, comma-separated (as many as --features)",
    "dueling": "dueling head: grid value + mean-centred per-cell advantages",
    "norm": "LayerNorm after each hidden layer of the Q-network (PQN's stabiliser)",
    "double": "double DQN: the online network picks the bootstrap action, the target network rates it",
    "num_envs": "parallel environments (DQN: env steps per update; PQN: x rollout_steps)",
    "total_updates": "updates to train",
    "buffer_per_env": "replay entries per environment (num_envs x this in all)",
    "batch_size": "transitions per gradient step",
    "learning_rate": "Adam learning rate",
    "max_grad_norm": "global gradient-norm clip",
    "gamma": "discount per step",
    "n_step": "steps of the n-step returns",
    "reward_scale": "reward multiplier (rewards are reductions of the expected burned fraction)",
    "epsilon_start": "exploration probability at update 0",
    "epsilon_end": "exploration probability after the decay",
    "epsilon_fraction": "fraction of total_updates over which epsilon decays linearly",
    "learning_starts": "replay entries per environment before learning starts",
    "gradient_steps": "gradient steps per update",
    "target_tau": "Polyak rate of the target network per update (when --target-period is 0)",
    "target_period": "copy the online network to the target every this many updates (0: Polyak averaging)",
    "demo_baseline": "planner whose plans prefill the replay as demonstrations (random, burn_probability, "
                     "domirank, dpv, greedy; empty: none)",
    "demo_steps": "demonstration steps per environment put in the replay before training",
    "pretrain_steps": "gradient steps on the demonstrations before training",
    "finetune_lr_scale": "learning-rate multiplier after the pre-training steps (RL fine-tuning)",
    "demo_fraction": "DQN: share of every training batch drawn from the demonstration buffer (with demonstrations)",
    "demo_target": "imitation target on a demonstrated step: next (the teacher's next cell) or plan (any cell of "
                   "its plan not placed yet)",
    "dagger": "label every state the agent visits with the cut-lines teacher's answer there (its next cut, "
              "jaxfire.planners.next_cut) and imitate it too (DAgger: DQN when the transition is replayed, PQN in "
              "the rollout's gradient steps); needs demo_baseline cut_lines",
    "demo_weight": "weight of the imitation (cross-entropy) loss on demonstration transitions (0: TD loss only)",
    "rollout_steps": "PQN: steps of every environment per update (env steps per update = rollout_steps x num_envs)",
    "epochs": "PQN: passes over each rollout",
    "minibatches": "PQN: gradient steps per epoch (the rollout split into this many minibatches)",
    "lam": "PQN: lambda of the Q(lambda) returns (0: one-step Q-learning targets, 1: Monte Carlo within the rollout)",
    "td_loss": "PQN: regression loss on the lambda-returns, mse (0.5 x squared error, as purejaxql) or huber",
}

WHOLE, COUNT, FRACTION = Range(1, integer=True), Range(0, integer=True), Range(0.0, 1.0)
POSITIVE = Range(0.0, low_open=True)
RANGES = {  # field -> allowed values (tuple fields: every element) of any algorithm's config; cross-field rules are
    # in each config's checks()
    "landscape_side": Range(4, integer=True), "num_landscapes": Range(2, integer=True),
    "test_fraction": Range(0.0, 1.0, low_open=True, high_open=True), "landscape_seed": COUNT,
    "budget_fraction": Range(0.0, 1.0, low_open=True), "ignitions_per_evaluation": WHOLE,
    "scenarios_per_landscape": WHOLE, "max_minutes": POSITIVE, "wind_kmh_low": Range(0.0),
    "wind_kmh_high": Range(0.0), "planning_ignitions": COUNT, "features": WHOLE, "dilations": WHOLE,
    "num_envs": WHOLE, "total_updates": WHOLE, "buffer_per_env": WHOLE, "batch_size": WHOLE,
    "learning_rate": POSITIVE, "max_grad_norm": POSITIVE, "gamma": FRACTION, "n_step": WHOLE,
    "reward_scale": POSITIVE, "epsilon_start": FRACTION, "epsilon_end": FRACTION, "epsilon_fraction": FRACTION,
    "learning_starts": COUNT, "gradient_steps": WHOLE, "target_tau": FRACTION, "target_period": COUNT,
    "demo_steps": COUNT, "pretrain_steps": COUNT, "demo_weight": Range(0.0), "demo_fraction": FRACTION,
    "finetune_lr_scale": POSITIVE,
    "rollout_steps": WHOLE, "epochs": WHOLE, "minibatches": WHOLE, "lam": FRACTION,
}

# Names of fields in config files (and command-line flags) from before they were renamed.
RENAMED = {"grid": "landscape_side", "ignitions": "ignitions_per_evaluation", "budget": "budget_fraction"}


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """What every algorithm shares: environment, Q-network, the common learning settings, demonstrations.

    An algorithm's config subclasses it (and may change defaults by redeclaring a field); see ``python -m
    experiments.train_dqn --help`` for the meanings.
    """

    # Landscapes and environment.
    landscape_side: int = 32
    num_landscapes: int = 32
    test_fraction: float = 0.25
    landscape_seed: int = 0
    budget_fraction: float = 0.05
    ignitions_per_evaluation: int = 16
    scenarios_per_landscape: int = 8
    max_minutes: float = 480.0
    wind_kmh_low: float = 10.0
    wind_kmh_high: float = 30.0
    neighbours: int = 16
    planning_ignitions: int = 64
    # Q-network.
    features: tuple[int, ...] = (32, 32, 32, 32)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dueling: bool = True
    norm: bool = False
    # Learning.
    num_envs: int = 8
    total_updates: int = 2000
    learning_rate: float = 3e-4
    max_grad_norm: float = 10.0
    gamma: float = 0.99
    reward_scale: float = 100.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5
    # Demonstrations.
    demo_baseline: str = ""
    demo_steps: int = 0
    pretrain_steps: int = 0
    demo_weight: float = 1.0
    demo_target: str = "next"
    dagger: bool = False
    finetune_lr_scale: float = 1.0

    @classmethod
    def from_dict(cls, fields: dict):
        """A config from JSON-like ``fields`` (lists back to tuples; fields renamed since accepted by old name)."""
        fields = {RENAMED.get(name, name): value for name, value in fields.items()}
        unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}")
        return cls(**{name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()})

    def checks(self) -> list[tuple[bool, str]]:
        """``(ok, message)`` of every consistency check of the shared fields (an algorithm's config adds its own)."""
        return [
            (self.neighbours in (8, 16, 32), f"neighbours must be 8, 16 or 32, got {self.neighbours!r}"),
            (self.wind_kmh_low <= self.wind_kmh_high, "need wind_kmh_low <= wind_kmh_high"),
            (self.landscape_side >= 4, "landscape_side must be >= 4"),
            (self.planning_ignitions >= 0, "planning_ignitions must be >= 0"),
            (0 < self.budget_fraction <= 1, "budget_fraction must be a fraction in (0, 1]"),
            (self.num_landscapes >= 2, "num_landscapes must be >= 2 (train and test)"),
            (self.num_envs >= 1, "num_envs must be >= 1"),
            (0 <= self.epsilon_end <= self.epsilon_start <= 1, "need 0 <= epsilon_end <= epsilon_start <= 1"),
            (len(self.features) == len(self.dilations), "features and dilations need the same length"),
            (len(self.features) >= 1, "features needs at least one layer"),
            (self.demo_baseline in ("", *PLANNERS),
             f"demo_baseline {self.demo_baseline!r} is not one of {sorted(PLANNERS)} (or empty)"),
            (bool(self.demo_baseline) == (self.demo_steps > 0), "demo_steps > 0 and demo_baseline go together"),
            (self.pretrain_steps == 0 or self.demo_steps > 0, "pretrain_steps need demonstrations (demo_steps > 0)"),
            (self.demo_weight >= 0, "demo_weight must be >= 0"),
            (self.demo_target in ("next", "plan"), f"demo_target must be next or plan, got {self.demo_target!r}"),
            (not self.dagger or self.demo_baseline == "cut_lines",
             "dagger needs demo_baseline cut_lines (the teacher that answers from any partial plan)"),
            (not self.dagger or self.planning_ignitions > 0,
             "dagger needs planning_ignitions > 0 (the teacher plans with the planning channels' fires)"),
        ]

    def validate(self):
        """Raise ``ValueError`` naming the first setting out of its range (:data:`RANGES`) or inconsistent with
        another (:meth:`checks`); returns ``self``."""
        kind = algorithm_of(self).upper()
        for field in dataclasses.fields(self):
            allowed, value = RANGES.get(field.name), getattr(self, field.name)
            for item in (value if isinstance(value, tuple) else (value,)) if allowed else ():
                try:
                    allowed.check(item, field.name)
                except (TypeError, ValueError) as error:
                    raise ValueError(f"invalid {kind} config: {error}") from None
        for ok, message in self.checks():
            if not ok:
                raise ValueError(f"invalid {kind} config: {message}")
        return self


@dataclasses.dataclass(frozen=True)
class DQNConfig(AgentConfig):
    """Every setting of a Double DQN run (:mod:`jaxfire.agents.dqn`)."""

    double: bool = True
    buffer_per_env: int = 4096
    batch_size: int = 64
    n_step: int = 3
    learning_starts: int = 64
    gradient_steps: int = 1
    target_tau: float = 0.01
    target_period: int = 0
    demo_fraction: float = 0.25

    def checks(self) -> list[tuple[bool, str]]:
        return super().checks() + [
            (self.n_step >= 1, "n_step must be >= 1"),
            (self.buffer_per_env > self.n_step + 1, "buffer_per_env must exceed n_step + 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (0 < self.target_tau <= 1 or self.target_period > 0, "need target_tau in (0, 1] or target_period > 0"),
            (self.learning_starts < self.buffer_per_env,
             f"learning_starts must be < buffer_per_env ({self.buffer_per_env}): the replay holds at most "
             "buffer_per_env entries per environment, so learning would never start"),
            (self.pretrain_steps == 0 or self.demo_steps > self.n_step, "pretrain_steps need demo_steps > n_step"),
        ]


@dataclasses.dataclass(frozen=True)
class PQNConfig(AgentConfig):
    """Every setting of a PQN run (:mod:`jaxfire.agents.pqn`): an update is one rollout of ``rollout_steps`` steps of
    ``num_envs`` environments, then ``epochs`` x ``minibatches`` gradient steps on it."""

    norm: bool = True
    num_envs: int = 128
    total_updates: int = 300
    epsilon_fraction: float = 0.25
    rollout_steps: int = 8
    epochs: int = 1
    minibatches: int = 8
    lam: float = 0.65
    td_loss: str = "mse"

    @property
    def rollout_size(self) -> int:
        """Transitions per rollout (env steps per update)."""
        return self.rollout_steps * self.num_envs

    @property
    def batch_size(self) -> int:
        """Transitions per gradient step (a minibatch: the rollout split ``minibatches`` ways)."""
        return self.rollout_size // self.minibatches

    def checks(self) -> list[tuple[bool, str]]:
        return super().checks() + [
            (self.rollout_steps >= 1 and self.epochs >= 1 and self.minibatches >= 1,
             "rollout_steps, epochs and minibatches must be >= 1"),
            (self.rollout_size % self.minibatches == 0,
             f"minibatches ({self.minibatches}) must divide rollout_steps x num_envs ({self.rollout_size})"),
            (0.0 <= self.lam <= 1.0, "lam must be in [0, 1]"),
            (self.td_loss in ("mse", "huber"), f"td_loss must be mse or huber, got {self.td_loss!r}"),
            (self.pretrain_steps % self.minibatches == 0,
             "pretrain_steps must be a multiple of minibatches (pre-training runs whole epochs)"),
            ((self.demo_steps * self.num_envs) % self.minibatches == 0,
             "minibatches must divide demo_steps x num_envs"),
            (self.demo_steps == 0 or self.pretrain_steps > 0,
             "demo_steps need pretrain_steps > 0 (PQN has no replay: demonstrations serve pre-training only)"),
        ]


CONFIGS = {"dqn": DQNConfig, "pqn": PQNConfig}  # algorithm name (config.json's "algorithm") -> config class


def algorithm_of(config: AgentConfig) -> str:
    """The algorithm name of ``config`` (a key of :data:`CONFIGS`)."""
    for name, cls in CONFIGS.items():
        if type(config) is cls:
            return name
    raise TypeError(f"{type(config).__name__} is not the config of a known algorithm ({sorted(CONFIGS)})")
