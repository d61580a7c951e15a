"""Training runs side by side at equal environment steps and equal wall time:
``python -m experiments.bench.learning_curves runs/A runs/B ... --out DIR``.

Reads each run folder's ``config.json`` (its algorithm) and ``metrics.jsonl`` (:mod:`jaxfire.training`: per chunk
``update``, ``env_steps``, ``wall_s`` and, every ``eval_every`` updates, the held-out evaluation ``eval``) and
compares the runs where they are comparable: each run's latest held-out evaluation at or before the smallest final
env-step count of the runs (equal environment steps) and at or before the smallest final wall time (equal wall
time).  Wall time is the run's own (``wall_s``: since its training call started, so setup, demonstrations and
pre-training included); runs meant for comparison should have run on the same idle machine.

Units: burned fractions of the held-out landscapes' cells (the training-time evaluation, mean over its fresh
fires), env steps, seconds.  Writes ``learning_curves.md`` (the tables) and ``learning_curves.png`` (held-out burned
fraction against env steps and against wall time) in ``--out``, never over an existing folder without
``--overwrite``.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from experiments import common
from experiments.bench.report import table
from jaxfire import training
from jaxfire.figures import pyplot


def load_run(path) -> dict:
    """``{"name", "algorithm", "evals": [{"update", "env_steps", "wall_s", "agent", "dpv"}], "env_steps", "wall_s"}``
    of a run folder; ``ValueError`` naming the folder when it has no config, no metrics or no evaluation."""
    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable run folder ({error})") from None
    # the training loop's own reader: a last line cut short by a killed run is dropped, any other bad line named
    records = training.read_metrics(path, math.inf, owner=False)
    evals = [{"update": r["update"], "env_steps": r["env_steps"], "wall_s": r["wall_s"],
              "agent": r["eval"]["agent"], "dpv": r["eval"].get("dpv")} for r in records if "eval" in r]
    if not evals:
        raise ValueError(f"{path}: metrics.jsonl has no held-out evaluation (train with --eval-every)")
    last = records[-1]
    return {"name": path.name, "algorithm": config.get("algorithm", "dqn"), "evals": evals,
            "env_steps": last["env_steps"], "wall_s": last["wall_s"]}


def latest_at(evals: list[dict], key: str, limit: float) -> dict | None:
    """The last evaluation with ``evals[i][key] <= limit`` (evaluations in training order), or ``None``."""
    before = [e for e in evals if e[key] <= limit]
    return before[-1] if before else None


def budgets(runs: list[dict]) -> tuple[int, float]:
    """``(env steps, wall s)`` at which the runs are compared: the smallest final value of each among them."""
    return min(run["env_steps"] for run in runs), min(run["wall_s"] for run in runs)


def comparison(runs: list[dict]) -> list[list]:
    """Rows ``[run, algorithm, final env steps, final wall s, burned at equal env steps (its env steps), burned at
    equal wall (its wall s), burned at the end]`` (:func:`budgets`)."""
    steps, wall = budgets(runs)
    show = lambda e, key: "-" if e is None else f"{e['agent']:.4f} ({e[key]:,.0f})"  # noqa: E731
    return [[run["name"], run["algorithm"], run["env_steps"], round(run["wall_s"]),
             show(latest_at(run["evals"], "env_steps", steps), "env_steps"),
             show(latest_at(run["evals"], "wall_s", wall), "wall_s"), f"{run['evals'][-1]['agent']:.4f}"]
            for run in runs]


def write(out: Path, runs: list[dict]) -> str:
    steps, wall = budgets(runs)
    text = table(["run", "algorithm", "env steps", "wall s", f"held-out burned at <= {steps:,} env steps (at)",
                  f"at <= {wall:,.0f} s wall (at)", "at the end"], comparison(runs))
    curves = "\n\n".join(f"**{run['name']}** ({run['algorithm']}):\n\n" + table(
        ["update", "env steps", "wall s", "held-out burned", "dpv"],
        [[e["update"], e["env_steps"], round(e["wall_s"]), e["agent"], e["dpv"]] for e in run["evals"]])
        for run in runs)
    (out / "learning_curves.md").write_text(f"# Learning curves\n\n{text}\n\n{curves}\n")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for run in runs:
        for ax, key in zip(axes, ("env_steps", "wall_s")):
            ax.plot([e[key] for e in run["evals"]], [e["agent"] for e in run["evals"]], "o-",
                    label=f"{run['name']} ({run['algorithm']})")
    axes[0].set(xlabel="environment steps", ylabel="held-out burned fraction")
    axes[1].set(xlabel="wall time (s)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=120)
    plt.close(fig)
    return text


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders (config.json + metrics.jsonl), two or more")
    p.add_argument("--out", default="results/learning-curves")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    if len(args.runs) < 2:
        p.error("give at least two run folders to compare")
    try:
        runs = [load_run(path) for path in args.runs]
    except ValueError as error:
        raise SystemExit(f"error: {error}")
    with common.replacing(args.out, args.overwrite) as started:
        out = Path(args.out)
        out.mkdir(parents=True)
        started()
        text = write(out, runs)
    print(text)
    return text


if __name__ == "__main__":
    main()
