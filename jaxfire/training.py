"""Training runs (Brax style): ``train(config, run_dir, progress_fn=..., eval_fn=...)`` owns the loop around a
learner's pure jitted ``update``: chunks, orbax checkpoints, exact resume, evaluations, metrics.jsonl, TensorBoard.

Any algorithm of :data:`jaxfire.agents.algorithms.ALGORITHMS` (DQN, PQN), chosen by the config's type.  The pure core
stays ``jaxfire.agents.algorithms.make_train(config)(key)`` (one ``jit``, vmappable over keys); ``train`` runs the
same ``update`` in chunks of ``settings.chunk`` updates (one jitted ``lax.scan`` each, which also reduces
the metrics to chunk means), with checkpoints, evaluations and a progress callback between them.

Run folder ``run_dir`` (optional; nothing is written without it):

* ``config.json``: the learner's config and the :class:`RunSettings` (:mod:`jaxfire.checkpoint`).
* ``checkpoints/``: the whole runner state every ``checkpoint_every`` updates and at the end (last 3 kept).  A fresh
  run starts from its own checkpoint 0, so fresh and resumed runs run the same compiled chunks and a resume
  reproduces an uninterrupted run bit for bit.  Chunks always end on multiples of ``chunk`` or at
  ``total_updates``.
* ``metrics.jsonl``: one record per chunk: ``update``, ``env_steps``, ``gradient_steps`` (in the chunk), ``wall_s``
  (since this call started), ``chunk_s`` (training time of the chunk, compilation excluded), ``steps_per_s`` (env
  steps/s), chunk means of the
  learner's metrics (``loss`` over the updates that learned, ``None`` before learning starts; ``episode_return``
  and ``final_burned_fraction`` weighted by the ``episodes`` that ended in the chunk) and, every ``eval_every``
  updates and at the end, ``eval`` (the table of ``eval_fn``).  A run with demonstrations starts with a record of
  update 0 holding only ``eval`` (the agent after pre-training).
* ``tensorboard/``: the same scalars, when ``tensorboardX`` or ``torch`` is installed.

Units: an *update* is the algorithm's (DQN: one step of each of ``num_envs`` environments plus its gradient step(s);
PQN: a rollout of ``rollout_steps x num_envs`` env steps plus ``epochs x minibatches`` gradient steps); times in
seconds.

Failures: a chunk whose mean loss or final network parameters are not finite stops training with
:class:`NonFiniteError` naming the updates (it is not checkpointed, so the run folder keeps only finite states); a
resume whose latest checkpoint is damaged continues from the newest intact one (:func:`jaxfire.checkpoint.restore`),
and a ``metrics.jsonl`` whose last line was cut short by a kill is read without it (both with a logged warning).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp

from jaxfire import checkpoint, parallel, validation
from jaxfire.agents import algorithms
from jaxfire.agents.base import Learner, RunnerState


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How a run is driven (recorded in ``config.json`` beside the learner's config; meanings in
    :data:`SETTINGS_HELP`)."""

    seed: int = 0
    chunk: int = 100
    checkpoint_every: int = 500
    eval_every: int = 500
    eval_ignitions: int = 64
    eval_landscapes: int = 8

    def validate(self) -> "RunSettings":
        """Raise ``ValueError`` naming the first setting out of range; returns ``self``."""
        for name in ("chunk", "checkpoint_every", "eval_every", "eval_ignitions", "eval_landscapes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        return self


SETTINGS_HELP = {
    "seed": "seed of the network, exploration and evaluation ignitions",
    "chunk": "updates per jitted chunk (metrics, checkpoints and evaluations fall between chunks)",
    "checkpoint_every": "updates between checkpoints",
    "eval_every": "updates between evaluations",
    "eval_ignitions": "fresh fires per held-out landscape (the baselines plan with as many)",
    "eval_landscapes": "held-out landscapes evaluated",
}


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the final runner state, the chunk records, the learner and the last evaluation
    (``(table, details)`` of ``eval_fn``)."""

    state: RunnerState
    records: list
    learner: Learner
    evaluation: tuple | None
    compile_s: float


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite (NaN or inf) loss or network parameters."""


def stop_if_not_finite(params, update: int, loss=None, first: int | None = None) -> None:
    """Raise :class:`NonFiniteError` when ``loss`` (a chunk's mean, ``None`` before learning) or ``params`` after
    ``update`` (the chunk of updates ``first`` .. ``update``; ``first=None``: initialisation) are not finite."""
    problem = None if loss is None or math.isfinite(loss) else f"the mean loss is {loss}"
    if problem is None:
        try:
            validation.check_finite_tree(local(params), "the network parameters")
        except ValueError as error:
            problem = str(error)
    if problem is not None:
        when = "during initialisation (demonstration pre-training)" if first is None else \
            f"in the chunk of updates {first}..{update}"
        raise NonFiniteError(f"training stopped at update {update}: {problem} {when}; nothing non-finite was "
                             "checkpointed. Lower --learning-rate, --max-grad-norm or --reward-scale.")


def local(tree):
    """This process's copy of replicated (or single-process) arrays."""
    return jax.tree.map(lambda x: x.addressable_data(0), tree)


def chunk_means(state, metrics):
    """Chunk means of the per-update metrics, without NaN (see the module docstring)."""
    learned = metrics.pop("learning")
    summary = {name: value.mean() for name, value in metrics.items()}
    summary["loss"] = jnp.where(learned, metrics["loss"], 0.0).sum() / jnp.maximum(learned.sum(), 1)
    summary["learning_updates"] = learned.sum()
    episodes = metrics["episodes"]
    summary["episodes"] = episodes.sum()
    for name in ("episode_return", "final_burned_fraction"):
        summary[name] = (metrics[name] * episodes).sum() / jnp.maximum(episodes.sum(), 1)
    return state, summary


def _record(summary: dict) -> dict:
    """JSON-able chunk metrics: ``None`` for a loss before learning and for episode means without episodes."""
    record = {name: float(value) for name, value in summary.items()}
    for name in ("episodes", "learning_updates"):
        record[name] = int(record[name])
    if not record["learning_updates"]:
        record["loss"] = None
    if not record["episodes"]:
        record["episode_return"] = record["final_burned_fraction"] = None
    return record


def due(update: int, length: int, every: int, total: int) -> bool:
    """Whether the chunk of ``length`` updates that ended at ``update`` crossed a multiple of ``every`` or the end."""
    return update == total or update // every > (update - length) // every


def read_metrics(run_dir, up_to: int, owner: bool = True) -> list[dict]:
    """The chunk records of ``metrics.jsonl`` up to update ``up_to``, the file cut back to them (by the ``owner``)."""
    path = Path(run_dir) / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    records = [record for record in _parsed(path, lines) if record["update"] <= up_to]
    if owner:
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return records


def _parsed(path, lines: list[str]) -> list[dict]:
    """The records of ``lines``; a last line cut short (a run killed while writing it) is dropped with a warning,
    any other unreadable line is an error naming the file and line."""
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise ValueError(f"{path} line {number} is not valid JSON ({error})") from None
            logging.getLogger(__name__).warning("%s: dropped its last line, cut short (%s)", path, error)
    return records


def tensorboard(log_dir):
    """A ``SummaryWriter`` when tensorboardX or torch is installed, else ``None``."""
    for module in ("tensorboardX", "torch.utils.tensorboard"):
        try:
            return importlib.import_module(module).SummaryWriter(str(log_dir))
        except ImportError:
            continue
    return None


class _Log:
    """Where records go: the caller's list, ``metrics.jsonl`` and TensorBoard (the last two only for the owner)."""

    def __init__(self, run_dir, records: list, owner: bool):
        self.records, self.path = records, (Path(run_dir) / "metrics.jsonl" if run_dir and owner else None)
        self.writer = tensorboard(Path(run_dir) / "tensorboard") if self.path else None

    def write(self, record: dict) -> None:
        self.records.append(record)
        if self.path is None:
            return
        with open(self.path, "a") as file:
            file.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for name, value in {**record, **{f"eval/{k}": v for k, v in record.get("eval", {}).items()}}.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(name, value, record["update"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _start(learner, key, shardings, run_dir, settings: RunSettings, resume: bool, owner: bool):
    """The runner state to start from and the records so far: fresh (checkpoint 0 written and read back when there
    is a run folder) or resumed from the folder's latest checkpoint."""
    if run_dir is None:
        return jax.jit(learner.init, out_shardings=shardings)(key), []
    if resume:
        if checkpoint.latest_step(run_dir) is None:
            raise FileNotFoundError(f"no checkpoint to resume in {Path(run_dir) / 'checkpoints'}")
        if owner:
            checkpoint.save_config(run_dir, learner.config, **dataclasses.asdict(settings))
    else:
        if owner:
            checkpoint.save_config(run_dir, learner.config, **dataclasses.asdict(settings))
        state = jax.jit(learner.init, out_shardings=shardings)(key)
        stop_if_not_finite(state.params, 0)
        checkpoint.save(run_dir, 0, state)
        del state  # freed before the restore reads it back
    state = checkpoint.restore(run_dir, jax.eval_shape(learner.init, key), shardings=shardings)
    # A damaged latest checkpoint falls back to an older one: the records stop where the restored state does.
    return state, (read_metrics(run_dir, int(local(state.update)), owner) if resume else [])


class _Chunks:
    """Jitted chunks of ``length`` updates (one compiled program per length, the state donated)."""

    def __init__(self, learner, shardings, mesh):
        self.learner, self.shardings, self.compiled, self.compile_s = learner, shardings, {}, 0.0
        self.replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())

    def run(self, state, length: int) -> tuple:
        """``(state after length updates, record of the chunk's means with chunk_s and steps_per_s)``."""
        if length not in self.compiled:
            tic = time.perf_counter()
            chunk = jax.jit(lambda s: chunk_means(*jax.lax.scan(self.learner.update, s, None, length)),
                            in_shardings=(self.shardings,), out_shardings=(self.shardings, self.replicated),
                            donate_argnums=0)
            self.compiled[length] = chunk.lower(state).compile()
            self.compile_s += time.perf_counter() - tic
        tic = time.perf_counter()
        state, summary = self.compiled[length](state)
        summary = _record(local(summary))
        seconds = time.perf_counter() - tic
        steps = length * self.learner.env_steps_per_update
        gradient_steps = summary["learning_updates"] * self.learner.gradient_steps_per_update
        return state, {"chunk_s": seconds, "steps_per_s": steps / seconds, "gradient_steps": gradient_steps,
                       **summary}


def _evaluated(record: dict, eval_fn, params) -> tuple:
    """``record`` with its ``eval`` table and ``eval_s``; returns ``(table, details)``."""
    tic = time.perf_counter()
    table, details = eval_fn(local(params))
    record["eval"] = {k: v for k, v in table.items() if k != "per_landscape"}
    record["eval_s"] = time.perf_counter() - tic
    return table, details


def train(config, run_dir=None, *, settings: RunSettings = RunSettings(), resume: bool = False,
          progress_fn: Callable[[dict], None] | None = None, eval_fn: Callable | None = None, mesh=None,
          owner: bool = True) -> TrainResult:
    """Train (or resume) a learner for ``config.total_updates`` updates in chunks.

    Args:
      config: a :class:`~jaxfire.agents.config.DQNConfig` or :class:`~jaxfire.agents.config.PQNConfig` (the
        algorithm follows from its type).
      run_dir: the run folder (see the module docstring); ``None`` keeps everything in memory.
      settings: chunking, checkpoint and evaluation cadence, seed.
      resume: continue ``run_dir`` from its latest checkpoint (the caller checks that ``config`` is the saved one;
        only ``total_updates`` may grow).
      progress_fn: called with every chunk record (and the update-0 record of a run with demonstrations).
      eval_fn: ``eval_fn(params) -> (table, details)``; default :func:`jaxfire.evaluation.held_out` on the learner's
        held-out landscapes with ``settings.eval_ignitions`` fires each.
      mesh: devices to train on (default: every device; environments and batches split over them).
      owner: whether this process writes the run folder (process 0 of a multi-process run).
    """
    from jaxfire import evaluation

    settings = settings.validate()
    mesh = parallel.data_mesh() if mesh is None else mesh
    learner = algorithms.build(config, batch_sharding=parallel.batch_sharding(mesh))
    if learner.batch_size % mesh.devices.size:
        raise ValueError(f"the gradient batch ({learner.batch_size} samples) must be divisible by the "
                         f"{mesh.devices.size} devices")
    train_key, eval_key = jax.random.split(jax.random.key(settings.seed))
    if eval_fn is None:
        eval_fn = lambda params: evaluation.held_out(learner, params, eval_key, settings.eval_ignitions,  # noqa: E731
                                                     settings.eval_landscapes)
    shardings = parallel.state_shardings(jax.eval_shape(learner.init, train_key), mesh, config.num_envs)
    start = time.perf_counter()
    state, records = _start(learner, train_key, shardings, run_dir, settings, resume, owner)
    log, final = _Log(run_dir, records, owner), None
    report = lambda record: (log.write(record), progress_fn and progress_fn(record))  # noqa: E731
    if not resume and config.demo_steps:  # the agent as demonstrations and pre-training left it
        record = {"update": 0, "env_steps": 0}
        _evaluated(record, eval_fn, state.params)
        report({**record, "wall_s": time.perf_counter() - start})
    chunks, update = _Chunks(learner, shardings, mesh), int(local(state.update))
    while update < config.total_updates:
        length = min(settings.chunk - update % settings.chunk, config.total_updates - update)
        state, record = chunks.run(state, length)
        update += length
        stop_if_not_finite(state.params, update, record["loss"], update - length + 1)
        record = {"update": update, "env_steps": update * learner.env_steps_per_update, **record}
        if due(update, length, settings.eval_every, config.total_updates):
            final = _evaluated(record, eval_fn, state.params)
        report({**record, "wall_s": time.perf_counter() - start})
        if run_dir is not None and due(update, length, settings.checkpoint_every, config.total_updates):
            checkpoint.save(run_dir, update, state)
    log.close()
    if final is None:  # resumed a finished run: evaluate its final parameters
        final = eval_fn(local(state.params))
    return TrainResult(state, log.records, learner, final, chunks.compile_s)
