"""Train a fuel-break agent, Double DQN or PQN: ``python -m experiments.train_dqn --preset quick`` (DQN, CPU,
minutes), ``--algo pqn --preset quick``, or ``--preset gpu`` (one GPU, minutes).  ``python -m experiments.train`` is the
same command.

A thin command line over :func:`jaxfire.training.train`, which owns the run folder ``<runs-dir>/<name>/``
(``config.json``, ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``; see :mod:`jaxfire.training`).  This CLI adds
``summary.json`` (final evaluation table, times, env and gradient steps/s, DQN's replay bytes per transition) and
``plots/`` (``learning_curves.png`` and ``landscape_<i>.png`` for the first three held-out landscapes).

``--algo dqn|pqn`` picks the algorithm (default ``dqn``; a resumed run keeps its own).  Every field of
:class:`~jaxfire.agents.config.DQNConfig` and :class:`~jaxfire.agents.config.PQNConfig` and every
:class:`~jaxfire.training.RunSettings` setting is a flag (``--help``); a flag of the other algorithm's fields is an
error.  ``--preset NAME`` is that algorithm's preset (config fields, and for PQN also chunk, checkpoint and
evaluation cadence, since a PQN update is a whole rollout); flags given explicitly override it.  A run folder is never replaced without ``--overwrite``
(the old one is deleted only once the new run has started), and ``--resume`` continues a run with its saved config
and settings (flags given with it must match them; only ``--total-updates`` may grow, and then epsilon decays over
the new total).

Training-time evaluation (:func:`jaxfire.evaluation.held_out`): the agent's greedy plans against ``random``,
``burn_probability`` and ``dpv`` on the first ``--eval-landscapes`` held-out landscapes, ``--eval-ignitions`` fresh
fires each; ``agent_vs_<baseline>`` = 1 - agent / baseline (positive: the agent is better).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import re
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from experiments import common
from jaxfire import checkpoint, figures, fire, parallel, training
from jaxfire.agents import replay as replay_lib
from jaxfire.agents.config import CONFIGS, HELP, RENAMED, AgentConfig, DQNConfig, algorithm_of
from jaxfire.agents.presets import PRESETS

ALGORITHM_FIELDS = {name: {f.name for f in dataclasses.fields(cls)} for name, cls in CONFIGS.items()}
EVAL_PLOTS = 3
METHODS = ("none", "agent", "random", "burn_probability", "dpv")
SETTINGS = [field.name for field in dataclasses.fields(training.RunSettings)]


def _format(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field (also under its former name): the shared fields, then each algorithm's own, with
    each algorithm's default where they differ."""
    former = {new: old for old, new in RENAMED.items()}
    shared = set.intersection(*ALGORITHM_FIELDS.values())
    groups = {"shared": parser.add_argument_group("config of either algorithm (defaults shown; a preset replaces "
                                                  "some of them)")}
    groups.update({name: parser.add_argument_group(f"{name.upper()} config (only with --algo {name})")
                   for name in CONFIGS})
    fields = {}  # name -> {algorithm: field}, in declaration order
    for algorithm, cls in CONFIGS.items():
        for field in dataclasses.fields(cls):
            fields.setdefault(field.name, {})[algorithm] = field
    for name, per_algorithm in fields.items():
        field = next(iter(per_algorithm.values()))
        defaults = {algorithm: _format(f.default) for algorithm, f in per_algorithm.items()}
        default = next(iter(defaults.values())) if len(set(defaults.values())) == 1 else \
            ", ".join(f"{algorithm} {value}" for algorithm, value in defaults.items())
        kwargs = dict(default=argparse.SUPPRESS, dest=name, help=f"{HELP[name]} (default: {default})")
        if isinstance(field.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = common.ints if isinstance(field.default, tuple) else type(field.default)
        names = [_flag(name)] + ([_flag(former[name])] if name in former else [])
        groups["shared" if name in shared else next(iter(per_algorithm))].add_argument(*names, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The command line: run flags, then one flag per config field of either algorithm and per setting.

    Config fields and settings default to ``argparse.SUPPRESS`` so that only explicitly given ones reach the
    namespace (they override the preset, and on ``--resume`` they are checked against the saved run).
    """
    presets = "\n".join(f"  {algorithm} {name}: " + " ".join(f"{_flag(k)} {_format(v)}" for k, v in values.items())
                        for algorithm, named in PRESETS.items() for name, values in named.items())
    parser = argparse.ArgumentParser(prog="python -m experiments.train_dqn", description=__doc__.split("\n\n")[0],
                                     epilog=f"presets:\n{presets}", formatter_class=argparse.RawDescriptionHelpFormatter)
    run = parser.add_argument_group("run")
    run.add_argument("--algo", choices=sorted(CONFIGS), default=None,
                     help="learning algorithm (default: dqn, or the resumed run's)")
    run.add_argument("--preset", choices=sorted(set().union(*PRESETS.values())),
                     help="start from the chosen algorithm's preset of this name")
    run.add_argument("--name", help="run folder name (default: <preset>-<date>-<time>)")
    run.add_argument("--runs-dir", default="runs", help="parent of run folders (default: runs)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue --name from its latest checkpoint with its saved config and settings (flags "
                           "given must match them; --total-updates may grow)")
    mode.add_argument("--overwrite", action="store_true", help="replace an existing run folder of that name")
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    defaults = training.RunSettings()
    for name in SETTINGS:
        run.add_argument(_flag(name), type=int, default=argparse.SUPPRESS,
                         help=f"{training.SETTINGS_HELP[name]} (default: {getattr(defaults, name)})")
    common.add_parallel_args(parser)
    _config_flags(parser)
    return parser


def _given_config(parser, args, algorithm: str) -> dict:
    """The config fields given as flags; a field of another algorithm is an error naming it."""
    given = {name: (tuple(v) if isinstance(v := getattr(args, name), list) else v)
             for name in set().union(*ALGORITHM_FIELDS.values()) if hasattr(args, name)}
    foreign = sorted(set(given) - ALGORITHM_FIELDS[algorithm])
    if foreign:
        owners = {name: "/".join(a for a, names in ALGORITHM_FIELDS.items() if name in names) for name in foreign}
        parser.error(f"--algo {algorithm} does not use " + ", ".join(f"{_flag(name)} (a {owners[name]} setting)"
                                                                      for name in foreign))
    return given


def _resumed(parser, args, run_dir: Path, requested: dict, given_settings: dict):
    """The saved config (``total_updates`` as requested) and settings of the run to resume, after checking that
    the given flags match them."""
    step = checkpoint.latest_step(run_dir)
    if step is None:
        parser.error(f"--resume: no checkpoint in {run_dir}")
    saved, settings = checkpoint.load_config(run_dir), checkpoint.load_settings(run_dir)
    saved_values = {**dataclasses.asdict(saved), **settings}
    differ = [f"{_flag(k)} (saved {_format(saved_values[k])}, given {_format(v)})"
              for k, v in {**requested, **given_settings}.items() if k != "total_updates" and v != saved_values[k]]
    if differ:
        parser.error(f"--resume continues {run_dir} with its saved config; these flags differ: " + "; ".join(differ))
    config = dataclasses.replace(saved, total_updates=requested.get("total_updates", saved.total_updates))
    if step > config.total_updates:
        parser.error(f"--resume: the checkpoint at update {step} is past --total-updates {config.total_updates}")
    try:
        return config.validate(), training.RunSettings(**settings).validate()
    except (TypeError, ValueError) as error:
        parser.error(_with_flags(f"--resume {run_dir}: {error}"))


def _with_flags(message: str) -> str:
    """``message`` with config field and setting names written as their flags (``learning_rate`` ->
    ``--learning-rate``)."""
    for name in sorted(set().union(*ALGORITHM_FIELDS.values())) + SETTINGS:
        message = re.sub(rf"(?<![-\w]){name}(?!\w)", _flag(name), message)
    return message


def _prepare(parser, args) -> tuple[Path, AgentConfig, training.RunSettings]:
    """Resolve and validate the run folder, algorithm, config and settings (nothing on disk is touched)."""
    if args.resume and not args.name:
        parser.error("--resume needs the --name of the run to continue")
    run_dir = Path(args.runs_dir) / (args.name or f"{args.preset or 'custom'}-{time.strftime('%Y%m%d-%H%M%S')}")
    given_settings = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    try:
        algorithm = args.algo or "dqn"
        if args.resume and (run_dir / "config.json").exists():
            saved = checkpoint.algorithm(run_dir)
            if args.algo not in (None, saved):
                parser.error(f"--resume: {run_dir} is a {saved} run, not --algo {args.algo}")
            algorithm = saved
        if args.preset and args.preset not in PRESETS[algorithm]:
            parser.error(f"--preset {args.preset}: {algorithm} has the presets {sorted(PRESETS[algorithm])}")
        preset = PRESETS[algorithm].get(args.preset, {})
        requested = {**{k: v for k, v in preset.items() if k not in SETTINGS}, **_given_config(parser, args, algorithm)}
        if args.resume:
            return (run_dir, *_resumed(parser, args, run_dir, requested, given_settings))
        given_settings = {**{k: v for k, v in preset.items() if k in SETTINGS}, **given_settings}
        if run_dir.exists() and not args.overwrite:
            parser.error(f"run folder {run_dir} already exists; pass --overwrite to replace it "
                         f"(or --resume to continue it)")
        return run_dir, CONFIGS[algorithm](**requested).validate(), training.RunSettings(**given_settings).validate()
    except (TypeError, ValueError, FileNotFoundError) as error:
        parser.error(_with_flags(str(error)))


def _eval_line(table: dict) -> str:
    methods = "  ".join(f"{name} {table[name]:.4f}" for name in METHODS if name in table)
    gains = "  ".join(f"{name} {table[name]:+.1%}" for name in (f"agent_vs_{m}" for m in METHODS[2:])
                      if table.get(name) is not None)
    return f"burned fraction {methods}  ({gains})"


def _print_table(console: Console, table: dict) -> None:
    rows = Table(title="held-out evaluation: expected burned fraction")
    methods = [name for name in METHODS if name in table]
    for column in ("landscape", "budget", *methods):
        rows.add_column(column, justify="right")
    for row in table["per_landscape"]:
        rows.add_row(str(row["landscape"]), str(row["budget_cells"]), *(f"{row[name]:.4f}" for name in methods))
    rows.add_row("mean", "", *(f"{table[name]:.4f}" for name in methods), style="bold")
    console.print(rows)
    console.print(_eval_line(table))


def _plot(run_dir: Path, records: list, details: list, config: AgentConfig) -> None:
    figures.learning_curves(records, run_dir / "plots" / "learning_curves.png", METHODS)
    for detail in details[:EVAL_PLOTS]:
        land, weather, plans = detail["landscape"], detail["weather"], detail["plans"]
        before, after = (np.asarray(fire.burn_probability(land.with_fuel_breaks(jnp.asarray(mask)), weather,
                                                          detail["ignitions"], config.max_minutes, config.neighbours))
                         for mask in (np.zeros(land.shape, bool), plans["agent"]))
        title = (f"held-out landscape {detail['index']}: {int(np.asarray(plans['agent']).sum())} cells, wind "
                 f"{float(weather.wind_speed_kmh):.0f} km/h from {float(weather.wind_from_deg):.0f} deg")
        figures.plans_panel(land, plans, detail["burned"], before, after, title,
                            run_dir / "plots" / f"landscape_{detail['index']}.png")


def _summary(run_dir, result: training.TrainResult, config: AgentConfig, settings, devices, wall_s) -> dict:
    train_s = sum(record.get("chunk_s", 0.0) for record in result.records)
    updates = int(training.local(result.state.update))
    env_steps = updates * result.learner.env_steps_per_update
    gradient_steps = sum(record.get("gradient_steps", 0) for record in result.records)
    summary = {"run_dir": str(run_dir), "algorithm": algorithm_of(config), "updates": updates,
               "env_steps": env_steps, "wall_s": wall_s, "compile_s": result.compile_s, "train_s": train_s,
               "env_steps_per_s": env_steps / train_s if train_s else None,
               "gradient_steps_per_s": gradient_steps / train_s if train_s else None}
    if isinstance(config, DQNConfig):
        cells = config.landscape_side ** 2
        summary.update(bytes_per_transition=replay_lib.bytes_per_transition(cells),
                       replay_bytes=replay_lib.bytes_per_transition(cells) * config.num_envs * config.buffer_per_env)
    return {**summary, "evaluation": result.evaluation[0], "config": dataclasses.asdict(config),
            **dataclasses.asdict(settings), "devices": devices}


def main(argv=None) -> dict:
    """Train (or resume) a run and return its summary (also written to ``summary.json``); exits with an error
    (status 1) when training stops on a non-finite loss or parameters."""
    try:
        return _train(argv)
    except training.NonFiniteError as error:
        raise SystemExit(f"error: {error}") from error


def _train(argv=None) -> dict:
    """:func:`main` without the error exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run_dir, config, settings = _prepare(parser, args)
    try:
        devices = common.setup_parallel(args)
        mesh = parallel.data_mesh()
        for name, count in (("num_envs", config.num_envs), ("the gradient batch", config.batch_size)):
            if count % mesh.devices.size:
                raise ValueError(f"{name} ({count}) must be divisible by the {mesh.devices.size} devices")
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    owner, start = devices["process_index"] == 0, time.perf_counter()
    console = Console(quiet=not owner)
    folder = common.replacing(run_dir, args.overwrite) if owner and not args.resume else contextlib.nullcontext()
    stats = TextColumn("{task.fields[stats]}")
    with folder as started, Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), stats,
                                     TimeElapsedColumn(), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("train", total=config.total_updates, stats="compiling")

        def report(record: dict) -> None:
            if started:
                started()
            if "eval" in record:
                progress.console.print(f"eval @ {record['update']}: {_eval_line(record['eval'])}")
            if "loss" in record:
                loss = "-" if record["loss"] is None else f"{record['loss']:.4f}"
                ret = "-" if record["episode_return"] is None else f"{record['episode_return']:.2f}"
                progress.update(task, completed=record["update"], stats=f"{record['steps_per_s']:,.0f} steps/s  "
                                f"{record['gradient_steps'] / record['chunk_s']:,.1f} grad steps/s  return {ret}  "
                                f"loss {loss}  eps {record['epsilon']:.2f}")

        result = training.train(config, run_dir, settings=settings, resume=args.resume, progress_fn=report,
                                mesh=mesh, owner=owner)
    summary = _summary(run_dir, result, config, settings, devices, time.perf_counter() - start)
    if owner:
        (run_dir / "summary.json").write_text(common.json_dumps(summary))
        if not args.no_plots:
            _plot(run_dir, result.records, result.evaluation[1], config)
        _print_table(console, result.evaluation[0])
    return summary


if __name__ == "__main__":
    main()
