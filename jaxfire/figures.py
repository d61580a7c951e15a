"""Figures of training and evaluation (matplotlib, drawn off-screen with the Agg backend).

Conventions: maps are ``[row, col]`` with row 0 = north, drawn north-up; burn probabilities in [0, 1]; burned
fractions are fractions of a landscape's cells.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures are files, never windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi: int = 110) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def learning_curves(records: list[dict], path, methods=("none", "agent", "random", "burn_probability", "dpv")):
    """Episode return, loss, epsilon and the evaluations' burned fractions of training ``records`` against updates."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    for ax, name in zip(axes.flat, ("episode_return", "loss", "epsilon")):
        points = [(r["update"], r[name]) for r in records if r.get(name) is not None]
        if points:
            ax.plot(*zip(*points))
        ax.set_title(name.replace("_", " "))
    axes[0, 1].set_yscale("log")
    evals = [r for r in records if "eval" in r]
    for method in methods:
        points = [(r["update"], r["eval"][method]) for r in evals if method in r["eval"]]
        if points:
            axes[1, 1].plot(*zip(*points), marker="o", label=method)
    axes[1, 1].set_title("held-out expected burned fraction")
    axes[1, 1].legend()
    for ax in axes[1]:
        ax.set_xlabel("update")
    _save(fig, path)


def _fuel_codes(ax, fuel_model) -> None:
    _, codes = np.unique(np.asarray(fuel_model), return_inverse=True)
    ax.imshow(codes.reshape(np.shape(fuel_model)), cmap="tab20", interpolation="nearest")


def plans_panel(landscape, plans: dict, burned: dict, before, after, title: str, path) -> None:
    """Fuel map, each method's plan (red on grey burnable / dark non-burnable cells, with its burned fraction), and
    burn probability before and after the first plan (``before``, ``after`` ``float[H, W]``)."""
    plt = pyplot()
    burnable = np.asarray(landscape.burnable)
    fig, axes = plt.subplots(1, 3 + len(plans), figsize=(3.2 * (3 + len(plans)), 3.8), layout="constrained")
    _fuel_codes(axes[0], landscape.fuel_model)
    axes[0].set_title("fuel models")
    for ax, (name, mask) in zip(axes[1:], plans.items()):
        image = np.where(burnable, 0.85, 0.35)[..., None] * np.ones(3)
        image[np.asarray(mask)] = (0.85, 0.1, 0.1)
        ax.imshow(image, interpolation="nearest")
        ax.set_title(f"{name}: {burned[name]:.3f} burned")
    for ax, (label, values) in zip(axes[-2:], (("before", before), ("after", after))):
        shown = ax.imshow(values, cmap="inferno", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"burn probability {label} ({np.mean(values):.3f})")
    fig.colorbar(shown, ax=axes[-1], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    _save(fig, path)


def burned_fraction_bars(rows: list[dict], path) -> None:
    """Mean burned fraction with 95 % intervals per method and budget (``rows`` of ``method``, ``budget``,
    ``burned_fraction``, ``ci95``)."""
    plt = pyplot()
    budgets = sorted({r["budget"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(budgets) * len(methods) / 4, 4))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        by_budget = {r["budget"]: r for r in rows if r["method"] == method}
        ax.bar(np.arange(len(budgets)) + k * width, [by_budget[b]["burned_fraction"] for b in budgets], width,
               yerr=[by_budget[b]["ci95"] or 0.0 for b in budgets], capsize=2, label=method)
    ax.set_xticks(np.arange(len(budgets)) + 0.4 - width / 2, [f"{b:.0%}" for b in budgets])
    ax.set_xlabel("budget (fraction of burnable cells)")
    ax.set_ylabel("mean burned fraction (95 % CI)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, path, dpi=120)


def plan_maps(landscape, mask, before, after, title: str, path) -> None:
    """One plan over the fuel map, and burn probability before / after it."""
    plt = pyplot()
    mask = np.asarray(mask)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    _fuel_codes(axes[0], landscape.fuel_model)
    axes[0].imshow(np.ma.masked_where(~mask, mask), cmap="autumn", interpolation="nearest")
    axes[0].set_title(title)
    for ax, data, label in ((axes[1], before, "burn probability before"), (axes[2], after, "after")):
        image = ax.imshow(data, vmin=0, vmax=max(float(np.max(before)), 1e-6), cmap="inferno",
                          interpolation="nearest")
        ax.set_title(label)
    fig.colorbar(image, ax=axes[1:], shrink=0.8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, path)
