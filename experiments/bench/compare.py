"""``--compare A.json B.json ...``: earlier runs' ``throughput.json`` files (say a CPU and a GPU machine) merged
into one table of every measurement per machine with its ratio to the first file's value, and one figure.

Units: those of each measurement (``sims/s``, ``steps/s``, ``fraction``, ``exponent``); ratios are plain numbers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from experiments import common
from experiments.bench.report import spread_lines, table
from jaxfire.figures import pyplot

NOT_RATES = ("fraction", "exponent")  # units left out of the ratio plot


def load(paths: list[str]) -> list[dict]:
    """The runs in ``paths``; ``ValueError`` naming a file that is missing, not JSON or without ``measurements``."""
    if len(paths) < 2:
        raise ValueError("--compare needs at least two JSON files")
    runs = []
    for path in paths:
        try:
            run = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"--compare {path}: {error}") from None
        if not isinstance(run, dict) or "measurements" not in run:
            raise ValueError(f"--compare {path}: not a throughput.json (no 'measurements')")
        runs.append(run)
    return runs


def _labels(runs: list[dict], paths: list[str]) -> list[str]:
    """``backend: device`` per run, with the file's folder appended when two runs would share a label."""
    labels = [f"{r.get('machine', {}).get('backend', '?')}: "
              f"{r.get('machine', {}).get('gpu') or r.get('machine', {}).get('processor') or '?'}" for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label} [{Path(p).parent.name or Path(p).stem}]" for label, p in zip(labels, paths)]
    return labels


def merge(runs: list[dict], paths: list[str]) -> tuple[dict, str]:
    """``(merged, markdown)``: every measurement name once, with ``values`` per run and ``ratios_to_first``."""
    labels = _labels(runs, paths)
    values = [{m["name"]: m for m in run["measurements"]} for run in runs]
    rows = []
    for name in dict.fromkeys(name for by_name in values for name in by_name):
        present = [by_name.get(name) for by_name in values]
        numbers = [None if m is None else m["value"] for m in present]
        rows.append({"name": name, "unit": next(m["unit"] for m in present if m is not None), "values": numbers,
                     "ratios_to_first": [None if v is None or not numbers[0] else v / numbers[0] for v in numbers]})
    header = ["measurement", "unit", labels[0]] + [x for label in labels[1:] for x in (label, "ratio")]
    lines = [[r["name"], r["unit"], r["values"][0]]
             + [x for v, q in zip(r["values"][1:], r["ratios_to_first"][1:]) for x in (v, q)] for r in rows]
    md = "\n".join(["# Throughput comparison", "", "Machines (ratio = value / first machine's value):", ""]
                   + [f"- {label}: {common.describe_machine_line(run.get('machine', {}))} ({path})"
                      for label, run, path in zip(labels, runs, paths)]
                   + ["", table(header, lines), ""])
    merged = {"machines": [run.get("machine") for run in runs], "labels": labels,
              "sources": [str(p) for p in paths], "rows": rows}
    return merged, md


def plot(runs: list[dict], merged: dict, path) -> None:
    """Sims/s by grid of every run, and each measurement's ratio to the first run (rates only)."""
    plt = pyplot()
    labels = merged["labels"]
    compared = [r for r in merged["rows"] if all(v is not None for v in r["values"]) and r["unit"] not in NOT_RATES]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, max(5, 0.3 * len(compared) + 1.5)))
    spread_lines(left, [(f"{label}, ", run) for label, run in zip(labels, runs)], "Spread engine")
    height = 0.8 / max(1, len(labels) - 1)
    for j, label in enumerate(labels[1:], 1):
        right.barh(np.arange(len(compared)) + (j - 1) * height, [r["ratios_to_first"][j] for r in compared], height,
                   label=f"{label} / {labels[0]}")
    right.set_yticks(range(len(compared)), [r["name"] for r in compared], fontsize=7)
    right.axvline(1.0, color="k", lw=0.8)
    right.set(xscale="log", xlabel="ratio to first machine", title="Per measurement")
    if compared:
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(runs: list[dict], paths: list[str], out: Path) -> dict:
    """Merge ``runs`` into ``out`` (an existing folder): ``throughput.json``, ``throughput.md``, ``throughput.png``;
    prints and returns the merged table."""
    merged, md = merge(runs, paths)
    print(md)
    (out / "throughput.json").write_text(common.json_dumps(merged))
    (out / "throughput.md").write_text(md)
    plot(runs, merged, out / "throughput.png")
    return merged
