"""Plots for people: the reward terms of one episode, step by step (numpy and matplotlib's Agg canvas only)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

# (panel title, y label, which names it shows); a name goes to the first panel that claims it
PANELS = (
    ("reward the agent sees: R_t = the sum of its terms' weighted values", "weighted term",
     lambda name: name == "total" or name.startswith("reward/")),
    ("similarities to the reference (before weights)", "similarity", lambda name: name.startswith("similarity/")),
    ("environment reward (never used in training)", "reward per step", lambda name: True),
)


def plot_reward_terms(terms: Mapping[str, np.ndarray], path: str | Path, title: str = "",
                      dt: float | None = None) -> Path:
    """Plot each (T,) series of ``terms`` over the episode into a PNG; return its path.

    Names are grouped into panels: ``total`` and ``reward/<term>`` (the reward the agent sees, each reward term's
    weighted value), ``similarity/*`` (mask IoU, S_video), then everything else (e.g. ``env_reward``). Empty panels
    are left out. ``dt``: seconds per step, for a time axis (else the axis counts steps).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = {name: np.asarray(values, dtype=float).reshape(-1) for name, values in terms.items()}
    if not series:
        raise ValueError("No reward terms to plot.")
    groups: list[tuple[str, str, list[str]]] = []
    left = list(series)
    for panel_title, ylabel, claims in PANELS:
        names = [name for name in left if claims(name)]
        left = [name for name in left if name not in names]
        if names:
            groups.append((panel_title, ylabel, names))

    fig = Figure(figsize=(11, 2.6 * len(groups) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (panel_title, ylabel, names) in zip(axes, groups, strict=True):
        for name in names:
            values = series[name]
            x = np.arange(1, len(values) + 1) * (dt or 1.0)
            style = {"color": "black", "linewidth": 2.0} if name == "total" else {"linewidth": 1.3}
            ax.plot(x, values, label=f"{name} (mean {np.nanmean(values):.3g})" if len(values) else name, **style)
        ax.set_title(panel_title, fontsize=10, loc="left")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    axes[-1].set_xlabel("time in the episode (s)" if dt else "control step")
    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
