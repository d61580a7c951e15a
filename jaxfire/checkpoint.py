"""Training checkpoints (orbax) and run configs (JSON) in a run folder.

Layout of ``run_dir``:

* ``checkpoints/<step>/state``: the whole runner state pytree of the algorithm (e.g. :class:`~jaxfire.agents.dqn.
  RunnerState`: network and target parameters, optimizer state, environment states, observations, replay buffer,
  running returns, PRNG key and update counter) after ``step`` updates; typed PRNG keys are stored as their raw
  ``uint32`` key data.
* ``checkpoints/<step>/params``: the online network parameters again (small), so :func:`restore_params` reads a
  policy without a template and without rebuilding the environment.
* ``config.json``: ``{"algorithm": "<name>", "<name>": <its config's fields>, ...}`` plus any run settings given
  to :func:`save_config` (``name`` a key of :data:`jaxfire.agents.config.CONFIGS`: ``dqn``, ``pqn``); files
  written before PQN existed hold ``{"dqn": ...}`` without ``"algorithm"`` and load as DQN.

The last ``MAX_TO_KEEP`` checkpoints are kept, and checkpoint 0 (the state training starts from: with
demonstrations, the agent as pre-training left it) for good.  Saves are synchronous, so a checkpoint is complete on
disk (orbax writes it to a temporary folder and renames it) when :func:`save` returns, and restores are
bit-identical.

Damage: :func:`restore` of the latest checkpoint falls back to the newest intact one when a newer one cannot be
read (a truncated data file, empty metadata, an emptied step folder); the damaged step is moved, never deleted, to
``run_dir/damaged-checkpoints/<step>`` and a warning says so.  Readers (:func:`restore_params`,
:func:`load_config`) raise errors naming the file instead, and never create ``checkpoints/``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import jax
import orbax.checkpoint as ocp

from jaxfire.agents.config import CONFIGS, AgentConfig, algorithm_of

MAX_TO_KEEP = 3
DAMAGED = "damaged-checkpoints"  # where damaged steps are moved, inside the run folder
logger = logging.getLogger(__name__)


def _manager(run_dir) -> ocp.CheckpointManager:
    # keep_period: steps divisible by it are never deleted; with 2**62 that is step 0 alone (the pre-trained agent).
    options = ocp.CheckpointManagerOptions(max_to_keep=MAX_TO_KEEP, keep_period=2**62, create=True,
                                           enable_async_checkpointing=False)
    return ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints", options=options,
                                 item_handlers={name: ocp.StandardCheckpointHandler() for name in ("state", "params")})


KEY_IMPLS = ("threefry2x32", "rbg", "unsafe_rbg")


def _key_impl(dtype) -> str:
    """The name of the PRNG implementation whose typed keys have ``dtype`` (works on abstract templates)."""
    for name in KEY_IMPLS:
        if jax.eval_shape(lambda name=name: jax.random.key(0, impl=name)).dtype == dtype:
            return name
    raise ValueError(f"unknown PRNG key type {dtype}")


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _flat(tree) -> dict:
    """``{"a.b.0": leaf}`` for every leaf of ``tree``, typed PRNG keys replaced by their ``uint32`` key data.

    Orbax then sees only a dict of arrays: it rebuilds containers by unflattening with placeholder leaves, which
    classes that validate their fields on construction (e.g. :class:`~jaxfire.weather.Weather`) reject.
    """
    return {_name(path): jax.random.key_data(x) if _is_key(x) else x
            for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _name(path) -> str:
    return jax.tree_util.keystr(path, simple=True, separator=".")


def save(run_dir, step: int, runner_state) -> None:
    """Write ``runner_state`` as checkpoint ``step`` (dropping the oldest beyond the last ``MAX_TO_KEEP``)."""
    with _manager(run_dir) as manager:
        manager.save(int(step), args=ocp.args.Composite(state=ocp.args.StandardSave(_flat(runner_state)),
                                                         params=ocp.args.StandardSave(runner_state.params)))


def latest_step(run_dir) -> int | None:
    """The step of the newest checkpoint in ``run_dir``, ``None`` when there is none."""
    if not (Path(run_dir) / "checkpoints").is_dir():
        return None
    with _manager(run_dir) as manager:
        return manager.latest_step()


def _step(manager: ocp.CheckpointManager, run_dir, step: int | None) -> int:
    step = manager.latest_step() if step is None else step
    if step is None or step not in manager.all_steps():
        raise FileNotFoundError(f"no checkpoint {'' if step is None else step} in {Path(run_dir) / 'checkpoints'}")
    return step


def _existing(run_dir) -> Path:
    """``run_dir/checkpoints``, which must exist (readers never create it)."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        raise FileNotFoundError(f"no checkpoints in {run_dir} (no {folder} folder)")
    return folder


def _steps(run_dir) -> list[int]:
    """Checkpoint steps in ``run_dir``, newest first."""
    with _manager(run_dir) as manager:
        return sorted(manager.all_steps(), reverse=True)


def _other_template(run_dir, step: int, abstract: dict) -> bool:
    """Whether checkpoint ``step`` has readable metadata that differs from ``abstract`` (names, shapes, dtypes):
    then a failed restore means a different configuration, not damage (unreadable metadata is damage)."""
    try:
        with _manager(run_dir) as manager:
            saved = manager.item_metadata(step).state
    except Exception:  # noqa: BLE001 (unreadable metadata: damaged)
        return False
    if saved is None:
        return False
    return set(saved) != set(abstract) or any(
        tuple(saved[name].shape) != x.shape or saved[name].dtype != x.dtype for name, x in abstract.items())


def _move_aside(run_dir, step: int) -> Path:
    """Move the damaged step folder to ``run_dir/damaged-checkpoints/<step>[-n]`` (process 0 only); its new path."""
    source, target = Path(run_dir) / "checkpoints" / str(step), Path(run_dir) / DAMAGED / str(step)
    n = 0
    while target.exists():
        n += 1
        target = Path(run_dir) / DAMAGED / f"{step}-{n}"
    if jax.process_index() == 0 and source.exists():
        target.parent.mkdir(exist_ok=True)
        source.rename(target)
    return target


def _this_device():
    return jax.sharding.SingleDeviceSharding(jax.local_devices()[0])


def restore(run_dir, template, step: int | None = None, shardings=None):
    """The runner state of checkpoint ``step`` (default: the newest intact one; newer damaged ones are moved to
    ``run_dir/damaged-checkpoints/`` with a warning, see the module docstring), shaped like ``template``.

    ``template`` is a runner state of the same configuration, concrete or abstract (``jax.eval_shape`` of the
    learner's ``init``); its typed PRNG keys are rebuilt with their implementation.  ``shardings`` (a tree like
    ``template``, e.g. :func:`jaxfire.parallel.state_shardings`) places the arrays; by default they go to this
    process's first device, whatever devices wrote the checkpoint.
    """
    if shardings is None:
        shardings = jax.tree.map(lambda _: _this_device(), template)
    placement = {_name(path): sharding for path, sharding in jax.tree_util.tree_flatten_with_path(shardings)[0]}
    abstract = {name: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=placement[name])
                for name, x in jax.eval_shape(_flat, template).items()}
    _existing(run_dir)
    if step is None:
        flat = _restore_newest_intact(run_dir, abstract)
    else:
        with _manager(run_dir) as manager:
            step = _step(manager, run_dir, step)
            flat = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))).state
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    return jax.tree.unflatten(treedef, [jax.random.wrap_key_data(flat[_name(path)], impl=_key_impl(x.dtype))
                                        if _is_key(x) else flat[_name(path)] for path, x in leaves])


def _restore_newest_intact(run_dir, abstract: dict) -> dict:
    """The flat state of the newest checkpoint that restores; damaged newer ones are moved aside (module docstring).

    A checkpoint whose metadata is readable but does not match ``abstract`` is not damaged: the error (a different
    configuration) is raised and nothing is moved."""
    steps = _steps(run_dir)
    if not steps:
        raise FileNotFoundError(f"no checkpoint in {Path(run_dir) / 'checkpoints'}")
    for step in steps:
        try:
            with _manager(run_dir) as manager:
                return manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))).state
        except Exception as error:  # noqa: BLE001 (classified below)
            if _other_template(run_dir, step, abstract):
                raise
            moved = _move_aside(run_dir, step)
            logger.warning("checkpoint %d in %s is damaged and cannot be restored (%s: %s); moved it to %s and "
                           "falling back to the next older checkpoint", step, Path(run_dir) / "checkpoints",
                           type(error).__name__, str(error).splitlines()[0][:200] if str(error) else "", moved)
    raise FileNotFoundError(f"no intact checkpoint in {Path(run_dir) / 'checkpoints'}: every one was damaged "
                            f"(moved to {Path(run_dir) / DAMAGED})")


def restore_params(run_dir, step: int | None = None):
    """The online network parameters of checkpoint ``step`` (default: the latest), on this process's first device,
    whatever devices wrote them; no template needed.

    Raises:
      FileNotFoundError: no ``checkpoints/`` folder (none is created) or no such step.
      ValueError: the checkpoint cannot be read (truncated, empty metadata, emptied folder), naming its folder.
    """
    _existing(run_dir)
    with _manager(run_dir) as manager:
        step = _step(manager, run_dir, step)
        try:
            abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=_this_device()),
                                    manager.item_metadata(step).params)
            return manager.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore(abstract))).params
        except Exception as error:  # noqa: BLE001 (any failure to read is a damaged checkpoint here)
            folder = Path(run_dir) / "checkpoints" / str(step)
            raise ValueError(f"checkpoint {folder} is damaged and cannot be read ({type(error).__name__}: "
                             f"{str(error).splitlines()[0][:200] if str(error) else ''})") from error


def export_policy(run_dir, out_dir, step: int | None = None) -> int:
    """Write the policy of ``run_dir``'s checkpoint ``step`` (default: the latest) to a new folder ``out_dir``:
    ``config.json`` and a checkpoint holding only the online network parameters (kilobytes, where the runner state
    with its replay takes megabytes), which :func:`restore_params` and :func:`jaxfire.agents.load_policy` read like
    a run folder; the step number is kept.  Returns the step.  ``out_dir`` must not exist (nothing is overwritten).
    """
    out = Path(out_dir)
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose another folder or remove it first")
    config, settings = load_config(run_dir), load_settings(run_dir)
    step = _step_of(run_dir, step)
    params = restore_params(run_dir, step)
    save_config(out, config, **settings)
    with _manager(out) as manager:
        manager.save(step, args=ocp.args.Composite(params=ocp.args.StandardSave(params)))
    return step


def _step_of(run_dir, step: int | None) -> int:
    _existing(run_dir)
    with _manager(run_dir) as manager:
        return _step(manager, run_dir, step)


def save_config(run_dir, config: AgentConfig, **settings) -> None:
    """Write ``run_dir/config.json``: the algorithm's name, its config and JSON-able run ``settings``."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    name = algorithm_of(config)
    text = json.dumps({"algorithm": name, name: dataclasses.asdict(config), **settings}, indent=2)
    (Path(run_dir) / "config.json").write_text(text)


def _read(run_dir) -> tuple[str, dict]:
    """``(algorithm name, the rest of config.json)`` (``"dqn"`` for files from before the name was recorded); a
    damaged file is a ``ValueError`` naming it."""
    path = Path(run_dir) / "config.json"
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); the run's config is damaged") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} does not hold a JSON object; the run's config is damaged")
    name = saved.pop("algorithm", "dqn")
    if name not in CONFIGS:
        raise ValueError(f"{path}: unknown algorithm {name!r} (known: {sorted(CONFIGS)})")
    if not isinstance(saved.get(name), dict):
        raise ValueError(f"{path} has no \"{name}\" config object; the run's config is damaged")
    return name, saved


def algorithm(run_dir) -> str:
    """The algorithm name of ``run_dir/config.json`` (``"dqn"``, ``"pqn"``)."""
    return _read(run_dir)[0]


def load_settings(run_dir) -> dict:
    """The run settings saved beside the config by :func:`save_config`."""
    name, saved = _read(run_dir)
    saved.pop(name)
    return saved


def load_config(run_dir) -> AgentConfig:
    """The config of ``run_dir/config.json``, of its algorithm's class (a ``DQNConfig`` or ``PQNConfig``; lists
    back to tuples; fields written under their former names accepted); ``ValueError`` naming the file when it is
    damaged."""
    name, saved = _read(run_dir)
    try:
        return CONFIGS[name].from_dict(saved[name])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{Path(run_dir) / 'config.json'}: {error}") from None
