"""What a throughput run reports: the flat measurement list (what ``--compare`` merges), the cost-growth exponent
of the spread engine, the markdown tables and the figure.

Units as measured (:mod:`experiments.bench.measure`): seconds, rates per second, busy fractions of all cores.
"""
from __future__ import annotations

import itertools

import numpy as np

from experiments import common
from experiments.bench import solvers
from jaxfire.figures import pyplot


def table(header: list[str], lines: list[list]) -> str:
    """A markdown table; floats with 4 significant digits, ``None`` as ``-``."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v))  # noqa: E731
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(fmt(v) for v in line) + " |" for line in lines])


def cost_exponent(cells, seconds) -> float | None:
    """Least-squares slope of log(seconds) against log(cells): the time grows as cells^exponent (``None`` with
    fewer than two distinct grid sizes)."""
    if len(set(cells)) < 2:
        return None
    return float(np.polyfit(np.log(cells), np.log(seconds), 1)[0])


def cost_exponents(spread_rows: list[dict], by: tuple[str, ...] = ("batch",)) -> list[dict]:
    """:func:`cost_exponent` of the median batch time against H x W, one per group of spread rows with equal
    ``by`` fields (a batch size; add e.g. ``"solver"`` when rows carry one): ``{**group, "grids", "exponent"}``."""
    key = lambda row: tuple(row[name] for name in by)  # noqa: E731
    fits = []
    for group, rows in itertools.groupby(sorted(spread_rows, key=key), key):
        rows = list(rows)
        exponent = cost_exponent([r["grid"] ** 2 for r in rows], [r["median_s"] for r in rows])
        if exponent is not None:
            fits.append({**dict(zip(by, group)), "grids": [r["grid"] for r in rows], "exponent": exponent})
    return fits


def measurements(results: dict) -> list[dict]:
    """Flat ``{"name", "unit", "value"}`` list of the headline numbers (what ``--compare`` matches by name)."""
    out = []

    def add(name, unit, value):
        if value is not None:
            out.append({"name": name, "unit": unit, "value": float(value)})

    for r in results.get("spread", []):
        add(f"spread {r['grid']}x{r['grid']} batch {r['batch']}", "sims/s", r["sims_per_s"])
    for fit in results.get("spread_cost_exponents", []):
        add(f"spread cost exponent batch {fit['batch']}", "exponent", fit["exponent"])
    for r in results.get("pyretechnics", []):
        add(f"pyretechnics {r['grid']}x{r['grid']}, 1 core", "sims/s", 1.0 / r["seconds_per_sim"])
        add(f"jaxfire / pyretechnics {r['grid']}x{r['grid']}", "ratio", r["speedup"])
        add(f"jaxfire vs pyretechnics burned IoU {r['grid']}x{r['grid']}", "IoU", r["iou_mean_all"])
    if results.get("env"):
        e = results["env"]
        add(f"env.step {e['grid']}x{e['grid']} x{e['num_envs']} envs, {e['ignitions']} fires", "steps/s",
            e["steps_per_s"])
    if results.get("train"):
        t = results["train"]
        add(f"training {t['grid']}x{t['grid']} x{t['num_envs']} envs, {t['devices']} device(s)", "env steps/s",
            t["steps_per_s"])
        add("training CPU busy fraction", "fraction", t["cpu_busy"])
    for t in (results[name] for name in ("train", "train_pqn") if results.get(name)):
        algorithm = t.get("algorithm", "dqn")
        add(f"{algorithm} training gradient steps {t['grid']}x{t['grid']} x{t['num_envs']} envs, {t['devices']} "
            "device(s)", "gradient steps/s", t.get("gradient_steps_per_s"))
    if results.get("train_pqn"):
        t = results["train_pqn"]
        add(f"pqn training {t['grid']}x{t['grid']} x{t['num_envs']} envs, {t['devices']} device(s)", "env steps/s",
            t["steps_per_s"])
        add("pqn training CPU busy fraction", "fraction", t["cpu_busy"])
    for r in results.get("scaling", []):
        b = r["burn_probability"]
        add(f"burn_probability {b['grid']}x{b['grid']}, {b['fires']} fires, {r['devices']} device(s)", "sims/s",
            b["sims_per_s"])
        add(f"sharded training, {r['devices']} device(s)", "env steps/s", r["train"]["steps_per_s"])
        add(f"sharded training CPU busy fraction, {r['devices']} device(s)", "fraction", r["train"]["cpu_busy"])
    solvers.measurements(results.get("solvers", []), add)
    for r in results.get("baseline", []):
        add(f"baseline {r['grid']}x{r['grid']} {r['method'].split(' (')[0]}, {r['fires']} fires", "sims/s",
            r["sims_per_s"])
    return out


def _header(results: dict) -> list[str]:
    info, args = results["machine"], results["args"]
    return [f"# Throughput on {info['backend']} ({info.get('gpu') or info['processor']})", "",
            f"Machine: {common.describe_machine_line(info)}", "",
            f"Devices used: {results['parallel']}. Settings: {args['neighbours']}-neighbour stencil, wind "
            f"{args['wind_kmh']:g} km/h from {args['wind_from_deg']:g} deg, cap {args['max_minutes']:g} min, "
            f"synthetic landscapes (seed {args['seed']}); medians of {args['repeats']} timed calls after a first "
            "(compiling) call; compile s = first call - median. CPU busy = process CPU time / wall / "
            f"{info['cpu_count']} cores (1.0 = all cores busy); machine busy = whole machine incl. other processes.",
            ""]


def _spread(results: dict) -> list[str]:
    exponents = "; ".join(f"batch {f['batch']}: time ~ cells^{f['exponent']:.2f} (grids {f['grids']})"
                          for f in results.get("spread_cost_exponents", []))
    return ["## Spread engine: simulations/s by grid and batch", "",
            "cells/s = fires x H x W / median: the engine exposes no sweep counter, so each cell counts once per "
            "fire, not once per Jacobi sweep.", "",
            table(["grid", "fires", "first call s", "compile s", "median s", "sims/s", "cells/s", "CPU busy",
                   "machine busy", "burned frac"],
                  [[f"{r['grid']}x{r['grid']}", r["batch"], r["first_call_s"], r["compile_s"], r["median_s"],
                    r["sims_per_s"], r["cells_per_s"], r["cpu_busy"], r["system_busy"], r["burned_fraction"]]
                   for r in results["spread"]]), "",
            f"Cost growth (least-squares fit of log median time vs log H x W): {exponents or 'needs two grids'}.", "",
            "spread_grid (per-landscape precomputation):", "",
            table(["grid", "first call s", "median ms"],
                  [[f"{r['grid']}x{r['grid']}", r["first_call_s"], r["median_s"] * 1e3]
                   for r in results["spread_grid"]]), ""]


def _pyretechnics(rows: list[dict]) -> list[str]:
    cores = rows[0]["jax_cores"]
    return ["## pyretechnics (the real simulator) on the same landscapes and fires", "",
            f"pyretechnics {rows[0]['pyretechnics']} in a subprocess, one fire after another on ONE core (ms/sim: "
            f"mean wall time per simulation; CPU busy: its CPU time / wall); jaxfire: the spread section's fastest "
            f"batch on that grid, on all {cores} cores. Speed-up = jaxfire sims/s x pyretechnics s/sim (the JAX "
            f"batch on {cores} cores against pyretechnics on 1); per core = speed-up / {cores}. Agreement on the "
            "same fires: IoU of the burned cells over all fires; 'stopped early': fires pyretechnics ended before "
            "the cap (no burnable cells: its ignited cell went out again, a level-set artifact next to a "
            "non-burnable cell or the edge downwind); burned ratio (jaxfire / pyretechnics cells) and IoU "
            "(mean, min) over the other fires.", "",
            table(["grid", "fires", "pyretechnics ms/sim", "pyretechnics CPU busy", "jaxfire sims/s",
                   "jaxfire batch", "speed-up", "per core", "IoU all fires", "stopped early", "burned ratio",
                   "IoU mean", "IoU min"],
                  [[f"{r['grid']}x{r['grid']}", r["fires"], r["seconds_per_sim"] * 1e3, r["cpu_busy"],
                    r["jax_sims_per_s"], r["jax_batch"], r["speedup"], r["speedup_per_core"], r["iou_mean_all"],
                    r["stopped_early"], r["burned_ratio_mean"], r["iou_mean"], r["iou_min"]] for r in rows]), ""]


def _env(e: dict) -> list[str]:
    return ["## Environment steps: jit(vmap(env.step))", "",
            table(["grid", "envs", "fires/step", "pool", "make_params s", "first call s", "median s", "steps/s",
                   "fires/s", "CPU busy", "machine busy"],
                  [[f"{e['grid']}x{e['grid']}", e["num_envs"], e["ignitions"],
                    f"{e['landscapes']} x {e['scenarios']} scenarios", e["make_params_s"], e["first_call_s"],
                    e["median_s"], e["steps_per_s"], e["fires_per_s"], e["cpu_busy"], e["system_busy"]]]), ""]


def _train(rows: list[dict]) -> list[str]:
    return ["## End-to-end training: scan(learner.update) chunk", "",
            "An update: DQN one step of every environment and its gradient step(s); PQN a rollout of env steps/update "
            "and its epochs x minibatches gradient steps (batch = minibatch size).", "",
            table(["algorithm", "grid", "envs", "env steps/update", "batch", "features", "devices", "updates/chunk",
                   "first call s", "median s", "updates/s", "env steps/s", "gradient steps/s", "CPU busy",
                   "machine busy"],
                  [[t.get("algorithm", "dqn"), f"{t['grid']}x{t['grid']}", t["num_envs"],
                    t.get("env_steps_per_update", t["num_envs"]), t["batch_size"], ",".join(map(str, t["features"])),
                    t["devices"], t["chunk_updates"], t["first_call_s"], t["median_s"], t["updates_per_s"],
                    t["steps_per_s"], t.get("gradient_steps_per_s"), t["cpu_busy"], t["system_busy"]]
                   for t in rows]), ""]


def _scaling(rows: list[dict]) -> list[str]:
    b0, t0 = rows[0]["burn_probability"], rows[0]["train"]
    return ["## Scaling with device count", "",
            f"One subprocess per device count: parallel.burn_probability on {b0['grid']}x{b0['grid']} with "
            f"{b0['fires']} fires split over the devices; the DQN chunk ({t0['grid']}x{t0['grid']}, "
            f"{t0['num_envs']} envs, batch {t0['batch_size']}, {t0['chunk_updates']} updates) with its "
            "per-environment state sharded over them. Speed-up = rate / the 1-device rate (burn sims/s includes the "
            "call's spread_grid).", "",
            table(["devices", "burn sims/s", "speed-up", "burn CPU busy", "burn machine busy", "train env steps/s",
                   "speed-up", "train CPU busy", "train machine busy"],
                  [[r["devices"], r["burn_probability"]["sims_per_s"], r.get("burn_speedup"),
                    r["burn_probability"]["cpu_busy"], r["burn_probability"]["system_busy"], r["train"]["steps_per_s"],
                    r.get("train_speedup"), r["train"]["cpu_busy"], r["train"]["system_busy"]] for r in rows]), ""]


def _baseline(rows: list[dict], summaries: list[dict]) -> list[str]:
    return ["## Seed-style baseline vs JAX on the same fires", "",
            "NumPy: the same model on the same step times, one fire at a time (arrival times checked equal to "
            "JAX's).", "",
            table(["grid", "method", "fires", "first call s", "median s", "sims/s", "CPU busy", "machine busy"],
                  [[f"{r['grid']}x{r['grid']}", r["method"], r["fires"], r["first_call_s"], r["median_s"],
                    r["sims_per_s"], r["cpu_busy"], r["system_busy"]] for r in rows]), "",
            table(["grid", "fires", "NumPy sims/s", "threads sims/s", "processes sims/s", "JAX sims/s", "JAX/NumPy",
                   "JAX/threads", "JAX/processes"],
                  [[f"{s['grid']}x{s['grid']}", s["fires"], s.get("numpy_serial_sims_per_s"),
                    s.get("numpy_threads_sims_per_s"), s.get("numpy_processes_sims_per_s"), s["jax_vmap_sims_per_s"],
                    s.get("jax_over_serial"), s.get("jax_over_threads"), s.get("jax_over_processes")]
                   for s in summaries]), ""]


def markdown(results: dict) -> str:
    """The report: machine and settings, then a section per measured part and the notes."""
    lines = _header(results)
    if results.get("spread"):
        lines += _spread(results)
    if results.get("pyretechnics"):
        lines += _pyretechnics(results["pyretechnics"])
    if results.get("env"):
        lines += _env(results["env"])
    if results.get("train") or results.get("train_pqn"):
        lines += _train([results[name] for name in ("train", "train_pqn") if results.get(name)])
    if results.get("scaling"):
        lines += _scaling(results["scaling"])
    if results.get("baseline"):
        lines += _baseline(results["baseline"], results["baseline_summary"])
    if results.get("solvers"):
        lines += solvers.markdown(results["solvers"])
    if results.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in results["notes"]] + [""]
    return "\n".join(lines)


def spread_lines(ax, runs: list[tuple[str, dict]], title: str) -> None:
    """Sims/s against grid side (log-log), a line per run and batch; ``runs`` = ``[(legend prefix, results)]``."""
    import matplotlib.ticker

    styles = ["-", "--", ":", "-."]
    colors = pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (label, run) in zip(itertools.cycle(colors), runs):
        for style, batch in zip(itertools.cycle(styles), sorted({r["batch"] for r in run.get("spread", [])})):
            points = [r for r in run["spread"] if r["batch"] == batch]
            ax.plot([r["grid"] for r in points], [r["sims_per_s"] for r in points], "o", linestyle=style, color=color,
                    label=f"{label}batch {batch}")
    ax.set(xscale="log", yscale="log", xlabel="grid side (cells)", ylabel="simulations / s", title=title)
    sides = sorted({r["grid"] for _, run in runs for r in run.get("spread", [])})
    if sides:
        ax.set_xticks(sides, [str(s) for s in sides])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def plot(results: dict, path) -> bool:
    """``throughput.png``: sims/s by grid and batch, and the seed-style baseline against JAX on the same fires;
    nothing (``False``) when the run measured neither (e.g. ``--sections train``)."""
    if not (results.get("spread") or results.get("baseline_summary") or results.get("pyretechnics")):
        return False
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    spread_lines(left, [("", results)], f"Spread engine on {results['machine']['backend']}")
    reference = results.get("pyretechnics", [])
    if reference:
        left.plot([r["grid"] for r in reference], [1.0 / r["seconds_per_sim"] for r in reference], "k^-",
                  label="pyretechnics, 1 core")
        left.legend(fontsize=7)
    summaries = results.get("baseline_summary", [])
    methods = [("numpy_serial", "NumPy serial"), ("numpy_threads", "NumPy threads"),
               ("numpy_processes", "NumPy processes"), ("jax_vmap", "JAX batch")]
    width = 0.8 / len(methods)
    for i, (key, label) in enumerate(methods):
        values = [s.get(f"{key}_sims_per_s") or 0.0 for s in summaries]
        right.bar(np.arange(len(summaries)) + (i - (len(methods) - 1) / 2) * width, values, width, label=label)
    right.set_xticks(range(len(summaries)), [f"{s['grid']}x{s['grid']}\n{s['fires']} fires" for s in summaries])
    right.set(yscale="log", ylabel="simulations / s", title="Seed-style baseline vs JAX, same fires")
    if summaries:
        right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
