"""Throughput suite: spread simulations, environment steps and DQN training on the devices at hand (CPU or GPU),
against the seed-style NumPy baseline.

Run ``python -m experiments.throughput`` on each machine, then ``--compare cpu.json gpu.json`` to merge the runs;
``make bench`` runs the spread sections only (``--sections grid,baseline``).

Sections (``--sections``; the code is in :mod:`experiments.bench`):

1. ``grid``: the spread engine, :func:`jaxfire.fire.solve_many` jitted on one synthetic ``n x n`` landscape
   (``--grids``) for each batch of fires (``--batches``): simulations/s, cells/s, and the cost-growth exponent
   (median time ~ cells^exponent, fitted per batch over the grids); combinations estimated to take longer than
   ``--max-seconds`` are skipped with a note.
2. ``env``: ``jit(vmap(env.step))`` of :class:`jaxfire.env.FuelBreakEnv` on ``--num-envs`` environments.
3. ``train``: env steps/s and gradient steps/s inside the jitted training loop of each of ``--train-algos`` (DQN: a
   ``lax.scan`` chunk of ``--train-chunk`` updates; PQN: ``--pqn-chunk`` updates of ``--pqn-envs`` x
   ``--pqn-rollout-steps`` env steps and ``--pqn-epochs`` x ``--pqn-minibatches`` gradient steps each).
4. ``scaling``: the sharded burn probability and training chunk in one subprocess per device count
   (``--scaling``; ``--cpu-devices k`` on a CPU), speed-up vs 1 device.
5. ``baseline``: the seed-style NumPy baseline (one fire at a time: serial, thread pool, process pool) against one
   JAX batch on the same ``--baseline-fires`` fires, arrival times checked equal first.
6. ``pyretechnics``: the real simulator (pyretechnics, one core, in its own environment: ``make reference-env``)
   on the same landscapes and the first ``--pyre-fires`` of the same fires, one subprocess per grid: ms per
   simulation, jaxfire's sims/s, their ratio and the burned-cell agreement; skipped with a note when there is no
   reference environment (``--pyretechnics PYTHON``).
7. ``solvers``: the Jacobi solver against the ordered sweeps on the same fires, side by side per grid
   (``--solver-grids``), with their ratio (:mod:`experiments.bench.solvers`).

Every time is the median of ``--repeats`` calls after a first (compiling) call; ``CPU busy`` = process CPU time /
wall / ``os.cpu_count()`` (1.0 = every core busy), ``machine busy`` the same for the whole machine.

Writes ``--out`` (default ``results/throughput-<platform>``; never replaces an existing folder without
``--overwrite``): ``throughput.json`` (every row, the flat list of ``measurements`` and the machine),
``throughput.md`` (the printed tables) and ``throughput.png``.  ``--compare A.json B.json ...`` merges earlier runs
instead (each value and its ratio to the first file; default ``--out results/throughput-compare``).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from experiments import common
from experiments.bench import compare, measure, pyre_column, report, scaling, solvers

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("grid", "env", "train", "scaling", "baseline", "pyretechnics", "solvers")
FULL = dict(grids="32,64,128,256,512", batches="64,256,1024", repeats=3, num_envs=64, env_grid=50,
            train_grid=24, train_envs=16, train_chunk=10, pqn_envs=128, pqn_chunk=3, scaling_grid=64, scaling_fires=256, baseline_grids="50,100",
            baseline_fires=32)
QUICK = dict(grids="32,64", batches="64,256", repeats=2, num_envs=16, env_grid=32, train_grid=16, train_envs=8,
             train_chunk=6, pqn_envs=16, pqn_chunk=2, scaling_grid=32, scaling_fires=64, baseline_grids="50", baseline_fires=8)
# Smallest accepted value of each size (a list: of each of its entries).
MINIMUM = dict(repeats=1, grids=4, batches=1, num_envs=1, env_grid=4, env_landscapes=1, env_scenarios=1,
               env_ignitions=1, train_chunk=1, pqn_envs=1, pqn_chunk=1,
               pqn_rollout_steps=1, pqn_minibatches=1, pqn_epochs=1, scaling=1, scaling_grid=4, scaling_fires=1, baseline_grids=4,
               baseline_fires=1, pyre_fires=1)


def _preset(name: str) -> str:
    """Help text of a size that the presets fill in."""
    return f"default {FULL[name]}; --quick: {QUICK[name]}"


def _add_env_and_training_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("environment steps")
    g.add_argument("--num-envs", type=int, default=None, help=f"vmapped environments ({_preset('num_envs')})")
    g.add_argument("--env-grid", type=int, default=None, help=f"landscape side ({_preset('env_grid')})")
    g.add_argument("--env-landscapes", type=int, default=4, help="landscapes in the pool (default %(default)s)")
    g.add_argument("--env-scenarios", type=int, default=4, help="scenarios per landscape (default %(default)s)")
    g.add_argument("--env-ignitions", type=int, default=32, help="fires burned per step (default %(default)s)")

    g = p.add_argument_group("training (small DQN and PQN configs)")
    g.add_argument("--train-algos", type=common.words, default=["dqn", "pqn"],
                   help="algorithms measured, comma-separated (default dqn,pqn)")
    g.add_argument("--train-grid", type=int, default=None, help=f"landscape side ({_preset('train_grid')})")
    g.add_argument("--train-envs", type=int, default=None,
                   help=f"environments; divisible by every --scaling count ({_preset('train_envs')})")
    g.add_argument("--train-chunk", type=int, default=None,
                   help=f"updates per timed scan chunk ({_preset('train_chunk')})")
    g.add_argument("--train-batch", type=int, default=16, help="gradient batch size (default %(default)s)")
    g.add_argument("--train-features", type=common.ints, default="16,16,16",
                   help="Q-network conv widths; dilations 1, 2, 4, ... (default %(default)s)")
    g.add_argument("--train-landscapes", type=int, default=4,
                   help="landscapes in the pool, half of them held out (default %(default)s)")
    g.add_argument("--train-ignitions", type=int, default=8, help="fires per evaluation (default %(default)s)")
    g.add_argument("--pqn-envs", type=int, default=None, help=f"PQN environments ({_preset('pqn_envs')})")
    g.add_argument("--pqn-chunk", type=int, default=None, help=f"PQN updates per timed chunk ({_preset('pqn_chunk')})")
    g.add_argument("--pqn-rollout-steps", type=int, default=8, help="PQN steps per rollout (default %(default)s)")
    g.add_argument("--pqn-minibatches", type=int, default=8, help="PQN minibatches per epoch (default %(default)s)")
    g.add_argument("--pqn-epochs", type=int, default=1, help="PQN epochs per rollout (default %(default)s)")


def _add_pyretechnics_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pyretechnics, the real simulator (section pyretechnics)")
    g.add_argument("--pyretechnics", metavar="PYTHON", default=None,
                   help="interpreter of an environment with pyretechnics (default "
                        f"{pyre_column.DEFAULT_NAME} from `make reference-env` when it exists; "
                        "without one the section is skipped with a note)")
    g.add_argument("--pyre-fires", type=int, default=None,
                   help="fires per grid, the first of the spread section's (default 4 up to 128x128, 2 at 256x256, "
                        "1 above)")


def _add_scaling_and_baseline_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scaling with device count")
    g.add_argument("--scaling", type=common.ints, default=None,
                   help="device counts, each run in a subprocess (default 1,2 on CPU; on GPU 1 and the GPU count "
                        "when > 1); empty string: none")
    g.add_argument("--scaling-grid", type=int, default=None,
                   help=f"burn-probability landscape side ({_preset('scaling_grid')})")
    g.add_argument("--scaling-fires", type=int, default=None,
                   help=f"burn-probability fires ({_preset('scaling_fires')})")

    g = p.add_argument_group("seed-style NumPy baseline")
    g.add_argument("--baseline-grids", type=common.ints, default=None,
                   help=f"grid sides, empty: none ({_preset('baseline_grids')})")
    g.add_argument("--baseline-fires", type=int, default=None, help=f"fires per method ({_preset('baseline_fires')})")
    g.add_argument("--no-process-pool", action="store_true", help="skip the ProcessPoolExecutor baseline")


def build_parser() -> argparse.ArgumentParser:
    """The command line; sizes left unset (``None``) take the full or ``--quick`` defaults in :func:`resolve`."""
    p = argparse.ArgumentParser(prog="python -m experiments.throughput", description=__doc__.split("\n\n")[0],
                                epilog="Sizes left unset take the full defaults, or the --quick ones with --quick.")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default results/throughput-<platform>, or results/throughput-compare "
                        "with --compare)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out (default: refuse)")
    p.add_argument("--compare", nargs="+", metavar="JSON", default=None,
                   help="merge throughput.json files of earlier runs (first = reference) into one table and plot; "
                        "no measurement runs")
    p.add_argument("--quick", action="store_true", help="small fast configuration for CI and tests")
    p.add_argument("--sections", type=common.words, default=list(SECTIONS),
                   help=f"comma-separated measurements to run (default {','.join(SECTIONS)})")
    p.add_argument("--repeats", type=int, default=None, help=f"timed calls after the first ({_preset('repeats')})")
    p.add_argument("--seed", type=int, default=0, help="landscape and ignition seed (default %(default)s)")
    p.add_argument("--max-seconds", type=float, default=90.0,
                   help="skip a grid x batch combination whose estimated time (repeats + 1 calls, compilation "
                        "excluded) exceeds this (default %(default)s)")
    g = p.add_argument_group("spread engine and fire settings")
    g.add_argument("--grids", type=common.ints, default=None, help=f"square grid sides ({_preset('grids')})")
    g.add_argument("--batches", type=common.ints, default=None, help=f"fires per batch ({_preset('batches')})")
    common.add_fire_args(g)
    _add_pyretechnics_args(p)
    _add_env_and_training_args(p)
    _add_scaling_and_baseline_args(p)
    solvers.add_args(p)
    common.add_parallel_args(p)
    p.add_argument("--worker", metavar="SPEC", default=None,
                   help="internal: one scaling subprocess (see experiments.bench.scaling)")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill unset sizes from the full or quick defaults and validate every argument (``ValueError``)."""
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("grids", "batches", "baseline_grids"):  # the presets give them as text
        setattr(args, name, common.ints(getattr(args, name)))
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown --sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    for name, minimum in MINIMUM.items():
        value = getattr(args, name)
        for entry in value if isinstance(value, list) else [value]:
            if entry is not None and entry < minimum:  # None: --scaling's default, chosen once devices are known
                raise ValueError(f"--{name.replace('_', '-')} must be >= {minimum}, got {entry}")
    unknown = set(args.train_algos) - {"dqn", "pqn"}
    if unknown:
        raise ValueError(f"unknown --train-algos {sorted(unknown)}; choose from dqn, pqn")
    _resolve_pyretechnics(args)
    if {"train", "scaling"} & set(args.sections):
        measure.train_config(args).validate()
    if "train" in args.sections and "pqn" in args.train_algos:
        measure.train_config(args, "pqn").validate()
    solvers.resolve(args)
    common.validate_parallel_args(args)
    return args


def _resolve_pyretechnics(args: argparse.Namespace) -> None:
    """``args.pyretechnics``: the given interpreter (``ValueError`` when it does not exist), else the reference
    environment's when it exists, else ``None`` (the section notes the skip)."""
    if "pyretechnics" in args.sections and "grid" not in args.sections:
        raise ValueError("--sections pyretechnics needs grid (it compares with the spread engine's sims/s)")
    if args.pyretechnics is None:
        args.pyretechnics = str(pyre_column.DEFAULT_PYTHON) if pyre_column.DEFAULT_PYTHON.exists() else None
    elif not Path(args.pyretechnics).is_file():
        raise ValueError(f"--pyretechnics {args.pyretechnics}: no such interpreter (`make reference-env` builds "
                         f"{pyre_column.DEFAULT_NAME})")


def run_sections(args: argparse.Namespace, parallel_info: dict) -> dict:
    """Measure every section of ``args.sections``; returns the results written to ``throughput.json``."""
    notes = []
    results = {"machine": common.machine_description(), "parallel": parallel_info, "args": vars(args),
               "notes": notes}
    print(f"machine: {common.describe_machine_line(results['machine'])}\ndevices: {parallel_info}", flush=True)
    start = time.perf_counter()
    if "grid" in args.sections:
        results["spread"], results["spread_grid"] = measure.spread_engine(args, notes)
        results["spread_cost_exponents"] = report.cost_exponents(results["spread"])
    if "pyretechnics" in args.sections:
        results["pyretechnics"] = pyre_column.column(args, results["spread"], notes)
    if "env" in args.sections:
        results["env"] = measure.env_steps(args)
    if "train" in args.sections:  # "train": the DQN row (the name earlier runs used), "train_pqn": PQN's
        for algorithm in args.train_algos:
            envs = args.pqn_envs if algorithm == "pqn" else args.train_envs
            results["train" if algorithm == "dqn" else "train_pqn"] = measure.training(
                args, measure.training_mesh(envs, notes), algorithm)
    if "scaling" in args.sections:
        if parallel_info["process_count"] > 1:
            notes.append("scaling subprocesses skipped in a multi-process run")
        elif not args.scaling:
            notes.append("no scaling measured (--scaling empty or a single accelerator)")
        else:
            results["scaling"] = scaling.scaling(args, parallel_info, notes)
    if "baseline" in args.sections:
        grids = [measure.baseline_grid(n, args) for n in args.baseline_grids]
        results["baseline"] = [row for rows, _ in grids for row in rows]
        results["baseline_summary"] = [summary for _, summary in grids]
    if "solvers" in args.sections:
        results["solvers"] = solvers.compare(args, notes)
    results["total_s"] = time.perf_counter() - start
    results["measurements"] = report.measurements(results)
    return results


def write(results: dict, md: str, out: Path) -> None:
    """``throughput.json`` (``results``), ``throughput.md`` (``md``) and, when the run measured spread or the
    baseline, ``throughput.png`` in a new folder ``out``."""
    out.mkdir(parents=True)
    (out / "throughput.json").write_text(common.json_dumps(results))
    (out / "throughput.md").write_text(md)
    plotted = report.plot(results, out / "throughput.png")
    names = "throughput.json, throughput.md" + (", throughput.png" if plotted else "")
    print(f"wrote {out}/{names} ({results['total_s']:.0f} s)", flush=True)


def main(argv=None) -> dict:
    """Run the suite (or ``--compare``, or a ``--worker``); returns what ``throughput.json`` holds.

    Every argument is validated before anything touches the disk; an existing ``--out`` is refused
    (``FileExistsError``) before any measurement unless ``--overwrite``, and a failed run leaves no partial folder.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker:
        common.setup_parallel(args)
        return scaling.run_worker(args.worker)
    try:
        runs = compare.load(args.compare) if args.compare else None
        if runs is None:
            resolve(args)
    except ValueError as error:
        parser.error(str(error))
    if runs is not None:
        out = Path(args.out or ROOT / "results" / "throughput-compare")
        with common.replacing(out, args.overwrite):
            out.mkdir(parents=True)
            return compare.write(runs, args.compare, out)
    parallel_info = common.setup_parallel(args)
    if args.scaling is None:
        args.scaling = scaling.default_counts(parallel_info)
    out = Path(args.out or ROOT / "results" / f"throughput-{parallel_info['platform']}")
    writer = parallel_info["process_index"] == 0
    with common.replacing(out, args.overwrite) if writer else contextlib.nullcontext():
        results = run_sections(args, parallel_info)
        md = report.markdown(results)
        print("\n" + md, flush=True)
        if writer:
            write(results, md, out)
    return {**results, "out": str(out)}


if __name__ == "__main__":
    try:
        main()
    except FileExistsError as error:
        sys.exit(f"error: {error}")
