"""Figures of ``naapgnn evaluate`` (matplotlib, written as PNG atomically).

* :func:`plot_budget_curves` - violations and Kendall tau against the epochs
  trained, one line per predictor (zero-training scores as single markers).
* :func:`plot_pred_vs_true` - predicted against true final accuracy.
* :func:`plot_rank_matrix` - the NAAP-440 paper's rank agreement matrix:
  each test architecture is a cell at (true rank, predicted rank), coloured by
  its rank error; a perfect predictor fills the diagonal.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


MATRIX_CELLS = 1000
"""Test architectures up to which the rank agreement matrix is drawn as an image (above, as a scatter)."""

_STYLE = {  # kind -> line style, line width, marker
    "gnn": ("-", 2.6, "o"),
    "baseline": ("--", 1.6, "s"),
    "heuristic": (":", 1.6, "^"),
    "zero_cost": ("", 0, "*"),
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    from naapgnn.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _looks(keys: Sequence[str], kinds: Mapping[str, str]) -> dict:
    """Colour and marker per predictor: strong colours for the learned predictors,
    greys told apart by marker for the heuristics, stars for zero-cost scores."""
    plt = _pyplot()
    strong = [plt.get_cmap("tab10")(i) for i in (0, 1, 2, 3, 4, 5, 9, 8)]
    stars = [plt.get_cmap("tab10")(i) for i in (6, 8, 7)]
    grey_markers = ["^", "v", "<", ">", "D", "P", "X", "h"]
    looks, n_strong, n_grey, n_star = {}, 0, 0, 0
    n_heuristics = sum(kinds.get(k) == "heuristic" for k in keys)
    for key in keys:
        kind = kinds.get(key, "baseline")
        if kind == "heuristic":
            shade = 0.15 + 0.55 * n_grey / max(1, n_heuristics - 1)
            looks[key] = ((shade, shade, shade, 1.0), grey_markers[n_grey % len(grey_markers)])
            n_grey += 1
        elif kind == "zero_cost":
            looks[key] = (stars[n_star % len(stars)], "*")
            n_star += 1
        else:
            looks[key] = (strong[n_strong % len(strong)], "o" if kind == "gnn" else "s")
            n_strong += 1
    return looks


def plot_budget_curves(results, protocol: str, labels: Mapping[str, str], kinds: Mapping[str, str], path,
                       max_violations: float | None = None, title: str | None = None,
                       full_epochs: int | None = None, run_epochs=None) -> Path:
    """Violations and Kendall tau versus epochs trained, for every predictor of ``protocol``.

    Parameters
    ----------
    results : DataFrame
        results.csv rows (columns predictor, budget, protocol, violations, kendall_tau).
    protocol : str
    labels, kinds : mapping predictor key -> display label / kind
    path : path of the PNG
    max_violations : float, optional
        Pairs among the test architectures, shown in the axis label.
    full_epochs : int, optional
        Epochs of a full training (the benchmark's curve length): the top axis shows the share spent.
    run_epochs : array-like, optional
        Each run's own epochs where runs stopped early: the share spent is then counted as the report counts it
        (:func:`naapgnn.evaluation.analysis.spent_fraction`).

    A band of one std over runs is drawn around each mean when ``results`` has ``<metric>_std`` columns.
    """
    plt = _pyplot()
    sub = results[results["protocol"] == protocol]
    keys = list(dict.fromkeys(sub["predictor"]))
    budgets = sorted(sub["budget"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for key, (color, marker) in _looks(keys, kinds).items():
        rows = sub[sub["predictor"] == key].sort_values("budget")
        ls, lw, _ = _STYLE.get(kinds.get(key, "baseline"), _STYLE["baseline"])
        for ax, metric in zip(axes, ("violations", "kendall_tau")):
            ax.plot(rows["budget"], rows[metric], linestyle=ls or "none", linewidth=lw, marker=marker,
                    markersize=13 if marker == "*" else 7 if len(rows) == 1 else 5, color=color,
                    label=labels.get(key, key))
            if f"{metric}_std" in rows and len(rows) > 1 and rows[f"{metric}_std"].notna().any():
                spread = rows[f"{metric}_std"].fillna(0)
                ax.fill_between(rows["budget"], rows[metric] - spread, rows[metric] + spread, color=color,
                                alpha=0.08, linewidth=0)
    vlabel = "Violations (mis-ordered test pairs)"
    if max_violations:
        vlabel += f", of {int(max_violations)}"
    axes[0].set_ylabel(vlabel + "  (lower is better)")
    axes[1].set_ylabel("Kendall tau with the true ranking  (higher is better)")
    positive = sub["violations"][sub["violations"] > 0]
    if len(positive) and positive.max() / positive.min() >= 5:  # log scale only when values span a wide range
        from matplotlib.ticker import FuncFormatter, LogLocator

        axes[0].set_yscale("log")
        axes[0].yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    for ax in axes:
        ax.set_xlabel("Epochs trained per architecture" + (f" (of {full_epochs})" if full_epochs else ""))
        ax.set_xticks(budgets)
        ax.grid(True, alpha=0.3)
        if full_epochs:
            top = ax.secondary_xaxis("top", functions=_share_spent(full_epochs, run_epochs))
            top.set_xlabel("Share of the full training spent (%)")
    handles, names = axes[1].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, -0.02 - 0.045 * ((len(names) + 2) // 3)))
    fig.suptitle(title or f"Prediction quality versus training spent ({protocol} protocol)", fontsize=13)
    fig.tight_layout()
    return _save(fig, path)


def _share_spent(full_epochs: int, run_epochs=None) -> tuple:
    """The top axis' functions epochs -> % of the full training spent and back; where runs stopped early, the
    share the report gives (a piecewise line through :func:`spent_fraction` at every epoch)."""
    if run_epochs is None:
        return lambda e: 100 * np.asarray(e) / full_epochs, lambda p: np.asarray(p) * full_epochs / 100
    from naapgnn.evaluation.analysis import spent_fraction

    epochs = np.arange(0, full_epochs + 1, dtype=float)
    shares = np.array([100 * spent_fraction(int(e), full_epochs, run_epochs) for e in epochs])
    # continued as lines beyond both ends (the axis' margins), rising where every run has ended, so each is invertible
    first, last = shares[1] - shares[0], max(shares[-1] - shares[-2], 100 / full_epochs)
    epochs = np.r_[-full_epochs, epochs, 2 * full_epochs]
    shares = np.r_[-full_epochs * first, np.maximum.accumulate(shares + 1e-9 * epochs[1:-1]),
                   shares[-1] + full_epochs * last]
    return lambda e: np.interp(e, epochs, shares), lambda p: np.interp(p, shares, epochs)


def plot_pred_vs_true(panels: Sequence[dict], path) -> Path:
    """Predicted against true final accuracy, one panel per entry.

    Each panel is a dict with ``title``, ``y_true``, ``y_pred`` and an
    optional ``note`` (printed in the corner, e.g. the metrics).
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 5.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        t, p = np.asarray(panel["y_true"]), np.asarray(panel["y_pred"])
        lo, hi = min(t.min(), p.min()), max(t.max(), p.max())
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", linestyle="--", linewidth=1,
                label="perfect prediction")
        ax.scatter(t, p, s=28, color="tab:blue", edgecolor="white", linewidth=0.5, label="test architecture")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.set_xlabel(f"True final accuracy ({panel.get('target', 'target')})")
        ax.set_ylabel("Predicted final accuracy")
        ax.set_title(panel["title"], fontsize=11)
        ax.grid(True, alpha=0.3)
        if panel.get("note"):
            ax.text(0.03, 0.97, panel["note"], transform=ax.transAxes, va="top", fontsize=9,
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"})
        ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _ranks(values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    ranks = np.empty(len(a), dtype=int)
    ranks[np.argsort(a, kind="stable")] = np.arange(len(a))
    return ranks


def plot_rank_matrix(panels: Sequence[dict], path) -> Path:
    """Rank agreement matrices in the style of the NAAP-440 paper, one panel per entry
    (``title``, ``y_true``, ``y_pred``, optional ``note``).

    Each test architecture is one cell at (true rank, predicted rank) on an
    ``n x n`` grid, coloured by its rank error ``|predicted - true|``; a
    perfect ranking fills the diagonal.
    """
    plt = _pyplot()

    fig, axes = plt.subplots(1, len(panels), figsize=(5.8 * len(panels) + 1.0, 5.4), squeeze=False)
    errors = [np.abs(_ranks(p["y_pred"]) - _ranks(p["y_true"])) for p in panels]
    vmax = max(3, max(int(e.max()) for e in errors))
    cmap = plt.get_cmap("plasma_r")
    image = None
    for ax, panel, err in zip(axes[0], panels, errors):
        true_rank, pred_rank = _ranks(panel["y_true"]), _ranks(panel["y_pred"])
        n = len(true_rank)
        if n <= MATRIX_CELLS:
            mat = np.full((n, n), np.nan)
            mat[pred_rank, true_rank] = err
            image = ax.imshow(mat, cmap=cmap, origin="lower", vmin=0, vmax=vmax,
                              extent=(0.5, n + 0.5, 0.5, n + 0.5), interpolation="nearest")
        else:  # an n x n image of thousands of test architectures would not fit in memory: one dot each
            image = ax.scatter(true_rank + 1, pred_rank + 1, c=err, cmap=cmap, vmin=0, vmax=vmax, s=2, linewidths=0)
            ax.set_xlim(0.5, n + 0.5)
            ax.set_ylim(0.5, n + 0.5)
        ax.plot([0.5, n + 0.5], [0.5, n + 0.5], color="0.6", linewidth=0.8, linestyle=":")
        ax.set_xlabel("True rank (1 = lowest accuracy)")
        ax.set_ylabel("Predicted rank")
        ax.set_title(panel["title"], fontsize=11)
        ax.set_facecolor("white")
        ax.set_aspect("equal")
        if panel.get("note"):
            ax.text(0.03, 0.97, panel["note"], transform=ax.transAxes, va="top", fontsize=9,
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"})
    cbar = fig.colorbar(image, ax=list(axes[0]), shrink=0.85, pad=0.02)
    cbar.set_label("Rank error |predicted rank - true rank|")
    return _save(fig, path)
