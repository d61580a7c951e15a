"""Train the DQN fuel-break agent in jitted chunks, with checkpoints, held-out evaluation and figures.

The agent is :mod:`jaxfire.agents.dqn`.  ``python -m experiments.train_dqn --preset quick`` (CPU, minutes) or
``--preset full`` (GPU scale); every :class:`~jaxfire.agents.dqn.DQNConfig` field is a flag (``--help``), and flags
given explicitly override the preset.

Units: an *update* is one step of each of ``num_envs`` environments plus its gradient step(s), so env steps =
updates x ``num_envs``; burned fractions are fractions of a landscape's cells, averaged over ignitions; times in
seconds (wall clock).

Run folder ``<runs-dir>/<name>/`` (never replaced without ``--overwrite``):

* ``config.json``: the DQNConfig plus the run settings (``--seed``, ``--chunk``, checkpoint and evaluation
  cadence and size; :mod:`jaxfire.agents.checkpoint`).
* ``checkpoints/``: the whole runner state every ``--checkpoint-every`` updates and at the end (last 3 kept);
  a killed run loses only the updates since its last checkpoint.
* ``metrics.jsonl``: one object per chunk: ``update``, ``env_steps``, ``wall_s`` (since this invocation
  started), ``chunk_s`` (training time of the chunk, compilation excluded), ``steps_per_s`` (env steps/s), chunk
  means of the learner's metrics (``loss`` over the updates that learned, ``None`` before learning starts;
  ``episode_return`` and ``final_burned_fraction`` weighted by the ``episodes`` that ended in the chunk) and,
  every ``--eval-every`` updates and at the end, ``eval`` (see below).  A run with demonstrations starts with a
  record of update 0 holding only ``eval`` (the agent after pre-training) and its times.
* ``summary.json``: final evaluation table, replay bytes per transition, wall time, env steps/s.
* ``plots/``: ``learning_curves.png`` and ``landscape_<i>.png`` (fuel, placements, burn probability before and
  after the agent's treatment) for the first three held-out landscapes; ``tensorboard/`` if ``tensorboardX`` or
  ``torch`` is installed.

Chunks: ``--chunk`` updates run as one jitted ``lax.scan`` of the learner's update (a shorter last chunk gets its
own compiled function) that also reduces the metrics to chunk means (the loss over the updates that learned).  Chunks always end on multiples of ``--chunk`` or at
``total_updates``, so ``--resume`` (from the latest checkpoint, with the saved config and settings; flags given
with it must match them) reproduces an uninterrupted run bit for bit on CPU.  Only ``--total-updates`` may change
on a resume; the epsilon schedule decays over ``epsilon_fraction x total_updates``, so extending a run changes
epsilon from then on unless it is constant.

Evaluation, on the first ``--eval-landscapes`` held-out landscapes (``learner.test_params``): weather = the first
scenario of the landscape's bank; budget = its ``budget_cells``; ``--eval-ignitions`` ignitions drawn uniformly
over burnable cells from the run seed (the same at every evaluation).  Expected burned fraction of: no treatment,
the agent's greedy placements and the baselines ``random``, ``burn_probability`` and ``dpv`` (the best heuristic
that runs in seconds; :mod:`jaxfire.baselines`), each planning with its own ignition sample, independent of the
evaluation fires.  ``agent_vs_<baseline>`` = 1 - agent / baseline: the share of the baseline's burned area the
agent avoids (positive: the agent is better).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import json
import shutil
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from experiments import common
from jaxfire.agents import checkpoint
from jaxfire.agents.config import DQNConfig

PRESETS = {
    # CPU: 32x32 landscapes (8 held out), ~7.5 minutes on 2 cores including compilation and evaluation; DPV
    # demonstrations and pre-training, kept in the replay for the whole run.
    "quick": dict(grid=32, num_landscapes=32, ignitions=8, scenarios_per_landscape=4, num_envs=8,
                  total_updates=1500, buffer_per_env=2048, batch_size=32, features=(16, 16, 16, 16), learning_starts=32,
                  learning_rate=1e-3, epsilon_start=0.5, demo_baseline="dpv", demo_steps=128, pretrain_steps=300),
    # GPU: 50x50 landscapes, 10^6 replay transitions in all.
    "full": dict(grid=50, num_landscapes=128, ignitions=32, scenarios_per_landscape=16, num_envs=64,
                 total_updates=20000, buffer_per_env=15625, batch_size=128, epsilon_start=0.5, demo_baseline="dpv",
                 demo_steps=256, pretrain_steps=2000),
}

HELP = {
    "grid": "landscape side, cells (square landscapes)",
    "num_landscapes": "synthetic landscapes in the pool (train + held-out test)",
    "test_fraction": "fraction of the pool held out for evaluation",
    "landscape_seed": "seed of the landscape pool, its train/test split and the scenario banks",
    "budget": "fuel-break cells per episode, fraction of the landscape's burnable cells",
    "ignitions": "ignitions per scenario, all burned after every step",
    "scenarios_per_landscape": "weather + ignition-set scenarios drawn per landscape",
    "max_minutes": "fire duration cap, minutes",
    "wind_kmh_low": "lowest 10-m wind speed of the scenarios, km/h",
    "wind_kmh_high": "highest 10-m wind speed of the scenarios, km/h",
    "neighbours": "fire-spread stencil size: 8, 16 or 32",
    "planning_ignitions": "fires behind the planning channels (burn probability, DPV) of the observation; 0: none",
    "features": "channels of each dilated 3x3 convolution, comma-separated",
    "dilations": "dilation of each convolution, comma-separated (as many as --features)",
    "dueling": "dueling head: grid value + mean-centred per-cell advantages",
    "double": "double DQN: the online network picks the bootstrap action, the target network rates it",
    "num_envs": "parallel environments (env steps per update)",
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
    "demo_baseline": "baseline whose plans prefill the replay as demonstrations (random, burn_probability, "
                     "domirank, dpv, greedy; empty: none)",
    "demo_steps": "demonstration steps per environment put in the replay before training",
    "pretrain_steps": "gradient steps on the demonstrations before training",
    "demo_weight": "weight of the imitation (cross-entropy) loss on demonstration transitions (0: TD loss only)",
}
SETTINGS = {  # run settings recorded in config.json beside the DQNConfig: name: (default, help)
    "seed": (0, "seed of the network, exploration and evaluation ignitions"),
    "chunk": (100, "updates per jitted chunk (metrics, checkpoints and evaluations fall between chunks)"),
    "checkpoint_every": (500, "updates between checkpoints"),
    "eval_every": (500, "updates between evaluations"),
    "eval_ignitions": (64, "ignitions per held-out landscape"),
    "eval_landscapes": (8, "held-out landscapes evaluated"),
}
EVAL_PLOTS = 3
BASELINE_METHODS = ("random", "burn_probability", "dpv")
METHODS = ("none", "agent", *BASELINE_METHODS)


def _format(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    """The command line: run flags, then one flag per DQNConfig field and per recorded setting.

    Config fields and settings default to ``argparse.SUPPRESS`` so that only explicitly given ones reach the
    namespace (they override the preset, and on ``--resume`` they are checked against the saved run).
    """
    presets = "\n".join(f"  {name}: " + " ".join(f"--{k.replace('_', '-')} {_format(v)}" for k, v in values.items())
                        for name, values in PRESETS.items())
    parser = argparse.ArgumentParser(prog="python -m experiments.train_dqn", description=__doc__.split("\n\n")[0],
                                     epilog=f"presets:\n{presets}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    run = parser.add_argument_group("run")
    run.add_argument("--preset", choices=sorted(PRESETS), help="start from these settings (see below)")
    run.add_argument("--name", help="run folder name (default: <preset>-<date>-<time>)")
    run.add_argument("--runs-dir", default="runs", help="parent of run folders (default: runs)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue --name from its latest checkpoint with its saved config and settings (flags "
                           "given must match them; --total-updates may grow)")
    mode.add_argument("--overwrite", action="store_true", help="delete an existing run folder of that name first")
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    for name, (default, text) in SETTINGS.items():
        run.add_argument(f"--{name.replace('_', '-')}", type=int, default=argparse.SUPPRESS,
                         help=f"{text} (default: {default})")
    common.add_parallel_args(parser)
    agent = parser.add_argument_group("DQN config (defaults shown; a preset replaces some of them)")
    for field in dataclasses.fields(DQNConfig):
        kwargs = dict(default=argparse.SUPPRESS, help=f"{HELP[field.name]} (default: {_format(field.default)})")
        if isinstance(field.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = _ints if isinstance(field.default, tuple) else type(field.default)
        agent.add_argument(f"--{field.name.replace('_', '-')}", **kwargs)
    return parser


def _prepare(parser, args, owner: bool = True) -> tuple[Path, DQNConfig, dict]:
    """Resolve the run folder, config and settings; refuse to clobber or to resume inconsistently.

    Only the ``owner`` (process 0 of a multi-process run) checks, clears and writes the folder."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(DQNConfig) if hasattr(args, f.name)}
    requested = {**PRESETS.get(args.preset, {}), **given}
    given_settings = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    if args.resume and not args.name:
        parser.error("--resume needs the --name of the run to continue")
    run_dir = Path(args.runs_dir) / (args.name or f"{args.preset or 'custom'}-{time.strftime('%Y%m%d-%H%M%S')}")
    if not args.resume:
        try:
            config = DQNConfig(**requested).validate()
        except ValueError as error:
            parser.error(str(error))
        if owner and run_dir.exists():
            if not args.overwrite:
                parser.error(f"run folder {run_dir} already exists; pass --overwrite to replace it "
                             f"(or --resume to continue it)")
            shutil.rmtree(run_dir)
        return run_dir, config, {**{k: v for k, (v, _) in SETTINGS.items()}, **given_settings}
    step = checkpoint.latest_step(run_dir)
    if step is None:
        parser.error(f"--resume: no checkpoint in {run_dir}")
    saved, settings = checkpoint.load_config(run_dir), checkpoint.load_settings(run_dir)
    saved_values = {**dataclasses.asdict(saved), **settings}
    differ = [f"--{k.replace('_', '-')} (saved {_format(saved_values[k])}, given {_format(v)})"
              for k, v in {**requested, **given_settings}.items() if k != "total_updates" and v != saved_values[k]]
    if differ:
        parser.error(f"--resume continues {run_dir} with its saved config; these flags differ: " + "; ".join(differ))
    config = dataclasses.replace(saved, total_updates=requested.get("total_updates", saved.total_updates))
    if step > config.total_updates:
        parser.error(f"--resume: the checkpoint at update {step} is past --total-updates {config.total_updates}")
    return run_dir, config, settings


def _local(tree):
    """This process's copy of replicated (or single-process) arrays."""
    return jax.tree.map(lambda x: x.addressable_data(0), tree)


def _summarize(state, metrics):
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


def evaluate(learner: dqn.Learner, params, key, num_ignitions: int, num_landscapes: int):
    """Held-out evaluation (see the module docstring): ``(table, details)``.

    ``table``: mean expected burned fraction per method (``METHODS``), the
    agent's relative improvements and ``per_landscape`` rows; ``details``: per landscape the landscape,
    weather, ignitions and each method's ``bool[H, W]`` plan (for the figures).
    """
    from jaxfire import baselines, fire
    from jaxfire.agents import dqn
    from jaxfire.env import draw_ignitions
    from jaxfire.landscape import pool as pools

    config, test = learner.config, learner.test_params
    methods = {"agent": dqn.PlacementPolicy(params, learner.network, config),
               **{name: baselines.BASELINES[name] for name in BASELINE_METHODS}}
    options = dict(num_ignitions=num_ignitions, max_minutes=config.max_minutes, neighbours=config.neighbours)
    rows, details = [], []
    for i in range(min(num_landscapes, pools.size(test.pool))):
        landscape, budget = pools.take(test.pool, i), int(test.budget_cells[i])
        weather = jax.tree.map(lambda x: x[i, 0], test.scenarios.weather)
        ignition_key, method_key = jax.random.split(jax.random.fold_in(key, i))
        ignitions = draw_ignitions(ignition_key, landscape.burnable, num_ignitions)
        plans = {name: method(method_key, landscape, weather, budget, **({} if name == "agent" else options))
                 for name, method in methods.items()}
        burned = {name: float(fire.expected_burned_fraction(landscape.with_fuel_breaks(plan), weather, ignitions,
                                                            config.max_minutes, config.neighbours))
                  for name, plan in {"none": jnp.zeros(landscape.shape, bool), **plans}.items()}
        rows.append({"landscape": i, "budget_cells": budget, **burned})
        details.append(dict(index=i, landscape=landscape, weather=weather, ignitions=ignitions, plans=plans,
                            burned=burned))
    table = {name: float(np.mean([row[name] for row in rows])) for name in ("none", *methods)}
    for name in BASELINE_METHODS:
        if name in table:
            table[f"agent_vs_{name}"] = 1.0 - table["agent"] / table[name] if table[name] > 0 else None
    return {**table, "per_landscape": rows}, details


def _read_metrics(run_dir: Path, up_to: int, owner: bool = True) -> list[dict]:
    """The chunk records of ``metrics.jsonl`` up to update ``up_to``, the file cut back to them (by the ``owner``)."""
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    records = [record for record in map(json.loads, lines) if record["update"] <= up_to]
    if owner:
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return records


def _tensorboard(log_dir: Path):
    """A ``SummaryWriter`` when tensorboardX or torch is installed, else ``None``."""
    for module in ("tensorboardX", "torch.utils.tensorboard"):
        try:
            return importlib.import_module(module).SummaryWriter(str(log_dir))
        except ImportError:
            continue
    return None


def _due(update: int, length: int, every: int, total: int) -> bool:
    """Whether the chunk of ``length`` updates that ended at ``update`` crossed a multiple of ``every`` or the end."""
    return update == total or update // every > (update - length) // every


def _eval_line(table: dict) -> str:
    methods = "  ".join(f"{name} {table[name]:.4f}" for name in METHODS if name in table)
    gains = "  ".join(f"{name} {table[name]:+.1%}" for name in (f"agent_vs_{m}" for m in BASELINE_METHODS)
                      if table.get(name) is not None)
    return f"burned fraction {methods}  ({gains})"


def main(argv=None) -> dict:
    """Train (or resume) a run and return its summary (also written to ``summary.json``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    owner = (args.process_id or 0) == 0   # process 0 writes the run folder; every process trains and checkpoints
    run_dir, config, settings = _prepare(parser, args, owner)
    try:
        devices = common.setup_parallel(args)  # before jaxfire.agents.dqn, whose gymnax import starts JAX
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    from jaxfire import parallel
    from jaxfire.agents import dqn, replay as replay_lib

    start = time.perf_counter()
    console = Console(quiet=not owner)
    mesh = parallel.data_mesh()
    learner = dqn.build(config, batch_sharding=parallel.batch_sharding(mesh))
    train_key, eval_key = jax.random.split(jax.random.key(settings["seed"]))
    evaluate_params = functools.partial(evaluate, learner, key=eval_key, num_ignitions=settings["eval_ignitions"],
                                        num_landscapes=settings["eval_landscapes"])
    try:  # environments (their states and replay rows) and batches split over every device, the network replicated
        shardings = parallel.state_shardings(jax.eval_shape(learner.init, train_key), mesh, config.num_envs)
    except ValueError as error:
        parser.error(str(error))
    if config.batch_size % mesh.devices.size:
        parser.error(f"batch_size {config.batch_size} must be divisible by the {mesh.devices.size} devices")
    if args.resume:
        records = _read_metrics(run_dir, checkpoint.latest_step(run_dir), owner)
        saved_total = checkpoint.load_config(run_dir).total_updates
        if config.total_updates != saved_total:
            if owner:
                checkpoint.save_config(run_dir, config, **settings)
            if config.epsilon_start != config.epsilon_end:
                console.print(f"[yellow]total_updates {saved_total} -> {config.total_updates}: epsilon now decays over "
                              f"{config.epsilon_fraction} x {config.total_updates} updates")
    else:
        if owner:
            checkpoint.save_config(run_dir, config, **settings)
        checkpoint.save(run_dir, 0, jax.jit(learner.init, out_shardings=shardings)(train_key))
        records = []
    # A fresh run also starts from its checkpoint, so fresh and resumed runs run the same compiled chunks.
    state = checkpoint.restore(run_dir, jax.eval_shape(learner.init, train_key), shardings=shardings)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    if not args.resume and config.demo_steps:  # the agent as demonstrations and pre-training left it
        tic = time.perf_counter()
        table, _ = evaluate_params(_local(state.params))
        records.append({"update": 0, "env_steps": 0, "eval": {k: v for k, v in table.items() if k != "per_landscape"},
                        "eval_s": time.perf_counter() - tic, "wall_s": time.perf_counter() - start})
        console.print(f"eval @ 0 (after pre-training): {_eval_line(table)}")
        if owner:
            (run_dir / "metrics.jsonl").write_text(json.dumps(records[0]) + "\n")
    writer = _tensorboard(run_dir / "tensorboard") if owner else None
    E, total, update = config.num_envs, config.total_updates, int(_local(state.update))
    compiled, compile_s, final = {}, 0.0, None
    stats = TextColumn("{task.fields[stats]}")
    with Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), stats, TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("train", total=total, completed=update, stats="compiling")
        while update < total:
            length = min(settings["chunk"] - update % settings["chunk"], total - update)
            if length not in compiled:
                tic = time.perf_counter()
                chunk = jax.jit(lambda s, n=length: _summarize(*jax.lax.scan(learner.update, s, None, n)),
                                in_shardings=(shardings,), out_shardings=(shardings, replicated), donate_argnums=0)
                compiled[length] = chunk.lower(state).compile()
                compile_s += time.perf_counter() - tic
            tic = time.perf_counter()
            state, summary = compiled[length](state)
            record = _record(_local(summary))
            seconds = time.perf_counter() - tic
            update += length
            record = {"update": update, "env_steps": update * E, "chunk_s": seconds,
                      "steps_per_s": length * E / seconds, **record}
            if _due(update, length, settings["eval_every"], total):
                tic = time.perf_counter()
                table, details = evaluate_params(_local(state.params))
                record["eval"] = {k: v for k, v in table.items() if k != "per_landscape"}
                record["eval_s"] = time.perf_counter() - tic
                final = (table, details)
                progress.console.print(f"eval @ {update}: {_eval_line(table)}")
            record["wall_s"] = time.perf_counter() - start
            records.append(record)
            if owner:
                with open(run_dir / "metrics.jsonl", "a") as file:
                    file.write(json.dumps(record) + "\n")
            if writer is not None:
                for name, value in {**record, **{f"eval/{k}": v for k, v in record.get("eval", {}).items()}}.items():
                    if isinstance(value, (int, float)):
                        writer.add_scalar(name, value, update)
            if _due(update, length, settings["checkpoint_every"], total):
                checkpoint.save(run_dir, update, state)
            loss = "-" if record["loss"] is None else f"{record['loss']:.4f}"
            ret = "-" if record["episode_return"] is None else f"{record['episode_return']:.2f}"
            progress.update(task, completed=update, stats=f"{record['steps_per_s']:,.0f} steps/s  return {ret}  "
                                                          f"loss {loss}  eps {record['epsilon']:.2f}")
    if writer is not None:
        writer.close()
    if final is None:  # resumed a finished run: evaluate its final parameters
        final = evaluate_params(_local(state.params))
        console.print(f"eval @ {update}: {_eval_line(final[0])}")
    train_s = sum(record.get("chunk_s", 0.0) for record in records)
    summary = {
        "run_dir": str(run_dir), "updates": update, "env_steps": update * E,
        "wall_s": time.perf_counter() - start, "compile_s": compile_s, "train_s": train_s,
        "env_steps_per_s": update * E / train_s if train_s else None,
        "bytes_per_transition": replay_lib.bytes_per_transition(config.grid ** 2),
        "replay_bytes": replay_lib.bytes_per_transition(config.grid ** 2) * E * config.buffer_per_env,
        "evaluation": final[0], "config": dataclasses.asdict(config), **settings, "devices": devices,
    }
    if not owner:
        return summary
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    if not args.no_plots:
        plot_learning_curves(records, run_dir / "plots" / "learning_curves.png")
        for detail in final[1][:EVAL_PLOTS]:
            plot_landscape(detail, config, run_dir / "plots" / f"landscape_{detail['index']}.png")
    _print_table(console, final[0])
    return summary


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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(records: list[dict], path: Path) -> None:
    """Episode return, loss, epsilon and the evaluations' burned fractions against updates."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    for ax, name in zip(axes.flat, ("episode_return", "loss", "epsilon")):
        points = [(r["update"], r[name]) for r in records if r.get(name) is not None]
        if points:
            ax.plot(*zip(*points))
        ax.set_title(name.replace("_", " "))
    axes[0, 1].set_yscale("log")
    evals = [r for r in records if "eval" in r]
    for method in METHODS:
        points = [(r["update"], r["eval"][method]) for r in evals if method in r["eval"]]
        if points:
            axes[1, 1].plot(*zip(*points), marker="o", label=method)
    axes[1, 1].set_title("held-out expected burned fraction")
    axes[1, 1].legend()
    for ax in axes[1]:
        ax.set_xlabel("update")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_landscape(detail: dict, config: DQNConfig, path: Path) -> None:
    """Fuel map, each method's placements, and burn probability before and after the agent's treatment."""
    from jaxfire import fire

    plt = _pyplot()
    landscape, weather, ignitions, plans = detail["landscape"], detail["weather"], detail["ignitions"], detail["plans"]
    burnable = np.asarray(landscape.burnable)
    probability = {label: np.asarray(fire.burn_probability(landscape.with_fuel_breaks(mask), weather, ignitions,
                                                           config.max_minutes, config.neighbours))
                   for label, mask in (("before", jnp.zeros(landscape.shape, bool)), ("after", plans["agent"]))}
    fig, axes = plt.subplots(1, 3 + len(plans), figsize=(3.2 * (3 + len(plans)), 3.8), layout="constrained")
    _, codes = np.unique(np.asarray(landscape.fuel_model), return_inverse=True)
    axes[0].imshow(codes.reshape(burnable.shape), cmap="tab20", interpolation="nearest")
    axes[0].set_title("fuel models")
    for ax, (name, mask) in zip(axes[1:], plans.items()):
        image = np.where(burnable, 0.85, 0.35)[..., None] * np.ones(3)
        image[np.asarray(mask)] = (0.85, 0.1, 0.1)
        ax.imshow(image, interpolation="nearest")
        ax.set_title(f"{name}: {detail['burned'][name]:.3f} burned")
    for ax, (label, values) in zip(axes[-2:], probability.items()):
        shown = ax.imshow(values, cmap="inferno", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"burn probability {label} ({values.mean():.3f})")
    fig.colorbar(shown, ax=axes[-1], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"held-out landscape {detail['index']}: {int(np.asarray(plans['agent']).sum())} cells, "
                 f"wind {float(weather.wind_speed_kmh):.0f} km/h from {float(weather.wind_from_deg):.0f} deg")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
